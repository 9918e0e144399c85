//! Render benchmarks (criterion): the fast kernel at 1, 4, 12 and 33 MP at 85 mm f/1.8, at
//! 12 MP across f/1.2, f/1.8 and f/2.8, the reference kernel against the fast one on a small
//! image for the speed-up ratio, and the real portrait against the synthetic one at 12 MP.
//!
//! The real portrait (`real/12MP`) is `examples/astronaut.png` at 4000×3000 with the depth and
//! matte the models made of it (their raw outputs are stored in `benches/data/`, refined and
//! focused here as `fstop` does, so no model runs; see `fstop::synthetic::real`): continuous,
//! noisy depth and long soft matte edges, the common case. `scripts/bench.sh` prints its time
//! next to the synthetic one and the ratio.
//!
//! The other scenes are synthetic: a textured background at infinity with bright point lights, a
//! subject ellipse at 2 m (the focus) with a soft-edged matte, and a foreground object at
//! 1.2 m. With a full-frame 85 mm lens the background CoC is ≈ 233 px at 4000 px wide (f/1.8).
//!
//! Run: `cargo bench --bench render` (all, a few minutes), or filter, e.g.
//! `cargo bench --bench render -- 'size/12MP'`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fstop::optics::Lens;
use fstop::render::{KernelKind, RenderOptions, render};

use fstop::synthetic::portrait_scene as scene;

fn lens(f_number: f64) -> Lens {
    Lens {
        f_number,
        ..Lens::default()
    }
}

const SIZES: [(&str, usize, usize); 4] = [
    ("1MP", 1155, 866),
    ("4MP", 2309, 1732),
    ("12MP", 4000, 3000),
    ("33MP", 7680, 4320),
];

fn by_size(c: &mut Criterion) {
    let mut group = c.benchmark_group("size");
    group.sample_size(10);
    for (name, w, h) in SIZES {
        let s = scene(w, h);
        let l = lens(1.8).validate().unwrap();
        group.bench_function(BenchmarkId::new(name, "f1.8"), |b| {
            b.iter(|| render(black_box(&s), &l, &RenderOptions::default()))
        });
    }
    group.finish();
}

fn by_aperture(c: &mut Criterion) {
    let mut group = c.benchmark_group("aperture");
    group.sample_size(10);
    let s = scene(4000, 3000);
    for f in [1.2, 1.8, 2.8] {
        let l = lens(f).validate().unwrap();
        group.bench_function(BenchmarkId::new("12MP", format!("f{f}")), |b| {
            b.iter(|| render(black_box(&s), &l, &RenderOptions::default()))
        });
    }
    group.finish();
}

fn by_kernel(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.sample_size(10);
    // 128 px wide with the same framing: background CoC ≈ 7.5 px; use a lens whose sensor
    // makes the blur match a 12 MP photo scaled down (≈ 30 px) so the kernels do real work.
    let s = scene(128, 96);
    let l = Lens {
        sensor: fstop::optics::Sensor::Custom { width_mm: 9.0 },
        ..lens(1.8)
    }
    .validate()
    .unwrap();
    for (name, kernel) in [
        ("fast", KernelKind::Fast),
        ("reference", KernelKind::Reference),
    ] {
        let options = RenderOptions {
            kernel,
            ..RenderOptions::default()
        };
        group.bench_function(BenchmarkId::new("128x96", name), |b| {
            b.iter(|| render(black_box(&s), &l, &options))
        });
    }
    group.finish();
}

fn real_against_synthetic(c: &mut Criterion) {
    let mut group = c.benchmark_group("real");
    group.sample_size(10);
    let (real, real_lens) = fstop::synthetic::real::scene(4000, 3000, 1.8)
        .expect("the stored model outputs in benches/data");
    let synthetic = scene(4000, 3000);
    let l = lens(1.8).validate().unwrap();
    for (name, s, l) in [
        ("portrait", &real, &real_lens),
        ("synthetic", &synthetic, &l),
    ] {
        group.bench_function(BenchmarkId::new("12MP", name), |b| {
            b.iter(|| render(black_box(s), l, &RenderOptions::default()))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    by_size,
    by_aperture,
    by_kernel,
    real_against_synthetic
);
criterion_main!(benches);
