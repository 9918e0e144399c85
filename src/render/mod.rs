//! The renderer: pure and infallible. `render(&Scene, &Lens, &RenderOptions)` returns the scene
//! as the lens would have photographed it, in linear light, clamped to 0..1.
//!
//! # Model
//! 1. **CoC** (`coc`): per pixel the signed CoC diameter `lens.signed_coc_px(disparity,
//!    width)` (positive in front of focus); non-finite disparity counts as in focus.
//! 2. **Highlights** (`highlights`): near-clipped pixels are boosted in linear light so
//!    point lights carry real energy into their discs; each layer's colour is mapped back
//!    through the inverse curve after blurring.
//! 3. **Subject / background colours** (`matting`): under the matte `m` each pixel is split
//!    into subject colour `F` and background colour `B` with `m·F + (1−m)·B = I`, so neither
//!    smears into the other.
//! 4. **Sides** (`coc`): the subject (weight `m`, colour `F`); non-subject pixels
//!    in front of focus by more than ~1 px, the *near* side; all other non-subject pixels, the
//!    *far* side (colour `B` for both).
//! 5. **Slices** (`layers`): each side is cut by blur size into resolution levels — diameter
//!    `d` goes to level `L` with `d/2^L ∈ [D0, 2·D0)` (split linearly in `log2 d` between
//!    neighbours), where the blur is rendered at `1/2^L` resolution (its detail is gone
//!    anyway). `D0` is [`RenderOptions::level_diameter_px`].
//! 6. **Scatter** (`defocus`): every source pixel spreads its colour and weight uniformly
//!    over the aperture shape (`aperture`) of its own diameter, energy-conserving, as row
//!    spans with difference buffers: O(d) per pixel.
//! 7. **Composite** (`composite`): far side back to front and normalised by its coverage
//!    (no dark seams around holes), the sharp subject over it at full resolution (single hairs
//!    survive), the near side over everything with its soft, partly transparent edges.
//!
//! The reference kernel (`reference`) runs the same model with every slice scattered at full
//! resolution through exact per-pixel shape coverage; tests hold the fast kernel to it.

mod aperture;
mod coc;
mod composite;
mod defocus;
mod highlights;
mod layers;
mod matting;
mod reference;

use rayon::prelude::*;

use self::aperture::{SpanTables, UnitShape};
use self::coc::{CocMap, SIDES, SUBJECT, membership};
use self::composite::{Rgba, bilinear, cascade, combine, finish, normalise, tap, taps};
use self::defocus::{BAND_ROWS, Band, touches};
use self::highlights::Highlights;
use self::layers::{FILL_LEVEL, Input, Pyramid, Setup, build_pyramid, level_dims, matte_fills};
use crate::fill::push_pull_fill;
use crate::optics::Lens;
use crate::scene::{LinearRgb, Scene};

/// Highlight recovery: pixels whose brightest channel (display-encoded, 0..1) exceeds
/// `threshold` are boosted in linear light so blurred point lights keep their energy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HighlightOptions {
    /// Display-encoded level above which a pixel counts as (near-)clipped. Default 0.9.
    pub threshold: f32,
    /// How much light a fully clipped pixel is assumed to really hold, as a multiple of the
    /// clip level minus one. 0 disables recovery. Default 4.
    pub gain: f32,
}

impl Default for HighlightOptions {
    fn default() -> Self {
        HighlightOptions {
            threshold: 0.9,
            gain: 4.0,
        }
    }
}

/// Which defocus kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelKind {
    /// The fast multi-resolution scatter kernel.
    #[default]
    Fast,
    /// The slow, obviously-correct per-pixel shape scatter at full resolution, single-threaded
    /// per slice and O(d²) per pixel (for tests and comparison; far too slow for big photos).
    Reference,
}

/// Default of [`RenderOptions::level_diameter_px`].
pub const DEFAULT_LEVEL_DIAMETER_PX: f32 = 8.0;

/// Everything about rendering that is not the lens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    pub highlights: HighlightOptions,
    pub kernel: KernelKind,
    /// Blur diameter in pixels at which a slice moves to the next coarser resolution level
    /// (`D0`; a blur of diameter `d` renders at level `L` with `d/2^L ∈ [D0, 2·D0)`). Larger is
    /// sharper-edged and slower. Clamped to 2..64. Default
    /// [`DEFAULT_LEVEL_DIAMETER_PX`] (8).
    pub level_diameter_px: f32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            highlights: HighlightOptions::default(),
            kernel: KernelKind::Fast,
            level_diameter_px: DEFAULT_LEVEL_DIAMETER_PX,
        }
    }
}

impl RenderOptions {
    fn level_diameter(&self) -> f32 {
        if self.level_diameter_px.is_finite() {
            self.level_diameter_px.clamp(2.0, 64.0)
        } else {
            DEFAULT_LEVEL_DIAMETER_PX
        }
    }
}

/// Renders the scene through the lens. Output is linear light, clamped to 0..1. Never panics:
/// an empty image comes back empty, non-finite colour counts as black, non-finite disparity as
/// in focus, a depth map of another size is resampled and a malformed matte ignored.
pub fn render(scene: &Scene, lens: &Lens, options: &RenderOptions) -> LinearRgb {
    let Some(input) = Input::new(scene) else {
        let (w, h) = (scene.color.width, scene.color.height);
        return match w.checked_mul(h) {
            Some(0) => LinearRgb {
                width: w,
                height: h,
                r: Vec::new(),
                g: Vec::new(),
                b: Vec::new(),
            },
            _ => scene.color.clone(),
        };
    };
    let d0 = options.level_diameter();
    let coc = CocMap::new(lens, input.width, input.height);
    let setup = Setup::new(&input, coc, Highlights::new(&options.highlights), d0);
    let shape = UnitShape::new(&lens.aperture);
    match options.kernel {
        KernelKind::Fast => render_fast(&input, &setup, &shape, d0),
        KernelKind::Reference => reference::render(&input, &setup, &shape),
    }
}

/// The fast kernel: pyramid pass, coarse scatters and cascades, then one banded
/// full-resolution pass that scatters level 0 and composites everything.
fn render_fast(input: &Input, setup: &Setup, shape: &UnitShape, d0: f32) -> LinearRgb {
    let (w, h) = (input.width, input.height);
    let tables = SpanTables::new(shape, 2.0 * d0 + 1.0);
    let fills = matte_fills(input);
    let mut pyramid = build_pyramid(input, fills.as_ref(), setup, &tables);
    let mut level1: Vec<Option<Rgba>> = Vec::with_capacity(SIDES);
    for side in 0..SIDES {
        level1.push(if setup.has_coarse(side) {
            cascade(side, &mut pyramid.slices[side], w, h, &tables)
        } else {
            None
        });
    }
    let (fw, fh) = level_dims(w, h, FILL_LEVEL);
    let fill = far_fill(&pyramid.fill_source, fw, fh);
    let level0 = Level0 {
        input,
        setup,
        pyramid: &pyramid,
        level1: &level1,
        fill: &fill,
        fill_dims: (fw, fh),
        tables: &tables,
    };
    level0.run()
}

/// Push-pull fill of the unblurred far side (`[r·w, g·w, b·w, w]` averages) → colours.
fn far_fill(source: &[[f32; 4]], width: usize, height: usize) -> Vec<[f32; 3]> {
    let n = width * height;
    let mut planes: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; n]);
    let weights: Vec<f32> = source.iter().map(|p| p[3].clamp(0.0, 1.0)).collect();
    for (i, p) in source.iter().enumerate() {
        if p[3] > 0.0 {
            for c in 0..3 {
                planes[c][i] = p[c] / p[3];
            }
        }
    }
    let [r, g, b] = &mut planes;
    push_pull_fill(&mut [r, g, b], &weights, width, height);
    (0..n).map(|i| [r[i], g[i], b[i]]).collect()
}

/// The full-resolution pass of the fast kernel.
struct Level0<'a> {
    input: &'a Input<'a>,
    setup: &'a Setup,
    pyramid: &'a Pyramid,
    level1: &'a [Option<Rgba>],
    fill: &'a [[f32; 3]],
    fill_dims: (usize, usize),
    tables: &'a SpanTables,
}

/// Per-thread scratch of the full-resolution pass.
#[derive(Default)]
struct Scratch {
    bands: [Band; SIDES],
    rows: [Vec<[f32; 5]>; SIDES],
    sums: [Vec<[f32; 4]>; SIDES],
}

impl Level0<'_> {
    /// Level-0 sources of row `y` for the three sides.
    fn source_row(&self, y: usize, rows: &mut [Vec<[f32; 5]>; SIDES]) {
        let w = self.input.width;
        let colours = &self.pyramid.colours;
        for row in rows.iter_mut() {
            row.clear();
            row.resize(w, [0.0; 5]);
        }
        for x in 0..w {
            let i = y * w + x;
            let c = self.setup.coc.signed(self.input.disparity[i]);
            let d = c.abs();
            let share = self.setup.split.weight(d, 0);
            if share <= 0.0 {
                continue;
            }
            let memb = membership(self.input.matte(i), c);
            let bg = [
                colours.background[0][i],
                colours.background[1][i],
                colours.background[2][i],
            ];
            for side in 0..SIDES {
                let wt = memb[side] * share;
                if wt <= 0.0 {
                    continue;
                }
                let col = match (&colours.subject, side == SUBJECT) {
                    (Some(f), true) => [f[0][i], f[1][i], f[2][i]],
                    _ => bg,
                };
                rows[side][x] = [col[0] * wt, col[1] * wt, col[2] * wt, wt, d];
            }
        }
    }

    fn run(&self) -> LinearRgb {
        let (w, h) = (self.input.width, self.input.height);
        let mut out = LinearRgb::filled(w, h, [0.0; 3]);
        let reach0 = &self.pyramid.row_reach0;
        let max_reach = reach0.iter().copied().max().unwrap_or(-1).max(0) as usize;
        let present: [bool; SIDES] = std::array::from_fn(|s| self.setup.has(s, 0));
        let (fw, fh) = self.fill_dims;
        let fill_scale = 1usize << FILL_LEVEL;
        let fill_taps = taps(w, fw, fill_scale);
        let level1_taps: Vec<Option<Vec<(u32, u32, f32)>>> = self
            .level1
            .iter()
            .map(|l| l.as_ref().map(|l| taps(w, l.width, 2)))
            .collect();
        let LinearRgb { r, g, b, .. } = &mut out;
        r.par_chunks_mut(BAND_ROWS * w)
            .zip(g.par_chunks_mut(BAND_ROWS * w))
            .zip(b.par_chunks_mut(BAND_ROWS * w))
            .enumerate()
            .for_each_init(Scratch::default, |s, (bi, ((or, og), ob))| {
                let b0 = bi * BAND_ROWS;
                let b1 = (b0 + BAND_ROWS).min(h);
                for side in 0..SIDES {
                    if present[side] {
                        s.bands[side].reset(b0, b1, w);
                    }
                    s.sums[side].resize(w, [0.0; 4]);
                }
                for ys in b0.saturating_sub(max_reach)..(b1 + max_reach).min(h) {
                    if !touches(b0, b1, ys, reach0[ys], h) {
                        continue;
                    }
                    self.source_row(ys, &mut s.rows);
                    for side in 0..SIDES {
                        if present[side] {
                            s.bands[side].splat_row(&s.rows[side], ys, h, self.tables);
                        }
                    }
                }
                for y in b0..b1 {
                    self.source_row(y, &mut s.rows);
                    for side in 0..SIDES {
                        if present[side] {
                            s.bands[side].finish_row(y, Some(&s.rows[side]), &mut s.sums[side]);
                        } else {
                            s.sums[side].fill([0.0; 4]);
                        }
                    }
                    let ty1: [Option<(u32, u32, f32)>; SIDES] = std::array::from_fn(|side| {
                        self.level1[side].as_ref().map(|l| tap(y, l.height, 2))
                    });
                    let tyf = tap(y, fh, fill_scale);
                    let o = (y - b0) * w;
                    for x in 0..w {
                        let sides: [[f32; 4]; SIDES] = std::array::from_fn(|side| {
                            let acc = match (&self.level1[side], &level1_taps[side], ty1[side]) {
                                (Some(l), Some(tx), Some(ty)) => {
                                    bilinear(&l.px, l.width, tx[x], ty)
                                }
                                _ => [0.0; 4],
                            };
                            combine(side, normalise(s.sums[side][x]), acc)
                        });
                        let fill = bilinear(self.fill, fw, fill_taps[x], tyf);
                        let rgb = finish(sides, fill, &self.setup.highlights);
                        or[o + x] = rgb[0];
                        og[o + x] = rgb[1];
                        ob[o + x] = rgb[2];
                    }
                }
            });
        out
    }
}
