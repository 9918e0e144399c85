//! Atomic file writes: everything fstop writes goes to a temporary file in the destination
//! folder, is flushed and synced, and is then renamed over the destination in one step.
//!
//! * On any error (including a panic inside the writer) the temporary file is removed, so no
//!   partial file is ever left behind and an existing file at the destination is untouched.
//! * An existing destination is only ever replaced by the rename, never truncated first.
//! * Temporary files are named `.<name>.<pid>.<random>.fstop-tmp` and are registered while they
//!   exist, so a signal handler can remove them with [`remove_in_flight_temp_files`] before
//!   exiting; those of a process killed outright are removed by a later run
//!   ([`remove_abandoned_temp_files`]).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::IoError;

/// Suffix of every temporary file fstop creates.
pub const TEMP_SUFFIX: &str = ".fstop-tmp";

/// Temporary files currently being written (see [`remove_in_flight_temp_files`]).
static IN_FLIGHT: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn registry() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    IN_FLIGHT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes a temp path from the registry when dropped (normal return, error or panic).
struct Registration(PathBuf);

impl Drop for Registration {
    fn drop(&mut self) {
        registry().remove(&self.0);
    }
}

/// Deletes every temporary file that is being written right now and returns how many were
/// removed. Meant for a SIGINT/SIGTERM handler that is about to exit the process: the writes in
/// progress are abandoned, and no `.fstop-tmp` file stays behind.
pub fn remove_in_flight_temp_files() -> usize {
    remove_registered(|_| true)
}

/// Deletes every temporary file being written right now and exits the process with `code`,
/// without returning. For a second SIGINT/SIGTERM ("stop now"): unlike exiting from the signal
/// handler, it leaves no `.fstop-tmp` file behind. The registry stays locked until the process
/// is gone, so no other thread can create a new temporary file in between.
pub fn remove_in_flight_temp_files_and_exit(code: i32) -> ! {
    let in_flight = registry();
    for p in in_flight.iter() {
        let _ = std::fs::remove_file(p);
    }
    std::process::exit(code)
}

fn remove_registered(select: impl Fn(&Path) -> bool) -> usize {
    let paths: Vec<PathBuf> = registry().iter().filter(|p| select(p)).cloned().collect();
    paths
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// The paths of the temporary files being written right now (for diagnostics and tests).
pub fn in_flight_temp_files() -> Vec<PathBuf> {
    registry().iter().cloned().collect()
}

/// tempfile's errors end in `at path "<the random temporary name>"`, a file that never came to
/// exist; the bare OS error says what went wrong without it.
fn without_temp_path(e: std::io::Error) -> std::io::Error {
    if e.raw_os_error().is_some() {
        return e;
    }
    let text = e.to_string();
    match text.rfind(" at path \"") {
        Some(i) => std::io::Error::new(e.kind(), &text[..i]),
        None => e,
    }
}

/// Longest part of the destination's name kept in a temporary file's name, in bytes, so that
/// `.<name>.<pid>.<random>.fstop-tmp` stays within the usual 255-byte limit for any legal name.
const TEMP_NAME_KEEP: usize = 200;

/// `.<name>.<pid>.`: the (shortened) destination name and the writing process, so that a later
/// run can tell a temporary file left by a killed process from one still being written.
fn temp_prefix(file_name: &str) -> String {
    let mut end = file_name.len().min(TEMP_NAME_KEEP);
    while !file_name.is_char_boundary(end) {
        end -= 1;
    }
    format!(".{}.{}.", &file_name[..end], std::process::id())
}

/// Temporary files older than this whose writer cannot be identified are taken as abandoned.
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Whether the process that wrote a temporary file is gone: the pid in its name no longer runs
/// (Linux), or — without a pid, or where that cannot be checked — the file is over a day old.
fn is_abandoned(name: &str, modified: Option<std::time::SystemTime>) -> bool {
    let pid = name
        .strip_suffix(TEMP_SUFFIX)
        .and_then(|rest| rest.rsplit('.').nth(1))
        .and_then(|pid| pid.parse::<u32>().ok());
    let proc = Path::new("/proc");
    if let Some(pid) = pid
        && proc.join("self").exists()
    {
        return pid != std::process::id() && !proc.join(pid.to_string()).exists();
    }
    modified
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > ABANDONED_AFTER)
}

/// Removes the temporary files in `dir` that a killed fstop process left behind (SIGKILL, power
/// loss: no handler ran) and returns their paths. Files of processes still running are kept.
pub fn remove_abandoned_temp_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('.') && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file()
            && is_abandoned(&name, meta.modified().ok())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed.push(entry.path());
        }
    }
    removed.sort();
    removed
}

/// Writes `path` atomically: `write` fills a buffered temporary file created in the same
/// folder, which is then flushed, synced and renamed over `path`.
///
/// If `write` fails (or panics), or anything after it fails, the temporary file is deleted and
/// `path` is left exactly as it was. The writer is seekable (TIFF encoders need that).
///
/// ```no_run
/// use std::io::Write;
/// fstop::io::atomic::write_atomically(std::path::Path::new("report.json"), |w| {
///     w.write_all(b"{}").map_err(|e| fstop::io::IoError::Os {
///         path: "report.json".into(),
///         action: "cannot write".into(),
///         source: e,
///     })
/// })?;
/// # Ok::<(), fstop::io::IoError>(())
/// ```
pub fn write_atomically<E, F>(path: &Path, write: F) -> Result<(), E>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), E>,
    E: From<IoError>,
{
    let os = |action: String, source: std::io::Error| IoError::Os {
        path: path.to_path_buf(),
        action,
        source,
    };
    let file_name = match path.file_name() {
        Some(name) => name.to_string_lossy().into_owned(),
        None => {
            return Err(IoError::Encode {
                path: path.to_path_buf(),
                message: "not a file name (the path ends in a folder)".into(),
            }
            .into());
        }
    };
    if path.is_dir() {
        return Err(IoError::Encode {
            path: path.to_path_buf(),
            message: "is a folder, not a file".into(),
        }
        .into());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    let prefix = temp_prefix(&file_name);
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Like a freshly created file (the umask applies), not tempfile's private 0600; an
        // existing destination keeps its own mode.
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o666);
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    // Created and registered under the registry's lock, so that
    // [`remove_in_flight_temp_files_and_exit`] never misses a file that exists.
    let (file, temp_path, _registration) = {
        let mut in_flight = registry();
        let temp = builder.tempfile_in(&dir).map_err(|e| {
            os(
                format!("cannot create a file in folder {}", dir.display()),
                without_temp_path(e),
            )
        })?;
        let (file, temp_path) = temp.into_parts();
        in_flight.insert(temp_path.to_path_buf());
        let registration = Registration(temp_path.to_path_buf());
        (file, temp_path, registration)
    };
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    write(&mut writer)?;
    let file = writer
        .into_inner()
        .map_err(|e| os("cannot write".into(), e.into_error()))?;
    file.sync_all()
        .map_err(|e| os("cannot write (sync failed)".into(), e))?;
    drop(file);
    temp_path
        .persist(path)
        .map_err(|e| os("cannot move the finished file into place".into(), e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`write_atomically`]).
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_atomically(path, |w| {
        w.write_all(bytes).map_err(|e| IoError::Os {
            path: path.to_path_buf(),
            action: "cannot write".into(),
            source: e,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legal_255_byte_name_can_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("{}.png", "é".repeat(125)); // 254 bytes
        assert!(name.len() <= 255);
        let p = dir.path().join(&name);
        write_bytes_atomically(&p, b"x").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn abandoned_temp_files_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // A pid that cannot be running (above the kernel's maximum of 2^22).
        let dead = dir
            .path()
            .join(format!(".a.jpg.{}.Xy12ab{TEMP_SUFFIX}", 1u32 << 23));
        let live = dir
            .path()
            .join(format!(".b.jpg.{}.Xy12ab{TEMP_SUFFIX}", std::process::id()));
        let other = dir.path().join(".c.jpg.tmp");
        for p in [&dead, &live, &other] {
            std::fs::write(p, b"partial").unwrap();
        }
        let removed = remove_abandoned_temp_files(dir.path());
        if Path::new("/proc/self").exists() {
            assert_eq!(removed, vec![dead.clone()]);
            assert!(!dead.exists());
        }
        assert!(live.exists() && other.exists());
    }

    #[test]
    fn temp_names_carry_the_pid() {
        let p = temp_prefix("photo.jpg");
        assert_eq!(p, format!(".photo.jpg.{}.", std::process::id()));
        let long = "a".repeat(300);
        assert!(temp_prefix(&long).len() < TEMP_NAME_KEEP + 20);
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(TEMP_SUFFIX))
            .collect()
    }

    #[test]
    fn success_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, b"old").unwrap();
        write_bytes_atomically(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        assert!(leftovers(dir.path()).is_empty());
        assert!(
            in_flight_temp_files()
                .iter()
                .all(|t| !t.starts_with(dir.path()))
        );
    }

    #[test]
    fn failure_keeps_old_file_and_removes_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, b"old").unwrap();
        let r: Result<(), IoError> = write_atomically(&p, |w| {
            w.write_all(b"partial").unwrap();
            w.flush().unwrap();
            // The temp file exists and is registered while we are writing.
            assert_eq!(leftovers(dir.path()).len(), 1);
            assert!(
                in_flight_temp_files()
                    .iter()
                    .any(|t| t.starts_with(dir.path()))
            );
            Err(IoError::Encode {
                path: p.clone(),
                message: "boom".into(),
            })
        });
        assert!(matches!(r, Err(IoError::Encode { .. })), "{r:?}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
        assert!(
            in_flight_temp_files()
                .iter()
                .all(|t| !t.starts_with(dir.path()))
        );
    }

    #[test]
    fn panic_in_writer_removes_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        let path = p.clone();
        let r = std::panic::catch_unwind(move || {
            let _: Result<(), IoError> = write_atomically(&path, |w| {
                w.write_all(b"x").unwrap();
                panic!("encoder bug");
            });
        });
        assert!(r.is_err());
        assert!(!p.exists());
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn unwritable_folder_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("plain-file");
        std::fs::write(&not_a_dir, b"x").unwrap();
        let p = not_a_dir.join("out.png");
        let e = write_bytes_atomically(&p, b"data").unwrap_err().to_string();
        assert!(e.contains("out.png"), "{e}");
        assert!(e.contains("cannot create a file in folder"), "{e}");
        let missing = dir.path().join("no/such/dir/out.png");
        let e = write_bytes_atomically(&missing, b"data")
            .unwrap_err()
            .to_string();
        assert!(e.contains("out.png") && e.contains("no/such/dir"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn signal_cleanup_removes_in_flight_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        let r: Result<(), IoError> = write_atomically(&p, |w| {
            w.write_all(b"abc").unwrap();
            w.flush().unwrap();
            // (Only this test's files: other tests write in parallel in this process.)
            assert_eq!(remove_registered(|t| t.starts_with(dir.path())), 1);
            assert!(leftovers(dir.path()).is_empty());
            Err(IoError::Encode {
                path: p.clone(),
                message: "interrupted".into(),
            })
        });
        assert!(matches!(r, Err(IoError::Encode { .. })), "{r:?}");
        assert!(!p.exists());
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_not_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_bytes_atomically(&p, b"1").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o600, "tempfile's private mode leaked");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_bytes_atomically(&p, b"2").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "existing mode kept");
    }

    #[test]
    fn temp_names_are_left_out_of_errors() {
        let e = std::io::Error::new(
            std::io::ErrorKind::ReadOnlyFilesystem,
            "Read-only file system (os error 30) at path \"/x/out/.p.png.AbC.fstop-tmp\"",
        );
        let clean = without_temp_path(e);
        assert_eq!(clean.to_string(), "Read-only file system (os error 30)");
        assert_eq!(clean.kind(), std::io::ErrorKind::ReadOnlyFilesystem);
        let os = std::io::Error::from_raw_os_error(13);
        assert_eq!(without_temp_path(os).raw_os_error(), Some(13));
    }
}
