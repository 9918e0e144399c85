//! Timing of decode and encode at 12 MP: `cargo bench --bench io` (prints; no assertion,
//! benchmarks hold no targets of their own — see scripts/bench.sh for those).

#[path = "../tests/io_support/mod.rs"]
mod io_support;

use std::time::Instant;

use fstop::io::{DecodeOptions, EncodeOptions, read_photo, write_photo};
use io_support::*;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: both run it.
    twelve_megapixel_decode_and_encode();
}

fn twelve_megapixel_decode_and_encode() {
    let dir = tmp();
    let (w, h) = (4000usize, 3000usize);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let n = noise(y * w + x, 1) / 16;
            rgb.push((x * 200 / w) as u8 + n);
            rgb.push((y * 200 / h) as u8 + n);
            rgb.push(((x + y) * 100 / (w + h)) as u8 + n);
        }
    }
    let exif = build_exif(true, 6, "Timing Test", true);
    let jpg = jpeg_bytes(&rgb, w as u16, h as u16, 92, Some(&exif), None, None);
    let input = write(dir.path(), "in.jpg", &jpg);
    let threads = rayon::current_num_threads();
    println!(
        "12 MP, {threads} rayon threads, input JPEG {} KiB",
        jpg.len() / 1024
    );

    // Wall time, and CPU time of the whole process (all threads): on a busy shared machine the
    // CPU time is the honest cost; CPU ÷ threads approximates an idle machine's wall time.
    let best = |f: &mut dyn FnMut()| -> String {
        let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..3 {
            let (t, c) = (Instant::now(), cpu_ms());
            f();
            wall = wall.min(t.elapsed().as_secs_f64() * 1000.0);
            cpu = cpu.min(cpu_ms() - c);
        }
        format!("wall {wall:.0} ms, CPU {cpu:.0} ms")
    };
    let mut photo = None;
    let ms = best(&mut || photo = Some(read_photo(&input, &DecodeOptions::default()).unwrap()));
    println!("read_photo JPEG (decode + rotate + linearise): {ms}");
    let photo = photo.unwrap();
    for (name, bits) in [
        ("out.jpg", 8),
        ("out.png", 8),
        ("out16.png", 16),
        ("out.tif", 8),
        ("out16.tif", 16),
    ] {
        let p = dir.path().join(name);
        let ms = best(&mut || {
            write_photo(
                &p,
                &photo.color,
                None,
                &photo.metadata,
                bits,
                &EncodeOptions::default(),
            )
            .unwrap();
        });
        let kib = std::fs::metadata(&p).unwrap().len() / 1024;
        println!("write_photo {name} ({bits}-bit): {ms}, {kib} KiB");
    }
    let tables = fstop::io::colour::Transfer::srgb().encode_tables();
    let ms = best(&mut || {
        std::hint::black_box(fstop::io::encode::quantize8(
            &photo.color,
            None,
            &tables,
            true,
        ));
    });
    println!("  of which linear → dithered 8-bit: {ms}");
    let ms = best(&mut || {
        std::hint::black_box(fstop::io::encode::quantize8(
            &photo.color,
            None,
            &tables,
            false,
        ));
    });
    println!("  linear → 8-bit without dither: {ms}");
    let ms = best(&mut || {
        std::hint::black_box(fstop::io::encode::quantize16(&photo.color, None, &tables));
    });
    println!("  linear → 16-bit: {ms}");
    let ms = best(&mut || {
        let mut acc = 0.0f32;
        for p in photo.color.channels() {
            for &v in p.iter() {
                acc += v;
            }
        }
        std::hint::black_box(acc);
    });
    println!("  baseline: summing the 36 M samples, one thread: {ms}");
    let ms = best(&mut || {
        let mut acc = 0.0f32;
        for (c, p) in photo.color.channels().iter().enumerate() {
            for &v in p.iter() {
                acc += tables.encode(c, v);
            }
        }
        std::hint::black_box(acc);
    });
    println!("  encode LUT on 36 M samples, one thread: {ms}");
}

/// CPU time (user + system) of this process so far, in ms, from /proc (Linux).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of the full line (utime, stime) are 11 and 12 after the ")".
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) * 10.0
}
