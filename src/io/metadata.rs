//! Metadata: EXIF orientation, EXIF clean-up (orientation reset to 1, embedded thumbnail
//! removed, GPS removed on request), and turning a TIFF's own tags into an EXIF block.
//!
//! EXIF is kept as raw bytes (a TIFF structure without the `Exif\0\0` prefix) and patched in
//! place, so every other field — maker notes included — survives byte for byte:
//!
//! * the Orientation tag (0x0112) in IFD0 is set to 1 (the pixels are rotated upright on input);
//! * IFD1 (the thumbnail directory) is unlinked and its directory, values and thumbnail bytes are
//!   zeroed — and cut off when they sit at the end of the block, as cameras put them — so the
//!   unblurred photo cannot reappear as a thumbnail.
//!
//! With `--strip-metadata gps` the GPS directory is unlinked from IFD0 and erased the same way
//! ([`strip_gps`]). XMP is cleaned in [`super::xmp`].

use std::io::Cursor;

/// The orientation tag.
const TAG_ORIENTATION: u16 = 0x0112;

/// Byte size of one value of TIFF type `typ`, or `None` for unknown types.
fn type_size(typ: u16) -> Option<usize> {
    Some(match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 => 8,
        _ => return None,
    })
}

/// A read-only view of a TIFF structure.
pub(crate) struct TiffView<'a> {
    data: &'a [u8],
    little_endian: bool,
}

/// One directory entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// Offset of the 12-byte entry.
    pos: usize,
    pub(crate) tag: u16,
    typ: u16,
    count: u32,
}

/// Why an EXIF block cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExifError {
    #[error("EXIF block does not start with a TIFF header")]
    NotTiff,
    #[error("EXIF block is too short for its header")]
    TooShort,
    #[error("EXIF block has a broken first directory")]
    BrokenDirectory,
}

impl<'a> TiffView<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Result<TiffView<'a>, ExifError> {
        let little_endian = match data.get(0..4) {
            Some(b"II*\0") => true,
            Some(b"MM\0*") => false,
            _ => return Err(ExifError::NotTiff),
        };
        Ok(TiffView {
            data,
            little_endian,
        })
    }

    fn u16_at(&self, pos: usize) -> Option<u16> {
        let b: [u8; 2] = self.data.get(pos..pos.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little_endian {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    pub(crate) fn u32_at(&self, pos: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    pub(crate) fn ifd0_offset(&self) -> Option<usize> {
        self.u32_at(4).map(|o| o as usize)
    }

    /// The entries of the directory at `offset` and the position of its next-IFD link.
    pub(crate) fn ifd(&self, offset: usize) -> Option<(Vec<Entry>, usize)> {
        let n = self.u16_at(offset)? as usize;
        let end = offset.checked_add(2 + 12 * n + 4)?;
        if offset < 8 || end > self.data.len() {
            return None;
        }
        let entries = (0..n)
            .map(|i| {
                let pos = offset + 2 + 12 * i;
                Some(Entry {
                    pos,
                    tag: self.u16_at(pos)?,
                    typ: self.u16_at(pos + 2)?,
                    count: self.u32_at(pos + 4)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some((entries, offset + 2 + 12 * n))
    }

    /// Where the value of `e` lives: `(start, len)`, inline or out of line.
    pub(crate) fn value_range(&self, e: &Entry) -> Option<(usize, usize)> {
        let len = type_size(e.typ)?.checked_mul(e.count as usize)?;
        if len <= 4 {
            Some((e.pos + 8, len))
        } else {
            let start = self.u32_at(e.pos + 8)? as usize;
            (start.checked_add(len)? <= self.data.len()).then_some((start, len))
        }
    }

    /// Integer values (SHORT, LONG or IFD) of `e`.
    fn uints(&self, e: &Entry) -> Option<Vec<u32>> {
        let (start, _) = self.value_range(e)?;
        (0..e.count as usize)
            .map(|i| match e.typ {
                3 => self.u16_at(start + 2 * i).map(u32::from),
                4 | 13 => self.u32_at(start + 4 * i),
                _ => None,
            })
            .collect()
    }
}

/// The raw Orientation value in IFD0 of an EXIF block (`None` when absent).
pub fn exif_orientation(exif: &[u8]) -> Result<Option<u32>, ExifError> {
    let view = TiffView::new(exif)?;
    let (entries, _) = view
        .ifd0_offset()
        .and_then(|o| view.ifd(o))
        .ok_or(ExifError::BrokenDirectory)?;
    Ok(entries
        .iter()
        .find(|e| e.tag == TAG_ORIENTATION)
        .and_then(|e| view.uints(e))
        .and_then(|v| v.first().copied()))
}

/// Width and height from the first directory of a TIFF file (ImageWidth, ImageLength).
pub(crate) fn tiff_dimensions(file: &[u8]) -> Option<(u32, u32)> {
    let view = TiffView::new(file).ok()?;
    let (entries, _) = view.ifd(view.ifd0_offset()?)?;
    let get = |tag| {
        entries
            .iter()
            .find(|e| e.tag == tag)
            .and_then(|e| view.uints(e))
            .and_then(|v| v.first().copied())
    };
    Some((get(256)?, get(257)?))
}

/// The bytes of `tag`'s value in the first directory of a TIFF file: `Ok(None)` when the file
/// or the tag is absent or unreadable, `Err(claimed length)` when the value runs past the end
/// of the file. Nothing is allocated.
pub(crate) fn tiff_ifd0_value(file: &[u8], tag: u16) -> Result<Option<&[u8]>, u64> {
    let Ok(view) = TiffView::new(file) else {
        return Ok(None);
    };
    let Some((entries, _)) = view.ifd0_offset().and_then(|o| view.ifd(o)) else {
        return Ok(None);
    };
    let Some(e) = entries.iter().find(|e| e.tag == tag) else {
        return Ok(None);
    };
    match view.value_range(e) {
        Some((start, len)) => Ok(file.get(start..start + len)),
        None => Err(type_size(e.typ).map_or(0, |s| s as u64 * u64::from(e.count))),
    }
}

/// Strips a leading `Exif\0\0` (some PNG and WebP writers keep it).
pub(crate) fn strip_exif_prefix(exif: &[u8]) -> &[u8] {
    exif.strip_prefix(b"Exif\0\0").unwrap_or(exif)
}

/// The TIFF view of an EXIF block (without its `Exif\0\0` prefix), the offset of its first
/// directory, that directory's entries and the position of its link to the next directory.
fn first_directory(exif: &[u8]) -> Result<(TiffView<'_>, usize, Vec<Entry>, usize), ExifError> {
    let view = TiffView::new(exif)?;
    let ifd0 = view.ifd0_offset().ok_or(ExifError::TooShort)?;
    let (entries, next_pos) = view.ifd(ifd0).ok_or(ExifError::BrokenDirectory)?;
    Ok((view, ifd0, entries, next_pos))
}

/// Returns a copy of `exif` with Orientation set to 1 and the thumbnail directory (IFD1) and
/// its data removed. Every other byte is kept.
pub(crate) fn sanitize_exif(exif: &[u8]) -> Result<Vec<u8>, ExifError> {
    let exif = strip_exif_prefix(exif);
    let (view, _, entries, next_pos) = first_directory(exif)?;
    let little_endian = view.little_endian;
    let mut out = exif.to_vec();
    let put16 = |out: &mut Vec<u8>, pos: usize, v: u16| {
        let b = if little_endian {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        };
        out[pos..pos + 2].copy_from_slice(&b);
    };
    let put32 = |out: &mut Vec<u8>, pos: usize, v: u32| {
        let b = if little_endian {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        };
        out[pos..pos + 4].copy_from_slice(&b);
    };
    if let Some(e) = entries.iter().find(|e| e.tag == TAG_ORIENTATION)
        && let Some((start, len)) = view.value_range(e)
    {
        match (e.typ, len) {
            (3, 2..) => put16(&mut out, start, 1),
            (4, 4..) => put32(&mut out, start, 1),
            _ => {}
        }
    }
    // Unlink and erase IFD1 (the thumbnail).
    let ifd1 = view.u32_at(next_pos).unwrap_or(0) as usize;
    put32(&mut out, next_pos, 0);
    if ifd1 != 0 {
        let protected_end = next_pos + 4; // header and IFD0 itself are never erased
        let mut erase: Vec<(usize, usize)> = Vec::new();
        if let Some((entries1, next1)) = view.ifd(ifd1) {
            erase.push((ifd1, next1 + 4 - ifd1));
            let find = |tag| entries1.iter().find(|e| e.tag == tag);
            for e in &entries1 {
                if let Some((start, len)) = view.value_range(e)
                    && len > 4
                {
                    erase.push((start, len));
                }
            }
            // JPEG thumbnail.
            if let (Some(off), Some(len)) = (find(0x0201), find(0x0202)) {
                let off = view.uints(off).and_then(|v| v.first().copied());
                let len = view.uints(len).and_then(|v| v.first().copied());
                if let (Some(off), Some(len)) = (off, len) {
                    erase.push((off as usize, len as usize));
                }
            }
            // Uncompressed (strip) thumbnail.
            if let (Some(offs), Some(lens)) = (find(0x0111), find(0x0117))
                && let (Some(offs), Some(lens)) = (view.uints(offs), view.uints(lens))
            {
                for (o, l) in offs.iter().zip(lens.iter()) {
                    erase.push((*o as usize, *l as usize));
                }
            }
        }
        erase_ranges(&mut out, erase, protected_end);
    }
    Ok(out)
}

/// Zeroes the byte ranges `(start, len)` of `out` that lie after `protected_end` (the header
/// and IFD0, never erased), and cuts them off when they form the tail of the block (allowing
/// alignment gaps of a few zero bytes).
fn erase_ranges(out: &mut Vec<u8>, erase: Vec<(usize, usize)>, protected_end: usize) {
    let mut ranges: Vec<(usize, usize)> = erase
        .into_iter()
        .filter_map(|(start, len)| {
            let end = start.checked_add(len)?.min(out.len());
            (start >= protected_end && start < end).then_some((start, end))
        })
        .collect();
    for &(start, end) in &ranges {
        out[start..end].fill(0);
    }
    // Cut the erased data off when it forms the tail of the block (allowing alignment gaps
    // of a few zero bytes).
    ranges.sort_unstable();
    let mut end = out.len();
    loop {
        let before = end;
        for &(s, e) in ranges.iter().rev() {
            if s < end && e + 3 >= end && out[e.min(end)..end].iter().all(|&b| b == 0) {
                end = s;
            }
        }
        if end == before {
            break;
        }
    }
    out.truncate(end.max(protected_end));
}

/// The GPS directory pointer.
const TAG_GPS_IFD: u16 = 0x8825;

/// Returns a copy of `exif` without GPS data: the IFD0 entry that links the GPS directory is
/// removed and the directory and its values are zeroed (and cut off when they end the block).
/// A block without GPS comes back unchanged.
pub fn strip_gps(exif: &[u8]) -> Result<Vec<u8>, ExifError> {
    let exif = strip_exif_prefix(exif);
    let (view, ifd0, entries, next_pos) = first_directory(exif)?;
    let (gps, kept): (Vec<Entry>, Vec<Entry>) =
        entries.into_iter().partition(|e| e.tag == TAG_GPS_IFD);
    if gps.is_empty() {
        return Ok(exif.to_vec());
    }
    let mut out = exif.to_vec();
    // IFD0 again without the GPS entries: count, the kept entries, the next-IFD link, zeros.
    let mut ifd = Vec::with_capacity(next_pos + 4 - ifd0);
    let count = kept.len() as u16;
    ifd.extend_from_slice(&if view.little_endian {
        count.to_le_bytes()
    } else {
        count.to_be_bytes()
    });
    for e in &kept {
        ifd.extend_from_slice(&exif[e.pos..e.pos + 12]);
    }
    ifd.extend_from_slice(&exif[next_pos..next_pos + 4]);
    ifd.resize(next_pos + 4 - ifd0, 0);
    out[ifd0..next_pos + 4].copy_from_slice(&ifd);
    let mut erase = Vec::new();
    for e in &gps {
        let Some(dir) = view.uints(e).and_then(|v| v.first().copied()) else {
            continue;
        };
        if let Some((entries_gps, next_gps)) = view.ifd(dir as usize) {
            erase.push((dir as usize, next_gps + 4 - dir as usize));
            for g in &entries_gps {
                if let Some((start, len)) = view.value_range(g)
                    && len > 4
                {
                    erase.push((start, len));
                }
            }
        }
    }
    // The GPS directory may lie anywhere after the header, before IFD0 too; IFD0 is kept.
    let ifd0_range = ifd0..next_pos + 4;
    erase.retain(|&(start, len)| {
        let end = start.saturating_add(len);
        end <= ifd0_range.start || start >= ifd0_range.end
    });
    erase_ranges(&mut out, erase, 8);
    Ok(out)
}

/// True when the EXIF block still links a thumbnail directory (IFD1).
pub fn exif_has_thumbnail(exif: &[u8]) -> bool {
    let Ok(view) = TiffView::new(strip_exif_prefix(exif)) else {
        return false;
    };
    view.ifd0_offset()
        .and_then(|o| view.ifd(o))
        .and_then(|(_, next)| view.u32_at(next))
        .is_some_and(|o| o != 0)
}

/// The TIFF IFD0 tags that describe the photo (not the image structure) and are carried into
/// EXIF when the input is a TIFF.
const DESCRIPTIVE_TIFF_TAGS: &[u16] = &[
    270,   // ImageDescription
    271,   // Make
    272,   // Model
    282,   // XResolution
    283,   // YResolution
    296,   // ResolutionUnit
    305,   // Software
    306,   // DateTime
    315,   // Artist
    316,   // HostComputer
    33432, // Copyright
];

/// Builds an EXIF block (IFD0 descriptive tags, Orientation 1, Exif and GPS directories) from
/// the tags of a TIFF file. `None` when there is nothing worth keeping.
pub(crate) fn exif_from_tiff_file(file: &[u8]) -> Option<Vec<u8>> {
    use exif::{Context, Field, In, Tag, Value};
    let parsed = exif::Reader::new().read_raw(file.to_vec()).ok()?;
    let mut kept: Vec<Field> = parsed
        .fields()
        .filter(|f| f.ifd_num == In::PRIMARY)
        .filter(|f| match f.tag.context() {
            Context::Tiff => DESCRIPTIVE_TIFF_TAGS.contains(&f.tag.number()),
            Context::Exif | Context::Gps => true,
            _ => false,
        })
        .filter(|f| !matches!(f.value, Value::Unknown(..)))
        .cloned()
        .collect();
    if kept.is_empty() {
        return None;
    }
    kept.push(Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![1]),
    });
    let mut writer = exif::experimental::Writer::new();
    for f in &kept {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, parsed.little_endian()).ok()?;
    Some(out.into_inner())
}

/// Which directory a field belongs in when writing a TIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TiffIfd {
    Primary,
    Exif,
    Gps,
}

/// One EXIF field ready to be written into a TIFF: tag, TIFF type code and the value bytes in
/// little-endian order.
#[derive(Debug, Clone)]
pub(crate) struct RawField {
    pub ifd: TiffIfd,
    pub tag: u16,
    pub typ: u16,
    pub le_bytes: Vec<u8>,
}

/// The fields of an EXIF block that a TIFF output carries: IFD0 descriptive tags, the Exif and
/// GPS directories (maker notes are left out: their internal offsets would break). Orientation
/// is not included (the writer sets 1).
pub(crate) fn exif_fields_for_tiff(exif: &[u8]) -> Vec<RawField> {
    use exif::{Context, In, Tag, Value};
    let Ok(parsed) = exif::Reader::new().read_raw(strip_exif_prefix(exif).to_vec()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in parsed.fields().filter(|f| f.ifd_num == In::PRIMARY) {
        let ifd = match f.tag.context() {
            Context::Tiff if DESCRIPTIVE_TIFF_TAGS.contains(&f.tag.number()) => TiffIfd::Primary,
            Context::Exif if f.tag != Tag::MakerNote => TiffIfd::Exif,
            Context::Gps => TiffIfd::Gps,
            _ => continue,
        };
        if f.tag == Tag::ExifIFDPointer
            || f.tag == Tag::GPSInfoIFDPointer
            || f.tag == Tag::InteropIFDPointer
        {
            continue;
        }
        let (typ, le_bytes): (u16, Vec<u8>) = match &f.value {
            Value::Byte(v) => (1, v.clone()),
            Value::Ascii(v) => {
                let mut b = Vec::new();
                for s in v {
                    b.extend_from_slice(s);
                    b.push(0);
                }
                (2, b)
            }
            Value::Short(v) => (3, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Value::Long(v) => (4, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Value::Rational(v) => (
                5,
                v.iter()
                    .flat_map(|r| [r.num.to_le_bytes(), r.denom.to_le_bytes()].concat())
                    .collect(),
            ),
            Value::SByte(v) => (6, v.iter().map(|&x| x as u8).collect()),
            Value::Undefined(v, _) => (7, v.clone()),
            Value::SShort(v) => (8, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Value::SLong(v) => (9, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Value::SRational(v) => (
                10,
                v.iter()
                    .flat_map(|r| [r.num.to_le_bytes(), r.denom.to_le_bytes()].concat())
                    .collect(),
            ),
            Value::Float(v) => (11, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Value::Double(v) => (12, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            Value::Unknown(..) => continue,
        };
        if le_bytes.is_empty() {
            continue;
        }
        out.push(RawField {
            ifd,
            tag: f.tag.number(),
            typ,
            le_bytes,
        });
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hand-built little- or big-endian EXIF block: IFD0 with Orientation, Make and Artist,
    /// and (optionally) IFD1 with a fake JPEG thumbnail at the end.
    pub(crate) fn build_exif(
        little_endian: bool,
        orientation: u16,
        artist: &str,
        thumb: bool,
    ) -> Vec<u8> {
        let mut b: Vec<u8> = Vec::new();
        let w16 = |b: &mut Vec<u8>, v: u16| {
            b.extend_from_slice(&if little_endian {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            })
        };
        let w32 = |b: &mut Vec<u8>, v: u32| {
            b.extend_from_slice(&if little_endian {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            })
        };
        b.extend_from_slice(if little_endian { b"II*\0" } else { b"MM\0*" });
        w32(&mut b, 8);
        let make = b"fstop test\0";
        let mut artist_z = artist.as_bytes().to_vec();
        artist_z.push(0);
        // IFD0: 3 entries.
        let ifd0_end = 8 + 2 + 3 * 12 + 4;
        let make_off = ifd0_end as u32;
        let artist_inline = artist_z.len() <= 4;
        let artist_off = make_off + make.len() as u32;
        let artist_stored = if artist_inline {
            0
        } else {
            artist_z.len() as u32
        };
        let ifd1_off = (artist_off + artist_stored + 1) & !1;
        w16(&mut b, 3);
        // Orientation SHORT 1
        w16(&mut b, 0x0112);
        w16(&mut b, 3);
        w32(&mut b, 1);
        w16(&mut b, orientation);
        w16(&mut b, 0);
        // Make ASCII
        w16(&mut b, 0x010F);
        w16(&mut b, 2);
        w32(&mut b, make.len() as u32);
        w32(&mut b, make_off);
        // Artist ASCII
        w16(&mut b, 0x013B);
        w16(&mut b, 2);
        w32(&mut b, artist_z.len() as u32);
        if artist_inline {
            let mut v = artist_z.clone();
            v.resize(4, 0);
            b.extend_from_slice(&v);
        } else {
            w32(&mut b, artist_off);
        }
        w32(&mut b, if thumb { ifd1_off } else { 0 });
        b.extend_from_slice(make);
        if !artist_inline {
            b.extend_from_slice(&artist_z);
        }
        while b.len() < ifd1_off as usize {
            b.push(0);
        }
        if thumb {
            let thumb_off = ifd1_off + 2 + 2 * 12 + 4;
            let thumb_data = b"\xFF\xD8THUMBNAIL-OF-THE-UNBLURRED-PHOTO\xFF\xD9";
            w16(&mut b, 2);
            w16(&mut b, 0x0201);
            w16(&mut b, 4);
            w32(&mut b, 1);
            w32(&mut b, thumb_off);
            w16(&mut b, 0x0202);
            w16(&mut b, 4);
            w32(&mut b, 1);
            w32(&mut b, thumb_data.len() as u32);
            w32(&mut b, 0);
            b.extend_from_slice(thumb_data);
        }
        b
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn orientation_read_and_reset_both_endians() {
        for le in [true, false] {
            let exif = build_exif(le, 6, "Ada", true);
            assert_eq!(exif_orientation(&exif).unwrap(), Some(6));
            assert!(exif_has_thumbnail(&exif));
            assert!(contains(&exif, b"THUMBNAIL"));
            let clean = sanitize_exif(&exif).unwrap();
            assert_eq!(exif_orientation(&clean).unwrap(), Some(1));
            assert!(!exif_has_thumbnail(&clean));
            assert!(!contains(&clean, b"THUMBNAIL"), "thumbnail bytes remain");
            assert!(clean.len() < exif.len(), "thumbnail tail cut off");
            // kamadak-exif agrees and still sees the other fields.
            let parsed = exif::Reader::new().read_raw(clean.clone()).unwrap();
            let artist = parsed
                .get_field(exif::Tag::Artist, exif::In::PRIMARY)
                .unwrap();
            assert_eq!(artist.display_value().to_string(), "\"Ada\"");
            assert!(parsed.fields().all(|f| f.ifd_num == exif::In::PRIMARY));
        }
    }

    #[test]
    fn prefixed_and_broken_exif() {
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend(build_exif(true, 3, "x", false));
        let clean = sanitize_exif(&exif).unwrap();
        assert_eq!(exif_orientation(&clean).unwrap(), Some(1));
        assert_eq!(
            sanitize_exif(b"II*\0\xff\xff\xff\xff"),
            Err(ExifError::BrokenDirectory)
        );
        assert_eq!(sanitize_exif(b""), Err(ExifError::NotTiff));
        assert_eq!(
            exif_orientation(b"MM\0*\0\0\0\x08\0"),
            Err(ExifError::BrokenDirectory)
        );
        // A huge IFD1 offset or thumbnail length is ignored, not followed.
        let mut exif = build_exif(true, 1, "x", true);
        let n = exif.len();
        exif[n - 40..n - 36].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(sanitize_exif(&exif).is_ok());
    }

    #[test]
    fn tiff_fields_are_converted() {
        let exif = build_exif(false, 6, "Grace", true);
        let fields = exif_fields_for_tiff(&exif);
        let artist = fields.iter().find(|f| f.tag == 0x013B).unwrap();
        assert_eq!(artist.le_bytes, b"Grace\0");
        assert_eq!(artist.ifd, TiffIfd::Primary);
        assert!(fields.iter().all(|f| f.tag != TAG_ORIENTATION));
    }
}
