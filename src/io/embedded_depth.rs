//! Depth maps that phones store inside portrait JPEGs, read without the depth model.
//!
//! Three published layouts are read ([`read_embedded_depth`]):
//!
//! * **GDepth** (Google Camera "Lens Blur", `http://ns.google.com/photos/1.0/depthmap/`): the
//!   XMP properties `GDepth:Format` (`RangeInverse` | `RangeLinear`), `Near`, `Far`, `Units`,
//!   `Mime` and `Data` — the depth image, base64, which normally lives in the **extended XMP**
//!   (`APP1` segments headed `http://ns.adobe.com/xmp/extension/\0`, a 32-character GUID, the
//!   full length and the chunk's offset, both 4-byte big-endian; the chunks of the GUID named by
//!   the standard packet's `xmpNote:HasExtendedXMP` are joined by offset). A GDepth packet
//!   without `Data` may point at a container item whose `Item:Semantic` is `Depth` instead.
//! * **Dynamic Depth 1.0** (Android): the XMP `Device` (`http://ns.google.com/photos/dd/1.0/device/`)
//!   lists `Container:Directory` items (`Item:Mime`, `Item:Length`, `Item:Semantic`,
//!   `Item:Padding`) whose bytes follow the primary JPEG's end-of-image marker in that order
//!   (the first item is the primary image; each item's padding follows its bytes); the first
//!   `DepthMap` (`http://ns.google.com/photos/dd/1.0/depthmap/`) gives `Format`, `Near`, `Far`,
//!   `Units` and which item holds the image (`DepthURI` = the item's `URI`/`DataURI`, else the
//!   first item of semantic `Depth`).
//! * **Apple portrait JPEGs**: the primary image's `APP2` `MPF\0` index (a TIFF structure whose
//!   MP Entry list gives each image's size and offset, relative to that TIFF header) lists the
//!   extra images; the depth one is a JPEG whose own XMP says `apdi:AuxiliaryImageType`
//!   (`http://ns.apple.com/pixeldatainfo/1.0/`) `urn:com:apple:photo:2018:aux:disparity` or
//!   `…:depth` (older files: `kCGImageAuxiliaryDataTypeDisparity` / `…Depth`). Portrait-effects
//!   mattes (`…:portraiteffectsmatte`) are skipped.
//!
//! How the values are read:
//!
//! * GDepth and Dynamic Depth store a normalised `dn` in 0..1 (8- or 16-bit PNG or JPEG) with
//!   the published decodings, `near` at `dn = 0` and `far` at `dn = 1`:
//!   `RangeLinear` `Z = near + dn·(far − near)`; `RangeInverse` (z-buffer style)
//!   `1/Z = 1/near − dn·(1/near − 1/far)`, i.e. `Z = far·near / (far − dn·(far − near))`.
//!   When the units are metres (`m`, `Meters`) or millimetres (`mm`, `Millimeters`) the map is
//!   **metric** (metres). Other or missing units (Dynamic Depth's `Diopters` and `None`) do not
//!   give a scale: the map is then `1/Z` in those units, a **relative disparity** (larger =
//!   nearer) placed by fstop's anchors like a model's.
//! * Apple's 8-bit maps are normalised with no range in the file fstop can trust: a disparity
//!   map is taken as relative disparity as stored (brighter = nearer); a depth map as
//!   `1 − value` (brighter = farther, so the order is kept; the anchors fix scale and offset).
//!
//! The map is turned upright with the primary image's EXIF orientation (phones store it in the
//! sensor's orientation, like the primary's pixels); its size may differ from the photo's (the
//! caller resamples it as it does a depth file).
//!
//! Every size read from the file is checked against the bytes that are there before anything
//! of that size is allocated; the extended XMP is capped at [`MAX_EXTENDED_XMP_BYTES`] and the
//! depth image at the caller's pixel limit. A malformed map is a typed error
//! ([`EmbeddedDepthError`]), never a panic; only JPEG photos are searched (others have none).

use std::fmt;
use std::ops::Range;
use std::path::Path;

use image::DynamicImage;
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::NsReader;

use super::IoError;
use super::decode::decode_image_bytes;
use super::limits::MAX_XMP_BYTES;
use super::metadata::{TiffView, exif_orientation, strip_exif_prefix};
use super::xmp::{namespace_of, normalised};
use crate::depth::DepthKind;
use crate::scene::Plane;

/// Largest extended XMP joined (a 12 MP photo's 16-bit PNG depth map in base64 is well under it).
pub const MAX_EXTENDED_XMP_BYTES: usize = 64 << 20;
/// Most MPF entries looked at.
const MAX_MPF_ENTRIES: usize = 64;

const NS_GDEPTH: &str = "http://ns.google.com/photos/1.0/depthmap";
const NS_XMP_NOTE: &str = "http://ns.adobe.com/xmp/note";
const NS_DD_DEVICE: &str = "http://ns.google.com/photos/dd/1.0/device";
const NS_DD_DEPTHMAP: &str = "http://ns.google.com/photos/dd/1.0/depthmap";
/// Container item namespaces: Dynamic Depth's and the older Google container's.
const NS_ITEMS: &[&str] = &[
    "http://ns.google.com/photos/dd/1.0/item",
    "http://ns.google.com/photos/1.0/container/item",
];
const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const NS_APPLE_PIXEL_DATA: &str = "http://ns.apple.com/pixeldatainfo/1.0";

const XMP_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const EXTENDED_XMP_HEADER: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const EXIF_HEADER: &[u8] = b"Exif\0\0";
const MPF_HEADER: &[u8] = b"MPF\0";

/// Which layout held the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedFormat {
    GDepth,
    DynamicDepth,
    Apple,
}

impl EmbeddedFormat {
    /// The report's `depth_source` value: `embedded-gdepth`, `embedded-dynamic-depth` or
    /// `embedded-apple`.
    pub(crate) fn source_name(self) -> &'static str {
        match self {
            EmbeddedFormat::GDepth => "embedded-gdepth",
            EmbeddedFormat::DynamicDepth => "embedded-dynamic-depth",
            EmbeddedFormat::Apple => "embedded-apple",
        }
    }
}

impl fmt::Display for EmbeddedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmbeddedFormat::GDepth => "GDepth",
            EmbeddedFormat::DynamicDepth => "Dynamic Depth",
            EmbeddedFormat::Apple => "Apple portrait",
        })
    }
}

/// How GDepth and Dynamic Depth normalise depth into 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFormat {
    RangeLinear,
    RangeInverse,
}

/// What the values of [`EmbeddedDepth::plane`] are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DepthEncoding {
    /// Relative disparity, larger = nearer, scale and offset unknown.
    RelativeDisparity,
    /// Distance in metres, decoded from `format` with the file's range (in metres).
    Metric {
        format: RangeFormat,
        near_m: f64,
        far_m: f64,
    },
}

/// A depth map found in a photo.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedDepth {
    pub format: EmbeddedFormat,
    pub encoding: DepthEncoding,
    /// Upright like the photo; metres ([`DepthEncoding::Metric`]) or relative disparity.
    pub plane: Plane,
}

impl EmbeddedDepth {
    /// How fstop's depth model reads [`Self::plane`].
    pub fn kind(&self) -> DepthKind {
        match self.encoding {
            DepthEncoding::Metric { .. } => DepthKind::Metres,
            DepthEncoding::RelativeDisparity => DepthKind::Disparity,
        }
    }
}

/// Why an embedded depth map could not be read. Messages fit on one line and quote at most 40
/// characters of the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbeddedDepthError {
    #[error("{format} depth metadata is not readable XMP ({why})")]
    Xmp { format: EmbeddedFormat, why: String },
    #[error("{format} depth: {what} is missing")]
    Missing {
        format: EmbeddedFormat,
        what: &'static str,
    },
    #[error("{format} depth: {property} is '{value}', {expected}")]
    BadValue {
        format: EmbeddedFormat,
        property: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "{format} depth: the range near {near} to far {far} is not usable (0 ≤ near < far, near > 0 for RangeInverse)"
    )]
    BadRange {
        format: EmbeddedFormat,
        near: f64,
        far: f64,
    },
    #[error("extended XMP: {0}")]
    ExtendedXmp(String),
    #[error("{format} depth: the depth image data is not valid base64")]
    Base64 { format: EmbeddedFormat },
    #[error("{format} depth: container item {index} ({what}) {problem}")]
    Item {
        format: EmbeddedFormat,
        index: usize,
        what: String,
        problem: String,
    },
    #[error("{format} depth image: {message}")]
    Image {
        format: EmbeddedFormat,
        message: String,
    },
}

/// The segments of a JPEG's header that matter here.
#[derive(Default)]
struct JpegHeader<'a> {
    exif: Option<&'a [u8]>,
    xmp: Option<&'a [u8]>,
    /// Bodies of the extended XMP segments, after their namespace header.
    extended: Vec<&'a [u8]>,
    /// The MPF segment's TIFF structure and where it starts in the file.
    mpf: Option<(usize, &'a [u8])>,
    /// Where the start-of-scan segment starts (`None`: the header ends before one).
    sos: Option<usize>,
}

/// Walks the marker segments of a JPEG up to its first scan; `None` when `bytes` is not a JPEG.
fn jpeg_header(bytes: &[u8]) -> Option<JpegHeader<'_>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut h = JpegHeader::default();
    let mut pos = 2;
    while let Some(&[0xFF, marker]) = bytes.get(pos..pos + 2) {
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        if marker == 0xDA {
            h.sos = Some(pos);
            break;
        }
        if marker == 0xD9 || (0xD0..=0xD8).contains(&marker) || marker == 0x01 {
            break;
        }
        let Some(&[hi, lo]) = bytes.get(pos + 2..pos + 4) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let end = pos + 2 + len;
        if len < 2 || end > bytes.len() {
            break;
        }
        let body = &bytes[pos + 4..end];
        match marker {
            0xE1 if body.starts_with(EXIF_HEADER) && h.exif.is_none() => {
                h.exif = Some(&body[EXIF_HEADER.len()..]);
            }
            0xE1 if body.starts_with(XMP_HEADER) && h.xmp.is_none() => {
                h.xmp = Some(&body[XMP_HEADER.len()..]);
            }
            0xE1 if body.starts_with(EXTENDED_XMP_HEADER) => {
                h.extended.push(&body[EXTENDED_XMP_HEADER.len()..]);
            }
            0xE2 if body.starts_with(MPF_HEADER) && h.mpf.is_none() => {
                h.mpf = Some((pos + 4 + MPF_HEADER.len(), &body[MPF_HEADER.len()..]));
            }
            _ => {}
        }
        pos = end;
    }
    Some(h)
}

/// Where the JPEG that starts at 0 ends (just after its end-of-image marker), walking its scans
/// and the segments between them (progressive JPEGs have several).
fn end_of_image(bytes: &[u8], sos: usize) -> Option<usize> {
    let mut pos = sos;
    loop {
        let &[0xFF, marker] = bytes.get(pos..pos + 2)? else {
            return None;
        };
        match marker {
            0xD9 => return Some(pos + 2),
            0xFF => pos += 1,
            0x01 | 0xD0..=0xD7 => pos += 2,
            _ => {
                let len = usize::from(u16::from_be_bytes(
                    bytes.get(pos + 2..pos + 4)?.try_into().ok()?,
                ));
                if len < 2 {
                    return None;
                }
                pos = pos.checked_add(2 + len)?;
                if marker == 0xDA {
                    // Entropy-coded data: the next marker that is not a stuffed 0xFF or a restart.
                    let data = bytes.get(pos..)?;
                    let at = data.windows(2).position(|w| {
                        w[0] == 0xFF && w[1] != 0 && !(0xD0..=0xD7).contains(&w[1]) && w[1] != 0xFF
                    })?;
                    pos += at;
                }
            }
        }
    }
}

/// One XMP property: its namespace (without a trailing `/`), local name and value, and the
/// `rdf:li` it belongs to (numbered in document order), if any.
#[derive(Debug, Clone, PartialEq)]
struct Prop {
    ns: String,
    local: String,
    value: String,
    li: Option<usize>,
}

/// An open element while the packet is read.
struct Frame {
    ns: Option<String>,
    local: String,
    li: Option<usize>,
    text: String,
    has_children: bool,
}

/// Every property of a packet, in attribute and in simple element form.
fn xmp_props(xmp: &[u8]) -> Result<Vec<Prop>, String> {
    let text = std::str::from_utf8(xmp).map_err(|_| "not UTF-8".to_string())?;
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = NsReader::from_str(text);
    reader.resolver_mut().set_max_namespace_bindings(4096);
    let mut props = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut li_count = 0usize;
    let short = |e: &dyn fmt::Display| {
        let s: String = e
            .to_string()
            .chars()
            .filter(|c| !c.is_control())
            .take(80)
            .collect();
        s
    };
    loop {
        let event = reader.read_event().map_err(|e| short(&e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().0.to_string();
                let (resolved, local) = reader.resolver().resolve_element(e.name());
                let ns = namespace_of(&resolved, &name).map(|n| normalised(n).to_string());
                let local = local.as_ref().to_string();
                let parent_li = stack.last().and_then(|f| f.li);
                if let Some(parent) = stack.last_mut() {
                    parent.has_children = true;
                }
                let is_li = ns.as_deref() == Some(normalised(NS_RDF)) && local == "li";
                let li = if is_li {
                    li_count += 1;
                    Some(li_count)
                } else {
                    parent_li
                };
                for attr in e.attributes() {
                    let attr = attr.map_err(|e| short(&e))?;
                    if attr.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let key = attr.key.0.to_string();
                    let (resolved, alocal) = reader.resolver().resolve_attribute(attr.key);
                    let Some(ans) = namespace_of(&resolved, &key) else {
                        continue;
                    };
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| short(&e))?;
                    props.push(Prop {
                        ns: normalised(ans).to_string(),
                        local: alocal.as_ref().to_string(),
                        value: value.into_owned(),
                        li,
                    });
                }
                let frame = Frame {
                    ns,
                    local,
                    li,
                    text: String::new(),
                    has_children: false,
                };
                if matches!(event, Event::Start(_)) {
                    stack.push(frame);
                }
            }
            Event::Text(ref t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::End(_) => {
                if let Some(f) = stack.pop()
                    && !f.has_children
                    && let Some(ns) = f.ns
                {
                    let value = f.text.trim();
                    if !value.is_empty() {
                        let li = if ns == normalised(NS_RDF) { None } else { f.li };
                        props.push(Prop {
                            ns,
                            local: f.local,
                            value: value.to_string(),
                            li,
                        });
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(props)
}

fn first<'p>(props: &'p [Prop], ns: &str, local: &str) -> Option<&'p str> {
    let ns = normalised(ns);
    props
        .iter()
        .find(|p| p.ns == ns && p.local == local)
        .map(|p| p.value.as_str())
}

fn has_ns(props: &[Prop], ns: &str) -> bool {
    let ns = normalised(ns);
    props.iter().any(|p| p.ns == ns)
}

/// A container item.
#[derive(Debug, Clone, Default, PartialEq)]
struct Item {
    mime: Option<String>,
    semantic: Option<String>,
    length: Option<String>,
    padding: Option<String>,
    uri: Option<String>,
}

/// The container items, in order (each `rdf:li` holding `Item:` properties is one).
fn items(props: &[Prop]) -> Vec<Item> {
    let mut out: Vec<(usize, Item)> = Vec::new();
    for p in props {
        let (Some(li), true) = (p.li, NS_ITEMS.iter().any(|n| normalised(n) == p.ns)) else {
            continue;
        };
        if out.last().is_none_or(|(l, _)| *l != li) {
            out.push((li, Item::default()));
        }
        let item = &mut out.last_mut().expect("just pushed").1;
        let v = Some(p.value.clone());
        match p.local.as_str() {
            "Mime" => item.mime = v,
            "Semantic" => item.semantic = v,
            "Length" => item.length = v,
            "Padding" => item.padding = v,
            "URI" | "DataURI" => item.uri = v,
            _ => {}
        }
    }
    out.into_iter().map(|(_, i)| i).collect()
}

/// The byte ranges of the items after the primary image (the first item), which ends at `eoi`.
fn item_ranges(
    format: EmbeddedFormat,
    items: &[Item],
    eoi: usize,
    file_len: usize,
) -> Result<Vec<Range<usize>>, EmbeddedDepthError> {
    let item_err = |index: usize, item: &Item, problem: String| EmbeddedDepthError::Item {
        format,
        index,
        what: clip(item.semantic.as_deref().unwrap_or("no semantic")),
        problem,
    };
    let number = |index: usize,
                  item: &Item,
                  field: &str,
                  v: Option<&str>|
     -> Result<usize, EmbeddedDepthError> {
        match v {
            None => Ok(0),
            Some(s) => s
                .trim()
                .parse::<u64>()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    item_err(
                        index,
                        item,
                        format!("has {field} '{}', not a byte count", clip(s)),
                    )
                }),
        }
    };
    let mut ranges = Vec::with_capacity(items.len());
    let mut pos = eoi;
    for (index, item) in items.iter().enumerate() {
        let padding = number(index, item, "Item:Padding", item.padding.as_deref())?;
        if index == 0 {
            ranges.push(0..eoi);
            pos = pos.saturating_add(padding);
            continue;
        }
        let Some(len_text) = item.length.as_deref() else {
            return Err(item_err(index, item, "has no Item:Length".into()));
        };
        let len = number(index, item, "Item:Length", Some(len_text))?;
        let end = pos.checked_add(len).filter(|&e| e <= file_len).ok_or_else(|| {
            item_err(
                index,
                item,
                format!("of {len} bytes at byte {pos} runs past the end of the file ({file_len} bytes)"),
            )
        })?;
        ranges.push(pos..end);
        pos = end.saturating_add(padding);
    }
    Ok(ranges)
}

/// At most 40 characters of `s`, without control characters.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Decodes base64 (standard alphabet, padding optional, whitespace ignored).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut acc = 0u32;
    let mut bits = 0u32;
    let mut ended = false;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                ended = true;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if ended {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

/// The extended XMP packet of `guid`, its chunks joined by offset.
fn extended_xmp(chunks: &[&[u8]], guid: &str) -> Result<Vec<u8>, EmbeddedDepthError> {
    let err = |m: String| EmbeddedDepthError::ExtendedXmp(m);
    let mut full_len: Option<usize> = None;
    let mut parts: Vec<(usize, &[u8])> = Vec::new();
    for c in chunks {
        let (Some(id), Some(len), Some(offset)) = (c.get(..32), c.get(32..36), c.get(36..40))
        else {
            continue;
        };
        if id != guid.as_bytes() {
            continue;
        }
        let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
        let offset = u32::from_be_bytes(offset.try_into().expect("4 bytes")) as usize;
        if *full_len.get_or_insert(len) != len {
            return Err(err("its chunks disagree on its length".into()));
        }
        parts.push((offset, &c[40..]));
    }
    let Some(full_len) = full_len else {
        return Err(err(format!(
            "the part named by xmpNote:HasExtendedXMP ('{}') is not in the file",
            clip(guid)
        )));
    };
    if full_len > MAX_EXTENDED_XMP_BYTES {
        return Err(err(format!(
            "is {full_len} bytes, over the {} MiB limit",
            MAX_EXTENDED_XMP_BYTES >> 20
        )));
    }
    let present: usize = parts.iter().map(|(_, d)| d.len()).sum();
    if present < full_len {
        return Err(err(format!(
            "{present} of its {full_len} bytes are in the file (truncated)"
        )));
    }
    parts.sort_by_key(|(o, _)| *o);
    let mut out = Vec::with_capacity(full_len);
    for (offset, data) in parts {
        if offset != out.len() || offset + data.len() > full_len {
            return Err(err(format!(
                "a chunk at offset {offset} does not continue the {} bytes before it",
                out.len()
            )));
        }
        out.extend_from_slice(data);
    }
    if out.len() != full_len {
        return Err(err("its chunks do not add up to its length".into()));
    }
    Ok(out)
}

/// A number property.
fn number_prop(
    format: EmbeddedFormat,
    props: &[Prop],
    ns: &str,
    local: &'static str,
    property: &'static str,
) -> Result<f64, EmbeddedDepthError> {
    let v = first(props, ns, local).ok_or(EmbeddedDepthError::Missing {
        format,
        what: property,
    })?;
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or(EmbeddedDepthError::BadValue {
            format,
            property,
            value: clip(v),
            expected: "not a finite number",
        })
}

/// The range of a GDepth or Dynamic Depth map, from its properties in `ns`.
struct RangeSpec {
    format: RangeFormat,
    near: f64,
    far: f64,
    /// Metres per unit, when the units are metric.
    metres_per_unit: Option<f64>,
}

fn range_spec(
    format: EmbeddedFormat,
    props: &[Prop],
    ns: &str,
    names: [&'static str; 3],
) -> Result<RangeSpec, EmbeddedDepthError> {
    let [format_name, near_name, far_name] = names;
    let f = first(props, ns, "Format").ok_or(EmbeddedDepthError::Missing {
        format,
        what: format_name,
    })?;
    let range_format = match f.trim() {
        "RangeLinear" => RangeFormat::RangeLinear,
        "RangeInverse" => RangeFormat::RangeInverse,
        other => {
            return Err(EmbeddedDepthError::BadValue {
                format,
                property: format_name,
                value: clip(other),
                expected: "not RangeInverse or RangeLinear",
            });
        }
    };
    let near = number_prop(format, props, ns, "Near", near_name)?;
    let far = number_prop(format, props, ns, "Far", far_name)?;
    let near_ok = match range_format {
        RangeFormat::RangeInverse => near > 0.0,
        RangeFormat::RangeLinear => near >= 0.0,
    };
    if !near_ok || far <= near {
        return Err(EmbeddedDepthError::BadRange { format, near, far });
    }
    let metres_per_unit =
        first(props, ns, "Units").and_then(|u| match u.trim().to_ascii_lowercase().as_str() {
            "m" | "meter" | "meters" | "metre" | "metres" => Some(1.0),
            "mm" | "millimeter" | "millimeters" | "millimetre" | "millimetres" => Some(1e-3),
            _ => None,
        });
    Ok(RangeSpec {
        format: range_format,
        near,
        far,
        metres_per_unit,
    })
}

/// Decodes the depth image's bytes to upright normalised values in 0..1.
fn decode_map(
    format: EmbeddedFormat,
    bytes: &[u8],
    orientation: u32,
    max_pixels: u64,
) -> Result<Plane, EmbeddedDepthError> {
    let decoded = decode_image_bytes(Path::new("depth image"), bytes, max_pixels).map_err(|e| {
        EmbeddedDepthError::Image {
            format,
            message: match e {
                IoError::Decode { kind, .. } => kind.to_string(),
                other => other.to_string(),
            },
        }
    })?;
    let mut image: DynamicImage = decoded.image;
    if orientation != 1
        && let Some(o) = image::metadata::Orientation::from_exif(orientation as u8)
    {
        image.apply_orientation(o);
    }
    let (w, h) = (image.width() as usize, image.height() as usize);
    Ok(Plane::from_vec(w, h, image.to_luma32f().into_raw()))
}

/// Applies a GDepth/Dynamic Depth range to normalised values.
fn apply_range(mut plane: Plane, spec: &RangeSpec) -> (Plane, DepthEncoding) {
    let (near, far) = (spec.near, spec.far);
    let depth = |dn: f64| match spec.format {
        RangeFormat::RangeLinear => near + dn * (far - near),
        RangeFormat::RangeInverse => far * near / (far - dn * (far - near)),
    };
    match spec.metres_per_unit {
        Some(scale) => {
            for v in plane.data_mut() {
                *v = (depth(f64::from(v.clamp(0.0, 1.0))) * scale) as f32;
            }
            (
                plane,
                DepthEncoding::Metric {
                    format: spec.format,
                    near_m: near * scale,
                    far_m: far * scale,
                },
            )
        }
        None => {
            for v in plane.data_mut() {
                // A zero distance (RangeLinear from 0) is infinite disparity: invalid, filled in
                // from its neighbours downstream.
                *v = (1.0 / depth(f64::from(v.clamp(0.0, 1.0)))) as f32;
            }
            (plane, DepthEncoding::RelativeDisparity)
        }
    }
}

/// Reads the depth map a portrait JPEG carries (see the module documentation): `Ok(None)` when
/// it carries none (or is not a JPEG). `max_pixels` bounds the depth image.
pub fn read_embedded_depth(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<Option<EmbeddedDepth>, EmbeddedDepthError> {
    let Some(header) = jpeg_header(bytes) else {
        return Ok(None);
    };
    let orientation = header
        .exif
        .and_then(|e| exif_orientation(strip_exif_prefix(e)).ok().flatten())
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1);
    if let Some(xmp) = header.xmp.filter(|x| x.len() <= MAX_XMP_BYTES) {
        // A packet that cannot be read names no depth map we could check for.
        if let Ok(props) = xmp_props(xmp) {
            if has_ns(&props, NS_DD_DEVICE) || has_ns(&props, NS_DD_DEPTHMAP) {
                return dynamic_depth(bytes, &header, &props, orientation, max_pixels).map(Some);
            }
            if has_ns(&props, NS_GDEPTH) {
                return gdepth(bytes, &header, &props, orientation, max_pixels).map(Some);
            }
        }
    }
    apple(bytes, &header, orientation, max_pixels)
}

/// The bytes of the container item chosen by `pick`, found after the primary image.
fn item_bytes<'b>(
    format: EmbeddedFormat,
    bytes: &'b [u8],
    header: &JpegHeader<'_>,
    items: &[Item],
    chosen: usize,
) -> Result<&'b [u8], EmbeddedDepthError> {
    let eoi =
        header
            .sos
            .and_then(|s| end_of_image(bytes, s))
            .ok_or(EmbeddedDepthError::Missing {
                format,
                what: "the primary image's end (the file is truncated)",
            })?;
    let ranges = item_ranges(format, &items[..=chosen], eoi, bytes.len())?;
    Ok(&bytes[ranges[chosen].clone()])
}

fn is_depth_semantic(item: &Item) -> bool {
    item.semantic
        .as_deref()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("depth"))
}

fn dynamic_depth(
    bytes: &[u8],
    header: &JpegHeader<'_>,
    props: &[Prop],
    orientation: u32,
    max_pixels: u64,
) -> Result<EmbeddedDepth, EmbeddedDepthError> {
    let format = EmbeddedFormat::DynamicDepth;
    if !has_ns(props, NS_DD_DEPTHMAP) {
        return Err(EmbeddedDepthError::Missing {
            format,
            what: "the DepthMap element",
        });
    }
    let spec = range_spec(
        format,
        props,
        NS_DD_DEPTHMAP,
        ["DepthMap:Format", "DepthMap:Near", "DepthMap:Far"],
    )?;
    let items = items(props);
    let uri = first(props, NS_DD_DEPTHMAP, "DepthURI");
    let chosen = items
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, i)| match uri {
            Some(u) => i.uri.as_deref() == Some(u),
            None => is_depth_semantic(i),
        })
        .map(|(k, _)| k)
        .ok_or(EmbeddedDepthError::Missing {
            format,
            what: "the container item holding the depth image",
        })?;
    let data = item_bytes(format, bytes, header, &items, chosen)?;
    let plane = decode_map(format, data, orientation, max_pixels)?;
    let (plane, encoding) = apply_range(plane, &spec);
    Ok(EmbeddedDepth {
        format,
        encoding,
        plane,
    })
}

fn gdepth(
    bytes: &[u8],
    header: &JpegHeader<'_>,
    props: &[Prop],
    orientation: u32,
    max_pixels: u64,
) -> Result<EmbeddedDepth, EmbeddedDepthError> {
    let format = EmbeddedFormat::GDepth;
    let spec = range_spec(
        format,
        props,
        NS_GDEPTH,
        ["GDepth:Format", "GDepth:Near", "GDepth:Far"],
    )?;
    let extended_props;
    let mut data = first(props, NS_GDEPTH, "Data");
    if data.is_none()
        && let Some(guid) = first(props, NS_XMP_NOTE, "HasExtendedXMP")
    {
        let packet = extended_xmp(&header.extended, guid.trim())?;
        extended_props =
            xmp_props(&packet).map_err(|why| EmbeddedDepthError::Xmp { format, why })?;
        data = first(&extended_props, NS_GDEPTH, "Data");
    }
    let decoded;
    let image_bytes: &[u8] = match data {
        Some(text) => {
            decoded = base64_decode(text).ok_or(EmbeddedDepthError::Base64 { format })?;
            &decoded
        }
        None => {
            let items = items(props);
            let chosen = items
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, i)| is_depth_semantic(i))
                .map(|(k, _)| k)
                .ok_or(EmbeddedDepthError::Missing {
                    format,
                    what: "GDepth:Data (and no extended XMP or container item holds it)",
                })?;
            item_bytes(format, bytes, header, &items, chosen)?
        }
    };
    let plane = decode_map(format, image_bytes, orientation, max_pixels)?;
    let (plane, encoding) = apply_range(plane, &spec);
    Ok(EmbeddedDepth {
        format,
        encoding,
        plane,
    })
}

/// What an Apple auxiliary image holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AppleAux {
    Disparity,
    Depth,
    Other,
}

fn apple_aux_type(image: &[u8]) -> Option<AppleAux> {
    let header = jpeg_header(image)?;
    let props = xmp_props(header.xmp.filter(|x| x.len() <= MAX_XMP_BYTES)?).ok()?;
    let t = first(&props, NS_APPLE_PIXEL_DATA, "AuxiliaryImageType")?.to_ascii_lowercase();
    Some(if t.contains("matte") {
        AppleAux::Other
    } else if t.contains("disparity") {
        AppleAux::Disparity
    } else if t.contains("depth") {
        AppleAux::Depth
    } else {
        AppleAux::Other
    })
}

/// The extra images an MPF index lists (its first entry is the primary image): their byte
/// ranges in the file. Entries that point outside the file are skipped (a cut file keeps its
/// primary image).
fn mpf_images(bytes: &[u8], tiff_at: usize, tiff: &[u8]) -> Vec<Range<usize>> {
    let Ok(view) = TiffView::new(tiff) else {
        return Vec::new();
    };
    let Some((entries, _)) = view.ifd0_offset().and_then(|o| view.ifd(o)) else {
        return Vec::new();
    };
    let Some((start, len)) = entries
        .iter()
        .find(|e| e.tag == 0xB002)
        .and_then(|e| view.value_range(e))
    else {
        return Vec::new();
    };
    (1..(len / 16).min(MAX_MPF_ENTRIES))
        .filter_map(|k| {
            let at = start + 16 * k;
            let size = view.u32_at(at + 4)? as usize;
            let offset = view.u32_at(at + 8)? as usize;
            let from = tiff_at.checked_add(offset)?;
            let to = from.checked_add(size)?;
            (offset != 0 && to <= bytes.len()).then_some(from..to)
        })
        .collect()
}

fn apple(
    bytes: &[u8],
    header: &JpegHeader<'_>,
    orientation: u32,
    max_pixels: u64,
) -> Result<Option<EmbeddedDepth>, EmbeddedDepthError> {
    let Some((tiff_at, tiff)) = header.mpf else {
        return Ok(None);
    };
    let format = EmbeddedFormat::Apple;
    for range in mpf_images(bytes, tiff_at, tiff) {
        let image = &bytes[range];
        let kind = match apple_aux_type(image) {
            Some(k @ (AppleAux::Disparity | AppleAux::Depth)) => k,
            _ => continue,
        };
        let mut plane = decode_map(format, image, orientation, max_pixels)?;
        if kind == AppleAux::Depth {
            for v in plane.data_mut() {
                *v = 1.0 - *v;
            }
        }
        return Ok(Some(EmbeddedDepth {
            format,
            encoding: DepthEncoding::RelativeDisparity,
            plane,
        }));
    }
    Ok(None)
}

/// Writers of the published layouts, for tests (unit and command line): a primary JPEG with a
/// depth map in it, as a phone would write it.
#[doc(hidden)]
pub mod fixtures {
    use std::io::Cursor;

    use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb};

    /// An 8-bit RGB JPEG of `w × h` from `f(x, y)`.
    pub fn rgb_jpeg(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let img = ImageBuffer::from_fn(w, h, |x, y| Rgb(f(x, y)));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img)
            .write_to(&mut out, ImageFormat::Jpeg)
            .expect("JPEG encodes");
        out.into_inner()
    }

    /// A grayscale image (`format`: PNG 16-bit, or JPEG 8-bit) of normalised values.
    pub fn gray_image(w: u32, h: u32, format: ImageFormat, f: impl Fn(u32, u32) -> f32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let image = if format == ImageFormat::Png {
            DynamicImage::ImageLuma16(ImageBuffer::from_fn(w, h, |x, y| {
                Luma([(f(x, y).clamp(0.0, 1.0) * 65535.0).round() as u16])
            }))
        } else {
            DynamicImage::ImageLuma8(ImageBuffer::from_fn(w, h, |x, y| {
                Luma([(f(x, y).clamp(0.0, 1.0) * 255.0).round() as u8])
            }))
        };
        image.write_to(&mut out, format).expect("image encodes");
        out.into_inner()
    }

    /// `jpeg` with `segments` (marker, body) inserted right after its SOI marker.
    pub(crate) fn with_segments(jpeg: &[u8], segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        for (marker, body) in segments {
            let len = u16::try_from(body.len() + 2).expect("segment fits");
            out.extend_from_slice(&[0xFF, *marker]);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(body);
        }
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    /// A standard XMP `APP1` segment.
    pub(crate) fn xmp_segment(packet: &str) -> (u8, Vec<u8>) {
        let mut body = super::XMP_HEADER.to_vec();
        body.extend_from_slice(packet.as_bytes());
        (0xE1, body)
    }

    /// An `APP1` EXIF segment whose IFD0 holds only the orientation.
    pub fn exif_orientation_segment(orientation: u16) -> (u8, Vec<u8>) {
        let mut body = super::EXIF_HEADER.to_vec();
        body.extend_from_slice(b"MM\0*\0\0\0\x08\0\x01");
        body.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
        body.extend_from_slice(&orientation.to_be_bytes());
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        (0xE1, body)
    }

    /// Extended XMP segments for `packet` under `guid` (32 characters), `chunk` bytes each.
    pub(crate) fn extended_xmp_segments(
        guid: &str,
        packet: &[u8],
        chunk: usize,
    ) -> Vec<(u8, Vec<u8>)> {
        packet
            .chunks(chunk)
            .enumerate()
            .map(|(k, part)| {
                let mut body = super::EXTENDED_XMP_HEADER.to_vec();
                body.extend_from_slice(guid.as_bytes());
                body.extend_from_slice(&(packet.len() as u32).to_be_bytes());
                body.extend_from_slice(&((k * chunk) as u32).to_be_bytes());
                body.extend_from_slice(part);
                (0xE1, body)
            })
            .collect()
    }

    /// Base64 (standard alphabet, padded).
    pub(crate) fn base64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in bytes.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    fn packet(description: &str, body: &str) -> String {
        format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
             xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" {description}>{body}</rdf:Description>\
             </rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
        )
    }

    /// A GDepth ("Lens Blur") JPEG: the range in the standard XMP, the base64 depth image in
    /// the extended XMP (split into 60000-byte chunks). `units` `None` leaves `GDepth:Units`
    /// out.
    pub fn gdepth_jpeg(
        primary: &[u8],
        depth_image: &[u8],
        mime: &str,
        range_format: &str,
        near: f64,
        far: f64,
        units: Option<&str>,
    ) -> Vec<u8> {
        let guid = "0123456789ABCDEF0123456789ABCDEF";
        let units = units
            .map(|u| format!(" GDepth:Units=\"{u}\""))
            .unwrap_or_default();
        let standard = packet(
            &format!(
                "xmlns:GDepth=\"http://ns.google.com/photos/1.0/depthmap/\" \
                 xmlns:xmpNote=\"http://ns.adobe.com/xmp/note/\" \
                 GDepth:Format=\"{range_format}\" GDepth:Near=\"{near}\" GDepth:Far=\"{far}\"\
                 {units} GDepth:Mime=\"{mime}\" xmpNote:HasExtendedXMP=\"{guid}\""
            ),
            "",
        );
        let extended = packet(
            "xmlns:GDepth=\"http://ns.google.com/photos/1.0/depthmap/\"",
            &format!("<GDepth:Data>{}</GDepth:Data>", base64(depth_image)),
        );
        let mut segments = vec![xmp_segment(&standard)];
        segments.extend(extended_xmp_segments(guid, extended.as_bytes(), 60_000));
        with_segments(primary, &segments)
    }

    /// A Dynamic Depth 1.0 JPEG: Device, Container directory (primary, depth) and a DepthMap in
    /// the XMP, the depth image appended after the primary JPEG (after `padding` bytes of the
    /// primary's padding).
    pub fn dynamic_depth_jpeg(
        primary: &[u8],
        depth_png: &[u8],
        range_format: &str,
        near: f64,
        far: f64,
        units: &str,
    ) -> Vec<u8> {
        let padding = 8;
        let xmp = packet(
            "xmlns:Device=\"http://ns.google.com/photos/dd/1.0/device/\" \
             xmlns:Container=\"http://ns.google.com/photos/dd/1.0/container/\" \
             xmlns:Item=\"http://ns.google.com/photos/dd/1.0/item/\" \
             xmlns:Camera=\"http://ns.google.com/photos/dd/1.0/camera/\" \
             xmlns:DepthMap=\"http://ns.google.com/photos/dd/1.0/depthmap/\"",
            &format!(
                "<Device:Container><Container:Directory><rdf:Seq>\
                 <rdf:li rdf:parseType=\"Resource\"><Container:Item Item:Mime=\"image/jpeg\" \
                 Item:Semantic=\"Primary\" Item:Padding=\"{padding}\"/></rdf:li>\
                 <rdf:li rdf:parseType=\"Resource\"><Container:Item Item:Mime=\"image/png\" \
                 Item:Semantic=\"Depth\" Item:Length=\"{}\" Item:URI=\"android/depthmap\"/></rdf:li>\
                 </rdf:Seq></Container:Directory></Device:Container>\
                 <Device:Cameras><rdf:Seq><rdf:li rdf:parseType=\"Resource\"><Device:Camera>\
                 <Camera:DepthMap DepthMap:Format=\"{range_format}\" DepthMap:Near=\"{near}\" \
                 DepthMap:Far=\"{far}\" DepthMap:Units=\"{units}\" DepthMap:ItemSemantic=\"Depth\" \
                 DepthMap:DepthURI=\"android/depthmap\"/></Device:Camera></rdf:li></rdf:Seq>\
                 </Device:Cameras>",
                depth_png.len()
            ),
        );
        let mut out = with_segments(primary, &[xmp_segment(&xmp)]);
        out.extend(std::iter::repeat_n(0u8, padding));
        out.extend_from_slice(depth_png);
        out
    }

    /// An Apple auxiliary image: a `w × h` grayscale JPEG of `f` whose XMP says it is of
    /// `aux_type` (a URN).
    pub fn apple_aux_jpeg(w: u32, h: u32, aux_type: &str, f: impl Fn(u32, u32) -> f32) -> Vec<u8> {
        let xmp = packet(
            "xmlns:apdi=\"http://ns.apple.com/pixeldatainfo/1.0/\"",
            &format!("<apdi:AuxiliaryImageType>{aux_type}</apdi:AuxiliaryImageType>"),
        );
        with_segments(
            &gray_image(w, h, ImageFormat::Jpeg, f),
            &[xmp_segment(&xmp)],
        )
    }

    /// An Apple portrait JPEG: an `APP2` MPF index in the primary JPEG listing the primary and
    /// `aux` (JPEGs, each with its own XMP already), appended in order.
    pub fn apple_portrait_jpeg(primary: &[u8], aux: &[&[u8]]) -> Vec<u8> {
        let n = 1 + aux.len();
        let mpf = |sizes: &[u32], offsets: &[u32]| {
            let mut b = b"MPF\0MM\0*\0\0\0\x08".to_vec();
            b.extend_from_slice(&3u16.to_be_bytes());
            b.extend_from_slice(&[0xB0, 0x00, 0, 7, 0, 0, 0, 4]);
            b.extend_from_slice(b"0100");
            b.extend_from_slice(&[0xB0, 0x01, 0, 4, 0, 0, 0, 1]);
            b.extend_from_slice(&(n as u32).to_be_bytes());
            b.extend_from_slice(&[0xB0, 0x02, 0, 7]);
            b.extend_from_slice(&(16 * n as u32).to_be_bytes());
            b.extend_from_slice(&50u32.to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, 0]);
            for k in 0..n {
                let attr: u32 = if k == 0 { 0x0003_0000 } else { 0 };
                b.extend_from_slice(&attr.to_be_bytes());
                b.extend_from_slice(&sizes[k].to_be_bytes());
                b.extend_from_slice(&offsets[k].to_be_bytes());
                b.extend_from_slice(&[0, 0, 0, 0]);
            }
            b
        };
        let zeros = vec![0u32; n];
        let draft = with_segments(primary, &[(0xE2, mpf(&zeros, &zeros))]);
        // The MPF TIFF header starts after SOI, the marker, the length and "MPF\0".
        let tiff_at = 2 + 4 + 4;
        let mut sizes = vec![draft.len() as u32];
        let mut offsets = vec![0u32];
        let mut at = draft.len();
        for a in aux {
            sizes.push(a.len() as u32);
            offsets.push((at - tiff_at) as u32);
            at += a.len();
        }
        let mut out = with_segments(primary, &[(0xE2, mpf(&sizes, &offsets))]);
        for a in aux {
            out.extend_from_slice(a);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use image::ImageFormat;

    use super::fixtures::*;
    use super::*;

    const MP: u64 = crate::io::DEFAULT_MAX_PIXELS;

    fn primary() -> Vec<u8> {
        rgb_jpeg(32, 24, |x, y| [(x * 8) as u8, (y * 10) as u8, 90])
    }

    /// A left-to-right ramp of normalised values 0..1 over 16 × 12.
    fn ramp(x: u32, _y: u32) -> f32 {
        x as f32 / 15.0
    }

    fn ramp_png() -> Vec<u8> {
        gray_image(16, 12, ImageFormat::Png, ramp)
    }

    #[test]
    fn gdepth_range_inverse_in_metres_is_metric() {
        let file = gdepth_jpeg(
            &primary(),
            &ramp_png(),
            "image/png",
            "RangeInverse",
            0.5,
            8.0,
            Some("m"),
        );
        let d = read_embedded_depth(&file, MP).unwrap().expect("found");
        assert_eq!(d.format, EmbeddedFormat::GDepth);
        assert_eq!(d.kind(), DepthKind::Metres);
        assert_eq!((d.plane.width(), d.plane.height()), (16, 12));
        // dn = 0 is near, dn = 1 far; in between 1/Z is linear in dn.
        assert!((d.plane.at(0, 5) - 0.5).abs() < 1e-4);
        assert!((d.plane.at(15, 5) - 8.0).abs() < 1e-3);
        let dn = 7.0 / 15.0;
        let inv = 1.0 / 0.5 - dn * (1.0 / 0.5 - 1.0 / 8.0);
        assert!((d.plane.at(7, 5) as f64 - 1.0 / inv).abs() < 1e-3);
    }

    #[test]
    fn gdepth_range_linear_in_millimetres_and_without_units() {
        let file = gdepth_jpeg(
            &primary(),
            &ramp_png(),
            "image/png",
            "RangeLinear",
            500.0,
            2000.0,
            Some("mm"),
        );
        let d = read_embedded_depth(&file, MP).unwrap().unwrap();
        assert_eq!(
            d.encoding,
            DepthEncoding::Metric {
                format: RangeFormat::RangeLinear,
                near_m: 0.5,
                far_m: 2.0
            }
        );
        assert!((d.plane.at(15, 0) - 2.0).abs() < 1e-4);
        assert!((d.plane.at(5, 0) - (0.5 + 1.5 * 5.0 / 15.0)).abs() < 1e-4);
        // No units: no scale; 1/Z in the file's units, larger = nearer.
        let file = gdepth_jpeg(
            &primary(),
            &ramp_png(),
            "image/png",
            "RangeLinear",
            1.0,
            4.0,
            None,
        );
        let d = read_embedded_depth(&file, MP).unwrap().unwrap();
        assert_eq!(d.kind(), DepthKind::Disparity);
        assert!((d.plane.at(0, 0) - 1.0).abs() < 1e-5);
        assert!((d.plane.at(15, 0) - 0.25).abs() < 1e-5);
    }

    #[test]
    fn gdepth_jpeg_depth_image_and_inline_data() {
        let jpeg_map = gray_image(16, 12, ImageFormat::Jpeg, |_, _| 0.5);
        let file = gdepth_jpeg(
            &primary(),
            &jpeg_map,
            "image/jpeg",
            "RangeLinear",
            1.0,
            3.0,
            Some("m"),
        );
        let d = read_embedded_depth(&file, MP).unwrap().unwrap();
        assert!(
            (d.plane.at(8, 6) - 2.0).abs() < 0.02,
            "{}",
            d.plane.at(8, 6)
        );
        // Data in the standard packet itself (small maps).
        let xmp = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description xmlns:G=\"http://ns.google.com/photos/1.0/depthmap/\" G:Format=\"RangeLinear\" \
             G:Near=\"1\" G:Far=\"3\" G:Units=\"m\" G:Data=\"{}\"/></rdf:RDF></x:xmpmeta>",
            base64(&ramp_png())
        );
        let file = with_segments(&primary(), &[xmp_segment(&xmp)]);
        let d = read_embedded_depth(&file, MP).unwrap().unwrap();
        assert!((d.plane.at(15, 0) - 3.0).abs() < 1e-4);
    }

    #[test]
    fn dynamic_depth_item_after_the_primary_image() {
        for units in ["Meters", "Diopters"] {
            let file =
                dynamic_depth_jpeg(&primary(), &ramp_png(), "RangeInverse", 1.0, 10.0, units);
            let d = read_embedded_depth(&file, MP).unwrap().expect("found");
            assert_eq!(d.format, EmbeddedFormat::DynamicDepth);
            assert_eq!((d.plane.width(), d.plane.height()), (16, 12));
            if units == "Meters" {
                assert_eq!(d.kind(), DepthKind::Metres);
                assert!((d.plane.at(0, 0) - 1.0).abs() < 1e-4);
                assert!((d.plane.at(15, 0) - 10.0).abs() < 1e-2);
            } else {
                assert_eq!(d.kind(), DepthKind::Disparity);
                assert!((d.plane.at(0, 0) - 1.0).abs() < 1e-4);
                assert!((d.plane.at(15, 0) - 0.1).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn apple_disparity_aux_image_from_the_mpf_index() {
        let aux = apple_aux_jpeg(16, 12, "urn:com:apple:photo:2018:aux:disparity", |x, _| {
            if x < 8 { 0.9 } else { 0.1 }
        });
        let matte = apple_aux_jpeg(
            16,
            12,
            "urn:com:apple:photo:2018:aux:portraiteffectsmatte",
            |_, _| 1.0,
        );
        let file = apple_portrait_jpeg(&primary(), &[&matte, &aux]);
        let d = read_embedded_depth(&file, MP).unwrap().expect("found");
        assert_eq!(d.format, EmbeddedFormat::Apple);
        assert_eq!(d.encoding, DepthEncoding::RelativeDisparity);
        assert!(d.plane.at(2, 6) > 0.8 && d.plane.at(13, 6) < 0.2);
        // Older files name the type differently; depth is turned around (brighter = farther).
        let aux = apple_aux_jpeg(16, 12, "kCGImageAuxiliaryDataTypeDepth", |x, _| {
            if x < 8 { 0.9 } else { 0.1 }
        });
        let d = read_embedded_depth(&apple_portrait_jpeg(&primary(), &[&aux]), MP)
            .unwrap()
            .unwrap();
        assert!(d.plane.at(2, 6) < 0.2 && d.plane.at(13, 6) > 0.8);
    }

    #[test]
    fn photos_without_a_map_have_none() {
        assert_eq!(read_embedded_depth(&primary(), MP), Ok(None));
        assert_eq!(read_embedded_depth(b"\x89PNG\r\n\x1a\n", MP), Ok(None));
        assert_eq!(read_embedded_depth(b"", MP), Ok(None));
        // A camera's MPF preview (no Apple auxiliary type) is not a depth map.
        let preview = rgb_jpeg(8, 8, |_, _| [1, 2, 3]);
        let file = apple_portrait_jpeg(&primary(), &[&preview]);
        assert_eq!(read_embedded_depth(&file, MP), Ok(None));
    }

    #[test]
    fn the_map_turns_upright_with_the_photo() {
        // Orientation 6 (turn 90° clockwise): the map's left column becomes its top row.
        let file = gdepth_jpeg(
            &primary(),
            &ramp_png(),
            "image/png",
            "RangeLinear",
            1.0,
            2.0,
            Some("m"),
        );
        let file = with_segments(&file, &[exif_orientation_segment(6)]);
        let d = read_embedded_depth(&file, MP).unwrap().unwrap();
        assert_eq!((d.plane.width(), d.plane.height()), (12, 16));
        assert!((d.plane.at(5, 0) - 1.0).abs() < 1e-4);
        assert!((d.plane.at(5, 15) - 2.0).abs() < 1e-4);
    }

    #[test]
    fn malformed_maps_are_typed_errors() {
        let p = primary();
        let bad_range = gdepth_jpeg(
            &p,
            &ramp_png(),
            "image/png",
            "RangeInverse",
            0.0,
            4.0,
            Some("m"),
        );
        assert!(matches!(
            read_embedded_depth(&bad_range, MP),
            Err(EmbeddedDepthError::BadRange { .. })
        ));
        let bad_format = gdepth_jpeg(&p, &ramp_png(), "image/png", "Spiral", 1.0, 4.0, Some("m"));
        let e = read_embedded_depth(&bad_format, MP).unwrap_err();
        assert_eq!(
            e.to_string(),
            "GDepth depth: GDepth:Format is 'Spiral', not RangeInverse or RangeLinear"
        );
        // Truncated: the last extended-XMP chunk is gone.
        let good = gdepth_jpeg(
            &p,
            &gray_image(400, 300, ImageFormat::Png, |x, y| {
                ((x * 7 + y * 13) % 101) as f32 / 100.0
            }),
            "image/png",
            "RangeLinear",
            1.0,
            4.0,
            Some("m"),
        );
        let header = jpeg_header(&good).unwrap();
        assert!(
            header.extended.len() >= 2,
            "the fixture spans several chunks"
        );
        let last = header.extended.last().unwrap();
        let cut_at =
            last.as_ptr() as usize - good.as_ptr() as usize - EXTENDED_XMP_HEADER.len() - 4;
        let mut cut = good[..cut_at].to_vec();
        cut.extend_from_slice(&good[cut_at + 4 + EXTENDED_XMP_HEADER.len() + last.len()..]);
        let e = read_embedded_depth(&cut, MP).unwrap_err();
        assert!(e.to_string().contains("(truncated)"), "{e}");
        // Corrupt base64, and a depth image that is not an image.
        let xmp = |data: &str| {
            format!(
                "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
                 <rdf:Description xmlns:GDepth=\"http://ns.google.com/photos/1.0/depthmap/\" GDepth:Format=\"RangeLinear\" \
                 GDepth:Near=\"1\" GDepth:Far=\"3\" GDepth:Data=\"{data}\"/></rdf:RDF></x:xmpmeta>"
            )
        };
        let file = with_segments(&p, &[xmp_segment(&xmp("!!!!"))]);
        assert_eq!(
            read_embedded_depth(&file, MP),
            Err(EmbeddedDepthError::Base64 {
                format: EmbeddedFormat::GDepth
            })
        );
        let file = with_segments(&p, &[xmp_segment(&xmp(&base64(b"not an image at all")))]);
        assert!(matches!(
            read_embedded_depth(&file, MP),
            Err(EmbeddedDepthError::Image { .. })
        ));
        // GDepth range without data and without the extended part.
        let file = with_segments(&p, &[header_only_gdepth()]);
        let e = read_embedded_depth(&file, MP).unwrap_err();
        assert!(
            e.to_string().starts_with("extended XMP: the part named"),
            "{e}"
        );
    }

    fn header_only_gdepth() -> (u8, Vec<u8>) {
        xmp_segment(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description xmlns:GDepth=\"http://ns.google.com/photos/1.0/depthmap/\" \
             xmlns:xmpNote=\"http://ns.adobe.com/xmp/note/\" GDepth:Format=\"RangeLinear\" \
             GDepth:Near=\"1\" GDepth:Far=\"3\" xmpNote:HasExtendedXMP=\"0123456789ABCDEF0123456789ABCDEF\"/>\
             </rdf:RDF></x:xmpmeta>",
        )
    }

    #[test]
    fn oversized_and_cut_containers_are_refused_without_allocating() {
        let p = primary();
        // Extended XMP claiming 4 GiB in one small chunk.
        let mut seg = EXTENDED_XMP_HEADER.to_vec();
        seg.extend_from_slice(b"0123456789ABCDEF0123456789ABCDEF");
        seg.extend_from_slice(&u32::MAX.to_be_bytes());
        seg.extend_from_slice(&0u32.to_be_bytes());
        seg.extend_from_slice(b"<x/>");
        let file = with_segments(&p, &[header_only_gdepth(), (0xE1, seg)]);
        let e = read_embedded_depth(&file, MP).unwrap_err();
        assert!(e.to_string().contains("over the 64 MiB limit"), "{e}");
        // Dynamic Depth item longer than the file, and a file cut inside the primary image.
        let good = dynamic_depth_jpeg(&p, &ramp_png(), "RangeLinear", 1.0, 2.0, "Meters");
        let cut = &good[..good.len() - 10];
        let e = read_embedded_depth(cut, MP).unwrap_err();
        assert!(
            e.to_string().contains("runs past the end of the file"),
            "{e}"
        );
        let in_scan = good.len() - ramp_png().len() - 8 - 20;
        let e = read_embedded_depth(&good[..in_scan], MP).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        // MPF entries pointing past the end are skipped, not followed.
        let aux = apple_aux_jpeg(16, 12, "urn:com:apple:photo:2018:aux:disparity", |_, _| 0.5);
        let apple_file = apple_portrait_jpeg(&p, &[&aux]);
        assert_eq!(
            read_embedded_depth(&apple_file[..apple_file.len() - 5], MP),
            Ok(None)
        );
        // A corrupt Apple depth image is an error.
        let mut broken = apple_file.clone();
        // Its marker segments after the XMP (tables, frame header) zeroed.
        let aux_at = broken.len() - aux.len();
        let after_xmp = aux_at + 4 + usize::from(u16::from_be_bytes([aux[4], aux[5]]));
        for b in &mut broken[after_xmp..after_xmp + 200] {
            *b = 0;
        }
        assert!(matches!(
            read_embedded_depth(&broken, MP),
            Err(EmbeddedDepthError::Image { .. })
        ));
        // Pixel limit on the depth image.
        let big = gdepth_jpeg(
            &p,
            &ramp_png(),
            "image/png",
            "RangeLinear",
            1.0,
            2.0,
            Some("m"),
        );
        assert!(matches!(
            read_embedded_depth(&big, 100),
            Err(EmbeddedDepthError::Image { .. })
        ));
    }

    #[test]
    fn base64_round_trip_and_garbage() {
        for n in 0..10 {
            let data: Vec<u8> = (0..n as u8).map(|k| k.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64(&data)).unwrap(), data);
        }
        assert_eq!(base64_decode("QUJD\nREVG"), Some(b"ABCDEF".to_vec()));
        assert_eq!(base64_decode("QU=JD"), None);
        assert_eq!(base64_decode("Q"), None);
    }

    #[test]
    fn any_bytes_after_a_jpeg_header_never_panic() {
        let file = dynamic_depth_jpeg(&primary(), &ramp_png(), "RangeLinear", 1.0, 2.0, "Meters");
        for cut in (0..file.len()).step_by(97) {
            let _ = read_embedded_depth(&file[..cut], MP);
        }
        let mut flipped = file.clone();
        for k in (0..flipped.len()).step_by(53) {
            flipped[k] ^= 0x5A;
            let _ = read_embedded_depth(&flipped, MP);
        }
    }
}
