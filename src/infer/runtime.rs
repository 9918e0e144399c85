//! Finding and initialising ONNX Runtime (loaded at run time: `ort` is built with
//! `load-dynamic`, so building fstop never needs the library).
//!
//! Search order for the shared library (the first that exists wins):
//! 1. `--ort-lib` ([`super::ModelConfig::ort_lib`]): a file, or a directory holding it;
//! 2. `ORT_DYLIB_PATH` (a file or directory);
//! 3. `$FSTOP_DATA_DIR/runtime`;
//! 4. this repository's `models/runtime` (where `scripts/setup.sh` installs it);
//! 5. the user data folder's `runtime` (where `fstop setup` installs it, see
//!    [`user_data_dir`]);
//! 6. next to the executable, and its `models/runtime`.
//!
//! Model weights are searched in the same folders' `weights` (after `--model-dir`).
//! An explicit `--ort-lib` or `ORT_DYLIB_PATH` that does not exist is an error (never silently
//! ignored). The runtime is initialised once per process; later calls reuse it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

use super::InferError;
use super::catalog::{Catalog, host_platform};

/// What the runtime errors add after the set-up command.
const RUNTIME_ALTERNATIVE: &str = "or pass --ort-lib FILE / set ORT_DYLIB_PATH";

/// File names ONNX Runtime may have in a directory, most specific first: the catalogued
/// build's file for this platform, then the generic name (`libonnxruntime.so`, …).
pub(crate) fn library_names() -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(catalog) = Catalog::builtin()
        && let Some(build) = catalog.runtime.build_for(&host_platform())
    {
        names.push(build.file.clone());
    }
    let generic = format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    if !names.contains(&generic) {
        names.push(generic);
    }
    names
}

/// The per-user folder `fstop setup` installs into (`<it>/runtime`, `<it>/weights`) on `os`
/// (`std::env::consts::OS`), reading environment variables through `var`:
/// Linux and other Unix `$XDG_DATA_HOME/fstop`, else `~/.local/share/fstop`; macOS
/// `~/Library/Application Support/fstop`; Windows `%APPDATA%\fstop`. `None` when the
/// variables it needs are unset (relative values count as unset, as XDG asks).
pub fn user_data_dir_for(os: &str, var: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let dir = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let base = match os {
        "windows" => dir("APPDATA")?,
        "macos" => dir("HOME")?.join("Library").join("Application Support"),
        _ => {
            dir("XDG_DATA_HOME").or_else(|| dir("HOME").map(|h| h.join(".local").join("share")))?
        }
    };
    Some(base.join("fstop"))
}

/// [`user_data_dir_for`] this platform and process.
pub fn user_data_dir() -> Option<PathBuf> {
    user_data_dir_for(std::env::consts::OS, &|name| {
        std::env::var_os(name).filter(|v| !v.is_empty())
    })
}

/// What the search looks at, gathered from the process (or made up in tests).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchEnv {
    /// `--ort-lib`.
    pub explicit: Option<PathBuf>,
    /// `ORT_DYLIB_PATH`.
    pub ort_dylib_path: Option<PathBuf>,
    /// `FSTOP_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// The repository's `models/` directory (compile time).
    pub repo_models: Option<PathBuf>,
    /// The user data folder ([`user_data_dir`]).
    pub user_data_dir: Option<PathBuf>,
    /// Directory of the running executable.
    pub exe_dir: Option<PathBuf>,
}

fn non_empty_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl SearchEnv {
    /// The search environment of this process.
    pub fn from_process(explicit: Option<&Path>) -> SearchEnv {
        SearchEnv {
            explicit: explicit.map(Path::to_path_buf),
            ort_dylib_path: non_empty_env("ORT_DYLIB_PATH"),
            data_dir: non_empty_env("FSTOP_DATA_DIR"),
            repo_models: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("models")),
            user_data_dir: user_data_dir(),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
        }
    }

    /// Directories searched for installed files of `kind` (`runtime` or `weights`), in order,
    /// after the explicit settings.
    pub(crate) fn data_dirs(&self, kind: &str) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(d) = &self.data_dir {
            dirs.push(d.join(kind));
        }
        if let Some(d) = &self.repo_models {
            dirs.push(d.join(kind));
        }
        if let Some(d) = &self.user_data_dir {
            dirs.push(d.join(kind));
        }
        if let Some(d) = &self.exe_dir {
            dirs.push(d.clone());
            dirs.push(d.join("models").join(kind));
        }
        dirs
    }

    /// Where `fstop setup` (without `--data-dir`) installs: `$FSTOP_DATA_DIR`, else the user
    /// data folder.
    pub fn setup_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref().or(self.user_data_dir.as_deref())
    }

    /// The exact command that installs what is missing, and where it goes.
    pub(crate) fn setup_hint(&self) -> String {
        match self.setup_dir() {
            Some(d) => format!("run `fstop setup` to install it into {}", d.display()),
            None => "run `fstop setup --data-dir DIR` to install it into DIR and set \
                     FSTOP_DATA_DIR=DIR"
                .to_string(),
        }
    }
}

/// The command that reinstalls `path` when it is a set-up file (`<DIR>/runtime/…` or
/// `<DIR>/weights/…`): `fstop setup --data-dir DIR`; else [`SearchEnv::setup_hint`].
pub(crate) fn reinstall_hint(path: &Path, env: &SearchEnv) -> String {
    let parent = path.parent();
    let in_setup_layout = parent
        .and_then(Path::file_name)
        .is_some_and(|n| n == "runtime" || n == "weights");
    match parent.and_then(Path::parent) {
        Some(dir) if in_setup_layout && !dir.as_os_str().is_empty() => format!(
            "run `fstop setup --data-dir {}` to reinstall it",
            dir.display()
        ),
        _ => env.setup_hint(),
    }
}

/// Finds the library in `dir` (any of [`library_names`]).
fn in_dir(dir: &Path) -> Option<PathBuf> {
    library_names()
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// An explicit setting: a file, or a directory holding the library.
fn explicit_path(what: &str, path: &Path, env: &SearchEnv) -> Result<PathBuf, InferError> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if path.is_dir()
        && let Some(p) = in_dir(path)
    {
        return Ok(p);
    }
    Err(InferError::RuntimeMissing(format!(
        "ONNX Runtime library not found at {} (given by {what}); {} ({RUNTIME_ALTERNATIVE})",
        path.display(),
        env.setup_hint()
    )))
}

/// Resolves the library path following the search order (see the module docs).
pub fn resolve(env: &SearchEnv) -> Result<PathBuf, InferError> {
    if let Some(p) = &env.explicit {
        return explicit_path("--ort-lib", p, env);
    }
    if let Some(p) = &env.ort_dylib_path {
        return explicit_path("ORT_DYLIB_PATH", p, env);
    }
    let dirs = env.data_dirs("runtime");
    if let Some(p) = dirs.iter().find_map(|d| in_dir(d)) {
        return Ok(p);
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(InferError::RuntimeMissing(format!(
        "ONNX Runtime library ({}) not found (looked in {}); {} ({RUNTIME_ALTERNATIVE})",
        library_names()[0],
        looked.join(", "),
        env.setup_hint()
    )))
}

struct Loaded {
    path: PathBuf,
    env: Environment,
}

static RUNTIME: Mutex<Option<Loaded>> = Mutex::new(None);

/// Initialises ONNX Runtime from the resolved path (once per process) and returns the
/// environment sessions are created in, with the path it was loaded from.
pub(crate) fn init(search: &SearchEnv) -> Result<(Environment, PathBuf), InferError> {
    let path = resolve(search)?;
    let mut guard = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(loaded) = guard.as_ref() {
        if loaded.path != path {
            tracing::debug!(
                "ONNX Runtime already loaded from {}; ignoring {}",
                loaded.path.display(),
                path.display()
            );
        }
        return Ok((loaded.env.clone(), loaded.path.clone()));
    }
    let builder = ort::init_from(&path).map_err(|e| {
        InferError::RuntimeLoad(format!(
            "cannot load ONNX Runtime from {}: {e}; {} ({RUNTIME_ALTERNATIVE})",
            path.display(),
            reinstall_hint(&path, search)
        ))
    })?;
    let env = builder
        .with_name("fstop")
        .with_telemetry(false)
        .build()
        .map_err(|e| {
            InferError::RuntimeLoad(format!(
                "cannot start ONNX Runtime from {}: {e}",
                path.display()
            ))
        })?;
    tracing::debug!("ONNX Runtime loaded from {}", path.display());
    *guard = Some(Loaded {
        path: path.clone(),
        env: env.clone(),
    });
    Ok((env, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn search_order_and_clear_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let lib = library_names()[0].clone();
        let mut env = SearchEnv {
            data_dir: Some(t.join("data")),
            repo_models: Some(t.join("repo")),
            user_data_dir: Some(t.join("xdg/fstop")),
            exe_dir: Some(t.join("bin")),
            ..Default::default()
        };
        let e = resolve(&env).unwrap_err().to_string();
        // The exact command, and where it installs ($FSTOP_DATA_DIR here).
        let hint = format!(
            "run `fstop setup` to install it into {}",
            t.join("data").display()
        );
        assert!(e.contains(&hint), "{e}");
        assert!(
            e.contains(&t.join("xdg/fstop/runtime").display().to_string()),
            "{e}"
        );

        touch(&t.join("bin").join(&lib));
        assert_eq!(resolve(&env).unwrap(), t.join("bin").join(&lib));
        touch(&t.join("xdg/fstop/runtime").join(&lib));
        assert_eq!(
            resolve(&env).unwrap(),
            t.join("xdg/fstop/runtime").join(&lib)
        );
        touch(&t.join("repo/runtime").join(&lib));
        assert_eq!(resolve(&env).unwrap(), t.join("repo/runtime").join(&lib));
        touch(&t.join("data/runtime").join(&lib));
        assert_eq!(resolve(&env).unwrap(), t.join("data/runtime").join(&lib));

        // ORT_DYLIB_PATH beats the data dirs, --ort-lib beats everything; a directory works.
        env.ort_dylib_path = Some(t.join("repo/runtime"));
        assert_eq!(resolve(&env).unwrap(), t.join("repo/runtime").join(&lib));
        env.explicit = Some(t.join("bin").join(&lib));
        assert_eq!(resolve(&env).unwrap(), t.join("bin").join(&lib));

        // An explicit path that does not exist is an error, not a fall-through.
        env.explicit = Some(t.join("missing.so"));
        let e = resolve(&env).unwrap_err().to_string();
        assert!(
            e.contains("missing.so") && e.contains("--ort-lib") && e.contains(&hint),
            "{e}"
        );
        env.explicit = None;
        env.ort_dylib_path = Some(t.join("nope"));
        let e = resolve(&env).unwrap_err().to_string();
        assert!(e.contains("ORT_DYLIB_PATH"), "{e}");
    }

    #[test]
    fn user_data_dir_per_platform() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let all = vars(&[
            ("XDG_DATA_HOME", "/x/data"),
            ("HOME", "/home/u"),
            ("APPDATA", "/c/Users/u/AppData/Roaming"),
        ]);
        let home_only = vars(&[("HOME", "/home/u")]);
        let p = PathBuf::from;
        assert_eq!(user_data_dir_for("linux", &all), Some(p("/x/data/fstop")));
        assert_eq!(
            user_data_dir_for("linux", &home_only),
            Some(p("/home/u/.local/share/fstop"))
        );
        assert_eq!(
            user_data_dir_for("freebsd", &home_only),
            Some(p("/home/u/.local/share/fstop"))
        );
        assert_eq!(
            user_data_dir_for("macos", &all),
            Some(p("/home/u/Library/Application Support/fstop"))
        );
        assert_eq!(
            user_data_dir_for("windows", &all),
            Some(p("/c/Users/u/AppData/Roaming/fstop"))
        );
        assert_eq!(user_data_dir_for("windows", &home_only), None);
        // A relative XDG_DATA_HOME is ignored, as the XDG spec asks.
        let relative = vars(&[("XDG_DATA_HOME", "data"), ("HOME", "/home/u")]);
        assert_eq!(
            user_data_dir_for("linux", &relative),
            Some(p("/home/u/.local/share/fstop"))
        );
        assert_eq!(user_data_dir_for("linux", &vars(&[])), None);
    }

    #[test]
    fn hints_name_the_setup_command_and_its_folder() {
        let mut env = SearchEnv {
            user_data_dir: Some(PathBuf::from("/home/u/.local/share/fstop")),
            ..Default::default()
        };
        assert_eq!(
            env.setup_hint(),
            "run `fstop setup` to install it into /home/u/.local/share/fstop"
        );
        let e = resolve(&env).unwrap_err().to_string();
        assert!(e.contains(&env.setup_hint()), "{e}");
        env.data_dir = Some(PathBuf::from("/srv/fstop"));
        assert_eq!(
            env.setup_hint(),
            "run `fstop setup` to install it into /srv/fstop"
        );
        env = SearchEnv::default();
        assert!(env.setup_hint().contains("fstop setup --data-dir DIR"));
        // A damaged installed file: reinstall into the folder it is in.
        assert_eq!(
            reinstall_hint(Path::new("/opt/m/runtime/libonnxruntime.so"), &env),
            "run `fstop setup --data-dir /opt/m` to reinstall it"
        );
        assert_eq!(
            reinstall_hint(Path::new("/opt/m/weights/modnet.onnx"), &env),
            "run `fstop setup --data-dir /opt/m` to reinstall it"
        );
        assert_eq!(
            reinstall_hint(Path::new("/opt/lib/libonnxruntime.so"), &env),
            env.setup_hint()
        );
    }

    #[test]
    fn library_names_start_with_the_catalogued_build() {
        let names = library_names();
        if let Some(build) = Catalog::builtin()
            .unwrap()
            .runtime
            .build_for(&host_platform())
        {
            assert_eq!(names[0], build.file);
        }
        let generic = format!(
            "{}onnxruntime{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        assert_eq!(names.last(), Some(&generic));
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(names, ["libonnxruntime.so.1.31.1", "libonnxruntime.so"]);
        }
    }
}
