//! End-to-end tests of `--background`, the headshot check (`-v`, `--json`, the report,
//! `fstop check`) and `fstop compare --backgrounds`. Inputs are generated; no model is needed.

mod cli_support;

use std::path::Path;

use cli_support::{fstop, scene, stderr_of, stdout_of};

fn depth_args(dir: &Path, name: &str) -> Vec<String> {
    vec![
        "--depth".into(),
        dir.join(format!("depth/{name}.png")).display().to_string(),
        "--matte".into(),
        dir.join(format!("matte/{name}.png")).display().to_string(),
    ]
}

fn srgb8(v: f32) -> f32 {
    v * 255.0
}

#[test]
fn studio_background_replaces_the_background_with_the_named_tone() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 120, 90, 1);
    let out = fstop(d.path())
        .args(["p.png", "-o", "out.png", "--background", "studio:off-white"])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(out.stderr.is_empty(), "{}", stderr_of(&out));
    let img = image::open(d.path().join("out.png")).unwrap().into_rgb8();
    let photo = image::open(d.path().join("p.png")).unwrap().into_rgb8();
    // The subject (middle third, from a quarter down) is the photo's; the background is
    // off-white (#F2F0EB) behind the subject, darker towards the corners, with no grain.
    assert_eq!(img.get_pixel(60, 60), photo.get_pixel(60, 60));
    // Off-white's hue (R ≥ G ≥ B), at most its brightness, lit more near the subject.
    let top = img.get_pixel(60, 2);
    assert!(
        top[0] >= top[1] && top[1] >= top[2] && top[0] <= 0xF2,
        "{top:?}"
    );
    assert!(top[0] as f32 > srgb8(0.8), "{top:?}");
    let corner = img.get_pixel(0, 89);
    assert!(corner[0] < top[0] - 20, "{corner:?} vs {top:?}");
}

#[test]
fn bad_backgrounds_are_usage_errors_naming_the_allowed_values() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 32, 24, 1);
    for bad in ["studio:pink", "bokeh", "studio:#12"] {
        let out = fstop(d.path())
            .args(["p.png", "-o", "out.png", "--background", bad])
            .args(depth_args(d.path(), "p"))
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("medium-grey") && err.contains("off-white") && err.contains("#RRGGBB"),
            "{bad}: {err}"
        );
    }
    // In a config file: file, line and the allowed values.
    std::fs::write(
        d.path().join("c.toml"),
        "f_number = 2.0\nbackground = \"studio:teal\"\n",
    )
    .unwrap();
    let out = fstop(d.path())
        .args(["--config", "c.toml", "p.png", "-o", "out.png"])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("c.toml:2") && err.contains("charcoal"),
        "{err}"
    );
    // In a preset file.
    std::fs::write(d.path().join("my.toml"), "background = \"studio:grey\"\n").unwrap();
    let out = fstop(d.path())
        .args(["p.png", "-o", "out.png", "--preset", "my.toml"])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("my.toml:1") && err.contains("navy"), "{err}");
    // Studio without a matte (a depth file only) cannot work.
    let out = fstop(d.path())
        .args(["p.png", "-o", "out.png", "--background", "studio"])
        .args(["--depth", "depth/p.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("needs a subject matte"));
    assert!(!d.path().join("out.png").exists());
}

#[test]
fn background_from_preset_and_config_with_flags_winning() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 60, 40, 2);
    std::fs::write(d.path().join("navy.toml"), "background = \"studio:navy\"\n").unwrap();
    std::fs::write(d.path().join("c.toml"), "background = \"studio:white\"\n").unwrap();
    let json = |extra: &[&str]| -> serde_json::Value {
        let out = fstop(d.path())
            .args(["p.png", "-o", "out.png", "--json"])
            .args(depth_args(d.path(), "p"))
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        serde_json::from_str(stdout_of(&out).lines().next().unwrap()).unwrap()
    };
    assert_eq!(json(&[])["background"], "blur");
    assert_eq!(
        json(&["--preset", "navy.toml"])["background"],
        "studio:navy"
    );
    assert_eq!(json(&["--config", "c.toml"])["background"], "studio:white");
    assert_eq!(
        json(&["--config", "c.toml", "--preset", "navy.toml"])["background"],
        "studio:navy"
    );
    assert_eq!(
        json(&["--preset", "navy.toml", "--background", "blur"])["background"],
        "blur"
    );
    let auto = json(&["--background", "studio"]);
    assert!(
        auto["background"].as_str().unwrap().contains("(auto"),
        "{auto}"
    );
}

#[test]
fn headshot_check_in_json_report_and_verbose_output() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 120, 90, 3);
    let out = fstop(d.path())
        .args([
            "p.png", "-o", "out.png", "--json", "--report", "r.json", "-v",
        ])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let line: serde_json::Value =
        serde_json::from_str(stdout_of(&out).lines().next().unwrap()).unwrap();
    let h = &line["headshot"];
    for key in ["full", "thumb_48px", "circle_32px"] {
        assert!(h["contrast"][key].as_f64().unwrap() >= 1.0, "{h}");
    }
    assert!(
        h["face_luminance"].as_f64().is_some() && h["warnings"].is_array(),
        "{h}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("r.json")).unwrap()).unwrap();
    let text = report.to_string();
    assert!(
        text.contains("\"headshot\"") && text.contains("circle_32px"),
        "{text}"
    );
    assert!(
        stderr_of(&out).contains("headshot: face"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn check_command_reports_findings_and_exits_0() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 120, 90, 4);
    scene(d.path(), "q", 120, 90, 5);
    let out = fstop(d.path())
        .args([
            "check",
            "p.png",
            "q.png",
            "--matte",
            "{dir}/matte/{stem}.png",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let lines: Vec<serde_json::Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(l["matte_source"], "file");
        assert!(
            l["headshot"]["contrast"]["full"].as_f64().unwrap() >= 1.0,
            "{l}"
        );
    }
    // Text output names each photo; a photo that cannot be read is an error (exit 1).
    let out = fstop(d.path())
        .args(["check", "p.png", "--matte", "matte/p.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout_of(&out).starts_with("p.png: headshot: face"),
        "{}",
        stdout_of(&out)
    );
    std::fs::write(d.path().join("bad.png"), b"not a png").unwrap();
    let out = fstop(d.path())
        .args(["check", "bad.png", "--matte", "matte/p.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("bad.png"));
}

#[test]
fn compare_backgrounds_makes_one_labelled_sheet_with_thumbnails() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 120, 90, 1);
    let out = fstop(d.path())
        .args([
            "compare",
            "p.png",
            "--presets",
            "85mm-f1.8,135mm-f2",
            "--backgrounds",
            "blur,studio,studio:off-white",
            "-o",
            "sheet.png",
        ])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let sheet = image::open(d.path().join("sheet.png")).unwrap().into_rgb8();
    // 2 presets × 3 backgrounds in 3 columns; each tile 120 wide plus a 4 px gap and the 48 px
    // thumbnail; padding 4; label strip 28.
    let tile_w = 120 + 4 + 48;
    assert_eq!(sheet.width() as usize, 3 * tile_w + 4 * 4);
    assert_eq!(sheet.height(), 2 * (90 + 28) + 3 * 4);
    // The off-white tile (third column) shows off-white at its top, and its 48 px thumbnail.
    let x3 = (4 + 2 * (tile_w + 4)) as u32;
    assert!(sheet.get_pixel(x3 + 60, 6)[0] > 200);
    let thumb = sheet.get_pixel(x3 + 124 + 24, 4 + 2);
    assert!(thumb[0] > 150, "{thumb:?}");
    // Outside the 32 px circle (its corner): the sheet's dark background.
    let corner = sheet.get_pixel(x3 + 124 + 8, 4 + 48 + 4);
    assert!(corner[0] < 40, "{corner:?}");
    // A bad background in the list is a usage error.
    let out = fstop(d.path())
        .args([
            "compare",
            "p.png",
            "--backgrounds",
            "blur,plaid",
            "-o",
            "s.png",
        ])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
