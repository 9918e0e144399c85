//! Bounds on everything fstop reads, so that no input — a photo, a depth or matte file, a
//! preset, the config file, or the metadata inside a photo — can make it allocate without
//! limit, and one bad file can never take down a batch.
//!
//! | what | limit | over the limit |
//! |---|---|---|
//! | photo, depth or matte file | [`max_image_file_bytes`]: 16 bytes per pixel of `--max-pixels` (4 channels of 32-bit float, the largest uncompressed image allowed) + 256 MiB | refused, naming the file |
//! | preset or config file | [`MAX_SETTINGS_FILE_BYTES`] (1 MiB) | refused, naming the file |
//! | anything that is not a regular file (folder, FIFO, device, socket) | — | refused before it is opened for reading |
//! | ICC profile (PNG `iCCP` inflated, JPEG `APP2` segments joined, TIFF tag, WebP `ICCP`) | [`MAX_ICC_BYTES`] (16 MiB) | dropped with a warning |
//! | EXIF | [`MAX_EXIF_BYTES`] (1 MiB) | dropped with a warning |
//! | XMP (PNG `iTXt` inflated, JPEG, TIFF tag 700, WebP `XMP `) | [`MAX_XMP_BYTES`] (2 MiB, the `png` crate's own bound on inflated text) | dropped with a warning |
//!
//! Compressed metadata (a PNG's `iCCP`) is inflated with the bound before anything of the
//! claimed size is allocated: a small file whose profile inflates to gigabytes costs at most
//! the bound. Other PNG text chunks (`tEXt`, `zTXt`, `iTXt` not holding XMP) are never
//! inflated.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Largest ICC profile kept (JPEG's own format caps a profile at 254 × 65519 bytes ≈ 15.9 MiB).
pub const MAX_ICC_BYTES: usize = 16 << 20;
/// Largest EXIF block kept.
pub const MAX_EXIF_BYTES: usize = 1 << 20;
/// Largest XMP packet kept.
pub const MAX_XMP_BYTES: usize = 2 << 20;
/// Largest preset or config file read.
pub const MAX_SETTINGS_FILE_BYTES: u64 = 1 << 20;

/// Largest photo, depth or matte file read for a pixel limit: room for the largest
/// uncompressed image the limit allows (4 channels × 32-bit float per pixel) plus 256 MiB of
/// headers and metadata.
pub fn max_image_file_bytes(max_pixels: u64) -> u64 {
    max_pixels.saturating_mul(16).saturating_add(256 << 20)
}

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadFileError {
    /// The path names a folder, FIFO, device or socket.
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    /// The file is larger than the limit for its kind.
    #[error("is {} bytes, over the limit of {} bytes for {what}", .bytes, .limit)]
    TooLarge {
        bytes: u64,
        limit: u64,
        what: &'static str,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<ReadFileError> for std::io::Error {
    fn from(e: ReadFileError) -> Self {
        match e {
            ReadFileError::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

/// What a non-regular file is, in words ("a folder", "a named pipe (FIFO)"…).
pub fn describe_file_type(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a plain file"
    }
}

/// Reads a whole regular file of at most `limit` bytes (`what` names the kind of file in the
/// message: "a preset file"). Folders, FIFOs, devices and sockets are refused before they are
/// opened for reading (a FIFO would block, a device never ends); the size is checked on the
/// open file, and the read itself is bounded too (the file may grow while it is read).
pub(crate) fn read_regular_file(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, ReadFileError> {
    let kind = std::fs::metadata(path)?.file_type();
    if !kind.is_file() {
        return Err(ReadFileError::NotRegular(describe_file_type(&kind)));
    }
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(ReadFileError::NotRegular(describe_file_type(
            &meta.file_type(),
        )));
    }
    let too_large = |bytes| ReadFileError::TooLarge { bytes, limit, what };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(meta.len() as usize).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!("not enough memory to read {} bytes", meta.len()),
        )
    })?;
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Reads a stream (standard input) to its end, refusing more than `limit` bytes (`what` names
/// the kind of data in the message). The read itself is bounded: nothing past the limit is
/// kept.
pub(crate) fn read_stream(
    reader: impl Read,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, ReadFileError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadFileError::TooLarge {
            bytes: bytes.len() as u64,
            limit,
            what,
        });
    }
    Ok(bytes)
}

/// [`read_regular_file`] for text (UTF-8).
pub(crate) fn read_regular_text_file(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<String, ReadFileError> {
    let bytes = read_regular_file(path, limit, what)?;
    String::from_utf8(bytes).map_err(|_| {
        ReadFileError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "is not UTF-8 text",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_regular_file(&p, 5, "a test file").unwrap(), b"12345");
        let e = read_regular_file(&p, 4, "a test file").unwrap_err();
        assert_eq!(
            e.to_string(),
            "is 5 bytes, over the limit of 4 bytes for a test file"
        );
        let e = read_regular_file(dir.path(), 4, "a test file").unwrap_err();
        assert_eq!(e.to_string(), "is a folder, not a regular file");
        std::fs::write(&p, b"\xff\xfe").unwrap();
        let e = read_regular_text_file(&p, 4, "a test file").unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_and_fifos_are_refused_without_reading() {
        let e = read_regular_file(Path::new("/dev/zero"), 1 << 20, "a test file").unwrap_err();
        assert_eq!(e.to_string(), "is a character device, not a regular file");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let ok = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            // Opening a FIFO for reading would block forever with no writer: it must not be
            // opened at all.
            let e = read_regular_file(&fifo, 1 << 20, "a test file").unwrap_err();
            assert_eq!(e.to_string(), "is a named pipe (FIFO), not a regular file");
        }
    }

    #[test]
    fn streams_are_read_up_to_the_limit() {
        assert_eq!(read_stream(&b"12345"[..], 5, "a test").unwrap(), b"12345");
        let e = read_stream(&b"123456789"[..], 5, "a test").unwrap_err();
        assert_eq!(
            e.to_string(),
            "is 6 bytes, over the limit of 5 bytes for a test"
        );
    }

    #[test]
    fn image_file_limit_grows_with_the_pixel_limit() {
        assert_eq!(max_image_file_bytes(0), 256 << 20);
        assert_eq!(max_image_file_bytes(1000), 16_000 + (256 << 20));
        assert_eq!(max_image_file_bytes(u64::MAX), u64::MAX);
    }
}
