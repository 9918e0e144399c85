//! Depth and matte files: NPY (every accepted dtype and layout, and clear refusals), PFM
//! (grayscale and colour, both byte orders, bottom-to-top rows), grayscale images, mattes from
//! gray/alpha/RGB, the 16-bit PNG plane writer, and a quick no-panic sweep over random and
//! mutated bytes for the parsers.

mod io_support;

use fstop::Plane;
use fstop::depth::DepthKind;
use fstop::io::{
    ArrayFileError, ArrayFormat, DecodeError, IoError, parse_npy, parse_pfm, read_depth,
    read_matte, write_plane_png16,
};
use io_support::*;

/// A `.npy` file: `descr`, `fortran`, `shape` and raw little-endian data; format version 1 or 2.
fn npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8], version: u8) -> Vec<u8> {
    let shape_text = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape_text}, }}",
        if fortran { "True" } else { "False" }
    );
    let prefix = if version == 1 { 10 } else { 12 };
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.push(version);
    out.push(0);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The reference 3×2 map (width 3, height 2), row-major: value = 10·y + x + 1.
const W: usize = 3;
const H: usize = 2;
fn reference() -> Vec<f32> {
    (0..H)
        .flat_map(|y| (0..W).map(move |x| (10 * y + x + 1) as f32))
        .collect()
}

/// The reference values in Fortran (column-major) order.
fn fortran_order(v: &[f32]) -> Vec<f32> {
    (0..W)
        .flat_map(|x| (0..H).map(move |y| v[y * W + x]))
        .collect()
}

#[test]
fn npy_all_dtypes_orders_and_shapes() {
    let dir = tmp();
    let r = reference();
    type Enc = fn(f32) -> Vec<u8>;
    let dtypes: [(&str, Enc); 5] = [
        ("<f4", |v| v.to_le_bytes().to_vec()),
        ("<f8", |v| (v as f64).to_le_bytes().to_vec()),
        ("|u1", |v| vec![v as u8]),
        ("<u1", |v| vec![v as u8]),
        ("<u2", |v| (v as u16 * 1000).to_le_bytes().to_vec()),
    ];
    for (descr, enc) in dtypes {
        let scale = if descr == "<u2" { 1000.0 } else { 1.0 };
        for fortran in [false, true] {
            let values = if fortran {
                fortran_order(&r)
            } else {
                r.clone()
            };
            let data: Vec<u8> = values.iter().flat_map(|&v| enc(v)).collect();
            for shape in [vec![H, W], vec![H, W, 1], vec![1, H, W]] {
                for version in [1u8, 2] {
                    let bytes = npy(descr, fortran, &shape, &data, version);
                    let plane = parse_npy(&bytes).unwrap_or_else(|e| {
                        panic!("{descr} fortran={fortran} {shape:?} v{version}: {e}")
                    });
                    assert_eq!((plane.width(), plane.height()), (W, H));
                    let want: Vec<f32> = r.iter().map(|v| v * scale).collect();
                    assert_eq!(plane.data(), want, "{descr} fortran={fortran} {shape:?}");
                }
            }
        }
    }
    // Through the public reader: metres by default, kind override respected.
    let data: Vec<u8> = r.iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = write(
        dir.path(),
        "depth.npy",
        &npy("<f4", false, &[H, W], &data, 1),
    );
    let (plane, kind) = read_depth(&p, None).unwrap();
    assert_eq!(kind, DepthKind::Metres);
    assert_eq!(plane.data(), r);
    let (_, kind) = read_depth(&p, Some(DepthKind::Disparity)).unwrap();
    assert_eq!(kind, DepthKind::Disparity);
    // NaN, Inf and negative values are returned as stored (the depth model handles them).
    let odd: Vec<u8> = [f32::NAN, f32::INFINITY, -2.0, 0.0, 1.0, 2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let plane = parse_npy(&npy("<f4", false, &[H, W], &odd, 1)).unwrap();
    assert!(
        plane.data()[0].is_nan() && plane.data()[1] == f32::INFINITY && plane.data()[2] == -2.0
    );
}

#[test]
fn npy_refusals_are_clear() {
    let dir = tmp();
    let four = [0u8; 4 * W * H];
    for (descr, what) in [
        (">f4", "'>f4'"),
        ("<i4", "'<i4'"),
        ("<f2", "'<f2'"),
        ("|b1", "'|b1'"),
        ("<c8", "'<c8'"),
    ] {
        let e = parse_npy(&npy(descr, false, &[H, W], &four, 1)).unwrap_err();
        assert_eq!(e, ArrayFileError::UnsupportedDtype(descr.into()));
        let text = e.to_string();
        assert!(text.contains(what), "{text}");
        assert!(text.contains("float32"), "names what is accepted: {text}");
    }
    for shape in [vec![H, W, 3], vec![W], vec![2, 2, 2, 2], vec![]] {
        let e = parse_npy(&npy("<f4", false, &shape, &four, 1)).unwrap_err();
        assert!(
            matches!(e, ArrayFileError::NotTwoDimensional(_)),
            "{shape:?}: {e}"
        );
        assert!(e.to_string().contains("not a 2-D map"), "{shape:?}: {e}");
    }
    let e = parse_npy(&npy("<f4", false, &[H, W], &four[..10], 1)).unwrap_err();
    assert_eq!(
        e,
        ArrayFileError::TruncatedData {
            format: ArrayFormat::Npy,
            got: 10,
            expected: 4 * W * H,
            width: W,
            height: H,
            dtype: " <f4".into(),
        }
    );
    let e = parse_npy(&npy("<f4", false, &[100_000, 100_000], &four, 1)).unwrap_err();
    assert!(matches!(e, ArrayFileError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("over the limit"), "{e}");
    let e = parse_npy(&npy("<f4", false, &[0, 5], &four, 1)).unwrap_err();
    assert_eq!(
        e,
        ArrayFileError::Empty {
            width: 5,
            height: 0
        }
    );
    assert_eq!(parse_npy(b"not numpy").unwrap_err(), ArrayFileError::NotNpy);
    // Through read_depth the file is named.
    let p = write(dir.path(), "bad.npy", &npy(">f8", false, &[H, W], &four, 1));
    let e = read_depth(&p, None).unwrap_err();
    assert!(
        matches!(
            &e,
            IoError::Decode {
                kind: DecodeError::Array(ArrayFileError::UnsupportedDtype(_)),
                ..
            }
        ),
        "{e:?}"
    );
    let e = e.to_string();
    assert!(
        e.starts_with(&p.display().to_string()) && e.contains("'>f8'"),
        "{e}"
    );
}

fn pfm(
    tag: &str,
    w: usize,
    h: usize,
    scale: &str,
    rows_top_down: &[Vec<f32>],
    ch: usize,
) -> Vec<u8> {
    let le = scale.starts_with('-');
    let mut out = format!("{tag}\n{w} {h}\n{scale}\n").into_bytes();
    for row in rows_top_down.iter().rev() {
        for &v in row {
            for c in 0..ch {
                let v = v + 100.0 * c as f32;
                out.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() });
            }
        }
    }
    out
}

#[test]
fn pfm_gray_colour_endianness_and_row_order() {
    let dir = tmp();
    let r = reference();
    let rows: Vec<Vec<f32>> = r.chunks(W).map(|c| c.to_vec()).collect();
    for (tag, ch) in [("Pf", 1), ("PF", 3)] {
        for scale in ["-1.0", "1.0", "-0.5"] {
            let bytes = pfm(tag, W, H, scale, &rows, ch);
            let plane = parse_pfm(&bytes).unwrap();
            assert_eq!((plane.width(), plane.height()), (W, H));
            assert_eq!(plane.data(), r, "{tag} scale {scale}");
        }
    }
    let p = write(dir.path(), "d.pfm", &pfm("Pf", W, H, "-1", &rows, 1));
    let (plane, kind) = read_depth(&p, None).unwrap();
    assert_eq!((plane.data(), kind), (r.as_slice(), DepthKind::Metres));

    // Refusals.
    let good = pfm("Pf", W, H, "-1", &rows, 1);
    let e = parse_pfm(&good[..good.len() - 3]).unwrap_err();
    assert!(
        matches!(
            e,
            ArrayFileError::TruncatedData {
                format: ArrayFormat::Pfm,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("truncated"), "{e}");
    let corrupt = |what: &str| ArrayFileError::CorruptHeader {
        format: ArrayFormat::Pfm,
        what: Some(what.into()),
    };
    let e = parse_pfm(b"Pf\n3 2\n0\n").unwrap_err();
    assert_eq!(e, corrupt("scale must be non-zero"));
    let e = parse_pfm(b"Pf\nthree 2\n-1\n").unwrap_err();
    assert_eq!(e, corrupt("width"));
    assert_eq!(e.to_string(), "corrupt PFM header (width)");
    let e = parse_pfm(b"Pf\n100000 100000\n-1\n").unwrap_err();
    assert!(matches!(e, ArrayFileError::TooLarge { .. }), "{e}");
    assert_eq!(parse_pfm(b"P6\n").unwrap_err(), ArrayFileError::NotPfm);
    assert_eq!(
        parse_pfm(b"Pf\n3").unwrap_err(),
        ArrayFileError::TruncatedHeader(ArrayFormat::Pfm)
    );
}

#[test]
fn image_depth_maps_are_grayscale_0_to_1() {
    let dir = tmp();
    // 8-bit gray PNG → value / 255, disparity by default.
    let p = write(
        dir.path(),
        "d8.png",
        &png_bytes(
            &[0, 51, 255, 102],
            2,
            2,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            None,
            None,
            None,
        ),
    );
    let (plane, kind) = read_depth(&p, None).unwrap();
    assert_eq!(kind, DepthKind::Disparity);
    assert_eq!(plane.data(), vec![0.0, 0.2, 1.0, 0.4]);
    let (_, kind) = read_depth(&p, Some(DepthKind::Metres)).unwrap();
    assert_eq!(kind, DepthKind::Metres);

    // 16-bit gray PNG keeps its precision.
    let p = write(
        dir.path(),
        "d16.png",
        &png_bytes(
            &be16(&[0, 1, 32768, 65535]),
            2,
            2,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            None,
            None,
            None,
        ),
    );
    let (plane, _) = read_depth(&p, None).unwrap();
    assert_eq!(
        plane.data(),
        vec![0.0, 1.0 / 65535.0, 32768.0 / 65535.0, 1.0]
    );

    // Gray saved as RGB (equal channels) is fine; real colour is refused.
    let p = write(
        dir.path(),
        "rgbgray.png",
        &png_bytes(
            &[7, 7, 7, 200, 200, 200],
            2,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            None,
            None,
            None,
        ),
    );
    assert_eq!(
        read_depth(&p, None).unwrap().0.data(),
        vec![7.0 / 255.0, 200.0 / 255.0]
    );
    let p = write(
        dir.path(),
        "turbo.png",
        &png_bytes(
            &[255, 0, 0, 0, 0, 255],
            2,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            None,
            None,
            None,
        ),
    );
    let e = read_depth(&p, None).unwrap_err();
    assert!(
        matches!(
            &e,
            IoError::Decode {
                kind: DecodeError::ColourDepth,
                ..
            }
        ),
        "{e:?}"
    );
    let e = e.to_string();
    assert!(e.contains("turbo.png") && e.contains("grayscale"), "{e}");

    // 16-bit gray TIFF and a gray JPEG.
    let p = dir.path().join("d.tif");
    image::ImageBuffer::<image::Luma<u16>, _>::from_raw(2, 1, vec![0u16, 65535])
        .unwrap()
        .save(&p)
        .unwrap();
    assert_eq!(read_depth(&p, None).unwrap().0.data(), vec![0.0, 1.0]);
    let p = dir.path().join("d.jpg");
    image::GrayImage::from_raw(8, 8, vec![128; 64])
        .unwrap()
        .save(&p)
        .unwrap();
    let (plane, kind) = read_depth(&p, None).unwrap();
    assert_eq!(kind, DepthKind::Disparity);
    assert!(
        plane
            .data()
            .iter()
            .all(|v| (v - 128.0 / 255.0).abs() < 0.01)
    );
}

#[test]
fn mattes_from_gray_alpha_rgb_and_arrays() {
    let dir = tmp();
    let png8 = |name: &str, data: &[u8], w: u32, color| {
        write(
            dir.path(),
            name,
            &png_bytes(data, w, 1, color, png::BitDepth::Eight, None, None, None),
        )
    };
    let p = png8("g.png", &[0, 255, 51], 3, png::ColorType::Grayscale);
    assert_eq!(read_matte(&p).unwrap().data(), vec![0.0, 1.0, 0.2]);
    // RGBA with real transparency → alpha.
    let p = png8(
        "cutout.png",
        &[9, 9, 9, 0, 9, 9, 9, 255, 9, 9, 9, 102],
        3,
        png::ColorType::Rgba,
    );
    assert_eq!(read_matte(&p).unwrap().data(), vec![0.0, 1.0, 0.4]);
    // Fully opaque RGBA → the colour's luminance (a matte saved with a useless alpha).
    let p = png8(
        "opaque.png",
        &[255, 255, 255, 255, 0, 0, 0, 255],
        2,
        png::ColorType::Rgba,
    );
    assert_eq!(read_matte(&p).unwrap().data(), vec![1.0, 0.0]);
    // RGB → luminance.
    let p = png8("rgb.png", &[255, 0, 0, 0, 255, 0], 2, png::ColorType::Rgb);
    let m = read_matte(&p).unwrap().into_data();
    assert!(
        (m[0] - 0.2126).abs() < 1e-6 && (m[1] - 0.7152).abs() < 1e-6,
        "{m:?}"
    );
    // Gray + alpha → alpha.
    let p = png8(
        "ga.png",
        &[255, 0, 255, 51],
        2,
        png::ColorType::GrayscaleAlpha,
    );
    assert_eq!(read_matte(&p).unwrap().data(), vec![0.0, 0.2]);
    // Arrays are clamped to 0..1, NaN → 0.
    let data: Vec<u8> = [-1.0f32, 0.5, 3.0, f32::NAN, 1.0, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let p = write(dir.path(), "m.npy", &npy("<f4", false, &[2, 3], &data, 1));
    assert_eq!(
        read_matte(&p).unwrap().data(),
        vec![0.0, 0.5, 1.0, 0.0, 1.0, 0.0]
    );
}

#[test]
fn plane_png16_writer_maps_range_and_reads_back() {
    let dir = tmp();
    let plane = Plane::from_vec(3, 2, vec![1.0, 2.0, 3.0, f32::NAN, -5.0, 99.0]);
    let p = dir.path().join("plane.png");
    write_plane_png16(&p, &plane, 1.0, 3.0).unwrap();
    let raw = raw_decode(&p);
    assert_eq!(raw.color(), image::ColorType::L16);
    assert_eq!(
        raw.to_luma16().into_raw(),
        vec![0, 32768, 65535, 0, 0, 65535]
    );
    let (back, kind) = read_depth(&p, None).unwrap();
    assert_eq!(kind, DepthKind::Disparity);
    assert!((back.data()[1] - 0.5).abs() < 1e-4);
    // Degenerate range: all zero; non-finite range: refused, naming the file.
    write_plane_png16(&p, &plane, 2.0, 2.0).unwrap();
    assert!(
        raw_decode(&p)
            .to_luma16()
            .into_raw()
            .iter()
            .all(|&v| v == 0)
    );
    let e = write_plane_png16(&p, &plane, 0.0, f32::INFINITY)
        .unwrap_err()
        .to_string();
    assert!(e.contains("plane.png") && e.contains("range"), "{e}");
    assert!(temp_leftovers(dir.path()).is_empty());
}

#[test]
fn parsers_survive_random_and_mutated_bytes() {
    let r = reference();
    let data: Vec<u8> = r.iter().flat_map(|v| v.to_le_bytes()).collect();
    let rows: Vec<Vec<f32>> = r.chunks(W).map(|c| c.to_vec()).collect();
    let seeds = [
        npy("<f4", false, &[H, W], &data, 1),
        npy("<u2", true, &[1, H, W], &data, 2),
        pfm("PF", W, H, "-1", &rows, 3),
        pfm("Pf", W, H, "1", &rows, 1),
    ];
    let mut state = 0x1234_5678u32;
    let mut next = || {
        state = fstop::io::colour::hash3(state, 17, 3);
        state
    };
    for round in 0..4000 {
        let mut bytes = seeds[round % seeds.len()].clone();
        match next() % 4 {
            0 => {
                let n = bytes.len();
                bytes.truncate(next() as usize % (n + 1));
            }
            1 => {
                for _ in 0..1 + next() % 8 {
                    let n = bytes.len();
                    let i = next() as usize % n;
                    bytes[i] = next() as u8;
                }
            }
            2 => bytes = (0..next() % 200).map(|_| next() as u8).collect(),
            _ => {
                let i = next() as usize % bytes.len();
                let extra: Vec<u8> = (0..next() % 16).map(|_| next() as u8).collect();
                bytes.splice(i..i, extra);
            }
        }
        // Must return (Ok or Err), never panic.
        let _ = parse_npy(&bytes);
        let _ = parse_pfm(&bytes);
    }
}
