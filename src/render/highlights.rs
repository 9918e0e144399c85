//! Highlight recovery: the photo clipped its brightest lights; give each clipped *blob* back the
//! light it really held, so a defocused point light spreads real energy, in its own colour,
//! into a bright disc, while a clipped *surface* (a white wall, an overcast sky, a shirt) is
//! left as it is.
//!
//! # Blobs
//! A pixel whose brightest channel reaches the clip level `v_lo` (the linear value of the
//! display-encoded `threshold`) is *clipped*; 8-connected clipped pixels form a blob.
//!
//! * **Extended or compact.** A lens turns a light into a disc whatever its size, but only a
//!   small, compact source can be much brighter than the clip level without the photo showing
//!   it (a large bright area is a lit surface, whose true value is rarely far above white, and
//!   boosting it makes a glowing blob no lens makes). The boost is weighted by
//!   `1 − smoothstep(2.5 %, 5 %, d_eq / long side)`, `d_eq = 2√(area/π)`.
//! * **Energy from the anti-aliased fringe.** A source of radiance `L` over background `b`
//!   gives its edge pixels `b + c·(L − b)`, `c` the covered fraction. Those with
//!   `c < c* = (v_lo − b)/(L − b)` stay below the clip level and form the blob's fringe; with
//!   `c` spread evenly along the outline (`P` pixels), the fringe's summed excess over the
//!   background is `S = P·(v_lo − b)²/(2·(L − b))`. So the brighter the source, the fainter its
//!   unclipped fringe: `L_f = b + P·(v_lo − b)²/(2·S)`. A white surface at exactly the clip
//!   level reads as the clip level. `b` is the median of the pixels 2–3 px from the blob, `P`
//!   the pixels 4-adjacent to it.
//! * **Prior.** A fringe holding `n = 2S/(v_lo − b)` pixels' worth of excess has a relative
//!   error of about `1/√n`, and a bright source leaves almost no fringe at all; so the estimate
//!   is `exp(t·ln L_f + (1 − t)·ln L_0)`, `t = n/(n + 2)`, with the prior `L_0 = 1 + gain`
//!   (default 15×, the middle of the 5–50× of lights at night), capped at `4·L_0`.
//! * **Colour from unclipped channels.** Wherever the source's brightest channel `m` is well
//!   above the background (0.25) and another channel `c` is not clipped, `(v_c − b_c)/(v_m −
//!   b_m)` bounds the source's channel ratio from above (exactly where `m` is unclipped too, on
//!   the fringe); the tightest bound is taken. With no such pixel the blob is taken as white.
//! * **Per pixel.** The blob's boundary pixels are only partly covered (on average
//!   `(1 + c*)/2`), so its pixels get `E_c = b_c + (L_c − b_c)·ρ`, `ρ` the blob's mean
//!   coverage, and the blob holds the source's energy. A channel `v` of a blob pixel becomes
//!   `v + w·r(v)·max(0, E_c − v)`, `r(v) = ((v − v_lo)/(1 − v_lo))²` clamped to 0..1: channels
//!   below the clip level are what the photo says and stay.
//! * **Sparse sources** (compact blobs, `w ≥ ½`, wholly behind or wholly in front of the
//!   focus) are scattered at full resolution at any blur up to 1024 px, so their discs keep
//!   the optical edge: those blurred beyond the level-0 limit are listed once
//!   ([`super::layers::sparse_side`]) and gathered row by row apart from the full-resolution
//!   pass's ring; in front of the focus they form a layer over the near side's levels.
//!
//! Measured on the ray-traced night scene (`tests/physics.rs`,
//! `highlight_recovery_reads_energy_and_colour_from_the_fringe`): 15 lights of 5–50×, 2–4.5
//! px, six colours, box-filtered photo without glow: energy within 1.8× (median), 2.5×
//! (worst); colour error (largest channel-ratio difference) 0.20 median, up to 0.85 for lights
//! so bright that no unclipped channel is left anywhere (they come out white).
//!
//! After blurring, the sensor clips again: the output is clamped to 0..1. Light blurred by less
//! than a pixel stays on its own pixel as the photo recorded it, so an in-focus pixel comes out
//! exactly as it went in, a channel between `v_lo` and 1 included.

use rayon::prelude::*;

use super::HighlightOptions;
use super::coc::smoothstep;
use super::layers::Input;

/// The fringe may read a source up to this many times the prior `1 + gain`.
const CAP_OVER_PRIOR: f32 = 4.0;
/// Fringe pixels' worth of excess at which the fringe and the prior are trusted equally.
const PRIOR_PIXELS: f64 = 2.0;
/// A pixel's brightest channel must be this far above the background for its other channels
/// to bound the source's colour.
const CHROMA_MIN_EXCESS: f32 = 0.25;
/// Largest gain honoured.
const MAX_GAIN: f32 = 1.0e4;
/// Blobs whose equivalent diameter, as a fraction of the image's long side, is below the first
/// value are boosted fully, above the second not at all.
const COMPACT_FRACTION: (f32, f32) = (0.025, 0.05);
/// Ring of pixels around a blob read for its background (Chebyshev distance 2..=RING).
const RING: usize = 3;

/// sRGB encoding of a linear value in 0..1.
#[allow(dead_code)]
pub(crate) fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        12.92 * v
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// sRGB decoding of an encoded value in 0..1.
pub(crate) fn srgb_to_linear(s: f64) -> f64 {
    if s <= 0.040_45 {
        s / 12.92
    } else {
        ((s + 0.055) / 1.055).powf(2.4)
    }
}

/// The brightest channel (plain comparisons: one instruction each, unlike NaN-aware `max`; a
/// NaN channel is passed over unless it is the first, and callers handle NaN).
#[inline(always)]
pub(crate) fn brightest(rgb: [f32; 3]) -> f32 {
    let m = if rgb[1] > rgb[0] { rgb[1] } else { rgb[0] };
    if rgb[2] > m { rgb[2] } else { m }
}

/// What the estimator concluded about one clipped blob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClippedBlob {
    /// Centroid of the blob's pixels (pixel centres at `i + 0.5`).
    pub cx: f64,
    pub cy: f64,
    /// Clipped pixels in the blob.
    pub area_px: usize,
    /// 1 for a compact blob (a light or a specular), 0 for an extended clipped surface.
    pub compact: f32,
    /// Estimated radiance of the source (linear, per channel; the clip level is 1). For an
    /// extended blob: its mean colour.
    pub source: [f32; 3],
    /// Estimated total light of the blob above its background, per channel (radiance × px).
    pub energy: [f32; 3],
    /// The level its clipped channels are raised to (before the compactness weight).
    pub level: [f32; 3],
}

/// A run of clipped pixels on one row: `[x0, x1)` and its blob.
#[derive(Debug, Clone, Copy)]
struct Run {
    x0: u32,
    x1: u32,
    blob: u32,
}

/// The clipped blobs of a photo and how much to raise each.
#[derive(Debug, Clone)]
pub(crate) struct Highlights {
    active: bool,
    /// Linear clip level.
    v_lo: f32,
    /// Per row, the index of its first run (`height + 1` entries; empty when inactive).
    row_start: Vec<u32>,
    runs: Vec<Run>,
    blobs: Vec<ClippedBlob>,
}

/// Union-find root with path halving.
fn root(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[parent[i as usize] as usize];
        parent[i as usize] = p;
        i = p;
    }
    i
}

impl Highlights {
    /// A disabled recovery (nothing is raised).
    pub(crate) fn disabled() -> Highlights {
        Highlights {
            active: false,
            v_lo: 1.0,
            row_start: Vec::new(),
            runs: Vec::new(),
            blobs: Vec::new(),
        }
    }

    /// Finds and estimates the photo's clipped blobs. Non-finite, non-positive gain or a
    /// threshold above 1 disables recovery.
    pub(crate) fn new(options: &HighlightOptions, input: &Input) -> Highlights {
        let (threshold, gain) = (options.threshold, options.gain);
        if !threshold.is_finite() || !gain.is_finite() || gain <= 0.0 || threshold > 1.0 {
            return Highlights::disabled();
        }
        let v_lo = (srgb_to_linear(f64::from(threshold.max(0.0))) as f32).clamp(1e-3, 1.0);
        let prior = 1.0 + gain.min(MAX_GAIN);
        let cap = CAP_OVER_PRIOR * prior;
        let (w, h) = (input.width, input.height);
        // Runs of clipped pixels, row by row.
        let rows: Vec<Vec<(u32, u32)>> = (0..h)
            .into_par_iter()
            .map(|y| {
                let mut runs = Vec::new();
                let mut start: Option<usize> = None;
                for x in 0..w {
                    let clipped = brightest(input.rgb(y * w + x)) >= v_lo;
                    match (clipped, start) {
                        (true, None) => start = Some(x),
                        (false, Some(s)) => {
                            runs.push((s as u32, x as u32));
                            start = None;
                        }
                        _ => {}
                    }
                }
                if let Some(s) = start {
                    runs.push((s as u32, w as u32));
                }
                runs
            })
            .collect();
        let mut row_start = Vec::with_capacity(h + 1);
        let mut runs: Vec<Run> = Vec::new();
        for r in &rows {
            row_start.push(runs.len() as u32);
            runs.extend(r.iter().map(|&(x0, x1)| Run { x0, x1, blob: 0 }));
        }
        row_start.push(runs.len() as u32);
        if runs.is_empty() {
            return Highlights {
                active: true,
                v_lo,
                row_start,
                runs,
                blobs: Vec::new(),
            };
        }
        // Union 8-connected runs of neighbouring rows.
        let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
        for y in 1..h {
            let (a0, a1) = (row_start[y - 1] as usize, row_start[y] as usize);
            let (b0, b1) = (a1, row_start[y + 1] as usize);
            let (mut i, mut j) = (a0, b0);
            while i < a1 && j < b1 {
                let (a, b) = (runs[i], runs[j]);
                if a.x0 <= b.x1 && b.x0 <= a.x1 {
                    let (ra, rb) = (root(&mut parent, i as u32), root(&mut parent, j as u32));
                    if ra != rb {
                        parent[ra.max(rb) as usize] = ra.min(rb);
                    }
                }
                if a.x1 < b.x1 { i += 1 } else { j += 1 }
            }
        }
        let mut id = vec![u32::MAX; runs.len()];
        let mut count = 0u32;
        for (k, run) in runs.iter_mut().enumerate() {
            let r = root(&mut parent, k as u32) as usize;
            if id[r] == u32::MAX {
                id[r] = count;
                count += 1;
            }
            run.blob = id[r];
        }
        // Area, bounding box and centroid per blob.
        let mut stats =
            vec![(0usize, [usize::MAX, usize::MAX, 0, 0], 0.0f64, 0.0f64); count as usize];
        for y in 0..h {
            for r in &runs[row_start[y] as usize..row_start[y + 1] as usize] {
                let s = &mut stats[r.blob as usize];
                let n = (r.x1 - r.x0) as usize;
                s.0 += n;
                s.1[0] = s.1[0].min(r.x0 as usize);
                s.1[1] = s.1[1].min(y);
                s.1[2] = s.1[2].max(r.x1 as usize);
                s.1[3] = s.1[3].max(y + 1);
                s.2 += n as f64 * (f64::from(r.x0 + r.x1) * 0.5);
                s.3 += n as f64 * (y as f64 + 0.5);
            }
        }
        let long = w.max(h) as f32;
        let ctx = Estimator {
            input,
            row_start: &row_start,
            runs: &runs,
            v_lo,
            prior,
            cap,
        };
        let blobs: Vec<ClippedBlob> = stats
            .par_iter()
            .enumerate()
            .map(|(b, &(area, bbox, sx, sy))| {
                let d_eq = 2.0 * (area as f32 / std::f32::consts::PI).sqrt();
                let compact = 1.0 - smoothstep(COMPACT_FRACTION.0, COMPACT_FRACTION.1, d_eq / long);
                let mut blob = if compact > 0.0 {
                    ctx.estimate(b as u32, area, bbox)
                } else {
                    ctx.plain(b as u32, area, bbox)
                };
                blob.cx = sx / area as f64;
                blob.cy = sy / area as f64;
                blob.compact = compact;
                blob
            })
            .collect();
        Highlights {
            active: true,
            v_lo,
            row_start,
            runs,
            blobs,
        }
    }

    /// True when highlights are raised at all.
    pub(crate) fn is_active(&self) -> bool {
        self.active && !self.blobs.is_empty()
    }

    /// The blobs found.
    pub(crate) fn blobs(&self) -> &[ClippedBlob] {
        &self.blobs
    }

    /// The runs of row `y`.
    #[inline]
    fn row(&self, y: usize) -> &[Run] {
        if !self.active || y + 1 >= self.row_start.len() {
            return &[];
        }
        &self.runs[self.row_start[y] as usize..self.row_start[y + 1] as usize]
    }

    /// The raised colour of a clipped pixel of `blob` with photo colour `rgb`.
    #[inline]
    fn raise(&self, blob: u32, rgb: [f32; 3]) -> [f32; 3] {
        let b = &self.blobs[blob as usize];
        let inv = 1.0 / (1.0 - self.v_lo).max(1e-6);
        std::array::from_fn(|c| {
            let v = rgb[c];
            if v <= self.v_lo || b.compact <= 0.0 {
                return v;
            }
            let r = ((v - self.v_lo) * inv).min(1.0);
            let gap = b.level[c] - v;
            if gap > 0.0 {
                v + b.compact * r * r * gap
            } else {
                v
            }
        })
    }

    /// Raises the clipped pixels of row `y` (planes `r`, `g`, `b`, photo colours) in place.
    pub(crate) fn raise_row(&self, y: usize, r: &mut [f32], g: &mut [f32], b: &mut [f32]) {
        for run in self.row(y) {
            for x in run.x0 as usize..run.x1 as usize {
                let out = self.raise(run.blob, [r[x], g[x], b[x]]);
                r[x] = out[0];
                g[x] = out[1];
                b[x] = out[2];
            }
        }
    }

    /// Per-channel factors that raise pixel `(x, y)` of photo colour `rgb` (1 where nothing
    /// is raised).
    #[inline]
    pub(crate) fn factors(&self, x: usize, y: usize, rgb: [f32; 3]) -> [f32; 3] {
        if !self.active || brightest(rgb) < self.v_lo {
            return [1.0; 3];
        }
        let row = self.row(y);
        let x = x as u32;
        let k = row.partition_point(|r| r.x1 <= x);
        match row.get(k) {
            Some(run) if run.x0 <= x => {
                let out = self.raise(run.blob, rgb);
                std::array::from_fn(|c| if rgb[c] > 0.0 { out[c] / rgb[c] } else { 1.0 })
            }
            _ => [1.0; 3],
        }
    }

    /// True when pixel `(x, y)` of colour `rgb` (photo or raised) belongs to a compact blob:
    /// a bright sparse source (a light, a specular), scattered at full resolution (see
    /// [`super::layers::sparse_side`]) so its disc keeps the edge the optics give rather than
    /// the coarse levels' upsampled one.
    #[inline]
    pub(crate) fn is_sparse(&self, x: usize, y: usize, rgb: [f32; 3]) -> bool {
        // (NaN fails the comparison, so it is not bright.)
        let bright = brightest(rgb) >= self.v_lo;
        if !self.active || !bright {
            return false;
        }
        let row = self.row(y);
        let x = x as u32;
        let k = row.partition_point(|r| r.x1 <= x);
        match row.get(k) {
            Some(run) if run.x0 <= x => self.blobs[run.blob as usize].compact >= 0.5,
            _ => false,
        }
    }

    /// Pixel `(x, y)` of photo colour `rgb`, raised.
    #[inline]
    pub(crate) fn raise_at(&self, x: usize, y: usize, rgb: [f32; 3]) -> [f32; 3] {
        let k = self.factors(x, y, rgb);
        [rgb[0] * k[0], rgb[1] * k[1], rgb[2] * k[2]]
    }
}

/// What estimating a blob needs.
struct Estimator<'a> {
    input: &'a Input<'a>,
    row_start: &'a [u32],
    runs: &'a [Run],
    v_lo: f32,
    prior: f32,
    cap: f32,
}

impl Estimator<'_> {
    /// An extended blob: its mean colour, not raised.
    fn plain(&self, blob: u32, area: usize, bbox: [usize; 4]) -> ClippedBlob {
        let w = self.input.width;
        let mut sum = [0.0f64; 3];
        for y in bbox[1]..bbox[3] {
            for r in self.row_runs(y) {
                if r.blob != blob {
                    continue;
                }
                for x in r.x0 as usize..r.x1 as usize {
                    let p = self.input.rgb(y * w + x);
                    for c in 0..3 {
                        sum[c] += f64::from(p[c]);
                    }
                }
            }
        }
        let mean = sum.map(|s| (s / area.max(1) as f64) as f32);
        ClippedBlob {
            cx: 0.0,
            cy: 0.0,
            area_px: area,
            compact: 0.0,
            source: mean,
            energy: [0.0; 3],
            level: mean,
        }
    }

    fn row_runs(&self, y: usize) -> &[Run] {
        &self.runs[self.row_start[y] as usize..self.row_start[y + 1] as usize]
    }

    /// A compact blob: source radiance from its fringe (see the module docs).
    fn estimate(&self, blob: u32, area: usize, bbox: [usize; 4]) -> ClippedBlob {
        let (w, h) = (self.input.width, self.input.height);
        let x0 = bbox[0].saturating_sub(RING);
        let y0 = bbox[1].saturating_sub(RING);
        let x1 = (bbox[2] + RING).min(w);
        let y1 = (bbox[3] + RING).min(h);
        let (lw, lh) = (x1 - x0, y1 - y0);
        // Local map: 0 this blob, 1..=RING distance from it, u8::MAX farther; `clipped` marks
        // clipped pixels of other blobs (never fringe or background).
        let mut dist = vec![u8::MAX; lw * lh];
        let mut clipped = vec![false; lw * lh];
        for y in y0..y1 {
            for r in self.row_runs(y) {
                let (a, b) = ((r.x0 as usize).max(x0), (r.x1 as usize).min(x1));
                for x in a..b {
                    let i = (y - y0) * lw + x - x0;
                    if r.blob == blob {
                        dist[i] = 0;
                    } else {
                        clipped[i] = true;
                    }
                }
            }
        }
        for k in 1..=RING as u8 {
            let prev = dist.clone();
            for ly in 0..lh {
                for lx in 0..lw {
                    if prev[ly * lw + lx] != u8::MAX {
                        continue;
                    }
                    let near = (ly.saturating_sub(1)..(ly + 2).min(lh)).any(|yy| {
                        (lx.saturating_sub(1)..(lx + 2).min(lw))
                            .any(|xx| prev[yy * lw + xx] == k - 1)
                    });
                    if near {
                        dist[ly * lw + lx] = k;
                    }
                }
            }
        }
        let at = |lx: usize, ly: usize| self.input.rgb((ly + y0) * w + lx + x0);
        let is = |lx: isize, ly: isize, v: u8| {
            lx >= 0
                && ly >= 0
                && (lx as usize) < lw
                && (ly as usize) < lh
                && dist[ly as usize * lw + lx as usize] == v
        };
        // Background: per-channel median of the outer ring.
        let mut outer: [Vec<f32>; 3] = Default::default();
        let mut ring = Vec::new();
        let (mut perimeter, mut boundary) = (0usize, 0usize);
        let mut inside = Vec::with_capacity(area);
        for ly in 0..lh {
            for lx in 0..lw {
                let i = ly * lw + lx;
                let d = dist[i];
                let (sx, sy) = (lx as isize, ly as isize);
                let four = |v: u8| {
                    is(sx - 1, sy, v) || is(sx + 1, sy, v) || is(sx, sy - 1, v) || is(sx, sy + 1, v)
                };
                if d == 0 {
                    inside.push(at(lx, ly));
                    if !(is(sx - 1, sy, 0)
                        && is(sx + 1, sy, 0)
                        && is(sx, sy - 1, 0)
                        && is(sx, sy + 1, 0))
                    {
                        boundary += 1;
                    }
                } else if clipped[i] {
                    continue;
                } else if d == 1 {
                    ring.push(at(lx, ly));
                    if four(0) {
                        perimeter += 1;
                    }
                } else if (d as usize) <= RING {
                    let p = at(lx, ly);
                    for c in 0..3 {
                        outer[c].push(p[c]);
                    }
                }
            }
        }
        let bg: [f32; 3] = std::array::from_fn(|c| {
            let v = &mut outer[c];
            if v.is_empty() {
                0.0
            } else {
                v.sort_by(f32::total_cmp);
                v[v.len() / 2]
            }
        });
        let excess: [f64; 3] = std::array::from_fn(|c| {
            ring.iter()
                .map(|p| f64::from((p[c] - bg[c]).max(0.0)))
                .sum()
        });
        // The source's brightest channel: the largest excess over blob and fringe.
        let total: [f64; 3] = std::array::from_fn(|c| {
            ring.iter()
                .chain(&inside)
                .map(|p| f64::from((p[c] - bg[c]).max(0.0)))
                .sum()
        });
        let m = (0..3)
            .max_by(|&a, &b| total[a].total_cmp(&total[b]))
            .unwrap_or(0);
        let bm = bg[m].min(self.v_lo * 0.999);
        let head = f64::from(self.v_lo - bm);
        // The fringe's reading, trusted by how many fringe pixels' worth of excess it holds
        // (its relative error goes as 1/√n); the prior fills in the rest, in log space.
        let n_eff = 2.0 * excess[m] / head;
        let fringe = if excess[m] > 0.0 {
            (f64::from(bm) + perimeter as f64 * head * head / (2.0 * excess[m])) as f32
        } else {
            self.cap
        }
        .clamp(1.0, self.cap);
        let trust = (n_eff / (n_eff + PRIOR_PIXELS)) as f32;
        let lm = (trust * fringe.ln() + (1.0 - trust) * self.prior.ln())
            .exp()
            .clamp(1.0, self.cap);
        // Colour: a channel unclipped where the brightest is well above its background gives
        // an upper bound of their ratio (exact where both are unclipped); take the tightest.
        let chroma: [f32; 3] = std::array::from_fn(|c| {
            ring.iter()
                .chain(&inside)
                .filter(|p| p[m] - bm >= CHROMA_MIN_EXCESS)
                .map(|p| ((p[c] - bg[c]).max(0.0) / (p[m] - bm)).min(1.0))
                .fold(1.0f32, f32::min)
        });
        let source: [f32; 3] = std::array::from_fn(|c| (bg[c] + chroma[c] * (lm - bm)).max(0.0));
        // Mean coverage of the blob's pixels: its boundary pixels are covered (1 + c*)/2.
        let c_star = (head as f32 / (lm - bm).max(1e-6)).clamp(0.0, 1.0);
        let covered = (area - boundary) as f32 + boundary as f32 * 0.5 * (1.0 + c_star);
        let rho = covered / area.max(1) as f32;
        let level: [f32; 3] = std::array::from_fn(|c| bg[c] + (source[c] - bg[c]) * rho);
        let energy: [f32; 3] =
            std::array::from_fn(|c| (source[c] - bg[c]).max(0.0) * covered + excess[c] as f32);
        ClippedBlob {
            cx: 0.0,
            cy: 0.0,
            area_px: area,
            compact: 1.0,
            source,
            energy,
            level,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::{LinearRgb, Plane, Scene};

    fn highlights_of(color: LinearRgb, options: &HighlightOptions) -> Highlights {
        let (w, h) = (color.width(), color.height());
        let scene = Scene::new(color, Plane::filled(w, h, 0.0), None).unwrap();
        let input = Input::new(&scene).unwrap();
        Highlights::new(options, &input)
    }

    /// A `size`-px square light of radiance `rgb` at `(cx, cy)` over `bg`, box-filtered.
    fn light(w: usize, h: usize, cx: f64, cy: f64, size: f64, rgb: [f32; 3], bg: f32) -> LinearRgb {
        let mut img = LinearRgb::filled(w, h, [bg; 3]);
        let cover = |a: f64, lo: f64, hi: f64| (hi.min(a + 1.0) - lo.max(a)).max(0.0);
        for y in 0..h {
            for x in 0..w {
                let c = cover(x as f64, cx - size / 2.0, cx + size / 2.0)
                    * cover(y as f64, cy - size / 2.0, cy + size / 2.0);
                let v: [f32; 3] = std::array::from_fn(|k| (bg + c as f32 * (rgb[k] - bg)).min(1.0));
                img.set(x, y, v);
            }
        }
        img
    }

    #[test]
    fn a_compact_light_gets_its_energy_and_colour_back() {
        let opts = HighlightOptions::default();
        for (level, colour) in [
            (6.0, [1.0, 0.3, 0.2]),
            (20.0, [0.3, 1.0, 0.4]),
            (40.0, [0.4, 0.6, 1.0]),
        ] {
            let rgb = colour.map(|c: f32| c * level);
            let img = light(200, 200, 100.3, 99.65, 3.4, rgb, 0.02);
            let hl = highlights_of(img, &opts);
            assert_eq!(hl.blobs().len(), 1);
            let b = hl.blobs()[0];
            let want = 3.4 * 3.4 * level;
            let got = b.energy.iter().copied().fold(0.0, f32::max);
            // Within 3× (the fringe fades as the light brightens; the prior takes over).
            assert!(
                (got / want).log2().abs() < 1.6,
                "{level}: {b:?} want {want}"
            );
            // The hue is the light's.
            for (c, want) in colour.iter().enumerate() {
                let chroma = b.source[c] / brightest(b.source);
                assert!((chroma - want).abs() < 0.15, "{level}: {b:?}");
            }
        }
    }

    #[test]
    fn a_large_clipped_surface_is_not_raised_and_in_focus_round_trips() {
        let mut img = LinearRgb::filled(100, 80, [0.2, 0.3, 0.1]);
        for y in 10..70 {
            for x in 20..90 {
                img.set(x, y, [1.0, 1.0, 1.0]);
            }
        }
        let hl = highlights_of(img.clone(), &HighlightOptions::default());
        assert_eq!(hl.blobs().len(), 1);
        assert_eq!(hl.blobs()[0].compact, 0.0);
        assert_eq!(hl.raise_at(50, 40, [1.0; 3]), [1.0; 3]);
        assert_eq!(hl.factors(5, 5, [0.2, 0.3, 0.1]), [1.0; 3]);
    }

    #[test]
    fn disabled_by_gain_zero_threshold_above_one_or_nan() {
        let img = light(20, 20, 10.0, 10.0, 2.0, [9.0; 3], 0.0);
        for o in [
            HighlightOptions {
                threshold: 0.98,
                gain: 0.0,
            },
            HighlightOptions {
                threshold: 1.1,
                gain: 4.0,
            },
            HighlightOptions {
                threshold: f32::NAN,
                gain: 4.0,
            },
            HighlightOptions {
                threshold: 0.9,
                gain: f32::INFINITY,
            },
        ] {
            let h = highlights_of(img.clone(), &o);
            assert!(!h.is_active());
            assert_eq!(h.raise_at(10, 10, [1.0; 3]), [1.0; 3]);
        }
    }

    #[test]
    fn srgb_round_trip() {
        for i in 0..=100 {
            let v = i as f64 / 100.0;
            assert!((srgb_to_linear(linear_to_srgb(v)) - v).abs() < 1e-12);
        }
    }
}
