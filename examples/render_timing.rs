//! Times the renderer alone (no models, no I/O), using only the library.
//!
//! Synthetic portrait scene: `cargo run --release --example render_timing -- 4000 3000 1.8 5`
//! (width, height, f-number, repeats).
//!
//! A real photo's analysis: `cargo run --release --example render_timing -- --photo P.jpg
//! --depth D.png --matte M.png 1.8 5` (depth and matte as written by `fstop --save-depth
//! --save-matte`; f-number, repeats). Focus is automatic, as in `fstop`.
//!
//! The bench's real portrait (the astronaut with the depth and matte the models made of it,
//! stored in `benches/data/`, no models needed): `cargo run --release --example render_timing
//! -- --real 4000 3000 1.8 5` (width, height, f-number, repeats). Focus is automatic.
//!
//! `--hash` adds a hash of the last render's output bits (to check that a change keeps the
//! output bit-identical).
//!
//! `--character all` turns on every lens-character trait (anamorphic 1.5×, strong chromatic
//! aberration 120 µm, spherical aberration 0.5, cat-eye 0.4, swirl 0.7) for the speed budget of
//! issue 16.
//!
//! Prints one JSON object with the median and the minimum wall time, and the median CPU time
//! of all threads (user + system; on a busy shared machine the honest cost).

use std::path::PathBuf;
use std::time::Instant;

use fstop::Scene;
use fstop::optics::{Character, Lens};
use fstop::pipeline::{AnalysisOptions, DepthFile, LazyModels, LensSettings, analyze};
use fstop::render::{RenderOptions, render};
use fstop::synthetic::portrait_scene;

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let real = args
        .iter()
        .position(|a| a == "--real")
        .map(|i| args.remove(i));
    let hash = args
        .iter()
        .position(|a| a == "--hash")
        .map(|i| args.remove(i));
    let mut take = |flag: &str| -> Option<String> {
        let i = args.iter().position(|a| a == flag)?;
        let value = args.get(i + 1).cloned();
        args.drain(i..(i + 2).min(args.len()));
        value
    };
    let photo = take("--photo");
    let depth = take("--depth");
    let matte = take("--matte");
    let character = match take("--character").as_deref() {
        None | Some("none") => Character::default(),
        Some("all") => Character {
            anamorphic_squeeze: 1.5,
            chromatic_aberration_um: 120.0,
            spherical_aberration: 0.5,
            cat_eye: 0.4,
            swirl: 0.7,
        },
        Some(other) => anyhow::bail!("--character: 'none' or 'all', not '{other}'"),
    };
    let arg = |i: usize, default: f64| {
        args.get(i)
            .map(|s| s.parse::<f64>().expect("numeric argument"))
            .unwrap_or(default)
    };
    let (scene, lens, repeats) = match photo {
        None if real.is_some() => {
            let (width, height) = (arg(0, 4000.0) as usize, arg(1, 3000.0) as usize);
            let (scene, lens) = fstop::synthetic::real::scene(width, height, arg(2, 1.8))?;
            (scene, lens.settings(), arg(3, 5.0))
        }
        None => {
            let (width, height) = (arg(0, 4000.0) as usize, arg(1, 3000.0) as usize);
            let lens = Lens {
                f_number: arg(2, 1.8),
                ..Lens::default()
            };
            (portrait_scene(width, height), lens, arg(3, 5.0))
        }
        Some(photo) => {
            let depth = depth.ok_or_else(|| anyhow::anyhow!("--photo needs --depth"))?;
            let options = AnalysisOptions {
                depth: Some(DepthFile {
                    path: PathBuf::from(depth),
                    kind: None,
                }),
                matte: matte.map(PathBuf::from),
                ..AnalysisOptions::default()
            };
            let mut models = LazyModels::new(Default::default());
            let analysis = analyze(photo.as_ref(), &options, &mut models)?;
            let settings = LensSettings {
                lens: Lens {
                    f_number: arg(0, 1.8),
                    ..Lens::default()
                },
                ..LensSettings::default()
            };
            let focused = analysis.focus(&settings)?;
            let scene = Scene::new(
                analysis.photo.color,
                focused.disparity_per_m,
                analysis.matte,
            )?;
            (scene, focused.lens.settings(), arg(1, 5.0))
        }
    };
    let lens = Lens { character, ..lens }.validate()?;
    let repeats = repeats.max(1.0) as usize;
    let options = RenderOptions::default();
    let mut digest = None;
    let (mut times_ms, mut cpu_ms): (Vec<f64>, Vec<f64>) = (0..repeats)
        .map(|_| {
            let (start, cpu) = (Instant::now(), process_cpu_ms());
            let out = render(&scene, &lens, &options);
            std::hint::black_box(&out);
            if hash.is_some() {
                digest = Some(output_hash(&out));
            }
            drop(out);
            (
                start.elapsed().as_secs_f64() * 1000.0,
                process_cpu_ms() - cpu,
            )
        })
        .unzip();
    times_ms.sort_by(f64::total_cmp);
    cpu_ms.sort_by(f64::total_cmp);
    let width = scene.color().width();
    println!(
        "{{\"width\":{width},\"height\":{},\"f_number\":{},\"repeats\":{repeats},\
         \"median_ms\":{:.1},\"min_ms\":{:.1},\"median_cpu_ms\":{:.0},\"background_coc_px\":{:.1}{}}}",
        scene.color().height(),
        lens.f_number,
        times_ms[repeats / 2],
        times_ms[0],
        cpu_ms[repeats / 2],
        lens.signed_coc_px(0.0, width.max(scene.color().height()))
            .abs(),
        digest.map_or(String::new(), |d| format!(",\"output_hash\":\"{d:016x}\""))
    );
    Ok(())
}

/// CPU time (user + system, all threads) of this process so far, in ms.
fn process_cpu_ms() -> f64 {
    // SAFETY: `getrusage` only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// FNV-1a over the bits of every output sample.
fn output_hash(image: &fstop::LinearRgb) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for plane in [image.r(), image.g(), image.b()] {
        for v in plane.iter() {
            h = (h ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}
