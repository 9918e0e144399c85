//! Encoding: linear light → the photo's own transfer curves → 8-bit (dithered) or 16-bit
//! samples → JPEG, PNG or TIFF with the metadata written back, atomically.
//!
//! JPEG is written by [`super::jpeg`]: in parallel strips joined by restart markers, with the
//! standard Huffman tables (or in one pass with optimised tables, see
//! [`EncodeOptions::jpeg_optimize_huffman`]).
//!
//! | format | pixels | ICC | EXIF | XMP |
//! |---|---|---|---|---|
//! | JPEG | 8-bit RGB, alpha dropped | APP2 `ICC_PROFILE` | APP1 `Exif` (≤ 64 KiB) | APP1 XMP (≤ 64 KiB) |
//! | PNG | 8/16-bit RGB or RGBA | `iCCP` | `eXIf` | `iTXt XML:com.adobe.xmp` |
//! | TIFF | 8/16-bit RGB or RGBA, Deflate | tag 34675 | IFD0 descriptive tags + Exif and GPS IFDs (no maker note) | tag 700 |

use std::borrow::Cow;
use std::io::{Cursor, Seek, Write};
use std::path::Path;

use rayon::prelude::*;

use super::atomic::write_atomically;
use super::colour::{DITHER_TILE, EncodeTables, Transfer, decide_icc, dither_tile};
use super::decode::one_line;
use super::jpeg::write_jpeg;
use super::metadata::{RawField, TiffIfd, exif_fields_for_tiff, sanitize_exif, strip_gps};
use super::xmp::{XmpClean, clean_xmp};
use super::{EncodeOptions, IoError, Metadata, StripMetadata};
use crate::scene::{LinearRgb, Plane};

/// Largest EXIF block a JPEG holds: one `APP1` segment (65533 bytes of payload) less the
/// `Exif\0\0` header.
pub(crate) const JPEG_MAX_EXIF_BYTES: usize = 65533 - 6;
/// Largest XMP packet a JPEG holds: one `APP1` segment less the XMP namespace header.
pub(crate) const JPEG_MAX_XMP_BYTES: usize = 65533 - 29;
/// Largest ICC profile a JPEG holds: 254 `APP2` segments of 65519 bytes.
pub(crate) const JPEG_MAX_ICC_BYTES: usize = 254 * 65519;

/// Metadata that could not be written into an output; the photo is written without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeWarning {
    #[error(
        "EXIF data is {bytes} bytes, over the {JPEG_MAX_EXIF_BYTES} a JPEG holds; not written \
         to the output (write a PNG or TIFF to keep it)"
    )]
    ExifTooLargeForJpeg { bytes: usize },
    #[error(
        "XMP data is {bytes} bytes, over the {JPEG_MAX_XMP_BYTES} a JPEG holds; not written \
         to the output (write a PNG or TIFF to keep it)"
    )]
    XmpTooLargeForJpeg { bytes: usize },
    #[error(
        "ICC profile is {bytes} bytes, over the {JPEG_MAX_ICC_BYTES} a JPEG holds; the output \
         is written in sRGB without it (write a PNG or TIFF to keep it)"
    )]
    IccTooLargeForJpeg { bytes: usize },
    #[error("unreadable EXIF data ({0}); not written to the output")]
    ExifUnreadable(String),
    #[error("unreadable XMP data ({0}); not written to the output")]
    XmpUnreadable(String),
}

/// The output formats fstop writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Jpeg,
    Png,
    Tiff,
}

pub(crate) fn encode_err(path: &Path, message: impl Into<String>) -> IoError {
    IoError::Encode {
        path: path.to_path_buf(),
        message: one_line(message.into()),
    }
}

/// The output format chosen by the file extension (case-insensitive).
pub fn output_format(path: &Path) -> Result<OutputFormat, IoError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("jpg" | "jpeg" | "jpe") => Ok(OutputFormat::Jpeg),
        Some("png") => Ok(OutputFormat::Png),
        Some("tif" | "tiff") => Ok(OutputFormat::Tiff),
        Some(other) => Err(encode_err(
            path,
            format!(
                "cannot write '.{other}' files: use a .jpg, .jpeg, .png, .tif or .tiff extension"
            ),
        )),
        None => Err(encode_err(
            path,
            "no file extension to choose the format: use .jpg, .png or .tif",
        )),
    }
}

/// Quantises linear light to interleaved 8-bit samples (3 or 4 channels).
pub fn quantize8(
    color: &LinearRgb,
    alpha: Option<&Plane>,
    tables: &EncodeTables,
    dither: bool,
) -> Vec<u8> {
    let w = color.width();
    let ch = if alpha.is_some() { 4 } else { 3 };
    let mut out = vec![0u8; color.len() * ch];
    let planes = color.channels();
    out.par_chunks_mut(w * ch).enumerate().for_each(|(y, row)| {
        let base = y * w;
        const NO_DITHER: [f32; DITHER_TILE] = [0.0; DITHER_TILE];
        for (c, plane) in planes.iter().enumerate() {
            let table = tables.table(c);
            let src = &plane[base..base + w];
            let noise = if dither {
                let t = (y % DITHER_TILE) * DITHER_TILE;
                &dither_tile(c)[t..t + DITHER_TILE]
            } else {
                &NO_DITHER[..]
            };
            for (x, (px, &v)) in row.chunks_exact_mut(ch).zip(src).enumerate() {
                let e = EncodeTables::encode_with(table, v) * 255.0;
                // `as u8` saturates; `e` is in 0..=255.
                px[c] = (e + noise[x % DITHER_TILE] + 0.5) as u8;
            }
        }
        if let Some(a) = alpha {
            let src = &a.data()[base..base + w];
            for (px, &v) in row.chunks_exact_mut(ch).zip(src) {
                let v = if v > 0.0 { v.min(1.0) } else { 0.0 };
                px[3] = (v * 255.0 + 0.5) as u8;
            }
        }
    });
    out
}

/// Quantises linear light to interleaved 16-bit samples (3 or 4 channels), no dither.
pub fn quantize16(color: &LinearRgb, alpha: Option<&Plane>, tables: &EncodeTables) -> Vec<u16> {
    let w = color.width();
    let ch = if alpha.is_some() { 4 } else { 3 };
    let mut out = vec![0u16; color.len() * ch];
    let planes = color.channels();
    out.par_chunks_mut(w * ch).enumerate().for_each(|(y, row)| {
        let base = y * w;
        for (c, plane) in planes.iter().enumerate() {
            let table = tables.table(c);
            let src = &plane[base..base + w];
            for (px, &v) in row.chunks_exact_mut(ch).zip(src) {
                px[c] = (EncodeTables::encode_with(table, v) * 65535.0 + 0.5) as u16;
            }
        }
        if let Some(a) = alpha {
            let src = &a.data()[base..base + w];
            for (px, &v) in row.chunks_exact_mut(ch).zip(src) {
                let v = if v > 0.0 { v.min(1.0) } else { 0.0 };
                px[3] = (v * 65535.0 + 0.5) as u16;
            }
        }
    });
    out
}

/// Metadata as it will be written: the profile only if it is usable, EXIF and XMP cleaned.
pub(super) struct OutputMetadata {
    pub(super) transfer: Transfer,
    pub(super) icc: Option<Vec<u8>>,
    pub(super) exif: Option<Vec<u8>>,
    pub(super) xmp: Option<Vec<u8>>,
}

/// Metadata as it will be written to `format`, less what `strip` leaves out, and what had to be
/// left out.
fn prepare_metadata(
    metadata: &Metadata,
    format: OutputFormat,
    strip: StripMetadata,
) -> (OutputMetadata, Vec<EncodeWarning>) {
    let mut warnings = Vec::new();
    let jpeg = format == OutputFormat::Jpeg;
    let (transfer, icc) = match &metadata.icc_profile {
        Some(p) if jpeg && p.len() > JPEG_MAX_ICC_BYTES => {
            warnings.push(EncodeWarning::IccTooLargeForJpeg { bytes: p.len() });
            (Transfer::srgb(), None)
        }
        Some(p) if !p.is_empty() => {
            let d = decide_icc(p);
            if let Some(w) = &d.warning {
                tracing::warn!("output ICC profile: {w}");
            }
            (d.transfer, d.keep.then(|| p.clone()))
        }
        _ => (Transfer::srgb(), None),
    };
    let keep = strip != StripMetadata::All;
    let strip_gps_too = strip == StripMetadata::Gps;
    // Defensive: the caller may hand us EXIF that was not read by `read_photo`.
    let exif = metadata
        .exif
        .as_deref()
        .filter(|e| keep && !e.is_empty())
        .and_then(|e| {
            let clean =
                sanitize_exif(e).and_then(|e| if strip_gps_too { strip_gps(&e) } else { Ok(e) });
            match clean {
                Ok(clean) => Some(clean),
                Err(why) => {
                    warnings.push(EncodeWarning::ExifUnreadable(why.to_string()));
                    None
                }
            }
        })
        .filter(|e| {
            let fits = !jpeg || e.len() <= JPEG_MAX_EXIF_BYTES;
            if !fits {
                warnings.push(EncodeWarning::ExifTooLargeForJpeg { bytes: e.len() });
            }
            fits
        });
    let clean = XmpClean {
        strip_gps: strip_gps_too,
    };
    let xmp = metadata
        .xmp
        .as_deref()
        .filter(|x| keep && !x.is_empty())
        .and_then(|x| match clean_xmp(x, clean) {
            Ok(x) => Some(x),
            Err(why) => {
                warnings.push(EncodeWarning::XmpUnreadable(why));
                None
            }
        })
        .filter(|x| {
            let fits = !jpeg || x.len() <= JPEG_MAX_XMP_BYTES;
            if !fits {
                warnings.push(EncodeWarning::XmpTooLargeForJpeg { bytes: x.len() });
            }
            fits
        });
    let meta = OutputMetadata {
        transfer,
        icc,
        exif,
        xmp,
    };
    (meta, warnings)
}

/// Where an encoder writes: a file being written atomically, or memory.
pub(crate) trait WriteSeek: Write + Seek {}
impl<T: Write + Seek> WriteSeek for T {}

/// The encoder for one photo, handed to a sink that gives it somewhere to write.
type Encoder<'a> = dyn FnMut(&mut dyn WriteSeek) -> Result<(), IoError> + 'a;

/// Writes a photo (see [`super::write_photo`]); returns the metadata left out.
pub(crate) fn write_photo(
    path: &Path,
    color: &LinearRgb,
    alpha: Option<&Plane>,
    metadata: &Metadata,
    bits_per_channel: u8,
    options: &EncodeOptions,
) -> Result<Vec<EncodeWarning>, IoError> {
    let format = output_format(path)?;
    let sink = |encode: &mut Encoder<'_>| write_atomically(path, |out| encode(out));
    encode(
        path,
        format,
        color,
        alpha,
        metadata,
        bits_per_channel,
        options,
        sink,
    )
}

/// Encodes a photo into memory (see [`super::encode_photo`]).
pub(crate) fn encode_photo(
    format: OutputFormat,
    color: &LinearRgb,
    alpha: Option<&Plane>,
    metadata: &Metadata,
    bits_per_channel: u8,
    options: &EncodeOptions,
) -> Result<(Vec<u8>, Vec<EncodeWarning>), IoError> {
    let mut buf = Cursor::new(Vec::new());
    let sink = |encode: &mut Encoder<'_>| encode(&mut buf);
    let name = Path::new("-");
    let warnings = encode(
        name,
        format,
        color,
        alpha,
        metadata,
        bits_per_channel,
        options,
        sink,
    )?;
    Ok((buf.into_inner(), warnings))
}

/// Checks, quantises and encodes a photo as `format`, writing through `sink`; `path` names
/// it in messages.
#[allow(clippy::too_many_arguments)]
fn encode(
    path: &Path,
    format: OutputFormat,
    color: &LinearRgb,
    alpha: Option<&Plane>,
    metadata: &Metadata,
    bits_per_channel: u8,
    options: &EncodeOptions,
    sink: impl FnOnce(&mut Encoder<'_>) -> Result<(), IoError>,
) -> Result<Vec<EncodeWarning>, IoError> {
    let (w, h) = (color.width(), color.height());
    if w == 0 || h == 0 {
        return Err(encode_err(
            path,
            format!("image is {w}×{h}: nothing to write"),
        ));
    }
    if [color.r(), color.g(), color.b()]
        .iter()
        .any(|p| p.len() != w * h)
    {
        return Err(encode_err(
            path,
            "internal error: colour planes do not match the image size",
        ));
    }
    if let Some(a) = alpha
        && (a.width() != w || a.height() != h || a.data().len() != w * h)
    {
        return Err(encode_err(
            path,
            format!(
                "alpha is {}×{} but the image is {w}×{h}",
                a.width(),
                a.height()
            ),
        ));
    }
    if u32::try_from(w).is_err() || u32::try_from(h).is_err() {
        return Err(encode_err(path, format!("image is {w}×{h}: too large")));
    }
    let (meta, warnings) = prepare_metadata(metadata, format, options.strip_metadata);
    let tables = meta.transfer.encode_tables();
    let sixteen = bits_per_channel > 8;
    match format {
        OutputFormat::Jpeg => {
            if w > 65535 || h > 65535 {
                return Err(encode_err(
                    path,
                    format!("image is {w}×{h}: JPEG allows at most 65535 pixels per side"),
                ));
            }
            let rgb = quantize8(color, None, &tables, options.dither);
            sink(&mut |out| {
                write_jpeg(
                    &mut &mut *out,
                    &rgb,
                    w as u16,
                    h as u16,
                    &meta,
                    options.jpeg_quality,
                    options.jpeg_optimize_huffman,
                )
                .map_err(|m| encode_err(path, m))
            })?;
        }
        OutputFormat::Png => {
            let data: Cow<[u8]> = if sixteen {
                let s = quantize16(color, alpha, &tables);
                Cow::Owned(s.iter().flat_map(|v| v.to_be_bytes()).collect())
            } else {
                Cow::Owned(quantize8(color, alpha, &tables, options.dither))
            };
            sink(&mut |out| {
                write_png(
                    out,
                    &data,
                    w as u32,
                    h as u32,
                    alpha.is_some(),
                    sixteen,
                    &meta,
                )
                .map_err(|m| encode_err(path, m))
            })?;
        }
        OutputFormat::Tiff => {
            let samples = if sixteen {
                TiffSamples::U16(quantize16(color, alpha, &tables))
            } else {
                TiffSamples::U8(quantize8(color, alpha, &tables, options.dither))
            };
            sink(&mut |out| {
                write_tiff(out, &samples, w as u32, h as u32, alpha.is_some(), &meta)
                    .map_err(|m| encode_err(path, m))
            })?;
        }
    }
    Ok(warnings)
}

fn write_png(
    out: &mut dyn WriteSeek,
    data: &[u8],
    w: u32,
    h: u32,
    has_alpha: bool,
    sixteen: bool,
    meta: &OutputMetadata,
) -> Result<(), String> {
    let mut info = png::Info::with_size(w, h);
    info.color_type = if has_alpha {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    };
    info.bit_depth = if sixteen {
        png::BitDepth::Sixteen
    } else {
        png::BitDepth::Eight
    };
    info.icc_profile = meta.icc.as_deref().map(Cow::Borrowed);
    info.exif_metadata = meta.exif.as_deref().map(Cow::Borrowed);
    let err = |e: png::EncodingError| format!("PNG encoding failed: {e}");
    let mut enc = png::Encoder::with_info(out, info).map_err(err)?;
    enc.set_compression(png::Compression::Fast);
    // Non-UTF-8 XMP was left out by `prepare_metadata`, with a warning.
    if let Some(text) = meta
        .xmp
        .as_deref()
        .and_then(|x| std::str::from_utf8(x).ok())
    {
        enc.add_itxt_chunk("XML:com.adobe.xmp".into(), text.into())
            .map_err(err)?;
    }
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(data).map_err(err)?;
    writer.finish().map_err(err)
}

enum TiffSamples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

fn write_tiff(
    out: &mut dyn WriteSeek,
    samples: &TiffSamples,
    w: u32,
    h: u32,
    has_alpha: bool,
    meta: &OutputMetadata,
) -> Result<(), String> {
    use tiff::encoder::colortype::{RGB8, RGB16, RGBA8, RGBA16};
    use tiff::encoder::{Compression, DeflateLevel, Predictor, TiffEncoder};
    use tiff::tags::{Tag, Type};

    let err = |e: tiff::TiffError| format!("TIFF encoding failed: {e}");
    let mut enc = TiffEncoder::new(out)
        .map_err(err)?
        .with_compression(Compression::Deflate(DeflateLevel::Fast))
        .with_predictor(Predictor::Horizontal);

    // The encoder writes values in native byte order; our EXIF values are little-endian.
    let fields: Vec<RawField> = if cfg!(target_endian = "little") {
        meta.exif
            .as_deref()
            .map(exif_fields_for_tiff)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let sub_ifd = |enc: &mut TiffEncoder<_>, which: TiffIfd| -> Result<Option<u32>, String> {
        let list: Vec<&RawField> = fields.iter().filter(|f| f.ifd == which).collect();
        if list.is_empty() {
            return Ok(None);
        }
        let mut dir = enc.extra_directory().map_err(err)?;
        for f in list {
            let entry = dir
                .write_entry_bytes(
                    Type::from_u16(f.typ).unwrap_or(Type::UNDEFINED),
                    &f.le_bytes,
                )
                .map_err(err)?;
            dir.extend_from(&tiff::Directory::from_iter([(
                Tag::from_u16_exhaustive(f.tag),
                entry,
            )]));
        }
        let offset = dir.finish_with_offsets().map_err(err)?;
        Ok(Some(offset.offset))
    };
    let exif_ifd = sub_ifd(&mut enc, TiffIfd::Exif)?;
    let gps_ifd = sub_ifd(&mut enc, TiffIfd::Gps)?;

    macro_rules! write_image {
        ($ct:ty, $data:expr) => {{
            let mut image = enc.new_image::<$ct>(w, h).map_err(err)?;
            {
                let dir = image.encoder();
                if has_alpha {
                    // Unassociated (straight) alpha.
                    dir.write_tag(Tag::ExtraSamples, &[2u16][..]).map_err(err)?;
                }
                for f in fields.iter().filter(|f| f.ifd == TiffIfd::Primary) {
                    let entry = dir
                        .write_entry_bytes(
                            Type::from_u16(f.typ).unwrap_or(Type::UNDEFINED),
                            &f.le_bytes,
                        )
                        .map_err(err)?;
                    dir.extend_from(&tiff::Directory::from_iter([(
                        Tag::from_u16_exhaustive(f.tag),
                        entry,
                    )]));
                }
                dir.write_tag(Tag::Orientation, 1u16).map_err(err)?;
                if let Some(o) = exif_ifd {
                    dir.write_tag(Tag::ExifDirectory, o).map_err(err)?;
                }
                if let Some(o) = gps_ifd {
                    dir.write_tag(Tag::GpsDirectory, o).map_err(err)?;
                }
                if let Some(icc) = &meta.icc {
                    let entry = dir.write_entry_bytes(Type::UNDEFINED, icc).map_err(err)?;
                    dir.extend_from(&tiff::Directory::from_iter([(Tag::IccProfile, entry)]));
                }
                if let Some(xmp) = &meta.xmp {
                    dir.write_tag(Tag::Unknown(700), &xmp[..]).map_err(err)?;
                }
            }
            image.write_data($data).map_err(err)
        }};
    }
    match (samples, has_alpha) {
        (TiffSamples::U8(d), false) => write_image!(RGB8, d),
        (TiffSamples::U8(d), true) => write_image!(RGBA8, d),
        (TiffSamples::U16(d), false) => write_image!(RGB16, d),
        (TiffSamples::U16(d), true) => write_image!(RGBA16, d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::metadata::tests::build_exif;

    #[test]
    fn metadata_a_jpeg_cannot_hold_is_left_out_with_a_warning() {
        let mut exif = build_exif(true, 1, "Ada", false);
        exif.resize(JPEG_MAX_EXIF_BYTES + 1, 0);
        let meta = Metadata {
            icc_profile: Some(vec![0; JPEG_MAX_ICC_BYTES + 1]),
            exif: Some(exif.clone()),
            xmp: Some(vec![b'x'; JPEG_MAX_XMP_BYTES + 1]),
        };
        let (out, warnings) = prepare_metadata(&meta, OutputFormat::Jpeg, StripMetadata::None);
        assert_eq!((out.icc, out.exif, out.xmp), (None, None, None));
        assert_eq!(
            warnings,
            [
                EncodeWarning::IccTooLargeForJpeg {
                    bytes: JPEG_MAX_ICC_BYTES + 1
                },
                EncodeWarning::ExifTooLargeForJpeg {
                    bytes: JPEG_MAX_EXIF_BYTES + 1
                },
                EncodeWarning::XmpTooLargeForJpeg {
                    bytes: JPEG_MAX_XMP_BYTES + 1
                },
            ]
        );
        // At the limit everything fits.
        exif.truncate(JPEG_MAX_EXIF_BYTES);
        let meta = Metadata {
            icc_profile: None,
            exif: Some(exif),
            xmp: Some(vec![b'x'; JPEG_MAX_XMP_BYTES]),
        };
        let (out, warnings) = prepare_metadata(&meta, OutputFormat::Jpeg, StripMetadata::None);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(out.exif.is_some() && out.xmp.is_some());
        // PNG holds any size but only UTF-8 XMP.
        let meta = Metadata {
            icc_profile: None,
            exif: Some(vec![0; 10]),
            xmp: Some(vec![0xFF, 0xFE]),
        };
        let (out, warnings) = prepare_metadata(&meta, OutputFormat::Png, StripMetadata::None);
        assert_eq!(out.xmp, None);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(matches!(warnings[0], EncodeWarning::ExifUnreadable(_)));
        assert_eq!(
            warnings[1].to_string(),
            "unreadable XMP data (not UTF-8); not written to the output"
        );
    }

    /// EXIF with Artist, Orientation and a GPS directory (latitude, longitude), as kamadak-exif
    /// writes it.
    pub(crate) fn exif_with_gps(little_endian: bool) -> Vec<u8> {
        use exif::{Field, In, Rational, Tag, Value};
        let dms = |d: u32, m: u32, s: u32| {
            Value::Rational(vec![
                Rational::from((d, 1)),
                Rational::from((m, 1)),
                Rational::from((s, 100)),
            ])
        };
        let fields = [
            Field {
                tag: Tag::Artist,
                ifd_num: In::PRIMARY,
                value: Value::Ascii(vec![b"Ada Lovelace".to_vec()]),
            },
            Field {
                tag: Tag::Orientation,
                ifd_num: In::PRIMARY,
                value: Value::Short(vec![6]),
            },
            Field {
                tag: Tag::GPSLatitudeRef,
                ifd_num: In::PRIMARY,
                value: Value::Ascii(vec![b"N".to_vec()]),
            },
            Field {
                tag: Tag::GPSLatitude,
                ifd_num: In::PRIMARY,
                value: dms(51, 30, 2637),
            },
            Field {
                tag: Tag::GPSLongitude,
                ifd_num: In::PRIMARY,
                value: dms(0, 7, 3921),
            },
        ];
        let mut writer = exif::experimental::Writer::new();
        for f in &fields {
            writer.push_field(f);
        }
        let mut out = std::io::Cursor::new(Vec::new());
        writer.write(&mut out, little_endian).unwrap();
        out.into_inner()
    }

    #[test]
    fn strip_metadata_gps_and_all() {
        const XMP: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.44N" exif:ExposureTime="1/125"/></rdf:RDF></x:xmpmeta>"#;
        for le in [true, false] {
            let meta = Metadata {
                icc_profile: None,
                exif: Some(exif_with_gps(le)),
                xmp: Some(XMP.as_bytes().to_vec()),
            };
            let gps_fields = |exif: &[u8]| {
                let parsed = exif::Reader::new().read_raw(exif.to_vec()).unwrap();
                let n = parsed
                    .fields()
                    .filter(|f| f.tag.context() == exif::Context::Gps)
                    .count();
                let artist = parsed
                    .get_field(exif::Tag::Artist, exif::In::PRIMARY)
                    .map(|f| f.display_value().to_string());
                (n, artist)
            };
            let (kept, warnings) = prepare_metadata(&meta, OutputFormat::Jpeg, StripMetadata::None);
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(
                gps_fields(kept.exif.as_ref().unwrap()),
                (3, Some("\"Ada Lovelace\"".into()))
            );
            assert!(
                String::from_utf8(kept.xmp.unwrap())
                    .unwrap()
                    .contains("GPSLatitude")
            );

            let (gps, warnings) = prepare_metadata(&meta, OutputFormat::Tiff, StripMetadata::Gps);
            assert!(warnings.is_empty(), "{warnings:?}");
            let exif = gps.exif.unwrap();
            assert_eq!(gps_fields(&exif), (0, Some("\"Ada Lovelace\"".into())));
            assert!(
                !exif
                    .windows(4)
                    .any(|w| w == 2637u32.to_le_bytes() || w == 2637u32.to_be_bytes())
            );
            assert!(
                exif_fields_for_tiff(&exif)
                    .iter()
                    .all(|f| f.ifd != TiffIfd::Gps)
            );
            let xmp = String::from_utf8(gps.xmp.unwrap()).unwrap();
            assert!(
                !xmp.contains("GPS") && xmp.contains(r#"exif:ExposureTime="1/125""#),
                "{xmp}"
            );

            let icc = moxcms::ColorProfile::new_display_p3().encode().unwrap();
            let meta = Metadata {
                icc_profile: Some(icc.clone()),
                ..meta
            };
            let (all, warnings) = prepare_metadata(&meta, OutputFormat::Png, StripMetadata::All);
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!((all.exif, all.xmp), (None, None));
            assert_eq!(all.icc, Some(icc));
        }
    }
}
