//! Image input and output: decoding with orientation and colour profiles, encoding with
//! metadata kept, depth and matte files, and atomic writes.
//!
//! * [`read_photo`] — JPEG, PNG, TIFF or WebP (identified by content) → upright, linear-light
//!   planar `f32` in the photo's own primaries ([`colour`]), alpha kept, metadata extracted
//!   ([`metadata`]). The pixel limit is checked on the header before any pixel buffer exists.
//! * [`write_photo`] — JPEG, PNG or TIFF by extension; linear → the photo's transfer curves →
//!   8-bit with deterministic dither, or 16-bit; ICC, EXIF (orientation 1, no thumbnail) and XMP
//!   (cleaned of what points at dropped data, [`xmp`]) written back, GPS or all EXIF/XMP left out
//!   on request ([`StripMetadata`]); [`encode`] has the table; atomic ([`atomic`]).
//!   [`encode_photo`] gives the same bytes in memory (standard output). [`read_photo_bytes`]
//!   reads a photo already in memory (standard input): the format is always sniffed from the
//!   bytes. JPEG is encoded in parallel
//!   strips joined by restart markers ([`jpeg`]).
//! * [`read_depth`], [`read_matte`], [`write_plane_png16`] — depth and matte files
//!   ([`depthfile`]).
//! * [`embedded_depth::read_embedded_depth`] — the depth map a phone stored inside a portrait
//!   JPEG (GDepth, Dynamic Depth, Apple MPF auxiliary images).
//!
//! * Every read is bounded ([`limits`]): only regular files, of a size capped by kind, and
//!   metadata inside a photo (ICC, EXIF, XMP) capped before it is allocated — a compressed
//!   profile is inflated with the bound (`meta_bounds`); what is over a limit is dropped
//!   with a warning of the photo.
//!
//! Every error names the file and fits on one line.

use std::path::{Path, PathBuf};

use thiserror::Error;

pub mod atomic;
pub mod colour;
pub mod decode;
pub mod depthfile;
pub mod embedded_depth;
pub mod encode;
pub mod fingerprint;
pub mod jpeg;
pub mod limits;
pub(crate) mod meta_bounds;
pub mod metadata;
pub mod xmp;

pub use atomic::{remove_in_flight_temp_files, write_atomically};
pub use decode::{DecodeError, JpegError};
pub use depthfile::{ArrayFileError, ArrayFormat, parse_npy, parse_pfm};
pub use encode::EncodeWarning;

use crate::depth::DepthKind;
use crate::scene::{LinearRgb, Plane};

/// Default pixel limit for decoding (a documented safety limit): 200 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 200_000_000;

/// An I/O failure; every message names the file.
#[derive(Debug, Error)]
pub enum IoError {
    /// The file could not be read as an image, depth or matte file: see its kind.
    #[error("{path}: {kind}")]
    Decode {
        path: PathBuf,
        #[source]
        kind: DecodeError,
    },
    #[error("{path}: {message}")]
    Encode { path: PathBuf, message: String },
    #[error(
        "{path}: image is {width}×{height} = {pixels} pixels, over the limit of {limit} (raise --max-pixels)"
    )]
    TooLarge {
        path: PathBuf,
        width: u64,
        height: u64,
        pixels: u64,
        limit: u64,
    },
    #[error("{path}: {source}")]
    Fs {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An operating-system error with what fstop was trying to do ("cannot read", "cannot
    /// create a file in folder …").
    #[error("{path}: {action}: {source}")]
    Os {
        path: PathBuf,
        action: String,
        #[source]
        source: std::io::Error,
    },
}

impl IoError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            IoError::Decode { path, .. }
            | IoError::Encode { path, .. }
            | IoError::TooLarge { path, .. }
            | IoError::Fs { path, .. }
            | IoError::Os { path, .. } => path,
        }
    }
}

/// Metadata carried from input to output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// Embedded ICC profile, if any.
    pub icc_profile: Option<Vec<u8>>,
    /// Raw EXIF (TIFF structure, no `Exif\0\0` prefix), orientation reset to 1, thumbnail dropped.
    pub exif: Option<Vec<u8>>,
    /// XMP packet, cleaned ([`xmp`]).
    pub xmp: Option<Vec<u8>>,
}

/// A decoded photo, upright, in linear light.
#[derive(Debug, Clone)]
pub struct Photo {
    pub color: LinearRgb,
    pub alpha: Option<Plane>,
    pub metadata: Metadata,
    /// 8 or 16.
    pub bits_per_channel: u8,
    /// Non-fatal problems (bad orientation tag, corrupt ICC profile…).
    pub warnings: Vec<String>,
}

/// Decoding limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions {
    pub max_pixels: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// Encoding settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodeOptions {
    /// JPEG quality 1–100, default 92.
    pub jpeg_quality: u8,
    /// Dither when quantising to 8 bits so smooth bokeh does not band (default on; seeded, so
    /// output is deterministic).
    pub dither: bool,
    /// JPEG: build Huffman tables optimised for the image, in one single-threaded pass, instead
    /// of the standard tables with the image encoded in parallel strips joined by restart
    /// markers ([`jpeg`] has the details). Off by default: at 12 MP on 2 cores the optimised
    /// file is 4–5 % smaller but the encode is about 3× slower. Either way the output is the
    /// same for any thread count.
    pub jpeg_optimize_huffman: bool,
    /// Photo metadata left out of the output (default: none).
    pub strip_metadata: StripMetadata,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            jpeg_quality: 92,
            dither: true,
            jpeg_optimize_huffman: false,
            strip_metadata: StripMetadata::None,
        }
    }
}

/// Photo metadata to leave out of an output (`--strip-metadata`). Whatever is chosen, EXIF and
/// XMP are written cleaned: orientation 1, no thumbnail, nothing that points at data fstop does
/// not write (depth maps, motion-photo videos, extended XMP; see [`xmp`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StripMetadata {
    /// Keep EXIF and XMP.
    #[default]
    None,
    /// Leave out the location: the EXIF GPS directory and the XMP `exif:GPS*` properties.
    Gps,
    /// Write no EXIF and no XMP. The ICC profile stays: the colours depend on it (and the
    /// orientation is already applied to the pixels).
    All,
}

/// Reads a photo: decoded by content (JPEG, PNG, TIFF, WebP), turned upright by its EXIF
/// orientation, converted to linear light through its ICC profile's curves (sRGB without one).
/// Grayscale is expanded to RGB; alpha (RGBA, gray+alpha) is kept straight in `alpha`; 16-bit
/// sources give `bits_per_channel == 16`. Images over `options.max_pixels` are refused from the
/// header, before decoding.
pub fn read_photo(path: &Path, options: &DecodeOptions) -> Result<Photo, IoError> {
    decode::read_photo(path, options)
}

/// [`read_photo`] on a photo's bytes already in memory (read from standard input, or by
/// [`read_image_file`]); `name` only names it in messages. The format is sniffed from the bytes.
pub fn read_photo_bytes(
    name: &Path,
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<Photo, IoError> {
    decode::read_photo_bytes(name, bytes, options)
}

/// The bytes of a photo, depth or matte file, read as [`read_photo`] reads them: only a
/// regular file, of at most [`limits::max_image_file_bytes`]`(max_pixels)` bytes.
pub fn read_image_file(path: &Path, max_pixels: u64) -> Result<Vec<u8>, IoError> {
    decode::read_file(path, max_pixels)
}

/// The bytes of a photo on standard input, bounded as [`read_image_file`] (messages name it
/// `-`).
pub fn read_image_stdin(max_pixels: u64) -> Result<Vec<u8>, IoError> {
    decode::read_stdin(max_pixels)
}

/// Writes a photo atomically; the format comes from the extension (`.jpg`/`.jpeg`, `.png`,
/// `.tif`/`.tiff`, any case). `metadata` is written back (ICC only if usable, EXIF with
/// orientation 1 and no thumbnail, XMP cleaned, less what `options.strip_metadata` leaves out);
/// the colour is encoded through the ICC profile's curves.
/// `bits_per_channel > 8` writes 16-bit PNG/TIFF (JPEG is always 8-bit). Alpha is written to
/// PNG and TIFF and dropped for JPEG. Returns the metadata that the format cannot hold and
/// was left out ([`EncodeWarning`]: EXIF or XMP over a JPEG's 64 KiB segment…).
pub fn write_photo(
    path: &Path,
    color: &LinearRgb,
    alpha: Option<&Plane>,
    metadata: &Metadata,
    bits_per_channel: u8,
    options: &EncodeOptions,
) -> Result<Vec<EncodeWarning>, IoError> {
    encode::write_photo(path, color, alpha, metadata, bits_per_channel, options)
}

/// [`write_photo`] into memory, as `format`: the bytes of the file it would write (for standard
/// output). Messages name the photo `-`.
pub fn encode_photo(
    format: encode::OutputFormat,
    color: &LinearRgb,
    alpha: Option<&Plane>,
    metadata: &Metadata,
    bits_per_channel: u8,
    options: &EncodeOptions,
) -> Result<(Vec<u8>, Vec<EncodeWarning>), IoError> {
    encode::encode_photo(format, color, alpha, metadata, bits_per_channel, options)
}

/// Reads a depth file: `.npy`/`.pfm` (values as stored; default kind metres) or a grayscale
/// image (0..1; default kind disparity, brighter = nearer). The file type comes from the
/// content. `kind` overrides the default.
pub fn read_depth(path: &Path, kind: Option<DepthKind>) -> Result<(Plane, DepthKind), IoError> {
    depthfile::read_depth(path, kind)
}

/// [`read_depth`] on a file's bytes already in memory; `name` only names it in messages.
#[cfg(any(test, feature = "test-support"))]
pub(crate) fn read_depth_bytes(
    name: &Path,
    bytes: &[u8],
    kind: Option<DepthKind>,
) -> Result<(Plane, DepthKind), IoError> {
    depthfile::read_depth_bytes(name, bytes, kind)
}

/// [`read_matte`] on a file's bytes already in memory; `name` only names it in messages.
#[cfg(any(test, feature = "test-support"))]
pub(crate) fn read_matte_bytes(name: &Path, bytes: &[u8]) -> Result<Plane, IoError> {
    depthfile::read_matte_bytes(name, bytes)
}

/// Reads a matte in 0..1: grayscale image → its value; image with a (non-opaque) alpha channel
/// → the alpha; RGB → luminance; `.npy`/`.pfm` → values clamped to 0..1.
pub fn read_matte(path: &Path) -> Result<Plane, IoError> {
    depthfile::read_matte(path)
}

/// Writes a plane as a 16-bit grayscale PNG, atomically, mapping `lo..hi` to 0..65535
/// (clamped; NaN → 0; if `hi <= lo` every pixel is 0).
pub fn write_plane_png16(path: &Path, plane: &Plane, lo: f32, hi: f32) -> Result<(), IoError> {
    depthfile::write_plane_png16(path, plane, lo, hi)
}
