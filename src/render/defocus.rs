//! The fast scatter kernel: every source pixel spreads `(colour·w, w)` uniformly over its
//! aperture shape, one horizontal span per pixel row, written as four updates of a per-row
//! difference buffer and recovered by a prefix sum — O(diameter) per source pixel, not
//! O(diameter²).
//!
//! Work is split into bands of [`BAND_ROWS`] destination rows. A band visits the source rows
//! within reach (each row knows its largest reach), accumulates in `f64`, and is written by
//! one thread only; band boundaries do not depend on the thread count, and every sum is taken
//! in the same order, so the output is bit-identical for any number of threads.
//!
//! Borders reflect: light that would fall outside the image is mirrored back in (a span is
//! folded at the edges, rows are reflected), so each source pixel's weights sum to exactly 1
//! inside the image and the borders neither darken nor lose coverage.

use rayon::prelude::*;

use super::aperture::{SpanRow, SpanTables};

/// Destination rows per band.
pub(crate) const BAND_ROWS: usize = 16;

/// The difference buffers of one band of destination rows (plus two guard columns per row).
#[derive(Default)]
pub(crate) struct Band {
    b0: usize,
    b1: usize,
    stride: usize,
    diff: Vec<[f64; 4]>,
}

impl Band {
    /// Clears the band for destination rows `b0..b1` of an image `width` wide.
    pub(crate) fn reset(&mut self, b0: usize, b1: usize, width: usize) {
        self.b0 = b0;
        self.b1 = b1;
        self.stride = width + 2;
        self.diff.clear();
        self.diff.resize((b1 - b0) * self.stride, [0.0; 4]);
    }

    /// True when a source row `ys` with reach `reach` touches this band (reflection included).
    #[inline]
    pub(crate) fn touched_by(&self, ys: usize, reach: i32, height: usize) -> bool {
        touches(self.b0, self.b1, ys, reach, height)
    }

    /// Scatters source row `ys` (`[r·w, g·w, b·w, w, d]` per pixel) into the band. Pixels with a
    /// diameter below one pixel are skipped: they land on their own pixel, which
    /// [`Band::finish_row`] adds.
    pub(crate) fn splat_row(
        &mut self,
        src: &[[f32; 5]],
        ys: usize,
        height: usize,
        tables: &SpanTables,
    ) {
        let width = self.stride - 2;
        let (b0, b1) = (self.b0 as i64, self.b1 as i64);
        let ys_i = ys as i64;
        let h = height as i64;
        for (x, p) in src.iter().enumerate() {
            if !(p[3] > 0.0) || !(p[4] >= 1.0) {
                continue;
            }
            let t = tables.get(p[4]);
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
            let rho = f64::from(t.rho);
            let k_lo = i64::from(t.k_lo);
            if ys_i - reach >= 0 && ys_i + reach < h {
                // No reflection: the rows of this band are one contiguous run of the table.
                let first = (b0 - ys_i).max(k_lo);
                let last = (b1 - 1 - ys_i).min(k_lo + t.rows.len() as i64 - 1);
                for k in first..=last {
                    let row = &t.rows[(k - k_lo) as usize];
                    let start = (ys_i + k - b0) as usize * self.stride;
                    let line = &mut self.diff[start..start + self.stride];
                    deposit(line, x, row, v, rho, width);
                }
            } else {
                for (idx, row) in t.rows.iter().enumerate() {
                    let yd = reflect(ys_i + k_lo + idx as i64, h);
                    if yd < b0 || yd >= b1 {
                        continue;
                    }
                    let start = (yd - b0) as usize * self.stride;
                    let line = &mut self.diff[start..start + self.stride];
                    deposit(line, x, row, v, rho, width);
                }
            }
        }
    }

    /// Destination row `y` of the band: the prefix sum of its difference buffer, plus every
    /// source pixel of `own` (the same row's sources) whose diameter is below one pixel.
    pub(crate) fn finish_row(&self, y: usize, own: Option<&[[f32; 5]]>, out: &mut [[f32; 4]]) {
        let start = (y - self.b0) * self.stride;
        let line = &self.diff[start..start + self.stride];
        let mut acc = [0.0f64; 4];
        for (x, o) in out.iter_mut().enumerate() {
            let dv = line[x];
            for c in 0..4 {
                acc[c] += dv[c];
            }
            let mut px = [acc[0] as f32, acc[1] as f32, acc[2] as f32, acc[3] as f32];
            if let Some(own) = own {
                let p = own[x];
                if p[3] > 0.0 && !(p[4] >= 1.0) {
                    for c in 0..4 {
                        px[c] += p[c];
                    }
                }
            }
            *o = px;
        }
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

/// Adds one span to a difference-buffer row (`width + 2` entries).
#[inline]
fn deposit(line: &mut [[f64; 4]], x: usize, row: &SpanRow, v: [f64; 4], rho: f64, width: usize) {
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
    } else {
        let x = x as f64;
        deposit_folded(
            line,
            x + f64::from(row.s),
            x + f64::from(row.e),
            rho,
            v,
            width,
        );
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

/// Adds the span `[a, b)` with `0 ≤ a < b ≤ width`.
fn deposit_exact(line: &mut [[f64; 4]], a: f64, b: f64, rho: f64, v: [f64; 4], width: usize) {
    let a = a.clamp(0.0, width as f64);
    let b = b.clamp(a, width as f64);
    let i0 = a.floor();
    let i1 = b.floor();
    let (f0, f1) = (a - i0, b - i1);
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
}

/// Per row of a stored source, the largest reach of its pixels that scatter (−1: none).
pub(crate) fn row_reach(src: &[[f32; 5]], width: usize, tables: &SpanTables) -> Vec<i32> {
    src.par_chunks(width)
        .map(|row| {
            row.iter()
                .filter(|p| p[3] > 0.0 && p[4] >= 1.0)
                .map(|p| tables.get(p[4]).reach)
                .max()
                .unwrap_or(-1)
        })
        .collect()
}

/// Scatters a stored slice source (`width × height`) into raw sums `[r·w, g·w, b·w, w]`.
pub(crate) fn scatter(
    src: &[[f32; 5]],
    width: usize,
    height: usize,
    tables: &SpanTables,
) -> Vec<[f32; 4]> {
    let reach = row_reach(src, width, tables);
    let max_reach = reach.iter().copied().max().unwrap_or(-1).max(0) as usize;
    let mut out = vec![[0.0f32; 4]; width * height];
    out.par_chunks_mut(BAND_ROWS * width)
        .enumerate()
        .for_each_init(Band::default, |band, (bi, chunk)| {
            let b0 = bi * BAND_ROWS;
            let b1 = (b0 + BAND_ROWS).min(height);
            band.reset(b0, b1, width);
            for ys in b0.saturating_sub(max_reach)..(b1 + max_reach).min(height) {
                if band.touched_by(ys, reach[ys], height) {
                    band.splat_row(&src[ys * width..(ys + 1) * width], ys, height, tables);
                }
            }
            for y in b0..b1 {
                let row = &src[y * width..(y + 1) * width];
                let o = (y - b0) * width;
                band.finish_row(y, Some(row), &mut chunk[o..o + width]);
            }
        });
    out
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
            let mut src = vec![[0.0f32; 5]; w * h];
            for (i, p) in src.iter_mut().enumerate() {
                let v = ((i * 7) % 5) as f32 * 0.1;
                *p = [v, 0.5 * v, 0.2, 1.0, (i % 17) as f32];
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
        let src: Vec<[f32; 5]> = (0..w * h)
            .map(|i| [0.3, 0.6, 0.9, 1.0, 1.0 + (i % 13) as f32])
            .collect();
        let out = scatter(&src, w, h, &t);
        // Coverage adds to 1 only on average with varying diameters; the colour per coverage
        // is exactly the constant.
        for p in &out {
            assert!((p[0] / p[3] - 0.3).abs() < 1e-5 && (p[2] / p[3] - 0.9).abs() < 1e-5);
        }
        let same: Vec<[f32; 5]> = (0..w * h).map(|_| [0.3, 0.6, 0.9, 1.0, 9.5]).collect();
        for p in scatter(&same, w, h, &t) {
            assert!(
                (p[3] - 1.0).abs() < 1e-5 && (p[1] - 0.6).abs() < 1e-5,
                "{p:?}"
            );
        }
    }
}
