//! Pixel round trips: decode → linear → encode reproduces the source (8-bit within the dither's
//! 1 LSB, 16-bit exactly within 1 LSB, JPEG within JPEG error), for RGB, RGBA, gray and
//! gray+alpha, PNG, TIFF, JPEG and WebP; tiny images; dither determinism and its effect on
//! banding; output format by extension.

mod io_support;

use fstop::io::{DecodeOptions, EncodeOptions, Metadata, read_photo, write_photo};
use fstop::{LinearRgb, Plane};
use io_support::*;

fn read(p: &std::path::Path) -> fstop::io::Photo {
    read_photo(p, &DecodeOptions::default()).unwrap()
}

fn noise_bytes(n: usize, seed: u32) -> Vec<u8> {
    (0..n).map(|i| noise(i, seed)).collect()
}

fn max_diff_u8(a: &[u8], b: &[u8]) -> (u8, usize) {
    assert_eq!(a.len(), b.len());
    let mut worst = 0;
    let mut differing = 0;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        worst = worst.max(d);
        differing += usize::from(d != 0);
    }
    (worst, differing)
}

#[test]
fn png8_rgb_and_rgba_round_trip_within_one_lsb() {
    let dir = tmp();
    let (w, h) = (37u32, 23u32);
    for (color, ch, name) in [
        (png::ColorType::Rgb, 3usize, "rgb8.png"),
        (png::ColorType::Rgba, 4, "rgba8.png"),
    ] {
        let src = noise_bytes((w * h) as usize * ch, 1);
        let p = write(
            dir.path(),
            name,
            &png_bytes(&src, w, h, color, png::BitDepth::Eight, None, None, None),
        );
        let photo = read(&p);
        assert_eq!(photo.bits_per_channel, 8);
        assert_eq!(photo.alpha.is_some(), ch == 4);
        if let Some(a) = &photo.alpha {
            assert!((a.at(0, 0) - src[3] as f32 / 255.0).abs() < 1e-6);
        }
        let out = dir.path().join(format!("out-{name}"));
        write_photo(
            &out,
            &photo.color,
            photo.alpha.as_ref(),
            &photo.metadata,
            photo.bits_per_channel,
            &EncodeOptions::default(),
        )
        .unwrap();
        let back = raw_decode(&out);
        let back = if ch == 4 {
            back.to_rgba8().into_raw()
        } else {
            assert_eq!(back.color(), image::ColorType::Rgb8);
            back.to_rgb8().into_raw()
        };
        let (worst, differing) = max_diff_u8(&src, &back);
        assert!(worst <= 1, "{name}: worst {worst}");
        // Untouched pixels sit on code values, where 1 LSB of rectangular dither never moves
        // them: the round trip is practically exact.
        assert!(
            differing * 1000 <= src.len(),
            "{name}: {differing} samples changed"
        );
    }
}

#[test]
fn png16_and_tiff16_stay_16_bit_within_one_lsb() {
    let dir = tmp();
    let (w, h) = (19u32, 11u32);
    let src: Vec<u16> = (0..(w * h * 4) as usize)
        .map(|i| fstop::io::colour::hash3(i as u32, 5, 1) as u16)
        .collect();
    let rgb: Vec<u16> = src.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let cases: [(&str, Vec<u8>, bool); 2] = [
        (
            "rgb16.png",
            png_bytes(
                &be16(&rgb),
                w,
                h,
                png::ColorType::Rgb,
                png::BitDepth::Sixteen,
                None,
                None,
                None,
            ),
            false,
        ),
        (
            "rgba16.png",
            png_bytes(
                &be16(&src),
                w,
                h,
                png::ColorType::Rgba,
                png::BitDepth::Sixteen,
                None,
                None,
                None,
            ),
            true,
        ),
    ];
    for (name, bytes, has_alpha) in cases {
        let p = write(dir.path(), name, &bytes);
        let photo = read(&p);
        assert_eq!(photo.bits_per_channel, 16, "{name}");
        for ext in ["png", "tif"] {
            let out = dir.path().join(format!("out-{name}.{ext}"));
            write_photo(
                &out,
                &photo.color,
                photo.alpha.as_ref(),
                &photo.metadata,
                photo.bits_per_channel,
                &EncodeOptions::default(),
            )
            .unwrap();
            let back = raw_decode(&out);
            let (want, got): (&[u16], Vec<u16>) = if has_alpha {
                assert_eq!(back.color(), image::ColorType::Rgba16, "{name} {ext}");
                (&src, back.to_rgba16().into_raw())
            } else {
                assert_eq!(back.color(), image::ColorType::Rgb16, "{name} {ext}");
                (&rgb, back.to_rgb16().into_raw())
            };
            let worst = want
                .iter()
                .zip(&got)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            assert!(worst <= 1, "{name} → {ext}: worst {worst}");
            // And fstop reads its own 16-bit output back as 16-bit.
            assert_eq!(read(&out).bits_per_channel, 16);
        }
    }
}

#[test]
fn tiff8_rgba_round_trip() {
    let dir = tmp();
    let (w, h) = (9u32, 7u32);
    let src = noise_bytes((w * h * 4) as usize, 9);
    let img = image::RgbaImage::from_raw(w, h, src.clone()).unwrap();
    let p = dir.path().join("in.tiff");
    img.save(&p).unwrap();
    let photo = read(&p);
    assert_eq!(photo.bits_per_channel, 8);
    assert!(photo.alpha.is_some());
    let out = dir.path().join("out.tiff");
    write_photo(
        &out,
        &photo.color,
        photo.alpha.as_ref(),
        &photo.metadata,
        8,
        &EncodeOptions::default(),
    )
    .unwrap();
    let back = raw_decode(&out);
    assert_eq!(back.color(), image::ColorType::Rgba8);
    let (worst, _) = max_diff_u8(&src, &back.to_rgba8().into_raw());
    assert!(worst <= 1);
}

#[test]
fn jpeg_round_trip_within_jpeg_error() {
    let dir = tmp();
    let (w, h) = (96usize, 64usize);
    // Smooth content (JPEG-friendly): gradients plus a soft blob.
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let d = ((x as f32 - 40.0).powi(2) + (y as f32 - 30.0).powi(2)).sqrt();
            rgb.push((x * 255 / w) as u8);
            rgb.push((y * 255 / h) as u8);
            rgb.push((255.0 - d * 3.0).clamp(0.0, 255.0) as u8);
        }
    }
    let p = write(
        dir.path(),
        "in.jpg",
        &jpeg_bytes(&rgb, w as u16, h as u16, 95, None, None, None),
    );
    let original = raw_decode(&p).to_rgb8().into_raw();
    let photo = read(&p);
    let out = dir.path().join("out.jpeg");
    write_photo(
        &out,
        &photo.color,
        None,
        &Metadata::default(),
        8,
        &EncodeOptions::default(),
    )
    .unwrap();
    let again = raw_decode(&out).to_rgb8().into_raw();
    let mean: f64 = original
        .iter()
        .zip(&again)
        .map(|(a, b)| a.abs_diff(*b) as f64)
        .sum::<f64>()
        / original.len() as f64;
    let (worst, _) = max_diff_u8(&original, &again);
    assert!(mean < 1.5 && worst <= 16, "mean {mean}, worst {worst}");
    // Quality matters: q=40 is visibly worse than the default 92.
    let low = dir.path().join("low.jpg");
    let opts = EncodeOptions {
        jpeg_quality: 40,
        ..EncodeOptions::default()
    };
    write_photo(&low, &photo.color, None, &Metadata::default(), 8, &opts).unwrap();
    assert!(std::fs::metadata(&low).unwrap().len() < std::fs::metadata(&out).unwrap().len());
}

#[test]
fn gray_gray_alpha_and_rgba_inputs() {
    let dir = tmp();
    // Gray 8-bit: expanded to equal RGB.
    let p = write(
        dir.path(),
        "g.png",
        &png_bytes(
            &[0, 64, 128, 255],
            2,
            2,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            None,
            None,
            None,
        ),
    );
    let photo = read(&p);
    assert!(photo.alpha.is_none());
    let px = photo.color.at(1, 0);
    assert!(
        px.iter()
            .all(|&v| (v - srgb_to_linear(64.0 / 255.0)).abs() < 1e-6),
        "{px:?}"
    );
    assert_eq!(photo.color.at(1, 1), [1.0, 1.0, 1.0]);

    // Gray 16-bit.
    let p = write(
        dir.path(),
        "g16.png",
        &png_bytes(
            &be16(&[0, 1000, 40000, 65535]),
            2,
            2,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            None,
            None,
            None,
        ),
    );
    let photo = read(&p);
    assert_eq!(photo.bits_per_channel, 16);
    let want = srgb_to_linear(40000.0 / 65535.0);
    assert!(
        photo
            .color
            .at(0, 1)
            .iter()
            .all(|&v| (v - want).abs() < 1e-5)
    );

    // Gray + alpha: alpha kept, colour expanded; written back as RGBA PNG with the same alpha.
    let p = write(
        dir.path(),
        "ga.png",
        &png_bytes(
            &[10, 0, 200, 77, 90, 255, 255, 128],
            2,
            2,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            None,
            None,
            None,
        ),
    );
    let photo = read(&p);
    let a = photo.alpha.as_ref().expect("alpha kept");
    assert_eq!(a.data(), vec![0.0, 77.0 / 255.0, 1.0, 128.0 / 255.0]);
    let out = dir.path().join("ga-out.png");
    write_photo(
        &out,
        &photo.color,
        photo.alpha.as_ref(),
        &photo.metadata,
        8,
        &EncodeOptions::default(),
    )
    .unwrap();
    let back = raw_decode(&out).to_rgba8();
    assert_eq!(back.get_pixel(1, 0).0, [200, 200, 200, 77]);
    assert_eq!(back.get_pixel(1, 1).0, [255, 255, 255, 128]);
    // The same to JPEG: alpha is dropped, colours kept.
    let jpg = dir.path().join("ga-out.jpg");
    write_photo(
        &jpg,
        &photo.color,
        photo.alpha.as_ref(),
        &photo.metadata,
        8,
        &EncodeOptions::default(),
    )
    .unwrap();
    assert_eq!(raw_decode(&jpg).color(), image::ColorType::Rgb8);

    // RGBA with full transparency in places.
    let p = write(
        dir.path(),
        "rgba.png",
        &png_bytes(
            &[255, 0, 0, 0, 0, 255, 0, 255, 0, 0, 255, 30, 9, 9, 9, 200],
            2,
            2,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            None,
            None,
            None,
        ),
    );
    let photo = read(&p);
    let a = photo.alpha.unwrap();
    assert_eq!(a.at(0, 0), 0.0);
    assert_eq!(a.at(1, 0), 1.0);
    assert_eq!(
        photo.color.at(0, 0),
        [1.0, 0.0, 0.0],
        "colour under alpha 0 kept"
    );
}

#[test]
fn tiny_images_and_webp() {
    let dir = tmp();
    for (w, h) in [(1u32, 1u32), (3, 3), (1, 5)] {
        let src = noise_bytes((w * h * 3) as usize, w + 10 * h);
        let p = write(
            dir.path(),
            &format!("t{w}x{h}.png"),
            &png_bytes(
                &src,
                w,
                h,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                None,
                None,
                None,
            ),
        );
        let photo = read(&p);
        assert_eq!(
            (photo.color.width(), photo.color.height()),
            (w as usize, h as usize)
        );
        for ext in ["jpg", "png", "tif"] {
            let out = dir.path().join(format!("t{w}x{h}.{ext}"));
            write_photo(
                &out,
                &photo.color,
                None,
                &photo.metadata,
                8,
                &EncodeOptions::default(),
            )
            .unwrap();
            let back = read(&out);
            assert_eq!(
                (back.color.width(), back.color.height()),
                (w as usize, h as usize)
            );
        }
    }
    // WebP (lossless, written by the image crate).
    let src = noise_bytes(5 * 4 * 4, 3);
    let p = dir.path().join("in.webp");
    image::RgbaImage::from_raw(5, 4, src.clone())
        .unwrap()
        .save(&p)
        .unwrap();
    let photo = read(&p);
    assert_eq!((photo.color.width(), photo.color.height()), (5, 4));
    let a = photo.alpha.unwrap();
    assert!((a.at(2, 1) - src[(5 + 2) * 4 + 3] as f32 / 255.0).abs() < 1e-6);
    let v = photo.color.at(2, 1)[0];
    assert!((v - srgb_to_linear(src[(5 + 2) * 4] as f32 / 255.0)).abs() < 1e-6);
}

/// A very slow horizontal ramp in linear light (the kind of gradient a big bokeh disc has).
fn slow_ramp(w: usize, h: usize) -> LinearRgb {
    let mut img = LinearRgb::filled(w, h, [0.0; 3]);
    for y in 0..h {
        for x in 0..w {
            let v = 0.20 + 0.02 * x as f32 / w as f32;
            img.set(x, y, [v, v * 0.9, v * 0.8]);
        }
    }
    img
}

#[test]
fn dither_is_deterministic_and_removes_banding() {
    let dir = tmp();
    let (w, h) = (256usize, 64usize);
    let img = slow_ramp(w, h);
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    let opts = EncodeOptions::default();
    write_photo(&a, &img, None, &Metadata::default(), 8, &opts).unwrap();
    write_photo(&b, &img, None, &Metadata::default(), 8, &opts).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let ja = dir.path().join("a.jpg");
    let jb = dir.path().join("b.jpg");
    write_photo(&ja, &img, None, &Metadata::default(), 8, &opts).unwrap();
    write_photo(&jb, &img, None, &Metadata::default(), 8, &opts).unwrap();
    assert_eq!(std::fs::read(&ja).unwrap(), std::fs::read(&jb).unwrap());

    // Column means of the quantised red channel track the true value: no steps.
    let column_error = |path: &std::path::Path| -> f32 {
        let q = raw_decode(path).to_rgb8();
        (0..w)
            .map(|x| {
                let mean: f32 = (0..h)
                    .map(|y| q.get_pixel(x as u32, y as u32).0[0] as f32)
                    .sum::<f32>()
                    / h as f32;
                let truth = linear_to_srgb(img.at(x, 0)[0]) * 255.0;
                (mean - truth).abs()
            })
            .fold(0.0, f32::max)
    };
    let plain = dir.path().join("plain.png");
    let no_dither = EncodeOptions {
        dither: false,
        ..opts
    };
    write_photo(&plain, &img, None, &Metadata::default(), 8, &no_dither).unwrap();
    let banded = column_error(&plain);
    let dithered = column_error(&a);
    assert!(banded > 0.4, "undithered steps {banded}");
    assert!(dithered < 0.25, "dithered column error {dithered}");
}

#[test]
fn output_format_by_extension() {
    let dir = tmp();
    let img = LinearRgb::filled(4, 4, [0.5, 0.25, 0.125]);
    let m = Metadata::default();
    let o = EncodeOptions::default();
    for (name, fmt) in [
        ("a.JPG", image::ImageFormat::Jpeg),
        ("b.Jpeg", image::ImageFormat::Jpeg),
        ("c.PNG", image::ImageFormat::Png),
        ("d.TiF", image::ImageFormat::Tiff),
        ("e.tiff", image::ImageFormat::Tiff),
    ] {
        let p = dir.path().join(name);
        write_photo(&p, &img, None, &m, 8, &o).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(image::guess_format(&bytes).unwrap(), fmt, "{name}");
    }
    for name in ["x.webp", "x.gif", "noext"] {
        let p = dir.path().join(name);
        let e = write_photo(&p, &img, None, &m, 8, &o)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(&p.display().to_string()), "{e}");
        assert!(e.contains(".jpg") && !e.contains('\n'), "{e}");
        assert!(!p.exists());
    }
    // Alpha of the wrong size is refused, naming the file, and nothing is written.
    let p = dir.path().join("bad-alpha.png");
    let e = write_photo(&p, &img, Some(&Plane::filled(3, 4, 1.0)), &m, 8, &o)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad-alpha.png") && e.contains("alpha is 3×4"),
        "{e}"
    );
    assert!(!p.exists());
    assert!(temp_leftovers(dir.path()).is_empty());
}

#[test]
fn out_of_range_and_nan_values_are_clamped() {
    let dir = tmp();
    let mut img = LinearRgb::filled(3, 1, [0.5; 3]);
    img.set(0, 0, [f32::NAN, -1.0, 7.0]);
    img.set(1, 0, [f32::INFINITY, f32::NEG_INFINITY, 1.0]);
    let p = dir.path().join("c.png");
    write_photo(
        &p,
        &img,
        None,
        &Metadata::default(),
        16,
        &EncodeOptions::default(),
    )
    .unwrap();
    let back = raw_decode(&p).to_rgb16();
    assert_eq!(back.get_pixel(0, 0).0, [0, 0, 65535]);
    assert_eq!(back.get_pixel(1, 0).0, [65535, 0, 65535]);
}

#[test]
fn progressive_and_restart_interval_jpegs_decode() {
    let dir = tmp();
    let (w, h) = (48u16, 40u16);
    let img = quadrant_image(w as usize, h as usize);
    for (name, progressive, restart) in [("prog.jpg", true, None), ("rst.jpg", false, Some(2u16))] {
        let mut bytes = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut bytes, 90);
        enc.set_progressive(progressive);
        if let Some(r) = restart {
            enc.set_restart_interval(r);
        }
        enc.encode(&img, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let p = write(dir.path(), name, &bytes);
        let photo = read(&p);
        assert!(photo.warnings.is_empty(), "{name}: {:?}", photo.warnings);
        assert_close3(srgb255(&photo.color, 40, 5), QUADRANTS[1], 8.0, name);
        // Truncation is still detected in multi-scan files.
        let cut = write(
            dir.path(),
            &format!("cut-{name}"),
            &bytes[..bytes.len() * 2 / 3],
        );
        let e = read_photo(&cut, &DecodeOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated JPEG"), "{e}");
    }
}
