//! Metadata read with a bound ([`super::limits`] has the table): before a decoder sees a
//! photo's bytes, the containers are walked and every metadata block over its limit is cut
//! out (PNG chunks, JPEG `APP2` ICC segments) or not read at all (WebP chunks and TIFF tags
//! are taken straight from the file's bytes here), each with a warning. Compressed blocks (a
//! PNG's `iCCP`, an `iTXt` holding XMP) are inflated with the bound, so a profile that
//! inflates to gigabytes costs at most the bound in memory and time.

use std::borrow::Cow;
use std::ops::Range;

use super::limits::{MAX_EXIF_BYTES, MAX_ICC_BYTES, MAX_XMP_BYTES};

/// A photo's bytes with over-limit metadata removed, and what was removed.
pub(crate) struct Guarded<'a> {
    pub bytes: Cow<'a, [u8]>,
    pub warnings: Vec<String>,
}

fn mib(limit: usize) -> String {
    format!("{} MiB", limit >> 20)
}

/// "ICC profile is 20000000 bytes, over the 16 MiB limit; ignored".
pub(crate) fn over_limit(what: &str, bytes: usize, limit: usize) -> String {
    format!(
        "{what} is {bytes} bytes, over the {} limit; ignored",
        mib(limit)
    )
}

/// "ICC profile inflates to more than the 16 MiB limit; ignored".
fn inflates_over(what: &str, limit: usize) -> String {
    format!(
        "{what} inflates to more than the {} limit; ignored",
        mib(limit)
    )
}

/// Drops `data` with a warning when it is over `limit` bytes (the check after a decoder's own
/// bounded read).
pub(crate) fn bounded(
    what: &str,
    data: Option<Vec<u8>>,
    limit: usize,
    warnings: &mut Vec<String>,
) -> Option<Vec<u8>> {
    match data {
        Some(d) if d.len() > limit => {
            warnings.push(over_limit(what, d.len(), limit));
            None
        }
        other => other,
    }
}

/// How a zlib stream inflates, within `limit` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Inflated {
    Within,
    OverLimit,
    Corrupt,
}

fn inflate_within(zlib: &[u8], limit: usize) -> Inflated {
    match fdeflate::decompress_to_vec_bounded(zlib, limit) {
        Ok(_) => Inflated::Within,
        Err(fdeflate::BoundedDecompressionError::OutputTooLarge { .. }) => Inflated::OverLimit,
        Err(_) => Inflated::Corrupt,
    }
}

/// Removes the byte ranges `cut` (sorted, not overlapping) from `bytes`.
fn without(bytes: &[u8], cut: &[Range<usize>]) -> Cow<'static, [u8]> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for r in cut {
        out.extend_from_slice(&bytes[at..r.start]);
        at = r.end;
    }
    out.extend_from_slice(&bytes[at..]);
    Cow::Owned(out)
}

/// PNG: `iCCP` chunks whose profile inflates past [`MAX_ICC_BYTES`], `eXIf` chunks over
/// [`MAX_EXIF_BYTES`] and XMP `iTXt` chunks over [`MAX_XMP_BYTES`] (inflated) are cut out.
pub(crate) fn guard_png(bytes: &[u8]) -> Guarded<'_> {
    let mut cut = Vec::new();
    let mut warnings = Vec::new();
    let mut pos = 8; // signature
    while let Some(head) = bytes.get(pos..pos + 8) {
        let len = u32::from_be_bytes(head[0..4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = head[4..8].try_into().unwrap();
        let Some(end) = pos.checked_add(12).and_then(|e| e.checked_add(len)) else {
            break;
        };
        let Some(data) = bytes.get(pos + 8..pos + 8 + len) else {
            break; // truncated: the decoder reports it
        };
        let drop = match &kind {
            b"iCCP" => png_iccp_over_limit(data),
            b"eXIf" if len > MAX_EXIF_BYTES => Some(over_limit("EXIF data", len, MAX_EXIF_BYTES)),
            b"iTXt" => png_xmp_over_limit(data),
            b"IEND" => break,
            _ => None,
        };
        if let Some(w) = drop {
            warnings.push(w);
            cut.push(pos..end.min(bytes.len()));
        }
        pos = end;
    }
    Guarded {
        bytes: if cut.is_empty() {
            Cow::Borrowed(bytes)
        } else {
            without(bytes, &cut)
        },
        warnings,
    }
}

/// An `iCCP` chunk: name, NUL, method, zlib data.
fn png_iccp_over_limit(data: &[u8]) -> Option<String> {
    let nul = data.iter().take(81).position(|&b| b == 0)?;
    let zlib = data.get(nul + 2..)?;
    (inflate_within(zlib, MAX_ICC_BYTES) == Inflated::OverLimit)
        .then(|| inflates_over("ICC profile", MAX_ICC_BYTES))
}

/// An `iTXt` chunk holding XMP: keyword, NUL, flag, method, language, NUL, translated keyword,
/// NUL, text (zlib when the flag is 1).
fn png_xmp_over_limit(data: &[u8]) -> Option<String> {
    let rest = data.strip_prefix(b"XML:com.adobe.xmp\0")?;
    let (&flag, rest) = rest.split_first()?;
    let rest = rest.get(1..)?; // method
    let lang_end = rest.iter().position(|&b| b == 0)?;
    let rest = &rest[lang_end + 1..];
    let tr_end = rest.iter().position(|&b| b == 0)?;
    let text = &rest[tr_end + 1..];
    if flag == 1 {
        (inflate_within(text, MAX_XMP_BYTES) == Inflated::OverLimit)
            .then(|| inflates_over("XMP data", MAX_XMP_BYTES))
    } else {
        (text.len() > MAX_XMP_BYTES).then(|| over_limit("XMP data", text.len(), MAX_XMP_BYTES))
    }
}

/// The ICC profile header of a JPEG `APP2` segment.
const JPEG_ICC_HEADER: &[u8] = b"ICC_PROFILE\0";
/// A JPEG ICC profile is numbered in at most 255 segments; decoders take at most 254.
const JPEG_MAX_ICC_SEGMENTS: usize = 254;

/// JPEG: when the ICC profile's `APP2` segments add up to more than [`MAX_ICC_BYTES`] or
/// number more than 254, they are all cut out. (One `APP1` EXIF or XMP segment holds at most
/// 64 KiB, so those are bounded by the format.)
pub(crate) fn guard_jpeg(bytes: &[u8]) -> Guarded<'_> {
    let mut segments = Vec::new();
    let mut total = 0usize;
    let mut pos = 2; // SOI
    while let Some(&[0xFF, marker, hi, lo]) = bytes.get(pos..pos + 4) {
        if marker == 0xFF {
            pos += 1; // fill byte
            continue;
        }
        if matches!(marker, 0xDA | 0xD9) || (0xD0..=0xD8).contains(&marker) {
            break; // image data from here: no more header segments
        }
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let end = pos + 2 + len;
        if len < 2 || end > bytes.len() {
            break; // the structure check reports it
        }
        let body = &bytes[pos + 4..end];
        if marker == 0xE2 && body.starts_with(JPEG_ICC_HEADER) {
            total += body.len().saturating_sub(JPEG_ICC_HEADER.len() + 2);
            segments.push(pos..end);
        }
        pos = end;
    }
    let mut warnings = Vec::new();
    let cut = total > MAX_ICC_BYTES || segments.len() > JPEG_MAX_ICC_SEGMENTS;
    if cut {
        warnings.push(format!(
            "ICC profile in {} segments of {total} bytes is over the limit ({} segments, {}); ignored",
            segments.len(),
            JPEG_MAX_ICC_SEGMENTS,
            mib(MAX_ICC_BYTES)
        ));
    }
    Guarded {
        bytes: if cut {
            without(bytes, &segments)
        } else {
            Cow::Borrowed(bytes)
        },
        warnings,
    }
}

/// Metadata taken straight from a file's bytes, bounded.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct RawMetadata {
    pub icc: Option<Vec<u8>>,
    pub exif: Option<Vec<u8>>,
    pub xmp: Option<Vec<u8>>,
    pub warnings: Vec<String>,
}

impl RawMetadata {
    /// Copies `data` in unless it is over `limit` (then a warning).
    fn take(&mut self, what: &str, data: Option<&[u8]>, limit: usize) -> Option<Vec<u8>> {
        let data = data.filter(|d| !d.is_empty())?;
        if data.len() > limit {
            self.warnings.push(over_limit(what, data.len(), limit));
            return None;
        }
        Some(data.to_vec())
    }
}

/// WebP: the `ICCP`, `EXIF` and `XMP ` chunks of the RIFF container, each copied only when
/// within its limit. A chunk that runs past the end of the file is ignored with a warning.
pub(crate) fn webp_metadata(bytes: &[u8]) -> RawMetadata {
    let mut found: [Option<&[u8]>; 3] = [None; 3];
    let mut meta = RawMetadata::default();
    let mut pos = 12; // "RIFF", size, "WEBP"
    while let Some(head) = bytes.get(pos..pos + 8) {
        let kind: [u8; 4] = head[0..4].try_into().unwrap();
        let len = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
        let slot = match &kind {
            b"ICCP" => Some((0, "ICC profile")),
            b"EXIF" => Some((1, "EXIF data")),
            b"XMP " => Some((2, "XMP data")),
            _ => None,
        };
        let data = bytes.get(pos + 8..).and_then(|rest| rest.get(..len));
        match (slot, data) {
            (Some((i, _)), Some(d)) if found[i].is_none() => found[i] = Some(d),
            (Some((_, what)), None) => meta.warnings.push(format!(
                "{what} chunk claims {len} bytes, past the end of the file; ignored"
            )),
            _ => {}
        }
        let Some(d) = data else { break };
        pos += 8 + d.len() + (d.len() & 1);
    }
    meta.icc = meta.take("ICC profile", found[0], MAX_ICC_BYTES);
    meta.exif = meta.take("EXIF data", found[1], MAX_EXIF_BYTES);
    meta.xmp = meta.take("XMP data", found[2], MAX_XMP_BYTES);
    meta
}

/// TIFF: the ICC profile (tag 34675) and XMP (tag 700) of the first directory, each copied
/// only when within its limit; `None` for a file this reader does not walk (BigTIFF: the
/// decoder's own reading applies, which the `tiff` crate bounds at 1 MiB a value). (EXIF is
/// built from the file's own tags, see [`super::metadata::exif_from_tiff_file`].)
pub(crate) fn tiff_metadata(bytes: &[u8]) -> Option<RawMetadata> {
    if !(bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*")) {
        return None;
    }
    let mut meta = RawMetadata::default();
    for (tag, what, limit) in [
        (34675u16, "ICC profile", MAX_ICC_BYTES),
        (700, "XMP data", MAX_XMP_BYTES),
    ] {
        let value = match super::metadata::tiff_ifd0_value(bytes, tag) {
            Ok(v) => v,
            Err(len) => {
                meta.warnings.push(format!(
                    "{what} tag claims {len} bytes, past the end of the file; ignored"
                ));
                None
            }
        };
        let kept = meta.take(what, value, limit);
        match tag {
            34675 => meta.icc = kept,
            _ => meta.xmp = kept,
        }
    }
    Some(meta)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    pub(crate) use crate::synthetic::zlib_zeros;

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        // The CRC is not checked here (the decoder checks it; these tests do not decode).
        c.extend_from_slice(&[0; 4]);
        c
    }

    #[test]
    fn zlib_zeros_inflates_to_exactly_n_zeros() {
        for n in [0u64, 1, 2, 257, 258, 259, 1000, 100_000] {
            let z = zlib_zeros(n);
            let out = fdeflate::decompress_to_vec(&z).unwrap();
            assert_eq!(out.len() as u64, n);
            assert!(out.iter().all(|&b| b == 0));
        }
        // 1 GiB in under 7 MB.
        assert!(zlib_zeros(1 << 30).len() < 7_000_000);
    }

    #[test]
    fn png_icc_bomb_is_cut_out_quickly() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]));
        let mut iccp = b"bomb\0\0".to_vec();
        iccp.extend(zlib_zeros(1 << 30));
        png.extend(png_chunk(b"iCCP", &iccp));
        let idat_at = png.len();
        png.extend(png_chunk(b"IDAT", &[1, 2, 3]));
        let g = guard_png(&png);
        assert_eq!(
            g.warnings,
            ["ICC profile inflates to more than the 16 MiB limit; ignored"]
        );
        assert_eq!(&g.bytes[..33], &png[..33], "signature and IHDR kept");
        assert_eq!(&g.bytes[33..], &png[idat_at..], "iCCP cut out, IDAT kept");
        // A profile within the limit is left alone.
        let mut ok = png[..33].to_vec();
        let mut iccp = b"fine\0\0".to_vec();
        iccp.extend(zlib_zeros(MAX_ICC_BYTES as u64));
        ok.extend(png_chunk(b"iCCP", &iccp));
        let g = guard_png(&ok);
        assert!(g.warnings.is_empty());
        assert!(matches!(g.bytes, Cow::Borrowed(_)));
    }

    #[test]
    fn png_exif_and_xmp_over_their_limits_are_cut_out() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(png_chunk(b"eXIf", &vec![0; MAX_EXIF_BYTES + 1]));
        let mut itxt = b"XML:com.adobe.xmp\0\x01\0\0\0".to_vec();
        itxt.extend(zlib_zeros(MAX_XMP_BYTES as u64 + 1));
        png.extend(png_chunk(b"iTXt", &itxt));
        let mut other = b"Comment\0\x01\0\0\0".to_vec();
        other.extend(zlib_zeros(1 << 30)); // never inflated by anyone: kept
        png.extend(png_chunk(b"iTXt", &other));
        let g = guard_png(&png);
        assert_eq!(
            g.warnings,
            [
                format!(
                    "EXIF data is {} bytes, over the 1 MiB limit; ignored",
                    MAX_EXIF_BYTES + 1
                ),
                "XMP data inflates to more than the 2 MiB limit; ignored".to_string()
            ]
        );
        assert_eq!(g.bytes.len(), 8 + 12 + other.len());
    }

    fn jpeg_with_icc_segments(count: usize, size: usize) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        for i in 0..count {
            let mut body = JPEG_ICC_HEADER.to_vec();
            body.push((i + 1) as u8);
            body.push(count as u8);
            body.resize(size, 7);
            j.extend([0xFF, 0xE2]);
            j.extend(((body.len() + 2) as u16).to_be_bytes());
            j.extend(body);
        }
        j.extend([0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
        j
    }

    #[test]
    fn jpeg_icc_over_254_segments_is_cut_out() {
        let ok = jpeg_with_icc_segments(254, 65533);
        let g = guard_jpeg(&ok);
        assert!(g.warnings.is_empty(), "{:?}", g.warnings);
        let bad = jpeg_with_icc_segments(300, 65533);
        let g = guard_jpeg(&bad);
        assert_eq!(g.warnings.len(), 1);
        assert!(g.warnings[0].contains("300 segments"), "{}", g.warnings[0]);
        assert_eq!(&g.bytes[..], &[0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
    }

    fn tiff_with_icc(icc: &[u8]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        let mut image = enc
            .new_image::<tiff::encoder::colortype::RGB8>(2, 2)
            .unwrap();
        image
            .encoder()
            .write_tag(tiff::tags::Tag::IccProfile, icc)
            .unwrap();
        image.write_data(&[0u8; 12]).unwrap();
        out.into_inner()
    }

    #[test]
    fn tiff_icc_is_bounded() {
        let m = tiff_metadata(&tiff_with_icc(b"small profile")).unwrap();
        assert_eq!(m.icc.as_deref(), Some(&b"small profile"[..]));
        assert!(m.warnings.is_empty());
        let m = tiff_metadata(&tiff_with_icc(&vec![1; MAX_ICC_BYTES + 1])).unwrap();
        assert_eq!(m.icc, None);
        assert_eq!(
            m.warnings,
            [format!(
                "ICC profile is {} bytes, over the 16 MiB limit; ignored",
                MAX_ICC_BYTES + 1
            )]
        );
        assert_eq!(tiff_metadata(b"II+\0 BigTIFF is read by the decoder"), None);
    }

    #[test]
    fn webp_chunks_are_bounded() {
        let mut w = b"RIFF\0\0\0\0WEBP".to_vec();
        let chunk = |w: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]| {
            w.extend(kind);
            w.extend((data.len() as u32).to_le_bytes());
            w.extend(data);
            if data.len() % 2 == 1 {
                w.push(0);
            }
        };
        chunk(&mut w, b"VP8X", &[0; 10]);
        chunk(&mut w, b"ICCP", b"abc");
        chunk(&mut w, b"EXIF", &vec![1; MAX_EXIF_BYTES + 1]);
        w.extend(b"XMP ");
        w.extend(u32::MAX.to_le_bytes());
        w.extend(b"short");
        let m = webp_metadata(&w);
        assert_eq!(m.icc.as_deref(), Some(&b"abc"[..]));
        assert_eq!(m.exif, None);
        assert_eq!(m.xmp, None);
        assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
        assert!(m.warnings[0].starts_with("XMP data chunk claims 4294967295 bytes, past the end"));
        assert!(m.warnings[1].starts_with("EXIF data is 1048577 bytes"));
    }
}
