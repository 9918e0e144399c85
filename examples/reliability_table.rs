//! Runs `fstop` on every generated bad input of `tests/reliability_support` and prints a
//! markdown table: the input, the command, what fstop printed on stderr (verbatim), the exit
//! code and what was left on disk. Used by `scripts/reliability_table.sh`.
//!
//! Usage: `cargo run --example reliability_table -- FSTOP_BINARY [WORK_DIR]`

#[path = "../tests/reliability_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::{Case, Outcome};

fn cell(text: &str) -> String {
    let t = text.trim_end().replace('|', "\\|");
    if t.is_empty() {
        "(nothing)".to_string()
    } else {
        t.lines()
            .map(|l| format!("`{}`", l.replace('`', "'")))
            .collect::<Vec<_>>()
            .join("<br>")
    }
}

/// One created file, described: name and, for images, size and pixel format.
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

fn row(label: &str, command: &str, o: &Outcome, disk: &str) {
    println!(
        "| {} | `{}` | {} | {} | {} |",
        label,
        command.replace('|', "\\|"),
        cell(&o.stderr),
        o.code.map_or("signal".to_string(), |c| c.to_string()),
        disk
    );
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let bin = PathBuf::from(args.next().expect("usage: reliability_table FSTOP [DIR]"));
    let bin = std::fs::canonicalize(&bin).expect("the fstop binary");
    let keep = args.next().map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&root).unwrap();

    println!("| Bad input | Command | stderr (verbatim) | Exit | Left on disk |");
    println!("|---|---|---|---|---|");
    let cases: Vec<Case> = support::cases(&root.join("cases"));
    let mut group = "";
    for case in &cases {
        if case.group != group {
            group = case.group;
            println!("| **{group}** | | | | |");
        }
        let o = support::run_case(&bin, case);
        row(
            case.label,
            &case.command_line(),
            &o,
            &on_disk(&case.dir, &o),
        );
    }
}
