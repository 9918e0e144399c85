//! Decoding: format sniffing, the pixel limit (checked on the header, before any pixel buffer is
//! allocated), truncation checks, metadata extraction, EXIF orientation, and conversion to
//! planar linear-light `f32`.

use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::tiff::TiffDecoder;
use image::codecs::webp::WebPDecoder;
use image::{DynamicImage, ImageDecoder, ImageFormat};
use rayon::prelude::*;
use thiserror::Error;

use super::colour::{Transfer, decide_icc};
use super::depthfile::ArrayFileError;
use super::limits::{
    MAX_EXIF_BYTES, MAX_ICC_BYTES, MAX_XMP_BYTES, ReadFileError, max_image_file_bytes,
    read_regular_file, read_stream,
};
use super::meta_bounds::{Guarded, bounded, guard_jpeg, guard_png, tiff_metadata, webp_metadata};
use super::metadata::{exif_from_tiff_file, exif_orientation, sanitize_exif, strip_exif_prefix};
use super::xmp::{XmpClean, clean_xmp};
use super::{DecodeOptions, IoError, Metadata, Photo};
use crate::scene::{LinearRgb, Plane};

/// The input formats fstop reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Jpeg,
    Png,
    Tiff,
    WebP,
}

impl InputFormat {
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Jpeg => "JPEG",
            InputFormat::Png => "PNG",
            InputFormat::Tiff => "TIFF",
            InputFormat::WebP => "WebP",
        }
    }
}

const NOT_AN_IMAGE: &str = "not a JPEG/PNG/TIFF/WebP image";

/// Why a photo, depth or matte file could not be read as one (the kind of an
/// [`IoError::Decode`]).
#[derive(Debug, Error)]
pub enum DecodeError {
    /// The file is empty.
    #[error("{NOT_AN_IMAGE} (file is empty)")]
    Empty,
    /// An image format fstop does not read (GIF, BMP…), by its usual extension in capitals.
    #[error("{0} images are not supported (fstop reads JPEG, PNG, TIFF and WebP)")]
    Unsupported(String),
    /// Content that is no image at all.
    #[error("{NOT_AN_IMAGE} ({})", if *.looks_like_text { "it looks like a text file".to_string() } else { format!("unrecognised content starting with {}", .head) })]
    NotAnImage {
        looks_like_text: bool,
        /// The first bytes in hex ("89 50 4e 47").
        head: String,
    },
    /// The path is not a regular file, or too large to be an image.
    #[error("{0}")]
    Read(#[source] ReadFileError),
    #[error("image is {width}×{height}: it has no pixels")]
    NoPixels { width: u32, height: u32 },
    #[error("not enough memory to decode {width}×{height} pixels ({} MiB)", .bytes.div_ceil(1 << 20))]
    OutOfMemory { width: u32, height: u32, bytes: u64 },
    /// The JPEG's marker structure is broken or unsupported ([`check_jpeg_structure`]).
    #[error(transparent)]
    Jpeg(#[from] JpegError),
    /// The decoder failed on the data.
    #[error("corrupt or truncated {} data ({})", .format.name(), one_line(.source.to_string()))]
    Corrupt {
        format: InputFormat,
        #[source]
        source: image::ImageError,
    },
    /// A depth image with colour in it.
    #[error("depth image is in colour; a depth map must be grayscale (brighter = nearer)")]
    ColourDepth,
    /// A NumPy or PFM array that cannot be read.
    #[error("{0}")]
    Array(#[source] ArrayFileError),
}

/// What is wrong with a JPEG's marker structure ([`check_jpeg_structure`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JpegError {
    #[error("not a JPEG (no start-of-image marker)")]
    NoStart,
    /// The file ends early: `where_` says where ("no end-of-image marker", "cut inside a
    /// header", "cut inside the image data").
    #[error("truncated JPEG ({where_}; the file ends after {bytes} bytes)")]
    Truncated { where_: &'static str, bytes: usize },
    #[error("corrupt JPEG (end-of-image marker before any image data)")]
    EndBeforeData,
    /// Arithmetic coding or a precision other than 8 bits.
    #[error(
        "JPEG not supported ({0}); fstop reads 8-bit Huffman-coded JPEG (baseline or progressive)"
    )]
    Unsupported(String),
}

pub(crate) fn decode_err(path: &Path, kind: impl Into<DecodeError>) -> IoError {
    IoError::Decode {
        path: path.to_path_buf(),
        kind: kind.into(),
    }
}

/// Error texts from decoders occasionally span lines; ours never do.
pub(crate) fn one_line(s: String) -> String {
    if s.contains('\n') {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        s
    }
}

/// Reads a whole image file (a photo, depth or matte file) of at most
/// [`max_image_file_bytes`]`(max_pixels)` bytes, naming it on failure; folders, FIFOs and
/// devices are refused unread.
pub(crate) fn read_file(path: &Path, max_pixels: u64) -> Result<Vec<u8>, IoError> {
    read_regular_file(path, max_image_file_bytes(max_pixels), "an image file")
        .map_err(|e| read_error(path, e))
}

/// Reads a photo from standard input, bounded as [`read_file`]; messages name it `-`.
pub(crate) fn read_stdin(max_pixels: u64) -> Result<Vec<u8>, IoError> {
    let limit = max_image_file_bytes(max_pixels);
    read_stream(std::io::stdin().lock(), limit, "an image")
        .map_err(|e| read_error(Path::new("-"), e))
}

fn read_error(path: &Path, e: ReadFileError) -> IoError {
    match e {
        ReadFileError::Io(source) => IoError::Os {
            path: path.to_path_buf(),
            action: "cannot read".into(),
            source,
        },
        other => decode_err(path, DecodeError::Read(other)),
    }
}

/// Identifies the format from the content (never from the extension).
pub fn sniff(path: &Path, bytes: &[u8]) -> Result<InputFormat, IoError> {
    if bytes.is_empty() {
        return Err(decode_err(path, DecodeError::Empty));
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(InputFormat::Jpeg),
        Ok(ImageFormat::Png) => Ok(InputFormat::Png),
        Ok(ImageFormat::Tiff) => Ok(InputFormat::Tiff),
        Ok(ImageFormat::WebP) => Ok(InputFormat::WebP),
        Ok(other) => Err(decode_err(
            path,
            DecodeError::Unsupported(
                other
                    .extensions_str()
                    .first()
                    .unwrap_or(&"this kind of")
                    .to_uppercase(),
            ),
        )),
        Err(_) => {
            let head = &bytes[..bytes.len().min(512)];
            let texty = std::str::from_utf8(head).is_ok_and(|s| {
                s.chars()
                    .all(|c| !c.is_control() || c.is_ascii_whitespace())
            });
            let hex: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            Err(decode_err(
                path,
                DecodeError::NotAnImage {
                    looks_like_text: texty,
                    head: hex.join(" "),
                },
            ))
        }
    }
}

/// What [`check_jpeg_structure`] learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegStructure {
    /// Number of colour components in the frame (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK).
    pub components: u8,
}

/// Walks the JPEG marker structure up to the end-of-image marker of the main image. A file that
/// ends before it (a truncated download or copy) is an error: decoders would silently fill the
/// missing part with grey.
pub fn check_jpeg_structure(bytes: &[u8]) -> Result<JpegStructure, JpegError> {
    let truncated = |where_: &'static str| JpegError::Truncated {
        where_,
        bytes: bytes.len(),
    };
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err(JpegError::NoStart);
    }
    let mut pos = 2;
    let mut components = 0u8;
    let mut seen_scan = false;
    loop {
        // Find the next marker, skipping fill bytes.
        let ff = bytes[pos..]
            .iter()
            .position(|&b| b == 0xFF)
            .ok_or_else(|| truncated("no end-of-image marker"))?;
        pos += ff;
        while pos < bytes.len() && bytes[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            return Err(truncated("no end-of-image marker"));
        };
        pos += 1;
        match marker {
            0xD9 => {
                if !seen_scan {
                    return Err(JpegError::EndBeforeData);
                }
                return Ok(JpegStructure { components });
            }
            0x01 | 0xD0..=0xD8 => {}
            _ => {
                let len = bytes
                    .get(pos..pos + 2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
                    .ok_or_else(|| truncated("cut inside a header"))?;
                if len < 2 || pos + len > bytes.len() {
                    return Err(truncated("cut inside a header"));
                }
                if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
                    && len >= 8
                {
                    components = bytes[pos + 7];
                    if let Some(why) = unsupported_frame(marker, bytes[pos + 2]) {
                        return Err(JpegError::Unsupported(why));
                    }
                }
                pos += len;
                if marker == 0xDA {
                    seen_scan = true;
                    // Entropy-coded data: runs until a marker that is not a stuffed 0xFF00 or a
                    // restart marker.
                    loop {
                        let ff = bytes[pos..]
                            .iter()
                            .position(|&b| b == 0xFF)
                            .ok_or_else(|| truncated("cut inside the image data"))?;
                        pos += ff;
                        match bytes.get(pos + 1) {
                            None => return Err(truncated("cut inside the image data")),
                            Some(0x00) | Some(0xD0..=0xD7) | Some(0xFF) => pos += 1,
                            Some(_) => break,
                        }
                    }
                }
            }
        }
    }
}

/// Why a JPEG frame (start-of-frame `marker`, sample `precision` in bits) cannot be decoded,
/// or `None` when it can.
fn unsupported_frame(marker: u8, precision: u8) -> Option<String> {
    match marker {
        0xC9..=0xCB | 0xCD..=0xCF => Some("arithmetic coding".into()),
        0xC0..=0xC2 if precision != 8 => Some(format!("{precision}-bit precision")),
        _ => None,
    }
}

/// Width and height from a PNG's IHDR, read straight from the bytes.
fn png_header_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    Some((w, h))
}

fn check_pixels(path: &Path, w: u32, h: u32, limit: u64) -> Result<(), IoError> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limit {
        return Err(IoError::TooLarge {
            path: path.to_path_buf(),
            width: w.into(),
            height: h.into(),
            pixels,
            limit,
        });
    }
    if pixels == 0 {
        return Err(decode_err(
            path,
            DecodeError::NoPixels {
                width: w,
                height: h,
            },
        ));
    }
    Ok(())
}

/// A decoded image before conversion to linear light: upright, with cleaned-up metadata.
pub(crate) struct DecodedImage {
    pub image: DynamicImage,
    /// The ICC profile as found (not yet judged).
    pub icc_profile: Option<Vec<u8>>,
    /// Sanitised EXIF (orientation 1, no thumbnail).
    pub exif: Option<Vec<u8>>,
    /// Cleaned XMP (see [`super::xmp`]).
    pub xmp: Option<Vec<u8>>,
    /// True for a CMYK/YCCK JPEG (converted to RGB by the decoder).
    pub cmyk: bool,
    pub warnings: Vec<String>,
}

/// Decodes an image file's bytes, already read (`path` only names it in messages): sniff,
/// limit check on the header, decode, orientation.
/// The checks before a decoder is made: a JPEG's structure (returns true for CMYK/YCCK), and
/// the pixel count a PNG or TIFF header claims.
fn check_before_decoding(
    path: &Path,
    format: InputFormat,
    bytes: &[u8],
    max_pixels: u64,
) -> Result<bool, IoError> {
    match format {
        InputFormat::Jpeg => {
            let s = check_jpeg_structure(bytes).map_err(|m| decode_err(path, m))?;
            return Ok(s.components == 4);
        }
        InputFormat::Png => {
            if let Some((w, h)) = png_header_dimensions(bytes) {
                check_pixels(path, w, h, max_pixels)?;
            }
        }
        InputFormat::Tiff => {
            if let Some((w, h)) = super::metadata::tiff_dimensions(bytes) {
                check_pixels(path, w, h, max_pixels)?;
            }
        }
        InputFormat::WebP => {}
    }
    Ok(false)
}

/// The ICC profile, EXIF (not for TIFF: read from the file's own directory) and XMP as the
/// decoder finds them; one it cannot read is left out with a warning.
type RawMetadata = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);
fn decoder_metadata(
    decoder: &mut dyn ImageDecoder,
    format: InputFormat,
    warnings: &mut Vec<String>,
) -> RawMetadata {
    let mut meta_warn = |what: &str, e: image::ImageError| {
        warnings.push(one_line(format!(
            "could not read the {what} ({e}); ignored"
        )));
    };
    let icc = decoder.icc_profile().unwrap_or_else(|e| {
        meta_warn("ICC profile", e);
        None
    });
    let exif = if format == InputFormat::Tiff {
        None
    } else {
        decoder.exif_metadata().unwrap_or_else(|e| {
            meta_warn("EXIF data", e);
            None
        })
    };
    let xmp = decoder.xmp_metadata().unwrap_or_else(|e| {
        meta_warn("XMP data", e);
        None
    });
    (icc, exif, xmp)
}

/// The decoder allocates the whole pixel buffer up front, and a failed allocation aborts the
/// process (every photo of a batch with it). The memory is asked for first, fallibly, so a
/// header that claims more than this machine has (possible when --max-pixels is raised) fails
/// this one photo instead.
fn reserve_pixel_memory(path: &Path, (w, h): (u32, u32), need: u64) -> Result<(), IoError> {
    let fits = usize::try_from(need).is_ok_and(|n| Vec::<u8>::new().try_reserve_exact(n).is_ok());
    if fits {
        Ok(())
    } else {
        Err(decode_err(
            path,
            DecodeError::OutOfMemory {
                width: w,
                height: h,
                bytes: need,
            },
        ))
    }
}

/// The EXIF orientation (1–8) in `exif` (a TIFF structure); 1 with a warning for an invalid
/// value or unreadable data. The flag is true when the data was unreadable (warned about
/// once).
fn orientation_of(exif: Option<&[u8]>, warnings: &mut Vec<String>) -> (u32, bool) {
    match exif.map(exif_orientation) {
        Some(Ok(Some(v @ 1..=8))) => (v, false),
        Some(Ok(Some(v))) => {
            warnings.push(format!(
                "EXIF orientation {v} is not a valid value (1–8); treating it as 1 (upright)"
            ));
            (1, false)
        }
        Some(Ok(None)) | None => (1, false),
        Some(Err(e)) => {
            warnings.push(format!("unreadable EXIF data ({e}); ignored"));
            (1, true)
        }
    }
}

pub(crate) fn decode_image_bytes(
    path: &Path,
    bytes: &[u8],
    max_pixels: u64,
) -> Result<DecodedImage, IoError> {
    let format = sniff(path, bytes)?;
    let mut warnings = Vec::new();
    let cmyk = check_before_decoding(path, format, bytes, max_pixels)?;
    // Metadata over its limit is cut out before a decoder sees it (PNG, JPEG), or read here
    // from the file's bytes with the bound (WebP, TIFF).
    let guarded = match format {
        InputFormat::Png => guard_png(bytes),
        InputFormat::Jpeg => guard_jpeg(bytes),
        _ => Guarded {
            bytes: std::borrow::Cow::Borrowed(bytes),
            warnings: Vec::new(),
        },
    };
    warnings.extend(guarded.warnings);
    let own_metadata = match format {
        InputFormat::WebP => Some(webp_metadata(bytes)),
        InputFormat::Tiff => tiff_metadata(bytes),
        _ => None,
    };
    let corrupt =
        |source: image::ImageError| decode_err(path, DecodeError::Corrupt { format, source });
    let cursor = Cursor::new(&guarded.bytes[..]);
    let mut decoder: Box<dyn ImageDecoder + '_> = match format {
        InputFormat::Jpeg => Box::new(JpegDecoder::new(cursor).map_err(corrupt)?),
        InputFormat::Png => Box::new(PngDecoder::new(cursor).map_err(corrupt)?),
        InputFormat::Tiff => Box::new(TiffDecoder::new(cursor).map_err(corrupt)?),
        InputFormat::WebP => Box::new(WebPDecoder::new(cursor).map_err(corrupt)?),
    };
    let (w, h) = decoder.dimensions();
    check_pixels(path, w, h, max_pixels)?;

    let (icc_profile, raw_exif, raw_xmp) = match own_metadata {
        Some(own) => {
            warnings.extend(own.warnings);
            (own.icc, own.exif, own.xmp)
        }
        None => decoder_metadata(&mut *decoder, format, &mut warnings),
    };
    let icc_profile = bounded(
        "ICC profile",
        icc_profile.filter(|p| !p.is_empty()),
        MAX_ICC_BYTES,
        &mut warnings,
    );
    let raw_exif = bounded("EXIF data", raw_exif, MAX_EXIF_BYTES, &mut warnings);
    let raw_xmp = bounded("XMP data", raw_xmp, MAX_XMP_BYTES, &mut warnings);
    // Limits last: image's TIFF decoder forgets its tags once limits are set.
    let mut limits = image::Limits::no_limits();
    // Room for the decoded buffer (up to 4 channels × 4 bytes) plus decoder working memory.
    limits.max_alloc = Some(u64::from(w) * u64::from(h) * 16 + (256 << 20));
    decoder.set_limits(limits).map_err(corrupt)?;
    reserve_pixel_memory(path, (w, h), decoder.total_bytes())?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;

    // Orientation: from the EXIF block, or for a TIFF from the file's own first directory.
    let orientation_source: Option<&[u8]> = match format {
        InputFormat::Tiff => Some(bytes),
        _ => raw_exif.as_deref().map(strip_exif_prefix),
    };
    let (orientation, exif_unreadable) = orientation_of(orientation_source, &mut warnings);
    if orientation != 1
        && let Some(o) = image::metadata::Orientation::from_exif(orientation as u8)
    {
        image.apply_orientation(o);
    }

    let exif = match format {
        InputFormat::Tiff => bounded(
            "EXIF data",
            exif_from_tiff_file(bytes),
            MAX_EXIF_BYTES,
            &mut warnings,
        ),
        _ => raw_exif.and_then(|e| match sanitize_exif(&e) {
            Ok(clean) => Some(clean),
            Err(why) => {
                if !exif_unreadable {
                    warnings.push(format!("unreadable EXIF data ({why}); not written back"));
                }
                None
            }
        }),
    };
    let xmp =
        raw_xmp
            .filter(|x| !x.is_empty())
            .and_then(|x| match clean_xmp(&x, XmpClean::default()) {
                Ok(clean) => Some(clean),
                Err(why) => {
                    warnings.push(format!("unreadable XMP data ({why}); not written back"));
                    None
                }
            });
    Ok(DecodedImage {
        image,
        icc_profile,
        exif,
        xmp,
        cmyk,
        warnings,
    })
}

/// The XMP packet of an image file's bytes, read from its header (JPEG, PNG) or first
/// directory (TIFF) or chunks (WebP) without decoding the pixels; bounded like [`read_photo`].
pub(crate) fn xmp_only(path: &Path, bytes: &[u8]) -> Result<Option<Vec<u8>>, IoError> {
    let format = sniff(path, bytes)?;
    let corrupt =
        |source: image::ImageError| decode_err(path, DecodeError::Corrupt { format, source });
    let xmp = match format {
        InputFormat::WebP => webp_metadata(bytes).xmp,
        InputFormat::Tiff => match tiff_metadata(bytes) {
            Some(own) => own.xmp,
            None => TiffDecoder::new(Cursor::new(bytes))
                .map_err(corrupt)?
                .xmp_metadata()
                .map_err(corrupt)?,
        },
        InputFormat::Jpeg => JpegDecoder::new(Cursor::new(&guard_jpeg(bytes).bytes[..]))
            .map_err(corrupt)?
            .xmp_metadata()
            .map_err(corrupt)?,
        InputFormat::Png => PngDecoder::new(Cursor::new(&guard_png(bytes).bytes[..]))
            .map_err(corrupt)?
            .xmp_metadata()
            .map_err(corrupt)?,
    };
    Ok(xmp.filter(|x| x.len() <= MAX_XMP_BYTES))
}

/// Reads a photo (see [`super::read_photo`]).
pub(crate) fn read_photo(path: &Path, options: &DecodeOptions) -> Result<Photo, IoError> {
    let bytes = read_file(path, options.max_pixels)?;
    read_photo_bytes(path, &bytes, options)
}

/// [`read_photo`] on the file's bytes, already read (`path` only names it in messages).
pub(crate) fn read_photo_bytes(
    path: &Path,
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<Photo, IoError> {
    let decoded = decode_image_bytes(path, bytes, options.max_pixels)?;
    let DecodedImage {
        image,
        icc_profile,
        exif,
        xmp,
        cmyk,
        mut warnings,
    } = decoded;
    let mut transfer = Transfer::srgb();
    let mut kept_icc = None;
    if cmyk {
        warnings.push(
            "CMYK JPEG converted to RGB with the simple (uncalibrated) formula; colours may shift"
                .into(),
        );
    }
    if let Some(icc) = icc_profile {
        let decision = decide_icc(&icc);
        if cmyk && decision.keep {
            // An RGB profile on CMYK data is a contradiction; do not trust it.
            warnings.push("ICC profile does not match the CMYK data; ignored".into());
        } else {
            if let Some(w) = decision.warning {
                warnings.push(w);
            }
            transfer = decision.transfer;
            if decision.keep {
                kept_icc = Some(icc);
            }
        }
    }
    let bits_per_channel = match image.color() {
        image::ColorType::L16
        | image::ColorType::La16
        | image::ColorType::Rgb16
        | image::ColorType::Rgba16
        | image::ColorType::Rgb32F
        | image::ColorType::Rgba32F => 16,
        _ => 8,
    };
    warnings.extend(float_warnings(&image));
    let (color, alpha) = to_linear(&image, &transfer);
    Ok(Photo {
        color,
        alpha,
        metadata: Metadata {
            icc_profile: kept_icc,
            exif,
            xmp,
        },
        bits_per_channel,
        warnings,
    })
}

/// A float sample as fstop uses it: NaN, negative values and −inf → 0, +inf → 1, other values
/// as they are (above 1 included).
fn clean_float(v: f32) -> f32 {
    if v == f32::INFINITY {
        1.0
    } else if v > 0.0 {
        v
    } else {
        0.0 // also NaN: every comparison with it is false
    }
}

/// What a float image holds outside 0..1, per pixel.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct FloatStats {
    above_one: u64,
    brightest: f32,
    negative: u64,
    not_finite: u64,
}

impl FloatStats {
    fn add(mut self, o: FloatStats) -> FloatStats {
        self.above_one += o.above_one;
        self.brightest = self.brightest.max(o.brightest);
        self.negative += o.negative;
        self.not_finite += o.not_finite;
        self
    }
}

/// Warnings for a float (HDR) image's values outside 0..1: how many pixels, and what was done
/// with them. None for integer images.
fn float_warnings(image: &DynamicImage) -> Vec<String> {
    let (samples, channels): (&[f32], usize) = match image {
        DynamicImage::ImageRgb32F(b) => (b.as_raw(), 3),
        DynamicImage::ImageRgba32F(b) => (b.as_raw(), 4),
        _ => return Vec::new(),
    };
    let stats = samples
        .par_chunks(channels * 4096)
        .map(|block| {
            let mut s = FloatStats::default();
            for px in block.chunks_exact(channels) {
                let colour = &px[..3];
                if px.iter().any(|v| !v.is_finite()) {
                    s.not_finite += 1;
                } else {
                    let max = colour.iter().fold(0.0f32, |m, &v| m.max(v));
                    if max > 1.0 {
                        s.above_one += 1;
                        s.brightest = s.brightest.max(max);
                    }
                    if colour.iter().any(|&v| v < 0.0) {
                        s.negative += 1;
                    }
                }
            }
            s
        })
        .reduce(FloatStats::default, FloatStats::add);
    let mut out = Vec::new();
    if stats.above_one > 0 {
        out.push(format!(
            "{} pixels have float values above 1.0 (up to {}): kept as light for the blur, \
             clipped to 1.0 in the output",
            stats.above_one, stats.brightest
        ));
    }
    if stats.not_finite > 0 {
        out.push(format!(
            "{} pixels have NaN or infinite float values: NaN and -inf set to 0, +inf to 1.0",
            stats.not_finite
        ));
    }
    if stats.negative > 0 {
        out.push(format!(
            "{} pixels have negative float values: set to 0",
            stats.negative
        ));
    }
    out
}

/// Converts interleaved samples to planar linear light through per-channel tables.
fn planarize<T: Copy + Send + Sync>(
    src: &[T],
    width: usize,
    height: usize,
    channels: usize,
    to_linear: impl Fn(usize, T) -> f32 + Sync,
    alpha_of: impl Fn(T) -> f32 + Sync,
) -> (LinearRgb, Option<Plane>) {
    let n = width * height;
    let mut img = LinearRgb::filled(width, height, [0.0; 3]);
    let gray = channels <= 2;
    let has_alpha = channels == 2 || channels == 4;
    {
        let [r, g, b] = img.channels_mut();
        r.par_chunks_mut(width)
            .zip(g.par_chunks_mut(width))
            .zip(b.par_chunks_mut(width))
            .zip(src.par_chunks(width * channels))
            .for_each(|(((r, g), b), row)| {
                for (x, px) in row.chunks_exact(channels).enumerate() {
                    if gray {
                        r[x] = to_linear(0, px[0]);
                        g[x] = to_linear(1, px[0]);
                        b[x] = to_linear(2, px[0]);
                    } else {
                        r[x] = to_linear(0, px[0]);
                        g[x] = to_linear(1, px[1]);
                        b[x] = to_linear(2, px[2]);
                    }
                }
            });
    }
    let alpha = has_alpha.then(|| {
        let mut a = vec![0.0f32; n];
        a.par_chunks_mut(width)
            .zip(src.par_chunks(width * channels))
            .for_each(|(a, row)| {
                for (x, px) in row.chunks_exact(channels).enumerate() {
                    a[x] = alpha_of(px[channels - 1]);
                }
            });
        Plane::from_vec(width, height, a)
    });
    (img, alpha)
}

/// Converts a decoded image to planar linear light (and straight alpha in 0..1).
pub(crate) fn to_linear(image: &DynamicImage, transfer: &Transfer) -> (LinearRgb, Option<Plane>) {
    let (w, h) = (image.width() as usize, image.height() as usize);
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => {
            let t = transfer.decode_tables(false);
            let ch = image.color().channel_count() as usize;
            planarize(
                image.as_bytes(),
                w,
                h,
                ch,
                |c, v: u8| t[c][v as usize],
                |v| v as f32 / 255.0,
            )
        }
        DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => {
            let t = transfer.decode_tables(true);
            let ch = image.color().channel_count() as usize;
            let samples: &[u16] = match image {
                DynamicImage::ImageLuma16(b) => b.as_raw(),
                DynamicImage::ImageLumaA16(b) => b.as_raw(),
                DynamicImage::ImageRgb16(b) => b.as_raw(),
                DynamicImage::ImageRgba16(b) => b.as_raw(),
                _ => unreachable!("matched above"),
            };
            planarize(
                samples,
                w,
                h,
                ch,
                |c, v: u16| t[c][v as usize],
                |v| v as f32 / 65535.0,
            )
        }
        // Float data (TIFF) is taken as linear light already; values above 1 are kept (they
        // light the bokeh), negative ones and NaN become 0, +inf becomes 1 ([`float_warnings`]
        // reports each).
        _ => {
            let rgba = image.to_rgba32f();
            let clean = clean_float;
            let has_alpha = image.color().has_alpha();
            let (color, alpha) = planarize(
                rgba.as_raw(),
                w,
                h,
                4,
                |_, v: f32| clean(v),
                |v| clean(v).min(1.0),
            );
            (color, alpha.filter(|_| has_alpha))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian TIFF structure with one IFD entry: orientation `v`.
    fn exif_with_orientation(v: u16) -> Vec<u8> {
        let mut t = b"II".to_vec();
        t.extend(42u16.to_le_bytes());
        t.extend(8u32.to_le_bytes());
        t.extend(1u16.to_le_bytes());
        t.extend(0x0112u16.to_le_bytes());
        t.extend(3u16.to_le_bytes());
        t.extend(1u32.to_le_bytes());
        t.extend(v.to_le_bytes());
        t.extend([0, 0]);
        t.extend(0u32.to_le_bytes());
        t
    }

    #[test]
    fn orientation_pass_reads_warns_and_flags_unreadable_data() {
        let mut warnings = Vec::new();
        assert_eq!(orientation_of(None, &mut warnings), (1, false));
        let six = exif_with_orientation(6);
        assert_eq!(orientation_of(Some(&six), &mut warnings), (6, false));
        assert!(warnings.is_empty(), "{warnings:?}");
        let nine = exif_with_orientation(9);
        assert_eq!(orientation_of(Some(&nine), &mut warnings), (1, false));
        assert_eq!(
            warnings,
            ["EXIF orientation 9 is not a valid value (1–8); treating it as 1 (upright)"]
        );
        warnings.clear();
        assert_eq!(orientation_of(Some(b"not tiff"), &mut warnings), (1, true));
        assert!(
            warnings.len() == 1 && warnings[0].starts_with("unreadable EXIF data ("),
            "{warnings:?}"
        );
    }

    #[test]
    fn header_pass_refuses_too_many_pixels_before_decoding() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(13u32.to_be_bytes());
        png.extend(b"IHDR");
        png.extend(100_000u32.to_be_bytes());
        png.extend(100_000u32.to_be_bytes());
        let path = Path::new("big.png");
        let e = check_before_decoding(path, InputFormat::Png, &png, 1_000_000).unwrap_err();
        assert!(
            matches!(
                e,
                IoError::TooLarge {
                    width: 100_000,
                    height: 100_000,
                    limit: 1_000_000,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(!check_before_decoding(path, InputFormat::Png, &png, u64::MAX).unwrap());
        assert!(!check_before_decoding(path, InputFormat::WebP, b"RIFF", 1).unwrap());
    }

    #[test]
    fn memory_pass_fails_the_photo_not_the_process() {
        let path = Path::new("huge.tif");
        assert!(reserve_pixel_memory(path, (4, 4), 64).is_ok());
        let e = reserve_pixel_memory(path, (1 << 31, 1 << 31), u64::MAX).unwrap_err();
        assert!(matches!(e, IoError::Decode { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("huge.tif: not enough memory to decode 2147483648×2147483648 pixels"),
            "{e}"
        );
    }

    #[test]
    fn jpeg_structure_detects_truncation() {
        // SOI, APP0-ish segment, SOF0 with 3 components, SOS, data with stuffing and RST, EOI.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB];
        j.extend([0xFF, 0xC0, 0x00, 0x0B, 8, 0, 1, 0, 1, 3, 1, 0x11, 0]);
        j.extend([0xFF, 0xDA, 0x00, 0x03, 0x00]);
        j.extend([0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        j.extend([0xFF, 0xD9]);
        assert_eq!(
            check_jpeg_structure(&j),
            Ok(JpegStructure { components: 3 })
        );
        for cut in 4..j.len() - 1 {
            let e = check_jpeg_structure(&j[..cut]).unwrap_err();
            assert!(
                matches!(e, JpegError::Truncated { bytes, .. } if bytes == cut),
                "{cut}: {e}"
            );
            assert!(e.to_string().contains("truncated JPEG"), "{cut}: {e}");
        }
        // Trailing data after EOI (e.g. a motion photo) is fine.
        let mut k = j.clone();
        k.extend(b"trailing video");
        assert!(check_jpeg_structure(&k).is_ok());
    }

    #[test]
    fn unsupported_jpeg_frames_are_named() {
        // SOI, SOF (marker, length 11, precision, 1×1, 1 component), SOS, data, EOI.
        let jpeg = |marker: u8, precision: u8| {
            let mut j = vec![
                0xFF, 0xD8, 0xFF, marker, 0x00, 0x0B, precision, 0, 1, 0, 1, 1,
            ];
            j.extend([1, 0x11, 0, 0xFF, 0xDA, 0x00, 0x03, 0x00, 0x12, 0xFF, 0xD9]);
            j
        };
        for marker in [0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF] {
            let e = check_jpeg_structure(&jpeg(marker, 8)).unwrap_err();
            assert_eq!(e, JpegError::Unsupported("arithmetic coding".into()));
            assert!(
                e.to_string()
                    .starts_with("JPEG not supported (arithmetic coding)"),
                "{e}"
            );
        }
        for marker in [0xC0, 0xC1, 0xC2] {
            let e = check_jpeg_structure(&jpeg(marker, 12)).unwrap_err();
            assert_eq!(e, JpegError::Unsupported("12-bit precision".into()));
            assert!(check_jpeg_structure(&jpeg(marker, 8)).is_ok());
        }
        // The message wins over a truncation later in the file.
        let cut = jpeg(0xC9, 8);
        let e = check_jpeg_structure(&cut[..cut.len() - 4]).unwrap_err();
        assert_eq!(e, JpegError::Unsupported("arithmetic coding".into()));
    }

    #[test]
    fn float_samples_get_defined_values() {
        assert_eq!(clean_float(f32::NAN), 0.0);
        assert_eq!(clean_float(-f32::NAN), 0.0);
        assert_eq!(clean_float(f32::NEG_INFINITY), 0.0);
        assert_eq!(clean_float(f32::INFINITY), 1.0);
        assert_eq!(clean_float(-0.5), 0.0);
        assert_eq!(clean_float(7.25), 7.25);
        let mut img = image::Rgb32FImage::new(3, 1);
        img.put_pixel(0, 0, image::Rgb([f32::NAN, 0.5, 0.5]));
        img.put_pixel(1, 0, image::Rgb([2.0, 9.0, 0.5]));
        img.put_pixel(2, 0, image::Rgb([0.5, -1.0, 0.5]));
        let image = DynamicImage::ImageRgb32F(img);
        let w = float_warnings(&image);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].starts_with("1 pixels have float values above 1.0 (up to 9)"));
        assert!(w[1].starts_with("1 pixels have NaN or infinite"));
        assert!(w[2].starts_with("1 pixels have negative"));
        let (c, _) = to_linear(&image, &Transfer::srgb());
        assert_eq!((c.r()[0], c.g()[1], c.g()[2]), (0.0, 9.0, 0.0));
        assert!(float_warnings(&DynamicImage::new_rgb8(2, 2)).is_empty());
    }

    #[test]
    fn sniff_messages() {
        let p = Path::new("photo.jpg");
        let e = sniff(p, b"").unwrap_err().to_string();
        assert_eq!(
            e,
            "photo.jpg: not a JPEG/PNG/TIFF/WebP image (file is empty)"
        );
        let e = sniff(p, b"hello, I am text\n").unwrap_err().to_string();
        assert!(e.contains("looks like a text file"), "{e}");
        let e = sniff(p, b"GIF89a\x01\x00\x01\x00").unwrap_err().to_string();
        assert!(e.contains("GIF images are not supported"), "{e}");
        let e = sniff(p, &[0u8, 1, 2, 3, 0xfe]).unwrap_err().to_string();
        assert!(e.contains("00 01 02 03 fe"), "{e}");
    }
}

#[cfg(test)]
mod typed_error_tests {
    use super::*;

    fn kind(e: IoError) -> DecodeError {
        match e {
            IoError::Decode { kind, .. } => kind,
            other => panic!("not a decode error: {other:?}"),
        }
    }

    #[test]
    fn decode_errors_have_kinds_and_sources() {
        use std::error::Error as _;
        let p = Path::new("x.jpg");
        assert!(matches!(
            kind(sniff(p, b"").unwrap_err()),
            DecodeError::Empty
        ));
        assert!(matches!(
            kind(sniff(p, b"hello\n").unwrap_err()),
            DecodeError::NotAnImage {
                looks_like_text: true,
                ..
            }
        ));
        match kind(sniff(p, &[0u8, 1, 2, 0xfe]).unwrap_err()) {
            DecodeError::NotAnImage {
                looks_like_text: false,
                head,
            } => assert_eq!(head, "00 01 02 fe"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            kind(sniff(p, b"GIF89a\x01\x00\x01\x00").unwrap_err()),
            DecodeError::Unsupported(f) if f == "GIF"
        ));
        // A folder is no image file; the kind keeps the limits' error as its source.
        let dir = tempfile::tempdir().unwrap();
        let e = read_file(dir.path(), 1_000_000).unwrap_err();
        assert_eq!(e.path(), dir.path());
        let k = kind(e);
        assert!(
            matches!(k, DecodeError::Read(ReadFileError::NotRegular("a folder"))),
            "{k:?}"
        );
        assert!(k.source().is_some());
        // A JPEG cut short: its structure says where, before the decoder runs.
        let mut jpeg = Vec::new();
        image::DynamicImage::new_rgb8(16, 16)
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        let e = decode_image_bytes(p, &jpeg[..jpeg.len() / 2], 1_000_000)
            .err()
            .unwrap();
        let k = kind(e);
        assert!(
            matches!(k, DecodeError::Jpeg(JpegError::Truncated { .. })),
            "{k:?}"
        );
        // A PNG whose data is corrupt: the decoder's error is the source.
        let mut png = Vec::new();
        image::DynamicImage::new_rgb8(16, 16)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let n = png.len();
        png[n - 20..n - 12].fill(0xAB);
        let e = decode_image_bytes(p, &png, 1_000_000).err().unwrap();
        let message = e.to_string();
        match kind(e) {
            DecodeError::Corrupt { format, source } => {
                assert_eq!(format, InputFormat::Png);
                // The message carries the decoder's text once, on one line.
                assert!(message.contains(&one_line(source.to_string())), "{message}");
                assert!(!message.contains('\n'));
            }
            other => panic!("{other:?}"),
        }
    }
}
