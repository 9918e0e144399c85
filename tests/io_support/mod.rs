//! Fixture builders shared by the `io_*` tests. Every fixture is generated here, in memory.
#![allow(dead_code, unused_imports)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};

pub use fstop::io::colour::{linear_to_srgb, srgb_to_linear};

/// A fresh temporary folder.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Files in `dir` whose names end in fstop's temp suffix.
pub fn temp_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(fstop::io::atomic::TEMP_SUFFIX) || n.starts_with(".tmp"))
        .collect()
}

/// A hand-built EXIF block (TIFF structure): IFD0 with Orientation, Make ("fstop test") and
/// Artist, and optionally IFD1 with a fake JPEG thumbnail at the end.
pub fn build_exif(little_endian: bool, orientation: u16, artist: &str, thumb: bool) -> Vec<u8> {
    assert!(artist.len() >= 4, "keep the artist out of line");
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
    let ifd0_end = 8 + 2 + 3 * 12 + 4;
    let make_off = ifd0_end as u32;
    let artist_off = make_off + make.len() as u32;
    let ifd1_off = (artist_off + artist_z.len() as u32 + 1) & !1;
    w16(&mut b, 3);
    w16(&mut b, 0x0112); // Orientation
    w16(&mut b, 3);
    w32(&mut b, 1);
    w16(&mut b, orientation);
    w16(&mut b, 0);
    w16(&mut b, 0x010F); // Make
    w16(&mut b, 2);
    w32(&mut b, make.len() as u32);
    w32(&mut b, make_off);
    w16(&mut b, 0x013B); // Artist
    w16(&mut b, 2);
    w32(&mut b, artist_z.len() as u32);
    w32(&mut b, artist_off);
    w32(&mut b, if thumb { ifd1_off } else { 0 });
    b.extend_from_slice(make);
    b.extend_from_slice(&artist_z);
    while b.len() < ifd1_off as usize {
        b.push(0);
    }
    if thumb {
        let thumb_off = ifd1_off + 2 + 2 * 12 + 4;
        let data = thumbnail_bytes();
        w16(&mut b, 2);
        w16(&mut b, 0x0201);
        w16(&mut b, 4);
        w32(&mut b, 1);
        w32(&mut b, thumb_off);
        w16(&mut b, 0x0202);
        w16(&mut b, 4);
        w32(&mut b, 1);
        w32(&mut b, data.len() as u32);
        w32(&mut b, 0);
        b.extend_from_slice(&data);
    }
    b
}

/// The fake thumbnail's bytes (recognisable marker text).
pub fn thumbnail_bytes() -> Vec<u8> {
    let mut v = b"\xFF\xD8".to_vec();
    v.extend_from_slice(b"UNBLURRED-THUMBNAIL-PAYLOAD");
    v.extend_from_slice(b"\xFF\xD9");
    v
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub const XMP: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"><dc:creator>fstop-xmp-creator</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;

/// A JPEG made with jpeg-encoder (4:4:4), with optional EXIF, XMP and ICC segments.
pub fn jpeg_bytes(
    rgb: &[u8],
    w: u16,
    h: u16,
    quality: u8,
    exif: Option<&[u8]>,
    xmp: Option<&[u8]>,
    icc: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    if let Some(e) = exif {
        enc.add_exif_metadata(e).unwrap();
    }
    if let Some(x) = xmp {
        let mut seg = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
        seg.extend_from_slice(x);
        enc.add_app_segment(1, seg).unwrap();
    }
    if let Some(p) = icc {
        enc.add_icc_profile(p).unwrap();
    }
    enc.encode(rgb, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

/// A PNG made with the png crate, with optional ICC, EXIF and XMP.
#[allow(clippy::too_many_arguments)]
pub fn png_bytes(
    data: &[u8],
    w: u32,
    h: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
    xmp: Option<&str>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut info = png::Info::with_size(w, h);
    info.color_type = color;
    info.bit_depth = depth;
    info.icc_profile = icc.map(Cow::Borrowed);
    info.exif_metadata = exif.map(Cow::Borrowed);
    let mut enc = png::Encoder::with_info(&mut out, info).unwrap();
    if let Some(x) = xmp {
        enc.add_itxt_chunk("XML:com.adobe.xmp".into(), x.into())
            .unwrap();
    }
    let mut wr = enc.write_header().unwrap();
    wr.write_image_data(data).unwrap();
    wr.finish().unwrap();
    out
}

/// 16-bit samples as PNG's big-endian bytes.
pub fn be16(samples: &[u16]) -> Vec<u8> {
    samples.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// Decodes a file with the image crate, without orientation or colour handling.
pub fn raw_decode(path: &Path) -> image::DynamicImage {
    image::ImageReader::open(path)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap()
}

/// A deterministic pseudo-random byte for fixtures.
pub fn noise(i: usize, seed: u32) -> u8 {
    fstop::io::colour::hash3(i as u32, seed, 7) as u8
}

/// Colours of the four quadrants of the asymmetric test image (TL, TR, BL, BR).
pub const QUADRANTS: [[u8; 3]; 4] = [[220, 30, 30], [30, 200, 40], [40, 50, 210], [230, 230, 230]];

/// An upright `w×h` RGB image with four differently coloured quadrants.
pub fn quadrant_image(w: usize, h: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let q = (usize::from(y >= h / 2) << 1) | usize::from(x >= w / 2);
            v.extend_from_slice(&QUADRANTS[q]);
        }
    }
    v
}

/// The stored image for EXIF orientation `o` whose display (after applying `o`) is the upright
/// `w×h` image `u`. Returns (stored width, stored height, pixels). Mapping per the EXIF spec
/// (which stored row/column is the visual top/left), written out independently of any library.
pub fn stored_for_orientation(u: &[u8], w: usize, h: usize, o: u16) -> (usize, usize, Vec<u8>) {
    let (sw, sh) = if o >= 5 { (h, w) } else { (w, h) };
    let mut s = vec![0u8; w * h * 3];
    for uy in 0..h {
        for ux in 0..w {
            // Stored coordinates of upright pixel (ux, uy).
            let (sx, sy) = match o {
                1 => (ux, uy),
                2 => (w - 1 - ux, uy),
                3 => (w - 1 - ux, h - 1 - uy),
                4 => (ux, h - 1 - uy),
                5 => (uy, ux),
                6 => (uy, w - 1 - ux),
                7 => (h - 1 - uy, w - 1 - ux),
                8 => (h - 1 - uy, ux),
                _ => unreachable!(),
            };
            let si = (sy * sw + sx) * 3;
            let ui = (uy * w + ux) * 3;
            s[si..si + 3].copy_from_slice(&u[ui..ui + 3]);
        }
    }
    (sw, sh, s)
}

/// The linear colour at (x, y) of a photo, as sRGB 0..255.
pub fn srgb255(photo: &fstop::LinearRgb, x: usize, y: usize) -> [f32; 3] {
    photo
        .at(x, y)
        .map(|v| linear_to_srgb(v.clamp(0.0, 1.0)) * 255.0)
}

pub fn assert_close3(got: [f32; 3], want: [u8; 3], tol: f32, what: &str) {
    for c in 0..3 {
        assert!(
            (got[c] - want[c] as f32).abs() <= tol,
            "{what}: channel {c}: got {got:?}, want {want:?}"
        );
    }
}
