//! Reliability II, the reading side (issue 11, items 2, 3 and 7), end to end through the
//! `fstop` binary and through the library: a metadata bomb in a photo is dropped with a
//! warning under a memory bound that the bomb itself would break; side files that are not
//! regular files or are too large are refused with one line, unread; unsupported JPEG kinds say
//! so; metadata a JPEG output cannot hold and HDR float values are reported as warnings of the
//! photo (stderr and the report), not as raw log lines.
//!
//! Every input is generated (`reliability_io_support`); none needs the models.

mod reliability_io_support;
mod reliability_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fstop::io::{DecodeOptions, EncodeOptions, EncodeWarning, Metadata, read_photo, write_photo};
use fstop::scene::LinearRgb;
use reliability_io_support::*;
use reliability_support::{Case, H, W, disparity_png, run_case};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fstop"))
}

/// What is wrong with one case's outcome (empty when it behaved), with the case named first.
fn problems(case: &Case) -> Vec<String> {
    let o = run_case(&bin(), case);
    let mut problems = reliability_support::problems(case, &o);
    if !problems.is_empty() {
        problems.insert(
            0,
            format!(
                "{} [{}] stderr {:?} peak {} KiB",
                case.label,
                case.command_line(),
                o.stderr,
                o.peak_rss_kib
            ),
        );
    }
    problems
}

#[test]
fn every_reading_case_fails_or_warns_with_one_line() {
    let root = tempfile::tempdir().unwrap();
    let cases = cases(root.path());
    assert!(cases.len() >= 13);
    let bad: Vec<String> = cases.iter().flat_map(problems).collect();
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

/// The ICC bomb is dropped by looking at it, not by inflating it: the run stays far below the
/// `ulimit -v` it runs under, and far below the 1 GiB the profile would take.
#[test]
fn icc_bomb_costs_little_memory() {
    let root = tempfile::tempdir().unwrap();
    let case = cases(root.path())
        .into_iter()
        .find(|c| {
            c.label
                .starts_with("PNG whose ICC profile inflates to 1 GiB")
        })
        .unwrap();
    let o = run_case(&bin(), &case);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(
        o.peak_rss_kib < 200 * 1024,
        "peak {} KiB for a 1 GiB bomb",
        o.peak_rss_kib
    );
}

/// Without the bound the decoder inflates the whole profile: the same file with the bound
/// lifted would need over 1 GiB. Checked on the library: the photo decodes, the profile is
/// gone, one warning says why.
#[test]
fn icc_bomb_is_dropped_by_read_photo() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.png");
    std::fs::write(&p, png_icc_bomb(3 << 30)).unwrap(); // 3 GiB inflated, ~20 MB on disk
    let photo = read_photo(&p, &DecodeOptions::default()).unwrap();
    assert_eq!(photo.metadata.icc_profile, None);
    assert_eq!(
        photo.warnings,
        ["ICC profile inflates to more than the 16 MiB limit; ignored"]
    );
    assert_eq!(
        (photo.color.width(), photo.color.height()),
        (W as usize, H as usize)
    );
}

fn json_warnings(report: &Path) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    v["files"][0]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

/// EXIF a JPEG output cannot hold is a warning of the photo: on stderr as
/// `warning: PHOTO: …` (no log line, no colour codes, even with logging on) and in the report.
#[test]
fn exif_too_large_for_a_jpeg_is_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("exif.png"), png_big_exif(100_000)).unwrap();
    std::fs::write(dir.path().join("d.png"), disparity_png(W, H)).unwrap();
    for log in [None, Some("warn")] {
        let mut cmd = Command::new(bin());
        cmd.current_dir(dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join(".no-user-config"))
            .env_remove("FSTOP_LOG")
            .stdin(Stdio::null())
            .args([
                "exif.png",
                "-o",
                "out.jpg",
                "--depth",
                "d.png",
                "--overwrite",
                "--report",
                "r.json",
            ]);
        if let Some(level) = log {
            cmd.env("FSTOP_LOG", level);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let want = "EXIF data is 100000 bytes, over the 65527 a JPEG holds; not written to the \
                    output (write a PNG or TIFF to keep it)";
        assert_eq!(
            stderr.trim_end(),
            format!("warning: exif.png: {want}"),
            "log {log:?}"
        );
        assert_eq!(json_warnings(&dir.path().join("r.json")), [want]);
    }
    // The same photo written as PNG keeps its EXIF, with no warning.
    let out = Command::new(bin())
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join(".no-user-config"))
        .env_remove("FSTOP_LOG")
        .args(["exif.png", "-o", "out.png", "--depth", "d.png"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let kept = read_photo(&dir.path().join("out.png"), &DecodeOptions::default()).unwrap();
    assert_eq!(kept.metadata.exif.map(|e| e.len()), Some(100_000));
}

/// The library returns what it left out, typed.
#[test]
fn write_photo_returns_what_the_format_cannot_hold() {
    let dir = tempfile::tempdir().unwrap();
    let img = LinearRgb::filled(8, 8, [0.2, 0.3, 0.4]);
    let mut exif = reliability_support::exif_orientation(1);
    exif.resize(70_000, 0);
    let meta = Metadata {
        icc_profile: None,
        exif: Some(exif),
        xmp: Some(vec![b'x'; 70_000]),
    };
    let o = EncodeOptions::default();
    let left_out = write_photo(&dir.path().join("a.jpg"), &img, None, &meta, 8, &o).unwrap();
    assert_eq!(
        left_out,
        [
            EncodeWarning::ExifTooLargeForJpeg { bytes: 70_000 },
            EncodeWarning::XmpTooLargeForJpeg { bytes: 70_000 }
        ]
    );
    for ext in ["png", "tif"] {
        let p = dir.path().join(format!("a.{ext}"));
        assert_eq!(write_photo(&p, &img, None, &meta, 8, &o).unwrap(), []);
        let back = read_photo(&p, &DecodeOptions::default()).unwrap();
        assert!(back.metadata.exif.is_some(), "{ext}");
    }
}

/// NaN and infinities in a float TIFF become defined values (NaN and −inf 0, +inf 1) and are
/// counted in one warning; values above 1 are kept as light and counted in another.
#[test]
fn float_tiff_values_outside_0_to_1_are_defined_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.tif");
    std::fs::write(
        &p,
        float_tiff(|d| {
            d[0] = f32::NAN; // pixel 0
            d[4] = f32::INFINITY; // pixel 1, green
            d[6] = f32::NEG_INFINITY; // pixel 2
            d[9..12].copy_from_slice(&[3.5, 0.5, 0.5]); // pixel 3
            d[12] = -0.25; // pixel 4
        }),
    )
    .unwrap();
    let photo = read_photo(&p, &DecodeOptions::default()).unwrap();
    let c = &photo.color;
    assert_eq!(c.r()[0], 0.0);
    assert_eq!(c.g()[1], 1.0);
    assert_eq!(c.r()[2], 0.0);
    assert_eq!(c.r()[3], 3.5, "HDR values are kept as light");
    assert_eq!(c.r()[4], 0.0);
    assert!(
        [c.r(), c.g(), c.b()]
            .iter()
            .all(|p| p.iter().all(|v| v.is_finite() && *v >= 0.0))
    );
    assert_eq!(
        photo.warnings,
        [
            "1 pixels have float values above 1.0 (up to 3.5): kept as light for the blur, \
             clipped to 1.0 in the output",
            "3 pixels have NaN or infinite float values: NaN and -inf set to 0, +inf to 1.0",
            "1 pixels have negative float values: set to 0",
        ]
    );
}

/// A photo input that is a device, or a sparse file over the size limit, is refused by the
/// library without being read.
#[test]
fn read_photo_refuses_devices_and_oversized_files() {
    let e = read_photo(Path::new("/dev/zero"), &DecodeOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(e, "/dev/zero: is a character device, not a regular file");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.png");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(2_000_000_000).unwrap(); // sparse
    let small = DecodeOptions {
        max_pixels: 1_000_000,
    };
    let e = read_photo(&p, &small).unwrap_err().to_string();
    assert!(
        e.contains("is 2000000000 bytes, over the limit of 284435456 bytes for an image file"),
        "{e}"
    );
}
