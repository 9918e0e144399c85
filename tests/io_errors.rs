//! Bad input and output: every failure is a one-line error naming the file, nothing panics,
//! the pixel limit is enforced from the header before allocating, and writes are atomic.

mod io_support;

use std::path::Path;
use std::time::{Duration, Instant};

use fstop::io::{
    DecodeOptions, EncodeOptions, IoError, Metadata, read_depth, read_matte, read_photo,
    write_photo, write_plane_png16,
};
use fstop::{LinearRgb, Plane};
use io_support::*;

fn decode_error(p: &Path) -> String {
    let e = read_photo(p, &DecodeOptions::default()).unwrap_err();
    let s = e.to_string();
    assert!(
        s.starts_with(&p.display().to_string()),
        "error does not start with the file: {s}"
    );
    assert!(!s.contains('\n'), "multi-line error: {s}");
    assert_eq!(e.path(), p);
    s
}

/// CRC-32 (IEEE) for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    c.extend_from_slice(&body);
    c.extend_from_slice(&crc32(&body).to_be_bytes());
    c
}

/// A PNG whose IHDR claims `w×h` RGB pixels, with a tiny IDAT and IEND.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn crafted_png_header_is_valid_png() {
    // The helper builds real PNGs: a 1×1 one with a proper IDAT decodes.
    let dir = tmp();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
    // zlib of [filter 0, gray 0x80]
    png.extend(chunk(
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x02, 0x00, 0xfd, 0xff, 0x00, 0x80, 0x00, 0x82, 0x00, 0x81,
        ],
    ));
    png.extend(chunk(b"IEND", &[]));
    let p = write(dir.path(), "one.png", &png);
    let photo = read_photo(&p, &DecodeOptions::default()).unwrap();
    assert!((photo.color.at(0, 0)[0] - srgb_to_linear(128.0 / 255.0)).abs() < 1e-6);
}

#[test]
fn giant_png_header_is_refused_before_allocating() {
    let dir = tmp();
    let p = write(dir.path(), "huge.png", &png_claiming(100_000, 100_000));
    let t = Instant::now();
    let e = read_photo(&p, &DecodeOptions::default()).unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    match &e {
        IoError::TooLarge {
            width,
            height,
            pixels,
            limit,
            ..
        } => {
            assert_eq!((*width, *height), (100_000, 100_000));
            assert_eq!(*pixels, 10_000_000_000);
            assert_eq!(*limit, fstop::io::DEFAULT_MAX_PIXELS);
        }
        other => panic!("expected TooLarge, got {other}"),
    }
    let s = e.to_string();
    assert!(
        s.starts_with(&p.display().to_string()) && s.contains("--max-pixels"),
        "{s}"
    );
    // The same limit guards depth maps and mattes read from images.
    assert!(matches!(
        read_depth(&p, None),
        Err(IoError::TooLarge { .. })
    ));
    assert!(matches!(read_matte(&p), Err(IoError::TooLarge { .. })));
}

#[test]
fn pixel_limit_option_and_giant_jpeg_header() {
    let dir = tmp();
    let img = quadrant_image(16, 8);
    let jpg = jpeg_bytes(&img, 16, 8, 90, None, None, None);
    let p = write(dir.path(), "small.jpg", &jpg);
    let strict = DecodeOptions { max_pixels: 100 };
    assert!(matches!(
        read_photo(&p, &strict),
        Err(IoError::TooLarge { pixels: 128, .. })
    ));
    assert!(read_photo(&p, &DecodeOptions { max_pixels: 128 }).is_ok());

    // Patch the frame header to claim 65535×65535 (4.3 gigapixels).
    let mut big = jpg.clone();
    let sof = big
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF");
    big[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let p = write(dir.path(), "giant.jpg", &big);
    let t = Instant::now();
    let e = read_photo(&p, &DecodeOptions::default()).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(
            e,
            IoError::TooLarge {
                width: 65535,
                height: 65535,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn empty_truncated_text_and_missing_files() {
    let dir = tmp();
    let p = write(dir.path(), "photo.jpg", b"");
    let e = decode_error(&p);
    assert!(
        e.ends_with("photo.jpg: not a JPEG/PNG/TIFF/WebP image (file is empty)"),
        "{e}"
    );

    let p = write(dir.path(), "notes.jpg", b"Shopping list:\n- eggs\n- film\n");
    let e = decode_error(&p);
    assert!(
        e.contains("not a JPEG/PNG/TIFF/WebP image") && e.contains("text file"),
        "{e}"
    );

    let jpg = jpeg_bytes(&quadrant_image(64, 64), 64, 64, 90, None, None, None);
    for cut in [jpg.len() / 2, jpg.len() - 2, 200] {
        let p = write(dir.path(), &format!("cut{cut}.jpg"), &jpg[..cut]);
        let e = decode_error(&p);
        assert!(e.contains("truncated JPEG"), "{e}");
    }

    let data = noise_bytes_rgb(40, 40);
    let png = png_bytes(
        &data,
        40,
        40,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        None,
        None,
    );
    for cut in [png.len() / 2, 40, png.len() - 20] {
        let p = write(dir.path(), &format!("cut{cut}.png"), &png[..cut]);
        let e = decode_error(&p);
        assert!(e.contains("PNG"), "{e}");
    }

    let missing = dir.path().join("nowhere/missing.png");
    let e = decode_error(&missing);
    assert!(e.contains("cannot read"), "{e}");
    let e = decode_error(dir.path());
    assert!(e.contains("folder"), "{e}");

    let p = write(
        dir.path(),
        "anim.gif",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    );
    let e = decode_error(&p);
    assert!(e.contains("GIF images are not supported"), "{e}");

    // The same rules for depth and matte files.
    let p = write(dir.path(), "empty.png", b"");
    let e = read_depth(&p, None).unwrap_err().to_string();
    assert!(
        e.contains("empty.png") && e.contains("file is empty"),
        "{e}"
    );
    let e = read_matte(&p).unwrap_err().to_string();
    assert!(
        e.contains("empty.png") && e.contains("file is empty"),
        "{e}"
    );
}

fn noise_bytes_rgb(w: usize, h: usize) -> Vec<u8> {
    (0..w * h * 3).map(|i| noise(i, 77)).collect()
}

#[test]
fn atomic_writes_leave_nothing_behind() {
    let dir = tmp();
    let img = LinearRgb::filled(8, 8, [0.3, 0.4, 0.5]);
    let m = Metadata::default();
    let o = EncodeOptions::default();

    // Success: file present, no temp file.
    for ext in ["jpg", "png", "tif"] {
        let p = dir.path().join(format!("ok.{ext}"));
        write_photo(&p, &img, None, &m, 8, &o).unwrap();
        assert!(p.exists());
    }
    write_plane_png16(
        &dir.path().join("plane.png"),
        &Plane::filled(5, 5, 0.5),
        0.0,
        1.0,
    )
    .unwrap();
    assert!(temp_leftovers(dir.path()).is_empty());

    // Replacing an existing file works and leaves no temp file.
    let p = dir.path().join("ok.png");
    let before = std::fs::read(&p).unwrap();
    write_photo(&p, &LinearRgb::filled(8, 8, [0.9; 3]), None, &m, 8, &o).unwrap();
    assert_ne!(std::fs::read(&p).unwrap(), before);

    // Failure: the folder is a regular file (permissions do not stop root, this does).
    let blocker = write(dir.path(), "blocker", b"i am a file");
    for name in ["out.jpg", "out.png", "out.tif", "plane.png"] {
        let p = blocker.join(name);
        let e = if name == "plane.png" {
            write_plane_png16(&p, &Plane::filled(2, 2, 0.0), 0.0, 1.0).unwrap_err()
        } else {
            write_photo(&p, &img, None, &m, 8, &o).unwrap_err()
        };
        let s = e.to_string();
        assert!(s.starts_with(&p.display().to_string()), "{s}");
        assert!(s.contains("cannot create a file in folder"), "{s}");
        assert!(!s.contains('\n'));
    }
    let nowhere = dir.path().join("no/such/folder/out.png");
    let e = write_photo(&nowhere, &img, None, &m, 8, &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such/folder"), "{e}");
    assert!(!dir.path().join("no").exists());

    // Failure after validation (alpha size): the existing file is untouched.
    let p = dir.path().join("ok.tif");
    let before = std::fs::read(&p).unwrap();
    let r = write_photo(&p, &img, Some(&Plane::filled(1, 1, 1.0)), &m, 8, &o);
    assert!(matches!(r, Err(IoError::Encode { .. })), "{r:?}");
    assert_eq!(std::fs::read(&p).unwrap(), before);
    // A folder at the destination is refused.
    let folder = dir.path().join("folder.png");
    std::fs::create_dir(&folder).unwrap();
    let e = write_photo(&folder, &img, None, &m, 8, &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("folder.png") && e.contains("is a folder"), "{e}");
    assert!(temp_leftovers(dir.path()).is_empty());
    assert!(
        fstop::io::atomic::in_flight_temp_files()
            .iter()
            .all(|t| !t.starts_with(dir.path()))
    );
}

#[test]
fn output_equal_to_input_is_safe() {
    let dir = tmp();
    let src = noise_bytes_rgb(12, 12);
    let p = write(
        dir.path(),
        "same.png",
        &png_bytes(
            &src,
            12,
            12,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            None,
            None,
            None,
        ),
    );
    let photo = read_photo(&p, &DecodeOptions::default()).unwrap();
    write_photo(
        &p,
        &photo.color,
        None,
        &photo.metadata,
        8,
        &EncodeOptions::default(),
    )
    .unwrap();
    let back = raw_decode(&p).to_rgb8().into_raw();
    assert!(src.iter().zip(&back).all(|(a, b)| a.abs_diff(*b) <= 1));
}

/// Mutated and truncated JPEG, PNG, TIFF and WebP files: read_photo returns, never panics.
#[test]
fn mutated_images_never_panic() {
    let dir = tmp();
    let (w, h) = (24u32, 16u32);
    let rgb = noise_bytes_rgb(w as usize, h as usize);
    let mut seeds = vec![
        (
            "jpg",
            jpeg_bytes(
                &rgb,
                w as u16,
                h as u16,
                85,
                Some(&build_exif(true, 6, "Someone", true)),
                Some(XMP.as_bytes()),
                None,
            ),
        ),
        (
            "png",
            png_bytes(
                &rgb,
                w,
                h,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                None,
                Some(&build_exif(false, 3, "Someone", true)),
                Some(XMP),
            ),
        ),
    ];
    for (ext, fmt) in [
        ("tif", image::ImageFormat::Tiff),
        ("webp", image::ImageFormat::WebP),
    ] {
        let mut c = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_raw(w, h, rgb.clone())
            .unwrap()
            .write_to(&mut c, fmt)
            .unwrap();
        seeds.push((ext, c.into_inner()));
    }
    let mut state = 0xC0FF_EE00u32;
    let mut next = || {
        state = fstop::io::colour::hash3(state, 99, 5);
        state
    };
    let p = dir.path().join("fuzz.bin");
    for round in 0..1200 {
        let (ext, seed) = &seeds[round % seeds.len()];
        let mut bytes = seed.clone();
        match next() % 3 {
            0 => {
                let n = bytes.len();
                bytes.truncate(next() as usize % n);
            }
            1 => {
                for _ in 0..1 + next() % 6 {
                    let n = bytes.len();
                    let i = next() as usize % n;
                    bytes[i] = next() as u8;
                }
            }
            _ => {
                let n = bytes.len();
                let i = next() as usize % n;
                bytes[i] ^= 0xFF;
            }
        }
        std::fs::write(&p, &bytes).unwrap();
        let r = std::panic::catch_unwind(|| {
            let _ = read_photo(&p, &DecodeOptions::default());
            let _ = read_depth(&p, None);
        });
        assert!(r.is_ok(), "panic on a mutated .{ext} (round {round})");
    }
}

/// A TIFF whose first directory claims a huge image is refused from the header too.
#[test]
fn giant_tiff_header_is_refused() {
    let dir = tmp();
    let mut c = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_raw(4, 4, vec![9; 48])
        .unwrap()
        .write_to(&mut c, image::ImageFormat::Tiff)
        .unwrap();
    let mut t = c.into_inner();
    assert_eq!(&t[..4], b"II*\0");
    let ifd = u32::from_le_bytes(t[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes([t[ifd], t[ifd + 1]]) as usize;
    for i in 0..n {
        let e = ifd + 2 + 12 * i;
        let tag = u16::from_le_bytes([t[e], t[e + 1]]);
        let typ = u16::from_le_bytes([t[e + 2], t[e + 3]]);
        if tag == 256 || tag == 257 {
            match typ {
                3 => t[e + 8..e + 10].copy_from_slice(&65535u16.to_le_bytes()),
                4 => t[e + 8..e + 12].copy_from_slice(&100_000u32.to_le_bytes()),
                _ => panic!("unexpected type {typ}"),
            }
        }
    }
    let p = write(dir.path(), "giant.tif", &t);
    let start = Instant::now();
    let e = read_photo(&p, &DecodeOptions::default()).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(matches!(e, IoError::TooLarge { .. }), "{e}");
}
