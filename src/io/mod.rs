//! Image input and output: decoding with orientation and colour profiles, encoding with
//! metadata kept, depth and matte files, and atomic writes. (Stub: the real code lands with the
//! I/O work; the types below are the contract.)

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::depth::DepthKind;
use crate::scene::{LinearRgb, Plane};

/// Default pixel limit for decoding (a documented safety limit): 200 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 200_000_000;

/// An I/O failure; every message names the file.
#[derive(Debug, Error)]
pub enum IoError {
    #[error("{path}: {message}")]
    Decode { path: PathBuf, message: String },
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
}

/// Metadata carried from input to output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// Embedded ICC profile, if any.
    pub icc_profile: Option<Vec<u8>>,
    /// Raw EXIF (TIFF structure, no `Exif\0\0` prefix), orientation reset to 1, thumbnail dropped.
    pub exif: Option<Vec<u8>>,
    /// Raw XMP packet.
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
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            jpeg_quality: 92,
            dither: true,
        }
    }
}

/// Reads a photo (stub).
pub fn read_photo(path: &Path, _options: &DecodeOptions) -> Result<Photo, IoError> {
    Err(IoError::Decode {
        path: path.into(),
        message: "decoding not implemented yet".into(),
    })
}

/// Writes a photo atomically, format from the extension (stub).
pub fn write_photo(
    path: &Path,
    _color: &LinearRgb,
    _alpha: Option<&Plane>,
    _metadata: &Metadata,
    _bits_per_channel: u8,
    _options: &EncodeOptions,
) -> Result<(), IoError> {
    Err(IoError::Encode {
        path: path.into(),
        message: "encoding not implemented yet".into(),
    })
}

/// Reads a depth file (stub). Returns the plane and how to read it.
pub fn read_depth(path: &Path, _kind: Option<DepthKind>) -> Result<(Plane, DepthKind), IoError> {
    Err(IoError::Decode {
        path: path.into(),
        message: "depth files not implemented yet".into(),
    })
}

/// Reads a matte (0..1) from a grayscale image (stub).
pub fn read_matte(path: &Path) -> Result<Plane, IoError> {
    Err(IoError::Decode {
        path: path.into(),
        message: "mattes not implemented yet".into(),
    })
}

/// Writes a plane as a 16-bit grayscale PNG, mapping `lo..hi` to 0..65535 (stub).
pub fn write_plane_png16(path: &Path, _plane: &Plane, _lo: f32, _hi: f32) -> Result<(), IoError> {
    Err(IoError::Encode {
        path: path.into(),
        message: "not implemented yet".into(),
    })
}
