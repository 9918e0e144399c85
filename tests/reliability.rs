//! Reliability, end to end through the `fstop` binary (issue 6): every bad input of
//! `reliability_support::cases` fails with one line naming the file and the cause (or renders
//! with one warning line), with the documented exit code, touching nothing else; odd but valid
//! inputs render sensibly; a giant header is refused with little memory; a full or read-only
//! disk, a batch of bad photos, `--fail-fast` and a second SIGINT/SIGTERM during a write leave
//! no partial or temporary file and every input byte-identical.
//!
//! Inputs are generated (never real photos). The model cases need the ONNX Runtime that
//! `bash scripts/setup.sh` installs.

mod reliability_support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reliability_support::*;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fstop"))
}

fn fstop(dir: &Path) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join(".no-user-config"))
        .env_remove("FSTOP_LOG")
        .env_remove("FSTOP_DEBUG_PANIC_ON")
        .stdin(Stdio::null());
    c
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Largest difference between two 8-bit RGB images over the pixels where `keep(x, y)`.
fn max_diff_rgb8(a: &image::RgbImage, b: &image::RgbImage, keep: impl Fn(u32, u32) -> bool) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    let mut worst = 0u8;
    for (x, y, p) in a.enumerate_pixels() {
        if keep(x, y) {
            let q = b.get_pixel(x, y);
            for c in 0..3 {
                worst = worst.max(p[c].abs_diff(q[c]));
            }
        }
    }
    worst
}

fn mean_abs_diff_rgb8(
    a: &image::RgbImage,
    b: &image::RgbImage,
    keep: impl Fn(u32, u32) -> bool,
) -> f64 {
    let (mut s, mut n) = (0.0f64, 0usize);
    for (x, y, p) in a.enumerate_pixels() {
        if keep(x, y) {
            let q = b.get_pixel(x, y);
            for c in 0..3 {
                s += p[c].abs_diff(q[c]) as f64;
                n += 1;
            }
        }
    }
    s / n.max(1) as f64
}

/// The catalogue: each case's exit code, its single stderr line, and the files it leaves.
#[test]
fn every_bad_input_is_one_line_naming_the_file_and_touches_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let cases = cases(root.path());
    assert!(cases.len() >= 40, "{}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let o = run_case(&bin(), case);
        let problems = problems(case, &o);
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({}):\n  {}\n  stderr: {}",
                case.label,
                case.command_line(),
                problems.join("\n  "),
                o.stderr.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Address-space cap for the giant-header runs: a small render fits easily, while the
/// 100000×100000 image would need 30 GB as 8-bit pixels (an attempt aborts the process).
const ADDRESS_SPACE_CAP: u64 = 256 << 20;

/// Runs fstop under [`ADDRESS_SPACE_CAP`]: exit code, stderr and wall time.
fn run_capped(dir: &Path, args: &[&str]) -> (Option<i32>, String, Duration) {
    use std::os::unix::process::CommandExt;
    let mut cmd = fstop(dir);
    cmd.args(args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let cap = libc::rlimit {
                rlim_cur: ADDRESS_SPACE_CAP as libc::rlim_t,
                rlim_max: ADDRESS_SPACE_CAP as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &cap) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let t = Instant::now();
    let out = cmd.output().unwrap();
    (out.status.code(), stderr(&out), t.elapsed())
}

#[test]
fn giant_headers_are_refused_before_allocating() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "huge.png", &png_claiming(100_000, 100_000));
    write(dir, "huge.npy", &npy_claiming(&[1.0; 16], 100_000, 100_000));
    write_photo_png(&dir.join("p.png"), W, H, 1);
    write(dir, "d.png", &disparity_png(W, H));
    // A normal small render works under the cap.
    let (code, err, _) = run_capped(dir, &["p.png", "-o", "ok.png", "--depth", "d.png"]);
    assert_eq!(code, Some(0), "{err}");
    for (args, needle) in [
        (
            vec!["huge.png", "-o", "o.png", "--depth", "d.png"],
            "huge.png: image is 100000×100000",
        ),
        (
            vec!["p.png", "-o", "o.png", "--depth", "huge.png"],
            "huge.png: image is 100000×100000",
        ),
        (
            vec![
                "p.png", "-o", "o.png", "--depth", "d.png", "--matte", "huge.png",
            ],
            "huge.png: image is 100000×100000",
        ),
        (
            vec!["p.png", "-o", "o.png", "--depth", "huge.npy"],
            "huge.npy: array is 100000×100000",
        ),
    ] {
        let (code, err, wall) = run_capped(dir, &args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(wall < Duration::from_secs(3), "{args:?}: {wall:?}");
        assert!(!dir.join("o.png").exists());
    }
    // With the limit raised past what the machine has, the photo fails cleanly (the decoder's
    // buffer used to be allocated infallibly: the whole process aborted, batch and all).
    let (code, err, _) = run_capped(
        dir,
        &[
            "huge.png",
            "-o",
            "o.png",
            "--depth",
            "d.png",
            "--max-pixels",
            "20000000000",
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        err,
        "error: huge.png: not enough memory to decode 100000×100000 pixels (28611 MiB)\n"
    );
}

#[test]
fn tiny_images_keep_their_colour() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(
        dir,
        "one.png",
        &png_bytes(
            &[200, 120, 80],
            1,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            None,
            None,
        ),
    );
    write(dir, "d1.png", &gray_png(1, 1, 128));
    // A 1×1 photo with a relative depth map and with a metric one at 0.3 m (strong blur).
    write(dir, "d1.npy", &npy_f32(&[0.3], 1, 1));
    for (depth, focus) in [("d1.png", "auto"), ("d1.npy", "5m")] {
        let out = fstop(dir)
            .args(["one.png", "-o", "o.png", "--depth", depth, "--focus", focus])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let px = decode(&dir.join("o.png")).to_rgb8().get_pixel(0, 0).0;
        for (c, want) in [200u8, 120, 80].iter().enumerate() {
            assert!(px[c].abs_diff(*want) <= 2, "{depth}: {px:?}");
        }
    }
    // 3×3, 2×5 and 5×1 with a round and bladed apertures, at an extreme blur.
    for (w, h) in [(3u32, 3u32), (2, 5), (5, 1)] {
        write(
            dir,
            "s.png",
            &png_bytes(
                &photo_rgb8(w, h, 3),
                w,
                h,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                None,
                None,
            ),
        );
        write(dir, "s_d.png", &disparity_png(w, h));
        for blades in ["0", "3", "16"] {
            let out = fstop(dir)
                .args([
                    "s.png", "-o", "s_o.png", "--depth", "s_d.png", "--focus", "9m",
                ])
                .args([
                    "--blades",
                    blades,
                    "--f-number",
                    "0.95",
                    "--focal-length",
                    "800",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{w}×{h} blades {blades}: {}",
                stderr(&out)
            );
            let img = decode(&dir.join("s_o.png"));
            assert_eq!((img.width(), img.height()), (w, h));
        }
    }
}

#[test]
fn sixteen_bit_grayscale_alpha_and_cmyk_inputs_render_faithfully() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "d.png", &disparity_png(W, H));
    write(dir, "m.png", &matte_png(W, H));
    let run = |input: &str, output: &str| {
        let out = fstop(dir)
            .args([input, "-o", output, "--depth", "d.png", "--matte", "m.png"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{input}: {}", stderr(&out));
        out
    };
    // The subject's inside (in focus, away from its edges).
    let inside =
        |x: u32, y: u32| x >= W / 3 + 3 && x + 3 < 2 * W / 3 && y >= H / 4 + 3 && y + 1 < H;

    // 16-bit stays 16-bit: the low bytes carry information, the subject is unchanged.
    write(dir, "deep.png", &rgb16_png(W, H));
    run("deep.png", "deep_o.png");
    let out16 = decode(&dir.join("deep_o.png"));
    assert_eq!(out16.color(), image::ColorType::Rgb16);
    let out16 = out16.to_rgb16();
    let in16 = decode(&dir.join("deep.png")).to_rgb16();
    let not_8bit = out16.as_raw().iter().filter(|v| *v % 257 != 0).count();
    assert!(not_8bit > out16.as_raw().len() / 2, "{not_8bit}");
    for (x, y, p) in out16.enumerate_pixels() {
        if inside(x, y) {
            let q = in16.get_pixel(x, y);
            for c in 0..3 {
                assert!(p[c].abs_diff(q[c]) <= 64, "({x},{y}): {p:?} vs {q:?}");
            }
        }
    }

    // Grayscale in: gray out (equal channels).
    let gray: Vec<u8> = photo_rgb8(W, H, 2).chunks(3).map(|p| p[1]).collect();
    write(
        dir,
        "gray.png",
        &png_bytes(
            &gray,
            W,
            H,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            None,
            None,
        ),
    );
    run("gray.png", "gray_o.png");
    let g = decode(&dir.join("gray_o.png")).to_rgb8();
    for p in g.pixels() {
        assert!(
            p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1,
            "{p:?}"
        );
    }

    // Alpha is carried through exactly (RGBA and gray + alpha).
    write(dir, "rgba.png", &rgba_png(W, H));
    run("rgba.png", "rgba_o.png");
    let o = decode(&dir.join("rgba_o.png"));
    assert_eq!(o.color(), image::ColorType::Rgba8);
    let alpha: Vec<u8> = o.to_rgba8().pixels().map(|p| p[3]).collect();
    assert_eq!(alpha, rgba_png_alpha(W, H));
    write(dir, "ga.png", &gray_alpha_png(W, H));
    run("ga.png", "ga_o.png");
    let o = decode(&dir.join("ga_o.png"));
    let want: Vec<u8> = decode(&dir.join("ga.png"))
        .to_luma_alpha8()
        .pixels()
        .map(|p| p[1])
        .collect();
    let got: Vec<u8> = o.to_rgba8().pixels().map(|p| p[3]).collect();
    assert_eq!(got, want);

    // CMYK: the subject keeps its colour (simple conversion, JPEG twice).
    write(dir, "cmyk.jpg", &cmyk_jpeg(W, H));
    let out = run("cmyk.jpg", "cmyk_o.png");
    assert!(stderr(&out).contains("CMYK"), "{}", stderr(&out));
    let o = decode(&dir.join("cmyk_o.png")).to_rgb8();
    let src = image::RgbImage::from_raw(W, H, photo_rgb8(W, H, 7)).unwrap();
    let m = mean_abs_diff_rgb8(&o, &src, inside);
    assert!(m < 6.0, "CMYK subject differs by {m}");
}

#[test]
fn bad_orientation_and_corrupt_icc_are_warnings_and_the_output_is_clean() {
    use image::ImageDecoder;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "d.png", &disparity_png(W, H));
    for o in [0u16, 9, 65535] {
        let name = format!("o{o}.jpg");
        write(
            dir,
            &name,
            &jpeg_bytes(
                &photo_rgb8(W, H, 4),
                W as u16,
                H as u16,
                jpeg_encoder::ColorType::Rgb,
                Some(&exif_orientation(o)),
                Some(&corrupt_icc()),
            ),
        );
        let out = fstop(dir)
            .args([&name, "-o", "out.jpg", "--depth", "d.png"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        // Two warnings, each one line naming the file.
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with(&format!("warning: {name}: "))),
            "{err}"
        );
        assert!(err.contains(&format!("EXIF orientation {o}")), "{err}");
        assert!(
            err.contains("corrupt ICC profile") && err.contains("sRGB"),
            "{err}"
        );
        // Upright (not rotated), no ICC profile written, orientation reset.
        let bytes = std::fs::read(dir.join("out.jpg")).unwrap();
        let mut dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(dec.dimensions(), (W, H));
        assert_eq!(dec.icc_profile().unwrap(), None);
        if let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&bytes))
            && let Some(f) = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        {
            assert_eq!(f.value.get_uint(0), Some(1));
        }
    }
}

/// Renders `p.png` with the given depth/matte arguments and returns the output as RGB8.
fn render_rgb8(dir: &Path, extra: &[&str], output: &str) -> (image::RgbImage, String) {
    let out = fstop(dir)
        .args(["p.png", "-o", output])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{extra:?}: {}", stderr(&out));
    (decode(&dir.join(output)).to_rgb8(), stderr(&out))
}

#[test]
fn degenerate_depth_and_mattes_render_sensibly() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (w, h) = (96u32, 64u32);
    write_photo_png(&dir.join("p.png"), w, h, 5);
    let input = decode(&dir.join("p.png")).to_rgb8();
    write(dir, "d.png", &disparity_png(w, h));
    write(dir, "m.png", &matte_png(w, h));
    write(dir, "zero.png", &gray_png(w, h, 0));
    write(dir, "one.png", &gray_png(w, h, 255));
    write(dir, "flat.png", &gray_png(w, h, 100));
    write(
        dir,
        "flat.npy",
        &npy_f32(&vec![3.0; (w * h) as usize], w as usize, h as usize),
    );
    write(
        dir,
        "nan.npy",
        &npy_f32(&vec![f32::NAN; (w * h) as usize], w as usize, h as usize),
    );
    let metric = metric_depth(w, h);
    write(dir, "metric.npy", &npy_f32(&metric, w as usize, h as usize));
    let holes: Vec<f32> = metric
        .iter()
        .enumerate()
        .map(|(i, &z)| match i % 11 {
            0 => f32::NAN,
            3 => -2.0,
            5 => 0.0,
            7 => f32::NEG_INFINITY,
            _ => z,
        })
        .collect();
    write(dir, "holes.npy", &npy_f32(&holes, w as usize, h as usize));
    let all = |_: u32, _: u32| true;
    let inside = |x: u32, y: u32| x >= w / 3 + 4 && x + 4 < 2 * w / 3 && y >= h / 4 + 4;
    let background = |x: u32, y: u32| !(x + 8 >= w / 3 && x < 2 * w / 3 + 8 && y + 8 >= h / 4);

    // Sanity: the normal render keeps the subject and blurs the background.
    let (normal, _) = render_rgb8(dir, &["--depth", "d.png", "--matte", "m.png"], "normal.png");
    assert!(max_diff_rgb8(&normal, &input, inside) <= 2);
    assert!(mean_abs_diff_rgb8(&normal, &input, background) > 2.0);

    // All-zero and all-one mattes carry no subject: ignored with a warning, the render is the
    // same as without a matte (depth-driven).
    let (none, _) = render_rgb8(dir, &["--depth", "d.png"], "none.png");
    assert!(mean_abs_diff_rgb8(&none, &input, background) > 2.0);
    for (matte, what) in [
        ("zero.png", "is empty"),
        ("one.png", "covers the whole photo"),
    ] {
        let (o, err) = render_rgb8(dir, &["--depth", "d.png", "--matte", matte], "o.png");
        assert_eq!(o, none, "{matte} differs from no matte");
        assert!(
            err.starts_with(&format!("warning: p.png: {matte}: the matte {what}"))
                && err.lines().count() == 1,
            "{err}"
        );
    }
    // With a flat depth map an all-one matte returns the input.
    let (o, _) = render_rgb8(dir, &["--depth", "flat.png", "--matte", "one.png"], "o.png");
    let worst = max_diff_rgb8(&o, &input, all);
    assert!(
        worst <= 2,
        "all-one matte on a flat map changed the photo by {worst}"
    );

    // Constant depth (relative with a matte, metric without): everything is in focus.
    for (args, name) in [
        (
            vec!["--depth", "flat.png", "--matte", "m.png"],
            "flat_png.png",
        ),
        (vec!["--depth", "flat.npy"], "flat_npy.png"),
        (vec!["--depth", "nan.npy"], "nan.png"),
    ] {
        let (o, err) = render_rgb8(dir, &args, name);
        let worst = max_diff_rgb8(&o, &input, all);
        assert!(worst <= 2, "{args:?}: changed by {worst}");
        if name == "nan.png" {
            assert!(err.contains("no valid depth value"), "{err}");
        } else {
            assert_eq!(err, "");
        }
    }

    // A metric map with holes (NaN, −∞, 0, negative) renders like the clean map.
    let (clean, _) = render_rgb8(
        dir,
        &["--depth", "metric.npy", "--matte", "m.png"],
        "clean.png",
    );
    let (holey, err) = render_rgb8(
        dir,
        &["--depth", "holes.npy", "--matte", "m.png"],
        "holey.png",
    );
    assert!(
        err.contains("holes.npy") && err.contains("filled in"),
        "{err}"
    );
    let m = mean_abs_diff_rgb8(&clean, &holey, all);
    assert!(m < 1.5, "holes changed the render by {m} on average");
}

/// `sh -c SCRIPT` inside a private user + mount namespace (tmpfs mounts without privileges).
fn in_namespace(dir: &Path, script: &str) -> std::process::Output {
    Command::new("unshare")
        .args(["-rm", "sh", "-c", script])
        .current_dir(dir)
        .env("FSTOP", bin())
        .env("XDG_CONFIG_HOME", dir.join(".none"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_fails_that_photo_and_the_batch_goes_on() {
    if !namespaces_work() {
        skipped("full disk: no user namespaces for a tmpfs (tests/cli_batch.rs covers ulimit -f)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // `big` cannot fit into 64 KiB (noise does not compress), `small` can.
    std::fs::create_dir_all(dir.join("in/depth")).unwrap();
    write(
        dir,
        "in/big.png",
        &png_bytes(
            &noise_rgb(200, 200),
            200,
            200,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            None,
            None,
        ),
    );
    write(dir, "in/depth/big.png", &disparity_png(200, 200));
    write_photo_png(&dir.join("in/small.png"), 16, 12, 3);
    write(dir, "in/depth/small.png", &disparity_png(16, 12));
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let before = snapshot(&dir.join("in"));
    let out = in_namespace(
        dir,
        "mount -t tmpfs -o size=64k tmpfs out || exit 99; \
         \"$FSTOP\" in -o out --depth '{dir}/depth/{stem}.png' --jobs 1 --name '{stem}.png'; rc=$?; \
         ls -A out > listing.txt; exit $rc",
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("big.png") && errors[0].contains("No space left on device"),
        "{err}"
    );
    assert!(
        err.contains("1 rendered, 0 skipped, 1 failed of 2 files"),
        "{err}"
    );
    // On the full tmpfs: the small photo's output and nothing else (no temp file).
    let listing = std::fs::read_to_string(dir.join("listing.txt")).unwrap();
    assert_eq!(
        listing.split_whitespace().collect::<Vec<_>>(),
        vec!["small.png"]
    );
    assert_eq!(snapshot(&dir.join("in")), before);
}

#[test]
fn a_read_only_output_folder_is_one_error_line() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write_photo_png(&dir.join("p.png"), W, H, 1);
    write(dir, "d.png", &disparity_png(W, H));
    std::fs::create_dir_all(dir.join("ro")).unwrap();
    let before = snapshot(dir);
    let out = if namespaces_work() {
        in_namespace(
            dir,
            "mount -t tmpfs -o ro,size=64k tmpfs ro || exit 99; \
             exec \"$FSTOP\" p.png -o ro/out.png --depth d.png",
        )
    } else if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("ro"), std::fs::Permissions::from_mode(0o555)).unwrap();
        fstop(dir)
            .args(["p.png", "-o", "ro/out.png", "--depth", "d.png"])
            .output()
            .unwrap()
    } else {
        skipped("read-only folder: root without user namespaces cannot make one");
        return;
    };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: p.png: ro/out.png: "), "{err}");
    assert!(
        err.contains("Read-only file system") || err.contains("Permission denied"),
        "{err}"
    );
    assert_eq!(snapshot(dir), before);
}

#[test]
fn a_batch_reports_each_bad_file_once_and_renders_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let bad = mixed_batch(dir);
    let before = snapshot(&dir.join("photos"));
    let out = fstop(dir)
        .args([
            "photos",
            "-o",
            "out",
            "--depth",
            "{dir}/depth/{stem}.png",
            "--jobs",
            "2",
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), bad.len(), "{err}");
    for name in &bad {
        assert_eq!(
            errors.iter().filter(|l| l.contains(name)).count(),
            1,
            "{name}: {err}"
        );
    }
    assert!(
        err.contains("2 rendered, 0 skipped, 6 failed of 8 files"),
        "{err}"
    );
    assert_eq!(
        snapshot(&dir.join("out"))
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["f_good-bokeh.png", "g_good-bokeh.png"]
    );
    assert_eq!(snapshot(&dir.join("photos")), before, "an input changed");

    // --fail-fast: one error, nothing after it.
    let out = fstop(dir)
        .args(["photos", "-o", "ff", "--depth", "{dir}/depth/{stem}.png"])
        .args(["--jobs", "1", "--fail-fast"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("a_empty.jpg"), "{err}");
    assert!(snapshot(&dir.join("ff")).is_empty());
    assert_eq!(snapshot(&dir.join("photos")), before, "an input changed");
}

fn temp_files(dir: &Path) -> Vec<String> {
    snapshot(dir)
        .into_keys()
        .filter(|k| k.contains(fstop::io::atomic::TEMP_SUFFIX))
        .collect()
}

/// Sends `signals` while a temporary output file is being written; nothing temporary or
/// partial may stay, and the inputs are untouched.
fn signals_during_a_write(signals: &[&str], code: i32) {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    big_batch(dir, 3, 2000, 1400);
    let before = snapshot(&dir.join("photos"));
    let mut child = fstop(dir)
        .args([
            "photos",
            "-o",
            "out",
            "--depth",
            "{dir}/depth/{stem}.png",
            "--jobs",
            "1",
        ])
        .args(["--name", "{stem}.png"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut saw_temp = false;
    while start.elapsed() < Duration::from_secs(120) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::fs::read_dir(dir.join("out")).is_ok_and(|mut r| {
            r.any(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(fstop::io::atomic::TEMP_SUFFIX)
            })
        }) {
            saw_temp = true;
            for s in signals {
                kill_and_wait_delivered(child.id(), s);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(saw_temp, "never saw a write in progress: {err}");
    assert_eq!(status.code(), Some(code), "{err}");
    assert_eq!(temp_files(&dir.join("out")), Vec::<String>::new(), "{err}");
    for (name, _) in snapshot(&dir.join("out")) {
        let img = decode(&dir.join("out").join(&name));
        assert_eq!((img.width(), img.height()), (2000, 1400), "{name}");
    }
    assert_eq!(snapshot(&dir.join("photos")), before, "an input changed");
}

#[test]
fn one_signal_during_a_write_finishes_or_drops_it_cleanly() {
    signals_during_a_write(&["-TERM"], 143);
}

#[test]
fn a_second_signal_during_a_write_removes_the_temporary_file() {
    // Exiting at once used to leave `.NAME.XXXX.fstop-tmp` behind.
    signals_during_a_write(&["-INT", "-INT"], 130);
}

#[test]
fn a_second_sigterm_during_a_write_removes_the_temporary_file() {
    signals_during_a_write(&["-TERM", "-TERM"], 143);
}
