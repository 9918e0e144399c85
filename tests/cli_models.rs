//! End-to-end tests that run the real models (`fstop photo.png` with nothing else). They need
//! what `bash scripts/setup.sh` installs (ONNX Runtime, MODNet, FastDepth); without it they fail
//! with the set-up hint. Inputs: the shipped public-domain example and generated images.

mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::{files_under, fstop, stderr_of, stdout_of};
use predicates::prelude::*;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/astronaut.png")
}

fn copy_example(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy(example(), &p).unwrap();
    p
}

fn first_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(stdout_of(out).lines().next().expect("a JSON line")).unwrap()
}

#[test]
fn plain_photo_renders_out_of_the_box_silently() {
    let d = tempfile::tempdir().unwrap();
    copy_example(d.path(), "photo.png");
    let out = fstop(d.path()).arg("photo.png").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
    assert_eq!(stdout_of(&out), "");
    let img = image::open(d.path().join("photo-bokeh.png")).unwrap();
    assert_eq!((img.width(), img.height()), (512, 512));
}

#[test]
fn json_names_the_models_and_the_auto_focus() {
    let d = tempfile::tempdir().unwrap();
    copy_example(d.path(), "photo.png");
    let out = fstop(d.path())
        .args(["photo.png", "-o", "o.jpg", "--json", "--timings"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The file line (carrying the timings) and the summary: every line typed.
    assert_eq!(lines.len(), 2, "{text}");
    let file = lines.iter().find(|l| l["type"] == "file").unwrap();
    let timings = &file["timings_ms"];
    assert!(timings["depth"].as_f64().unwrap() > 0.0);
    assert!(timings["matte"].as_f64().unwrap() > 0.0);
    assert_eq!(file["depth_source"], "model");
    assert_eq!(file["models"]["depth"], "fastdepth");
    assert_eq!(file["models"]["matte"], "modnet");
    assert_eq!(file["lens"]["focus_source"], "subject-size");
    let focus = file["lens"]["focus_distance_m"].as_f64().unwrap();
    assert!((0.5..10.0).contains(&focus), "{focus}");
    // A longer lens frames the same subject from farther away.
    let out = fstop(d.path())
        .args([
            "photo.png",
            "-o",
            "o2.jpg",
            "--json",
            "--focal-length",
            "135",
        ])
        .output()
        .unwrap();
    let longer = first_json(&out)["lens"]["focus_distance_m"]
        .as_f64()
        .unwrap();
    assert!(longer > focus * 1.3, "{focus} → {longer}");
}

#[test]
fn saved_depth_and_matte_feed_back_to_the_same_focus() {
    let d = tempfile::tempdir().unwrap();
    copy_example(d.path(), "photo.png");
    let out = fstop(d.path())
        .args(["photo.png", "-o", "a.png", "--json"])
        .args(["--save-depth", "depth.png", "--save-matte", "matte.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let first = first_json(&out);
    let out = fstop(d.path())
        .args(["photo.png", "-o", "b.png", "--json"])
        .args(["--depth", "depth.png", "--matte", "matte.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let second = first_json(&out);
    assert_eq!(second["depth_source"], "file");
    assert!(second["models"].is_null());
    let (f1, f2) = (
        first["lens"]["focus_distance_m"].as_f64().unwrap(),
        second["lens"]["focus_distance_m"].as_f64().unwrap(),
    );
    assert!((f1 - f2).abs() < 0.01 * f1, "{f1} vs {f2}");
}

#[test]
fn batch_with_models_is_identical_across_job_counts() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    for n in ["a.png", "b.png", "c.png"] {
        copy_example(&dir, n);
    }
    for (out_dir, jobs) in [("j1", "1"), ("j2", "2")] {
        fstop(d.path())
            .args(["in", "-o", out_dir, "--jobs", jobs, "--name", "{stem}.jpg"])
            .assert()
            .success();
    }
    let names = files_under(&d.path().join("j1"));
    assert_eq!(names, vec!["a.jpg", "b.jpg", "c.jpg"]);
    for n in &names {
        assert_eq!(
            std::fs::read(d.path().join("j1").join(n)).unwrap(),
            std::fs::read(d.path().join("j2").join(n)).unwrap(),
            "{n}"
        );
    }
}

#[test]
fn compare_analyses_once_and_labels_each_preset() {
    let d = tempfile::tempdir().unwrap();
    copy_example(d.path(), "photo.png");
    let out = fstop(d.path())
        .args([
            "-v",
            "compare",
            "photo.png",
            "--presets",
            "85mm-f1.8,135mm-f2",
        ])
        .args(["-o", "sheet.jpg", "--tile-width", "256"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(err.contains("85mm-f1.8: 85 mm f/1.8") && err.contains("135mm-f2: 135 mm f/2"));
    // -v names the model files actually loaded, in the CLI's plain style (no colour codes).
    assert!(
        err.contains("models: depth fastdepth (") && err.contains(".onnx), matte modnet ("),
        "{err}"
    );
    assert!(
        !err.contains('\x1b'),
        "colour codes on a non-terminal: {err}"
    );
    let sheet = image::open(d.path().join("sheet.jpg")).unwrap();
    assert_eq!(sheet.width(), 2 * 256 + 3 * 4);
}

#[test]
fn other_models_by_name_and_unknown_models() {
    let d = tempfile::tempdir().unwrap();
    copy_example(d.path(), "photo.png");
    let out = fstop(d.path())
        .args([
            "photo.png",
            "-o",
            "o.png",
            "--json",
            "--matte-model",
            "u2netp",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(first_json(&out)["models"]["matte"], "u2netp");
    fstop(d.path())
        .args([
            "photo.png",
            "-o",
            "o2.png",
            "--depth-model",
            "no-such-model",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-model"));
    assert!(!d.path().join("o2.png").exists());
}
