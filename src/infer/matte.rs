//! Subject matte: the matting model's output made a full-resolution alpha.
//!
//! The model's alpha (e.g. MODNet at a long side of 512) is upsampled to the working resolution
//! and refined with a guided filter against the photo's lightness, and the filter's linear
//! coefficients are applied to the full-resolution photo (the fast guided filter), so edge
//! detail — hair — follows the photo at full resolution instead of a blurry bilinear ramp.
//! Inside the subject and far from it the filter leaves the alpha as it is.
//!
//! The model sees the photo at a long side of 512 px: single strands and flyaway wisps beyond
//! its outline are lost to it, and the guided filter, held to the model's local alpha range,
//! cannot bring them back. A band around the head's outline (within
//! [`MatteParams::hair_band_fraction`] of it) is therefore also matted by a **colour-line
//! model** at full resolution: every pixel is a mix
//! `I = α·F + (1−α)·B` of the nearby subject colour `F` and background colour `B` (push-pull
//! fills of confident pixels at the working resolution), so `α` is the projection of `I − B`
//! onto `F − B` — where the two colours differ clearly and the pixel lies near that line.
//! Where the colour line is trusted it replaces the refined alpha (where the model's alpha is
//! below [`MatteParams::hair_below`]): a strand the photo resolves gets the alpha of its
//! coverage, the sky between strands none. Where the refined alpha was too tight, the
//! renderer took the strand pixels for background (`B = (I − m·F̃)/(1 − m)` with the subject
//! fill `F̃`) and blurred their dark hair into the sky beside the outline: the thin dark rim.
//! With the colour-line alpha (measured against the same `F̃`-like fill) that residue is gone.
//!
//! **Two models.** When [`keep_subject`] finds a figure beside the subject (a smaller head
//! whose pixels it removes), the photo holds a person-like distractor, and the second matting
//! model (U²-Netp beside MODNet, when installed) is asked too: where the two disagree, the
//! less sure one wins ([`veto_by_second_model`]). It runs only then (about 0.5 s of CPU at
//! any photo size), and the estimate names both models (`modnet+u2netp`).

use rayon::prelude::*;

use super::catalog::{ModelDescriptor, Normalize};
use super::preprocess::guide_value;
use super::refine::{apply_coefficients, guided_coefficients, upsample_map};
use crate::fill::push_pull_fill;
use crate::scene::{LinearRgb, Plane, neighbours4};

/// Parameters of the matte refinement (at the working resolution).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatteParams {
    /// Guided-filter radius in working-resolution pixels (0 = plain bilinear upsampling).
    pub radius: usize,
    /// Guided-filter regularisation (larger = smoother, closer to the model's alpha).
    pub eps: f32,
    /// Islands of the matte (regions not connected to the subject even through faint alpha)
    /// whose solid part is smaller than this fraction of the largest region's are removed:
    /// they are background the model mistook for subject (a bauble, a face far behind), and
    /// would stay sharp in the blurred background. 0 keeps everything.
    pub island_fraction: f32,
    /// Which regions are the subject, given the depth.
    pub subject: SubjectParams,
    /// Reach of the colour-line band beyond the model's solid outline around the head, as
    /// a fraction of the working image's long side (0 = no colour-line refinement).
    pub hair_band_fraction: f32,
    /// The colour-line alpha counts only where the pixel lies within this fraction of the
    /// subject-to-background colour difference of the line between them.
    pub hair_line_tolerance: f32,
    /// In the band, the colour-line alpha replaces the refined alpha (as far as it is
    /// trusted) where the model's alpha is at most this.
    pub hair_below: f32,
    /// Whether a second matting model (U²-Netp beside MODNet, when installed) is asked where
    /// the subject is when [`keep_subject`] found distractors (see [`veto_by_second_model`]).
    pub second_model: bool,
    /// How far beyond the second model's subject the first model's alpha is kept, as a
    /// fraction of the working image's long side.
    pub second_model_reach: f32,
}

impl Default for MatteParams {
    fn default() -> Self {
        MatteParams {
            radius: 3,
            eps: 2e-3,
            island_fraction: 0.02,
            subject: SubjectParams::default(),
            hair_band_fraction: 0.03,
            hair_line_tolerance: 0.3,
            hair_below: 0.9,
            second_model: true,
            second_model_reach: 0.02,
        }
    }
}

/// The model's raw output as alpha in 0..1 (min-max normalised when the descriptor says so).
pub fn alpha_from_output(raw: &Plane, d: &ModelDescriptor) -> Plane {
    let mut out = raw.clone();
    if d.output.normalize == Normalize::MinMax
        && let Some((lo, hi)) = raw.finite_range()
    {
        let span = if hi > lo { hi - lo } else { 1.0 };
        out.data_mut()
            .iter_mut()
            .for_each(|v| *v = (*v - lo) / span);
    }
    out.data_mut().iter_mut().for_each(|v| {
        *v = if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        }
    });
    out
}

/// Refines `alpha` (model resolution) against the working image `working` (its guide
/// `guide_w`) and returns the matte at the working resolution and at the photo's full
/// resolution. With the depth model's `disparity` (normalised, any resolution), regions the
/// depth vetoes are removed first ([`keep_subject`]).
pub fn refine_matte(
    alpha: &Plane,
    working: &LinearRgb,
    guide_w: &Plane,
    photo: &LinearRgb,
    disparity: Option<&Plane>,
    params: &MatteParams,
) -> (Plane, Plane) {
    let (p, _) = subject_alpha(alpha, guide_w.width(), guide_w.height(), disparity, params);
    refine_subject_alpha(p, working, guide_w, photo, params)
}

/// The model's `alpha` at the working resolution `width × height` with what is not the
/// subject removed ([`keep_subject`] with the depth `disparity`, then [`remove_islands`]),
/// and whether [`keep_subject`] removed a figure beside the subject (a person-like
/// distractor a second model may help with, see [`veto_by_second_model`]).
pub fn subject_alpha(
    alpha: &Plane,
    width: usize,
    height: usize,
    disparity: Option<&Plane>,
    params: &MatteParams,
) -> (Plane, bool) {
    let p = alpha.resized(width, height);
    let (p, removed) = match disparity {
        Some(d) => {
            let kept = keep_subject(&p, &d.resized(width, height), &params.subject);
            // Removed: solid pixels (alpha ≥ 0.5) set below 0.5, at least 0.1 % of the image,
            // with a figure among them (a head smaller than the subject's).
            let lost = p
                .data()
                .iter()
                .zip(kept.data())
                .filter(|&(&a, &k)| a >= 0.5 && k < 0.5)
                .count();
            let figure = || {
                let heads = crate::head::find_heads(&p);
                let largest = heads.iter().map(|hd| hd.breadth_px).fold(0.0, f64::max);
                heads
                    .iter()
                    .any(|hd| hd.breadth_px < params.subject.smaller_head * largest)
            };
            let removed = lost * 1000 >= p.data().len() && figure();
            (kept, removed)
        }
        None => (p, false),
    };
    (remove_islands(&p, params.island_fraction), removed)
}

/// A second matting model's opinion on the subject alpha `p` (working resolution): `p` is
/// held to the second model's alpha (`second`, any resolution; dilated by
/// [`MatteParams::second_model_reach`] so the edge detail only `p` resolves stays, and
/// stretched so 0.9 counts as sure). Where the two disagree the less sure wins: two models
/// mistaking the same figure for the person is less likely than one.
pub fn veto_by_second_model(p: &Plane, second: &Plane, params: &MatteParams) -> Plane {
    let (w, h) = (p.width(), p.height());
    let s = second.resized(w, h);
    let reach = ((params.second_model_reach * w.max(h) as f32).round() as usize).max(1);
    let near = local_extreme(&s, reach, f32::max);
    let data = p
        .data()
        .iter()
        .zip(near.data())
        .map(|(&a, &v)| a.min((v / 0.9).clamp(0.0, 1.0)))
        .collect();
    remove_islands(&Plane::from_vec(w, h, data), params.island_fraction)
}

/// [`refine_matte`] of the subject's alpha `p` at the working resolution (from
/// [`subject_alpha`]).
pub fn refine_subject_alpha(
    p: Plane,
    working: &LinearRgb,
    guide_w: &Plane,
    photo: &LinearRgb,
    params: &MatteParams,
) -> (Plane, Plane) {
    if params.radius == 0 {
        let full = upsample_map(photo.width(), photo.height(), [&p], |_, px| {
            px.get(0).clamp(0.0, 1.0)
        });
        return (p, full);
    }
    let (a, b) = guided_coefficients(guide_w, &p, params.radius, params.eps);
    // The filter may only move alpha within the range the model's alpha spans nearby: it
    // sharpens and adds detail inside the edge band but never spreads a glow into the
    // background or holes into the subject.
    let lo = local_extreme(&p, params.radius, f32::min);
    let hi = local_extreme(&p, params.radius, f32::max);
    let mut refined = apply_coefficients(&a, &b, guide_w);
    for (i, v) in refined.data_mut().iter_mut().enumerate() {
        *v = blend(p.data()[i], *v, lo.data()[i], hi.data()[i]);
    }
    // Without a band its planes are stand-ins, never read.
    let hair = hair_band(&p, working, params);
    let [band, fr, fg, fb, br, bg, bb] = hair.as_ref().map_or([&p; 7], |b| {
        let [fr, fg, fb, br, bg, bb] = &b.fill;
        [&b.band, fr, fg, fb, br, bg, bb]
    });
    let has_band = hair.is_some();
    let tolerance = params.hair_line_tolerance;
    let full = upsample_map(
        photo.width(),
        photo.height(),
        [&p, &a, &b, &lo, &hi, band, fr, fg, fb, br, bg, bb],
        |i, px| {
            let p = px.get(0);
            let rgb = [photo.r()[i], photo.g()[i], photo.b()[i]];
            let q = if refinement_weight(p) == 0.0 {
                // Where the model is sure its alpha stays: no guide or coefficients needed.
                p.clamp(0.0, 1.0)
            } else {
                let g = guide_value(rgb[0], rgb[1], rgb[2]);
                let (a, b, lo, hi) = (px.get(1), px.get(2), px.get(3), px.get(4));
                blend(p, a * g + b, lo, hi)
            };
            if !has_band || p > params.hair_below || px.get(5) < 0.5 {
                return q;
            }
            let f = [px.get(6), px.get(7), px.get(8)];
            let bk = [px.get(9), px.get(10), px.get(11)];
            let (alpha, trust) = colour_line_alpha(rgb, f, bk, tolerance);
            (q + (alpha - q) * trust).clamp(0.0, 1.0)
        },
    );
    (refined, full)
}

/// The band around the head where [`colour_line_alpha`] may raise the alpha, and the subject
/// and background colours there (working resolution).
struct HairBand {
    /// 1 within the band, 0 elsewhere.
    band: Plane,
    /// Subject `F` (r, g, b), then background `B` (r, g, b): push-pull fills of confident
    /// pixels (alpha ≥ 0.95; alpha ≤ 0.02 outside the band).
    fill: [Plane; 6],
}

/// The band of [`MatteParams::hair_band_fraction`] around the solid outline (alpha ≥ 0.5) of
/// `p` where it is a head's (above the chin, within a head breadth to either side of the
/// heads [`crate::head::find_heads`] finds that are the subject's size), with its colours from `working` (same size).
/// `None` without a head or a band.
fn hair_band(p: &Plane, working: &LinearRgb, params: &MatteParams) -> Option<HairBand> {
    let (w, h) = (p.width(), p.height());
    if params.hair_band_fraction <= 0.0 || (working.width(), working.height()) != (w, h) {
        return None;
    }
    // The subject's head and those of people of its size (as [`keep_subject`] keeps them).
    let mut heads = crate::head::find_heads(p);
    let largest = heads.iter().map(|hd| hd.breadth_px).fold(0.0, f64::max);
    heads.retain(|hd| hd.breadth_px >= params.subject.smaller_head * largest);
    if heads.is_empty() {
        return None;
    }
    let reach = ((params.hair_band_fraction * w.max(h) as f32).round() as usize).max(2);
    let solid = Plane::from_vec(
        w,
        h,
        p.data()
            .iter()
            .map(|&a| f32::from(u8::from(a >= 0.5)))
            .collect(),
    );
    let near = super::refine::box_mean(&solid, reach);
    let in_head = |x: usize, y: usize| {
        heads.iter().any(|hd| {
            let height = crate::head::HEAD_HEIGHT_M / crate::head::HEAD_BREADTH_M * hd.breadth_px;
            let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
            fy < hd.crown_row + height && (fx - hd.centre_x).abs() < 1.5 * hd.breadth_px
        })
    };
    let band: Vec<f32> = (0..w * h)
        .map(|i| f32::from(u8::from(near.data()[i] > 0.0 && in_head(i % w, i / w))))
        .collect();
    if band.iter().all(|&b| b == 0.0) {
        return None;
    }
    let wf: Vec<f32> = p
        .data()
        .iter()
        .map(|&a| f32::from(u8::from(a >= 0.95)))
        .collect();
    let wb: Vec<f32> = (0..w * h)
        .map(|i| f32::from(u8::from(p.data()[i] <= 0.02 && near.data()[i] == 0.0)))
        .collect();
    let mut fill: [Vec<f32>; 6] = [
        working.r().to_vec(),
        working.g().to_vec(),
        working.b().to_vec(),
        working.r().to_vec(),
        working.g().to_vec(),
        working.b().to_vec(),
    ];
    let [fr, fg, fb, br, bg, bb] = &mut fill;
    rayon::join(
        || push_pull_fill(&mut [fr, fg, fb], &wf, w, h),
        || push_pull_fill(&mut [br, bg, bb], &wb, w, h),
    );
    Some(HairBand {
        band: Plane::from_vec(w, h, band),
        fill: fill.map(|c| Plane::from_vec(w, h, c)),
    })
}

/// The alpha of colour `rgb` as a mix of subject colour `f` and background colour `b` (all
/// linear), and how far to trust it (0..1): its projection onto the line from `b` to `f`,
/// trusted where the two differ clearly (by more than 0.03) and the pixel lies within
/// `tolerance` of their difference of that line. Alphas below what noise gives (0.015 over
/// the difference) are 0.
#[inline]
pub fn colour_line_alpha(rgb: [f32; 3], f: [f32; 3], b: [f32; 3], tolerance: f32) -> (f32, f32) {
    let d = [f[0] - b[0], f[1] - b[1], f[2] - b[2]];
    let dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    // (NaN colours fail the test too.)
    if dd.is_nan() || dd <= 0.03 * 0.03 {
        return (0.0, 0.0);
    }
    let e = [rgb[0] - b[0], rgb[1] - b[1], rgb[2] - b[2]];
    let alpha = ((e[0] * d[0] + e[1] * d[1] + e[2] * d[2]) / dd).clamp(0.0, 1.0);
    let r2 = (0..3).map(|c| (e[c] - alpha * d[c]).powi(2)).sum::<f32>();
    let fit = (1.0 - (r2 / dd).sqrt() / tolerance).clamp(0.0, 1.0);
    let contrast = ((dd.sqrt() - 0.03) / 0.05).clamp(0.0, 1.0);
    let floor = (0.015 / dd.sqrt()).min(0.3);
    let alpha = ((alpha - floor) / (1.0 - floor)).clamp(0.0, 1.0);
    (alpha, fit * contrast)
}

/// The refined alpha `q` where the model's alpha `p` is uncertain, `p` itself where the model is
/// sure (p ≤ 0.02 or ≥ 0.98), blended between; always within the model's local range.
#[inline]
fn blend(p: f32, q: f32, lo: f32, hi: f32) -> f32 {
    let t = refinement_weight(p);
    (p + (q.clamp(lo, hi) - p) * t).clamp(0.0, 1.0)
}

/// How much of the refined alpha [`blend`] takes where the model's alpha is `p`: 0 where the
/// model is sure (p ≤ 0.02 or ≥ 0.98), rising to 1 over the next 0.15.
#[inline]
fn refinement_weight(p: f32) -> f32 {
    ((p.min(1.0 - p) - 0.02) / 0.15).clamp(0.0, 1.0)
}

/// Alpha at or above this connects regions (so wisps of hair joined to the head by faint alpha
/// belong to it).
const ISLAND_CONNECT_ALPHA: f32 = 0.1;

/// No region (see [`label_regions`]).
const NO_REGION: u32 = u32::MAX;

/// Regions of `alpha`: 4-connected through alpha ≥ [`ISLAND_CONNECT_ALPHA`]. Returns every
/// pixel's region ([`NO_REGION`] below that alpha) and each region's solid pixel count
/// (alpha ≥ 0.5).
fn label_regions(alpha: &Plane) -> (Vec<u32>, Vec<usize>) {
    let (w, h) = (alpha.width(), alpha.height());
    let mut label = vec![NO_REGION; w * h];
    let mut solid: Vec<usize> = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if label[start] != NO_REGION || alpha.data()[start] < ISLAND_CONNECT_ALPHA {
            continue;
        }
        let id = solid.len() as u32;
        let mut count = 0;
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            count += usize::from(alpha.data()[i] >= 0.5);
            for j in neighbours4(i, w, h).into_iter().flatten() {
                if label[j] == NO_REGION && alpha.data()[j] >= ISLAND_CONNECT_ALPHA {
                    label[j] = id;
                    stack.push(j);
                }
            }
        }
        solid.push(count);
    }
    (label, solid)
}

/// `alpha` with the regions (see [`label_regions`]) for which `keep` is false set to 0.
fn keep_regions(alpha: &Plane, label: &[u32], keep: &[bool]) -> Plane {
    let data = alpha
        .data()
        .iter()
        .zip(label)
        .map(|(&a, &l)| {
            if l != NO_REGION && !keep[l as usize] {
                0.0
            } else {
                a
            }
        })
        .collect();
    Plane::from_vec(alpha.width(), alpha.height(), data)
}

/// Removes small islands from `alpha`: regions 4-connected through alpha ≥ 0.1 whose solid
/// part (alpha ≥ 0.5) is smaller than `fraction` of the largest region's are set to 0.
pub fn remove_islands(alpha: &Plane, fraction: f32) -> Plane {
    if fraction <= 0.0 || alpha.width() == 0 || alpha.height() == 0 {
        return alpha.clone();
    }
    let (label, solid) = label_regions(alpha);
    let largest = solid.iter().copied().max().unwrap_or(0);
    let keep: Vec<bool> = solid
        .iter()
        .map(|&n| n == 0 || n as f32 >= fraction * largest as f32)
        .collect();
    keep_regions(alpha, &label, &keep)
}

/// Parameters of [`keep_subject`], in units of the normalised disparity (its 1st..99th
/// percentiles span 0..1, see [`super::refine::normalize_robust`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubjectParams {
    /// A region whose median disparity is more than this behind the head's region is
    /// background.
    pub behind: f32,
    /// A region that stands out from its surroundings by less than this fraction of what
    /// the head's region does is flat on what it lies on (a figure painted on a wall)...
    pub flat_ratio: f32,
    /// ...when the head's region stands out by at least this much (the depth sees it).
    pub min_relief: f32,
    /// Width of the ring around a region that is its surroundings, as a fraction of the
    /// matte's long side.
    pub ring_fraction: f32,
    /// A figure whose head is less than this fraction of the subject's breadth is not the
    /// subject (see [`keep_subject`]).
    pub smaller_head: f64,
    /// Geodesic distances to a head are divided by its breadth to this power when deciding
    /// whose a pixel is (1: in head breadths; 0: in pixels).
    pub head_scale_exponent: f64,
}

impl Default for SubjectParams {
    fn default() -> Self {
        SubjectParams {
            behind: 0.25,
            flat_ratio: 0.35,
            min_relief: 0.08,
            ring_fraction: 0.03,
            smaller_head: 0.7,
            head_scale_exponent: 1.0,
        }
    }
}

/// Median of `d` over the pixels where `take` is true (`None` when there are none).
fn median_where(d: &Plane, take: impl Fn(usize) -> bool) -> Option<f32> {
    let mut v: Vec<f32> = (0..d.data().len())
        .filter(|&i| take(i))
        .map(|i| d.data()[i])
        .filter(|v| v.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    Some(*v.select_nth_unstable_by(mid, f32::total_cmp).1)
}

/// Geodesic distance (4-connected steps through alpha ≥ [`ISLAND_CONNECT_ALPHA`]) from pixel
/// `start` to every pixel ([`u32::MAX`] where it cannot reach).
fn geodesic_steps(alpha: &Plane, start: usize) -> Vec<u32> {
    let (w, h) = (alpha.width(), alpha.height());
    let mut steps = vec![u32::MAX; w * h];
    let mut queue = std::collections::VecDeque::from([start]);
    steps[start] = 0;
    while let Some(i) = queue.pop_front() {
        for j in neighbours4(i, w, h).into_iter().flatten() {
            if steps[j] == u32::MAX && alpha.data()[j] >= ISLAND_CONNECT_ALPHA {
                steps[j] = steps[i] + 1;
                queue.push_back(j);
            }
        }
    }
    steps
}

/// Which parts of the matte are the subject (issue 14). The subject is the nearest person:
/// the largest head [`crate::head::find_heads`] finds. A person's head size says how far
/// away they are, so a figure whose head is under [`SubjectParams::smaller_head`] of the
/// subject's is well behind it (or painted on a wall): every pixel of the matte nearer to
/// that head than to the subject's — geodesically, through the matte, in units of each head's
/// breadth, so a body belongs to the head above it and an object a person holds to that
/// person — is removed, even where the two touch. People with heads of similar size (a
/// couple, a group) are all kept. Regions of the matte that reach no head are kept when they
/// lie within [`SubjectParams::ring_fraction`] of one that does (something held a little
/// apart) or are at least as large as the subject's region (a person whose head was not found);
/// the others are judged by the depth `disparity` (normalised, the size of `alpha`): removed
/// when clearly behind the subject's region or when they do not stand out from their
/// surroundings although the subject does (a poster, a statue on a wall). Without a head the
/// largest region is the subject's.
pub fn keep_subject(alpha: &Plane, disparity: &Plane, params: &SubjectParams) -> Plane {
    let (w, h) = (alpha.width(), alpha.height());
    assert_eq!((disparity.width(), disparity.height()), (w, h));
    if w == 0 || h == 0 {
        return alpha.clone();
    }
    let (label, solid) = label_regions(alpha);
    let mut heads = crate::head::find_heads(alpha);
    heads.sort_by(|a, b| b.breadth_px.total_cmp(&a.breadth_px));
    let mut out = alpha.clone();
    // Each head's seed: the middle of the head (or the nearest matte pixel along that row).
    let seed = |head: &crate::head::HeadEstimate| -> Option<usize> {
        let height = crate::head::HEAD_HEIGHT_M / crate::head::HEAD_BREADTH_M * head.breadth_px;
        let y = (head.crown_row + 0.5 * height).clamp(0.0, (h - 1) as f64) as usize;
        let x = head.centre_x.clamp(0.0, (w - 1) as f64) as usize;
        let reach = (head.breadth_px / 2.0).ceil() as usize;
        (0..=reach)
            .flat_map(|k| [x.saturating_sub(k), (x + k).min(w - 1)])
            .map(|x| y * w + x)
            .find(|&i| label[i] != NO_REGION)
    };
    let seeded: Vec<(f64, usize)> = heads
        .iter()
        .filter_map(|hd| seed(hd).map(|i| (hd.breadth_px, i)))
        .collect();
    let mut reached = vec![false; solid.len()];
    let subject_label = if let Some(&(main_breadth, main_seed)) = seeded.first() {
        for &(_, at) in &seeded {
            reached[label[at] as usize] = true;
        }
        // Owner of each pixel: the head with the least geodesic distance in head breadths
        // (only needed when some head is small).
        let any_small = seeded
            .iter()
            .any(|&(b, _)| b < params.smaller_head * main_breadth);
        let mut best = vec![f64::INFINITY; w * h];
        let mut small = vec![false; w * h];
        for &(breadth, at) in seeded.iter().filter(|_| any_small) {
            let is_small = breadth < params.smaller_head * main_breadth;
            for (i, &n) in geodesic_steps(alpha, at).iter().enumerate() {
                let d = n as f64 / breadth.powf(params.head_scale_exponent);
                if n != u32::MAX && d < best[i] {
                    best[i] = d;
                    small[i] = is_small;
                }
            }
        }
        for (v, &s) in out.data_mut().iter_mut().zip(&small) {
            if s {
                *v = 0.0;
            }
        }
        label[main_seed]
    } else {
        match (0..solid.len()).max_by_key(|&i| solid[i]) {
            Some(i) => {
                reached[i] = true;
                i as u32
            }
            None => return out,
        }
    };
    // Regions no head reaches are the subject's when they are within a ring's width of one
    // that a head reaches (something held a little apart) or at least as large as the
    // subject's region (another person whose head was not found, or the subject when the
    // head found is a mistake); otherwise the depth decides.
    let ring = ((params.ring_fraction * w.max(h) as f32).round() as usize).max(1);
    let reached_px = Plane::from_vec(
        w,
        h,
        label
            .iter()
            .map(|&l| f32::from(u8::from(l != NO_REGION && reached[l as usize])))
            .collect(),
    );
    let near_reached = super::refine::box_mean(&reached_px, ring);
    for (i, &l) in label.iter().enumerate() {
        if l != NO_REGION && near_reached.data()[i] > 0.0 {
            reached[l as usize] = true;
        }
    }
    let subject_solid = solid[subject_label as usize];
    let stats = |id: u32| -> Option<(f32, f32)> {
        let inside = median_where(disparity, |i| label[i] == id && out.data()[i] >= 0.5)?;
        let member = Plane::from_vec(
            w,
            h,
            label
                .iter()
                .map(|&l| f32::from(u8::from(l == id)))
                .collect(),
        );
        let near = super::refine::box_mean(&member, ring);
        let around = median_where(disparity, |i| {
            near.data()[i] > 0.0 && alpha.data()[i] < 0.02
        })?;
        Some((inside, around))
    };
    let Some((d_subject, around_subject)) = stats(subject_label) else {
        return out;
    };
    let relief = d_subject - around_subject;
    // Tiny regions are left to [`remove_islands`] (each costs a box filter here).
    let min_solid = (solid.iter().copied().max().unwrap_or(0) / 100).max(1);
    let keep: Vec<bool> = (0..solid.len())
        .map(|id| {
            if reached[id] || solid[id] < min_solid || solid[id] >= subject_solid {
                return true;
            }
            let Some((d, around)) = stats(id as u32) else {
                return true;
            };
            let behind = d < d_subject - params.behind;
            let flat = relief >= params.min_relief && d - around < params.flat_ratio * relief;
            !(behind || flat)
        })
        .collect();
    keep_regions(&out, &label, &keep)
}

/// Minimum or maximum over a `(2r+1)²` window (separable; O(n·r), for small `r`).
pub fn local_extreme(p: &Plane, r: usize, f: fn(f32, f32) -> f32) -> Plane {
    let (w, h) = (p.width(), p.height());
    let mut tmp = vec![0.0f32; w * h];
    tmp.par_chunks_mut(w.max(1))
        .zip(p.data().par_chunks(w.max(1)))
        .for_each(|(out, row)| {
            for (x, o) in out.iter_mut().enumerate() {
                let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
                *o = row[x0..x1].iter().copied().reduce(f).unwrap_or(row[x]);
            }
        });
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, o)| {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        o.copy_from_slice(&tmp[y0 * w..(y0 + 1) * w]);
        for yy in y0 + 1..y1 {
            for (v, &t) in o.iter_mut().zip(&tmp[yy * w..(yy + 1) * w]) {
                *v = f(*v, t);
            }
        }
    });
    Plane::from_vec(w, h, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_extremes() {
        let p = Plane::from_vec(5, 1, vec![0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(
            local_extreme(&p, 1, f32::max).data(),
            vec![0.0, 1.0, 1.0, 1.0, 0.0]
        );
        assert_eq!(local_extreme(&p, 1, f32::min).data(), vec![0.0; 5]);
    }

    #[test]
    fn small_islands_are_removed_wisps_and_second_subjects_kept() {
        let (w, h) = (100, 80);
        let mut a = Plane::filled(w, h, 0.0);
        let mut set = |x0: usize, y0: usize, x1: usize, y1: usize, v: f32| {
            for y in y0..y1 {
                for x in x0..x1 {
                    a.data_mut()[y * w + x] = v;
                }
            }
        };
        set(10, 10, 50, 80, 1.0); // the subject: 2800 solid pixels
        set(50, 20, 60, 21, 0.2); // a faint wisp of hair leading to
        set(60, 18, 63, 23, 0.8); // a solid strand end (15 px, joined through the wisp)
        set(80, 60, 84, 64, 1.0); // a bauble: 16 px, alone
        set(70, 5, 95, 30, 1.0); // a second person: 625 px (22 %)
        set(0, 0, 3, 3, 0.3); // faint haze, no solid part: left alone
        let out = remove_islands(&a, 0.02);
        assert_eq!(out.at(30, 40), 1.0);
        assert_eq!(out.at(61, 20), 0.8);
        assert_eq!(out.at(55, 20), 0.2);
        assert_eq!(out.at(82, 62), 0.0);
        assert_eq!(out.at(80, 10), 1.0);
        assert_eq!(out.at(1, 1), 0.3);
        assert_eq!(remove_islands(&a, 0.0), a);
    }

    #[test]
    fn refinement_adds_no_glow_and_follows_the_photo() {
        // Photo: left half dark, right half bright; model alpha: a blurry ramp at the middle.
        let (w, h) = (64, 8);
        let mut photo = LinearRgb::filled(w, h, [0.02; 3]);
        for y in 0..h {
            for x in 32..w {
                photo.set(x, y, [0.8; 3]);
            }
        }
        let alpha = Plane::from_vec(
            16,
            2,
            (0..32)
                .map(|i| ((i % 16) as f32 / 15.0 * 3.0 - 1.0).clamp(0.0, 1.0))
                .collect(),
        );
        let guide = super::super::preprocess::guide_plane(&photo);
        let (_, full) = refine_matte(
            &alpha,
            &photo,
            &guide,
            &photo,
            None,
            &MatteParams::default(),
        );
        let plain = alpha.resized(w, h);
        for x in 0..w {
            let (q, p) = (full.at(x, 4), plain.at(x, 4));
            if p == 0.0 {
                assert!(q < 0.05, "glow at {x}: {q}");
            }
        }
        // Sharper at the photo's edge than the bilinear ramp.
        assert!(full.at(33, 4) - full.at(30, 4) > plain.at(33, 4) - plain.at(30, 4));
    }

    #[test]
    fn colour_line_alpha_reads_mixes_and_distrusts_other_colours() {
        let (f, b) = ([0.30, 0.20, 0.10], [0.30, 0.45, 0.80]);
        let mix = |t: f32| std::array::from_fn(|c| t * f[c] + (1.0 - t) * b[c]);
        for t in [0.1f32, 0.4, 0.8, 1.0] {
            let (alpha, trust) = colour_line_alpha(mix(t), f, b, 0.3);
            assert!((alpha - t).abs() < 0.03, "{t}: {alpha}");
            assert!(trust > 0.99, "{t}: {trust}");
        }
        assert_eq!(colour_line_alpha(b, f, b, 0.3).0, 0.0);
        // A colour far off the line (green foliage) is not trusted.
        assert!(colour_line_alpha([0.05, 0.30, 0.05], f, b, 0.3).1 < 0.1);
        // Subject and background alike: nothing to read.
        assert_eq!(colour_line_alpha(b, b, b, 0.3), (0.0, 0.0));
    }

    #[test]
    fn strands_beyond_the_models_alpha_come_back_around_the_head_only() {
        // A figure over a sky (head top at y ≈ 23 at x = 110 and 130), strands of its hair
        // colour rising from its head (1 px wide, beyond the model's alpha, which is the
        // figure blurred without them), and one beside its body, below the head.
        let (w, h) = (240, 160);
        let mut truth = Plane::filled(w, h, 0.0);
        person(&mut truth, 120.0, 45.0, 36.0);
        let (hair, sky) = ([0.30f32, 0.20, 0.10], [0.30f32, 0.45, 0.80]);
        let mut photo = LinearRgb::filled(w, h, sky);
        for i in 0..w * h {
            if truth.data()[i] > 0.0 {
                photo.set(i % w, i / w, hair);
            }
        }
        let strand = |x: usize| (8..24).map(move |y| (x, y));
        for (x, y) in strand(110)
            .chain(strand(130))
            .chain((95..110).map(|y| (66, y)))
        {
            photo.set(x, y, hair);
        }
        let model = {
            let small = truth.resized(w / 4, h / 4);
            let blurred = super::super::refine::box_mean(&small, 1);
            Plane::from_vec(blurred.width(), blurred.height(), blurred.data().to_vec())
        };
        let guide = super::super::preprocess::guide_plane(&photo);
        let run =
            |params: &MatteParams| refine_matte(&model, &photo, &guide, &photo, None, params).1;
        let on = run(&MatteParams::default());
        let off = run(&MatteParams {
            hair_band_fraction: 0.0,
            ..MatteParams::default()
        });
        // Above the crown (y ≈ 18), within the band's reach (0.03 × 240 ≈ 7 px) of the head.
        for y in 13..17 {
            assert!(off.at(110, y) < 0.15, "without the band the strand is lost");
            assert!(
                on.at(110, y) > 0.8 && on.at(130, y) > 0.8,
                "row {y}: {}",
                on.at(110, y)
            );
            // The sky between the strands stays background.
            assert!(on.at(120, y) < 0.05 && on.at(100, y) < 0.05);
        }
        // Beside the body, below the head, the band changes nothing.
        assert!((95..110).all(|y| on.at(66, y) == off.at(66, y)));
    }

    #[test]
    fn a_second_model_holds_the_alpha_where_it_is_less_sure() {
        // First model: the subject (with a strand the second does not resolve) and a figure
        // beside it; second model: the subject, the figure at half confidence.
        let (w, h) = (200, 100);
        let mut p = Plane::filled(w, h, 0.0);
        let mut second = Plane::filled(w, h, 0.0);
        for y in 20..100 {
            for x in 40..90 {
                p.data_mut()[y * w + x] = 1.0;
                second.data_mut()[y * w + x] = 1.0;
            }
            for x in 140..180 {
                p.data_mut()[y * w + x] = 1.0;
                second.data_mut()[y * w + x] = 0.45;
            }
        }
        for y in 12..20 {
            p.data_mut()[y * w + 60] = 0.7; // a strand rising 8 px above the subject
        }
        let out = veto_by_second_model(&p, &second.resized(50, 25), &MatteParams::default());
        assert_eq!(out.at(60, 50), 1.0);
        assert_eq!(out.at(60, 17), 0.7, "edge detail within reach stays");
        assert!((out.at(160, 60) - 0.5).abs() < 0.05, "{}", out.at(160, 60));
    }

    /// A head-and-shoulders figure of head breadth `b` with its head centred at `(cx, cy)`.
    fn person(a: &mut Plane, cx: f32, cy: f32, b: f32) {
        let (w, h) = (a.width(), a.height());
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let head =
                    ((fx - cx) / (0.5 * b)).powi(2) + ((fy - cy) / (0.74 * b)).powi(2) <= 1.0;
                let neck = (fx - cx).abs() < 0.25 * b && fy > cy && fy < cy + 1.1 * b;
                let body = (fx - cx).abs() < 1.4 * b && fy > cy + 1.1 * b;
                if head || neck || body {
                    a.data_mut()[y * w + x] = 1.0;
                }
            }
        }
    }

    #[test]
    fn a_smaller_figure_touching_the_subject_is_not_the_subject() {
        let (w, h) = (300, 200);
        let mut a = Plane::filled(w, h, 0.0);
        person(&mut a, 100.0, 60.0, 40.0); // the subject: body x 44..156
        person(&mut a, 190.0, 110.0, 20.0); // a figure with half the head: body x 162..218
        // A held object joining the two at the bottom.
        for y in 170..200 {
            for x in 150..170 {
                a.data_mut()[y * w + x] = 1.0;
            }
        }
        let flat = Plane::filled(w, h, 0.5);
        let out = keep_subject(&a, &flat, &SubjectParams::default());
        assert_eq!(out.at(100, 60), 1.0, "the subject's head");
        assert_eq!(out.at(100, 180), 1.0, "the subject's body");
        assert_eq!(out.at(152, 185), 1.0, "what the subject holds");
        assert_eq!(out.at(190, 110), 0.0, "the figure's head");
        assert_eq!(out.at(205, 160), 0.0, "the figure's body");
    }

    #[test]
    fn people_of_a_size_are_all_kept_and_depth_vetoes_loose_regions() {
        let (w, h) = (300, 200);
        let mut a = Plane::filled(w, h, 0.0);
        person(&mut a, 80.0, 60.0, 36.0);
        person(&mut a, 200.0, 64.0, 32.0); // a second person, touching the first
        let flat = Plane::filled(w, h, 0.5);
        assert_eq!(keep_subject(&a, &flat, &SubjectParams::default()), a);
        // A headless region well apart: kept where the depth sees it as near as the subject,
        // removed where it sees it far behind.
        let mut b = Plane::filled(w, h, 0.0);
        person(&mut b, 80.0, 60.0, 36.0);
        for y in 20..60 {
            for x in 240..290 {
                b.data_mut()[y * w + x] = 1.0;
            }
        }
        let mut d = Plane::filled(w, h, 0.2);
        for (i, v) in d.data_mut().iter_mut().enumerate() {
            if b.data()[i] > 0.0 {
                *v = 0.9;
            }
        }
        assert_eq!(
            keep_subject(&b, &d, &SubjectParams::default()).at(260, 40),
            1.0
        );
        for y in 20..60 {
            for x in 240..290 {
                d.data_mut()[y * w + x] = 0.1;
            }
        }
        assert_eq!(
            keep_subject(&b, &d, &SubjectParams::default()).at(260, 40),
            0.0
        );
    }
}
