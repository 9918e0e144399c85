//! Fuzzing entry points, shared by the cargo-fuzz targets in `fuzz/` and the stable-Rust smoke
//! run in `tests/fuzz_smoke.rs`. Not part of the API.
//!
//! Each function takes arbitrary bytes, must return (a panic is the bug being looked for), and
//! asserts what holds for every input: errors are one line naming the file, accepted values are
//! in range, planes have the size they claim.

use std::path::Path;

use crate::config::Config;
use crate::depth::DepthKind;
use crate::io::{self, DEFAULT_MAX_PIXELS};
use crate::optics::Lens;
use crate::preset::{self, PresetSource};
use crate::scene::Plane;

/// The name the inputs go by in messages.
pub const FILE: &str = "fuzz.toml";

fn assert_one_line(message: &str, prefix: &str) {
    assert!(
        message.starts_with(prefix),
        "error does not start with {prefix:?}: {message:?}"
    );
    assert!(!message.contains('\n'), "multi-line error: {message:?}");
}

/// A preset file (`fstop::preset::parse`). An accepted preset applied to the default lens gives
/// a lens that validates; a refused one is a one-line `fuzz.toml:LINE:COLUMN: …` error.
pub fn preset_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match preset::parse("fuzz", FILE, text, PresetSource::BuiltIn) {
        Ok(p) => {
            let mut lens = Lens::default();
            p.fields.lens.apply_to_lens(&mut lens);
            if let Err(e) = lens.validate() {
                panic!("accepted preset gives an invalid lens ({e}): {lens:?}");
            }
        }
        Err(e) => assert_one_line(&e.to_string(), &format!("{FILE}:")),
    }
}

/// A configuration file (`fstop::config::Config::parse`): accepted lens fields validate on
/// the default lens; a refusal is a one-line `fuzz.toml:LINE:COLUMN: …` error.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(FILE, text) {
        Ok(c) => {
            let mut lens = Lens::default();
            c.lens.apply_to_lens(&mut lens);
            if let Err(e) = lens.validate() {
                panic!("accepted configuration gives an invalid lens ({e}): {lens:?}");
            }
        }
        Err(e) => assert_one_line(&e.to_string(), &format!("{FILE}:")),
    }
}

fn check_plane(p: &Plane) {
    assert!(
        p.width() > 0 && p.height() > 0,
        "empty plane {}×{}",
        p.width(),
        p.height()
    );
    assert_eq!(p.data().len(), p.width() * p.height(), "plane size");
    assert!((p.width() * p.height()) as u64 <= DEFAULT_MAX_PIXELS);
}

/// `.npy` arrays (`fstop::io::parse_npy`).
pub fn npy(data: &[u8]) {
    match io::parse_npy(data) {
        Ok(p) => check_plane(&p),
        Err(e) => assert_one_line(&e.to_string(), ""),
    }
}

/// `.pfm` images (`fstop::io::parse_pfm`).
pub fn pfm(data: &[u8]) {
    match io::parse_pfm(data) {
        Ok(p) => check_plane(&p),
        Err(e) => assert_one_line(&e.to_string(), ""),
    }
}

/// A depth or matte file of any kind (`.npy`, `.pfm`, PNG, JPEG, TIFF, WebP), as
/// `fstop::io::read_depth` / `read_matte` would read it from disk. Arrays default to metres and
/// images to disparity; mattes are always 0..1; errors are one line naming the file.
pub fn depth_file(data: &[u8]) {
    let name = Path::new("fuzz-depth.png");
    let prefix = "fuzz-depth.png: ";
    match io::read_depth_bytes(name, data, None) {
        Ok((p, kind)) => {
            check_plane(&p);
            // Arrays are metres by default, images relative disparity.
            let array = data.starts_with(b"\x93NUMPY")
                || data.starts_with(b"Pf")
                || data.starts_with(b"PF");
            assert_eq!(kind == DepthKind::Metres, array, "default depth kind");
        }
        Err(e) => assert_one_line(&e.to_string(), prefix),
    }
    match io::read_matte_bytes(name, data) {
        Ok(p) => {
            check_plane(&p);
            assert!(
                p.data().iter().all(|v| (0.0..=1.0).contains(v)),
                "matte outside 0..1"
            );
        }
        Err(e) => assert_one_line(&e.to_string(), prefix),
    }
}

/// An XMP packet (`fstop::io::xmp::clean_xmp`, with and without GPS stripping). A cleaned
/// packet is readable and cleans to itself; a refusal is a one-line reason.
pub fn xmp(data: &[u8]) {
    use crate::io::xmp::{XmpClean, clean_xmp};
    for clean in [XmpClean::default(), XmpClean { strip_gps: true }] {
        match clean_xmp(data, clean) {
            Ok(out) => {
                let again = clean_xmp(&out, clean)
                    .unwrap_or_else(|e| panic!("a cleaned packet is unreadable ({e})"));
                assert!(again == out, "cleaning twice changes the packet");
            }
            Err(e) => assert!(!e.contains('\n'), "multi-line reason: {e:?}"),
        }
    }
}

/// A fuzz entry point.
pub(crate) type Target = fn(&[u8]);

/// Every entry point, by name (for the smoke test and the fuzz targets).
pub const TARGETS: [(&str, Target); 6] = [
    ("preset_toml", preset_toml),
    ("config_toml", config_toml),
    ("npy", npy),
    ("pfm", pfm),
    ("depth_file", depth_file),
    ("xmp", xmp),
];
