//! Finding and initialising ONNX Runtime (loaded at run time: `ort` is built with
//! `load-dynamic`, so building fstop never needs the library).
//!
//! Search order for the shared library (the first that exists wins):
//! 1. `--ort-lib` ([`super::ModelConfig::ort_lib`]): a file, or a directory holding it;
//! 2. `ORT_DYLIB_PATH` (a file or directory);
//! 3. `$FSTOP_DATA_DIR/runtime`;
//! 4. this repository's `models/runtime` (where `scripts/setup.sh` installs it);
//! 5. `$XDG_DATA_HOME/fstop/runtime` (default `~/.local/share/fstop/runtime`);
//! 6. next to the executable, and its `models/runtime`.
//!
//! An explicit `--ort-lib` or `ORT_DYLIB_PATH` that does not exist is an error (never silently
//! ignored). The runtime is initialised once per process; later calls reuse it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

use super::InferError;

/// The hint every "runtime missing" error carries.
pub const SETUP_HINT: &str =
    "run `bash scripts/setup.sh` to install it (or pass --ort-lib FILE / set ORT_DYLIB_PATH)";

/// File names ONNX Runtime may have in a directory, most specific first.
pub fn library_names() -> Vec<String> {
    let mut names = Vec::new();
    if cfg!(target_os = "macos") {
        names.push("libonnxruntime.1.31.1.dylib".to_string());
    } else if !cfg!(windows) {
        names.push("libonnxruntime.so.1.31.1".to_string());
    }
    names.push(format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    names
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
    /// `XDG_DATA_HOME`, else `~/.local/share`.
    pub xdg_data_home: Option<PathBuf>,
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
            xdg_data_home: non_empty_env("XDG_DATA_HOME")
                .or_else(|| non_empty_env("HOME").map(|h| h.join(".local").join("share"))),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
        }
    }

    /// Directories searched for installed files of `kind` (`runtime` or `weights`), in order,
    /// after the explicit settings.
    pub fn data_dirs(&self, kind: &str) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(d) = &self.data_dir {
            dirs.push(d.join(kind));
        }
        if let Some(d) = &self.repo_models {
            dirs.push(d.join(kind));
        }
        if let Some(d) = &self.xdg_data_home {
            dirs.push(d.join("fstop").join(kind));
        }
        if let Some(d) = &self.exe_dir {
            dirs.push(d.clone());
            dirs.push(d.join("models").join(kind));
        }
        dirs
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
fn explicit_path(what: &str, path: &Path) -> Result<PathBuf, InferError> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if path.is_dir()
        && let Some(p) = in_dir(path)
    {
        return Ok(p);
    }
    Err(InferError::RuntimeMissing(format!(
        "ONNX Runtime library not found at {} (given by {what}); {SETUP_HINT}",
        path.display()
    )))
}

/// Resolves the library path following the search order (see the module docs).
pub fn resolve(env: &SearchEnv) -> Result<PathBuf, InferError> {
    if let Some(p) = &env.explicit {
        return explicit_path("--ort-lib", p);
    }
    if let Some(p) = &env.ort_dylib_path {
        return explicit_path("ORT_DYLIB_PATH", p);
    }
    let dirs = env.data_dirs("runtime");
    if let Some(p) = dirs.iter().find_map(|d| in_dir(d)) {
        return Ok(p);
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(InferError::RuntimeMissing(format!(
        "ONNX Runtime library ({}) not found (looked in {}); {SETUP_HINT}",
        library_names()[0],
        looked.join(", ")
    )))
}

struct Loaded {
    path: PathBuf,
    env: Environment,
}

static RUNTIME: Mutex<Option<Loaded>> = Mutex::new(None);

/// Initialises ONNX Runtime from the resolved path (once per process) and returns the
/// environment sessions are created in, with the path it was loaded from.
pub fn init(search: &SearchEnv) -> Result<(Environment, PathBuf), InferError> {
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
            "cannot load ONNX Runtime from {}: {e}; {SETUP_HINT}",
            path.display()
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
            xdg_data_home: Some(t.join("xdg")),
            exe_dir: Some(t.join("bin")),
            ..Default::default()
        };
        let e = resolve(&env).unwrap_err().to_string();
        assert!(e.contains("scripts/setup.sh"), "{e}");
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
            e.contains("missing.so") && e.contains("--ort-lib") && e.contains("setup.sh"),
            "{e}"
        );
        env.explicit = None;
        env.ort_dylib_path = Some(t.join("nope"));
        let e = resolve(&env).unwrap_err().to_string();
        assert!(e.contains("ORT_DYLIB_PATH"), "{e}");
    }
}
