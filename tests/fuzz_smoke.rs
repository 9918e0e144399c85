//! A short, deterministic, stable-Rust run of the fuzz entry points (`fstop::fuzzing`, the same
//! functions the cargo-fuzz targets in `fuzz/` call) over pseudo-random and mutated valid
//! inputs: none may panic. A failing input is written to the temp folder and printed in hex so
//! it can be replayed with `cargo fuzz run TARGET FILE` or added to a test.
//!
//! `FSTOP_FUZZ_ITERATIONS=N` runs N iterations per target instead of the default (20000, about
//! 0.2 s in all); `FSTOP_FUZZ_SEED=S` starts from another pseudo-random seed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use fstop::fuzzing;

/// SplitMix64: small, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Interesting byte strings to splice in: numbers at the edges, TOML syntax, magic numbers.
const TOKENS: &[&[u8]] = &[
    b"=",
    b"\"",
    b"'",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b".",
    b"\n",
    b"#",
    b"'''",
    b"\"\"\"",
    b"inf",
    b"-inf",
    b"nan",
    b"+nan",
    b"0",
    b"-0",
    b"-1",
    b"1e308",
    b"1e-320",
    b"1e999",
    b"4294967296",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"0x7fffffff",
    b"true",
    b"1979-05-27T07:32:00Z",
    b"\\u0000",
    b"\xc3\xa9",
    b"\xf0\x9f\x93\xb7",
    b"focal_length_mm",
    b"f_number",
    b"blades",
    b"blade_curvature",
    b"blade_rotation_deg",
    b"sensor",
    b"focus",
    b"preset",
    b"jobs",
    b"max_pixels",
    b"exclude",
    b"\x93NUMPY",
    b"'descr'",
    b"'<f4'",
    b"'shape'",
    b"(0, 0)",
    b"(4294967296, 2)",
    b"fortran_order",
    b"True",
    b"Pf\n",
    b"PF\n",
    b"-1.0\n",
    b"65535 65535\n",
    b"\x89PNG\r\n\x1a\n",
    b"IHDR",
    b"IDAT",
    b"\xff\xd8\xff",
    b"II*\0",
    b"RIFF",
];

/// One mutation of `seed` (or of a mix with `other`).
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let n = b.len();
        match rng.below(9) {
            0 => b.truncate(rng.below(n + 1)),
            1 if n > 0 => {
                let i = rng.below(n);
                b[i] = rng.next() as u8;
            }
            2 if n > 0 => {
                let i = rng.below(n);
                b[i] ^= 1 << rng.below(8);
            }
            3 => {
                let i = rng.below(n + 1);
                let t = TOKENS[rng.below(TOKENS.len())];
                b.splice(i..i, t.iter().copied());
            }
            4 if n > 0 => {
                let (i, j) = (rng.below(n), rng.below(n));
                let (lo, hi) = (i.min(j), i.max(j));
                b.drain(lo..hi);
            }
            5 if n > 0 => {
                // Duplicate a chunk.
                let i = rng.below(n);
                let len = rng.below((n - i).min(64) + 1);
                let chunk: Vec<u8> = b[i..i + len].to_vec();
                let at = rng.below(n + 1);
                b.splice(at..at, chunk);
            }
            6 if !other.is_empty() => {
                // Splice with another seed.
                let cut = rng.below(n + 1);
                let from = rng.below(other.len());
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            7 => {
                let i = rng.below(n + 1);
                let len = rng.below(16);
                let extra = rng.bytes(len);
                b.splice(i..i, extra);
            }
            _ if n > 0 => {
                // Overwrite a little-endian number with an edge value.
                let i = rng.below(n);
                let edge: [u8; 4] = match rng.below(4) {
                    0 => [0; 4],
                    1 => [0xff; 4],
                    2 => 0x7fff_ffffu32.to_le_bytes(),
                    _ => f32::NAN.to_le_bytes(),
                };
                for (k, v) in edge.iter().enumerate() {
                    if i + k < b.len() {
                        b[i + k] = *v;
                    }
                }
            }
            _ => {}
        }
    }
    b
}

fn iterations(default: usize) -> usize {
    std::env::var("FSTOP_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `target` on every seed, on random bytes and on mutations; reports the first panic.
fn run(name: &str, target: fn(&[u8]), seeds: &[Vec<u8>], text: bool, n: usize) {
    let seed: u64 = std::env::var("FSTOP_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xF5_7095);
    let mut rng = Rng(seed ^ (name.len() as u64).wrapping_mul(0x1000_0001));
    let mut inputs: Vec<Vec<u8>> = seeds.to_vec();
    inputs.push(Vec::new());
    for i in 0..n {
        let input = if i % 10 == 0 {
            let len = rng.below(256);
            rng.bytes(len)
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            let other = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed, other)
        };
        // Text targets skip non-UTF-8 input; keep most inputs valid so they get parsed.
        let input = if text && i % 4 != 0 {
            String::from_utf8_lossy(&input).into_owned().into_bytes()
        } else {
            input
        };
        inputs.push(input);
    }
    let mut failure = None;
    for input in &inputs {
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| target(input))) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failure = Some((input.clone(), msg));
            break;
        }
    }
    if let Some((input, msg)) = failure {
        let path = std::env::temp_dir().join(format!("fstop-fuzz-{name}-crash.bin"));
        std::fs::write(&path, &input).unwrap();
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        panic!(
            "{name} panicked: {msg}\ninput ({} bytes, saved to {}): {hex}\nas text: {:?}",
            input.len(),
            path.display(),
            String::from_utf8_lossy(&input)
        );
    }
}

fn repo_file(rel: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

fn preset_seeds() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    for s in [
        "focal_length_mm = 800\nf_number = 0.95\nblades = 0\n",
        "blades = 32\nblade_curvature = 0.0\nblade_rotation_deg = -720.5\n",
        "sensor = \"23.5mm\"\nhighlight_threshold = 1.0\nhighlight_gain = 0\n",
        "description = \"\u{1F4F7} émigré\"\nf_number = 22\n",
        "focal_length_mm = 10\nsensor = \"1-inch\"\n",
    ] {
        seeds.push(s.as_bytes().to_vec());
    }
    seeds
}

fn config_seeds() -> Vec<Vec<u8>> {
    let mut seeds = preset_seeds();
    for s in [
        "preset = \"135mm-f2\"\nf_number = 2.8\nfocus = \"3m\"\n",
        "focus = \"auto\"\nbackground_distance_m = \"inf\"\ndepth_kind = \"metres\"\n",
        // The batch keys (jobs, name, exclude, …) are the command line's (cli::batch_config).
        "strip_metadata = \"gps\"\nort_lib = \"/tmp/libonnxruntime.so\"\n",
        "max_pixels = 1000\njpeg_quality = 92\nkernel = \"reference\"\n",
        "sensor_width_mm = 36\n",
        "depth_model = \"fastdepth\"\nmatte_model = \"modnet\"\nmodel_dir = \"/tmp\"\n",
        "focus = 2.5\nbackground_distance_m = 20\n",
    ] {
        seeds.push(s.as_bytes().to_vec());
    }
    seeds
}

/// A `.npy` with the given dtype, order, shape text and raw data; format version 1 or 2.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8], version: u8) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let prefix = if version == 1 { 10 } else { 12 };
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((header.len() as u16).to_le_bytes());
    } else {
        out.extend((header.len() as u32).to_le_bytes());
    }
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn npy_seeds() -> Vec<Vec<u8>> {
    let f4: Vec<u8> = [1.0f32, 2.0, f32::NAN, -3.0, f32::INFINITY, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let f8: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    vec![
        npy("<f4", false, "(2, 3)", &f4, 1),
        npy("<f4", true, "(2, 3, 1)", &f4, 2),
        npy("<f8", false, "(1, 2, 3)", &f8, 1),
        npy("|u1", false, "(2, 3)", &[0, 1, 2, 3, 4, 255], 1),
        npy("<u2", true, "(3, 2)", &f4[..12], 1),
        npy("<f4", false, "(1, 1)", &f4[..4], 1),
    ]
}

fn pfm(tag: &str, w: usize, h: usize, scale: &str, values: &[f32]) -> Vec<u8> {
    let le = scale.starts_with('-');
    let mut out = format!("{tag}\n{w} {h}\n{scale}\n").into_bytes();
    for v in values {
        out.extend(if le { v.to_le_bytes() } else { v.to_be_bytes() });
    }
    out
}

fn pfm_seeds() -> Vec<Vec<u8>> {
    let v: Vec<f32> = (0..18).map(|i| i as f32 * 0.5 - 2.0).collect();
    vec![
        pfm("Pf", 3, 2, "-1.0", &v[..6]),
        pfm("Pf", 2, 3, "1.0", &v[..6]),
        pfm("PF", 3, 2, "-0.5", &v),
        pfm("Pf", 1, 1, "-1", &[f32::NAN]),
    ]
}

fn image_bytes(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut c = std::io::Cursor::new(Vec::new());
    img.write_to(&mut c, format).unwrap();
    c.into_inner()
}

fn depth_seeds() -> Vec<Vec<u8>> {
    use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, Rgba};
    let gray8 = ImageBuffer::from_fn(6, 4, |x, y| Luma([(x * 40 + y * 10) as u8]));
    let gray16 = ImageBuffer::from_fn(5, 3, |x, y| Luma([(x * 9000 + y * 700) as u16]));
    let ga = ImageBuffer::from_fn(4, 4, |x, y| LumaA([(x * 60) as u8, (y * 80) as u8]));
    let rgb = ImageBuffer::from_fn(4, 3, |x, _| Rgb([(x * 50) as u8; 3]));
    let rgba = ImageBuffer::from_fn(3, 3, |x, y| Rgba([9, 9, 9, (x * 100 + y) as u8]));
    let mut seeds = vec![
        image_bytes(DynamicImage::ImageLuma8(gray8.clone()), ImageFormat::Png),
        image_bytes(DynamicImage::ImageLuma16(gray16.clone()), ImageFormat::Png),
        image_bytes(DynamicImage::ImageLumaA8(ga), ImageFormat::Png),
        image_bytes(DynamicImage::ImageRgb8(rgb), ImageFormat::Png),
        image_bytes(DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
        image_bytes(DynamicImage::ImageLuma16(gray16), ImageFormat::Tiff),
        image_bytes(DynamicImage::ImageLuma8(gray8), ImageFormat::Jpeg),
    ];
    seeds.extend(npy_seeds());
    seeds.extend(pfm_seeds());
    seeds
}

#[test]
fn preset_toml_survives_random_and_mutated_text() {
    run(
        "preset_toml",
        fuzzing::preset_toml,
        &preset_seeds(),
        true,
        iterations(20000),
    );
}

#[test]
fn config_toml_survives_random_and_mutated_text() {
    run(
        "config_toml",
        fuzzing::config_toml,
        &config_seeds(),
        true,
        iterations(20000),
    );
}

#[test]
fn npy_survives_random_and_mutated_bytes() {
    run("npy", fuzzing::npy, &npy_seeds(), false, iterations(20000));
}

#[test]
fn pfm_survives_random_and_mutated_bytes() {
    run("pfm", fuzzing::pfm, &pfm_seeds(), false, iterations(20000));
}

#[test]
fn depth_and_matte_files_survive_random_and_mutated_bytes() {
    run(
        "depth_file",
        fuzzing::depth_file,
        &depth_seeds(),
        false,
        iterations(20000),
    );
}

/// XMP packets: attribute and element form, a container directory, GPS, an orientation.
fn xmp_seeds() -> Vec<Vec<u8>> {
    let rdf = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">"#;
    [
        r#"<rdf:Description rdf:about="" xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/" xmlns:exif="http://ns.adobe.com/exif/1.0/" GDepth:Near="1.5" exif:GPSLatitude="51,30N" exif:FNumber="9/5"/>"#,
        r#"<rdf:Description xmlns:Container="http://ns.google.com/photos/1.0/container/" xmlns:Item="http://ns.google.com/photos/1.0/container/item/"><Container:Directory><rdf:Seq><rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Length="42"/></rdf:li></rdf:Seq></Container:Directory></rdf:Description>"#,
        "<rdf:Description xmlns:tiff='http://ns.adobe.com/tiff/1.0/'><tiff:Orientation>6</tiff:Orientation><dc:creator>A &amp; B</dc:creator></rdf:Description>",
    ]
    .iter()
    .map(|d| format!("\u{feff}<?xpacket begin=\"\u{feff}\"?>{rdf}\n{d}\n</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>").into_bytes())
    .collect()
}

#[test]
fn xmp_survives_random_and_mutated_text() {
    run("xmp", fuzzing::xmp, &xmp_seeds(), true, iterations(20000));
}

#[test]
fn every_fuzz_entry_point_is_smoke_tested_and_has_a_target() {
    let names: Vec<&str> = fuzzing::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "preset_toml",
            "config_toml",
            "npy",
            "pfm",
            "depth_file",
            "xmp"
        ]
    );
    // The fuzz crate has a target per entry point, each calling it.
    for name in names {
        let src = String::from_utf8(repo_file(&format!("fuzz/fuzz_targets/{name}.rs"))).unwrap();
        assert!(
            src.contains(&format!("fstop::fuzzing::{name}(")),
            "fuzz/fuzz_targets/{name}.rs does not call fstop::fuzzing::{name}"
        );
    }
    // And the seeds themselves are accepted (the mutations start from valid inputs).
    for s in xmp_seeds() {
        assert!(fstop::io::xmp::clean_xmp(&s, Default::default()).is_ok());
    }
    for s in npy_seeds() {
        assert!(fstop::io::parse_npy(&s).is_ok());
    }
    for s in pfm_seeds() {
        assert!(fstop::io::parse_pfm(&s).is_ok());
    }
    for s in preset_seeds() {
        let t = String::from_utf8(s).unwrap();
        assert!(
            fstop::preset::parse("x", "x.toml", &t, fstop::preset::PresetSource::BuiltIn).is_ok(),
            "{t}"
        );
    }
    for s in config_seeds() {
        let t = String::from_utf8(s).unwrap();
        // Presets are not configurations (description is not a key); the others parse.
        if !t.contains("description") {
            assert!(fstop::config::Config::parse("x.toml", &t).is_ok(), "{t}");
        }
    }
}

/// Found by this smoke run: `.npy` errors quoted header text verbatim, so a newline in the
/// shape made a multi-line message (and a huge header a huge one).
#[test]
fn npy_errors_quote_header_text_on_one_short_line() {
    use fstop::io::{ArrayFileError, ArrayFormat};
    let e = fstop::io::parse_npy(&npy("|u1", false, "(PF\n2, 3)", &[0; 6], 1)).unwrap_err();
    assert_eq!(
        e,
        ArrayFileError::CorruptHeader {
            format: ArrayFormat::Npy,
            what: Some("shape (PF\\n2, 3)".into()),
        }
    );
    assert_eq!(e.to_string(), "corrupt .npy header (shape (PF\\n2, 3))");
    let long = format!("({})", "7, ".repeat(5000));
    let e = fstop::io::parse_npy(&npy("<f4", false, &long, &[0; 6], 2)).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ArrayFileError::NotTwoDimensional(_)), "{e}");
    assert!(text.len() < 200 && text.contains('…'), "{e}");
    let e = fstop::io::parse_npy(&npy("<\nf4", false, "(1, 1)", &[0; 4], 1)).unwrap_err();
    assert_eq!(e, ArrayFileError::UnsupportedDtype("<\\nf4".into()));
    assert!(
        e.to_string().starts_with("unsupported .npy dtype '<\\nf4'"),
        "{e}"
    );
}
