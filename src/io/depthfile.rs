//! Depth and matte files: NumPy `.npy`, `.pfm`, and grayscale PNG/TIFF/JPEG/WebP images; and
//! the 16-bit grayscale PNG writer for planes.
//!
//! The byte-level parsers [`parse_npy`] and [`parse_pfm`] never panic on any input (they are
//! fuzzed) and refuse arrays over [`super::DEFAULT_MAX_PIXELS`] before allocating.
//!
//! * `.npy`: 2-D `(height, width)` or 3-D with one channel `(height, width, 1)` / `(1, height,
//!   width)`; dtype little-endian `float32`, `float64`, `uint8` or `uint16` (`<f4 <f8 |u1 <u2`);
//!   C or Fortran order; format versions 1, 2 and 3. Values are returned as stored.
//! * `.pfm`: `Pf` (grayscale) or `PF` (colour: the first channel is used); a negative scale means
//!   little-endian; rows are stored bottom to top.
//! * Images: grayscale 8/16-bit (colour images whose channels are all equal are accepted too),
//!   mapped to 0..1 with no transfer curve (the values are data, not light).

use std::path::Path;

use image::DynamicImage;

use super::atomic::write_atomically;
use super::decode::{DecodeError, decode_err, decode_image_bytes, read_file};
use super::encode::encode_err;
use super::{DEFAULT_MAX_PIXELS, IoError};
use crate::depth::DepthKind;
use crate::scene::Plane;

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// An array file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFormat {
    Npy,
    Pfm,
}

impl std::fmt::Display for ArrayFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ArrayFormat::Npy => ".npy",
            ArrayFormat::Pfm => "PFM",
        })
    }
}

/// Why a `.npy` or `.pfm` array could not be read. Messages quote at most 40 characters of
/// the file's header text, escaped, so they stay one short line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArrayFileError {
    #[error("not a NumPy .npy file (bad magic)")]
    NotNpy,
    #[error("not a PFM file (expected 'Pf' or 'PF')")]
    NotPfm,
    #[error("truncated {0} header")]
    TruncatedHeader(ArrayFormat),
    /// The header is there but cannot be read; `what` names the part, when one is to blame.
    #[error("corrupt {format} header{}", what.as_ref().map(|w| format!(" ({w})")).unwrap_or_default())]
    CorruptHeader {
        format: ArrayFormat,
        what: Option<String>,
    },
    #[error("unsupported .npy format version {0}")]
    NpyVersion(u8),
    #[error(
        "array shape ({0}) is not a 2-D map (expected (height, width), (height, width, 1) or \
         (1, height, width))"
    )]
    NotTwoDimensional(String),
    #[error(
        "unsupported .npy dtype '{0}': fstop reads little-endian float32, float64, uint8 or \
         uint16 ('<f4', '<f8', '|u1', '<u2')"
    )]
    UnsupportedDtype(String),
    #[error("array is {width}×{height}, over the limit of {limit} pixels")]
    TooLarge {
        width: usize,
        height: usize,
        limit: u64,
    },
    #[error("array is {width}×{height}: it has no values")]
    Empty { width: usize, height: usize },
    /// Fewer data bytes than the header promises (`dtype` is the .npy one, empty for PFM).
    #[error(
        "truncated {format} data ({got} bytes, {expected} expected for {width}×{height}{dtype})"
    )]
    TruncatedData {
        format: ArrayFormat,
        got: usize,
        expected: usize,
        width: usize,
        height: usize,
        dtype: String,
    },
}

fn corrupt(format: ArrayFormat, what: &str) -> ArrayFileError {
    ArrayFileError::CorruptHeader {
        format,
        what: Some(what.to_string()),
    }
}

/// What kind of file a depth or matte file is, from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlaneFile {
    Npy,
    Pfm,
    Image,
}

fn plane_file_kind(bytes: &[u8]) -> PlaneFile {
    if bytes.starts_with(NPY_MAGIC) {
        PlaneFile::Npy
    } else if (bytes.starts_with(b"Pf") || bytes.starts_with(b"PF"))
        && bytes.get(2).is_some_and(|b| b.is_ascii_whitespace())
    {
        PlaneFile::Pfm
    } else {
        PlaneFile::Image
    }
}

fn check_size(width: usize, height: usize) -> Result<usize, ArrayFileError> {
    let n = width
        .checked_mul(height)
        .filter(|&n| (n as u64) <= DEFAULT_MAX_PIXELS)
        .ok_or(ArrayFileError::TooLarge {
            width,
            height,
            limit: DEFAULT_MAX_PIXELS,
        })?;
    if n == 0 {
        return Err(ArrayFileError::Empty { width, height });
    }
    Ok(n)
}

/// Parses a NumPy `.npy` file into a plane (values as stored).
pub fn parse_npy(bytes: &[u8]) -> Result<Plane, ArrayFileError> {
    if !bytes.starts_with(NPY_MAGIC) {
        return Err(ArrayFileError::NotNpy);
    }
    let truncated = || ArrayFileError::TruncatedHeader(ArrayFormat::Npy);
    let major = *bytes.get(6).ok_or_else(truncated)?;
    let (header_len, header_start): (usize, usize) = match major {
        1 => (
            u16::from_le_bytes(bytes.get(8..10).ok_or_else(truncated)?.try_into().unwrap())
                as usize,
            10,
        ),
        2 | 3 => (
            u32::from_le_bytes(bytes.get(8..12).ok_or_else(truncated)?.try_into().unwrap())
                as usize,
            12,
        ),
        v => return Err(ArrayFileError::NpyVersion(v)),
    };
    let header_end = header_start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(truncated)?;
    let header = std::str::from_utf8(&bytes[header_start..header_end])
        .map_err(|_| corrupt(ArrayFormat::Npy, "not text"))?;
    let descr = dict_value(header, "descr")
        .and_then(|v| v.strip_prefix('\'').or_else(|| v.strip_prefix('"')))
        .and_then(|v| v.split(['\'', '"']).next())
        .ok_or_else(|| corrupt(ArrayFormat::Npy, "no 'descr'"))?;
    let fortran = match dict_value(header, "fortran_order") {
        Some(v) if v.starts_with("True") => true,
        Some(v) if v.starts_with("False") => false,
        _ => return Err(corrupt(ArrayFormat::Npy, "no 'fortran_order'")),
    };
    let shape_text = dict_value(header, "shape")
        .and_then(|v| v.strip_prefix('('))
        .and_then(|v| v.split(')').next())
        .ok_or_else(|| corrupt(ArrayFormat::Npy, "no 'shape'"))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt(ArrayFormat::Npy, &format!("shape ({})", echo(shape_text))))?;
    let (height, width) = match shape.as_slice() {
        [h, w] | [h, w, 1] | [1, h, w] => (*h, *w),
        _ => {
            return Err(ArrayFileError::NotTwoDimensional(echo(shape_text)));
        }
    };
    #[derive(Clone, Copy)]
    enum Dtype {
        F4,
        F8,
        U1,
        U2,
    }
    let dtype = match descr {
        "<f4" => Dtype::F4,
        "<f8" => Dtype::F8,
        "|u1" | "<u1" | "u1" => Dtype::U1,
        "<u2" => Dtype::U2,
        other => {
            return Err(ArrayFileError::UnsupportedDtype(echo(other)));
        }
    };
    let item = match dtype {
        Dtype::F4 => 4,
        Dtype::F8 => 8,
        Dtype::U1 => 1,
        Dtype::U2 => 2,
    };
    let n = check_size(width, height)?;
    let data = &bytes[header_end..];
    if data.len() < n * item {
        return Err(ArrayFileError::TruncatedData {
            format: ArrayFormat::Npy,
            got: data.len(),
            expected: n * item,
            width,
            height,
            dtype: format!(" {descr}"),
        });
    }
    let value = |i: usize| -> f32 {
        let b = &data[i * item..(i + 1) * item];
        match dtype {
            Dtype::F4 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            Dtype::F8 => f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32,
            Dtype::U1 => b[0] as f32,
            Dtype::U2 => u16::from_le_bytes([b[0], b[1]]) as f32,
        }
    };
    let mut out = Vec::with_capacity(n);
    for y in 0..height {
        for x in 0..width {
            out.push(value(if fortran {
                x * height + y
            } else {
                y * width + x
            }));
        }
    }
    Ok(Plane::from_vec(width, height, out))
}

/// Header text quoted in an error message: at most 40 characters, control characters escaped,
/// so the message stays one short line whatever the file holds.
fn echo(text: &str) -> String {
    let mut out: String = text.chars().take(40).flat_map(char::escape_debug).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// The text after `'key':` in a Python dict literal.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pats = [format!("'{key}'"), format!("\"{key}\"")];
    let i = pats
        .iter()
        .find_map(|p| header.find(p.as_str()).map(|i| i + p.len()))?;
    let rest = header[i..].trim_start();
    Some(rest.strip_prefix(':')?.trim_start())
}

/// Parses a `.pfm` file into a plane (the first channel of `PF` colour files).
pub fn parse_pfm(bytes: &[u8]) -> Result<Plane, ArrayFileError> {
    let channels = match bytes.get(0..2) {
        Some(b"Pf") => 1,
        Some(b"PF") => 3,
        _ => return Err(ArrayFileError::NotPfm),
    };
    let mut pos = 2;
    let mut token = || -> Result<&str, ArrayFileError> {
        while bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
            pos += 1;
        }
        let start = pos;
        while bytes
            .get(pos)
            .is_some_and(|b| !b.is_ascii_whitespace() && pos - start < 64)
        {
            pos += 1;
        }
        if pos == start {
            return Err(ArrayFileError::TruncatedHeader(ArrayFormat::Pfm));
        }
        std::str::from_utf8(&bytes[start..pos]).map_err(|_| ArrayFileError::CorruptHeader {
            format: ArrayFormat::Pfm,
            what: None,
        })
    };
    let width: usize = token()?
        .parse()
        .map_err(|_| corrupt(ArrayFormat::Pfm, "width"))?;
    let height: usize = token()?
        .parse()
        .map_err(|_| corrupt(ArrayFormat::Pfm, "height"))?;
    let scale: f32 = token()?
        .parse()
        .map_err(|_| corrupt(ArrayFormat::Pfm, "scale"))?;
    if scale == 0.0 || !scale.is_finite() {
        return Err(corrupt(ArrayFormat::Pfm, "scale must be non-zero"));
    }
    let little_endian = scale < 0.0;
    let n = check_size(width, height)?;
    // Exactly one whitespace byte ends the header; tolerate "\r\n" when the sizes say so.
    if !bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
        return Err(ArrayFileError::TruncatedHeader(ArrayFormat::Pfm));
    }
    pos += 1;
    let expected = n * channels * 4;
    let mut data = &bytes[pos..];
    while data.len() > expected && data[0].is_ascii_whitespace() && data[0] != b' ' {
        data = &data[1..];
    }
    if data.len() < expected {
        return Err(ArrayFileError::TruncatedData {
            format: ArrayFormat::Pfm,
            got: data.len(),
            expected,
            width,
            height,
            dtype: String::new(),
        });
    }
    let mut out = vec![0.0f32; n];
    for file_row in 0..height {
        let y = height - 1 - file_row; // bottom to top
        for x in 0..width {
            let i = ((file_row * width + x) * channels) * 4;
            let b = [data[i], data[i + 1], data[i + 2], data[i + 3]];
            out[y * width + x] = if little_endian {
                f32::from_le_bytes(b)
            } else {
                f32::from_be_bytes(b)
            };
        }
    }
    Ok(Plane::from_vec(width, height, out))
}

/// Reads a plane from an image: how to use its channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImagePlane {
    Depth,
    Matte,
}

fn image_plane(path: &Path, image: &DynamicImage, what: ImagePlane) -> Result<Plane, IoError> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let ch = image.color().channel_count() as usize;
    let has_alpha = image.color().has_alpha();
    // All samples as 0..1 floats, interleaved.
    let samples: Vec<f32> = match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => {
            image.as_bytes().iter().map(|&v| v as f32 / 255.0).collect()
        }
        DynamicImage::ImageLuma16(b) => b.as_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
        DynamicImage::ImageLumaA16(b) => b.as_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
        DynamicImage::ImageRgb16(b) => b.as_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
        DynamicImage::ImageRgba16(b) => b.as_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
        _ => {
            return Ok(match what {
                ImagePlane::Depth => {
                    let f = image.to_luma32f();
                    Plane::from_vec(w, h, f.into_raw())
                }
                ImagePlane::Matte => {
                    let f = image.to_luma_alpha32f();
                    let data = f
                        .pixels()
                        .map(|p| {
                            let v = if has_alpha { p.0[1] } else { p.0[0] };
                            if v.is_finite() {
                                v.clamp(0.0, 1.0)
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    Plane::from_vec(w, h, data)
                }
            });
        }
    };
    let color_ch = if has_alpha { ch - 1 } else { ch };
    let opaque = !has_alpha || samples.chunks_exact(ch).all(|p| p[ch - 1] >= 1.0);
    let data: Vec<f32> = match what {
        ImagePlane::Matte if !opaque => samples.chunks_exact(ch).map(|p| p[ch - 1]).collect(),
        ImagePlane::Matte if color_ch == 3 => samples
            .chunks_exact(ch)
            .map(|p| (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]).clamp(0.0, 1.0))
            .collect(),
        _ => {
            if color_ch == 3
                && samples
                    .chunks_exact(ch)
                    .any(|p| p[0] != p[1] || p[1] != p[2])
            {
                return Err(decode_err(path, DecodeError::ColourDepth));
            }
            samples.chunks_exact(ch).map(|p| p[0]).collect()
        }
    };
    Ok(Plane::from_vec(w, h, data))
}

/// Reads a depth file (see [`super::read_depth`]).
pub(crate) fn read_depth(
    path: &Path,
    kind: Option<DepthKind>,
) -> Result<(Plane, DepthKind), IoError> {
    read_depth_bytes(path, &read_file(path, DEFAULT_MAX_PIXELS)?, kind)
}

/// [`read_depth`] on the file's bytes (`path` only names it in messages).
pub(crate) fn read_depth_bytes(
    path: &Path,
    bytes: &[u8],
    kind: Option<DepthKind>,
) -> Result<(Plane, DepthKind), IoError> {
    let (plane, default_kind) = match plane_file_kind(bytes) {
        PlaneFile::Npy => (
            parse_npy(bytes).map_err(|e| decode_err(path, DecodeError::Array(e)))?,
            DepthKind::Metres,
        ),
        PlaneFile::Pfm => (
            parse_pfm(bytes).map_err(|e| decode_err(path, DecodeError::Array(e)))?,
            DepthKind::Metres,
        ),
        PlaneFile::Image => {
            let decoded = decode_image_bytes(path, bytes, DEFAULT_MAX_PIXELS)?;
            (
                image_plane(path, &decoded.image, ImagePlane::Depth)?,
                DepthKind::Disparity,
            )
        }
    };
    Ok((plane, kind.unwrap_or(default_kind)))
}

/// Reads a matte (see [`super::read_matte`]).
pub(crate) fn read_matte(path: &Path) -> Result<Plane, IoError> {
    read_matte_bytes(path, &read_file(path, DEFAULT_MAX_PIXELS)?)
}

/// [`read_matte`] on the file's bytes (`path` only names it in messages).
pub(crate) fn read_matte_bytes(path: &Path, bytes: &[u8]) -> Result<Plane, IoError> {
    let clamp = |mut p: Plane| {
        for v in p.data_mut() {
            *v = if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
        p
    };
    match plane_file_kind(bytes) {
        PlaneFile::Npy => Ok(clamp(
            parse_npy(bytes).map_err(|e| decode_err(path, DecodeError::Array(e)))?,
        )),
        PlaneFile::Pfm => Ok(clamp(
            parse_pfm(bytes).map_err(|e| decode_err(path, DecodeError::Array(e)))?,
        )),
        PlaneFile::Image => {
            let decoded = decode_image_bytes(path, bytes, DEFAULT_MAX_PIXELS)?;
            image_plane(path, &decoded.image, ImagePlane::Matte)
        }
    }
}

/// Writes a plane as a 16-bit grayscale PNG (see [`super::write_plane_png16`]).
pub(crate) fn write_plane_png16(
    path: &Path,
    plane: &Plane,
    lo: f32,
    hi: f32,
) -> Result<(), IoError> {
    if !lo.is_finite() || !hi.is_finite() {
        return Err(encode_err(path, format!("invalid value range {lo}..{hi}")));
    }
    if plane.width() == 0
        || plane.height() == 0
        || plane.data().len() != plane.width() * plane.height()
    {
        return Err(encode_err(
            path,
            format!(
                "plane is {}×{}: nothing to write",
                plane.width(),
                plane.height()
            ),
        ));
    }
    let (w, h) = match (u32::try_from(plane.width()), u32::try_from(plane.height())) {
        (Ok(w), Ok(h)) => (w, h),
        _ => return Err(encode_err(path, "plane too large for PNG")),
    };
    let scale = if hi > lo { 65535.0 / (hi - lo) } else { 0.0 };
    let mut bytes = Vec::with_capacity(plane.data().len() * 2);
    for &v in plane.data() {
        let q = if v.is_nan() {
            0
        } else {
            ((v - lo) * scale + 0.5).clamp(0.0, 65535.0) as u16
        };
        bytes.extend_from_slice(&q.to_be_bytes());
    }
    write_atomically(path, |out| {
        let mut enc = png::Encoder::new(out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Sixteen);
        enc.set_compression(png::Compression::Fast);
        let err = |e: png::EncodingError| encode_err(path, format!("PNG encoding failed: {e}"));
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&bytes).map_err(err)?;
        writer.finish().map_err(err)
    })
}
