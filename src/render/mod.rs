//! The renderer: pure and infallible. `render(&Scene, &ValidLens, &RenderOptions)` returns the
//! scene as the lens would have photographed it, in linear light, clamped to 0..1. The lens is
//! validated ([`crate::optics::Lens::validate`]) before it gets here, so nothing re-checks it.
//!
//! # Model
//! 1. **CoC** (`coc`): per pixel the signed CoC diameter `lens.signed_coc_px(disparity,
//!    width)` (positive in front of focus); non-finite disparity counts as in focus; the
//!    magnitude is capped at 4× the image size.
//! 2. **Highlights** (`highlights`): clipped pixels (brightest channel at or above the
//!    display-encoded `threshold`) are grouped into 8-connected blobs. A compact blob (a light,
//!    a specular) has its clipped channels raised to the radiance its anti-aliased fringe
//!    implies (the brighter a source, the fainter the unclipped part of its outline), in the
//!    fringe's colour, capped at `1 + gain`; an extended blob (a white wall, a sky, a shirt)
//!    is left as it is. After blurring the sensor clips again (final clamp), so an in-focus
//!    pixel comes out as it went in.
//! 3. **Subject / background colours** (`matting`): under the matte `m` each pixel is split
//!    into subject colour `F` and background colour `B` with `m·F + (1−m)·B = I` exactly, from
//!    push-pull fills of confident background and subject, so neither smears into the other.
//! 4. **Sides** (`coc`): the *subject* (weight `m`, colour `F`, blurred by its own CoC, which
//!    is usually below a pixel; at a matte-edge pixel the subject's CoC comes from a push-pull
//!    fill of the confident subject's CoC, at most the pixel's own, because the depth there is
//!    the background's wherever a wisp of hair leaves the pixel centre uncovered);
//!    non-subject pixels in front of focus by more than ~1 px (`smoothstep(0.5, 1.5, c)`),
//!    the *near* side; all other non-subject pixels, the *far* side (colour `B` for both).
//! 5. **Slices** (`layers`): each side is cut by blur size into resolution levels — diameter
//!    `d` goes to level `L` with `d/2^L ∈ [D0, 2·D0)` (split linearly in `log2 d` between
//!    the two neighbouring levels, so there are no seams; level 0 also takes everything
//!    smaller; so do bright sparse sources, the compact highlight blobs, at any blur up to
//!    1024 px, so their discs keep the optical edge: beyond `D0` they are gathered row by row
//!    apart from the ring, see `SparseLights`), rendered at `1/2^L` resolution. A
//!    level's source is the box average of its premultiplied `(colour·w, w)`, with the
//!    average CoC and — on the far side — the centroid of its light, so a point light's disc
//!    lands where the light is.
//!    `D0` is [`RenderOptions::level_diameter_px`].
//! 6. **Scatter** (`defocus`, `aperture`): every source pixel spreads its colour and weight
//!    uniformly over the aperture shape (circle, or n-blade polygon with rotation and
//!    curvature) of its own diameter, weights summing to exactly 1, as one anti-aliased row
//!    span per pixel row written into difference buffers: O(d) per pixel. Borders reflect.
//!    Parallel by strips of destination rows, each reading its source rows once through a
//!    rolling ring of difference lines; bit-identical for any thread count.
//!    The lens's character ([`crate::optics::Character`]) is part of the disc (`aperture`):
//!    an anamorphic squeeze narrows the shape, spherical aberration adds a nested disc (a
//!    radial profile, its sign flipped between the far and near sides), chromatic aberration
//!    gives green and magenta discs of their own diameters. The subject side has neither.
//! 7. **Composite** (`composite`): the far side back to front (coarser = farther) and
//!    normalised by its coverage (no dark seams where it has holes); the subject over it; the
//!    near side over everything (coarser = nearer), not normalised, so its blurred edges are
//!    partly transparent. Shares of one pixel split between two levels add up their coverage
//!    rather than being layered; the subject is at least as opaque as its matte; where the
//!    far side has a hole, what shows behind a layer is that layer itself. Behind a near-side
//!    occluder the subject's hidden part is filled in (the matte and `F` pushed and pulled from
//!    around the occluder) and added to the subject on its own pixel, so the lens sees around a
//!    blurred branch. Final clamp 0..1
//!    (the sensor clipping the raised highlights again).
//!
//! The reference kernel (`reference`) runs the same model with every slice scattered at full
//! resolution through exact per-pixel shape coverage; `tests/render_kernels.rs` holds the fast
//! kernel to it (mean absolute error < 0.0015, PSNR > 48 dB at the default `D0`).

mod aperture;
mod coc;
mod composite;
mod defocus;
mod highlights;
mod layers;
mod matting;
mod reference;

use rayon::prelude::*;

use self::aperture::{
    CatEye, DIAMETER_STEPS_PER_PX, DiscModel, LevelTables, SpanTable, SpanTables, UnitShape,
    Vignetting,
};
use self::coc::{CocMap, PerSide, Side, membership};
use self::composite::{
    Acc, LevelImage, bilinear, cascade, combine, finish_vignetted, hole_fill, in_front, normalise,
    tap, taps,
};
use self::defocus::{Ring, SrcPx, Step, deposit, reflect, roll, strip_rows};
use self::highlights::Highlights;
use self::layers::{
    FILL_LEVEL, Input, Layers, Light, Setup, SparsePixel, decompose, hidden_subject, level_dims,
    pixel_colours, sparse_side, subject_coc,
};
use self::matting::MatteFills;
use crate::optics::{ApertureShape, Lens, ValidLens, cat_eye_corner_shift};
use crate::scene::{LinearRgb, Scene};

pub use self::matting::subject_colours;

/// Highlight recovery: clipped blobs of the photo get back the light they held (see
/// [`clipped_blobs`]): small compact blobs (lights, speculars) are raised to an energy and
/// colour estimated from their anti-aliased fringe, extended clipped surfaces are left alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HighlightOptions {
    /// Display-encoded level (0..1) at or above which a pixel's brightest channel counts as
    /// clipped. Default 0.98.
    pub threshold: f32,
    /// How bright a compact clipped source is assumed to be where its anti-aliased fringe
    /// shows little (the estimate's prior), as a multiple of the clip level minus one; the
    /// fringe may read up to 4× that. 0 disables recovery. Default 14 (15× the clip level,
    /// the middle of the 5–50× of street lights at night).
    pub gain: f32,
}

impl Default for HighlightOptions {
    fn default() -> Self {
        HighlightOptions {
            threshold: 0.98,
            gain: 14.0,
        }
    }
}

pub use self::highlights::ClippedBlob;

/// The clipped blobs of a scene's photo and what highlight recovery makes of each (empty when
/// recovery is off or nothing is clipped). For tests and diagnostics; `render` does the same.
pub fn clipped_blobs(scene: &Scene, options: &HighlightOptions) -> Vec<ClippedBlob> {
    match Input::new(scene) {
        Some(input) => Highlights::new(options, &input).blobs().to_vec(),
        None => Vec::new(),
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

/// Default of [`RenderOptions::level_diameter_px`]. Measured against the reference kernel on
/// small scenes: D0 = 4 → PSNR ≈ 44–49 dB, 8 → 50–61 dB, 12 → 52–68 dB, 16 → 52–73 dB. A
/// disc's edge ramp is about `2^L` px wide at level `L`, roughly `1/D0`–`2/D0` of its
/// diameter: 8 visibly softens large bokeh discs, 12 and 16 look alike. The coarse scatter
/// costs about `D0³` in total (12 MP, 85 mm f/1.8: 12 costs ~1.1 G instructions less than 16,
/// of ~9.6 G for the whole render).
pub const DEFAULT_LEVEL_DIAMETER_PX: f32 = 12.0;

/// Everything about rendering that is not the lens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    pub highlights: HighlightOptions,
    pub kernel: KernelKind,
    /// Blur diameter in pixels at which a slice moves to the next coarser resolution level
    /// (`D0`; a blur of diameter `d` renders at level `L` with `d/2^L ∈ [D0, 2·D0)`). Larger is
    /// sharper-edged and slower. Clamped to 2..32. Default [`DEFAULT_LEVEL_DIAMETER_PX`] (12).
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
            self.level_diameter_px.clamp(2.0, 32.0)
        } else {
            DEFAULT_LEVEL_DIAMETER_PX
        }
    }
}

/// Renders the scene through the lens. Output is linear light, clamped to 0..1. Never panics:
/// an empty image comes back empty, non-finite colour counts as black, non-finite disparity as
/// in focus, a depth map of another size is resampled and a malformed matte ignored.
pub fn render(scene: &Scene, lens: &ValidLens, options: &RenderOptions) -> LinearRgb {
    let Some(mut input) = Input::new(scene) else {
        let (w, h) = (scene.color.width(), scene.color.height());
        return match w.checked_mul(h) {
            Some(0) => LinearRgb::filled(w, h, [0.0; 3]),
            _ => scene.color.clone(),
        };
    };
    let d0 = options.level_diameter();
    curve_field(&mut input, lens);
    let coc = CocMap::new(lens, input.width, input.height);
    let highlights = Highlights::new(&options.highlights, &input);
    let models = side_models(lens, (input.width, input.height));
    let dims = (input.width, input.height);
    let vignetting = Vignetting::new(
        cat_eye_corner_shift(lens.character.cat_eye_share()),
        lens.cat_eye_barrel_scale(dims),
        dims,
    );
    match options.kernel {
        KernelKind::Fast => {
            let max_d = 2.0 * d0 + 1.0;
            let tables = PerSide::from_fn(|side| LevelTables::new(models[side].clone(), max_d));
            // Reach is the same for a shape and its half-turn, so any side's tables will do
            // (and the far side's are the largest with chromatic aberration).
            let layers = decompose(&input, coc, highlights, d0, Some(tables[Side::Far].at(0)));
            let lights = PerSide::from_fn(|side| {
                SparseLights::new(&input, &layers, side, models[side].clone())
            });
            render_fast(&input, layers, &tables, &lights, vignetting.as_ref())
        }
        KernelKind::Reference => {
            let layers = decompose(&input, coc, highlights, d0, None);
            reference::render(&input, &layers, &models, vignetting.as_ref())
        }
    }
}

/// The swirl's field curvature (see [`crate::optics::Character`]): off axis the lens focuses
/// nearer, which is the same as every pixel's disparity lowered by the focus disparity's rise
/// at its field radius. Nothing changes without swirl.
fn curve_field(input: &mut Input, lens: &Lens) {
    // The rise grows with the square of the field radius.
    let corner_rise = lens.field_curvature_disparity_per_m(1.0);
    if corner_rise == 0.0 {
        return;
    }
    let (w, h) = (input.width, input.height);
    // In steps of a quarter pixel of CoC, so neighbours at one depth keep one CoC (equal
    // neighbouring lights are scattered as one run).
    let step = CURVATURE_STEP_PX / lens.coc_px_per_diopter(w.max(h));
    let steps_per_rho2 = corner_rise / step;
    let corner2 = 0.25 * ((w * w + h * h) as f64);
    let disparity = input.disparity.to_mut();
    for (y, row) in disparity.chunks_mut(w).enumerate() {
        let dy = y as f64 + 0.5 - 0.5 * h as f64;
        for (x, d) in row.iter_mut().enumerate() {
            let dx = x as f64 + 0.5 - 0.5 * w as f64;
            let rho2 = (dx * dx + dy * dy) / corner2;
            // Non-negative: truncation rounds.
            let steps = (rho2 * steps_per_rho2 + 0.5) as u32;
            *d -= (f64::from(steps) * step) as f32;
        }
    }
}

/// The step of the swirl's field curvature, in pixels of CoC (see [`curve_field`]).
const CURVATURE_STEP_PX: f64 = 0.25;

/// Each side's disc model at full resolution for an image whose long side is `long_px`
/// (see [`crate::optics::Character`]): the aperture (squeezed for an anamorphic lens);
/// spherical aberration with its sign behind the focus on the far side, flipped on the near
/// side, none on the subject (in focus); the chromatic CoC offset likewise (green is the larger
/// disc behind the focus, magenta in front); the cat-eye's barrel on both out-of-focus sides
/// (met against the field direction behind the focus, along it in front, where discs are
/// turned).
fn side_models(lens: &ValidLens, (width, height): (usize, usize)) -> PerSide<DiscModel> {
    let long_px = width.max(height);
    let character = &lens.character;
    let shift = cat_eye_corner_shift(character.cat_eye_share());
    let shapes = side_shapes(&lens.aperture, character.anamorphic_squeeze);
    // Finite and within ±1: the lens is validated.
    let sa = character.spherical_aberration;
    let k = lens.chromatic_coc_px(long_px);
    let k = if k.is_finite() {
        k.clamp(0.0, 1e4)
    } else {
        0.0
    };
    let mut models = shapes.0.into_iter();
    PerSide::from_fn(|side| {
        let sign = match side {
            Side::Far => 1.0,
            Side::Subject => 0.0,
            Side::Near => -1.0,
        };
        DiscModel {
            shape: models.next().expect("one shape per side"),
            // `0.0 * x` would be −0.0 for negative x; keep the plain 0.
            sa: if sign == 0.0 { 0.0 } else { sign * sa },
            chroma_px: if sign == 0.0 { 0.0 } else { sign * k },
            cat_eye: (sign != 0.0 && shift > 0.0).then_some(CatEye {
                shift: -sign * shift,
                width,
                height,
            }),
        }
    })
}

/// The aperture shape each side is scattered with. Light from behind the focus plane crosses
/// the axis before the sensor, light from in front does not, so foreground discs show the
/// aperture turned half a revolution relative to background discs (visible with odd blade
/// counts).
fn side_shapes(aperture: &ApertureShape, squeeze: f64) -> PerSide<UnitShape> {
    let turned = ApertureShape {
        blade_rotation_deg: aperture.blade_rotation_deg + 180.0,
        ..*aperture
    };
    PerSide::from_fn(|side| {
        if side == Side::Near {
            UnitShape::squeezed(&turned, squeeze)
        } else {
            UnitShape::squeezed(aperture, squeeze)
        }
    })
}

/// The fast kernel: pyramid pass, coarse scatters and cascades, then one strip-parallel
/// full-resolution pass that scatters level 0 and composites everything.
fn render_fast(
    input: &Input,
    mut layers: Layers,
    tables: &PerSide<LevelTables>,
    lights: &PerSide<SparseLights>,
    vignetting: Option<&Vignetting>,
) -> LinearRgb {
    let (w, h) = (input.width, input.height);
    let coarse =
        PerSide::from_fn(|side| cascade(side, &mut layers.slices[side], w, h, &tables[side]));
    let level0 = PerSide::from_fn(|side| tables[side].at(0));
    let (fw, fh) = level_dims(w, h, FILL_LEVEL);
    let fill = hole_fill(&layers.fill_source, fw, fh);
    Level0 {
        input,
        setup: &layers.setup,
        fills: layers.fills.as_ref(),
        row_reach: &layers.row_reach0,
        coarse: &coarse,
        fill: &fill,
        fill_dims: (fw, fh),
        tables: &level0,
        lights,
        vignetting,
    }
    .run()
}

/// The bright sparse sources blurred beyond the level-0 limit (see [`SparsePixel`]), ready to
/// scatter: far side only, colours raised, at full resolution with the exact aperture at any
/// blur. The full-resolution pass gathers, for each output row, the spans of those that reach
/// it into one difference line, so they never widen the ring of lines the rest of level 0 is
/// scattered through, and a row's sum does not depend on how rows are split among threads.
struct SparseLights {
    /// Runs of identical neighbours (most of a light's clipped pixels are alike), in row
    /// order.
    pixels: Vec<SparseRun>,
    /// Span tables up to the largest diameter listed.
    tables: SpanTables,
    /// With cat-eye, the tables of the runs' cells and, per run (in the order of `pixels`),
    /// which is its.
    cat_eye: Option<(Vec<SpanTable>, Vec<usize>)>,
    /// The largest reach (rows) of any of them.
    max_reach: usize,
}

/// `len` neighbouring source pixels `x..x + len` of row `y`, all the same source pixel `src`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SparseRun {
    x: usize,
    y: usize,
    len: usize,
    src: SrcPx,
}

impl SparseRun {
    /// Source pixels `(x, y, src)` in row order, runs of identical neighbours merged.
    fn runs_of(pixels: impl IntoIterator<Item = (usize, usize, SrcPx)>) -> Vec<SparseRun> {
        let mut runs: Vec<SparseRun> = Vec::new();
        for (x, y, src) in pixels {
            match runs.last_mut() {
                Some(r) if r.y == y && r.x + r.len == x && r.src == src => r.len += 1,
                _ => runs.push(SparseRun { x, y, len: 1, src }),
            }
        }
        runs
    }
}

/// One difference line of sparse-source spans, and which blocks of it the spans cover.
#[derive(Default)]
struct SparseLine {
    diff: Vec<[f64; 4]>,
    /// Second-order differences: a run of `len` equal spans adds each of a span's four
    /// coefficients at `p` and takes it away at `p + len`.
    diff2: Vec<[f64; 4]>,
    /// One bit per [`SPARSE_BLOCK`] entries of `diff`: set where some span's light is.
    covered: Vec<u64>,
}

/// Entries of a [`SparseLine`] per bit of its coverage mask.
const SPARSE_BLOCK: usize = 32;

impl SparseLine {
    /// Makes the line `len` entries long, all clear.
    fn reset(&mut self, len: usize) {
        if self.diff.len() != len {
            self.diff.clear();
            self.diff.resize(len, [0.0; 4]);
            self.diff2.clear();
            self.diff2.resize(len, [0.0; 4]);
            self.covered.clear();
            self.covered
                .resize(len.div_ceil(SPARSE_BLOCK).div_ceil(64), 0);
        }
    }

    /// Marks entries `a..b` as covered by a span.
    #[inline]
    fn cover(&mut self, a: usize, b: usize) {
        let (first, last) = (a / SPARSE_BLOCK, (b - 1) / SPARSE_BLOCK);
        let (w0, w1) = (first / 64, last / 64);
        for word in w0..=w1 {
            let lo = if word == w0 { first % 64 } else { 0 };
            let hi = if word == w1 { last % 64 } else { 63 };
            // Bits lo..=hi.
            self.covered[word] |= (u64::MAX >> (63 - hi)) & (u64::MAX << lo);
        }
    }

    /// Deposits the spans, on row `y` of an image `width × height`, of the run of source
    /// pixels `x..x + len` of row `ys`, each of premultiplied light `v` scattered through
    /// `table`, borders reflected as in [`Ring::splat_row`]. False when the disc does not
    /// reach the row.
    fn gather(
        &mut self,
        table: &SpanTable,
        v: [f64; 4],
        (x, len, ys): (usize, usize, usize),
        y: usize,
        (width, height): (usize, usize),
    ) -> bool {
        let (h, y_i, ys) = (height as i64, y as i64, ys as i64);
        let k_lo = i64::from(table.k_lo);
        let k_hi = k_lo + table.rows.len() as i64;
        let mut any = false;
        let mut put = |k: i64| {
            debug_assert_eq!(reflect(ys + k, h), y_i);
            let row = &table.rows[(k - k_lo) as usize];
            // The run's light lies on entries `x + i0 ..= x + len − 1 + i1 + 1`, or anywhere
            // once folded at a border.
            let a = x as i64 + i64::from(row.i0);
            let b = (x + len - 1) as i64 + i64::from(row.i1);
            if a < 0 || b >= width as i64 {
                for j in 0..len {
                    deposit(
                        &mut self.diff,
                        x + j,
                        0.0,
                        row,
                        v,
                        f64::from(table.rho),
                        width,
                    );
                }
                self.cover(0, width + 2);
            } else if len == 1 {
                deposit(&mut self.diff, x, 0.0, row, v, f64::from(table.rho), width);
                self.cover(a as usize, b as usize + 2);
            } else {
                let (a, i1) = (a as usize, (x as i64 + i64::from(row.i1)) as usize);
                let c = row.c.map(f64::from);
                for (p, coef) in [(a, c[0]), (a + 1, c[1]), (i1, c[2]), (i1 + 1, c[3])] {
                    let add = v.map(|vc| vc * coef);
                    for (dst, a) in self.diff2[p].iter_mut().zip(add) {
                        *dst += a;
                    }
                    for (dst, a) in self.diff2[p + len].iter_mut().zip(add) {
                        *dst -= a;
                    }
                }
                self.cover(a, b as usize + 3);
            }
            any = true;
        };
        if ys + k_lo >= 0 && ys + k_hi <= h {
            // The usual case, no border in reach: only the row itself.
            let k = y_i - ys;
            if (k_lo..k_hi).contains(&k) {
                put(k);
            }
            return any;
        }
        // Offsets `k` with `reflect(ys + k) == y`: `ys + k ≡ y` or `≡ −1 − y` (mod 2h), the row
        // itself and its mirror images, a few at most.
        let period = 2 * h;
        for base in [y_i - ys, -1 - y_i - ys] {
            let mut k = k_lo + (base - k_lo).rem_euclid(period);
            while k < k_hi {
                put(k);
                k += period;
            }
        }
        any
    }

    /// Adds the line's prefix sum to `sums` and clears the line. Outside the covered blocks
    /// the prefix sum is zero (each span adds and takes away the same light), so only they are
    /// summed: a row crossed by a few discs costs their width, not the image's.
    #[allow(clippy::needless_range_loop)]
    fn flush_into(&mut self, sums: &mut [[f32; 4]]) {
        let n = sums.len();
        let (mut acc, mut acc2) = ([0.0f64; 4], [0.0f64; 4]);
        let mut previous = usize::MAX;
        for word in 0..self.covered.len() {
            let mut bits = std::mem::take(&mut self.covered[word]);
            while bits != 0 {
                let block = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if previous.wrapping_add(1) != block {
                    (acc, acc2) = ([0.0; 4], [0.0; 4]);
                }
                previous = block;
                let end = ((block + 1) * SPARSE_BLOCK).min(self.diff.len());
                for x in block * SPARSE_BLOCK..end {
                    let dv = std::mem::take(&mut self.diff[x]);
                    let dv2 = std::mem::take(&mut self.diff2[x]);
                    for c in 0..4 {
                        acc2[c] += dv2[c];
                        acc[c] += dv[c] + acc2[c];
                    }
                    if x < n {
                        for c in 0..4 {
                            sums[x][c] += acc[c] as f32;
                        }
                    }
                }
            }
        }
    }
}

impl SparseLights {
    /// The listed sources of `side` (far or near; none for the subject).
    fn new(input: &Input, layers: &Layers, side: Side, model: DiscModel) -> SparseLights {
        let w = input.width;
        let setup = &layers.setup;
        let pixels: Vec<(usize, usize, SrcPx)> = layers
            .sparse
            .iter()
            .filter(|p| p.side == side)
            .filter_map(|&SparsePixel { x, y, .. }| {
                let (x, y) = (x as usize, y as usize);
                let i = y * w + x;
                let c = setup.coc.signed(input.disparity[i]);
                let m = input.matte(i);
                // (A listed source has no subject in it: the fills are not read.)
                let (b, _) = pixel_colours(input, None, &setup.highlights, Light::Boosted, x, y, m);
                let wt = membership(m, c)[side];
                (wt > 0.0).then_some((
                    x,
                    y,
                    [b[0] * wt, b[1] * wt, b[2] * wt, wt, c.abs(), 0.0, 0.0, 0.0],
                ))
            })
            .collect();
        let pixels = SparseRun::runs_of(pixels);
        let max_d = pixels.iter().map(|p| p.src[4]).fold(1.0f32, f32::max);
        let tables = SpanTables::with_model(model, max_d);
        let dims = (w, input.height);
        let cat_eye = tables.model_at((0, 0), dims).is_some().then(|| {
            // One table per cell and diameter step, shared by the runs that have them.
            let mut index = std::collections::HashMap::new();
            let mut own = Vec::new();
            let of_run = pixels
                .iter()
                .map(|p| {
                    let (cell, model) = tables.model_at((p.x, p.y), dims).expect("cat-eye cells");
                    let q = (p.src[4] * DIAMETER_STEPS_PER_PX + 0.5) as u32;
                    *index.entry((cell, q)).or_insert_with(|| {
                        let d = f64::from(q) / f64::from(DIAMETER_STEPS_PER_PX);
                        own.push(SpanTable::build_model(model, d, 0.0));
                        own.len() - 1
                    })
                })
                .collect();
            (own, of_run)
        });
        // Reaches of the plain shape, which bound the cat-eye's.
        let max_reach = pixels
            .iter()
            .map(|p| {
                let t = tables.get(p.src[4], 0.0);
                let smaller = t.chroma.as_ref().map_or(0, |(small, _)| small.reach);
                t.reach.max(smaller).max(0) as usize
            })
            .max()
            .unwrap_or(0);
        SparseLights {
            pixels,
            tables,
            cat_eye,
            max_reach,
        }
    }

    /// Deposits into `line` the spans, on row `y` of an image `width × height`, of every
    /// listed source whose disc reaches the row, borders reflected as in [`Ring::splat_row`].
    /// False, and `line` untouched, when none does.
    fn gather_row(&self, y: usize, (width, height): (usize, usize), line: &mut SparseLine) -> bool {
        // Reflected rows stay within a source's reach of it, so only sources within the
        // largest reach of the row can land on it.
        let first = self.pixels.partition_point(|p| p.y + self.max_reach < y);
        let last = self.pixels.partition_point(|p| p.y <= y + self.max_reach);
        let near = &self.pixels[first..last];
        if near.is_empty() {
            return false;
        }
        line.reset(width + 2);
        let mut any = false;
        for (
            i,
            &SparseRun {
                x,
                y: ys,
                len,
                src: ref p,
            },
        ) in near.iter().enumerate()
        {
            let t = match &self.cat_eye {
                Some((own, of_run)) => &own[of_run[first + i]],
                None => self.tables.get(p[4], 0.0),
            };
            let v = [p[0], p[1], p[2], p[3]].map(f64::from);
            // The disc and its nested inner disc (spherical aberration); with chromatic
            // aberration the larger disc carries its channels and the weight, the smaller one
            // the rest (as in `Ring::splat_row`).
            let (outer, smaller) = match &t.chroma {
                None => ((t, v), None),
                Some((small, channels)) => {
                    let pick = |on: bool| {
                        std::array::from_fn(|c| if channels[c] == on { v[c] } else { 0.0 })
                    };
                    ((t, pick(true)), Some((&**small, pick(false))))
                }
            };
            for (disc, v) in [Some(outer), smaller].into_iter().flatten() {
                for table in [Some(disc), disc.inner.as_deref()].into_iter().flatten() {
                    any |= line.gather(table, v, (x, len, ys), y, (width, height));
                }
            }
        }
        any
    }
}

/// The full-resolution pass of the fast kernel.
struct Level0<'a> {
    input: &'a Input<'a>,
    setup: &'a Setup,
    fills: Option<&'a MatteFills>,
    row_reach: &'a [i32],
    coarse: &'a PerSide<Option<LevelImage>>,
    fill: &'a [[f32; 3]],
    fill_dims: (usize, usize),
    tables: &'a PerSide<&'a SpanTables>,
    /// Cat-eye's optical vignetting, when on.
    vignetting: Option<&'a Vignetting>,
    /// Per side, the bright sparse sources beyond `d0` (far: added to level 0; near: a layer
    /// in front of the near side's levels).
    lights: &'a PerSide<SparseLights>,
}

/// Per-thread scratch of the full-resolution pass.
#[derive(Default)]
struct Scratch {
    rings: PerSide<Ring>,
    /// Per side, the current source row's pixels that scatter: `(x, source pixel)`.
    rows: PerSide<Vec<(usize, SrcPx)>>,
    /// Per side, the coarse accumulator's two rows blended vertically for the current row.
    vertical: PerSide<Vec<Acc>>,
    /// Per side, the current row's level-0 sums.
    sums: PerSide<Vec<[f32; 4]>>,
    /// The current row's signed CoC.
    coc: Vec<f32>,
    /// Per side, the current row's premultiplied colour and coverage.
    px: PerSide<Vec<Acc>>,
    /// The current row's bright sparse sources.
    sparse: SparseLine,
    /// The current row's near-side light layer (when `near_lights_live`).
    near_lights: Vec<[f32; 4]>,
    near_lights_live: bool,
}

#[inline]
fn lerp5(a: Acc, b: Acc, t: f32) -> Acc {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
        a[3] + (b[3] - a[3]) * t,
        a[4] + (b[4] - a[4]) * t,
    ]
}

/// Per destination pixel, the two source pixels and the weight of the second (see [`taps`]).
type Taps = Vec<(u32, u32, f32)>;

/// One strip of output rows: the three planes' rows `s0..s1`.
struct OutStrip<'o> {
    s0: usize,
    r: &'o mut [f32],
    g: &'o mut [f32],
    b: &'o mut [f32],
}

impl Level0<'_> {
    /// The level-0 pixels of row `y` that scatter (blur of at least one pixel), per side.
    fn source_row(&self, y: usize, rows: &mut PerSide<Vec<(usize, SrcPx)>>) {
        let w = self.input.width;
        let split = &self.setup.split;
        for (_, row) in rows.iter_mut() {
            row.clear();
        }
        // A blur's share at level 0; below a pixel the light stays on its own pixel
        // (`level0_row` adds it).
        let share_of = |d: f32| {
            if d < 1.0 {
                0.0
            } else if d <= split.d0() {
                1.0
            } else {
                split.weight(d, 0)
            }
        };
        for x in 0..w {
            let i = y * w + x;
            let c = self.setup.coc.signed(self.input.disparity[i]);
            let d = c.abs();
            // Below a pixel the light stays on its own pixel (`level0_row` adds it); so does a
            // matte-edge pixel's subject share, whose CoC is at most the pixel's own.
            if d < 1.0 {
                continue;
            }
            let m = self.input.matte(i);
            let edge = m > 0.0 && m < 1.0;
            if !edge && d >= split.level0_limit() {
                // All on the coarse levels (only a matte-edge pixel's subject share may have a
                // smaller blur than the pixel's own).
                continue;
            }
            // The fills are read only at the matte's edge: sampled once for all that needs them.
            let fs = if edge {
                MatteFills::sample(self.fills, x, y)
            } else {
                None
            };
            let d_s = subject_coc(fs.as_ref(), m, c).abs();
            let (share, share_s) = (share_of(d), share_of(d_s));
            // A bright sparse source beyond the level-0 limit.
            let sparse = d > split.d0()
                && sparse_side(&self.setup.highlights, x, y, self.input.rgb(i), m, c).is_some();
            if sparse {
                // Scattered apart, see `SparseLights`.
                continue;
            }
            if share <= 0.0 && share_s <= 0.0 {
                continue;
            }
            let memb = membership(m, c);
            let (b, f) = pixel_colours(
                self.input,
                fs.as_ref(),
                &self.setup.highlights,
                Light::Boosted,
                x,
                y,
                m,
            );
            for (side, row) in rows.iter_mut() {
                let (share, d, col) = if side == Side::Subject {
                    (share_s, d_s, f)
                } else {
                    (share, d, b)
                };
                let wt = memb[side] * share;
                if wt > 0.0 {
                    row.push((
                        x,
                        [col[0] * wt, col[1] * wt, col[2] * wt, wt, d, 0.0, 0.0, 0.0],
                    ));
                }
            }
        }
    }

    /// Row `y`: level-0 sums of every side (difference-line prefix sums plus the pixels whose
    /// blur is below one pixel, which stay on their own pixel). Per side, whether the row has
    /// any (its sums are only written when it does).
    fn level0_row(&self, y: usize, s: &mut Scratch, present: PerSide<bool>) -> PerSide<bool> {
        let w = self.input.width;
        let row_d = &self.input.disparity[y * w..(y + 1) * w];
        s.coc.clear();
        s.coc
            .extend(row_d.iter().map(|&d| self.setup.coc.signed(d)));
        let mut live = PerSide::<bool>::default();
        for side in Side::ALL {
            if present[side] && s.rings[side].is_dirty(y) {
                s.sums[side].resize(w, [0.0; 4]);
                s.rings[side].prefix_sum(y, &mut s.sums[side]);
                live[side] = true;
            }
        }
        let dims = (w, self.input.height);
        if self.lights[Side::Far].gather_row(y, dims, &mut s.sparse) {
            let sums = &mut s.sums[Side::Far];
            if !live[Side::Far] {
                sums.clear();
                sums.resize(w, [0.0; 4]);
                live[Side::Far] = true;
            }
            s.sparse.flush_into(sums);
        }
        s.near_lights_live = self.lights[Side::Near].gather_row(y, dims, &mut s.sparse);
        if s.near_lights_live {
            s.near_lights.clear();
            s.near_lights.resize(w, [0.0; 4]);
            s.sparse.flush_into(&mut s.near_lights);
        }
        if self.fills.is_none() && !s.coc.iter().any(|c| c.abs() < 1.0) {
            return live;
        }
        for x in 0..w {
            let c = s.coc[x];
            let d = c.abs();
            if d >= 1.0 && self.fills.is_none() {
                continue;
            }
            let m = self.input.matte(y * w + x);
            // Beyond a pixel of blur only a matte-edge pixel (its subject share) or a pixel in
            // front of the focus (the subject hidden behind it) has anything at level 0 here.
            if d >= 1.0 && !(m > 0.0 && m < 1.0) && !(c > 0.5 && m < 1.0) {
                continue;
            }
            if m >= 1.0 && d < 1.0 {
                // The subject in focus, most of a portrait's subject: its own light on its own
                // pixel (what the general case below gives for m = 1, without sampling the
                // fills).
                let rgb = self.input.rgb(y * w + x);
                if !live[Side::Subject] {
                    s.sums[Side::Subject].clear();
                    s.sums[Side::Subject].resize(w, [0.0; 4]);
                    live[Side::Subject] = true;
                }
                let sums = &mut s.sums[Side::Subject][x];
                sums[0] += rgb[0];
                sums[1] += rgb[1];
                sums[2] += rgb[2];
                sums[3] += 1.0;
                continue;
            }
            // The fills are read at the matte's edge and behind a near-side occluder: sampled
            // once for all that needs them.
            let memb = membership(m, c);
            let fs = if (m > 0.0 && m < 1.0) || memb[Side::Near] > 0.0 {
                MatteFills::sample(self.fills, x, y)
            } else {
                None
            };
            let d_s = subject_coc(fs.as_ref(), m, c).abs();
            let hidden = hidden_subject(fs.as_ref(), m, c);
            if d >= 1.0 && d_s >= 1.0 && hidden.is_none() {
                continue;
            }
            // Light blurred by less than a pixel shows on its own pixel as the photo has it.
            let (b, f) = pixel_colours(
                self.input,
                fs.as_ref(),
                &self.setup.highlights,
                Light::AsRecorded,
                x,
                y,
                m,
            );
            let mut add = |side: Side, col: [f32; 3], wt: f32| {
                if !live[side] {
                    s.sums[side].clear();
                    s.sums[side].resize(w, [0.0; 4]);
                    live[side] = true;
                }
                let sums = &mut s.sums[side][x];
                sums[0] += col[0] * wt;
                sums[1] += col[1] * wt;
                sums[2] += col[2] * wt;
                sums[3] += wt;
            };
            for (side, &wt) in memb.iter() {
                let (own, col) = if side == Side::Subject {
                    (d_s < 1.0, f)
                } else {
                    (d < 1.0, b)
                };
                if own && wt > 0.0 {
                    add(side, col, wt);
                }
            }
            if let Some((wt, col)) = hidden {
                add(Side::Subject, col, wt);
            }
        }
        live
    }

    /// Output row `y`: each side's level 0 combined with its coarse accumulator, then the
    /// sides composited.
    #[allow(clippy::needless_range_loop)]
    fn composite_row(
        &self,
        y: usize,
        s: &mut Scratch,
        present: PerSide<bool>,
        coarse_taps: &PerSide<Option<Taps>>,
        fill_taps: &[(u32, u32, f32)],
        out: &mut OutStrip,
    ) {
        let w = self.input.width;
        let (fw, fh) = self.fill_dims;
        let own = self.level0_row(y, s, present);
        // Each side's colour for the row: level 0 combined with the coarse accumulator (its
        // two rows blended once, then lerped along x). A side with neither is transparent.
        let mut live = own;
        for side in Side::ALL {
            let coarse = self.coarse[side].as_ref().zip(coarse_taps[side].as_ref());
            if !own[side] && coarse.is_none() {
                continue;
            }
            live[side] = true;
            if let Some((c, _)) = coarse {
                let ty = tap(y, c.height, 1 << c.level);
                let (r0, r1) = (ty.0 as usize * c.width, ty.1 as usize * c.width);
                let v = &mut s.vertical[side];
                v.clear();
                v.extend(
                    c.px[r0..r0 + c.width]
                        .iter()
                        .zip(&c.px[r1..r1 + c.width])
                        .map(|(a, b)| lerp5(*a, *b, ty.2)),
                );
            }
            if side == Side::Far {
                // Made pixel by pixel where the subject does not hide it (`far_at`).
                continue;
            }
            let px = &mut s.px[side];
            px.clear();
            if own[side] {
                px.extend(s.sums[side].iter().map(|&v| {
                    let n = normalise(v);
                    [n[0], n[1], n[2], n[3], n[3]]
                }));
            } else {
                px.resize(w, [0.0; 5]);
            }
            let Some((_, tx)) = coarse else {
                continue;
            };
            let v = &s.vertical[side];
            for (p, t) in px.iter_mut().zip(tx) {
                let up = lerp5(v[t.0 as usize], v[t.1 as usize], t.2);
                *p = combine(side, [p[0], p[1], p[2], p[3]], up);
            }
        }
        if s.near_lights_live {
            let px = &mut s.px[Side::Near];
            if !live[Side::Near] {
                px.clear();
                px.resize(w, [0.0; 5]);
                live[Side::Near] = true;
            }
            for (p, &l) in px.iter_mut().zip(&s.near_lights) {
                *p = in_front(normalise(l), *p);
            }
        }
        let tyf = tap(y, fh, 1 << FILL_LEVEL);
        let o = (y - out.s0) * w;
        let at =
            |side: Side, x: usize| -> Acc { if live[side] { s.px[side][x] } else { [0.0; 5] } };
        // The far side's level 0 combined with its coarse accumulator, as for the other sides.
        let far_coarse = coarse_taps[Side::Far]
            .as_ref()
            .filter(|_| self.coarse[Side::Far].is_some());
        let (far_sums, far_v) = (&s.sums[Side::Far], &s.vertical[Side::Far]);
        let far_at = |x: usize| -> Acc {
            if !live[Side::Far] {
                return [0.0; 5];
            }
            let p = if own[Side::Far] {
                let n = normalise(far_sums[x]);
                [n[0], n[1], n[2], n[3], n[3]]
            } else {
                [0.0; 5]
            };
            match far_coarse {
                Some(tx) => {
                    let t = tx[x];
                    let up = lerp5(far_v[t.0 as usize], far_v[t.1 as usize], t.2);
                    combine(Side::Far, [p[0], p[1], p[2], p[3]], up)
                }
                None => p,
            }
        };
        for x in 0..w {
            let m = self.input.matte(y * w + x);
            let rgb = finish_vignetted(
                || far_at(x),
                at(Side::Subject, x),
                at(Side::Near, x),
                m,
                || bilinear(self.fill, fw, fill_taps[x], tyf),
                self.vignetting.map_or(1.0, |v| v.at(x, y)),
            );
            out.r[o + x] = rgb[0];
            out.g[o + x] = rgb[1];
            out.b[o + x] = rgb[2];
        }
    }

    fn run(&self) -> LinearRgb {
        let (w, h) = (self.input.width, self.input.height);
        let mut out = LinearRgb::filled(w, h, [0.0; 3]);
        let reach = self.row_reach;
        let max_reach = reach.iter().copied().max().unwrap_or(-1).max(0) as usize;
        // The subject side only exists with a matte.
        let present = PerSide([true, self.fills.is_some(), true]);
        let fill_taps = taps(w, self.fill_dims.0, 1 << FILL_LEVEL);
        let coarse_taps = PerSide::from_fn(|side| {
            self.coarse[side]
                .as_ref()
                .map(|c| taps(w, c.width, 1 << c.level))
        });
        let strip = strip_rows(h, max_reach);
        let [r, g, b] = out.channels_mut();
        r.par_chunks_mut(strip * w)
            .zip(g.par_chunks_mut(strip * w))
            .zip(b.par_chunks_mut(strip * w))
            .enumerate()
            .for_each_init(Scratch::default, |s, (si, ((r, g), b))| {
                let s0 = si * strip;
                let s1 = (s0 + strip).min(h);
                let mut out = OutStrip { s0, r, g, b };
                for (_, ring) in s.rings.iter_mut() {
                    ring.reset(w, max_reach);
                }
                roll(h, (s0, s1), reach, max_reach, |step| match step {
                    Step::Splat { ys, window } => {
                        self.source_row(ys, &mut s.rows);
                        for ((ring, row), tables) in
                            s.rings.0.iter_mut().zip(&s.rows.0).zip(&self.tables.0)
                        {
                            if !row.is_empty() {
                                let row = row.iter().map(|(x, p)| (*x, p));
                                ring.splat_row(row, ys, h, window, tables);
                            }
                        }
                    }
                    Step::Finish(y) => {
                        self.composite_row(y, s, present, &coarse_taps, &fill_taps, &mut out);
                        for (_, ring) in s.rings.iter_mut() {
                            ring.clear(y);
                        }
                    }
                });
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::defocus::prefix_sum;
    use super::*;

    /// Gathering a row's sparse spans gives what scattering every source through a ring gives,
    /// borders (reflection, discs larger than the image) included.
    #[test]
    fn sparse_rows_gathered_match_the_ring_scatter() {
        let (w, h) = (37usize, 23usize);
        let shape = UnitShape::new(&ApertureShape::default());
        // Single pixels, and runs of equal neighbours (in the middle and folded at borders).
        let mut spots = vec![
            (0, 0, 9.0),
            (5, 1, 30.0),
            (36, 4, 12.5),
            (18, 11, 60.0),
            (2, 20, 7.0),
            (30, 22, 17.3),
        ];
        spots.extend((10..16).map(|x| (x, 12, 8.0)));
        spots.extend((0..4).map(|x| (x, 13, 9.5)));
        spots.extend((31..37).map(|x| (x, 14, 4.0)));
        spots.sort_by_key(|&(x, y, _)| (y, x));
        let pixels: Vec<(usize, usize, SrcPx)> = spots
            .iter()
            .map(|&(x, y, d)| (x, y, [0.5, 0.25, 1.0, 1.0, d, 0.0, 0.0, 0.0]))
            .collect();
        let runs = SparseRun::runs_of(pixels.iter().copied());
        assert_eq!(runs.len(), 9, "{runs:?}");
        let tables = SpanTables::new(&shape, 60.0);
        let max_reach = pixels
            .iter()
            .map(|p| tables.get(p.2[4], 0.0).reach as usize)
            .max()
            .unwrap();
        let sparse = SparseLights {
            pixels: runs,
            tables: SpanTables::new(&shape, 60.0),
            cat_eye: None,
            max_reach,
        };
        let mut ring = Ring::default();
        ring.reset(w, h);
        for p in &pixels {
            ring.splat_row([(p.0, &p.2)], p.1, h, (0, h), &tables);
        }
        let mut line = SparseLine::default();
        let mut total = [0.0f64; 4];
        for y in 0..h {
            let mut want = vec![[0.0f32; 4]; w];
            prefix_sum(ring.line(y), &mut want);
            let mut got = vec![[0.0f32; 4]; w];
            let any = sparse.gather_row(y, (w, h), &mut line);
            if any {
                line.flush_into(&mut got);
            }
            for (g, e) in got.iter().zip(&want) {
                for c in 0..4 {
                    assert!((g[c] - e[c]).abs() < 1e-5, "row {y}: {g:?} vs {e:?}");
                    total[c] += f64::from(g[c]);
                }
            }
        }
        // Every source's light stays in the image.
        assert!((total[3] - pixels.len() as f64).abs() < 1e-3, "{total:?}");
    }
}
