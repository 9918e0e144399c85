//! Re-runs: an existing output is skipped only when fstop made it from the same input bytes and
//! settings (the fingerprint in its XMP), rendered again when stale, and never replaced when
//! fstop did not make it unless `--overwrite`. Inputs are generated; depth and matte come from
//! files, so no model is needed.

mod cli_support;

use std::path::Path;

use cli_support::{files_under, fstop, scene, stderr_of, stdout_of, write_photo};

const TEMPLATES: [&str; 4] = [
    "--depth",
    "{dir}/depth/{stem}.png",
    "--matte",
    "{dir}/matte/{stem}.png",
];

fn photos(root: &Path, n: u32) {
    let dir = root.join("photos");
    for i in 0..n {
        scene(&dir, &format!("p{i:02}"), 48, 32, i);
    }
}

/// Runs a batch of `photos/` into `out/` with `extra` arguments and `--json`.
fn batch(root: &Path, extra: &[&str]) -> (Option<i32>, String, Vec<serde_json::Value>) {
    let out = fstop(root)
        .args(["photos", "-o", "out", "--json"])
        .args(TEMPLATES)
        .args(extra)
        .output()
        .unwrap();
    // Photos finish in any order; by input index, the summary last.
    let mut lines: Vec<serde_json::Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|l| l["index"].as_u64().unwrap_or(u64::MAX));
    (out.status.code(), stderr_of(&out), lines)
}

fn reasons(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["type"] != "summary" && l.get("reason").is_some())
        .map(|l| format!("{} {}", l["status"], l["reason"]).replace('"', ""))
        .collect()
}

fn outputs(root: &Path) -> Vec<Vec<u8>> {
    files_under(&root.join("out"))
        .iter()
        .map(|f| std::fs::read(root.join("out").join(f)).unwrap())
        .collect()
}

#[test]
fn other_settings_render_again_and_the_same_settings_skip() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    photos(root, 3);
    let (code, err, lines) = batch(root, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(reasons(&lines), ["rendered new"; 3]);
    let at_f18 = outputs(root);

    // The bug: f/2.8 after f/1.8 used to say "0 rendered, 3 skipped" and exit 0.
    let (code, err, lines) = batch(root, &["--f-number", "2.8"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("3 rendered, 0 skipped, 0 failed"), "{err}");
    assert!(
        err.contains("3 existing outputs were stale and rendered again (settings changed: 3)"),
        "{err}"
    );
    assert_eq!(reasons(&lines), ["rendered settings-changed"; 3]);
    let at_f28 = outputs(root);
    for (a, b) in at_f18.iter().zip(&at_f28) {
        assert_ne!(a, b);
    }
    assert_eq!(lines[0]["lens"]["f_number"], 2.8);

    // The same settings again: up to date, untouched.
    let (code, err, lines) = batch(root, &["--f-number", "2.8"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("0 rendered, 3 skipped, 0 failed"), "{err}");
    assert!(!err.contains("stale"), "{err}");
    assert_eq!(reasons(&lines), ["skipped up-to-date"; 3]);
    assert_eq!(outputs(root), at_f28);

    // A changed photo (other bytes) is rendered again, the others are skipped.
    write_photo(&root.join("photos/p01.png"), 48, 32, 77);
    let (code, err, lines) = batch(root, &["--f-number", "2.8"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        reasons(&lines),
        [
            "skipped up-to-date",
            "rendered input-changed",
            "skipped up-to-date"
        ]
    );
    assert!(err.contains("1 rendered, 2 skipped"), "{err}");

    // A changed depth file counts as a change of settings.
    cli_support::write_disparity(&root.join("photos/depth/p02.png"), 24, 16);
    let (_, _, lines) = batch(root, &["--f-number", "2.8"]);
    assert_eq!(
        reasons(&lines),
        [
            "skipped up-to-date",
            "skipped up-to-date",
            "rendered settings-changed"
        ]
    );

    // Another JPEG quality changes nothing for PNG outputs.
    let (_, _, lines) = batch(root, &["--f-number", "2.8", "--jpeg-quality", "50"]);
    assert_eq!(reasons(&lines), ["skipped up-to-date"; 3]);

    // --overwrite renders whatever is there.
    let (code, _, lines) = batch(root, &["--f-number", "2.8", "--overwrite"]);
    assert_eq!(code, Some(0));
    assert_eq!(reasons(&lines), ["rendered overwrite"; 3]);
}

#[test]
fn a_file_fstop_did_not_make_is_never_replaced_without_overwrite() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    photos(root, 2);
    std::fs::create_dir_all(root.join("out")).unwrap();
    // Someone's own photo, by chance at an output path; and a text file at the other.
    write_photo(&root.join("out/p00-bokeh.png"), 20, 10, 5);
    std::fs::write(root.join("out/p01-bokeh.png"), b"notes").unwrap();
    let theirs = outputs(root);
    let (code, err, lines) = batch(root, &[]);
    assert_eq!(code, Some(1), "{err}");
    // Photos finish in any order (parallel jobs), so their errors may too.
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 2, "{err}");
    let error_for = |name: &str| *errors.iter().find(|l| l.contains(name)).expect(name);
    let p00 = error_for("p00-bokeh.png");
    assert!(
        p00.contains("exists and was not made by fstop") && p00.contains("use --overwrite"),
        "{err}"
    );
    assert!(
        error_for("p01-bokeh.png").contains("is not an image fstop can read"),
        "{err}"
    );
    assert_eq!(reasons(&lines), ["failed not-made-by-fstop"; 2]);
    assert_eq!(
        outputs(root),
        theirs,
        "foreign files must be left untouched"
    );

    // The batch goes on with the other photos.
    photos(root, 3);
    let (code, err, lines) = batch(root, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("1 rendered, 0 skipped, 2 failed"), "{err}");
    let p02 = lines
        .iter()
        .find(|l| l["input"].as_str().is_some_and(|i| i.ends_with("p02.png")))
        .expect("a record for p02");
    assert_eq!(p02["reason"], "new");

    // With --overwrite they are replaced, and from then on they are fstop's.
    let (code, err, _) = batch(root, &["--overwrite"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err, lines) = batch(root, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(reasons(&lines), ["skipped up-to-date"; 3]);
}

#[test]
fn one_photo_replaces_its_own_output_but_not_a_foreign_file() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    photos(root, 1);
    let run = |extra: &[&str]| {
        fstop(root)
            .args([
                "photos/p00.png",
                "-o",
                "x.jpg",
                "--depth",
                "photos/depth/p00.png",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    write_photo(&root.join("x.jpg"), 16, 16, 1);
    let before = std::fs::read(root.join("x.jpg")).unwrap();
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("x.jpg exists and was not made by fstop"),
        "{err}"
    );
    assert_eq!(std::fs::read(root.join("x.jpg")).unwrap(), before);
    assert!(run(&["--overwrite"]).status.success());
    // fstop's own output at -o is replaced, even when up to date (one photo always renders).
    let out = run(&["--f-number", "2.8", "-v"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("1 rendered"),
        "{}",
        stderr_of(&out)
    );
    let out = run(&["--f-number", "2.8", "-v"]);
    assert!(
        stderr_of(&out).contains("1 rendered"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn a_missing_saved_map_renders_again() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    photos(root, 1);
    let (code, _, _) = batch(root, &[]);
    assert_eq!(code, Some(0));
    let (code, err, lines) = batch(root, &["--save-depth", "maps/{stem}.png"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(reasons(&lines), ["rendered saved-map-missing"]);
    assert!(root.join("maps/p00.png").is_file());
    let (_, _, lines) = batch(root, &["--save-depth", "maps/{stem}.png"]);
    assert_eq!(reasons(&lines), ["skipped up-to-date"]);
}

#[test]
fn a_jpeg_keeps_its_fingerprint_when_the_photo_s_xmp_is_too_large_for_it() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    photos(root, 1);
    // Re-encode p00 as a PNG with 70 KB of XMP (a JPEG holds 64 KiB).
    let path = root.join("photos/p00.png");
    let rgb = image::open(&path).unwrap().to_rgb8();
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, rgb.width(), rgb.height());
    enc.set_color(png::ColorType::Rgb);
    let xmp = format!(
        "<x:xmpmeta><rdf:RDF><rdf:Description>{}</rdf:Description></rdf:RDF></x:xmpmeta>",
        "x".repeat(70_000)
    );
    enc.add_itxt_chunk("XML:com.adobe.xmp".into(), xmp).unwrap();
    let mut w = enc.write_header().unwrap();
    w.write_image_data(rgb.as_raw()).unwrap();
    w.finish().unwrap();
    std::fs::write(&path, bytes).unwrap();
    let (code, err, lines) = batch(root, &["--name", "{stem}.jpg"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("over the 65504 a JPEG holds"), "{err}");
    assert_eq!(reasons(&lines), ["rendered new"]);
    let (code, err, lines) = batch(root, &["--name", "{stem}.jpg"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(reasons(&lines), ["skipped up-to-date"]);
}
