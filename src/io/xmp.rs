//! XMP clean-up: one XML-aware pass over the packet that edits it in place.
//!
//! The packet is read with a namespace-resolving XML reader, so properties are recognised by
//! their namespace URI, whatever prefix the writer chose, in attribute form (on
//! `rdf:Description`) and in element form alike. Only the byte ranges of what changes are
//! touched: every other byte of the packet — other properties, formatting, padding, the
//! `xpacket` wrapper — is kept as it was.
//!
//! * Dropped (they point at data fstop does not write: the depth map, the unblurred original,
//!   the appended motion-photo video or depth container, a gain map, extended XMP): everything
//!   in the Google depth (`GDepth`), image (`GImage`), container (`Container`, `Item`) and
//!   Dynamic Depth device, container and item namespaces, and the Ultra HDR gain map (`hdrgm`)
//!   namespace, with their namespace declarations; `GCamera:MotionPhoto*` and
//!   `GCamera:MicroVideo*` (also written with the prefix `Camera`); `xmpNote:HasExtendedXMP`.
//! * With [`XmpClean::strip_gps`]: `exif:GPS*` too.
//! * Reset: `tiff:Orientation` to 1 (the pixels are turned upright on input); embedded
//!   `xmpGImg:image` thumbnails emptied.
//!
//! A packet that is not UTF-8 or not well-formed XML cannot be checked and is not written back.

use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;

/// What to remove besides the properties that point at dropped data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XmpClean {
    /// Remove the GPS properties (`exif:GPS*`).
    pub strip_gps: bool,
}

const NS_EXIF: &str = "http://ns.adobe.com/exif/1.0";
const NS_TIFF: &str = "http://ns.adobe.com/tiff/1.0";
const NS_XMP_IMAGE: &str = "http://ns.adobe.com/xap/1.0/g/img";
const NS_XMP_NOTE: &str = "http://ns.adobe.com/xmp/note";
const NS_GCAMERA: &str = "http://ns.google.com/photos/1.0/camera";

/// Namespaces whose every property goes (URIs without their trailing `/`).
const DROPPED_NAMESPACES: &[&str] = &[
    "http://ns.google.com/photos/1.0/depthmap", // GDepth: the depth map
    "http://ns.google.com/photos/1.0/image",    // GImage: the unblurred original
    "http://ns.google.com/photos/1.0/container", // Container: appended items
    "http://ns.google.com/photos/1.0/container/item", // Item
    "http://ns.google.com/photos/dd/1.0/device", // Dynamic Depth device
    "http://ns.google.com/photos/dd/1.0/container",
    "http://ns.google.com/photos/dd/1.0/item",
    "http://ns.adobe.com/hdr-gain-map/1.0", // hdrgm: the gain map image
];

/// Namespace URIs for the conventional prefixes, for packets that use a prefix without
/// declaring it.
const CONVENTIONAL_PREFIXES: &[(&str, &str)] = &[
    ("GDepth", "http://ns.google.com/photos/1.0/depthmap"),
    ("GImage", "http://ns.google.com/photos/1.0/image"),
    ("Container", "http://ns.google.com/photos/1.0/container"),
    ("GContainer", "http://ns.google.com/photos/1.0/container"),
    ("Item", "http://ns.google.com/photos/1.0/container/item"),
    (
        "GContainerItem",
        "http://ns.google.com/photos/1.0/container/item",
    ),
    ("Device", "http://ns.google.com/photos/dd/1.0/device"),
    ("hdrgm", "http://ns.adobe.com/hdr-gain-map/1.0"),
    ("GCamera", NS_GCAMERA),
    ("Camera", NS_GCAMERA),
    ("xmpNote", NS_XMP_NOTE),
    ("exif", NS_EXIF),
    ("tiff", NS_TIFF),
    ("xmpGImg", NS_XMP_IMAGE),
];

/// A namespace URI as compared here: without a trailing `/`.
pub(super) fn normalised(uri: &str) -> &str {
    uri.strip_suffix('/').unwrap_or(uri)
}

/// What happens to a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Keep,
    Drop,
    /// Its value becomes this text.
    Replace(&'static str),
}

fn action(namespace: Option<&str>, local: &str, clean: XmpClean) -> Action {
    let Some(ns) = namespace.map(normalised) else {
        return Action::Keep;
    };
    if DROPPED_NAMESPACES.contains(&ns) {
        return Action::Drop;
    }
    match ns {
        NS_GCAMERA if local.starts_with("MotionPhoto") || local.starts_with("MicroVideo") => {
            Action::Drop
        }
        NS_XMP_NOTE if local == "HasExtendedXMP" => Action::Drop,
        NS_EXIF if clean.strip_gps && local.starts_with("GPS") => Action::Drop,
        NS_TIFF if local == "Orientation" => Action::Replace("1"),
        NS_XMP_IMAGE if local == "image" => Action::Replace(""),
        _ => Action::Keep,
    }
}

/// The namespace of a resolved name, falling back on the conventional prefixes.
pub(super) fn namespace_of<'a>(resolved: &'a ResolveResult<'_>, name: &'a str) -> Option<&'a str> {
    match resolved {
        ResolveResult::Bound(ns) => Some(ns.0),
        ResolveResult::Unknown(_) | ResolveResult::Unbound => {
            let prefix = name.split_once(':')?.0;
            CONVENTIONAL_PREFIXES
                .iter()
                .find(|(p, _)| *p == prefix)
                .map(|(_, uri)| *uri)
        }
    }
}

/// The reason for a parse error: one line of at most 160 characters without control
/// characters (the reader's message quotes the packet).
fn malformed(e: impl std::fmt::Display) -> String {
    let text = format!("not well-formed XML: {e}");
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    match line.char_indices().nth(159) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

/// Where `part` (a slice of `whole`) starts in `whole`.
fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (start + part.len() <= whole.len()).then_some(start)
}

/// `at` moved back over the whitespace before it.
fn back_over_whitespace(text: &str, at: usize) -> usize {
    text[..at].trim_end_matches([' ', '\t', '\r', '\n']).len()
}

/// One change: `range` of the packet becomes `with`.
#[derive(Debug)]
struct Edit {
    range: Range<usize>,
    with: &'static str,
}

/// An element being dropped or having its content replaced, until its end tag.
#[derive(Debug)]
struct Open {
    depth: usize,
    start: usize,
    action: Action,
}

/// The XMP packet cleaned (see the module documentation), or why it cannot be read.
pub fn clean_xmp(xmp: &[u8], clean: XmpClean) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(xmp).map_err(|_| "not UTF-8".to_string())?;
    // The reader skips a leading byte order mark without counting it in its positions: parse
    // what follows the marks, and put them back.
    let body = text.trim_start_matches('\u{feff}');
    let (bom, text) = text.split_at(text.len() - body.len());
    let out = clean_once(text, clean)?;
    // What was written must read back the same, with nothing left to remove.
    if out != text && clean_once(&out, clean).as_deref() != Ok(out.as_str()) {
        return Err("it cannot be cleaned reliably".into());
    }
    Ok([bom, &out].concat().into_bytes())
}

/// A character that cannot be part of an element or attribute name.
fn bad_name_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || "\"'<>=&/?!;,()[]{}".contains(c)
}

/// One cleaning pass over a packet without a leading byte order mark.
fn clean_once(text: &str, clean: XmpClean) -> Result<String, String> {
    let mut reader = NsReader::from_str(text);
    reader.resolver_mut().set_max_namespace_bindings(4096);
    let mut edits: Vec<Edit> = Vec::new();
    let mut open: Option<Open> = None;
    let mut depth = 0usize;
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(malformed)?;
        let end = reader.buffer_position() as usize;
        match event {
            Event::Start(_) if open.is_some() => depth += 1,
            Event::Empty(_) if open.is_some() => {}
            Event::Start(ref e) | Event::Empty(ref e) => {
                if e.name().0.contains(bad_name_char) {
                    return Err(malformed(format!("bad element name '{}'", e.name().0)));
                }
                let is_start = matches!(event, Event::Start(_));
                let (resolved, local) = reader.resolver().resolve_element(e.name());
                let act = action(namespace_of(&resolved, e.name().0), local.as_ref(), clean);
                match act {
                    Action::Drop if is_start => {
                        open = Some(Open {
                            depth,
                            start: back_over_whitespace(text, start),
                            action: act,
                        })
                    }
                    Action::Drop => edits.push(Edit {
                        range: back_over_whitespace(text, start)..end,
                        with: "",
                    }),
                    _ => {
                        attribute_edits(&reader, text, e, clean, &mut edits)?;
                        // The content of an element-form value is replaced at its end tag
                        // (an empty element has none).
                        if matches!(act, Action::Replace(_)) && is_start {
                            open = Some(Open {
                                depth,
                                start: end,
                                action: act,
                            });
                        }
                    }
                }
                if is_start {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if let Some(o) = open.take_if(|o| o.depth == depth) {
                    edits.push(match o.action {
                        Action::Replace(with) => Edit {
                            range: o.start..start,
                            with,
                        },
                        _ => Edit {
                            range: o.start..end,
                            with: "",
                        },
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(o) = open {
        // Unclosed at the end of the packet: everything from it on goes.
        if o.action == Action::Drop {
            edits.push(Edit {
                range: o.start..text.len(),
                with: "",
            });
        }
    }
    Ok(apply(text, edits))
}

/// Edits for the attributes of one start tag: properties in attribute form and namespace
/// declarations of dropped namespaces.
fn attribute_edits(
    reader: &NsReader<&[u8]>,
    text: &str,
    tag: &BytesStart<'_>,
    clean: XmpClean,
    edits: &mut Vec<Edit>,
) -> Result<(), String> {
    for attr in tag.attributes() {
        let attr = attr.map_err(malformed)?;
        let key: QName<'_> = attr.key;
        if key.0.contains(bad_name_char) {
            return Err(malformed(format!("bad attribute name '{}'", key.0)));
        }
        let act = if key.as_namespace_binding().is_some() {
            if DROPPED_NAMESPACES.contains(&normalised(&attr.value)) {
                Action::Drop
            } else {
                Action::Keep
            }
        } else {
            let (resolved, local) = reader.resolver().resolve_attribute(key);
            action(namespace_of(&resolved, key.0), local.as_ref(), clean)
        };
        if act == Action::Keep {
            continue;
        }
        let (key_at, value) = offset_in(text, key.0)
            .and_then(|k| Some((k, value_range(text, k + key.0.len())?)))
            .ok_or("an attribute could not be located")?;
        edits.push(match act {
            Action::Replace(with) => Edit { range: value, with },
            _ => {
                // The attribute and the space before it go; a space stays when the next
                // attribute followed without one (the reader allows that).
                let end = value.end + 1;
                let glued = !text[end..]
                    .starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/');
                Edit {
                    range: back_over_whitespace(text, key_at)..end,
                    with: if glued { " " } else { "" },
                }
            }
        });
    }
    Ok(())
}

/// The value of the attribute whose name ends at `after_key`: between its quotes.
fn value_range(text: &str, after_key: usize) -> Option<Range<usize>> {
    let rest = text.get(after_key..)?;
    let rest_eq = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest_eq.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let open = after_key + (rest.len() - rest_eq.len()) + 1;
    let len = text[open..].find(quote)?;
    Some(open..open + len)
}

/// Applies the edits; an edit inside an earlier one (a property inside a dropped one) is
/// already covered by it.
fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.range.start, std::cmp::Reverse(e.range.end)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        if e.range.start < at {
            continue;
        }
        out.push_str(&text[at..e.range.start]);
        out.push_str(e.with);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The XMP namespace of fstop's own properties.
pub const XMP_NAMESPACE: &str = "urn:fstop:xmp:1/";

/// The opening of fstop property `name`'s attribute: `fstop:NAME="`.
fn own_attribute(name: &str) -> String {
    format!("fstop:{name}=\"")
}

/// The `rdf:Description` element fstop adds for its property `name` with `value` (which must
/// not contain `"`).
pub(crate) fn own_description(name: &str, value: &str) -> String {
    format!(
        "<rdf:Description rdf:about=\"\" xmlns:fstop=\"{XMP_NAMESPACE}\" {}{value}\"/>",
        own_attribute(name)
    )
}

/// The value of fstop property `name` in an XMP packet, if any.
pub(crate) fn own_property<'a>(xmp: &'a [u8], name: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(xmp).ok()?;
    let attribute = own_attribute(name);
    let start = text.find(&attribute)? + attribute.len();
    let end = text[start..].find('"')?;
    Some(&text[start..start + end])
}

/// `xmp` with `description` (an [`own_description`] of property `name`) in it: a previous
/// description of that property removed, the new one added as the first child of `rdf:RDF`;
/// a fresh packet when `xmp` is absent, not UTF-8 or has no `rdf:RDF` element.
pub(crate) fn with_own_description(xmp: Option<&[u8]>, name: &str, description: &str) -> Vec<u8> {
    let text = xmp.and_then(|x| std::str::from_utf8(x).ok());
    let Some(text) = text else {
        return packet(description);
    };
    let text = without_own_description(text, name);
    let Some(open) = text.find("<rdf:RDF") else {
        return packet(description);
    };
    let Some(close) = text[open..].find('>') else {
        return packet(description);
    };
    let at = open + close + 1;
    format!("{}{description}{}", &text[..at], &text[at..]).into_bytes()
}

/// A minimal XMP packet holding `description`.
fn packet(description: &str) -> Vec<u8> {
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">{description}\
         </rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    )
    .into_bytes()
}

/// Removes the descriptions of property `name` fstop added (exactly as [`own_description`]
/// writes them).
fn without_own_description(text: &str, name: &str) -> String {
    let head = format!(
        "<rdf:Description rdf:about=\"\" xmlns:fstop=\"{XMP_NAMESPACE}\" {}",
        own_attribute(name)
    );
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&head) {
        let Some(end) = rest[i..].find("\"/>") else {
            break;
        };
        out.push_str(&rest[..i]);
        rest = &rest[i + end + 3..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(xmp: &str, strip_gps: bool) -> String {
        let out = clean_xmp(xmp.as_bytes(), XmpClean { strip_gps }).unwrap();
        let out = String::from_utf8(out).unwrap();
        // Still well-formed, and cleaning again changes nothing.
        let again = clean_xmp(out.as_bytes(), XmpClean { strip_gps }).unwrap();
        assert_eq!(String::from_utf8(again).unwrap(), out);
        out
    }

    /// A portrait-mode packet: the depth map and the unblurred original in attribute form, as
    /// the main packet of a JPEG whose data went to extended XMP.
    const PORTRAIT_ATTRIBUTES: &str =
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"Adobe XMP Core 5.1.0-jc003\">
  <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">
    <rdf:Description rdf:about=\"\"
        xmlns:GFocus=\"http://ns.google.com/photos/1.0/focus/\"
        xmlns:GImage=\"http://ns.google.com/photos/1.0/image/\"
        xmlns:GDepth=\"http://ns.google.com/photos/1.0/depthmap/\"
        xmlns:xmpNote=\"http://ns.adobe.com/xmp/note/\"
        xmlns:tiff=\"http://ns.adobe.com/tiff/1.0/\"
      GFocus:BlurAtInfinity=\"0.0123\"
      GFocus:FocalDistance=\"18.5\"
      GImage:Mime=\"image/jpeg\"
      GDepth:Format=\"RangeInverse\"
      GDepth:Near=\"11.25\"
      GDepth:Far=\"57.5\"
      GDepth:Mime=\"image/png\"
      tiff:Orientation=\"6\"
      xmpNote:HasExtendedXMP=\"0F3A9C1E77B24D5E8A6B2C4D9E1F3A5B\"/>
  </rdf:RDF>
</x:xmpmeta>
<?xpacket end=\"w\"?>";

    #[test]
    fn portrait_depth_and_original_in_attribute_form_go() {
        let out = cleaned(PORTRAIT_ATTRIBUTES, false);
        for gone in [
            "GDepth",
            "GImage",
            "HasExtendedXMP",
            "RangeInverse",
            "0F3A9C",
        ] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
        for kept in [
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>",
            "xmlns:GFocus=\"http://ns.google.com/photos/1.0/focus/\"",
            "GFocus:FocalDistance=\"18.5\"",
            "xmlns:xmpNote=\"http://ns.adobe.com/xmp/note/\"",
            "tiff:Orientation=\"1\"",
            "<?xpacket end=\"w\"?>",
        ] {
            assert!(out.contains(kept), "{kept} missing from:\n{out}");
        }
        // Only the removed attributes' lines went; the layout of the rest is as it was.
        assert!(out.contains("GFocus:FocalDistance=\"18.5\"\n      tiff:Orientation=\"1\"/>"));
        assert_eq!(out.lines().count(), PORTRAIT_ATTRIBUTES.lines().count() - 8);
    }

    #[test]
    fn element_form_with_any_prefix_goes() {
        // The namespace decides, not the prefix: `gd` and `gi` here.
        let xmp = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:gd="http://ns.google.com/photos/1.0/depthmap/"
    xmlns:gi="http://ns.google.com/photos/1.0/image/" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/">
   <gd:Format>RangeLinear</gd:Format>
   <gd:Data>iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==</gd:Data>
   <gi:Data>/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHR8eHR0a</gi:Data>
   <dc:creator><rdf:Seq><rdf:li>Ada</rdf:li></rdf:Seq></dc:creator>
   <tiff:Orientation>8</tiff:Orientation>
   <xmp:Thumbnails><rdf:Alt><rdf:li rdf:parseType="Resource">
    <xmpGImg:image>/9j/4AAQSkZJRg==</xmpGImg:image></rdf:li></rdf:Alt></xmp:Thumbnails>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"#;
        let out = cleaned(xmp, false);
        for gone in [
            "gd:",
            "gi:",
            "RangeLinear",
            "iVBOR",
            "/9j/",
            "depthmap",
            "photos/1.0/image",
        ] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
        assert!(out.contains("<rdf:li>Ada</rdf:li>"));
        assert!(out.contains("<tiff:Orientation>1</tiff:Orientation>"));
        assert!(out.contains("<xmpGImg:image></xmpGImg:image>"));
        assert!(
            out.contains("<rdf:Description rdf:about=\"\" xmlns:dc="),
            "{out}"
        );
    }

    /// A motion photo / Dynamic Depth primary packet: the directory of the items appended
    /// after the JPEG's end.
    const CONTAINER: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 5.1.0-jc003">
  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
    <rdf:Description rdf:about=""
        xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"
        xmlns:Container="http://ns.google.com/photos/1.0/container/"
        xmlns:Item="http://ns.google.com/photos/1.0/container/item/"
        xmlns:exif="http://ns.adobe.com/exif/1.0/"
      GCamera:MotionPhoto="1"
      GCamera:MotionPhotoVersion="1"
      GCamera:MotionPhotoPresentationTimestampUs="733412"
      GCamera:BurstID="b1d4e0c2"
      exif:GPSLatitude="51,30.4395N"
      exif:GPSLongitude="0,7.6535W"
      exif:ExposureTime="1/120">
      <Container:Directory>
        <rdf:Seq>
          <rdf:li rdf:parseType="Resource">
            <Container:Item
              Item:Mime="image/jpeg"
              Item:Semantic="Primary"
              Item:Length="0"
              Item:Padding="0"/>
          </rdf:li>
          <rdf:li rdf:parseType="Resource">
            <Container:Item
              Item:Mime="video/mp4"
              Item:Semantic="MotionPhoto"
              Item:Length="2841120"
              Item:Padding="0"/>
          </rdf:li>
        </rdf:Seq>
      </Container:Directory>
      <exif:GPSAltitude>3512/100</exif:GPSAltitude>
    </rdf:Description>
  </rdf:RDF>
</x:xmpmeta>"#;

    #[test]
    fn motion_photo_container_goes_and_gps_on_request() {
        let out = cleaned(CONTAINER, false);
        for gone in ["Container", "Item", "MotionPhoto", "video/mp4", "733412"] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
        for kept in [
            "xmlns:GCamera=\"http://ns.google.com/photos/1.0/camera/\"",
            "GCamera:BurstID=\"b1d4e0c2\"",
            "exif:GPSLatitude=\"51,30.4395N\"",
            "<exif:GPSAltitude>3512/100</exif:GPSAltitude>",
        ] {
            assert!(out.contains(kept), "{kept} missing from:\n{out}");
        }
        let out = cleaned(CONTAINER, true);
        assert!(!out.contains("GPS"), "{out}");
        assert!(
            out.contains("exif:ExposureTime=\"1/120\">\n    </rdf:Description>"),
            "{out}"
        );
    }

    #[test]
    fn dynamic_depth_device_and_gain_map_go() {
        let xmp = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:Device="http://ns.google.com/photos/dd/1.0/device/" xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" hdrgm:Version="1.0" dc:format="image/jpeg">
<Device:Container rdf:parseType="Resource"><Container:Directory><rdf:Seq><rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Depth"/></rdf:li></rdf:Seq></Container:Directory></Device:Container>
<Device:Profiles><rdf:Seq><rdf:li rdf:parseType="Resource"><Profile:Type>DepthPhoto</Profile:Type></rdf:li></rdf:Seq></Device:Profiles>
</rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let out = cleaned(xmp, false);
        for gone in ["Device", "hdrgm", "Container", "Depth"] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
        assert!(
            out.contains("dc:format=\"image/jpeg\">\n</rdf:Description>"),
            "{out}"
        );
    }

    #[test]
    fn samsung_micro_video_and_undeclared_prefixes_go() {
        // Older motion photos: MicroVideo with the offset of the appended video; some writers
        // use the `Camera` prefix, some forget to declare theirs.
        let xmp = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:Camera="http://ns.google.com/photos/1.0/camera/" Camera:MotionPhoto="1" Camera:MotionPhotoVersion="1"/>
<rdf:Description rdf:about="" GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="3042911" GCamera:MicroVideoPresentationTimestampUs="1533215" xmp:Rating="4"/>
</rdf:RDF></x:xmpmeta>"#;
        let out = cleaned(xmp, false);
        assert!(
            !out.contains("MotionPhoto") && !out.contains("MicroVideo"),
            "{out}"
        );
        assert!(out.contains(r#"<rdf:Description rdf:about="" xmlns:Camera="http://ns.google.com/photos/1.0/camera/"/>"#));
        assert!(
            out.contains(r#"<rdf:Description rdf:about="" xmp:Rating="4"/>"#),
            "{out}"
        );
    }

    #[test]
    fn orientation_and_thumbnails_without_declarations() {
        let xmp = r#"<x:xmpmeta><rdf:Description tiff:Orientation='8' xmp:CreatorTool="cam">
            <xmp:Thumbnails><rdf:Alt><rdf:li><xmpGImg:image>/9j/4AAQSkZJRg==</xmpGImg:image>
            </rdf:li></rdf:Alt></xmp:Thumbnails><tiff:Orientation>6</tiff:Orientation>
            </rdf:Description></x:xmpmeta>"#;
        let out = cleaned(xmp, false);
        assert!(out.contains("tiff:Orientation='1'"));
        assert!(out.contains("<tiff:Orientation>1</tiff:Orientation>"));
        assert!(out.contains("<xmpGImg:image></xmpGImg:image>"));
        assert!(!out.contains("/9j/"));
        assert!(out.contains("xmp:CreatorTool=\"cam\""));
        // Text without markup (nothing to clean) and packets with nothing to clean are kept
        // byte for byte.
        assert_eq!(cleaned("just text", true), "just text");
        let plain = "<?xpacket begin=\"\u{feff}\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\">
  <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">
    <rdf:Description xmlns:tiff=\"http://ns.adobe.com/tiff/1.0/\" tiff:Orientation=\"1\"
        xmlns:GCamera=\"http://ns.google.com/photos/1.0/camera/\" GCamera:BurstID=\"b1\">
      <dc:creator xmlns:dc=\"http://purl.org/dc/elements/1.1/\">Ada &amp; Grace</dc:creator>
    </rdf:Description>
  </rdf:RDF>
</x:xmpmeta>
                                                                
<?xpacket end=\"w\"?>";
        assert_eq!(cleaned(plain, true), plain);
    }

    #[test]
    fn element_form_items_and_a_byte_order_mark() {
        // Items written as elements inside `rdf:li`, two prefixes for the camera namespace,
        // and a byte order mark before the packet (the reader does not count it).
        let xmp = "\u{feff}<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">
 <rdf:Description rdf:about=\"\" xmlns:GCamera=\"http://ns.google.com/photos/1.0/camera/\"
   xmlns:Camera=\"http://ns.google.com/photos/1.0/camera/\" xmlns:Container=\"http://ns.google.com/photos/1.0/container/\"
   xmlns:Item=\"http://ns.google.com/photos/1.0/container/item/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"
   GCamera:MotionPhoto=\"1\" Camera:MotionPhoto=\"1\" GCamera:MicroVideoOffset=\"812345\" dc:title=\"Zoë\">
  <Container:Directory>
   <rdf:Seq>
    <rdf:li rdf:parseType=\"Resource\">
     <Container:Item rdf:parseType=\"Resource\"><Item:Mime>image/jpeg</Item:Mime><Item:Semantic>Primary</Item:Semantic></Container:Item>
    </rdf:li>
    <rdf:li rdf:parseType=\"Resource\">
     <Item:Mime>video/mp4</Item:Mime><Item:Semantic>MotionPhoto</Item:Semantic><Item:Length>812345</Item:Length>
    </rdf:li>
   </rdf:Seq>
  </Container:Directory>
 </rdf:Description>
</rdf:RDF></x:xmpmeta>";
        let out = cleaned(xmp, false);
        assert!(out.starts_with("\u{feff}<x:xmpmeta"), "{out}");
        for gone in ["Container", "Item", "Motion", "MicroVideo", "812345"] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
        assert!(
            out.contains("dc:title=\"Zoë\">\n </rdf:Description>"),
            "{out}"
        );
    }

    #[test]
    fn unreadable_packets_are_refused() {
        let clean = XmpClean::default();
        assert_eq!(
            clean_xmp(&[0xFF, 0xFE, b'<', 0], clean).unwrap_err(),
            "not UTF-8"
        );
        let err = clean_xmp(b"<x:xmpmeta><rdf:RDF></x:xmpmeta>", clean).unwrap_err();
        assert!(err.starts_with("not well-formed XML"), "{err}");
        let err = clean_xmp(b"<a b=\"1\" b=\"2\"/>", clean).unwrap_err();
        assert!(err.starts_with("not well-formed XML"), "{err}");
    }

    #[test]
    fn own_descriptions_are_added_found_and_replaced() {
        let d = own_description("Thing", "a b");
        assert_eq!(
            d,
            "<rdf:Description rdf:about=\"\" xmlns:fstop=\"urn:fstop:xmp:1/\" fstop:Thing=\"a b\"/>"
        );
        let fresh = with_own_description(None, "Thing", &d);
        assert!(
            String::from_utf8(fresh.clone())
                .unwrap()
                .starts_with("<?xpacket begin")
        );
        assert_eq!(own_property(&fresh, "Thing"), Some("a b"));
        assert_eq!(own_property(&fresh, "Other"), None);
        let theirs = "<x:xmpmeta><rdf:RDF a=\"1\"><rdf:Description x=\"y\"/></rdf:RDF></x:xmpmeta>";
        let with = with_own_description(Some(theirs.as_bytes()), "Thing", &d);
        let again = with_own_description(Some(&with), "Thing", &own_description("Thing", "c"));
        assert_eq!(
            String::from_utf8(again).unwrap(),
            theirs.replace(
                "a=\"1\">",
                &format!("a=\"1\">{}", own_description("Thing", "c"))
            )
        );
        // Another property's description stays.
        let both = with_own_description(Some(&with), "Other", &own_description("Other", "z"));
        assert_eq!(own_property(&both, "Thing"), Some("a b"));
        assert_eq!(own_property(&both, "Other"), Some("z"));
        // Not UTF-8, or no rdf:RDF: a fresh packet.
        assert_eq!(with_own_description(Some(&[0xff]), "Thing", &d), fresh);
        assert_eq!(with_own_description(Some(b"<x/>"), "Thing", &d), fresh);
    }
}
