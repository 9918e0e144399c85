//! Issue 11's reading-side cases (hostile metadata, unbounded side files, misleading decoder
//! messages), in the format of `reliability_support`: each case is generated in its own
//! folder with the `fstop` arguments to run and what must happen. Shared by
//! `tests/reliability_io.rs` and `examples/reliability_table.rs`; needs `reliability_support`
//! declared next to it (as `reliability_support`).
#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use super::reliability_support::{
    Case, Expect, H, Shell, W, crc32, disparity_png, exif_orientation, jpeg_bytes, photo_png,
    photo_rgb8,
};

pub use fstop::synthetic::zlib_zeros;

/// A PNG chunk with its CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    c.extend_from_slice(&body);
    c.extend_from_slice(&crc32(&body).to_be_bytes());
    c
}

/// Inserts `chunk` right after a PNG's IHDR.
pub fn png_with_chunk(png: &[u8], chunk: &[u8]) -> Vec<u8> {
    let mut out = png[..33].to_vec();
    out.extend_from_slice(chunk);
    out.extend_from_slice(&png[33..]);
    out
}

/// The test photo with an `iCCP` chunk whose profile inflates to `inflated` zero bytes.
pub fn png_icc_bomb(inflated: u64) -> Vec<u8> {
    let mut iccp = b"bomb\0\0".to_vec();
    iccp.extend(zlib_zeros(inflated));
    png_with_chunk(&photo_png(), &png_chunk(b"iCCP", &iccp))
}

/// The test photo with a valid EXIF block padded to `bytes` (an `eXIf` chunk).
pub fn png_big_exif(bytes: usize) -> Vec<u8> {
    let mut exif = exif_orientation(1);
    exif.resize(bytes, 0x20);
    png_with_chunk(&photo_png(), &png_chunk(b"eXIf", &exif))
}

/// The test photo as a baseline JPEG whose start-of-frame is rewritten: `marker` (0xC9 makes
/// it arithmetic-coded) and sample `precision`.
pub fn jpeg_with_frame(marker: u8, precision: u8) -> Vec<u8> {
    let mut j = jpeg_bytes(
        &photo_rgb8(W, H, 1),
        W as u16,
        H as u16,
        jpeg_encoder::ColorType::Rgb,
        None,
        None,
    );
    let sof = j
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame");
    j[sof + 1] = marker;
    j[sof + 4] = precision;
    j
}

/// A float (32-bit RGB) TIFF of the test photo in linear light, with `patch` applied to the
/// samples.
pub fn float_tiff(patch: impl Fn(&mut [f32])) -> Vec<u8> {
    let mut data: Vec<f32> = photo_rgb8(W, H, 1)
        .iter()
        .map(|&v| (f32::from(v) / 255.0).powf(2.2))
        .collect();
    patch(&mut data);
    let mut out = Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut out)
        .unwrap()
        .write_image::<tiff::encoder::colortype::RGB32Float>(W, H, &data)
        .unwrap();
    out.into_inner()
}

/// The test photo as a lossless WebP in the extended format, with an `EXIF` chunk at the end
/// that claims `claimed` bytes but holds 16.
pub fn webp_exif_claiming(claimed: u32) -> Vec<u8> {
    let mut simple = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut simple)
        .encode(&photo_rgb8(W, H, 1), W, H, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut w = b"RIFF\0\0\0\0WEBP".to_vec();
    w.extend(b"VP8X");
    w.extend(10u32.to_le_bytes());
    w.extend([0x08, 0, 0, 0]); // flags: EXIF
    w.extend(&(W - 1).to_le_bytes()[..3]);
    w.extend(&(H - 1).to_le_bytes()[..3]);
    w.extend(&simple[12..]); // the VP8L chunk
    w.extend(b"EXIF");
    w.extend(claimed.to_le_bytes());
    w.extend([0u8; 16]);
    let riff = (w.len() - 8) as u32;
    w[4..8].copy_from_slice(&riff.to_le_bytes());
    w
}

fn s(v: &str) -> String {
    v.to_string()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|v| s(v)).collect()
}

fn with_depth(input: &str, output: &str) -> Vec<String> {
    args(&[input, "-o", output, "--depth", "d.png"])
}

fn fails(code: i32, needles: &[&str]) -> Expect {
    Expect::Fails {
        code,
        needles: needles.iter().map(|n| n.to_string()).collect(),
    }
}

fn renders(outputs: &[&'static str], warning: &[&'static str]) -> Expect {
    Expect::Renders {
        outputs: outputs.to_vec(),
        warning: Some(warning.to_vec()),
    }
}

/// The peak virtual memory the bomb cases run under (`ulimit -v`, KiB): a 1 GiB allocation
/// cannot succeed.
pub const BOMB_ULIMIT_KIB: u64 = 768 * 1024;

/// Builds every case under `root` (which must exist and be empty); none needs the models.
pub fn cases(root: &Path) -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    let mut case = |group: &'static str,
                    label: &'static str,
                    files: Vec<(&'static str, Vec<u8>)>,
                    args: Vec<String>,
                    shell: Option<(&str, &str)>,
                    expect: Expect| {
        let dir = root.join(format!("io{:02}", out.len() + 1));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("d.png"), disparity_png(W, H)).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        out.push(Case {
            group,
            label,
            dir,
            args,
            shell: shell.map(|(before, after)| Shell {
                before: before.to_string(),
                after: after.to_string(),
                namespace: false,
            }),
            expect,
        });
    };
    let ulimit = format!("ulimit -v {BOMB_ULIMIT_KIB};");
    let ulimit = ulimit.as_str();

    // --- Metadata bombs -------------------------------------------------------------------
    case(
        "photo metadata",
        "PNG whose ICC profile inflates to 1 GiB (a 6.6 MB file), under `ulimit -v` 768 MiB",
        vec![("bomb.png", png_icc_bomb(1 << 30))],
        with_depth("bomb.png", "out.png"),
        Some((ulimit, "")),
        renders(
            &["out.png"],
            &[
                "bomb.png",
                "ICC profile inflates to more than the 16 MiB limit; ignored",
            ],
        ),
    );
    case(
        "photo metadata",
        "WebP whose EXIF chunk claims 4 GiB past the end of the file, under `ulimit -v` 768 MiB",
        vec![("claims.webp", webp_exif_claiming(0xFFFF_FFF0))],
        with_depth("claims.webp", "out.png"),
        Some((ulimit, "")),
        renders(
            &["out.png"],
            &[
                "claims.webp",
                "EXIF data chunk claims 4294967280 bytes, past the end",
            ],
        ),
    );
    case(
        "photo metadata",
        "PNG with 100 KB of EXIF, written as JPEG (one APP1 segment holds 64 KiB)",
        vec![("exif.png", png_big_exif(100_000))],
        with_depth("exif.png", "out.jpg"),
        None,
        renders(
            &["out.jpg"],
            &[
                "warning: exif.png: EXIF data is 100000 bytes, over the 65527 a JPEG holds",
                "not written to the output",
            ],
        ),
    );

    // --- Decoder messages -----------------------------------------------------------------
    case(
        "photo format",
        "arithmetic-coded JPEG (SOF9)",
        vec![("arith.jpg", jpeg_with_frame(0xC9, 8))],
        with_depth("arith.jpg", "out.png"),
        None,
        fails(1, &["arith.jpg", "JPEG not supported (arithmetic coding)"]),
    );
    case(
        "photo format",
        "12-bit JPEG (SOF1, precision 12)",
        vec![("deep.jpg", jpeg_with_frame(0xC1, 12))],
        with_depth("deep.jpg", "out.png"),
        None,
        fails(1, &["deep.jpg", "JPEG not supported (12-bit precision)"]),
    );
    case(
        "photo format",
        "float TIFF with 40 pixels brighter than 1.0 (up to 8.0)",
        vec![(
            "hdr.tif",
            float_tiff(|d| {
                for px in d.chunks_exact_mut(3).take(40) {
                    px.copy_from_slice(&[8.0, 2.0, 1.5]);
                }
            }),
        )],
        with_depth("hdr.tif", "out.png"),
        None,
        renders(
            &["out.png"],
            &[
                "hdr.tif: 40 pixels have float values above 1.0 (up to 8)",
                "clipped to 1.0",
            ],
        ),
    );
    case(
        "photo format",
        "float TIFF with 3 NaN and 2 infinite pixels",
        vec![(
            "nan.tif",
            float_tiff(|d| {
                for i in 0..3 {
                    d[i * 3] = f32::NAN;
                }
                d[30] = f32::INFINITY;
                d[33] = f32::NEG_INFINITY;
            }),
        )],
        with_depth("nan.tif", "out.png"),
        None,
        renders(
            &["out.png"],
            &["nan.tif: 5 pixels have NaN or infinite float values: NaN and -inf set to 0"],
        ),
    );

    // --- Side files -----------------------------------------------------------------------
    let photo = || ("p.png", photo_png());
    case(
        "side files",
        "--preset /dev/zero",
        vec![photo()],
        args(&[
            "p.png",
            "-o",
            "out.png",
            "--depth",
            "d.png",
            "--preset",
            "/dev/zero",
        ]),
        None,
        fails(2, &["/dev/zero: is a character device, not a regular file"]),
    );
    case(
        "side files",
        "--config /dev/zero",
        vec![photo()],
        args(&[
            "--config",
            "/dev/zero",
            "p.png",
            "-o",
            "out.png",
            "--depth",
            "d.png",
        ]),
        None,
        fails(2, &["/dev/zero: is a character device, not a regular file"]),
    );
    case(
        "side files",
        "--depth /dev/zero",
        vec![photo()],
        args(&["p.png", "-o", "out.png", "--depth", "/dev/zero"]),
        None,
        fails(1, &["/dev/zero: is a character device, not a regular file"]),
    );
    case(
        "side files",
        "--matte /dev/zero",
        vec![photo()],
        args(&[
            "p.png",
            "-o",
            "out.png",
            "--depth",
            "d.png",
            "--matte",
            "/dev/zero",
        ]),
        None,
        fails(1, &["/dev/zero: is a character device, not a regular file"]),
    );
    case(
        "side files",
        "--preset naming a FIFO nobody writes to (run under `timeout 20`)",
        vec![photo()],
        args(&[
            "p.png",
            "-o",
            "out.png",
            "--depth",
            "d.png",
            "--preset",
            "fifo.toml",
        ]),
        Some(("mkfifo fifo.toml; timeout 20", "rm -f fifo.toml;")),
        fails(
            2,
            &["fifo.toml: is a named pipe (FIFO), not a regular file"],
        ),
    );
    case(
        "side files",
        "--preset file of 2 MiB (comments)",
        vec![
            photo(),
            ("big.toml", {
                let mut t = b"focal_length_mm = 85\n".to_vec();
                while t.len() < 2 << 20 {
                    t.extend_from_slice(b"# padding padding padding padding padding padding\n");
                }
                t
            }),
        ],
        args(&[
            "p.png", "-o", "out.png", "--depth", "d.png", "--preset", "big.toml",
        ]),
        None,
        fails(
            2,
            &[
                "big.toml: is 2097",
                "over the limit of 1048576 bytes for a preset file",
            ],
        ),
    );
    case(
        "side files",
        "--depth naming a sparse 4 GiB file",
        vec![photo()],
        args(&["p.png", "-o", "out.png", "--depth", "sparse.npy"]),
        Some(("truncate -s 4G sparse.npy;", "rm -f sparse.npy;")),
        fails(
            1,
            &[
                "sparse.npy: is 4294967296 bytes, over the limit of",
                "for an image file",
            ],
        ),
    );
    out
}
