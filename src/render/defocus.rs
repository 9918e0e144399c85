//! The fast scatter kernel: every source pixel spreads `(colour·w, w)` uniformly over its
//! aperture shape, one horizontal span per pixel row, written as four updates of a per-row
//! difference buffer and recovered by a prefix sum — O(diameter) per source pixel, not
//! O(diameter²).
//!
//! Work is split into strips of destination rows, one thread each. A strip visits every source
//! row within reach once, top to bottom, scattering into a ring of `2·reach + 1` difference-
//! buffer lines (`f64`); a destination row is finished (prefix sum) as soon as no later source
//! row can reach it, and its line is reused. Each destination row receives its sums in the
//! same order (source rows ascending, then pixels ascending) whatever the strip size, so the
//! output is bit-identical for any number of threads.
//!
//! Borders reflect: light that would fall outside the image is mirrored back in (a span is
//! folded at the edges, rows are reflected), so each source pixel's weights sum to exactly 1
//! inside the image and the borders neither darken nor lose coverage.

use rayon::prelude::*;

use super::aperture::{SpanRow, SpanTable, SpanTables};

/// A source pixel: `[r·w, g·w, b·w, w, d, dx, dy, _]` — premultiplied colour, weight, diameter
/// (pixels of its level), and the offset of its light's centroid from the pixel centre (in
/// pixels of its level, within ±½; 0 at full resolution). The last slot is scratch.
pub(crate) type SrcPx = [f32; 8];

/// Strips are at least this many destination rows.
const MIN_STRIP_ROWS: usize = 32;
/// Strips per thread (load balance: rows differ in cost).
const STRIPS_PER_THREAD: usize = 6;

/// Destination rows per strip for an image `height` rows tall whose sources reach at most
/// `max_reach` rows: a few strips per thread, but at least `4·max_reach` rows (a strip reads
/// `2·max_reach` source rows beyond its own). The output does not depend on it.
pub(crate) fn strip_rows(height: usize, max_reach: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    height
        .div_ceil(STRIPS_PER_THREAD * threads)
        .max(4 * max_reach)
        .max(MIN_STRIP_ROWS)
}

/// One step of a strip's rolling scatter (see [`roll`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Scatter source row `ys` into destination rows `window.0..window.1`.
    Splat { ys: usize, window: (usize, usize) },
    /// Destination row `y` has all its contributions: finish it, then clear its line.
    Finish(usize),
}

/// The schedule of a rolling scatter of destination rows `s0..s1` of an image `height` rows
/// tall, whose source row `ys` reaches `reach[ys]` rows (−1: scatters nothing) and at most
/// `max_reach`: source rows in order, each once, with every destination row finished as soon
/// as no later source row can reach it.
pub(crate) fn roll(
    height: usize,
    (s0, s1): (usize, usize),
    reach: &[i32],
    max_reach: usize,
    mut step: impl FnMut(Step),
) {
    let mut next = s0;
    #[allow(clippy::needless_range_loop)]
    for ys in s0.saturating_sub(max_reach)..(s1 + max_reach).min(height) {
        if touches(s0, s1, ys, reach[ys], height) {
            let window = (
                s0.max(ys.saturating_sub(max_reach)),
                s1.min(ys + max_reach + 1),
            );
            step(Step::Splat { ys, window });
        }
        while next < s1 && next + max_reach <= ys {
            step(Step::Finish(next));
            next += 1;
        }
    }
    for y in next..s1 {
        step(Step::Finish(y));
    }
}

/// The difference-buffer lines of the destination rows a strip is working on: a ring of
/// `2·max_reach + 1` lines of `width + 2` entries (two guard columns), destination row `y` at
/// line `y mod len`.
#[derive(Default)]
pub(crate) struct Ring {
    stride: usize,
    len: usize,
    diff: Vec<[f64; 4]>,
    /// Per line: something was deposited since it was last cleared.
    dirty: Vec<bool>,
    /// Per line: the entries `lo..hi` deposits have touched since it was last cleared (all
    /// others are zero), so the prefix sum and the clearing skip the rest of the line.
    touched: Vec<(usize, usize)>,
}

/// A [`Ring::touched`] range that covers nothing.
const UNTOUCHED: (usize, usize) = (usize::MAX, 0);

impl Ring {
    /// Makes the ring hold rows of an image `width` wide for sources reaching `max_reach` rows,
    /// all lines clear.
    pub(crate) fn reset(&mut self, width: usize, max_reach: usize) {
        let (stride, len) = (width + 2, 2 * max_reach + 1);
        if (stride, len) != (self.stride, self.len) {
            self.stride = stride;
            self.len = len;
            self.diff.clear();
            self.diff.resize(stride * len, [0.0; 4]);
            self.dirty.clear();
            self.dirty.resize(len, false);
            self.touched.clear();
            self.touched.resize(len, UNTOUCHED);
        } else {
            for y in 0..len {
                self.clear(y);
            }
        }
    }

    #[inline]
    fn start(&self, y: usize) -> usize {
        (y % self.len) * self.stride
    }

    /// The difference line of destination row `y`; `None` when nothing landed on it.
    #[cfg(test)]
    pub(crate) fn line(&self, y: usize) -> Option<&[[f64; 4]]> {
        self.dirty[y % self.len].then(|| {
            let start = self.start(y);
            &self.diff[start..start + self.stride]
        })
    }

    /// Clears the line of destination row `y` for reuse.
    #[inline]
    pub(crate) fn clear(&mut self, y: usize) {
        let k = y % self.len;
        if self.dirty[k] {
            let start = self.start(y);
            let (lo, hi) = std::mem::replace(&mut self.touched[k], UNTOUCHED);
            self.diff[start + lo.min(hi)..start + hi].fill([0.0; 4]);
            self.dirty[k] = false;
        }
    }

    /// Whether anything landed on destination row `y`.
    #[inline]
    pub(crate) fn is_dirty(&self, y: usize) -> bool {
        self.dirty[y % self.len]
    }

    /// Writes the prefix sum of destination row `y`'s line into `out` ([`prefix_sum`] of
    /// [`Ring::line`], bit for bit): zero before the touched entries, their running sum, then
    /// that sum repeated (adding the untouched zeros changes nothing; the running sum is never
    /// −0).
    pub(crate) fn prefix_sum(&self, y: usize, out: &mut [[f32; 4]]) {
        let k = y % self.len;
        let (lo, hi) = self.touched[k];
        if !self.dirty[k] || lo >= hi {
            out.fill([0.0; 4]);
            return;
        }
        let start = self.start(y);
        let n = out.len();
        let (lo, hi) = (lo.min(n), hi.min(n));
        out[..lo].fill([0.0; 4]);
        let mut acc = [0.0f64; 4];
        for (o, dv) in out[lo..hi]
            .iter_mut()
            .zip(&self.diff[start + lo..start + hi])
        {
            for c in 0..4 {
                acc[c] += dv[c];
            }
            *o = acc.map(|v| v as f32);
        }
        out[hi..].fill(acc.map(|v| v as f32));
    }

    #[inline]
    fn line_mut(&mut self, y: usize) -> &mut [[f64; 4]] {
        self.dirty[y % self.len] = true;
        let start = self.start(y);
        &mut self.diff[start..start + self.stride]
    }

    /// Records that deposits touched entries `lo..hi` of destination row `y`'s line.
    #[inline]
    fn touch(&mut self, y: usize, (lo, hi): (usize, usize)) {
        let t = &mut self.touched[y % self.len];
        t.0 = t.0.min(lo);
        t.1 = t.1.max(hi);
    }

    /// Scatters the pixels `(x, [r·w, g·w, b·w, w, d, dx, dy, _])` of source row `ys` into the
    /// destination rows `window.0..window.1`. Pixels with a diameter below one pixel are
    /// skipped: they land on their own pixel, which the caller adds.
    pub(crate) fn splat_row<'s>(
        &mut self,
        src: impl IntoIterator<Item = (usize, &'s SrcPx)>,
        ys: usize,
        height: usize,
        (b0, b1): (usize, usize),
        tables: &SpanTables,
    ) {
        let width = self.stride - 2;
        let (b0, b1) = (b0 as i64, b1 as i64);
        let ys_i = ys as i64;
        let h = height as i64;
        for (x, p) in src {
            let scatters = p[3] > 0.0 && p[4] >= 1.0;
            if !scatters {
                continue;
            }
            let t = tables.get_at(p[4], p[6], (x, ys), (width, height));
            let reach = i64::from(t.reach);
            if ys_i + reach < b0 || ys_i - reach >= b1 {
                continue;
            }
            let v = [
                f64::from(p[0]),
                f64::from(p[1]),
                f64::from(p[2]),
                f64::from(p[3]),
            ];
            let at = Splat {
                x,
                ys: ys_i,
                height: h,
                window: (b0, b1),
                dx: p[5],
                width,
            };
            match &t.chroma {
                None => self.splat_profiled(t, v, &at),
                Some((small, channels)) => {
                    // Chromatic aberration: the larger disc carries its channels and the
                    // weight, the smaller one the rest.
                    let pick = |on: bool| {
                        std::array::from_fn(|c| if channels[c] == on { v[c] } else { 0.0 })
                    };
                    self.splat_profiled(t, pick(true), &at);
                    self.splat_profiled(small, pick(false), &at);
                }
            }
        }
    }

    /// Scatters one source pixel's `v` through table `t` and its nested inner disc, if any.
    #[inline(always)]
    fn splat_profiled(&mut self, t: &SpanTable, v: [f64; 4], at: &Splat) {
        self.splat_table(t, v, at);
        if let Some(inner) = &t.inner {
            self.splat_table(inner, v, at);
        }
    }

    /// Scatters one source pixel's `v` through the rows of table `t`.
    #[inline(always)]
    fn splat_table(&mut self, t: &SpanTable, v: [f64; 4], at: &Splat) {
        let Splat {
            x,
            ys: ys_i,
            height: h,
            window: (b0, b1),
            dx,
            width,
        } = *at;
        let reach = i64::from(t.reach);
        let rho = f64::from(t.rho);
        let k_lo = i64::from(t.k_lo);
        if ys_i - reach >= 0 && ys_i + reach < h {
            // No reflection: the rows in the window are one contiguous run of the table.
            let first = (b0 - ys_i).max(k_lo);
            let last = (b1 - 1 - ys_i).min(k_lo + t.rows.len() as i64 - 1);
            for k in first..=last {
                let row = &t.rows[(k - k_lo) as usize];
                let yd = (ys_i + k) as usize;
                let line = self.line_mut(yd);
                let touched = deposit(line, x, dx, row, v, rho, width);
                self.touch(yd, touched);
            }
        } else {
            for (idx, row) in t.rows.iter().enumerate() {
                let yd = reflect(ys_i + k_lo + idx as i64, h);
                if yd < b0 || yd >= b1 {
                    continue;
                }
                let line = self.line_mut(yd as usize);
                let touched = deposit(line, x, dx, row, v, rho, width);
                self.touch(yd as usize, touched);
            }
        }
    }
}

/// Where one source pixel scatters (see [`Ring::splat_row`]).
#[derive(Clone, Copy)]
struct Splat {
    x: usize,
    ys: i64,
    height: i64,
    /// Destination rows `window.0..window.1`.
    window: (i64, i64),
    /// Centroid offset of its light.
    dx: f32,
    width: usize,
}

/// Writes the prefix sum of a difference line (`None`: all zero) into `out`, as `f32`.
#[cfg(test)]
pub(crate) fn prefix_sum(line: Option<&[[f64; 4]]>, out: &mut [[f32; 4]]) {
    let Some(line) = line else {
        out.fill([0.0; 4]);
        return;
    };
    let mut acc = [0.0f64; 4];
    for (o, dv) in out.iter_mut().zip(line) {
        for c in 0..4 {
            acc[c] += dv[c];
        }
        *o = acc.map(|v| v as f32);
    }
}

/// True when source row `ys` with reach `reach` touches destination rows `b0..b1` (reflected
/// rows stay within `ys ± reach` clipped to the image, so the plain interval test suffices).
#[inline]
pub(crate) fn touches(b0: usize, b1: usize, ys: usize, reach: i32, height: usize) -> bool {
    if reach < 0 {
        return false;
    }
    let reach = reach as usize;
    let lo = ys.saturating_sub(reach);
    let hi = (ys + reach).min(height - 1);
    lo < b1 && hi >= b0
}

/// Mirror index `i` into `0..n` (pixel-symmetric reflection, any distance).
#[inline]
pub(crate) fn reflect(i: i64, n: i64) -> i64 {
    if (0..n).contains(&i) {
        return i;
    }
    let m = i.rem_euclid(2 * n);
    if m < n { m } else { 2 * n - 1 - m }
}

/// Adds one span of source pixel `x` (centroid offset `dx`) to a difference-buffer row
/// (`width + 2` entries). Returns the entries `lo..hi` it may have touched.
#[inline]
pub(crate) fn deposit(
    line: &mut [[f64; 4]],
    x: usize,
    dx: f32,
    row: &SpanRow,
    v: [f64; 4],
    rho: f64,
    width: usize,
) -> (usize, usize) {
    if dx != 0.0 {
        // (Through u32: u64 ↔ float conversions cost several instructions on x86-64.)
        let x = f64::from(x as u32) + f64::from(dx);
        let (s, e) = (x + f64::from(row.s), x + f64::from(row.e));
        return if s >= 0.0 && e < f64::from(width as u32) {
            deposit_exact(line, s, e, rho, v, width)
        } else {
            deposit_folded(line, s, e, rho, v, width);
            (0, width + 2)
        };
    }
    let a = x as i64 + i64::from(row.i0);
    let b = x as i64 + i64::from(row.i1);
    if a >= 0 && b < width as i64 {
        let (a, b) = (a as usize, b as usize);
        let c = row.c.map(f64::from);
        for (idx, coef) in [(a, c[0]), (a + 1, c[1]), (b, c[2]), (b + 1, c[3])] {
            let e = &mut line[idx];
            for ch in 0..4 {
                e[ch] += v[ch] * coef;
            }
        }
        (a, b + 2)
    } else {
        let x = f64::from(x as u32);
        deposit_folded(
            line,
            x + f64::from(row.s),
            x + f64::from(row.e),
            rho,
            v,
            width,
        );
        (0, width + 2)
    }
}

/// Adds the span `[s, e)` (weight `rho` per unit length) folded into `[0, width)` by mirroring.
fn deposit_folded(line: &mut [[f64; 4]], s: f64, e: f64, rho: f64, v: [f64; 4], width: usize) {
    let wf = width as f64;
    let mut p = (s / wf).floor();
    loop {
        let lo = s.max(p * wf);
        let hi = e.min((p + 1.0) * wf);
        if hi > lo {
            let (a, b) = if (p as i64).rem_euclid(2) == 0 {
                (lo - p * wf, hi - p * wf)
            } else {
                ((p + 1.0) * wf - hi, (p + 1.0) * wf - lo)
            };
            deposit_exact(line, a, b, rho, v, width);
        }
        if (p + 1.0) * wf >= e {
            break;
        }
        p += 1.0;
    }
}

/// Adds the span `[a, b)` with `0 ≤ a < b ≤ width`; returns the entries `lo..hi` it touched.
#[inline]
fn deposit_exact(
    line: &mut [[f64; 4]],
    a: f64,
    b: f64,
    rho: f64,
    v: [f64; 4],
    width: usize,
) -> (usize, usize) {
    let wf = f64::from(width as u32);
    let a = a.clamp(0.0, wf);
    let b = b.clamp(a, wf);
    // Non-negative, so truncation is floor (and avoids a libm call); through i32, which
    // converts in one instruction.
    let (i0, i1) = (a as i32, b as i32);
    let (f0, f1) = (a - f64::from(i0), b - f64::from(i1));
    let (i0, i1) = (i0 as usize, i1 as usize);
    for (idx, coef) in [
        (i0, rho * (1.0 - f0)),
        (i0 + 1, rho * f0),
        (i1, rho * (f1 - 1.0)),
        (i1 + 1, -rho * f1),
    ] {
        let e = &mut line[idx];
        for ch in 0..4 {
            e[ch] += v[ch] * coef;
        }
    }
    (i0, i1 + 2)
}

/// Per row of a stored source, the largest reach of its pixels that scatter (−1: none).
pub(crate) fn row_reach(src: &[SrcPx], width: usize, tables: &SpanTables) -> Vec<i32> {
    src.par_chunks(width)
        .map(|row| {
            row.iter()
                .filter(|p| p[3] > 0.0 && p[4] >= 1.0)
                .map(|p| tables.get(p[4], p[6]).reach)
                .max()
                .unwrap_or(-1)
        })
        .collect()
}

/// Scatters a stored slice source (`width × height`) into raw sums `[r·w, g·w, b·w, w]`.
#[cfg(test)]
pub(crate) fn scatter(
    src: &[SrcPx],
    width: usize,
    height: usize,
    tables: &SpanTables,
) -> Vec<[f32; 4]> {
    let mut out = vec![[0.0f32; 4]; width * height];
    scatter_rows(src, width, height, tables, &mut out, |_, sums, row| {
        row.copy_from_slice(sums);
    });
    out
}

/// Scatters a stored slice source (`width × height`) and hands each destination row's raw
/// sums `[r·w, g·w, b·w, w]` to `finish(y, sums, out_row)`, which writes row `y` of `out`
/// (`width` items per row). No full-size buffer of sums is allocated.
pub(crate) fn scatter_rows<T: Send>(
    src: &[SrcPx],
    width: usize,
    height: usize,
    tables: &SpanTables,
    out: &mut [T],
    finish: impl Fn(usize, &[[f32; 4]], &mut [T]) + Sync,
) {
    let reach = row_reach(src, width, tables);
    let max_reach = reach.iter().copied().max().unwrap_or(-1).max(0) as usize;
    let strip = strip_rows(height, max_reach);
    out.par_chunks_mut(strip * width).enumerate().for_each_init(
        || (Ring::default(), Vec::new()),
        |(ring, sums), (si, chunk)| {
            let s0 = si * strip;
            let s1 = (s0 + strip).min(height);
            ring.reset(width, max_reach);
            sums.resize(width, [0.0f32; 4]);
            roll(height, (s0, s1), &reach, max_reach, |step| match step {
                Step::Splat { ys, window } => {
                    let row = &src[ys * width..(ys + 1) * width];
                    ring.splat_row(row.iter().enumerate(), ys, height, window, tables);
                }
                Step::Finish(y) => {
                    ring.prefix_sum(y, sums);
                    // Pixels blurred by less than a pixel stay on their own pixel.
                    for (px, p) in sums.iter_mut().zip(&src[y * width..(y + 1) * width]) {
                        if p[3] > 0.0 && p[4] < 1.0 {
                            for c in 0..4 {
                                px[c] += p[c];
                            }
                        }
                    }
                    ring.clear(y);
                    let o = (y - s0) * width;
                    finish(y, sums, &mut chunk[o..o + width]);
                }
            });
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optics::ApertureShape;
    use crate::render::aperture::UnitShape;

    fn tables() -> SpanTables {
        SpanTables::new(&UnitShape::new(&ApertureShape::default()), 17.0)
    }

    #[test]
    fn roll_visits_each_source_row_once_and_finishes_rows_only_when_complete() {
        let h = 23;
        let reach: Vec<i32> = (0..h).map(|y| [-1, 0, 3, 1, 5][y % 5]).collect();
        let max_reach = 5;
        for (s0, s1) in [(0, h), (0, 7), (7, 16), (16, h), (11, 12)] {
            let mut splats = Vec::new();
            let mut finished = Vec::new();
            roll(h, (s0, s1), &reach, max_reach, |step| match step {
                Step::Splat { ys, window } => {
                    // Every row it can reach is in the window and not finished yet.
                    let (lo, hi) = (
                        ys.saturating_sub(reach[ys] as usize),
                        ys + reach[ys] as usize,
                    );
                    for y in lo.max(s0)..=hi.min(s1 - 1) {
                        assert!(
                            window.0 <= y && y < window.1,
                            "{ys}: {y} outside {window:?}"
                        );
                        assert!(!finished.contains(&y), "{ys} reaches finished row {y}");
                    }
                    assert!(window.1 - window.0 <= 2 * max_reach + 1);
                    splats.push(ys);
                }
                Step::Finish(y) => finished.push(y),
            });
            assert_eq!(finished, (s0..s1).collect::<Vec<_>>());
            let want: Vec<usize> = (0..h)
                .filter(|&ys| touches(s0, s1, ys, reach[ys], h))
                .collect();
            assert_eq!(splats, want, "strip {s0}..{s1}");
        }
    }

    /// The ring's prefix sum over the touched entries is the full line's, bit for bit, and a
    /// cleared line is all zero again: spans inside the row, folded at both borders, with and
    /// without a centroid offset, and lines nothing landed on.
    #[test]
    fn ring_prefix_sums_skip_untouched_entries_exactly() {
        let t = tables();
        let (w, h) = (61, 9);
        let mut ring = Ring::default();
        ring.reset(w, h);
        let src: Vec<(usize, SrcPx)> = [
            (30, 9.0, 0.0),
            (2, 5.5, 0.3),
            (58, 13.0, -0.2),
            (40, 1.5, 0.0),
        ]
        .iter()
        .map(|&(x, d, dx)| (x, [0.3, 0.7, 0.1, 1.0, d, dx, 0.0, 0.0]))
        .collect();
        for (i, p) in src.iter().enumerate() {
            ring.splat_row([(p.0, &p.1)], 2 * i, h, (0, h), &t);
        }
        let mut got = vec![[0.0f32; 4]; w];
        let mut want = vec![[0.0f32; 4]; w];
        for y in 0..h {
            ring.prefix_sum(y, &mut got);
            prefix_sum(ring.line(y), &mut want);
            let bits =
                |v: &[[f32; 4]]| -> Vec<u32> { v.iter().flatten().map(|f| f.to_bits()).collect() };
            assert_eq!(bits(&got), bits(&want), "row {y}");
            ring.clear(y);
            assert!(
                ring.diff
                    .iter()
                    .skip((y % ring.len) * ring.stride)
                    .take(ring.stride)
                    .all(|e| *e == [0.0; 4])
            );
            ring.prefix_sum(y, &mut got);
            assert!(got.iter().all(|p| *p == [0.0; 4]));
        }
    }

    #[test]
    fn reflect_mirrors_any_distance() {
        assert_eq!(reflect(-1, 5), 0);
        assert_eq!(reflect(5, 5), 4);
        assert_eq!(reflect(-6, 5), 4);
        assert_eq!(reflect(11, 5), 1);
        assert_eq!(reflect(3, 1), 0);
    }

    #[test]
    fn scatter_conserves_energy_everywhere_including_borders() {
        let t = tables();
        for (w, h) in [(40, 30), (7, 3), (1, 1), (3, 20)] {
            let mut src = vec![[0.0f32; 8]; w * h];
            for (i, p) in src.iter_mut().enumerate() {
                let v = ((i * 7) % 5) as f32 * 0.1;
                *p = [
                    v,
                    0.5 * v,
                    0.2,
                    1.0,
                    (i % 17) as f32,
                    0.3 * ((i % 3) as f32 - 1.0),
                    0.0,
                    0.0,
                ];
            }
            let out = scatter(&src, w, h, &t);
            let sum_in: f64 = src.iter().map(|p| f64::from(p[0])).sum();
            let sum_out: f64 = out.iter().map(|p| f64::from(p[0])).sum();
            assert!((sum_in - sum_out).abs() < 1e-4 * sum_in.max(1.0), "{w}x{h}");
            let cov: f64 = out.iter().map(|p| f64::from(p[3])).sum();
            assert!((cov - (w * h) as f64).abs() < 1e-3, "{w}x{h}: {cov}");
        }
    }

    #[test]
    fn constant_source_stays_constant() {
        let t = tables();
        let (w, h) = (50, 37);
        let src: Vec<SrcPx> = (0..w * h)
            .map(|i| [0.3, 0.6, 0.9, 1.0, 1.0 + (i % 13) as f32, 0.0, 0.2, 0.0])
            .collect();
        let out = scatter(&src, w, h, &t);
        // Coverage adds to 1 only on average with varying diameters; the colour per coverage
        // is exactly the constant.
        for p in &out {
            assert!((p[0] / p[3] - 0.3).abs() < 1e-5 && (p[2] / p[3] - 0.9).abs() < 1e-5);
        }
        let same: Vec<SrcPx> = (0..w * h)
            .map(|_| [0.3, 0.6, 0.9, 1.0, 9.5, 0.0, 0.0, 0.0])
            .collect();
        for p in scatter(&same, w, h, &t) {
            assert!(
                (p[3] - 1.0).abs() < 1e-5 && (p[1] - 0.6).abs() < 1e-5,
                "{p:?}"
            );
        }
    }
}
