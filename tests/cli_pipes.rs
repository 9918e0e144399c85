//! Pipes: `-` reads one photo from standard input (format sniffed from its bytes), `-o -` writes
//! the image to standard output (`--format`, default the input's format), nothing else goes to
//! standard output, and what pipes cannot do is refused up front. Inputs are generated; depth
//! comes from a file, so no model is needed.

mod cli_support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use cli_support::{fstop, scene, stderr_of};

/// `p.png` (48×32) with `depth/p.png` and `matte/p.png`; returns the photo's bytes.
fn photo(root: &Path) -> Vec<u8> {
    scene(root, "p", 48, 32, 3);
    std::fs::read(root.join("p.png")).unwrap()
}

const DEPTH: [&str; 4] = ["--depth", "depth/p.png", "--matte", "matte/p.png"];

/// Runs fstop in `root` with `stdin` piped in; returns (exit code, stdout bytes, stderr).
fn piped(root: &Path, args: &[&str], stdin: &[u8]) -> (Option<i32>, Vec<u8>, String) {
    let out = fstop(root)
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .unwrap();
    (out.status.code(), out.stdout.clone(), stderr_of(&out))
}

#[test]
fn stdin_to_stdout_writes_the_input_format_or_the_one_asked_for() {
    let d = tempfile::tempdir().unwrap();
    let png = photo(d.path());
    // PNG in, PNG out, the same bytes as the file route (same input, settings, fingerprint).
    let args = [&["-", "-o", "-"][..], &DEPTH].concat();
    let (code, out, err) = piped(d.path(), &args, &png);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "");
    assert_eq!(image::guess_format(&out).unwrap(), image::ImageFormat::Png);
    let img = image::load_from_memory(&out).unwrap();
    assert_eq!((img.width(), img.height()), (48, 32));
    fstop(d.path())
        .args(["p.png", "-o", "file.png"])
        .args(DEPTH)
        .assert()
        .success();
    assert_eq!(std::fs::read(d.path().join("file.png")).unwrap(), out);

    // JPEG in: JPEG out by default; --format picks another.
    let mut jpeg = Vec::new();
    image::load_from_memory(&png)
        .unwrap()
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let (code, out, err) = piped(d.path(), &args, &jpeg);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(image::guess_format(&out).unwrap(), image::ImageFormat::Jpeg);
    image::load_from_memory(&out).unwrap();
    for (format, want) in [
        ("tiff", image::ImageFormat::Tiff),
        ("png", image::ImageFormat::Png),
        ("jpg", image::ImageFormat::Jpeg),
    ] {
        let args = [&args[..], &["--format", format]].concat();
        let (code, out, err) = piped(d.path(), &args, &jpeg);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(image::guess_format(&out).unwrap(), want, "{format}");
        let img = image::load_from_memory(&out).unwrap();
        assert_eq!((img.width(), img.height()), (48, 32));
    }
}

#[test]
fn a_file_to_stdout_and_stdin_to_a_file() {
    let d = tempfile::tempdir().unwrap();
    let png = photo(d.path());
    let args = [&["p.png", "-o", "-", "--format", "jpg"][..], &DEPTH].concat();
    let (code, out, err) = piped(d.path(), &args, b"");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(image::guess_format(&out).unwrap(), image::ImageFormat::Jpeg);
    // `curl … | fstop - -o out.jpg`: the file's extension decides; -v logs go to stderr.
    let args = [&["-v", "-", "-o", "out.jpg"][..], &DEPTH].concat();
    let (code, out, err) = piped(d.path(), &args, &png);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.is_empty(), "nothing on stdout");
    assert!(err.contains("- -> out.jpg"), "{err}");
    let written = std::fs::read(d.path().join("out.jpg")).unwrap();
    assert_eq!(
        image::guess_format(&written).unwrap(),
        image::ImageFormat::Jpeg
    );
    // What is not an image fails that photo, naming `-`.
    let (code, out, err) = piped(d.path(), &args, b"hello\n");
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert!(
        err.starts_with("error: -: not a JPEG/PNG/TIFF/WebP image"),
        "{err}"
    );
    assert_eq!(std::fs::read(d.path().join("out.jpg")).unwrap(), written);
}

#[test]
fn what_pipes_cannot_do_is_refused_up_front() {
    let d = tempfile::tempdir().unwrap();
    let png = photo(d.path());
    let refused = |args: &[&str], want: &str| {
        let (code, out, err) = piped(d.path(), args, &png);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
    };
    refused(
        &["-", "p.png", "-o", "out/"],
        "cannot be combined with other inputs",
    );
    refused(&["-", "--depth", "depth/p.png"], "needs -o FILE, or -o -");
    refused(&["-", "-o", "out/"], "has no name to use in a folder");
    refused(
        &["-", "-o", "x.png", "--depth", "{dir}/depth/{stem}.png"],
        "--depth: a template needs an input file's name",
    );
    refused(
        &["p.png", "p.png", "-o", "-"],
        "-o - (standard output) takes one photo",
    );
    refused(&["-", "-o", "-", "--json"], "use --report FILE");
    refused(&["-", "-o", "-", "--timings"], "use --report FILE");
    refused(
        &["p.png", "-o", "x.png", "--format", "png"],
        "--format only applies to -o -",
    );
    let (code, _, err) = piped(d.path(), &["-", "-o", "-", "--format", "gif"], &png);
    assert_eq!(code, Some(2));
    assert!(err.contains("invalid value 'gif'"), "{err}");
    assert!(!d.path().join("x.png").exists());
}

#[test]
fn a_closed_stdout_fails_quietly() {
    let d = tempfile::tempdir().unwrap();
    let png = photo(d.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_fstop"))
        .current_dir(d.path())
        .env("XDG_CONFIG_HOME", d.path().join(".no-user-config"))
        .env_remove("FSTOP_LOG")
        .args(["-", "-o", "-"])
        .args(DEPTH)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&png).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr_of(&out), "");
}
