//! Layers and slices: the sanitised input, the per-pixel colours each side scatters (boosted
//! background `B`, boosted subject `F`), and the fast kernel's resolution pyramid of slices.
//!
//! A *slice* is one (side, level) pair. Level `L`'s source is the `2^L × 2^L` box average of
//! the premultiplied `(colour·w, w)` of the pixels that belong to it, with their CoC diameter
//! averaged by weight and expressed in level pixels. Level 0 is never stored: the full
//! resolution pass computes its sources row by row from `B`, `F`, the matte and the depth.

use std::borrow::Cow;

use rayon::prelude::*;

use super::aperture::SpanTables;
use super::coc::{CocMap, FAR, LevelSplit, SIDES, SUBJECT, membership, sane_matte};
use super::highlights::Highlights;
use super::matting::{FillSums, MatteFills, accumulate, matte_fill_level, sane};
use crate::scene::{Plane, Scene};

/// Splits every plane into chunks of `chunk_len` and regroups them chunk by chunk:
/// `result[i][p]` is chunk `i` of plane `p`.
pub(crate) fn split_rows<T>(planes: &mut [Vec<T>], chunk_len: usize) -> Vec<Vec<&mut [T]>> {
    let mut out: Vec<Vec<&mut [T]>> = Vec::new();
    for plane in planes.iter_mut() {
        for (i, chunk) in plane.chunks_mut(chunk_len.max(1)).enumerate() {
            if out.len() <= i {
                out.push(Vec::new());
            }
            out[i].push(chunk);
        }
    }
    out
}

/// Size of level `level` of a `width × height` image (each level halves, rounding up).
#[inline]
pub(crate) fn level_dims(width: usize, height: usize, level: u32) -> (usize, usize) {
    let s = 1usize << level;
    (width.div_ceil(s), height.div_ceil(s))
}

/// The scene made safe to render: planes of the right length, depth resampled if its size
/// differs, a malformed matte dropped.
pub(crate) struct Input<'a> {
    pub width: usize,
    pub height: usize,
    pub color: [Cow<'a, [f32]>; 3],
    pub disparity: Cow<'a, [f32]>,
    pub matte: Option<Cow<'a, [f32]>>,
}

fn plane_for<'a>(plane: &'a Plane, width: usize, height: usize) -> Option<Cow<'a, [f32]>> {
    let valid = plane.width.checked_mul(plane.height) == Some(plane.data.len());
    if !valid || plane.data.is_empty() {
        None
    } else if plane.width == width && plane.height == height {
        Some(Cow::Borrowed(&plane.data))
    } else {
        Some(Cow::Owned(plane.resized(width, height).data))
    }
}

impl<'a> Input<'a> {
    /// `None` for an empty image.
    pub(crate) fn new(scene: &'a Scene) -> Option<Input<'a>> {
        let (width, height) = (scene.color.width, scene.color.height);
        let n = width.checked_mul(height)?;
        if n == 0 {
            return None;
        }
        let channel = |c: &'a Vec<f32>| -> Cow<'a, [f32]> {
            if c.len() == n {
                Cow::Borrowed(c)
            } else {
                let mut v = c.clone();
                v.resize(n, 0.0);
                Cow::Owned(v)
            }
        };
        let color = [
            channel(&scene.color.r),
            channel(&scene.color.g),
            channel(&scene.color.b),
        ];
        let disparity = plane_for(&scene.disparity_per_m, width, height)
            .unwrap_or_else(|| Cow::Owned(vec![f32::NAN; n]));
        let matte = scene
            .matte
            .as_ref()
            .and_then(|m| plane_for(m, width, height));
        Some(Input {
            width,
            height,
            color,
            disparity,
            matte,
        })
    }

    #[inline]
    pub(crate) fn rgb(&self, i: usize) -> [f32; 3] {
        [
            sane(self.color[0][i]),
            sane(self.color[1][i]),
            sane(self.color[2][i]),
        ]
    }

    #[inline]
    pub(crate) fn matte(&self, i: usize) -> f32 {
        self.matte.as_ref().map_or(0.0, |m| sane_matte(m[i]))
    }
}

/// Everything per-render that is not image data.
pub(crate) struct Setup {
    pub coc: CocMap,
    pub highlights: Highlights,
    /// Level split (its `max_level` is the coarsest level in use).
    pub split: LevelSplit,
}

/// Level of the far-side hole fill (the fill is smooth, so an 8× reduced image is plenty).
pub(crate) const FILL_LEVEL: u32 = 3;

/// One stored slice source: per level pixel `[r·w, g·w, b·w, w, d]`, `d` in level pixels.
pub(crate) type Source = Vec<[f32; 5]>;

/// What the analysis pass over the photo produces.
pub(crate) struct Analysis {
    pub setup: Setup,
    /// Matte fills, when there is a matte with some subject in it.
    pub fills: Option<MatteFills>,
    /// Far-side hole-fill source at [`FILL_LEVEL`]: `[r·w, g·w, b·w, w]` box averages of the
    /// boosted photo with weight `far·(1 − m)` (the far side, away from the subject).
    pub fill_source: Vec<[f32; 4]>,
    /// `slices[side][L - 1]` for levels `1..=max_level`, `None` where empty (fast kernel).
    pub slices: [Vec<Option<Source>>; SIDES],
    /// Per row, the largest row reach of its level-0 scatter, −1 for none (fast kernel).
    pub row_reach0: Vec<i32>,
}

/// The largest |CoC| in the image (a cheap pass over the disparity alone).
fn max_coc(input: &Input, coc: &CocMap) -> f32 {
    let (lo, hi) = input
        .disparity
        .par_chunks(1 << 16)
        .map(|chunk| {
            chunk
                .iter()
                .filter(|d| d.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &d| {
                    (lo.min(d), hi.max(d))
                })
        })
        .reduce(
            || (f32::INFINITY, f32::NEG_INFINITY),
            |a, b| (a.0.min(b.0), a.1.max(b.1)),
        );
    if lo > hi {
        0.0
    } else {
        coc.signed(lo).abs().max(coc.signed(hi).abs())
    }
}

/// Accumulates pixel colour(s) into the slice sums of its levels.
#[inline]
#[allow(clippy::too_many_arguments)]
fn add_to_slices(
    chunk: &mut [&mut [[f32; 5]]],
    touched: &mut [bool],
    levels: usize,
    widths: &[usize],
    (x, y, y0): (usize, usize, usize),
    split: &LevelSplit,
    d: f32,
    memb: [f32; SIDES],
    (b, f): ([f32; 3], [f32; 3]),
) {
    let (l, t) = split.split(d);
    for (level, share) in [(l, 1.0 - t), (l + 1, t)] {
        if level == 0 || share <= 0.0 {
            continue;
        }
        let lu = level as usize;
        let li = ((y >> level) - (y0 >> level)) * widths[lu] + (x >> level);
        for side in 0..SIDES {
            let wt = memb[side] * share;
            if wt <= 0.0 {
                continue;
            }
            let k = side * levels + lu - 1;
            let col = if side == SUBJECT { f } else { b };
            let p = &mut chunk[k][li];
            p[0] += col[0] * wt;
            p[1] += col[1] * wt;
            p[2] += col[2] * wt;
            p[3] += wt;
            p[4] += d * wt;
            touched[k] = true;
        }
    }
}

/// One pass over the photo that gathers everything the kernels need before scattering: CoC
/// range and level occupancy, the matte fills' box sums (then the fills), the far hole fill's
/// source, and — with `tables` (fast kernel) — the slice sources of levels ≥ 1 and the level-0
/// row reaches. Pixels at the matte's edge (0 < m < 1) need the fills to be split into subject
/// and background colour, so their coarse contributions are added in a second pass over them.
pub(crate) fn analyse(
    input: &Input,
    coc: CocMap,
    highlights: Highlights,
    d0: f32,
    tables: Option<&SpanTables>,
) -> Analysis {
    let (w, h) = (input.width, input.height);
    let max_level = LevelSplit::levels_for(d0, max_coc(input, &coc));
    let split = LevelSplit::new(d0, max_level);
    let level0_limit = split.level0_limit();
    let chunk_level = max_level.max(FILL_LEVEL);
    let chunk_rows = 1usize << chunk_level;
    let matte_level = matte_fill_level(w, h);
    let fscale = 1usize << FILL_LEVEL;
    let (mw, mh) = level_dims(w, h, matte_level);
    let (fw, fh) = level_dims(w, h, FILL_LEVEL);
    let with_matte = input.matte.is_some();
    let with_slices = tables.is_some();
    let levels = max_level as usize;
    let widths: Vec<usize> = (0..=max_level).map(|l| level_dims(w, h, l).0).collect();
    debug_assert!(matte_level <= FILL_LEVEL);

    let mut sums: Vec<FillSums> = vec![[0.0; 12]; if with_matte { mw * mh } else { 0 }];
    let mut fill_source = vec![[0.0f32; 4]; fw * fh];
    let mut row_reach0 = vec![-1i32; if with_slices { h } else { 0 }];
    // All slices are allocated zeroed (untouched pages cost nothing); empty ones are dropped.
    let mut slices: Vec<Source> = if with_slices {
        (0..SIDES)
            .flat_map(|_| 1..=max_level)
            .map(|l| {
                let (lw, lh) = level_dims(w, h, l);
                vec![[0.0f32; 5]; lw * lh]
            })
            .collect()
    } else {
        Vec::new()
    };

    // Regroup every buffer chunk by chunk of `chunk_rows` photo rows.
    struct Job<'b> {
        fill: &'b mut [[f32; 4]],
        reach: &'b mut [i32],
        slices: Vec<&'b mut [[f32; 5]]>,
        touched: Vec<bool>,
    }
    let chunks = h.div_ceil(chunk_rows);
    let mut jobs: Vec<Job> = (0..chunks)
        .map(|_| Job {
            fill: Default::default(),
            reach: Default::default(),
            slices: Vec::new(),
            touched: Vec::new(),
        })
        .collect();
    let rows_at = |l: u32| chunk_rows >> l;
    let mut sum_chunks: Vec<&mut [FillSums]> = sums
        .chunks_mut((rows_at(matte_level) * mw).max(1))
        .collect();
    sum_chunks.resize_with(chunks, Default::default);
    for (job, c) in jobs
        .iter_mut()
        .zip(fill_source.chunks_mut(rows_at(FILL_LEVEL) * fw))
    {
        job.fill = c;
    }
    for (job, c) in jobs.iter_mut().zip(row_reach0.chunks_mut(chunk_rows)) {
        job.reach = c;
    }
    for (k, src) in slices.iter_mut().enumerate() {
        let l = (k % levels.max(1)) as u32 + 1;
        for (job, c) in jobs
            .iter_mut()
            .zip(src.chunks_mut(rows_at(l) * widths[l as usize]))
        {
            job.slices.push(c);
            job.touched.push(false);
        }
    }

    struct Found {
        max_m: f32,
        deferred: bool,
    }
    let ml = matte_level;
    let found: Vec<Found> = jobs
        .par_iter_mut()
        .zip(sum_chunks)
        .enumerate()
        .map(|(ci, (job, job_sums))| {
            let y0 = ci * chunk_rows;
            let mut max_m = 0.0f32;
            let mut deferred = false;
            let mut coc_row: Vec<f32> = Vec::with_capacity(w);
            let mut matte_row: Vec<f32> = Vec::with_capacity(w);
            let mut rgb_row: Vec<[f32; 3]> = Vec::with_capacity(w);
            for y in y0..(y0 + chunk_rows).min(h) {
                let row = y * w..(y + 1) * w;
                coc_row.clear();
                coc_row.extend(input.disparity[row.clone()].iter().map(|&d| coc.signed(d)));
                matte_row.clear();
                match &input.matte {
                    Some(m) => matte_row.extend(m[row.clone()].iter().map(|&m| sane_matte(m))),
                    None => matte_row.resize(w, 0.0),
                }
                rgb_row.clear();
                rgb_row.extend(
                    input.color[0][row.clone()]
                        .iter()
                        .zip(&input.color[1][row.clone()])
                        .zip(&input.color[2][row])
                        .map(|((&r, &g), &b)| [sane(r), sane(g), sane(b)]),
                );
                if with_matte {
                    let sums_row = &mut job_sums[((y - y0) >> ml) * mw..];
                    for (x, (&rgb, &m)) in rgb_row.iter().zip(&matte_row).enumerate() {
                        max_m = max_m.max(m);
                        accumulate(&mut sums_row[x >> ml], rgb, m);
                    }
                }
                let fill_row = &mut job.fill[((y - y0) >> FILL_LEVEL) * fw..];
                let mut reach = -1i32;
                for x in 0..w {
                    let (c, m) = (coc_row[x], matte_row[x]);
                    let d = c.abs();
                    let memb = membership(m, c);
                    let wt = memb[FAR] * (1.0 - m);
                    let coarse = tables.is_some() && d > d0;
                    if wt <= 0.0 && !coarse {
                        continue;
                    }
                    let b = highlights.boost(rgb_row[x]);
                    if wt > 0.0 {
                        let p = &mut fill_row[x >> FILL_LEVEL];
                        p[0] += b[0] * wt;
                        p[1] += b[1] * wt;
                        p[2] += b[2] * wt;
                        p[3] += wt;
                    }
                    if coarse {
                        if with_matte && m > 0.0 && m < 1.0 {
                            deferred = true;
                        } else {
                            add_to_slices(
                                &mut job.slices,
                                &mut job.touched,
                                levels,
                                &widths,
                                (x, y, y0),
                                &split,
                                d,
                                memb,
                                (b, b),
                            );
                        }
                    }
                }
                if let Some(tables) = tables {
                    for &c in &coc_row {
                        let d = c.abs();
                        if d >= 1.0 && d < level0_limit {
                            reach = reach.max(tables.get(d).reach);
                        }
                    }
                    job.reach[y - y0] = reach;
                }
            }
            // Fill-source sums → averages over each box of existing pixels.
            let rows = ((y0 + chunk_rows).min(h) - y0).div_ceil(fscale);
            for (k, p) in job.fill.iter_mut().enumerate().take(rows * fw) {
                let (fx, fyy) = (k % fw, k / fw);
                let bh = (h - (y0 + fyy * fscale)).min(fscale);
                let bw = (w - fx * fscale).min(fscale);
                let inv = 1.0 / (bw * bh) as f32;
                for v in p.iter_mut() {
                    *v *= inv;
                }
            }
            Found { max_m, deferred }
        })
        .collect();

    let max_m = found.iter().fold(0.0f32, |a, f| a.max(f.max_m));
    let fills = (with_matte && max_m > 0.0).then(|| MatteFills::new(&sums, mw, mh, ml));
    drop(sums);

    if let Some(fills) = fills.as_ref().filter(|_| found.iter().any(|f| f.deferred)) {
        // Second pass: coarse contributions of matte-edge pixels, now that B and F are known.
        jobs.par_iter_mut()
            .zip(&found)
            .enumerate()
            .filter(|(_, (_, f))| f.deferred)
            .for_each(|(ci, (job, _))| {
                let y0 = ci * chunk_rows;
                for y in y0..(y0 + chunk_rows).min(h) {
                    for x in 0..w {
                        let i = y * w + x;
                        let m = input.matte(i);
                        if !(m > 0.0 && m < 1.0) {
                            continue;
                        }
                        let c = coc.signed(input.disparity[i]);
                        let d = c.abs();
                        if d <= d0 {
                            continue;
                        }
                        let colours = pixel_colours(input, Some(fills), &highlights, x, y, m);
                        add_to_slices(
                            &mut job.slices,
                            &mut job.touched,
                            levels,
                            &widths,
                            (x, y, y0),
                            &split,
                            d,
                            membership(m, c),
                            colours,
                        );
                    }
                }
            });
    }

    // Slice sums → averages over each level pixel's box of existing pixels; note which
    // (chunk, slice) pairs hold anything.
    let touched: Vec<Vec<bool>> = jobs
        .into_par_iter()
        .enumerate()
        .map(|(ci, job)| {
            let y0 = ci * chunk_rows;
            for (k, src) in job.slices.into_iter().enumerate() {
                if !job.touched[k] {
                    continue;
                }
                let l = (k % levels) as u32 + 1;
                let lw = widths[l as usize];
                let s = 1usize << l;
                let scale = 1.0 / s as f32;
                for (idx, p) in src.iter_mut().enumerate() {
                    if p[3] <= 0.0 {
                        continue;
                    }
                    let (lx, ly) = (idx % lw, idx / lw + (y0 >> l));
                    let count = ((w - lx * s).min(s) * (h - ly * s).min(s)) as f32;
                    p[4] = p[4] / p[3] * scale;
                    let inv = 1.0 / count;
                    for v in &mut p[..4] {
                        *v *= inv;
                    }
                }
            }
            job.touched
        })
        .collect();

    let mut slice_iter = slices.into_iter();
    let slices: [Vec<Option<Source>>; SIDES] = std::array::from_fn(|side| {
        (0..levels)
            .map(|li| {
                let src = slice_iter.next()?;
                let k = side * levels + li;
                touched.iter().any(|t| t[k]).then_some(src)
            })
            .collect()
    });
    Analysis {
        setup: Setup {
            coc,
            highlights,
            split,
        },
        fills,
        fill_source,
        slices,
        row_reach0,
    }
}

/// Full-resolution colours to scatter: `B` (far and near sides) and `F` (subject side), both
/// highlight-boosted. `F` is absent without a matte.
pub(crate) struct Colours {
    pub background: [Vec<f32>; 3],
    pub subject: Option<[Vec<f32>; 3]>,
}

/// The boosted `(B, F)` of pixel `(x, y)` with matte `m` (`F` is only meaningful for `m > 0`).
#[inline]
pub(crate) fn pixel_colours(
    input: &Input,
    fills: Option<&MatteFills>,
    highlights: &Highlights,
    x: usize,
    y: usize,
    m: f32,
) -> ([f32; 3], [f32; 3]) {
    let rgb = input.rgb(y * input.width + x);
    match fills {
        Some(fills) if m > 0.0 && m < 1.0 => {
            let (f, b) = fills.unmix(x, y, rgb, m);
            (highlights.boost(b), highlights.boost(f))
        }
        _ => {
            let b = highlights.boost(rgb);
            (b, b)
        }
    }
}

/// The colours of every pixel (reference kernel; the fast kernel computes them as it goes).
pub(crate) fn colours(input: &Input, fills: Option<&MatteFills>, setup: &Setup) -> Colours {
    let (w, h) = (input.width, input.height);
    let n = w * h;
    let with_subject = fills.is_some();
    let mut planes: Vec<Vec<f32>> = (0..if with_subject { 6 } else { 3 })
        .map(|_| vec![0.0; n])
        .collect();
    split_rows(&mut planes, w)
        .into_par_iter()
        .enumerate()
        .for_each(|(y, mut row)| {
            for x in 0..w {
                let m = input.matte(y * w + x);
                let (b, f) = pixel_colours(input, fills, &setup.highlights, x, y, m);
                for c in 0..3 {
                    row[c][x] = b[c];
                    if with_subject {
                        row[3 + c][x] = f[c];
                    }
                }
            }
        });
    into_colours(planes)
}

fn into_colours(mut planes: Vec<Vec<f32>>) -> Colours {
    let subject = (planes.len() == 6).then(|| {
        let b = planes.split_off(3);
        let [r, g, bb]: [Vec<f32>; 3] = b.try_into().expect("three planes");
        [r, g, bb]
    });
    let [r, g, b]: [Vec<f32>; 3] = planes.try_into().expect("three planes");
    Colours {
        background: [r, g, b],
        subject,
    }
}
