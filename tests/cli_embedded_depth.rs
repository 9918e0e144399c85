//! End to end: a portrait JPEG's own depth map (GDepth, Dynamic Depth, Apple portrait), built
//! here to the published layouts, is used instead of the depth model (`--depth-source`).
//! The report's `models` (set only when the models ran) shows whether they were used; runs
//! that use them need what `bash scripts/setup.sh` installs, as `tests/cli_models.rs` does.

mod cli_support;

use cli_support::{fstop, stderr_of, stdout_of};
use fstop::io::embedded_depth::fixtures::{
    apple_aux_jpeg, apple_portrait_jpeg, dynamic_depth_jpeg, gdepth_jpeg, gray_image, rgb_jpeg,
};
use image::ImageFormat;

const W: u32 = 96;
const H: u32 = 64;

/// The subject: a block in the middle; the rest is background.
fn subject(x: u32, y: u32) -> bool {
    (W / 3..2 * W / 3).contains(&x) && y >= H / 4
}

fn primary() -> Vec<u8> {
    rgb_jpeg(W, H, |x, y| {
        if subject(x, y) {
            [150, 120, 100]
        } else if x % 11 == 0 && y % 9 == 0 {
            [255, 250, 230]
        } else {
            [30 + ((x ^ y) % 40) as u8, 60, 90]
        }
    })
}

/// Normalised GDepth/Dynamic Depth values (0 = near): subject at 0, background at 1.
fn range_map() -> Vec<u8> {
    gray_image(W / 2, H / 2, ImageFormat::Png, |x, y| {
        if subject(2 * x, 2 * y) { 0.0 } else { 1.0 }
    })
}

/// The three layouts, with the report name each should give.
fn portrait_jpegs() -> Vec<(&'static str, Vec<u8>)> {
    let p = primary();
    let aux = apple_aux_jpeg(
        W / 2,
        H / 2,
        "urn:com:apple:photo:2018:aux:disparity",
        |x, y| if subject(2 * x, 2 * y) { 0.9 } else { 0.1 },
    );
    vec![
        (
            "embedded-gdepth",
            gdepth_jpeg(
                &p,
                &range_map(),
                "image/png",
                "RangeInverse",
                1.5,
                20.0,
                Some("m"),
            ),
        ),
        (
            "embedded-dynamic-depth",
            dynamic_depth_jpeg(&p, &range_map(), "RangeLinear", 1.5, 20.0, "Meters"),
        ),
        ("embedded-apple", apple_portrait_jpeg(&p, &[&aux])),
    ]
}

fn file_line(out: &std::process::Output) -> serde_json::Value {
    let text = stdout_of(out);
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["type"] == "file")
        .unwrap_or_else(|| panic!("no file line in {text}"))
}

#[test]
fn the_photos_own_map_is_used_and_the_models_do_not_run() {
    let d = tempfile::tempdir().unwrap();
    for (source, bytes) in portrait_jpegs() {
        std::fs::write(d.path().join("p.jpg"), &bytes).unwrap();
        let mut cmd = fstop(d.path());
        cmd.args([
            "p.jpg",
            "-o",
            "out.png",
            "--json",
            "-v",
            "--f-number",
            "1.4",
        ]);
        let out = cmd.output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(0), "{source}: {err}");
        let line = file_line(&out);
        assert_eq!(line["depth_source"], source, "{line}");
        assert!(line["models"].is_null(), "{line}");
        assert!(
            err.contains(&format!("p.jpg: depth from {source}")),
            "{err}"
        );
        assert!(!err.contains("warning"), "{source}: {err}");
        // The subject stays sharp and the background is blurred: the map was read the right
        // way round (near = subject).
        let img = image::open(d.path().join("out.png")).unwrap().to_rgb8();
        let src = image::load_from_memory(&bytes).unwrap().to_rgb8();
        let diff = |x: u32, y: u32| {
            (0..3)
                .map(|c| (img.get_pixel(x, y)[c] as i32 - src.get_pixel(x, y)[c] as i32).abs())
                .sum::<i32>()
        };
        let (mut subject_diff, mut background_diff) = (0, 0);
        for y in 0..H {
            for x in 0..W {
                if subject(x, y) && x > W / 3 + 3 && x + 3 < 2 * W / 3 && y > H / 4 + 3 {
                    subject_diff = subject_diff.max(diff(x, y));
                } else if x % 11 == 0 && y % 9 == 0 && !subject(x, y) && x + 6 < W / 3 {
                    background_diff = background_diff.max(diff(x, y));
                }
            }
        }
        assert!(
            subject_diff <= 12,
            "{source}: subject changed by {subject_diff}"
        );
        assert!(
            background_diff > 60,
            "{source}: background changed by {background_diff}"
        );
    }
}

#[test]
fn model_source_ignores_the_embedded_map_and_embedded_needs_one() {
    let d = tempfile::tempdir().unwrap();
    let (_, gdepth) = portrait_jpegs().remove(0);
    std::fs::write(d.path().join("p.jpg"), &gdepth).unwrap();
    std::fs::write(d.path().join("plain.jpg"), primary()).unwrap();
    // `model`: the models run, whatever the photo carries.
    let out = fstop(d.path())
        .args([
            "p.jpg",
            "-o",
            "out.png",
            "--json",
            "--depth-source",
            "model",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let line = file_line(&out);
    assert_eq!(line["depth_source"], "model", "{line}");
    assert_eq!(line["models"]["depth"], "fastdepth", "{line}");
    // `embedded` on a photo without a map: that photo fails, one line naming it.
    let mut cmd = fstop(d.path());
    cmd.args(["plain.jpg", "-o", "out.png", "--depth-source", "embedded"]);
    let out = cmd.output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("plain.jpg") && err.contains("carries no depth map"),
        "{err}"
    );
    // A depth file and `embedded` contradict each other: a usage error.
    let out = fstop(d.path())
        .args(["p.jpg", "-o", "out.png", "--depth-source", "embedded"])
        .args(["--depth", "d.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--depth-source embedded"));
}

#[test]
fn a_broken_embedded_map_fails_with_embedded_and_warns_with_auto() {
    let d = tempfile::tempdir().unwrap();
    let (_, gdepth) = portrait_jpegs().remove(0);
    // An unusable range (RangeInverse needs near > 0); same length keeps every segment intact.
    let needle = b"GDepth:Near=\"1.5\"";
    let at = gdepth
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut bad = gdepth.clone();
    bad[at..at + needle.len()].copy_from_slice(b"GDepth:Near=\"0.0\"");
    std::fs::write(d.path().join("p.jpg"), &bad).unwrap();
    let mut cmd = fstop(d.path());
    cmd.args(["p.jpg", "-o", "out.png", "--depth-source", "embedded"]);
    let out = cmd.output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("p.jpg") && err.contains("GDepth depth: the range near 0 to far 20"),
        "{err}"
    );
    // `auto`: a warning, and the depth model instead (the real one, as installed by setup).
    let out = fstop(d.path())
        .args(["p.jpg", "-o", "out.png", "--json"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(file_line(&out)["depth_source"], "model");
    assert!(
        err.contains("its own depth map cannot be used (GDepth depth: the range near 0"),
        "{err}"
    );
}
