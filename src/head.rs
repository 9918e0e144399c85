//! Auto focus: the subject's distance from its size in the frame.
//!
//! A real camera focused on a person at distance `Z` images their head with a magnification
//! `M = f / (Z − f)`; on a full-frame sensor at 85 mm a head-and-shoulders framing puts the head
//! at about a fifth of the frame width, which is about 2 m. fstop inverts that: it finds the
//! head in the matte, measures its breadth and assumes an average adult head, so the focal
//! length and the sensor change the estimate exactly as they would on a camera.
//!
//! **Assumptions** (documented, overridable with `--focus`):
//! * an average adult head is [`HEAD_BREADTH_M`] = 15.5 cm wide (skull breadth) and
//!   [`HEAD_HEIGHT_M`] = 23 cm from crown to chin; in a matte the outline also includes ears
//!   and hair, which adds about 10 % to the breadth ([`MATTE_BREADTH_ALLOWANCE`]);
//! * when the whole standing figure is in the frame (feet above the bottom edge, the figure at
//!   least [`STANDING_HEAD_HEIGHTS`] head heights tall), its height is an average adult's
//!   stature, [`STATURE_M`] = 1.70 m, a measurement seven times larger than the head's and
//!   immune to hoods, hats and big hair.
//!
//! Children, profiles, big hair and seated figures bias the estimate by the same ratio; the
//! result is clamped to [`DISTANCE_RANGE_M`].
//!
//! **How the head is found** (all at [`ANALYSIS_LONG_SIDE`] px, so the cost does not depend on
//! the photo's size): the matte is box-downsampled and thresholded at 0.5, opened by
//! [`OPEN_RADIUS`] (single strands and flyaway wisps, which the matte refinement keeps, would
//! otherwise raise the crown and widen the outline), closed (small gaps between curls bridged)
//! and its holes filled. The outline is then followed from
//! the top down as runs of subject pixels per row. Every local top of the outline (a crown, a
//! raised hand, a hat's peak) starts a *track*; small bumps that join a track close to its top
//! (curls, a bow, a bun) are absorbed, while two tracks of similar size that meet (two people
//! side by side, a head and a raised hand beside it) end there and a merged track continues, so
//! a hand or a neighbour never widens the head. Each track is fitted with a head model: an
//! ellipse of breadth `B` and height `B · 23/15.5` hanging from the track's crown. A row of the
//! upper half of the head supports the fit when its left and right edges lie within 15 % of the
//! model's (each side counts on its own, so a hand on one side still leaves the other), and a
//! row just below the head's middle when its width is between half and 1.25 times `B` (jaw,
//! neck or hair, not shoulders). The support is the fraction of rows that agree. A candidate is
//! a head when its body is where a body should be: 2.2–3.5 half head heights below the crown
//! (shoulder level) the subject is at least 1.2 `B` wide (a raised hand has a forearm below
//! it). Of the heads, the best supported one wins (ties: the larger, the nearer person). A head
//! cut off by the top of the frame is fitted with its crown above the frame.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rayon::prelude::*;

use crate::optics::Lens;
use crate::scene::Plane;

/// Average adult head breadth (skull), metres.
pub const HEAD_BREADTH_M: f64 = 0.155;
/// Average adult head height, crown to chin, metres.
pub const HEAD_HEIGHT_M: f64 = 0.23;
/// A matte's head outline includes ears and hair: its breadth is this much more than the skull's.
pub const MATTE_BREADTH_ALLOWANCE: f64 = 1.1;
/// Average adult stature (crown to soles, with shoes), metres.
pub const STATURE_M: f64 = 1.70;
/// A figure whose crown-to-feet height is at least this many head heights is taken as standing.
pub const STANDING_HEAD_HEIGHTS: f64 = 4.5;
/// Estimates are clamped to this range, metres.
pub const DISTANCE_RANGE_M: (f64, f64) = (0.5, 20.0);
/// Parts of the analysed mask narrower than `2·OPEN_RADIUS + 1` pixels (strands, wisps) are
/// removed before the outline is followed.
const OPEN_RADIUS: usize = 1;
/// The matte is analysed at this long side (pixels) or less.
pub const ANALYSIS_LONG_SIDE: usize = 512;

/// Height-to-breadth ratio of the head model.
const HEAD_RATIO: f64 = HEAD_HEIGHT_M / HEAD_BREADTH_M;
/// A row edge supports a fit when it is within this fraction of the model's half-width.
const FIT_TOLERANCE: f64 = 0.15;
/// Fits supported by fewer rows than this fraction are not heads.
const MIN_SUPPORT: f64 = 0.5;
/// Fits whose support is within this of the best count as equally good.
const SUPPORT_TIE: f64 = 0.05;
/// At shoulder level, a head's body is at least this many head breadths wide.
const MIN_BODY_RATIO: f64 = 1.2;
/// Heads narrower than this fraction of the long side are ignored (noise, hands far away).
const MIN_HEAD_FRACTION: f64 = 0.025;
/// A track joining another close to the latter's crown and narrower than this fraction of it
/// is a bump on the same head (a curl, a bow), not a second head or a hand.
const TUFT_FRACTION: f64 = 0.35;
/// Closing radius, as a fraction of the analysis long side.
const CLOSE_FRACTION: f64 = 1.0 / 150.0;

/// The matte thresholded at 0.5 at a reduced resolution.
#[derive(Debug, Clone, PartialEq)]
struct Mask {
    width: usize,
    height: usize,
    /// Full-resolution pixels per mask pixel (the same along both axes).
    scale: usize,
    data: Vec<bool>,
}

impl Mask {
    /// Box-downsamples `matte` by an integer factor so the long side is at most `long_side`,
    /// then thresholds at 0.5. Row-parallel; one pass over the matte.
    fn from_matte(matte: &Plane, long_side: usize) -> Mask {
        let (fw, fh) = (matte.width(), matte.height());
        let scale = fw.max(fh).div_ceil(long_side.max(1)).max(1);
        let (w, h) = (fw.div_ceil(scale), fh.div_ceil(scale));
        let mut data = vec![false; w * h];
        data.par_chunks_mut(w.max(1))
            .enumerate()
            .for_each(|(y, out)| {
                let mut sums = vec![0.0f32; w];
                let rows = y * scale..((y + 1) * scale).min(fh);
                let n_rows = rows.len();
                for fy in rows {
                    for (sum, block) in sums.iter_mut().zip(matte.row(fy).chunks(scale)) {
                        // NaN counts as background (`max` drops it).
                        *sum += block.iter().map(|a| a.max(0.0)).sum::<f32>();
                    }
                }
                for (x, (o, sum)) in out.iter_mut().zip(&sums).enumerate() {
                    let cols = ((x + 1) * scale).min(fw) - x * scale;
                    *o = *sum >= 0.5 * (cols * n_rows) as f32;
                }
            });
        Mask {
            width: w,
            height: h,
            scale,
            data,
        }
    }

    fn at(&self, x: usize, y: usize) -> bool {
        self.data[y * self.width + x]
    }

    /// Morphological dilation (`set`) or erosion (`!set`) by a square of radius `r`; outside
    /// the mask counts as the border pixel (so borders neither grow nor erode).
    fn filtered(&self, r: usize, dilate: bool) -> Mask {
        let (w, h) = (self.width, self.height);
        let pass = |src: &[bool], len: usize, stride: usize, count: usize, out: &mut [bool]| {
            // Along one line of `len` samples `stride` apart, starting at src[0].
            for line in 0..count {
                let base = line * if stride == 1 { len } else { 1 };
                let get = |i: usize| src[base + i * stride];
                let mut prefix = vec![0usize; len + 1];
                for i in 0..len {
                    prefix[i + 1] = prefix[i] + usize::from(get(i));
                }
                for i in 0..len {
                    let (lo, hi) = (i.saturating_sub(r), (i + r + 1).min(len));
                    let set = prefix[hi] - prefix[lo];
                    out[base + i * stride] = if dilate { set > 0 } else { set == hi - lo };
                }
            }
        };
        let mut horizontal = vec![false; w * h];
        pass(&self.data, w, 1, h, &mut horizontal);
        let mut out = vec![false; w * h];
        pass(&horizontal, h, w, w, &mut out);
        Mask {
            data: out,
            ..self.clone()
        }
    }

    /// Opening (erode then dilate): removes parts narrower than `2r + 1`.
    fn opened(&self, r: usize) -> Mask {
        if r == 0 {
            return self.clone();
        }
        self.filtered(r, false).filtered(r, true)
    }

    /// Closing (dilate then erode): bridges gaps narrower than `2r`.
    fn closed(&self, r: usize) -> Mask {
        if r == 0 {
            return self.clone();
        }
        self.filtered(r, true).filtered(r, false)
    }

    /// Fills holes (background regions not connected to the border).
    fn holes_filled(&self) -> Mask {
        let (w, h) = (self.width, self.height);
        let mut outside = vec![false; w * h];
        let mut queue = VecDeque::new();
        let push = |x: usize, y: usize, outside: &mut Vec<bool>, q: &mut VecDeque<usize>| {
            let i = y * w + x;
            if !self.data[i] && !outside[i] {
                outside[i] = true;
                q.push_back(i);
            }
        };
        for y in 0..h {
            push(0, y, &mut outside, &mut queue);
            push(w - 1, y, &mut outside, &mut queue);
        }
        for x in 0..w {
            push(x, 0, &mut outside, &mut queue);
            push(x, h - 1, &mut outside, &mut queue);
        }
        while let Some(i) = queue.pop_front() {
            let (x, y) = (i % w, i / w);
            if x > 0 {
                push(x - 1, y, &mut outside, &mut queue);
            }
            if x + 1 < w {
                push(x + 1, y, &mut outside, &mut queue);
            }
            if y > 0 {
                push(x, y - 1, &mut outside, &mut queue);
            }
            if y + 1 < h {
                push(x, y + 1, &mut outside, &mut queue);
            }
        }
        Mask {
            data: outside.into_iter().map(|o| !o).collect(),
            ..self.clone()
        }
    }

    /// Runs of subject pixels in row `y`, as half-open `(x0, x1)`.
    fn runs(&self, y: usize) -> Vec<(usize, usize)> {
        let row = &self.data[y * self.width..(y + 1) * self.width];
        let mut out = Vec::new();
        let mut x = 0;
        while x < row.len() {
            if row[x] {
                let x0 = x;
                while x < row.len() && row[x] {
                    x += 1;
                }
                out.push((x0, x));
            } else {
                x += 1;
            }
        }
        out
    }

    /// The lowest row of the subject region 4-connected to `(x, y)`.
    fn lowest_connected_row(&self, x: usize, y: usize) -> Option<usize> {
        if !self.at(x, y) {
            return None;
        }
        let w = self.width;
        let mut seen = vec![false; self.data.len()];
        let mut queue = VecDeque::from([y * w + x]);
        seen[y * w + x] = true;
        let mut lowest = y;
        while let Some(i) = queue.pop_front() {
            let (x, y) = (i % w, i / w);
            lowest = lowest.max(y);
            let mut visit = |j: usize| {
                if self.data[j] && !seen[j] {
                    seen[j] = true;
                    queue.push_back(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < self.height {
                visit(i + w);
            }
        }
        Some(lowest)
    }
}

/// A part of the outline followed down from a local top: per row, the extent of its run(s).
#[derive(Debug, Clone, Default)]
struct Track {
    top: usize,
    rows: BTreeMap<usize, (usize, usize)>,
    /// Started where a run split off another track (no crown of its own).
    split: bool,
}

impl Track {
    fn add(&mut self, y: usize, x0: usize, x1: usize) {
        self.rows
            .entry(y)
            .and_modify(|r| *r = (r.0.min(x0), r.1.max(x1)))
            .or_insert((x0, x1));
    }
}

/// Follows the outline from the top down (see the module documentation).
fn tracks(mask: &Mask) -> Vec<Track> {
    let mut tracks: Vec<Track> = Vec::new();
    let mut prev: Vec<(usize, usize, usize)> = Vec::new();
    for y in 0..mask.height {
        let runs = mask.runs(y);
        // Parent tracks of each run (overlapping runs of the row above), with their widths.
        let parents: Vec<Vec<(usize, usize)>> = runs
            .iter()
            .map(|&(x0, x1)| {
                let mut pt: Vec<(usize, usize)> = Vec::new();
                for &(p0, p1, t) in &prev {
                    if p0 < x1 && x0 < p1 {
                        match pt.iter_mut().find(|(id, _)| *id == t) {
                            Some(e) => e.1 = e.1.max(p1 - p0),
                            None => pt.push((t, p1 - p0)),
                        }
                    }
                }
                pt
            })
            .collect();
        // Where a track splits, its widest child continues it.
        let mut widest_child: HashMap<usize, usize> = HashMap::new();
        for (i, pt) in parents.iter().enumerate() {
            if let [(t, _)] = pt[..] {
                let width = |j: usize| runs[j].1 - runs[j].0;
                let e = widest_child.entry(t).or_insert(i);
                if width(i) > width(*e) {
                    *e = i;
                }
            }
        }
        let mut cur = Vec::with_capacity(runs.len());
        for (i, (&(x0, x1), pt)) in runs.iter().zip(&parents).enumerate() {
            let id = match pt[..] {
                [] => {
                    tracks.push(Track {
                        top: y,
                        ..Track::default()
                    });
                    tracks.len() - 1
                }
                [(t, _)] => {
                    if widest_child.get(&t) == Some(&i) {
                        t
                    } else {
                        tracks.push(Track {
                            top: y,
                            split: true,
                            ..Track::default()
                        });
                        tracks.len() - 1
                    }
                }
                _ => {
                    let &(main, main_w) = pt.iter().max_by_key(|(_, w)| *w).expect("non-empty");
                    let big = pt
                        .iter()
                        .filter(|&&(_, w)| w as f64 > TUFT_FRACTION * main_w as f64)
                        .count();
                    let near_crown =
                        (y - tracks[main].top) as f64 <= TUFT_FRACTION * (x1 - x0) as f64;
                    if big == 1 && near_crown {
                        main
                    } else {
                        // A real merge: the parents end; the merged track starts from their
                        // union (so the whole outline above stays a candidate too).
                        let mut merged = Track {
                            top: pt.iter().map(|&(t, _)| tracks[t].top).min().unwrap_or(y),
                            ..Track::default()
                        };
                        for &(t, _) in pt {
                            for (&yy, &(a0, a1)) in &tracks[t].rows {
                                merged.add(yy, a0, a1);
                            }
                        }
                        tracks.push(merged);
                        tracks.len() - 1
                    }
                }
            };
            tracks[id].add(y, x0, x1);
            cur.push((x0, x1, id));
        }
        prev = cur;
    }
    tracks
}

/// A head model fitted to a track, in mask pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HeadFit {
    /// Row of the crown (negative when above the frame).
    crown: f64,
    breadth: f64,
    centre_x: f64,
    /// Fraction of the rows that agree with the model, 0..1.
    support: f64,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    Some(*v.select_nth_unstable_by(mid, f64::total_cmp).1)
}

/// Fits the head model to a track (see the module documentation). `min_run`: rows narrower
/// than this above the crown are stray hairs.
fn fit_head(track: &Track, min_run: usize) -> Option<HeadFit> {
    let rows: Vec<(f64, f64, f64)> = track
        .rows
        .iter()
        .skip_while(|(_, (x0, x1))| x1 - x0 < min_run)
        .map(|(&y, &(x0, x1))| (y as f64 + 0.5, x0 as f64, x1 as f64))
        .collect();
    let (&(first, ..), widest) = (
        rows.first()?,
        rows.iter().map(|r| r.2 - r.1).fold(0.0, f64::max),
    );
    let top = first - 0.5;
    let clipped = top == 0.0;
    // Every (half-breadth, crown) pair to try, in order.
    let mut candidates: Vec<(f64, f64)> = Vec::new();
    let mut a = (min_run as f64 / 2.0).max(2.0);
    while a <= widest * 0.6 + 1.0 {
        let b = HEAD_RATIO * a;
        if clipped {
            let step = (b / 40.0).max(1.0);
            let n = (b / step).floor() as usize;
            candidates.extend((0..=n).map(|k| (a, top - k as f64 * step)));
        } else {
            candidates.push((a, top));
        }
        a += 0.5;
    }
    // (support, rows of evidence, a, crown, centre) of every fit tried (in parallel; the
    // order is kept).
    let fits: Vec<(f64, usize, f64, f64, f64)> = candidates
        .par_iter()
        .map_init(Vec::new, |centres, &(a, crown)| {
            let b = HEAD_RATIO * a;
            let expected_upper = b - (0.25 * b).max(top - crown);
            centres.clear();
            let (mut upper, mut lower) = (0usize, 0usize);
            for &(y, x0, x1) in &rows {
                let s = (y - crown) / b;
                if (0.25..=1.0).contains(&s) {
                    upper += 1;
                    centres.push(0.5 * (x0 + x1));
                } else if s > 1.0 && s <= 1.5 {
                    lower += 1;
                } else if s > 1.5 {
                    break;
                }
            }
            if (upper as f64) < (0.5 * expected_upper).max(3.0) {
                return None;
            }
            let cx = median(centres).expect("upper rows exist");
            let mut agree = 0.0;
            for &(y, x0, x1) in &rows {
                let s = (y - crown) / b;
                if (0.25..=1.0).contains(&s) {
                    let hw = a * (2.0 * s - s * s).max(0.0).sqrt();
                    let tol = FIT_TOLERANCE * hw;
                    agree += 0.5 * f64::from(u8::from(((cx - x0) - hw).abs() <= tol));
                    agree += 0.5 * f64::from(u8::from(((x1 - cx) - hw).abs() <= tol));
                } else if s > 1.0 && s <= 1.5 {
                    let w = x1 - x0;
                    agree += f64::from(u8::from(w >= a && w <= 2.5 * a));
                } else if s > 1.5 {
                    break;
                }
            }
            let support = agree / (expected_upper + lower as f64);
            Some((support, upper + lower, a, crown, cx))
        })
        .flatten()
        .collect();
    // The best supported fit; among (nearly) equally good ones, the one with the most rows of
    // evidence (for a head cut off by the frame, the crown nearest the frame), then the larger.
    let top = fits.iter().map(|f| f.0).fold(f64::NEG_INFINITY, f64::max);
    let &(support, _, a, crown, cx) = fits
        .iter()
        .filter(|f| f.0 >= top - 0.01)
        .max_by(|x, y| x.1.cmp(&y.1).then(x.2.total_cmp(&y.2)))?;
    // Refine the breadth: the median of the per-side estimates that agree with the fit (each
    // edge point determines the ellipse through it: a = r·x²/(2t) + t/(2r)).
    let b = HEAD_RATIO * a;
    let mut estimates = Vec::new();
    for &(y, x0, x1) in &rows {
        let t = y - crown;
        let s = t / b;
        if !(0.25..=1.0).contains(&s) {
            continue;
        }
        for half in [cx - x0, x1 - cx] {
            let est = HEAD_RATIO * half * half / (2.0 * t) + t / (2.0 * HEAD_RATIO);
            if (est - a).abs() <= FIT_TOLERANCE * a {
                estimates.push(est);
            }
        }
    }
    let a = median(&mut estimates).unwrap_or(a);
    Some(HeadFit {
        crown,
        breadth: 2.0 * a,
        centre_x: cx,
        support: support.min(1.0),
    })
}

/// Widest subject span at shoulder level (2.2–3.5 half head heights below the crown) within
/// two breadths of the head's centre, in head breadths; `None` when that is below the frame.
fn body_ratio(mask: &Mask, fit: &HeadFit) -> Option<f64> {
    let b = HEAD_RATIO * fit.breadth / 2.0;
    let y0 = (fit.crown + 2.2 * b).max(0.0) as usize;
    let y1 = ((fit.crown + 3.5 * b).max(0.0) as usize).min(mask.height.saturating_sub(1));
    if y0 >= mask.height {
        return None;
    }
    let x0 = (fit.centre_x - 2.0 * fit.breadth).max(0.0) as usize;
    let x1 = ((fit.centre_x + 2.0 * fit.breadth).max(0.0) as usize).min(mask.width);
    let widest = (y0..=y1)
        .map(|y| (x0..x1).filter(|&x| mask.at(x, y)).count())
        .max()
        .unwrap_or(0);
    Some(widest as f64 / fit.breadth)
}

/// The figure's height (crown to lowest point, mask pixels) when the whole figure is in the
/// frame and tall enough to be standing.
fn standing_height(mask: &Mask, fit: &HeadFit) -> Option<f64> {
    if fit.crown < 0.5 {
        return None;
    }
    let b = HEAD_RATIO * fit.breadth / 2.0;
    let y = ((fit.crown + b) as usize).min(mask.height - 1);
    let x = (fit.centre_x as usize).min(mask.width - 1);
    let lowest = mask.lowest_connected_row(x, y)?;
    // Feet in the frame: the figure ends clearly above the bottom edge.
    let margin = (mask.height / 100).max(1);
    if lowest + 1 + margin >= mask.height {
        return None;
    }
    let height = (lowest + 1) as f64 - fit.crown;
    (height >= STANDING_HEAD_HEIGHTS * HEAD_RATIO * fit.breadth).then_some(height)
}

/// The head found in a matte, in the matte's (full-resolution) pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadEstimate {
    /// Breadth of the head's outline (hair included).
    pub breadth_px: f64,
    /// Row of the crown (negative when the head is cut off by the top of the frame).
    pub crown_row: f64,
    pub centre_x: f64,
    /// Fraction of the outline that agrees with the head model, 0..1.
    pub support: f64,
    /// Crown-to-feet height when the whole standing figure is in the frame.
    pub standing_height_px: Option<f64>,
}

/// Finds the subject's head in `matte` (see the module documentation); `None` when nothing in
/// the matte looks like a head.
pub fn find_head(matte: &Plane) -> Option<HeadEstimate> {
    let heads = find_heads(matte);
    let top = heads
        .iter()
        .map(|f| f.support)
        .fold(f64::NEG_INFINITY, f64::max);
    heads
        .into_iter()
        .filter(|f| f.support >= top - SUPPORT_TIE)
        .max_by(|a, b| a.breadth_px.total_cmp(&b.breadth_px))
}

/// Every head in `matte` that [`find_head`] chooses from: those with a body below them, or
/// when none has, those whose body cannot be checked.
pub fn find_heads(matte: &Plane) -> Vec<HeadEstimate> {
    if matte.width() == 0 || matte.height() == 0 {
        return Vec::new();
    }
    let mask = Mask::from_matte(matte, ANALYSIS_LONG_SIDE);
    let long = mask.width.max(mask.height);
    let radius = (long as f64 * CLOSE_FRACTION).round().max(1.0) as usize;
    let mask = mask.opened(OPEN_RADIUS).closed(radius).holes_filled();
    let min_run = (mask.width / 100).max(2);
    let min_breadth = MIN_HEAD_FRACTION * long as f64;
    let mut verified = Vec::new();
    let mut unverified = Vec::new();
    for track in tracks(&mask) {
        if track.split || track.rows.len() < 3 {
            continue;
        }
        let widest = track.rows.values().map(|r| r.1 - r.0).max().unwrap_or(0);
        if (widest as f64) < 0.8 * min_breadth {
            continue;
        }
        let Some(fit) = fit_head(&track, min_run) else {
            continue;
        };
        if fit.breadth < min_breadth || fit.support < MIN_SUPPORT {
            continue;
        }
        match body_ratio(&mask, &fit) {
            Some(r) if r >= MIN_BODY_RATIO => verified.push(fit),
            Some(_) => {} // a hand or an object: no body below it
            None => unverified.push(fit),
        }
    }
    let pool = if verified.is_empty() {
        unverified
    } else {
        verified
    };
    let s = mask.scale as f64;
    pool.into_iter()
        .map(|head| HeadEstimate {
            breadth_px: head.breadth * s,
            crown_row: head.crown * s,
            centre_x: head.centre_x * s,
            support: head.support,
            standing_height_px: standing_height(&mask, &head).map(|h| h * s),
        })
        .collect()
}

/// Thin lens: the distance (metres) at which an object `real_m` tall or wide images to
/// `size_px` pixels of an image whose long side (the sensor's width) is `image_width_px`.
fn distance_for(real_m: f64, size_px: f64, image_width_px: usize, lens: &Lens) -> f64 {
    let size_on_sensor_mm = size_px * lens.sensor.width_mm() / image_width_px as f64;
    // Object distance = f · (1 + 1/M), M = size on sensor / real size.
    lens.focal_length_mm * (1.0 + real_m * 1000.0 / size_on_sensor_mm) / 1000.0
}

/// Estimates the subject's distance (metres) from the head's size in the matte (or the standing
/// figure's height), the focal length and the sensor width (see the module docs for the
/// assumptions). `None` when the matte holds no recognisable head.
pub fn estimate_subject_distance_m(matte: &Plane, lens: &Lens) -> Option<f64> {
    let head = find_head(matte)?;
    let real_breadth = HEAD_BREADTH_M * MATTE_BREADTH_ALLOWANCE;
    let from_head = distance_for(
        real_breadth,
        head.breadth_px,
        matte.width().max(matte.height()),
        lens,
    );
    // The standing figure is the larger, steadier measurement; trust it unless it contradicts
    // the head by more than a factor two (then something else is in the figure's outline).
    let distance_m = match head.standing_height_px {
        Some(h) => {
            let from_stature = distance_for(STATURE_M, h, matte.width().max(matte.height()), lens);
            if (0.5..=2.0).contains(&(from_stature / from_head)) {
                from_stature
            } else {
                from_head
            }
        }
        None => from_head,
    };
    distance_m
        .is_finite()
        .then(|| distance_m.clamp(DISTANCE_RANGE_M.0, DISTANCE_RANGE_M.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A canvas of subject shapes.
    struct Canvas(Plane);

    impl Canvas {
        fn new(w: usize, h: usize) -> Canvas {
            Canvas(Plane::filled(w, h, 0.0))
        }

        fn fill(&mut self, inside: impl Fn(f64, f64) -> bool) -> &mut Canvas {
            let w = self.0.width();
            for (i, v) in self.0.data_mut().iter_mut().enumerate() {
                let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
                if inside(x, y) {
                    *v = 1.0;
                }
            }
            self
        }

        /// A person: an elliptic head `breadth` px wide and 23/15.5 as tall with its crown at
        /// row `crown` and centre column `cx`, a neck and shoulders 3.2 breadths wide below.
        fn person(&mut self, cx: f64, crown: f64, breadth: f64) -> &mut Canvas {
            let head_h = breadth * HEAD_RATIO;
            let cy = crown + head_h / 2.0;
            self.fill(|x, y| {
                let (dx, dy) = ((x - cx) / (breadth / 2.0), (y - cy) / (head_h / 2.0));
                let head = dx * dx + dy * dy <= 1.0;
                let neck = y > cy && y < crown + head_h * 1.2 && (x - cx).abs() < breadth * 0.3;
                let shoulders = y >= crown + head_h * 1.2 && (x - cx).abs() < breadth * 1.6;
                head || neck || shoulders
            })
        }

        fn ellipse(&mut self, cx: f64, cy: f64, rx: f64, ry: f64) -> &mut Canvas {
            self.fill(|x, y| ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0)
        }

        fn rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64) -> &mut Canvas {
            self.fill(|x, y| x >= x0 && x < x1 && y >= y0 && y < y1)
        }

        fn plane(&self) -> Plane {
            self.0.clone()
        }
    }

    fn breadth(m: &Plane) -> f64 {
        find_head(m).expect("a head").breadth_px
    }

    #[test]
    fn measures_the_head_not_the_shoulders() {
        let m = Canvas::new(600, 400).person(300.0, 30.0, 120.0).plane();
        let head = find_head(&m).unwrap();
        assert!((head.breadth_px - 120.0).abs() <= 4.0, "{head:?}");
        assert!((head.crown_row - 30.0).abs() <= 2.0, "{head:?}");
        assert!((head.centre_x - 300.0).abs() <= 2.0, "{head:?}");
        assert_eq!(head.standing_height_px, None);
    }

    #[test]
    fn raised_hands_are_not_the_head() {
        let mut c = Canvas::new(600, 500);
        c.person(300.0, 150.0, 100.0);
        // Two raised arms reaching above the head, off the body's axis, with hands on top.
        c.rect(120.0, 40.0, 140.0, 330.0)
            .rect(460.0, 40.0, 480.0, 330.0);
        c.ellipse(130.0, 40.0, 22.0, 30.0)
            .ellipse(470.0, 40.0, 22.0, 30.0);
        let head = find_head(&c.plane()).unwrap();
        assert!((head.breadth_px - 100.0).abs() <= 4.0, "{head:?}");
        assert!((head.crown_row - 150.0).abs() <= 2.0, "{head:?}");
    }

    #[test]
    fn a_hand_touching_the_side_of_the_head_does_not_widen_it() {
        // The bokehme_21 failure: a hand raised beside the face, touching the head from eye
        // level down, its forearm joining the shoulders. The old row-width scan read the head
        // plus the hand (≈ 1.6× too wide, focus 0.89 m instead of ≈ 2 m).
        let (cx, crown, b) = (250.0, 40.0, 80.0);
        let mut c = Canvas::new(500, 400);
        c.person(cx, crown, b);
        let cy = crown + b * HEAD_RATIO / 2.0;
        let hx = cx + 0.78 * b;
        c.ellipse(hx, cy + 0.5 * b, 0.3 * b, 0.6 * b).rect(
            hx - 0.2 * b,
            cy + 0.5 * b,
            hx + 0.2 * b,
            400.0,
        );
        let m = c.plane();
        assert!((breadth(&m) - b).abs() <= 3.0, "{}", breadth(&m));
    }

    #[test]
    fn two_people_side_by_side_are_two_heads() {
        // Shoulders touching: one outline below the heads. Each head is 70 px wide; the pair
        // must not read as one 190 px "head".
        let mut c = Canvas::new(500, 400);
        c.person(190.0, 60.0, 70.0).person(310.0, 60.0, 70.0);
        let head = find_head(&c.plane()).unwrap();
        assert!((head.breadth_px - 70.0).abs() <= 3.0, "{head:?}");
        // Different sizes: the nearer (larger) one wins.
        let mut c = Canvas::new(500, 400);
        c.person(180.0, 60.0, 80.0).person(320.0, 70.0, 64.0);
        assert!((breadth(&c.plane()) - 80.0).abs() <= 3.0);
    }

    #[test]
    fn a_wide_brimmed_hat_is_not_the_head() {
        let (cx, crown, b) = (250.0, 90.0, 80.0);
        let head_h = b * HEAD_RATIO;
        let mut c = Canvas::new(500, 400);
        c.person(cx, crown, b);
        // Brim twice the head's breadth, thin, at a fifth of the head's height; the hat's
        // crown above it a little wider than the head.
        let brim_y = crown + 0.22 * head_h;
        c.rect(
            cx - b,
            brim_y - 0.03 * head_h,
            cx + b,
            brim_y + 0.03 * head_h,
        );
        c.rect(cx - 0.55 * b, brim_y - 0.4 * head_h, cx + 0.55 * b, brim_y);
        let got = breadth(&c.plane());
        assert!((got - b).abs() <= 0.12 * b, "{got}");
    }

    #[test]
    fn curls_and_a_bun_are_part_of_the_head() {
        let (cx, crown, b) = (250.0, 60.0, 90.0);
        let mut c = Canvas::new(500, 400);
        c.person(cx, crown, b);
        // A bun and two curls sticking out at the top.
        c.ellipse(cx, crown, 14.0, 12.0)
            .ellipse(cx - 30.0, crown + 6.0, 6.0, 8.0)
            .ellipse(cx + 28.0, crown + 5.0, 5.0, 9.0);
        let got = breadth(&c.plane());
        assert!((got - b).abs() <= 0.1 * b, "{got}");
    }

    #[test]
    fn a_head_cut_off_by_the_top_of_the_frame_is_measured() {
        // The crown is 40 px above the frame.
        let m = Canvas::new(500, 300).person(250.0, -40.0, 120.0).plane();
        let head = find_head(&m).unwrap();
        assert!((head.breadth_px - 120.0).abs() <= 0.1 * 120.0, "{head:?}");
        assert!(head.crown_row < 0.0, "{head:?}");
    }

    #[test]
    fn works_at_any_resolution() {
        // A 3000 px wide matte is analysed at 512 px: same answer within a pixel of the mask.
        let small = Canvas::new(600, 400).person(300.0, 30.0, 120.0).plane();
        let big = Canvas::new(3000, 2000).person(1500.0, 150.0, 600.0).plane();
        let (s, l) = (breadth(&small), breadth(&big));
        assert!((l / s - 5.0).abs() < 0.15, "{s} {l}");
    }

    #[test]
    fn a_standing_figure_uses_its_height() {
        // Head 40 px, figure 7.5 head heights tall, feet above the bottom edge.
        let (cx, crown, b) = (200.0, 20.0, 40.0);
        let head_h = b * HEAD_RATIO;
        let feet = crown + 7.5 * head_h;
        let mut c = Canvas::new(400, 500);
        c.ellipse(cx, crown + head_h / 2.0, b / 2.0, head_h / 2.0)
            .rect(
                cx - 0.3 * b,
                crown + head_h * 0.9,
                cx + 0.3 * b,
                crown + head_h * 1.2,
            )
            .rect(
                cx - 1.2 * b,
                crown + head_h * 1.2,
                cx + 1.2 * b,
                crown + head_h * 4.0,
            )
            .rect(cx - 0.8 * b, crown + head_h * 4.0, cx + 0.8 * b, feet);
        let m = c.plane();
        let head = find_head(&m).unwrap();
        let h = head.standing_height_px.expect("standing");
        assert!((h - (feet - crown)).abs() <= 3.0, "{head:?}");
        let lens = Lens::default();
        let d = estimate_subject_distance_m(&m, &lens).unwrap();
        let expected = distance_for(STATURE_M, feet - crown, m.width().max(m.height()), &lens);
        assert!((d - expected).abs() / expected < 0.02, "{d} {expected}");
        // Cut at the knees (touching the bottom edge): the head decides.
        let cut = Plane::from_vec(400, 300, m.data()[..400 * 300].to_vec());
        assert_eq!(find_head(&cut).unwrap().standing_height_px, None);
    }

    #[test]
    fn distance_follows_the_thin_lens_and_scales_with_focal_length() {
        // Head a fifth of a full-frame photo's width at 85 mm: 0.17 m / 7.2 mm · 85 mm ≈ 2.1 m.
        let m = Canvas::new(1000, 700).person(500.0, 60.0, 200.0).plane();
        let lens = Lens::default();
        let d = estimate_subject_distance_m(&m, &lens).unwrap();
        let expected = 0.085 * (1.0 + 170.5 / (200.0 * 36.0 / 1000.0));
        assert!((d - expected).abs() / expected < 0.03, "{d} vs {expected}");
        assert!((1.5..2.5).contains(&d), "{d}");
        let tele = Lens {
            focal_length_mm: 135.0,
            ..lens
        };
        let d135 = estimate_subject_distance_m(&m, &tele).unwrap();
        assert!((d135 / d - 135.0 / 85.0).abs() < 0.05, "{d135} {d}");
        let crop = Lens {
            sensor: crate::optics::Sensor::ApsC,
            ..lens
        };
        assert!(estimate_subject_distance_m(&m, &crop).unwrap() > d);
    }

    #[test]
    fn no_head_is_none_and_extremes_are_clamped() {
        let lens = Lens::default();
        assert_eq!(
            estimate_subject_distance_m(&Plane::filled(100, 80, 0.0), &lens),
            None
        );
        assert_eq!(
            estimate_subject_distance_m(&Plane::filled(0, 0, 0.0), &lens),
            None
        );
        // A head filling the frame of a 50 mm: very close, clamped to the nearest distance.
        let close = Canvas::new(400, 300).person(200.0, 10.0, 380.0).plane();
        let normal = Lens {
            focal_length_mm: 50.0,
            ..lens
        };
        assert_eq!(
            estimate_subject_distance_m(&close, &normal),
            Some(DISTANCE_RANGE_M.0)
        );
        // A small head through a 200 mm: far away, clamped to the farthest.
        let small = Canvas::new(4000, 600).person(2000.0, 100.0, 120.0).plane();
        let tele = Lens {
            focal_length_mm: 200.0,
            ..lens
        };
        assert_eq!(
            estimate_subject_distance_m(&small, &tele),
            Some(DISTANCE_RANGE_M.1)
        );
        // Heads too small to measure (under 2.5 % of the long side) are not guessed at.
        let tiny = Canvas::new(4000, 400).person(2000.0, 100.0, 45.0).plane();
        assert_eq!(find_head(&tiny), None);
        // A thin vertical bar (a pole, an arm) is no head.
        let bar = Canvas::new(400, 300)
            .rect(190.0, 20.0, 210.0, 300.0)
            .plane();
        assert_eq!(find_head(&bar), None);
    }
}
