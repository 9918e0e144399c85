//! End-to-end batch tests: folders, skipping, reports, JSON lines, shards, fail-fast, panics,
//! determinism across --jobs, and interruption by signals. Inputs are generated; depth and
//! matte come from files through templates, so no model is needed.

mod cli_support;

use std::path::Path;
use std::process::{Command, Stdio};

use cli_support::{files_under, fstop, scene, stderr_of, stdout_of};
use predicates::prelude::*;

const TEMPLATES: [&str; 4] = [
    "--depth",
    "{dir}/depth/{stem}.png",
    "--matte",
    "{dir}/matte/{stem}.png",
];

/// `photos/` with `n` generated photos (p00..), depth/ and matte/ beside them, and a corrupt
/// `p_corrupt.png` (with valid depth and matte) when `corrupt`.
fn photos(root: &Path, n: u32, corrupt: bool, w: u32, h: u32) -> std::path::PathBuf {
    let dir = root.join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..n {
        scene(&dir, &format!("p{i:02}"), w, h, i);
    }
    if corrupt {
        scene(&dir, "p_corrupt", w, h, 99);
        let bytes = std::fs::read(dir.join("p_corrupt.png")).unwrap();
        std::fs::write(dir.join("p_corrupt.png"), &bytes[..bytes.len() / 3]).unwrap();
    }
    dir
}

fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout_of(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn folder_with_one_corrupt_file_exits_1_and_renders_the_others_then_skips_all() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 5, true, 48, 32);
    let out = fstop(d.path())
        .args(["photos", "-o", "out", "--report", "report.json"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    assert!(error_lines[0].contains("p_corrupt.png"), "{err}");
    assert!(
        err.contains("5 rendered, 0 skipped, 1 failed of 6 files"),
        "{err}"
    );
    let outputs = files_under(&d.path().join("out"));
    assert_eq!(outputs.len(), 5, "{outputs:?}");
    for f in &outputs {
        assert!(f.ends_with("-bokeh.png"), "{f}");
        image::open(d.path().join("out").join(f)).unwrap();
    }

    // The report.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["summary"]["total"], 6);
    assert_eq!(report["summary"]["rendered"], 5);
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["exit_code"], 1);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 6);
    // Sorted by input path.
    let inputs: Vec<&str> = files.iter().map(|f| f["input"].as_str().unwrap()).collect();
    let mut sorted = inputs.clone();
    sorted.sort();
    assert_eq!(inputs, sorted);
    for f in files {
        let input = f["input"].as_str().unwrap();
        if input.ends_with("p_corrupt.png") {
            assert_eq!(f["status"], "failed");
            assert!(f["error"].as_str().is_some_and(|e| !e.is_empty()));
            assert!(f["lens"].is_null());
        } else {
            assert_eq!(f["status"], "rendered", "{f}");
            assert!(f["error"].is_null());
            assert_eq!(f["lens"]["focal_length_mm"], 85.0);
            assert_eq!(f["lens"]["f_number"], 1.8);
            assert_eq!(f["lens"]["sensor"], "full-frame");
            assert!(f["lens"]["focus_distance_m"].as_f64().unwrap() > 0.5);
            assert_eq!(f["depth_source"], "file");
            assert!(f["depth_file"].as_str().unwrap().ends_with(".png"));
            for stage in ["decode", "depth", "matte", "render", "encode", "total"] {
                assert!(f["timings_ms"][stage].as_f64().is_some(), "{stage}");
            }
            assert!(
                f["output"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("out{}", std::path::MAIN_SEPARATOR))
            );
        }
    }

    // A second run skips everything that exists; the corrupt file fails again.
    let before: Vec<Vec<u8>> = outputs
        .iter()
        .map(|f| std::fs::read(d.path().join("out").join(f)).unwrap())
        .collect();
    let out = fstop(d.path())
        .args(["photos", "-o", "out", "--json"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let skipped = lines.iter().filter(|l| l["status"] == "skipped").count();
    assert_eq!(skipped, 5);
    let after: Vec<Vec<u8>> = outputs
        .iter()
        .map(|f| std::fs::read(d.path().join("out").join(f)).unwrap())
        .collect();
    assert_eq!(before, after);

    // Without the corrupt file: everything skipped, exit 0.
    std::fs::remove_file(d.path().join("photos/p_corrupt.png")).unwrap();
    fstop(d.path())
        .args(["photos", "-o", "out"])
        .args(TEMPLATES)
        .assert()
        .success()
        .stderr(predicate::str::contains("0 rendered, 5 skipped, 0 failed"));
    // --overwrite renders again.
    fstop(d.path())
        .args(["photos", "-o", "out", "--overwrite"])
        .args(TEMPLATES)
        .assert()
        .success()
        .stderr(predicate::str::contains("5 rendered, 0 skipped"));
}

#[test]
fn json_lines_one_per_file_then_a_summary() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 3, false, 40, 30);
    let out = fstop(d.path())
        .args(["photos", "-o", "out", "--json", "-q"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    for l in &lines[..3] {
        assert_eq!(l["type"], "file");
        assert_eq!(l["status"], "rendered");
        assert!(l["lens"]["focus_distance_m"].is_number());
        assert!(l["timings_ms"]["total"].is_number());
        assert_eq!(l["preset"], "85mm-f1.8");
    }
    assert_eq!(lines[3]["type"], "summary");
    assert_eq!(lines[3]["rendered"], 3);
    assert_eq!(lines[3]["exit_code"], 0);
}

#[test]
fn shards_cover_every_file_exactly_once() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 7, false, 24, 16);
    let mut seen = Vec::new();
    for i in 1..=3 {
        let out = fstop(d.path())
            .args([
                "photos",
                "-o",
                "out",
                "--json",
                "--shard",
                &format!("{i}/3"),
            ])
            .args(TEMPLATES)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        for l in json_lines(&out) {
            if l["type"] == "file" {
                assert_eq!(l["status"], "rendered");
                seen.push(l["input"].as_str().unwrap().to_string());
            } else {
                assert_eq!(l["shard"], format!("{i}/3"));
            }
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a file was in two shards: {seen:?}"
    );
    assert_eq!(seen.len(), 7);
    assert_eq!(files_under(&d.path().join("out")).len(), 7);
    fstop(d.path())
        .args(["photos", "-o", "out", "--shard", "4/3"])
        .assert()
        .code(2);
}

/// The inputs shard `spec` processes under the environment `env`.
fn shard_inputs(dir: &Path, spec: &str, env: &[(&str, &str)]) -> Vec<String> {
    let mut cmd = fstop(dir);
    cmd.args([
        "photos",
        "-o",
        "out",
        "--json",
        "--overwrite",
        "--shard",
        spec,
    ])
    .args(TEMPLATES);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{spec} {env:?}: {}", stderr_of(&out));
    let mut inputs: Vec<String> = json_lines(&out)
        .iter()
        .filter(|l| l["type"] == "file")
        .map(|l| l["input"].as_str().unwrap().to_string())
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn shard_auto_reads_kubernetes_and_slurm_indices() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 5, false, 24, 16);
    for i in 1..=3usize {
        let fixed = shard_inputs(d.path(), &format!("{i}/3"), &[]);
        assert!(!fixed.is_empty());
        let k8s_index = (i - 1).to_string();
        let k8s = [
            ("JOB_COMPLETION_INDEX", k8s_index.as_str()),
            ("FSTOP_SHARD_COUNT", "3"),
        ];
        assert_eq!(
            shard_inputs(d.path(), "auto", &k8s),
            fixed,
            "kubernetes {i}"
        );
        let k8s_flag = [("JOB_COMPLETION_INDEX", k8s_index.as_str())];
        assert_eq!(shard_inputs(d.path(), "auto/3", &k8s_flag), fixed);
        // `sbatch --array=1-3`: ids 1..=3, minimum 1.
        let id = i.to_string();
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", id.as_str()),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        assert_eq!(shard_inputs(d.path(), "auto", &slurm), fixed, "slurm {i}");
    }
    // No scheduler: a usage error naming what it looked for, nothing written.
    let out = fstop(d.path())
        .args(["photos", "-o", "none", "--shard", "auto"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("JOB_COMPLETION_INDEX") && err.contains("SLURM_ARRAY_TASK_ID"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!d.path().join("none").exists());
}

#[test]
fn recursive_folders_are_mirrored_and_globs_work() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("in");
    scene(&root, "a", 24, 16, 1);
    scene(&root.join("x/y"), "b", 24, 16, 2);
    // Without -r only the top level.
    fstop(d.path())
        .args(["in", "-o", "flat"])
        .args(TEMPLATES)
        .assert()
        .success();
    assert_eq!(files_under(&d.path().join("flat")), vec!["a-bokeh.png"]);
    fstop(d.path())
        .args([
            "in",
            "-r",
            "-o",
            "deep",
            "--exclude",
            "*/depth/*",
            "--exclude",
            "*/matte/*",
        ])
        .args(TEMPLATES)
        .assert()
        .success();
    assert_eq!(
        files_under(&d.path().join("deep")),
        vec!["a-bokeh.png", "x/y/b-bokeh.png"]
    );
    // A glob; the name template with lens placeholders.
    fstop(d.path())
        .args([
            "in/x/*/*.png",
            "-o",
            "g",
            "--name",
            "{stem}_{focal_length}mm_f{f_number}.jpg",
        ])
        .args(TEMPLATES)
        .assert()
        .success();
    assert_eq!(files_under(&d.path().join("g")), vec!["y/b_85mm_f1.8.jpg"]);
    // A glob with no match and a folder with no photo end the same way: one usage error.
    let unmatched = fstop(d.path())
        .args(["in/*.gif", "-o", "g"])
        .output()
        .unwrap();
    std::fs::create_dir_all(d.path().join("empty/sub")).unwrap();
    let empty = fstop(d.path()).args(["empty", "-o", "g"]).output().unwrap();
    for (out, input, place) in [
        (&unmatched, "in/*.gif", "match this pattern"),
        (
            &empty,
            "empty",
            "in this folder (use -r to include subfolders)",
        ),
    ] {
        assert_eq!(out.status.code(), Some(2), "{input}");
        assert_eq!(
            stderr_of(out).trim(),
            format!("error: {input}: no photos (jpg, jpeg, png, tif, tiff, webp) {place}")
        );
    }
    assert!(!d.path().join("g").join("empty").exists());
    // Braces in globs and in --exclude (globset syntax, as ripgrep and fd take).
    fstop(d.path())
        .args(["in/**/*.{png,jpg}", "-o", "braces"])
        .args(TEMPLATES)
        .assert()
        .success();
    assert_eq!(
        files_under(&d.path().join("braces")),
        vec!["a-bokeh.png", "x/y/b-bokeh.png"]
    );
    fstop(d.path())
        .args(["in", "-r", "-o", "none", "--exclude", "*.{png,jpg}"])
        .args(TEMPLATES)
        .assert()
        .success();
    assert!(files_under(&d.path().join("none")).is_empty());
}

#[test]
fn depth_and_matte_files_next_to_photos_are_not_taken_as_photos() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("shots");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, n) in ["a", "b"].iter().enumerate() {
        cli_support::write_photo(&dir.join(format!("{n}.png")), 24, 16, i as u32);
        cli_support::write_disparity(&dir.join(format!("{n}_depth.png")), 24, 16);
    }
    fstop(d.path())
        .args(["shots", "--depth", "{dir}/{stem}_depth.png"])
        .assert()
        .success()
        .stderr(predicate::str::contains("2 rendered"));
    // Outputs next to the inputs; a re-run leaves out the outputs and depth maps and skips.
    assert!(dir.join("a-bokeh.png").is_file() && dir.join("b-bokeh.png").is_file());
    fstop(d.path())
        .args(["shots", "--depth", "{dir}/{stem}_depth.png"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "0 rendered, 2 skipped, 0 failed of 2 files",
        ));
}

#[test]
fn output_equal_to_input_is_refused_in_batch_mode() {
    let d = tempfile::tempdir().unwrap();
    let dir = photos(d.path(), 2, false, 24, 16);
    let before = std::fs::read(dir.join("p00.png")).unwrap();
    fstop(d.path())
        .args(["photos", "--name", "{stem}.{ext}"])
        .args(TEMPLATES)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("overwrite the input"));
    assert_eq!(std::fs::read(dir.join("p00.png")).unwrap(), before);
    // Two inputs with the same output name.
    fstop(d.path())
        .args(["photos", "-o", "out", "--name", "same.png"])
        .args(TEMPLATES)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("would both be written"));
    // -o naming a file with several inputs.
    std::fs::write(d.path().join("file.png"), b"x").unwrap();
    fstop(d.path())
        .args(["photos", "-o", "file.png"])
        .args(TEMPLATES)
        .assert()
        .code(2);
    // A literal --depth for many photos.
    fstop(d.path())
        .args(["photos", "-o", "out", "--depth", "photos/depth/p00.png"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("template"));
}

#[test]
fn fail_fast_stops_at_the_first_failure() {
    let d = tempfile::tempdir().unwrap();
    let dir = photos(d.path(), 4, false, 24, 16);
    // Sorted first: "a_bad.png".
    std::fs::write(dir.join("a_bad.png"), b"not a png").unwrap();
    let out = fstop(d.path())
        .args([
            "photos",
            "-o",
            "out",
            "--jobs",
            "1",
            "--fail-fast",
            "--report",
            "r.json",
        ])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(files_under(&d.path().join("out")).is_empty());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["not_started"], 4);
    assert_eq!(report["summary"]["stopped_by"], "fail-fast");
    // Without --fail-fast the others are rendered.
    fstop(d.path())
        .args(["photos", "-o", "out", "--jobs", "1"])
        .args(TEMPLATES)
        .assert()
        .code(1);
    assert_eq!(files_under(&d.path().join("out")).len(), 4);
}

#[test]
fn a_panic_in_one_photo_is_that_photos_failure() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 3, false, 24, 16);
    let out = fstop(d.path())
        .env("FSTOP_DEBUG_PANIC_ON", "p01")
        .args(["photos", "-o", "out", "--jobs", "2"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("p01.png") && errors[0].contains("panic"),
        "{err}"
    );
    assert!(!err.contains("panicked at"), "{err}");
    assert_eq!(
        files_under(&d.path().join("out")),
        vec!["p00-bokeh.png", "p02-bokeh.png"]
    );
}

#[test]
fn output_is_identical_across_runs_and_job_counts() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 4, false, 64, 48);
    for (dir, jobs) in [("j1", "1"), ("j2", "2"), ("j3", "3")] {
        fstop(d.path())
            .args(["photos", "-o", dir, "--jobs", jobs, "--name", "{stem}.jpg"])
            .args(TEMPLATES)
            .assert()
            .success();
    }
    let names = files_under(&d.path().join("j1"));
    assert_eq!(names.len(), 4);
    for n in &names {
        let a = std::fs::read(d.path().join("j1").join(n)).unwrap();
        for other in ["j2", "j3"] {
            assert_eq!(
                a,
                std::fs::read(d.path().join(other).join(n)).unwrap(),
                "{other}/{n}"
            );
        }
    }
}

/// Starts a batch, waits for the first rendered photo, sends `signal`, and checks the exit code,
/// that nothing partial or temporary is left, and that a re-run completes the batch.
fn interrupt(signal: &str, code: i32) {
    let d = tempfile::tempdir().unwrap();
    let n = 24;
    photos(d.path(), n, false, 900, 600);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fstop"))
        .args(["photos", "-o", "out", "--jobs", "1", "--report", "r.json"])
        .args(TEMPLATES)
        .current_dir(d.path())
        .env("XDG_CONFIG_HOME", d.path().join("none"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Plain log lines (stderr is not a terminal): wait for the first "rendered".
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let mut reader = std::io::BufReader::new(stderr);
    let mut line = String::new();
    loop {
        line.clear();
        let read = reader.read_line(&mut line).unwrap();
        assert!(read > 0, "fstop ended before rendering anything");
        if line.contains("rendered") {
            break;
        }
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(code), "{rest}");
    assert!(rest.contains("interrupted"), "{rest}");
    // No partial or temporary file: everything in out/ is a complete, decodable output.
    let outputs = files_under(&d.path().join("out"));
    assert!(
        !outputs.is_empty() && outputs.len() < n as usize,
        "{outputs:?}"
    );
    for f in &outputs {
        assert!(f.ends_with("-bokeh.png") && !f.starts_with('.'), "{f}");
        let img = image::open(d.path().join("out").join(f)).unwrap();
        assert_eq!((img.width(), img.height()), (900, 600));
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["exit_code"], code);
    assert_eq!(
        report["summary"]["rendered"].as_u64().unwrap() as usize,
        outputs.len()
    );
    // The next run resumes: skips what exists, renders the rest.
    let out = fstop(d.path())
        .args(["photos", "-o", "out", "--jobs", "2"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let summary = stderr_of(&out);
    assert!(
        summary.contains(&format!("{} skipped", outputs.len())),
        "{summary}"
    );
    assert_eq!(files_under(&d.path().join("out")).len(), n as usize);
}

#[test]
fn sigint_stops_the_batch_cleanly_with_130() {
    interrupt("-INT", 130);
}

#[test]
fn sigterm_stops_the_batch_cleanly_with_143() {
    interrupt("-TERM", 143);
}

#[test]
fn unwritable_output_is_a_failure_naming_the_file_and_the_batch_goes_on() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 2, false, 24, 16);
    // `blocked` is a file, so no folder can be created under it (root ignores permissions).
    std::fs::write(d.path().join("blocked"), b"x").unwrap();
    let out = fstop(d.path())
        .args(["photos/p00.png", "-o", "blocked/p00.png"])
        .args(["--depth", "photos/depth/p00.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("p00.png") && err.contains("blocked"), "{err}");
    // In a batch, one unwritable output does not stop the others.
    std::fs::create_dir_all(d.path().join("out")).unwrap();
    std::fs::write(d.path().join("out/sub"), b"x").unwrap();
    let out = fstop(d.path())
        .args([
            "photos/p00.png",
            "photos/p01.png",
            "-o",
            "out",
            "--name",
            "{stem}.png",
        ])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = fstop(d.path())
        .args([
            "photos/p00.png",
            "photos/p01.png",
            "-o",
            "out",
            "--overwrite",
        ])
        .args(["--name", "sub/{stem}.png"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        2,
        "{err}"
    );
    assert_eq!(
        files_under(&d.path().join("out")),
        vec!["p00.png", "p01.png", "sub"]
    );
}

#[test]
fn a_full_disk_fails_the_photo_and_leaves_no_partial_file() {
    // A file-size limit stands in for a full disk: writes beyond it fail with EFBIG.
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 2, false, 400, 300);
    let script = format!(
        "ulimit -f 50; exec '{}' photos -o out --name '{{stem}}.png' --depth '{{dir}}/depth/{{stem}}.png'",
        env!("CARGO_BIN_EXE_fstop")
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(d.path())
        .env("XDG_CONFIG_HOME", d.path().join("none"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        2,
        "{err}"
    );
    // Nothing partial or temporary is left behind.
    assert_eq!(files_under(&d.path().join("out")), Vec::<String>::new());
}

#[test]
fn batch_timings_are_one_line_per_photo_with_its_input() {
    let d = tempfile::tempdir().unwrap();
    photos(d.path(), 2, false, 24, 16);
    let out = fstop(d.path())
        .args(["photos", "-o", "out", "--timings", "-q"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    for l in lines {
        assert!(l["input"].as_str().unwrap().contains("photos"));
        assert!(l["render"].is_number() && l["total"].is_number());
    }
}

#[test]
fn json_with_timings_prints_only_typed_lines() {
    let d = tempfile::tempdir().unwrap();
    let dir = photos(d.path(), 2, false, 24, 16);
    let out = fstop(d.path())
        .arg(&dir)
        .args(["-o", "out", "--json", "--timings"])
        .args(TEMPLATES)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    for l in &lines {
        assert!(l["type"].is_string(), "untyped line: {l}");
    }
    assert!(lines[0]["timings_ms"]["render"].is_number(), "{}", lines[0]);
}
