//! End-to-end tests of single-photo rendering, validation, presets, config, compare,
//! completions and the man page. Inputs are generated here; no model is needed.

mod cli_support;

use std::path::Path;

use cli_support::{files_under, fstop, scene, stderr_of, stdout_of};
use predicates::prelude::*;

fn depth_args(dir: &Path, name: &str) -> Vec<String> {
    vec![
        "--depth".into(),
        dir.join(format!("depth/{name}.png")).display().to_string(),
        "--matte".into(),
        dir.join(format!("matte/{name}.png")).display().to_string(),
    ]
}

#[test]
fn render_with_depth_and_matte_files_writes_the_output_and_prints_nothing() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 96, 64, 1);
    let out = fstop(d.path())
        .args(["render", "p.png", "-o", "out.png"])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "{}",
        stderr_of(&out)
    );
    let img = image::open(d.path().join("out.png")).unwrap();
    assert_eq!((img.width(), img.height()), (96, 64));
}

#[test]
fn shorthand_and_default_output_name() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "photo", 64, 48, 2);
    // `fstop INPUT -o OUTPUT` is `fstop render INPUT -o OUTPUT`.
    fstop(d.path())
        .args(["photo.png", "-o", "short.jpg"])
        .args(depth_args(d.path(), "photo"))
        .assert()
        .success();
    let img = image::open(d.path().join("short.jpg")).unwrap();
    assert_eq!((img.width(), img.height()), (64, 48));
    // `fstop photo.png` writes photo-bokeh.png next to it (and replaces it on a re-run).
    for _ in 0..2 {
        fstop(d.path())
            .arg("photo.png")
            .args(depth_args(d.path(), "photo"))
            .assert()
            .success()
            .stdout("")
            .stderr("");
    }
    assert!(d.path().join("photo-bokeh.png").is_file());
    // In another folder: next to the input, not in the current folder.
    let sub = d.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    scene(&sub, "q", 32, 24, 3);
    fstop(d.path())
        .arg("sub/q.png")
        .args(depth_args(&sub, "q"))
        .assert()
        .success();
    assert!(sub.join("q-bokeh.png").is_file());
}

#[test]
fn bad_lens_values_exit_2_naming_the_range_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 32, 24, 1);
    let cases: &[(&[&str], &str)] = &[
        (&["--f-number", "0"], "0.95–22"),
        (&["--f-number", "f/40"], "0.95–22"),
        (&["--focal-length", "5000mm"], "10–800"),
        (&["--focus", "1cm"], "closer than the focal length"),
        (&["--blades", "2"], "3–32"),
        (&["--blade-curvature", "2"], "0–1"),
        (&["--anamorphic", "3"], "1–2"),
        (&["--chromatic-aberration", "900"], "0–500 µm"),
        (&["--chromatic-aberration", "huge"], "apochromatic"),
        (&["--spherical-aberration", "-2"], "-1–1"),
        (&["--cat-eye", "1.5"], "cat-eye 1.5 is outside 0–1"),
        (&["--swirl", "-0.5"], "swirl -0.5 is outside 0–1"),
        (&["--sensor-width-mm", "500"], "1–100"),
        (&["--highlight-gain", "-1"], "0–100"),
        (&["--background-distance", "0"], "positive"),
        (&["--f-number", "wide"], "f-number"),
        (&["--focus", "soon"], "auto"),
        (&["--sensor", "huge"], "full-frame"),
        (&["--jpeg-quality", "0"], "1..=100"),
    ];
    for (args, needle) in cases {
        let out = fstop(d.path())
            .args(["p.png", "-o", "out.png"])
            .args(depth_args(d.path(), "p"))
            .args(*args)
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(!d.path().join("out.png").exists());
}

#[test]
fn out_of_documented_range_warns_but_renders() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 32, 24, 1);
    fstop(d.path())
        .args(["p.png", "-o", "out.png", "--f-number", "5.6"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: f-number 5.6 is outside the documented",
        ));
    // -q silences warnings.
    fstop(d.path())
        .args(["-q", "p.png", "-o", "out2.png", "--f-number", "5.6"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .success()
        .stderr("");
}

#[test]
fn unknown_preset_and_bad_preset_files_exit_2() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 32, 24, 1);
    fstop(d.path())
        .args(["p.png", "--preset", "noctilux-f0.95"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown preset 'noctilux-f0.95'"))
        .stderr(predicate::str::contains("85mm-f1.8"));
    std::fs::write(
        d.path().join("bad.toml"),
        "focal_length_mm = 85\nf_number = 1.8\nbladez = 7\n",
    )
    .unwrap();
    fstop(d.path())
        .args(["p.png", "--preset", "bad.toml"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:3:1:"))
        .stderr(predicate::str::contains("bladez"));
    std::fs::write(d.path().join("range.toml"), "f_number = 0.5\n").unwrap();
    fstop(d.path())
        .args(["p.png", "--preset", "./range.toml"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "range.toml:1:12: f-number 0.5 is outside 0.95–22",
        ));
    assert!(!d.path().join("p-bokeh.png").exists());
}

#[test]
fn presets_list_and_show() {
    let d = tempfile::tempdir().unwrap();
    let out = fstop(d.path()).args(["presets", "list"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    let header = text.lines().next().unwrap();
    for col in ["NAME", "FOCAL", "F-NUMBER", "BLADES", "DESCRIPTION"] {
        assert!(header.contains(col), "{header}");
    }
    for name in [
        "85mm-f1.8",
        "85mm-f1.2",
        "85mm-f1.4",
        "105mm-f1.4",
        "135mm-f1.8",
        "135mm-f2",
        "50mm-f1.2",
        "50mm-f1.4",
        "50mm-f1.8",
        "vintage-6-blade",
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} missing:\n{text}"
        );
    }
    let line = text.lines().find(|l| l.starts_with("135mm-f2 ")).unwrap();
    assert!(line.contains("135 mm") && line.contains("f/2"), "{line}");

    let out = fstop(d.path())
        .args(["presets", "show", "vintage-6-blade"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let shown: toml::Table = toml::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(shown["blades"].as_integer(), Some(6));
    assert_eq!(shown["blade_curvature"].as_float(), Some(0.0));
    fstop(d.path())
        .args(["presets", "show", "nope"])
        .assert()
        .code(2);
}

#[test]
fn user_presets_come_from_xdg_config_home() {
    let d = tempfile::tempdir().unwrap();
    let presets = d.path().join("cfg/fstop/presets");
    std::fs::create_dir_all(&presets).unwrap();
    std::fs::write(
        presets.join("my-200mm.toml"),
        "description = \"my tele\"\nfocal_length_mm = 200\nf_number = 2.0\nblades = 9\n",
    )
    .unwrap();
    let out = fstop(d.path())
        .env("XDG_CONFIG_HOME", d.path().join("cfg"))
        .args(["presets", "list"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.contains("my-200mm") && text.contains("200 mm"),
        "{text}"
    );
    scene(d.path(), "p", 48, 32, 1);
    let out = fstop(d.path())
        .env("XDG_CONFIG_HOME", d.path().join("cfg"))
        .args(["p.png", "-o", "o.png", "--preset", "my-200mm", "--json"])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let first: serde_json::Value =
        serde_json::from_str(stdout_of(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["lens"]["focal_length_mm"], 200.0);
    assert_eq!(first["preset"], "my-200mm");
}

#[test]
fn config_file_sets_defaults_below_flags() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 48, 32, 1);
    std::fs::write(
        d.path().join("fstop.toml"),
        "preset = \"135mm-f2\"\nf_number = 2.8\nfocus = \"3m\"\n",
    )
    .unwrap();
    let lens_of = |extra: &[&str]| {
        let out = fstop(d.path())
            .args(["p.png", "-o", "o.png", "--json"])
            .args(depth_args(d.path(), "p"))
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
        let v: serde_json::Value =
            serde_json::from_str(stdout_of(&out).lines().next().unwrap()).unwrap();
        v["lens"].clone()
    };
    let lens = lens_of(&[]);
    assert_eq!(lens["focal_length_mm"], 135.0);
    assert_eq!(lens["f_number"], 2.8);
    assert_eq!(lens["focus_distance_m"], 3.0);
    assert_eq!(lens["focus_source"], "manual");
    let lens = lens_of(&["--f-number", "1.4", "--focus", "auto"]);
    assert_eq!(lens["f_number"], 1.4);
    assert_eq!(lens["focus_source"], "subject-size");
    // --no-config ignores it.
    let lens = lens_of(&["--no-config"]);
    assert_eq!(lens["focal_length_mm"], 85.0);
    // An invalid config is a usage error naming file, line and column.
    std::fs::write(d.path().join("bad.toml"), "jobs = 2\nf_number = 0.1\n").unwrap();
    fstop(d.path())
        .args(["--config", "bad.toml", "p.png"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:2:12: f-number 0.1"));
    std::fs::write(d.path().join("typo.toml"), "fnumber = 2\n").unwrap();
    fstop(d.path())
        .args(["--config", "typo.toml", "p.png"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("typo.toml:1:1"));
}

/// `p.png` (40×30), its matte `m.png` and a float32 .npy metric depth `depth.npy`: the
/// subject block at 1.5 m, the background at 8 m.
fn metric_scene(dir: &Path) {
    let (w, h) = (40usize, 30usize);
    cli_support::write_photo(&dir.join("p.png"), w as u32, h as u32, 1);
    cli_support::write_matte(&dir.join("m.png"), w as u32, h as u32);
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let subject = x >= w / 3 && x < 2 * w / 3 && y >= h / 4;
            data.push(if subject { 1.5f32 } else { 8.0 });
        }
    }
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({h}, {w}), }}");
    let mut header = header.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header);
    for v in data {
        npy.extend(v.to_le_bytes());
    }
    std::fs::write(dir.join("depth.npy"), npy).unwrap();
}

#[test]
fn metric_depth_auto_focus_lands_on_the_subject() {
    // A .npy float32 metric depth: subject at 1.5 m, background at 8 m.
    let d = tempfile::tempdir().unwrap();
    metric_scene(d.path());
    let out = fstop(d.path())
        .args([
            "p.png",
            "-o",
            "o.png",
            "--depth",
            "depth.npy",
            "--matte",
            "m.png",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v: serde_json::Value =
        serde_json::from_str(stdout_of(&out).lines().next().unwrap()).unwrap();
    assert_eq!(v["lens"]["focus_source"], "subject-depth");
    let focus = v["lens"]["focus_distance_m"].as_f64().unwrap();
    assert!((focus - 1.5).abs() < 0.01, "{focus}");
}

#[test]
fn focus_at_a_tapped_point_in_render_and_compare() {
    let d = tempfile::tempdir().unwrap();
    metric_scene(d.path());
    let maps = ["--depth", "depth.npy", "--matte", "m.png"];
    let focus_at = |point: &str| {
        let out = fstop(d.path())
            .args([
                "p.png",
                "-o",
                "o.png",
                "--overwrite",
                "--json",
                "--focus-at",
                point,
            ])
            .args(maps)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{point}: {}", stderr_of(&out));
        let v: serde_json::Value =
            serde_json::from_str(stdout_of(&out).lines().next().unwrap()).unwrap();
        assert_eq!(v["lens"]["focus_source"], "point", "{point}");
        v["lens"]["focus_distance_m"].as_f64().unwrap()
    };
    // The background (8 m), in pixels or percent; the subject (1.5 m).
    for point in ["2,2", "5%,5%"] {
        let focus = focus_at(point);
        assert!((focus - 8.0).abs() < 0.01, "{point}: {focus}");
    }
    let focus = focus_at("50%,70%");
    assert!((focus - 1.5).abs() < 0.01, "{focus}");
    // Compare focuses every preset there too.
    let out = fstop(d.path())
        .args([
            "compare",
            "p.png",
            "--presets",
            "85mm-f1.8,50mm-f1.4",
            "-o",
            "s.png",
        ])
        .args(["-v", "--focus-at", "2,2"])
        .args(maps)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert_eq!(err.matches("depth at the chosen point").count(), 2, "{err}");
    assert!(err.contains("focus 8.00 m"), "{err}");
    // A point outside the photo fails that photo, naming it and the point.
    let out = fstop(d.path())
        .args(["p.png", "-o", "x.png", "--focus-at", "41,2"])
        .args(maps)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("p.png") && err.contains("41,2") && err.contains("40×30"),
        "{err}"
    );
    assert!(!d.path().join("x.png").exists());
    // Malformed, or with --focus: usage errors.
    for args in [
        vec!["--focus-at", "left"],
        vec!["--focus-at", "1,1", "--focus", "2m"],
    ] {
        fstop(d.path())
            .args(["p.png", "-o", "y.png"])
            .args(args)
            .args(maps)
            .assert()
            .code(2);
    }
}

#[test]
fn save_depth_and_matte_write_16_bit_pngs_that_feed_back() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 48, 32, 1);
    fstop(d.path())
        .args([
            "p.png",
            "-o",
            "o.png",
            "--save-depth",
            "sd.png",
            "--save-matte",
            "sm.png",
        ])
        .args(depth_args(d.path(), "p"))
        .assert()
        .success();
    for f in ["sd.png", "sm.png"] {
        let img = image::open(d.path().join(f)).unwrap();
        assert_eq!(img.color(), image::ColorType::L16, "{f}");
        assert_eq!((img.width(), img.height()), (48, 32));
    }
    let matte = image::open(d.path().join("sm.png")).unwrap().into_luma16();
    assert_eq!(matte.get_pixel(24, 20)[0], 65535);
    assert_eq!(matte.get_pixel(1, 1)[0], 0);
    // Feeding them back renders the same lens.
    fstop(d.path())
        .args([
            "p.png", "-o", "o2.png", "--depth", "sd.png", "--matte", "sm.png",
        ])
        .assert()
        .success();
}

#[test]
fn timings_print_one_json_object() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 48, 32, 1);
    let out = fstop(d.path())
        .args(["p.png", "-o", "o.png", "--timings"])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in ["decode", "depth", "matte", "render", "encode", "total"] {
        assert!(v[key].as_f64().is_some_and(|t| t >= 0.0), "{key}: {text}");
    }
    assert!(v["total"].as_f64().unwrap() >= v["render"].as_f64().unwrap());
}

#[test]
fn verbose_reports_the_lens_and_focus() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 48, 32, 1);
    fstop(d.path())
        .args(["-v", "p.png", "-o", "o.png", "--focus", "2.5m"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .success()
        .stderr(predicate::str::contains("85 mm f/1.8"))
        .stderr(predicate::str::contains("focus 2.50 m"));
}

#[test]
fn output_equal_to_input_is_refused() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 32, 24, 1);
    let before = std::fs::read(d.path().join("p.png")).unwrap();
    fstop(d.path())
        .args(["p.png", "-o", "./p.png"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("overwrite the input"));
    assert_eq!(std::fs::read(d.path().join("p.png")).unwrap(), before);
}

#[test]
fn unreadable_input_is_a_failure_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("text.jpg"), "this is not a JPEG").unwrap();
    cli_support::write_disparity(&d.path().join("d.png"), 8, 8);
    let out = fstop(d.path())
        .args(["text.jpg", "-o", "o.jpg", "--depth", "d.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: text.jpg: "), "{err}");
    assert!(!d.path().join("o.jpg").exists());
    fstop(d.path())
        .args(["missing.jpg"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.jpg: no such file"));
}

#[test]
fn missing_models_are_one_clear_configuration_error() {
    let d = tempfile::tempdir().unwrap();
    for i in 0..3 {
        cli_support::write_photo(&d.path().join(format!("p{i}.png")), 32, 24, i);
    }
    let out = fstop(d.path())
        .args(["p0.png", "p1.png", "p2.png", "-o", "out", "--jobs", "2"])
        .args(["--ort-lib", "/nonexistent/libonnxruntime.so"])
        .args(["--model-dir", "/nonexistent-models"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    let errors = err.lines().filter(|l| l.starts_with("error:")).count();
    assert_eq!(errors, 1, "{err}");
    assert!(files_under(&d.path().join("out")).is_empty());
}

#[test]
fn deterministic_output() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 80, 60, 4);
    for o in ["a.jpg", "b.jpg", "a.png", "b.png"] {
        fstop(d.path())
            .args(["p.png", "-o", o])
            .args(depth_args(d.path(), "p"))
            .assert()
            .success();
    }
    let read = |f: &str| std::fs::read(d.path().join(f)).unwrap();
    assert_eq!(read("a.jpg"), read("b.jpg"));
    assert_eq!(read("a.png"), read("b.png"));
}

#[test]
fn compare_makes_a_labelled_contact_sheet() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 120, 80, 1);
    fstop(d.path())
        .args([
            "compare",
            "p.png",
            "--presets",
            "85mm-f1.8,135mm-f2,vintage-6-blade,50mm-f1.4",
            "-o",
            "sheet.png",
            "--columns",
            "2",
        ])
        .args(depth_args(d.path(), "p"))
        .assert()
        .success();
    let sheet = image::open(d.path().join("sheet.png")).unwrap().into_rgb8();
    // 2×2 tiles of 120×80, padding 4, label strip 2·8 + 3·4 = 28.
    assert_eq!(sheet.width(), 2 * 120 + 3 * 4);
    assert_eq!(sheet.height(), 2 * (80 + 28) + 3 * 4);
    // Label text is drawn (bright pixels in the strip under the first tile).
    let bright = (88..100)
        .flat_map(|y| (4..124).map(move |x| (x, y)))
        .filter(|&(x, y)| sheet.get_pixel(x, y)[0] > 200)
        .count();
    assert!(bright > 30, "{bright}");
    fstop(d.path())
        .args([
            "compare",
            "p.png",
            "--presets",
            "85mm-f1.8,nope",
            "-o",
            "s2.png",
        ])
        .args(depth_args(d.path(), "p"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown preset 'nope'"));
}

#[test]
fn completions_and_man_page() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = fstop(d.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = stdout_of(&out);
        assert!(
            text.contains("fstop") && text.contains("focal-length"),
            "{shell}"
        );
    }
    let out = fstop(d.path()).arg("man").output().unwrap();
    assert!(out.status.success());
    let man = stdout_of(&out);
    assert!(
        man.contains(".TH fstop") && man.contains("Exit codes"),
        "{man}"
    );
    let out = fstop(d.path()).args(["man", "render"]).output().unwrap();
    assert!(stdout_of(&out).contains("\\-\\-f\\-number"));
}

#[test]
fn help_documents_defaults_and_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    fstop(d.path())
        .args(["render", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[default: 1.8"))
        .stdout(predicate::str::contains("Exit codes"));
    fstop(d.path()).assert().code(2);
}

#[test]
fn closed_stdout_exits_quietly() {
    use std::process::{Command, Stdio};
    let d = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fstop"))
        .args(["completions", "zsh"])
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(stderr_of(&out), "");
}

#[test]
fn output_folder_for_a_single_photo() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 32, 24, 1);
    fstop(d.path())
        .args(["p.png", "-o", "outdir/"])
        .args(depth_args(d.path(), "p"))
        .assert()
        .success();
    assert_eq!(files_under(&d.path().join("outdir")), vec!["p-bokeh.png"]);
}

#[test]
fn max_pixels_refuses_big_photos_before_decoding() {
    let d = tempfile::tempdir().unwrap();
    scene(d.path(), "p", 64, 48, 1);
    let out = fstop(d.path())
        .args(["p.png", "-o", "o.png", "--max-pixels", "1000"])
        .args(depth_args(d.path(), "p"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("3072") && err.contains("1000"), "{err}");
    assert!(!d.path().join("o.png").exists());
}

/// On a terminal, errors are coloured unless `NO_COLOR` is set; off a terminal never (the
/// reliability tests check every stderr for escape codes). `script` gives the terminal.
#[test]
fn no_color_turns_colour_off_on_a_terminal() {
    let has_script = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_script {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: NO_COLOR on a terminal: no `script`"
        );
        return;
    }
    let on_a_terminal = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec"])
            .arg(format!("{} --bogus", env!("CARGO_BIN_EXE_fstop")))
            .arg("/dev/null")
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_a_terminal(false);
    assert!(
        coloured.contains("--bogus") && coloured.contains('\u{1b}'),
        "{coloured:?}"
    );
    let plain = on_a_terminal(true);
    assert!(
        plain.contains("--bogus") && !plain.contains('\u{1b}'),
        "{plain:?}"
    );
}
