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

use super::colour::{Transfer, decide_icc};
use super::metadata::{
    exif_from_tiff_file, exif_orientation, sanitize_exif, sanitize_xmp, strip_exif_prefix,
};
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

pub(crate) fn decode_err(path: &Path, message: impl Into<String>) -> IoError {
    IoError::Decode {
        path: path.to_path_buf(),
        message: one_line(message.into()),
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

/// Reads a whole input file, naming it on failure.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, IoError> {
    if path.is_dir() {
        return Err(decode_err(path, "is a folder, not a file"));
    }
    std::fs::read(path).map_err(|source| IoError::Os {
        path: path.to_path_buf(),
        action: "cannot read".into(),
        source,
    })
}

/// Identifies the format from the content (never from the extension).
pub fn sniff(path: &Path, bytes: &[u8]) -> Result<InputFormat, IoError> {
    if bytes.is_empty() {
        return Err(decode_err(path, format!("{NOT_AN_IMAGE} (file is empty)")));
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(InputFormat::Jpeg),
        Ok(ImageFormat::Png) => Ok(InputFormat::Png),
        Ok(ImageFormat::Tiff) => Ok(InputFormat::Tiff),
        Ok(ImageFormat::WebP) => Ok(InputFormat::WebP),
        Ok(other) => Err(decode_err(
            path,
            format!(
                "{} images are not supported (fstop reads JPEG, PNG, TIFF and WebP)",
                other
                    .extensions_str()
                    .first()
                    .unwrap_or(&"this kind of")
                    .to_uppercase()
            ),
        )),
        Err(_) => {
            let head = &bytes[..bytes.len().min(512)];
            let texty = std::str::from_utf8(head).is_ok_and(|s| {
                s.chars()
                    .all(|c| !c.is_control() || c.is_ascii_whitespace())
            });
            let why = if texty {
                "it looks like a text file".to_string()
            } else {
                let hex: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
                format!("unrecognised content starting with {}", hex.join(" "))
            };
            Err(decode_err(path, format!("{NOT_AN_IMAGE} ({why})")))
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
pub fn check_jpeg_structure(bytes: &[u8]) -> Result<JpegStructure, String> {
    let truncated = |what: &str| {
        format!(
            "truncated JPEG ({what}; the file ends after {} bytes)",
            bytes.len()
        )
    };
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err("not a JPEG (no start-of-image marker)".into());
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
                    return Err("corrupt JPEG (end-of-image marker before any image data)".into());
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
            format!("image is {w}×{h}: it has no pixels"),
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
    /// Sanitised XMP.
    pub xmp: Option<Vec<u8>>,
    /// True for a CMYK/YCCK JPEG (converted to RGB by the decoder).
    pub cmyk: bool,
    pub warnings: Vec<String>,
}

/// Decodes an image file: sniff, limit check on the header, decode, orientation.
pub(crate) fn decode_image(path: &Path, max_pixels: u64) -> Result<DecodedImage, IoError> {
    let bytes = read_file(path)?;
    decode_image_bytes(path, &bytes, max_pixels)
}

/// [`decode_image`] on the file's bytes, already read (`path` only names it in messages).
pub(crate) fn decode_image_bytes(
    path: &Path,
    bytes: &[u8],
    max_pixels: u64,
) -> Result<DecodedImage, IoError> {
    let format = sniff(path, bytes)?;
    let mut warnings = Vec::new();
    let mut cmyk = false;
    match format {
        InputFormat::Jpeg => {
            let s = check_jpeg_structure(bytes).map_err(|m| decode_err(path, m))?;
            cmyk = s.components == 4;
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
        _ => {}
    }
    let corrupt = |e: image::ImageError| {
        decode_err(
            path,
            format!("corrupt or truncated {} data ({e})", format.name()),
        )
    };
    let cursor = Cursor::new(bytes);
    let mut decoder: Box<dyn ImageDecoder + '_> = match format {
        InputFormat::Jpeg => Box::new(JpegDecoder::new(cursor).map_err(corrupt)?),
        InputFormat::Png => Box::new(PngDecoder::new(cursor).map_err(corrupt)?),
        InputFormat::Tiff => Box::new(TiffDecoder::new(cursor).map_err(corrupt)?),
        InputFormat::WebP => Box::new(WebPDecoder::new(cursor).map_err(corrupt)?),
    };
    let (w, h) = decoder.dimensions();
    check_pixels(path, w, h, max_pixels)?;

    let mut meta_warn = |what: &str, e: image::ImageError| {
        warnings.push(one_line(format!(
            "could not read the {what} ({e}); ignored"
        )));
    };
    let icc_profile = decoder
        .icc_profile()
        .unwrap_or_else(|e| {
            meta_warn("ICC profile", e);
            None
        })
        .filter(|p| !p.is_empty());
    let raw_exif = if format == InputFormat::Tiff {
        None
    } else {
        decoder.exif_metadata().unwrap_or_else(|e| {
            meta_warn("EXIF data", e);
            None
        })
    };
    let raw_xmp = decoder.xmp_metadata().unwrap_or_else(|e| {
        meta_warn("XMP data", e);
        None
    });
    // Limits last: image's TIFF decoder forgets its tags once limits are set.
    let mut limits = image::Limits::no_limits();
    // Room for the decoded buffer (up to 4 channels × 4 bytes) plus decoder working memory.
    limits.max_alloc = Some(u64::from(w) * u64::from(h) * 16 + (256 << 20));
    decoder.set_limits(limits).map_err(corrupt)?;
    // The decoder allocates the whole pixel buffer up front, and a failed allocation aborts
    // the process (every photo of a batch with it). Ask for the memory first, fallibly, so a
    // header that claims more than this machine has (possible when --max-pixels is raised)
    // fails this one photo instead.
    let need = decoder.total_bytes();
    let fits = usize::try_from(need).is_ok_and(|n| Vec::<u8>::new().try_reserve_exact(n).is_ok());
    if !fits {
        return Err(decode_err(
            path,
            format!(
                "not enough memory to decode {w}×{h} pixels ({} MiB)",
                need.div_ceil(1 << 20)
            ),
        ));
    }
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;

    // Orientation: from the EXIF block, or for a TIFF from the file's own first directory.
    let orientation_source: Option<&[u8]> = match format {
        InputFormat::Tiff => Some(bytes),
        _ => raw_exif.as_deref().map(strip_exif_prefix),
    };
    let mut orientation = 1u32;
    if let Some(src) = orientation_source {
        match exif_orientation(src) {
            Ok(Some(v @ 1..=8)) => orientation = v,
            Ok(Some(v)) => warnings.push(format!(
                "EXIF orientation {v} is not a valid value (1–8); treating it as 1 (upright)"
            )),
            Ok(None) => {}
            Err(e) => warnings.push(format!("unreadable EXIF data ({e}); ignored")),
        }
    }
    if orientation != 1
        && let Some(o) = image::metadata::Orientation::from_exif(orientation as u8)
    {
        image.apply_orientation(o);
    }

    let exif = match format {
        InputFormat::Tiff => exif_from_tiff_file(bytes),
        _ => raw_exif.and_then(|e| match sanitize_exif(&e) {
            Ok(clean) => Some(clean),
            Err(why) => {
                if !warnings.iter().any(|w| w.starts_with("unreadable EXIF")) {
                    warnings.push(format!("unreadable EXIF data ({why}); not written back"));
                }
                None
            }
        }),
    };
    let xmp = raw_xmp.filter(|x| !x.is_empty()).map(|x| sanitize_xmp(&x));
    Ok(DecodedImage {
        image,
        icc_profile,
        exif,
        xmp,
        cmyk,
        warnings,
    })
}

/// Reads a photo (see [`super::read_photo`]).
pub(crate) fn read_photo(path: &Path, options: &DecodeOptions) -> Result<Photo, IoError> {
    let decoded = decode_image(path, options.max_pixels)?;
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
        let LinearRgb { r, g, b, .. } = &mut img;
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
        // Float data (TIFF) is taken as linear light already.
        _ => {
            let rgba = image.to_rgba32f();
            let clean = |v: f32| if v.is_finite() { v.max(0.0) } else { 0.0 };
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
            assert!(e.contains("truncated JPEG"), "{cut}: {e}");
        }
        // Trailing data after EOI (e.g. a motion photo) is fine.
        let mut k = j.clone();
        k.extend(b"trailing video");
        assert!(check_jpeg_structure(&k).is_ok());
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
