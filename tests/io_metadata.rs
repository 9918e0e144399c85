//! Metadata round trips: EXIF orientation 1–8 applied and reset, other EXIF fields and XMP kept,
//! thumbnails dropped, ICC profiles honoured and written back, corrupt ICC and bad orientation
//! values handled with warnings, CMYK JPEG; and through the CLI: what points at data fstop
//! drops (depth map, motion-photo video, extended XMP) never reaches the output, and
//! `--strip-metadata gps|all`.

mod cli_support;
mod io_support;

use fstop::io::{DecodeOptions, EncodeOptions, Metadata, read_photo, write_photo};
use io_support::*;
use moxcms::ColorProfile;

fn read(p: &std::path::Path) -> fstop::io::Photo {
    read_photo(p, &DecodeOptions::default()).unwrap()
}

/// EXIF of a written JPEG, via kamadak-exif's own container reader.
fn exif_of_file(p: &std::path::Path) -> exif::Exif {
    let f = std::fs::File::open(p).unwrap();
    exif::Reader::new()
        .read_from_container(&mut std::io::BufReader::new(f))
        .unwrap()
}

fn field_string(e: &exif::Exif, tag: exif::Tag) -> Option<String> {
    e.get_field(tag, exif::In::PRIMARY)
        .map(|f| f.display_value().to_string())
}

#[test]
fn jpeg_orientation_1_to_8_upright_and_reset() {
    let dir = tmp();
    let (w, h) = (64usize, 32usize);
    let upright = quadrant_image(w, h);
    for o in 1..=8u16 {
        let (sw, sh, stored) = stored_for_orientation(&upright, w, h, o);
        let exif = build_exif(o % 2 == 0, o, "Ada Lovelace", true);
        let jpg = jpeg_bytes(
            &stored,
            sw as u16,
            sh as u16,
            100,
            Some(&exif),
            Some(XMP.as_bytes()),
            None,
        );
        let input = write(dir.path(), &format!("o{o}.jpg"), &jpg);
        let photo = read(&input);
        assert!(photo.warnings.is_empty(), "{o}: {:?}", photo.warnings);
        assert_eq!(
            (photo.color.width(), photo.color.height()),
            (w, h),
            "orientation {o}: not upright"
        );
        for (q, &(x, y)) in [
            (w / 4, h / 4),
            (3 * w / 4, h / 4),
            (w / 4, 3 * h / 4),
            (3 * w / 4, 3 * h / 4),
        ]
        .iter()
        .enumerate()
        {
            assert_close3(
                srgb255(&photo.color, x, y),
                QUADRANTS[q],
                6.0,
                &format!("orientation {o} quadrant {q}"),
            );
        }
        // Metadata extracted: orientation already reset, thumbnail gone, artist kept.
        let exif_out = photo.metadata.exif.as_ref().expect("exif kept");
        assert!(!contains(exif_out, b"UNBLURRED-THUMBNAIL"));
        assert!(photo.metadata.xmp.is_some());

        let output = dir.path().join(format!("out{o}.jpg"));
        write_photo(
            &output,
            &photo.color,
            None,
            &photo.metadata,
            photo.bits_per_channel,
            &EncodeOptions::default(),
        )
        .unwrap();
        let e = exif_of_file(&output);
        let orient = e
            .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0));
        assert_eq!(orient, Some(1), "output orientation for input {o}");
        assert_eq!(
            field_string(&e, exif::Tag::Artist).as_deref(),
            Some("\"Ada Lovelace\"")
        );
        assert_eq!(
            field_string(&e, exif::Tag::Make).as_deref(),
            Some("\"fstop test\"")
        );
        assert!(
            e.fields().all(|f| f.ifd_num == exif::In::PRIMARY),
            "thumbnail directory written"
        );
        let bytes = std::fs::read(&output).unwrap();
        assert!(
            !contains(&bytes, b"UNBLURRED-THUMBNAIL"),
            "thumbnail bytes written"
        );
        // XMP kept, with its orientation reset too.
        assert!(contains(&bytes, b"fstop-xmp-creator"));
        assert!(contains(&bytes, b"tiff:Orientation=\"1\""));
        assert!(!contains(&bytes, b"tiff:Orientation=\"6\""));
        // The written pixels are upright (read without any orientation handling).
        let raw = raw_decode(&output).to_rgb8();
        assert_eq!(raw.dimensions(), (w as u32, h as u32));
        let px = raw.get_pixel(3 * w as u32 / 4, h as u32 / 4).0;
        assert_close3(px.map(f32::from), QUADRANTS[1], 8.0, "written pixels");
        assert!(temp_leftovers(dir.path()).is_empty());
    }
}

#[test]
fn bad_orientation_values_warn_and_count_as_upright() {
    let dir = tmp();
    let (w, h) = (32usize, 16usize);
    let img = quadrant_image(w, h);
    for bad in [0u16, 9, 65535] {
        let exif = build_exif(true, bad, "Someone", false);
        let jpg = jpeg_bytes(&img, w as u16, h as u16, 95, Some(&exif), None, None);
        let p = write(dir.path(), &format!("bad{bad}.jpg"), &jpg);
        let photo = read(&p);
        assert_eq!((photo.color.width(), photo.color.height()), (w, h));
        assert!(
            photo
                .warnings
                .iter()
                .any(|w| w.contains(&format!("EXIF orientation {bad}")) && w.contains("as 1")),
            "{:?}",
            photo.warnings
        );
        assert_close3(
            srgb255(&photo.color, 3, 3),
            QUADRANTS[0],
            6.0,
            "not rotated",
        );
        let out = dir.path().join(format!("bad{bad}-out.jpg"));
        write_photo(
            &out,
            &photo.color,
            None,
            &photo.metadata,
            8,
            &EncodeOptions::default(),
        )
        .unwrap();
        let e = exif_of_file(&out);
        let orient = e
            .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0));
        assert_eq!(orient, Some(1));
    }
}

#[test]
fn png_exif_orientation_xmp_and_tiff_output() {
    let dir = tmp();
    let (w, h) = (8usize, 4usize);
    let upright = quadrant_image(w, h);
    let (sw, sh, stored) = stored_for_orientation(&upright, w, h, 6);
    let exif = build_exif(false, 6, "Grace Hopper", true);
    let png = png_bytes(
        &stored,
        sw as u32,
        sh as u32,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        Some(&exif),
        Some(XMP),
    );
    let p = write(dir.path(), "in.png", &png);
    let photo = read(&p);
    assert_eq!((photo.color.width(), photo.color.height()), (w, h));
    // Lossless: exact colours, upright.
    assert_close3(srgb255(&photo.color, 7, 0), QUADRANTS[1], 0.01, "TR");
    assert_close3(srgb255(&photo.color, 0, 3), QUADRANTS[2], 0.01, "BL");

    // PNG out: eXIf and iTXt.
    let out = dir.path().join("out.png");
    write_photo(
        &out,
        &photo.color,
        None,
        &photo.metadata,
        8,
        &EncodeOptions::default(),
    )
    .unwrap();
    let e = exif_of_file(&out);
    assert_eq!(
        e.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0)),
        Some(1)
    );
    assert_eq!(
        field_string(&e, exif::Tag::Artist).as_deref(),
        Some("\"Grace Hopper\"")
    );
    assert!(e.fields().all(|f| f.ifd_num == exif::In::PRIMARY));
    let again = read(&out);
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!((again.color.width(), again.color.height()), (w, h));
    let xmp = String::from_utf8(again.metadata.xmp.clone().unwrap()).unwrap();
    assert!(xmp.contains("fstop-xmp-creator") && xmp.contains("tiff:Orientation=\"1\""));

    // TIFF out: Artist and Make in IFD0, orientation 1, XMP (tag 700); read back through fstop.
    let tif = dir.path().join("out.TIF");
    write_photo(
        &tif,
        &photo.color,
        None,
        &photo.metadata,
        8,
        &EncodeOptions::default(),
    )
    .unwrap();
    let t = exif_of_file(&tif);
    assert_eq!(
        field_string(&t, exif::Tag::Artist).as_deref(),
        Some("\"Grace Hopper\"")
    );
    assert_eq!(
        t.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0)),
        Some(1)
    );
    let from_tiff = read(&tif);
    assert_eq!((from_tiff.color.width(), from_tiff.color.height()), (w, h));
    assert_close3(
        srgb255(&from_tiff.color, 7, 0),
        QUADRANTS[1],
        0.6,
        "TIFF TR",
    );
    let xmp = String::from_utf8(from_tiff.metadata.xmp.unwrap()).unwrap();
    assert!(xmp.contains("fstop-xmp-creator"));
    // A TIFF's own tags become EXIF for the next output.
    let exif_from_tiff = from_tiff.metadata.exif.expect("EXIF built from TIFF tags");
    let parsed = exif::Reader::new().read_raw(exif_from_tiff).unwrap();
    assert_eq!(
        field_string(&parsed, exif::Tag::Artist).as_deref(),
        Some("\"Grace Hopper\"")
    );
}

/// A Display-P3-primaries profile with a plain gamma-1.8 curve: clearly not sRGB.
fn gamma18_profile() -> Vec<u8> {
    let mut p = ColorProfile::new_display_p3();
    let curve = moxcms::curve_from_gamma(1.8);
    p.red_trc = Some(curve.clone());
    p.green_trc = Some(curve.clone());
    p.blue_trc = Some(curve);
    p.cicp = None;
    p.encode().unwrap()
}

#[test]
fn icc_profile_is_honoured_and_written_back_identically() {
    let dir = tmp();
    let icc = gamma18_profile();
    let (w, h) = (16usize, 8usize);
    let gray128 = vec![128u8; w * h * 3];
    let expect_linear = (128.0f32 / 255.0).powf(1.8);
    let srgb_linear = srgb_to_linear(128.0 / 255.0);
    assert!((expect_linear - srgb_linear).abs() > 0.05);

    let png = png_bytes(
        &gray128,
        w as u32,
        h as u32,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        Some(&icc),
        None,
        None,
    );
    let jpg = jpeg_bytes(&gray128, w as u16, h as u16, 100, None, None, Some(&icc));
    for (name, bytes) in [("p3.png", png), ("p3.jpg", jpg)] {
        let input = write(dir.path(), name, &bytes);
        let photo = read(&input);
        assert!(photo.warnings.is_empty(), "{name}: {:?}", photo.warnings);
        assert_eq!(photo.metadata.icc_profile.as_deref(), Some(icc.as_slice()));
        let v = photo.color.at(5, 5)[1];
        assert!(
            (v - expect_linear).abs() < 0.004,
            "{name}: linearised {v}, gamma-1.8 says {expect_linear}, sRGB would be {srgb_linear}"
        );
        for out_name in ["out.jpg", "out.png", "out.tif"] {
            let out = dir.path().join(format!("{name}-{out_name}"));
            write_photo(
                &out,
                &photo.color,
                None,
                &photo.metadata,
                8,
                &EncodeOptions::default(),
            )
            .unwrap();
            let again = read(&out);
            assert_eq!(
                again.metadata.icc_profile.as_deref(),
                Some(icc.as_slice()),
                "{name} → {out_name}: profile not identical"
            );
            // Encoded back through the same curve: the code value is 128 again.
            let raw = raw_decode(&out).to_rgb8();
            let px = raw.get_pixel(5, 5).0;
            for c in px {
                assert!((c as i32 - 128).abs() <= 1, "{name} → {out_name}: {px:?}");
            }
        }
    }
}

#[test]
fn corrupt_icc_warns_falls_back_to_srgb_and_is_not_written() {
    let dir = tmp();
    let (w, h) = (8usize, 8usize);
    let data = vec![128u8; w * h * 3];
    let mut corrupt = gamma18_profile();
    corrupt.truncate(60);
    corrupt.extend_from_slice(b"this is not what an ICC profile looks like at all");
    let png = png_bytes(
        &data,
        w as u32,
        h as u32,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        Some(&corrupt),
        None,
        None,
    );
    let jpg = jpeg_bytes(&data, w as u16, h as u16, 100, None, None, Some(&corrupt));
    for (name, bytes) in [("bad-icc.png", png), ("bad-icc.jpg", jpg)] {
        let p = write(dir.path(), name, &bytes);
        let photo = read(&p);
        assert!(
            photo
                .warnings
                .iter()
                .any(|w| w.contains("corrupt ICC profile") && w.contains("sRGB")),
            "{name}: {:?}",
            photo.warnings
        );
        assert_eq!(photo.metadata.icc_profile, None);
        let v = photo.color.at(2, 2)[0];
        assert!((v - srgb_to_linear(128.0 / 255.0)).abs() < 0.004, "{v}");
        let out = dir.path().join(format!("{name}.out.png"));
        write_photo(
            &out,
            &photo.color,
            None,
            &photo.metadata,
            8,
            &EncodeOptions::default(),
        )
        .unwrap();
        let again = read(&out);
        assert!(again.metadata.icc_profile.is_none() && again.warnings.is_empty());
        // Even if a caller hands the corrupt profile to the writer, it is not embedded.
        let sneaky = Metadata {
            icc_profile: Some(corrupt.clone()),
            ..Metadata::default()
        };
        write_photo(
            &out,
            &photo.color,
            None,
            &sneaky,
            8,
            &EncodeOptions::default(),
        )
        .unwrap();
        assert!(!contains(
            &std::fs::read(&out).unwrap(),
            b"this is not what an ICC"
        ));
    }
}

#[test]
fn gray_icc_profile_is_used_but_not_written_to_rgb_output() {
    let dir = tmp();
    let gray_icc = ColorProfile::new_gray_with_gamma(2.2).encode().unwrap();
    let png = png_bytes(
        &[100u8; 16],
        4,
        4,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        Some(&gray_icc),
        None,
        None,
    );
    let p = write(dir.path(), "g.png", &png);
    let photo = read(&p);
    assert!(photo.warnings.is_empty(), "{:?}", photo.warnings);
    let v = photo.color.at(1, 1);
    let want = (100.0f32 / 255.0).powf(2.2);
    assert!(
        v.iter().all(|c| (c - want).abs() < 0.003),
        "{v:?} vs {want}"
    );
    assert!(photo.metadata.icc_profile.is_none());
}

#[test]
fn cmyk_jpeg_decodes_to_rgb() {
    let dir = tmp();
    // Adobe-style CMYK JPEG. Four quadrants: cyan, magenta, yellow ink, and 50% black.
    let (w, h) = (32usize, 32usize);
    let inks: [[u8; 4]; 4] = [
        [255, 0, 0, 0],
        [0, 255, 0, 0],
        [0, 0, 255, 0],
        [0, 0, 0, 128],
    ];
    let want: [[u8; 3]; 4] = [[0, 255, 255], [255, 0, 255], [255, 255, 0], [127, 127, 127]];
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let q = (usize::from(y >= h / 2) << 1) | usize::from(x >= w / 2);
            // jpeg-encoder takes ink amounts and stores them inverted, as Photoshop does.
            data.extend(inks[q]);
        }
    }
    let mut jpg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpg, 100);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    enc.encode(&data, w as u16, h as u16, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    let p = write(dir.path(), "cmyk.jpg", &jpg);
    let photo = read(&p);
    assert!(photo.warnings.iter().any(|w| w.contains("CMYK")));
    for (q, &(x, y)) in [(8, 8), (24, 8), (8, 24), (24, 24)].iter().enumerate() {
        assert_close3(
            srgb255(&photo.color, x, y),
            want[q],
            6.0,
            &format!("CMYK quadrant {q}"),
        );
    }
    let out = dir.path().join("cmyk-out.jpg");
    write_photo(
        &out,
        &photo.color,
        None,
        &photo.metadata,
        8,
        &EncodeOptions::default(),
    )
    .unwrap();
    assert_eq!(raw_decode(&out).color(), image::ColorType::Rgb8);
}

/// EXIF with Artist and a GPS directory (latitude 51°30'26.37"), as kamadak-exif writes it.
fn exif_with_gps() -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let fields = [
        Field {
            tag: Tag::Artist,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"Ada Lovelace".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational::from((51, 1)),
                Rational::from((30, 1)),
                Rational::from((2637, 100)),
            ]),
        },
    ];
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    writer.write(&mut out, false).unwrap();
    out.into_inner()
}

/// A portrait-mode motion photo's XMP: depth map, the container directory of the appended
/// video, the extended-XMP link, GPS and a creator.
const PHONE_XMP: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/"
   xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" xmlns:Container="http://ns.google.com/photos/1.0/container/"
   xmlns:Item="http://ns.google.com/photos/1.0/container/item/" xmlns:xmpNote="http://ns.adobe.com/xmp/note/"
   xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
   GDepth:Format="RangeInverse" GDepth:Near="11.5" GDepth:Far="48" GDepth:Mime="image/png"
   GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" xmpNote:HasExtendedXMP="5E1F0A3B9C7D4E2F8A6B1C3D5E7F9A1B"
   exif:GPSLatitude="51,30.4395N">
  <Container:Directory><rdf:Seq>
   <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary"/></rdf:li>
   <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="24"/></rdf:li>
  </rdf:Seq></Container:Directory>
  <dc:creator><rdf:Seq><rdf:li>fstop-xmp-creator</rdf:li></rdf:Seq></dc:creator>
 </rdf:Description>
</rdf:RDF></x:xmpmeta>"#;

/// The APP1 segments of a JPEG with this namespace header.
fn app1_with(jpeg: &[u8], header: &[u8]) -> usize {
    let mut n = 0;
    let mut pos = 2;
    while let Some(&[0xFF, marker, hi, lo]) = jpeg.get(pos..pos + 4) {
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if marker == 0xE1 && jpeg[pos + 4..].starts_with(header) {
            n += 1;
        }
        pos += 2 + len;
    }
    n
}

#[test]
fn cli_drops_what_points_at_dropped_data_and_strips_gps_or_all_on_request() {
    use cli_support::{fstop, stderr_of, write_disparity, write_matte};
    let dir = tmp();
    let (w, h) = (96usize, 64usize);
    write_disparity(&dir.path().join("d.png"), w as u32, h as u32);
    write_matte(&dir.path().join("m.png"), w as u32, h as u32);
    let icc = gamma18_profile();
    let mut jpg = jpeg_bytes(
        &quadrant_image(w, h),
        w as u16,
        h as u16,
        95,
        Some(&exif_with_gps()),
        Some(PHONE_XMP.as_bytes()),
        Some(&icc),
    );
    // An extended-XMP segment right after SOI (the depth map's data) and a "video" after EOI.
    let mut ext = b"http://ns.adobe.com/xmp/extension/\0".to_vec();
    ext.extend_from_slice(b"5E1F0A3B9C7D4E2F8A6B1C3D5E7F9A1B");
    ext.extend_from_slice(&[0, 0, 0, 22, 0, 0, 0, 0]);
    ext.extend_from_slice(b"<GDepth:Data>EXTENDED");
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&((ext.len() + 2) as u16).to_be_bytes());
    seg.extend_from_slice(&ext);
    jpg.splice(2..2, seg);
    jpg.extend_from_slice(b"\0\0\0\x18ftypmp42MOTION-VIDEO");
    write(dir.path(), "phone.jpg", &jpg);

    let render = |out: &str, strip: Option<&str>| {
        let mut cmd = fstop(dir.path());
        cmd.args([
            "render",
            "phone.jpg",
            "-o",
            out,
            "--depth",
            "d.png",
            "--matte",
            "m.png",
        ]);
        if let Some(s) = strip {
            cmd.args(["--strip-metadata", s]);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
        assert!(o.stderr.is_empty(), "{}", stderr_of(&o));
        std::fs::read(dir.path().join(out)).unwrap()
    };
    let gps_fields = |file: &str| {
        let e = exif_of_file(&dir.path().join(file));
        let n = e
            .fields()
            .filter(|f| f.tag.context() == exif::Context::Gps)
            .count();
        (n, field_string(&e, exif::Tag::Artist))
    };
    let artist = Some("\"Ada Lovelace\"".to_string());
    let icc_of = |bytes: &[u8]| {
        use image::ImageDecoder;
        image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(bytes))
            .unwrap()
            .icc_profile()
            .unwrap()
    };
    let xmp_header = b"http://ns.adobe.com/xap/1.0/\0";

    // Default: EXIF (with GPS) and XMP kept, less what points at data fstop does not write.
    let out = render("out.jpg", None);
    assert_eq!(gps_fields("out.jpg"), (2, artist.clone()));
    assert_eq!(app1_with(&out, xmp_header), 1);
    assert_eq!(app1_with(&out, b"http://ns.adobe.com/xmp/extension/"), 0);
    for gone in [
        &b"GDepth"[..],
        b"Container",
        b"MotionPhoto",
        b"HasExtendedXMP",
        b"EXTENDED",
        b"MOTION-VIDEO",
    ] {
        assert!(!contains(&out, gone), "{}", String::from_utf8_lossy(gone));
    }
    assert!(
        out.ends_with(&[0xFF, 0xD9]),
        "nothing after the end of the image"
    );
    assert!(contains(&out, b"fstop-xmp-creator") && contains(&out, b"exif:GPSLatitude"));
    assert_eq!(icc_of(&out).as_deref(), Some(icc.as_slice()));

    // gps: no GPS directory, no XMP GPS; the rest stays.
    let out = render("gps.jpg", Some("gps"));
    assert_eq!(gps_fields("gps.jpg"), (0, artist));
    assert!(!contains(&out, b"GPS") && contains(&out, b"fstop-xmp-creator"));
    assert_eq!(icc_of(&out).as_deref(), Some(icc.as_slice()));

    // all: no EXIF and none of the photo's XMP, the ICC profile stays; the only XMP left is
    // fstop's own fingerprint (so a re-run knows the file), nothing from the photo.
    let only_fingerprint = |xmp: &str| {
        assert!(xmp.contains("fstop:Fingerprint"), "{xmp}");
        for photo_only in [
            "fstop-xmp-creator",
            "GPS",
            "Ada Lovelace",
            "GDepth",
            "tiff:",
        ] {
            assert!(!xmp.contains(photo_only), "{photo_only} in {xmp}");
        }
    };
    let out = render("all.png", Some("all"));
    assert!(!contains(&out, b"eXIf"));
    assert!(!contains(&out, b"Ada Lovelace") && !contains(&out, b"fstop-xmp-creator"));
    let all = read(&dir.path().join("all.png"));
    assert_eq!(all.metadata.icc_profile.as_deref(), Some(icc.as_slice()));
    assert_eq!(all.metadata.exif, None);
    only_fingerprint(&String::from_utf8_lossy(
        all.metadata.xmp.as_deref().unwrap(),
    ));
    let out = render("all.jpg", Some("all"));
    assert_eq!(app1_with(&out, b"Exif\0\0"), 0);
    assert_eq!(app1_with(&out, xmp_header), 1);
    let all = read(&dir.path().join("all.jpg"));
    only_fingerprint(&String::from_utf8_lossy(
        all.metadata.xmp.as_deref().unwrap(),
    ));
    assert_eq!(icc_of(&out).as_deref(), Some(icc.as_slice()));
    // …and a second run knows its own output (a file without the fingerprint is refused).
    assert_eq!(render("all.jpg", Some("all")), out);

    // A bad value is a usage error naming the choices.
    let o = fstop(dir.path())
        .args([
            "render",
            "phone.jpg",
            "-o",
            "x.jpg",
            "--strip-metadata",
            "exif",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr_of(&o).contains("[possible values: none, gps, all]"),
        "{}",
        stderr_of(&o)
    );
    assert!(!dir.path().join("x.jpg").exists());
}
