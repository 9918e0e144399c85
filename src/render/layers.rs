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
use super::coc::{CocMap, LevelSplit, SIDES, SUBJECT, membership, sane_matte};
use super::highlights::Highlights;
use super::matting::{MatteFills, sane};
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
    /// Largest colour value (at least 1): the clamp for unmixed colours.
    pub hi: f32,
    /// Which levels each side occupies (bit L set = level L has weight).
    pub occupied: [u64; SIDES],
}

impl Setup {
    /// One pass over the image: CoC range, level occupancy and colour range.
    pub(crate) fn new(input: &Input, coc: CocMap, highlights: Highlights, d0: f32) -> Setup {
        let unlimited = LevelSplit::new(d0, 63);
        let w = input.width;
        let (max_d, hi, occupied) = (0..input.height)
            .into_par_iter()
            .map(|y| {
                let mut max_d = 0.0f32;
                let mut hi = 1.0f32;
                let mut occ = [0u64; SIDES];
                for i in y * w..(y + 1) * w {
                    let c = coc.signed(input.disparity[i]);
                    let d = c.abs();
                    max_d = max_d.max(d);
                    let rgb = input.rgb(i);
                    hi = hi.max(rgb[0]).max(rgb[1]).max(rgb[2]);
                    let memb = membership(input.matte(i), c);
                    let (l, t) = unlimited.split(d);
                    for (side, o) in occ.iter_mut().enumerate() {
                        if memb[side] > 0.0 {
                            if t < 1.0 {
                                *o |= 1 << l;
                            }
                            if t > 0.0 {
                                *o |= 1 << (l + 1);
                            }
                        }
                    }
                }
                (max_d, hi, occ)
            })
            .reduce(
                || (0.0, 1.0, [0; SIDES]),
                |a, b| {
                    (
                        a.0.max(b.0),
                        a.1.max(b.1),
                        std::array::from_fn(|s| a.2[s] | b.2[s]),
                    )
                },
            );
        let levels = LevelSplit::levels_for(d0, max_d);
        Setup {
            coc,
            highlights,
            split: LevelSplit::new(d0, levels),
            hi: if hi.is_finite() { hi } else { 1.0 },
            occupied,
        }
    }

    /// True when `side` has any weight at `level`.
    pub(crate) fn has(&self, side: usize, level: u32) -> bool {
        level < 64 && self.occupied[side] & (1 << level) != 0
    }

    /// True when `side` has weight at any level ≥ 1.
    pub(crate) fn has_coarse(&self, side: usize) -> bool {
        self.occupied[side] & !1 != 0
    }
}

/// Full-resolution colours to scatter: `B` (far and near sides) and `F` (subject side), both
/// highlight-boosted. `F` is absent without a matte.
pub(crate) struct Colours {
    pub background: [Vec<f32>; 3],
    pub subject: Option<[Vec<f32>; 3]>,
}

/// The boosted `(B, F)` of pixel `(x, y)`.
#[inline]
pub(crate) fn pixel_colours(
    input: &Input,
    fills: Option<&MatteFills>,
    setup: &Setup,
    x: usize,
    y: usize,
) -> ([f32; 3], [f32; 3]) {
    let i = y * input.width + x;
    let rgb = input.rgb(i);
    let (f, b) = match fills {
        Some(fills) => fills.unmix(x, y, rgb, input.matte(i), setup.hi),
        None => (rgb, rgb),
    };
    (setup.highlights.boost(b), setup.highlights.boost(f))
}

/// The half-resolution matte fills, when there is a matte with any subject in it.
pub(crate) fn matte_fills(input: &Input) -> Option<MatteFills> {
    let matte = input.matte.as_ref()?;
    if !matte.iter().any(|&m| sane_matte(m) > 0.0) {
        return None;
    }
    let color = [&*input.color[0], &*input.color[1], &*input.color[2]];
    Some(MatteFills::new(color, matte, input.width, input.height))
}

/// The colours of every pixel (reference kernel; the fast kernel builds them with its pyramid).
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
                let (b, f) = pixel_colours(input, fills, setup, x, y);
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

/// One stored slice source: per level pixel `[r·w, g·w, b·w, w, d]`, `d` in level pixels.
pub(crate) type Source = Vec<[f32; 5]>;

/// Level of the far-side hole fill (the fill is smooth, so an 8× reduced image is plenty).
pub(crate) const FILL_LEVEL: u32 = 3;

/// What the fast kernel's first full-resolution pass produces.
pub(crate) struct Pyramid {
    pub colours: Colours,
    /// `slices[side][L - 1]` for levels `1..=max_level`, `None` where empty.
    pub slices: [Vec<Option<Source>>; SIDES],
    /// Far-side unblurred colour at [`FILL_LEVEL`]: `[r·w, g·w, b·w, w]` averaged.
    pub fill_source: Vec<[f32; 4]>,
    /// Per full-resolution row, the largest row reach of its level-0 scatter (−1: none).
    pub row_reach0: Vec<i32>,
}

/// Builds `B`, `F` and the slice sources of levels ≥ 1 in one pass over the image.
pub(crate) fn build_pyramid(
    input: &Input,
    fills: Option<&MatteFills>,
    setup: &Setup,
    tables: &SpanTables,
) -> Pyramid {
    let (w, h) = (input.width, input.height);
    let n = w * h;
    let max_level = setup.split.max_level();
    let chunk_level = max_level.max(FILL_LEVEL);
    let chunk_rows = 1usize << chunk_level;
    let with_subject = fills.is_some();

    let mut colour_planes: Vec<Vec<f32>> = (0..if with_subject { 6 } else { 3 })
        .map(|_| vec![0.0; n])
        .collect();
    let mut slices: [Vec<Option<Source>>; SIDES] = std::array::from_fn(|side| {
        (1..=max_level)
            .map(|l| {
                setup.has(side, l).then(|| {
                    let (lw, lh) = level_dims(w, h, l);
                    vec![[0.0f32; 5]; lw * lh]
                })
            })
            .collect()
    });
    let (fw, fh) = level_dims(w, h, FILL_LEVEL);
    let mut fill_source = vec![[0.0f32; 4]; fw * fh];
    let mut row_reach0 = vec![-1i32; h];

    // Regroup every buffer chunk by chunk of `chunk_rows` full-resolution rows.
    struct Job<'b> {
        colours: Vec<&'b mut [f32]>,
        slices: Vec<(usize, u32, &'b mut [[f32; 5]])>,
        fill: &'b mut [[f32; 4]],
        reach: &'b mut [i32],
    }
    let mut jobs: Vec<Job> = fill_source
        .chunks_mut((chunk_rows >> FILL_LEVEL) * fw)
        .zip(row_reach0.chunks_mut(chunk_rows))
        .map(|(fill, reach)| Job {
            colours: Vec::new(),
            slices: Vec::new(),
            fill,
            reach,
        })
        .collect();
    for (job, cols) in jobs
        .iter_mut()
        .zip(split_rows(&mut colour_planes, chunk_rows * w))
    {
        job.colours = cols;
    }
    for (side, levels) in slices.iter_mut().enumerate() {
        for (li, slice) in levels.iter_mut().enumerate() {
            let l = li as u32 + 1;
            if let Some(src) = slice {
                let (lw, _) = level_dims(w, h, l);
                for (job, chunk) in jobs.iter_mut().zip(src.chunks_mut((chunk_rows >> l) * lw)) {
                    job.slices.push((side, l, chunk));
                }
            }
        }
    }

    jobs.into_par_iter().enumerate().for_each(|(ci, mut job)| {
        let y0 = ci * chunk_rows;
        let y1 = (y0 + chunk_rows).min(h);
        // Slot of each (side, level) in job.slices.
        let mut slot = vec![[usize::MAX; SIDES]; max_level as usize + 2];
        for (k, (side, l, _)) in job.slices.iter().enumerate() {
            slot[*l as usize][*side] = k;
        }
        for y in y0..y1 {
            let mut reach = -1i32;
            for x in 0..w {
                let i = y * w + x;
                let (b, f) = pixel_colours(input, fills, setup, x, y);
                let local = (y - y0) * w + x;
                for c in 0..3 {
                    job.colours[c][local] = b[c];
                    if with_subject {
                        job.colours[3 + c][local] = f[c];
                    }
                }
                let c = setup.coc.signed(input.disparity[i]);
                let d = c.abs();
                let memb = membership(input.matte(i), c);
                let (l, t) = setup.split.split(d);
                if memb[0] > 0.0 {
                    let fl = (y >> FILL_LEVEL) - (y0 >> FILL_LEVEL);
                    let p = &mut job.fill[fl * fw + (x >> FILL_LEVEL)];
                    let wt = memb[0];
                    p[0] += b[0] * wt;
                    p[1] += b[1] * wt;
                    p[2] += b[2] * wt;
                    p[3] += wt;
                }
                if l == 0 && d >= 1.0 && memb.iter().any(|&m| m > 0.0) {
                    reach = reach.max(tables.get(d).reach);
                }
                for (level, share) in [(l, 1.0 - t), (l + 1, t)] {
                    if level == 0 || share <= 0.0 {
                        continue;
                    }
                    let (lw, _) = level_dims(w, h, level);
                    let ly = (y >> level) - (y0 >> level);
                    let li = ly * lw + (x >> level);
                    for side in 0..SIDES {
                        let wt = memb[side] * share;
                        if wt <= 0.0 {
                            continue;
                        }
                        let k = slot[level as usize][side];
                        if k == usize::MAX {
                            continue;
                        }
                        let col = if side == SUBJECT { f } else { b };
                        let p = &mut job.slices[k].2[li];
                        p[0] += col[0] * wt;
                        p[1] += col[1] * wt;
                        p[2] += col[2] * wt;
                        p[3] += wt;
                        p[4] += d * wt;
                    }
                }
            }
            job.reach[y - y0] = reach;
        }
        // Sums → averages over each level pixel's box of existing pixels.
        for (_, l, src) in job.slices.iter_mut() {
            let (lw, _) = level_dims(w, h, *l);
            let s = 1usize << *l;
            let scale = 1.0 / s as f32;
            for (k, p) in src.iter_mut().enumerate() {
                let (lx, ly) = (k % lw, k / lw + (y0 >> *l));
                let cw = (w - lx * s).min(s);
                let ch = (h - ly * s).min(s);
                let count = (cw * ch) as f32;
                p[4] = if p[3] > 0.0 { p[4] / p[3] * scale } else { 0.0 };
                for v in &mut p[..4] {
                    *v /= count;
                }
            }
        }
        let s = 1usize << FILL_LEVEL;
        for (k, p) in job.fill.iter_mut().enumerate() {
            let (lx, ly) = (k % fw, k / fw + (y0 >> FILL_LEVEL));
            let count = ((w - lx * s).min(s) * (h - ly * s).min(s)) as f32;
            for v in p.iter_mut() {
                *v /= count;
            }
        }
    });

    Pyramid {
        colours: into_colours(colour_planes),
        slices,
        fill_source,
        row_reach0,
    }
}
