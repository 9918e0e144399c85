//! Reliability II (issue 11), end to end through the binary: no path fstop writes may replace a
//! path it reads or another path it writes; names and folders that cannot be right are refused
//! before anything is written; a closed stdout does not leave photos undone; settings that
//! cannot be right are refused (or warned about, where only the photo can tell); special files
//! as inputs are named for what they are. Inputs are generated; depth and matte come from files,
//! so no model is needed.

mod cli_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cli_support::{fstop, scene, stderr_of};

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// `a.png` with `depth/a.png` and `matte/a.png`, a config file and a preset file.
fn workspace(dir: &Path) {
    scene(dir, "a", 48, 36, 1);
    std::fs::write(dir.join("fstop.toml"), "jpeg_quality = 90\n").unwrap();
    std::fs::write(dir.join("lens.toml"), "f_number = 2.0\n").unwrap();
}

/// Runs fstop and asserts a one-line usage error (exit 2) containing `expect`, with every file
/// in `dir` byte-identical afterwards and nothing added.
fn refused(dir: &Path, args: &[&str], expect: &str) {
    let before = snapshot(dir);
    let out = fstop(dir).args(args).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line expected: {err}");
    assert!(
        err.contains(expect),
        "{args:?}: expected '{expect}' in: {err}"
    );
    assert_eq!(snapshot(dir), before, "{args:?} changed files");
}

#[test]
fn no_write_option_can_replace_a_file_the_run_reads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    workspace(d);
    let reads = [
        "a.png",
        "depth/a.png",
        "matte/a.png",
        "fstop.toml",
        "lens.toml",
    ];
    let base = [
        "a.png",
        "--depth",
        "depth/a.png",
        "--matte",
        "matte/a.png",
        "--config",
        "fstop.toml",
        "--preset",
        "lens.toml",
    ];
    // Every write option aimed at every file the run reads, also spelled another way.
    for option in ["-o", "--report", "--save-depth", "--save-matte"] {
        for read in reads {
            for spelling in [read.to_string(), format!("./{read}")] {
                let mut args: Vec<&str> = base.to_vec();
                if option != "-o" {
                    args.extend(["-o", "out.png"]);
                }
                args.extend([option, &spelling]);
                let expect = if option == "-o" && read.ends_with(".toml") {
                    "cannot write this format" // refused even before the clash is seen
                } else {
                    "would overwrite"
                };
                refused(d, &args, expect);
            }
        }
    }
}

#[test]
fn no_two_writes_share_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    workspace(d);
    let base = ["a.png", "--depth", "depth/a.png", "--matte", "matte/a.png"];
    let writes = ["-o", "--report", "--save-depth", "--save-matte"];
    for (i, first) in writes.iter().enumerate() {
        for second in &writes[i + 1..] {
            let mut args: Vec<&str> = base.to_vec();
            if *first != "-o" {
                args.extend(["-o", "out.png"]);
            }
            let target = if *first == "-o" {
                "out.png"
            } else {
                "same.png"
            };
            args.extend([*first, target, *second, target]);
            refused(d, &args, "would both be written to");
        }
    }
}

#[test]
fn batch_templates_are_checked_after_expansion() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photos = d.join("photos");
    scene(&photos, "a", 32, 24, 1);
    scene(&photos, "b", 32, 24, 2);
    let t = [
        "photos/a.png",
        "photos/b.png",
        "-o",
        "out",
        "--depth",
        "{dir}/depth/{stem}.png",
        "--matte",
        "{dir}/matte/{stem}.png",
    ];
    // --save-depth expands onto b's --depth file.
    let mut args = t.to_vec();
    args.extend(["--save-depth", "{dir}/depth/{stem}.png"]);
    refused(d, &args, "--save-depth would overwrite the --depth file");
    // --save-matte expands onto b's photo.
    let mut args = t.to_vec();
    args.extend(["--save-matte", "{dir}/{stem}.png"]);
    refused(d, &args, "--save-matte would overwrite the input photo");
    // The report onto an input (the case that used to turn a.jpg into JSON).
    let mut args = t.to_vec();
    args.extend(["--report", "photos/b.png"]);
    refused(d, &args, "--report would overwrite the input photo");
    // A name template that lands on the depth file of the other photo.
    let args = [
        "photos/a.png",
        "photos/b.png",
        "--depth",
        "{dir}/depth/{stem}.png",
        "--name",
        "depth/{stem}.png",
    ];
    refused(d, &args, "would overwrite the --depth file");
}

#[test]
fn names_and_folders_that_cannot_be_right_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photos = d.join("photos");
    scene(&photos, "b", 32, 24, 2);
    // A photo whose stem is `..`: {stem}/{stem}/x.png would climb out of -o.
    std::fs::copy(photos.join("b.png"), photos.join("...png")).unwrap();
    std::fs::copy(photos.join("depth/b.png"), photos.join("depth/...png")).unwrap();
    std::fs::create_dir_all(d.join("out/deep")).unwrap();
    refused(
        d,
        &[
            "photos/...png",
            "photos/b.png",
            "-o",
            "out/deep",
            "--depth",
            "{dir}/depth/{stem}.png",
            "--name",
            "{stem}/{stem}/x.png",
        ],
        "leaves the output folder",
    );
    // -o naming a file with several photos: refused, no folder `many.jpg` made.
    refused(
        d,
        &["photos/...png", "photos/b.png", "-o", "many.jpg"],
        "several photos need an output folder",
    );
    assert!(!d.join("many.jpg").exists());
    // A folder where the output would go is not "skipped": it is refused.
    std::fs::create_dir_all(d.join("out/b-bokeh.png")).unwrap();
    refused(
        d,
        &[
            "photos/b.png",
            "-o",
            "out/",
            "--depth",
            "{dir}/depth/{stem}.png",
        ],
        "is an existing folder",
    );
}

#[test]
fn a_glob_does_not_pick_up_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scene(&d.join("in"), "a", 32, 24, 1);
    // depth/ and matte/ hold PNGs too: as the templates' files they are not taken as photos.
    let args = [
        "in/**/*.png",
        "-o",
        "in/out",
        "--depth",
        "{dir}/depth/{stem}.png",
        "--matte",
        "{dir}/matte/{stem}.png",
        "--json",
    ];
    let first = fstop(d).args(args).output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr_of(&first));
    assert!(d.join("in/out/a-bokeh.png").is_file());
    let second = fstop(d).args(args).output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", stderr_of(&second));
    let summary: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&second.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(summary["total"], 1, "{summary}");
    assert!(!d.join("in/out/out").exists());
}

#[test]
fn a_legal_254_byte_output_name_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scene(d, "a", 32, 24, 1);
    let name = format!("{}.png", "n".repeat(250));
    assert_eq!(name.len(), 254);
    let out = fstop(d)
        .args(["a.png", "-o", &name, "--depth", "depth/a.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(d.join(&name).is_file());
}

#[test]
fn temporary_files_of_killed_runs_are_cleaned_up_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scene(d, "a", 32, 24, 1);
    std::fs::create_dir_all(d.join("out")).unwrap();
    // What a SIGKILLed writer leaves: its pid (here one above the kernel's maximum, so never
    // running) in the name.
    let stale = d.join(format!("out/.a-bokeh.png.{}.Ab3dEf.fstop-tmp", 1u32 << 23));
    std::fs::write(&stale, b"half a PNG").unwrap();
    let out = fstop(d)
        .args(["a.png", "-o", "out/", "--depth", "{dir}/depth/{stem}.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists(), "stale temporary file kept");
    }
    assert!(d.join("out/a-bokeh.png").is_file());
}

#[test]
fn a_closed_stdout_does_not_leave_photos_undone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photos = d.join("photos");
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        scene(&photos, name, 40, 30, i as u32);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_fstop"))
        .current_dir(d)
        .env("XDG_CONFIG_HOME", d.join(".none"))
        .args(["photos", "-o", "out", "--json", "--jobs", "1"])
        .args(["--depth", "{dir}/depth/{stem}.png"])
        .args(["--report", "report.json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `| head -c 0`: the reader is gone before anything is read
    let out = child.wait_with_output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for name in ["a", "b", "c"] {
        assert!(d.join(format!("out/{name}-bokeh.png")).is_file(), "{err}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["rendered"], 3, "{report}");
    assert_eq!(report["summary"]["exit_code"], 0, "{report}");
    assert!(err.contains("standard output was closed"), "{err}");
}

#[test]
fn settings_that_cannot_be_right_are_refused_or_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scene(d, "a", 32, 24, 1);
    refused(
        d,
        &[
            "a.png",
            "--depth",
            "depth/a.png",
            "--focus",
            "3m",
            "--background-distance",
            "2m",
        ],
        "is not behind the focus distance",
    );
    for (config, expect) in [
        ("jobs = 100000\n", "jobs 100000 is outside 1–256"),
        ("max_pixels = 0\n", "max_pixels must be at least 1"),
    ] {
        std::fs::write(d.join("bad.toml"), config).unwrap();
        refused(
            d,
            &["a.png", "--depth", "depth/a.png", "--config", "bad.toml"],
            expect,
        );
    }
    // Auto focus lands behind the background distance: only the photo can tell, so it is a
    // warning naming the photo, and the photo is still written.
    let out = fstop(d)
        .args(["a.png", "-o", "o.png", "--depth", "depth/a.png"])
        .args(["--background-distance", "0.5m"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("a.png") && err.contains("is not behind the focus distance"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn special_files_as_inputs_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink("loop2", d.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", d.join("loop2")).unwrap();
    std::os::unix::fs::symlink("gone.jpg", d.join("dangling.jpg")).unwrap();
    let fifo_ok = Command::new("mkfifo")
        .arg(d.join("pipe.jpg"))
        .status()
        .is_ok_and(|s| s.success());
    let mut cases = vec![
        ("loop1", "symbolic link loop"),
        ("dangling.jpg", "broken symbolic link"),
        ("missing.jpg", "no such file or folder"),
    ];
    if Path::new("/dev/null").exists() {
        cases.push(("/dev/null", "is a character device"));
    }
    if fifo_ok {
        cases.push(("pipe.jpg", "is a named pipe (FIFO)"));
    } else {
        // Straight to stderr: the harness hides `eprintln!` of passing tests.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the FIFO case: mkfifo is not available"
        );
    }
    for (input, expect) in cases {
        refused(d, &[input, "-o", "o.jpg"], expect);
    }
}
