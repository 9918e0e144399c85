//! End to end: `--grain` puts the photo's noise back where the lens blurred it.

mod cli_support;

use cli_support::{fstop, stderr_of};
use fstop::grain::measure_grain;
use fstop::scene::LinearRgb;
use image::{ImageBuffer, Luma, Rgb};

const W: u32 = 192;
const H: u32 = 96;
const SIGMA_8BIT: f32 = 3.0;

/// Zero-mean, unit-variance noise from the position.
fn gauss(x: u32, y: u32, c: u32) -> f32 {
    fstop::grain::noise(x as usize, y as usize, c, 0x5EED)
}

/// Flat grey halves (near subject left, far background right) with sensor-like noise.
fn write_inputs(dir: &std::path::Path) {
    let photo = ImageBuffer::from_fn(W, H, |x, y| {
        let base = if x < W / 2 { 140.0 } else { 90.0 };
        Rgb([0, 1, 2].map(|c| (base + SIGMA_8BIT * gauss(x, y, c)).round() as u8))
    });
    photo.save(dir.join("p.png")).unwrap();
    let depth: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_fn(W, H, |x, _| Luma([if x < W / 2 { 50_000 } else { 2_000 }]));
    depth.save(dir.join("d.png")).unwrap();
}

fn grain_of(path: &std::path::Path, x0: u32, x1: u32) -> f32 {
    let img = image::open(path).unwrap().to_rgb32f();
    let w = (x1 - x0) as usize;
    let mut rgb = Vec::with_capacity(w * H as usize * 3);
    for y in 0..H {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            rgb.extend(p.map(fstop::io::colour::srgb_to_linear));
        }
    }
    measure_grain(&LinearRgb::from_interleaved(w, H as usize, &rgb), None)
}

#[test]
fn blurred_background_keeps_the_photos_grain() {
    let d = tempfile::tempdir().unwrap();
    write_inputs(d.path());
    let render = |out: &str, grain: &[&str]| {
        let o = fstop(d.path())
            .args(["p.png", "-o", out, "--depth", "d.png", "--f-number", "1.4"])
            .args(grain)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    };
    render("auto.png", &[]);
    render("none.png", &["--grain", "none"]);
    let photo = d.path().join("p.png");
    let sigma = SIGMA_8BIT / 255.0;
    let in_focus = grain_of(&photo, 8, W / 2 - 24);
    assert!((in_focus / sigma - 1.0).abs() < 0.2, "{in_focus}");
    // Far from the edge, where the blur is complete.
    let (b0, b1) = (W / 2 + 40, W - 8);
    let smooth = grain_of(&d.path().join("none.png"), b0, b1);
    assert!(
        smooth < 0.4 * sigma,
        "--grain none leaves it smooth: {smooth}"
    );
    let auto_bg = grain_of(&d.path().join("auto.png"), b0, b1);
    let auto_fg = grain_of(&d.path().join("auto.png"), 8, W / 2 - 24);
    assert!(
        (auto_bg / auto_fg - 1.0).abs() < 0.25,
        "in focus {auto_fg}, blurred {auto_bg}"
    );
    // Out of range: a usage error naming the range.
    let o = fstop(d.path())
        .args(["p.png", "-o", "x.png", "--depth", "d.png", "--grain", "40"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr_of(&o).contains("level 0–20"), "{}", stderr_of(&o));
}
