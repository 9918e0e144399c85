//! Times the renderer alone (no models, no I/O) on the synthetic portrait scene, using only the
//! library: `cargo run --release --example render_timing -- 4000 3000 1.8 5`
//! (width, height, f-number, repeats). Prints one JSON object with the median and the minimum.

use std::time::Instant;

use fstop::optics::Lens;
use fstop::render::{RenderOptions, render};
use fstop::synthetic::portrait_scene;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: f64| {
        args.get(i)
            .map(|s| s.parse::<f64>().expect("numeric argument"))
            .unwrap_or(default)
    };
    let (width, height) = (arg(0, 4000.0) as usize, arg(1, 3000.0) as usize);
    let f_number = arg(2, 1.8);
    let repeats = arg(3, 5.0).max(1.0) as usize;
    let scene = portrait_scene(width, height);
    let lens = Lens {
        f_number,
        ..Lens::default()
    };
    let options = RenderOptions::default();
    let mut times_ms: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            let out = render(&scene, &lens, &options);
            std::hint::black_box(&out);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times_ms.sort_by(f64::total_cmp);
    println!(
        "{{\"width\":{width},\"height\":{height},\"f_number\":{f_number},\"repeats\":{repeats},\
         \"median_ms\":{:.1},\"min_ms\":{:.1},\"background_coc_px\":{:.1}}}",
        times_ms[repeats / 2],
        times_ms[0],
        lens.signed_coc_px(0.0, width).abs()
    );
}
