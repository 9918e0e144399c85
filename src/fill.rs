//! Push-pull hole filling: smooth, O(n) extrapolation of values into pixels of low weight.
//!
//! Used to fill the background behind the subject before it is blurred, so subject colours
//! never smear into the bokeh, and to fill invalid depth samples.

/// Fills `channels` (all `width × height`) where `weights` (0..1) are low, by the push-pull
/// pyramid (Gortler et al. 1996). A pixel of weight 1 keeps its value; a pixel of weight 0 gets
/// the weighted average of its surroundings at the coarsest scale that has data; between, it
/// is blended. If no pixel has weight, channels are left unchanged.
pub(crate) fn push_pull_fill(
    channels: &mut [&mut [f32]],
    weights: &[f32],
    width: usize,
    height: usize,
) {
    let n = width * height;
    assert_eq!(weights.len(), n);
    for c in channels.iter() {
        assert_eq!(c.len(), n);
    }
    if n == 0 || !weights.iter().any(|&w| w > 0.0) {
        return;
    }
    let nc = channels.len();
    // Level 0: premultiplied values and weights clamped to 0..1.
    let w0: Vec<f32> = weights
        .iter()
        .map(|&w| {
            if w.is_finite() {
                w.clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .collect();
    let mut levels: Vec<Level> = Vec::new();
    let mut cur = Level {
        width,
        height,
        weight: w0,
        values: (0..nc)
            .map(|c| {
                channels[c]
                    .iter()
                    .zip(weights)
                    .map(|(&v, &w)| if w > 0.0 { v * w.clamp(0.0, 1.0) } else { 0.0 })
                    .collect()
            })
            .collect(),
    };
    // Push: downsample until 1×1.
    while cur.width > 1 || cur.height > 1 {
        let next = cur.push(nc);
        levels.push(cur);
        cur = next;
    }
    // Coarsest level: normalise.
    let mut filled: Vec<Vec<f32>> = (0..nc)
        .map(|c| {
            cur.values[c]
                .iter()
                .zip(&cur.weight)
                .map(|(&v, &w)| if w > 0.0 { v / w } else { 0.0 })
                .collect()
        })
        .collect();
    let mut fw = cur.width;
    let mut fh = cur.height;
    // Pull: from coarse to fine, blend own data with the upsampled coarser fill.
    while let Some(level) = levels.pop() {
        let mut out: Vec<Vec<f32>> = vec![vec![0.0; level.width * level.height]; nc];
        for y in 0..level.height {
            // Bilinear upsample from the coarser grid (centres at (i+0.5)*2 in fine coords).
            let cy = ((y as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (fh - 1) as f32);
            let y0 = cy.floor() as usize;
            let y1 = (y0 + 1).min(fh - 1);
            let ty = cy - y0 as f32;
            for x in 0..level.width {
                let cx = ((x as f32 + 0.5) / 2.0 - 0.5).clamp(0.0, (fw - 1) as f32);
                let x0 = cx.floor() as usize;
                let x1 = (x0 + 1).min(fw - 1);
                let tx = cx - x0 as f32;
                let i = y * level.width + x;
                let w = level.weight[i].min(1.0);
                for c in 0..nc {
                    let f = &filled[c];
                    let up = (f[y0 * fw + x0] * (1.0 - tx) + f[y0 * fw + x1] * tx) * (1.0 - ty)
                        + (f[y1 * fw + x0] * (1.0 - tx) + f[y1 * fw + x1] * tx) * ty;
                    let own = if level.weight[i] > 0.0 {
                        level.values[c][i] / level.weight[i]
                    } else {
                        0.0
                    };
                    out[c][i] = w * own + (1.0 - w) * up;
                }
            }
        }
        filled = out;
        fw = level.width;
        fh = level.height;
    }
    for c in 0..nc {
        channels[c].copy_from_slice(&filled[c]);
    }
}

struct Level {
    width: usize,
    height: usize,
    weight: Vec<f32>,
    values: Vec<Vec<f32>>,
}

impl Level {
    fn push(&self, nc: usize) -> Level {
        let w = self.width.div_ceil(2);
        let h = self.height.div_ceil(2);
        let mut weight = vec![0.0; w * h];
        let mut values = vec![vec![0.0; w * h]; nc];
        for y in 0..self.height {
            for x in 0..self.width {
                let i = y * self.width + x;
                let o = (y / 2) * w + x / 2;
                weight[o] += self.weight[i];
                for (dst, src) in values.iter_mut().zip(&self.values) {
                    dst[o] += src[i];
                }
            }
        }
        // Normalise so a fully covered coarse pixel has weight 1 (premultiplied values follow).
        for o in 0..w * h {
            if weight[o] > 1.0 {
                let s = 1.0 / weight[o];
                weight[o] = 1.0;
                for v in values.iter_mut() {
                    v[o] *= s;
                }
            }
        }
        Level {
            width: w,
            height: h,
            weight,
            values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_known_pixels_and_fills_holes_smoothly() {
        let (w, h) = (16, 8);
        let mut v: Vec<f32> = (0..w * h)
            .map(|i| if i % w < 8 { 1.0 } else { 3.0 })
            .collect();
        let mut weights = vec![1.0; w * h];
        // A hole in the middle of the left half.
        for y in 2..6 {
            for x in 2..6 {
                weights[y * w + x] = 0.0;
                v[y * w + x] = 100.0;
            }
        }
        push_pull_fill(&mut [&mut v], &weights, w, h);
        assert_eq!(v[0], 1.0);
        assert_eq!(v[w - 1], 3.0);
        for y in 2..6 {
            for x in 2..6 {
                let f = v[y * w + x];
                assert!((1.0..=3.0).contains(&f), "{f}");
            }
        }
        assert!(v[3 * w + 2] < 1.6);
    }

    #[test]
    fn no_weight_leaves_values() {
        let mut v = vec![5.0; 4];
        push_pull_fill(&mut [&mut v], &[0.0; 4], 2, 2);
        assert_eq!(v, vec![5.0; 4]);
    }
}
