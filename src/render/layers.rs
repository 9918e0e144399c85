//! Layers and slices: the sanitised input, the per-pixel colours each side scatters (boosted
//! background `B`, boosted subject `F`), and the fast kernel's resolution pyramid of slices,
//! all gathered in one pass over the photo ([`analyse`]).
//!
//! A *slice* is one (side, level) pair. Level `L`'s source is the `2^L × 2^L` box average of
//! the premultiplied `(colour·w, w)` of the pixels that belong to it, with their CoC diameter
//! averaged by weight and expressed in level pixels, and the centroid of the box's light (far
//! side) or weight (subject, near). Level 0 is never stored: the full-resolution pass computes
//! its sources row by row from the photo, the matte and the depth, so the only
//! full-resolution buffer the fast kernel allocates is its output.

use std::borrow::Cow;

use rayon::prelude::*;

use super::aperture::SpanTables;
use super::coc::{
    CocMap, FAR, LevelSplit, NEAR, SIDES, SUBJECT, fill_weight, membership, sane_matte,
};
use super::defocus::SrcPx;
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

/// Level of the far-side hole fill: a last resort (what is behind a layer is that layer itself
/// where it has coverage), so a 32× reduced image is plenty.
pub(crate) const FILL_LEVEL: u32 = 5;
/// Sampling stride of the hole fill's source (every `FILL_STRIDE`-th pixel and row).
const FILL_STRIDE: usize = 4;

/// One stored slice source (see [`SrcPx`]).
pub(crate) type Source = Vec<SrcPx>;

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
            // Plain comparisons: NaN and ±∞ fail them (and vectorise).
            chunk
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &d| {
                    let finite = d > f32::NEG_INFINITY && d < f32::INFINITY;
                    (
                        if finite && d < lo { d } else { lo },
                        if finite && d > hi { d } else { hi },
                    )
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

/// One chunk's part of one slice: whole level rows, each zeroed by a write the first time
/// anything is added to it. The slices are allocated zeroed and untouched pages cost nothing,
/// but adding to a page that was never written would first map the shared zero page, then copy
/// it on the write, which flushes the other threads' TLBs; writing first avoids both.
struct ChunkSlice<'b> {
    px: &'b mut [SrcPx],
    /// Level pixels per row.
    width: usize,
    /// Per level row of the chunk, whether it has been written.
    ready: Vec<bool>,
}

impl<'b> ChunkSlice<'b> {
    fn new(px: &'b mut [SrcPx], width: usize) -> Self {
        let rows = px.len() / width.max(1);
        ChunkSlice {
            px,
            width,
            ready: vec![false; rows],
        }
    }

    fn touched(&self) -> bool {
        self.ready.iter().any(|&r| r)
    }

    /// The written level rows with their index.
    fn ready_rows(&mut self) -> impl Iterator<Item = (usize, &mut [SrcPx])> {
        self.px
            .chunks_mut(self.width.max(1))
            .zip(&self.ready)
            .enumerate()
            .filter(|(_, (_, ready))| **ready)
            .map(|(r, (row, _))| (r, row))
    }
}

/// Where a running sum goes: slice, level pixel within the chunk, level row within the chunk.
type RunKey = (usize, usize, usize);

/// Running sums of the slice pixel each (side, level parity) is currently adding to: pixels
/// next to each other mostly land in the same level pixel, so sums are kept in registers and
/// written once per level pixel.
struct Runs {
    /// Per slot `side·2 + (level & 1)`.
    key: [RunKey; 2 * SIDES],
    acc: [SrcPx; 2 * SIDES],
}

impl Runs {
    const NONE: RunKey = (usize::MAX, 0, 0);

    fn new() -> Runs {
        Runs {
            key: [Self::NONE; 2 * SIDES],
            acc: [[0.0; 8]; 2 * SIDES],
        }
    }

    #[inline(always)]
    fn add(&mut self, slot: usize, key: RunKey, v: SrcPx, chunk: &mut [ChunkSlice]) {
        if self.key[slot] != key {
            self.flush(slot, chunk);
            self.key[slot] = key;
        }
        let a = &mut self.acc[slot];
        for c in 0..8 {
            a[c] += v[c];
        }
    }

    fn flush(&mut self, slot: usize, chunk: &mut [ChunkSlice]) {
        let (k, li, row) = self.key[slot];
        if k != usize::MAX {
            let slice = &mut chunk[k];
            if !slice.ready[row] {
                let w = slice.width;
                slice.px[row * w..(row + 1) * w].fill([0.0; 8]);
                slice.ready[row] = true;
            }
            let p = &mut slice.px[li];
            for (dst, src) in p.iter_mut().zip(&mut self.acc[slot]) {
                *dst += *src;
                *src = 0.0;
            }
            self.key[slot] = Self::NONE;
        }
    }

    fn flush_all(&mut self, chunk: &mut [ChunkSlice]) {
        for slot in 0..2 * SIDES {
            self.flush(slot, chunk);
        }
    }
}

/// A pixel to add to the slices: position, CoC diameter, side membership and its `(B, F)`
/// colours.
struct Pixel {
    x: usize,
    y: usize,
    d: f32,
    /// The subject share's own CoC diameter (see [`subject_coc`]).
    d_subject: f32,
    memb: [f32; SIDES],
    colours: ([f32; 3], [f32; 3]),
}

/// Adds the pixels of one chunk of photo rows to the chunk's part of every slice, through
/// running sums (see [`Runs`]).
struct SliceWriter<'a, 'b> {
    slices: &'a mut [ChunkSlice<'b>],
    runs: Runs,
    /// Per level, the index of the current photo row's level row within the chunk.
    row: Vec<usize>,
    /// Per level, the offset of that row.
    row_base: Vec<usize>,
    /// Per level, its width.
    widths: &'a [usize],
    split: LevelSplit,
    /// The chunk's first photo row.
    y0: usize,
}

impl<'a, 'b> SliceWriter<'a, 'b> {
    fn new(
        slices: &'a mut [ChunkSlice<'b>],
        widths: &'a [usize],
        split: LevelSplit,
        y0: usize,
    ) -> Self {
        SliceWriter {
            slices,
            runs: Runs::new(),
            row: vec![0; widths.len()],
            row_base: vec![0; widths.len()],
            widths,
            split,
            y0,
        }
    }

    /// Starts photo row `y`.
    fn start_row(&mut self, y: usize) {
        for (l, (row, base)) in self.row.iter_mut().zip(&mut self.row_base).enumerate() {
            *row = (y >> l) - (self.y0 >> l);
            *base = *row * self.widths[l];
        }
    }

    /// Ends the current row: every running sum goes to its slice pixel.
    fn end_row(&mut self) {
        self.runs.flush_all(self.slices);
    }

    /// Adds a pixel of the current row to the slices of its levels.
    #[inline(always)]
    fn add(&mut self, p: &Pixel) {
        if p.d_subject == p.d {
            self.add_sides(p, p.memb, p.d);
        } else {
            self.add_sides(p, [p.memb[0], 0.0, p.memb[2]], p.d);
            self.add_sides(p, [0.0, p.memb[1], 0.0], p.d_subject);
        }
    }

    /// Adds the sides' shares `memb` of a pixel with blur diameter `d`.
    #[inline(always)]
    fn add_sides(&mut self, p: &Pixel, memb: [f32; SIDES], d: f32) {
        let (l, t) = self.split.split(d);
        if l >= 1 && t < 1.0 {
            self.add_to_level(p, memb, d, l, 1.0 - t);
        }
        if t > 0.0 {
            self.add_to_level(p, memb, d, l + 1, t);
        }
    }

    #[inline(always)]
    fn add_to_level(&mut self, p: &Pixel, memb: [f32; SIDES], d: f32, level: u32, share: f32) {
        let levels = self.widths.len() - 1;
        let lu = level as usize;
        let li = self.row_base[lu] + (p.x >> level);
        // Position within the level pixel's box, for its light's centroid.
        let mask = (1u32 << level) - 1;
        let px = ((p.x as u32 & mask) as i32) as f32 + 0.5;
        let py = ((p.y as u32 & mask) as i32) as f32 + 0.5;
        for (side, &mw) in memb.iter().enumerate() {
            let ws = mw * share;
            if ws <= 0.0 {
                continue;
            }
            let col = if side == SUBJECT {
                p.colours.1
            } else {
                p.colours.0
            };
            // Where the box's light is. On the far side (normalised by its coverage) the centroid
            // follows the light itself, so a point light's disc lands where the light is (a
            // faint floor keeps black boxes centred); on the subject and near sides, whose
            // coverage is their transparency, it follows the weight so coverage stays whole.
            let lum = if side == FAR {
                ws * (col[0] + col[1] + col[2] + 1e-3)
            } else {
                ws
            };
            let v = [
                col[0] * ws,
                col[1] * ws,
                col[2] * ws,
                ws,
                d * ws,
                px * lum,
                py * lum,
                lum,
            ];
            let k = side * levels + lu - 1;
            self.runs
                .add(side * 2 + (lu & 1), (k, li, self.row[lu]), v, self.slices);
        }
    }
}

/// Box averages of the whole boosted photo at [`FILL_LEVEL`], weight 1 (fallback fill source).
fn plain_fill_source(input: &Input, highlights: &Highlights, out: &mut [[f32; 4]], fw: usize) {
    let (w, h) = (input.width, input.height);
    let s = 1usize << FILL_LEVEL;
    out.fill([0.0; 4]);
    for y in 0..h {
        for x in 0..w {
            let b = highlights.raise_at(x, y, input.rgb(y * w + x));
            let p = &mut out[(y / s) * fw + x / s];
            p[0] += b[0];
            p[1] += b[1];
            p[2] += b[2];
            p[3] += 1.0;
        }
    }
    for p in out.iter_mut() {
        if p[3] > 0.0 {
            let k = 1.0 / p[3];
            *p = [p[0] * k, p[1] * k, p[2] * k, 1.0];
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

    let mut sums: Vec<FillSums> = vec![[0.0; 15]; if with_matte { mw * mh } else { 0 }];
    let mut fill_source = vec![[0.0f32; 4]; fw * fh];
    let mut row_reach0 = vec![-1i32; if with_slices { h } else { 0 }];
    // All slices are allocated zeroed (untouched pages cost nothing); empty ones are dropped.
    let mut slices: Vec<Source> = if with_slices {
        (0..SIDES)
            .flat_map(|_| 1..=max_level)
            .map(|l| {
                let (lw, lh) = level_dims(w, h, l);
                vec![[0.0f32; 8]; lw * lh]
            })
            .collect()
    } else {
        Vec::new()
    };

    // Regroup every buffer chunk by chunk of `chunk_rows` photo rows.
    struct Job<'b> {
        fill: &'b mut [[f32; 4]],
        reach: &'b mut [i32],
        slices: Vec<ChunkSlice<'b>>,
    }
    let chunks = h.div_ceil(chunk_rows);
    let mut jobs: Vec<Job> = (0..chunks)
        .map(|_| Job {
            fill: Default::default(),
            reach: Default::default(),
            slices: Vec::new(),
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
            job.slices.push(ChunkSlice::new(c, widths[l as usize]));
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
            let mut coc_row = vec![0.0f32; w];
            let mut matte_row = vec![0.0f32; w];
            let mut rgb_row: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0f32; w]);
            let mut writer = SliceWriter::new(&mut job.slices, &widths, split, y0);
            for y in y0..(y0 + chunk_rows).min(h) {
                let row = y * w..(y + 1) * w;
                // Plain indexed loops over equal-length slices: no bounds checks, vectorised.
                let (cr, mr) = (&mut coc_row[..w], &mut matte_row[..w]);
                let disparity = &input.disparity[row.clone()];
                for x in 0..w {
                    cr[x] = coc.signed(disparity[x]);
                }
                match &input.matte {
                    Some(matte) => {
                        let matte = &matte[row.clone()];
                        for x in 0..w {
                            mr[x] = sane_matte(matte[x]);
                        }
                    }
                    None => mr.fill(0.0),
                }
                let [rr, gr, br] = &mut rgb_row;
                let (rr, gr, br) = (&mut rr[..w], &mut gr[..w], &mut br[..w]);
                let (r_in, g_in, b_in) = (
                    &input.color[0][row.clone()],
                    &input.color[1][row.clone()],
                    &input.color[2][row],
                );
                for x in 0..w {
                    rr[x] = sane(r_in[x]);
                    gr[x] = sane(g_in[x]);
                    br[x] = sane(b_in[x]);
                }
                if with_matte {
                    let n = 1usize << ml;
                    let sums_row = &mut job_sums[((y - y0) >> ml) * mw..][..w.div_ceil(n)];
                    for (x1, s) in sums_row.iter_mut().enumerate() {
                        let mut acc: FillSums = [0.0f32; 15];
                        for x in x1 * n..(x1 * n + n).min(w) {
                            max_m = max_m.max(mr[x]);
                            let near = membership(mr[x], cr[x])[NEAR];
                            accumulate(&mut acc, [rr[x], gr[x], br[x]], mr[x], cr[x], near);
                        }
                        for (dst, src) in s.iter_mut().zip(acc) {
                            *dst += src;
                        }
                    }
                }
                // From here on the row's colours are highlight-raised.
                if highlights.is_active() {
                    highlights.raise_row(y, rr, gr, br);
                }
                // Far hole-fill source (a last resort, and smooth): every 4th pixel of every
                // 4th row is plenty.
                let fill_row = &mut job.fill[((y - y0) >> FILL_LEVEL) * fw..][..fw];
                for (fx, p) in fill_row.iter_mut().enumerate() {
                    if y % FILL_STRIDE != 0 {
                        break;
                    }
                    let mut acc = [0.0f32; 4];
                    for x in (fx * fscale..(fx * fscale + fscale).min(w)).step_by(FILL_STRIDE) {
                        let wt = fill_weight(mr[x], cr[x]);
                        acc[0] += rr[x] * wt;
                        acc[1] += gr[x] * wt;
                        acc[2] += br[x] * wt;
                        acc[3] += wt;
                    }
                    for (dst, src) in p.iter_mut().zip(acc) {
                        *dst += src;
                    }
                }
                let Some(tables) = tables else {
                    continue;
                };
                // Coarse slices.
                writer.start_row(y);
                let mut sparse_d = -1.0f32;
                for (x, (&c, &m)) in coc_row.iter().zip(&matte_row).enumerate() {
                    let d = c.abs();
                    if d <= d0 {
                        continue;
                    }
                    let b = [rgb_row[0][x], rgb_row[1][x], rgb_row[2][x]];
                    if m <= 0.0 && c <= FAR_SPARSE_COC && highlights.is_sparse(x, y, b, d) {
                        // Scattered at level 0 (see `Highlights::is_sparse`).
                        sparse_d = sparse_d.max(d);
                        continue;
                    }
                    if with_matte && m > 0.0 && m < 1.0 {
                        deferred = true;
                        continue;
                    }
                    let memb = membership(m, c);
                    writer.add(&Pixel {
                        x,
                        y,
                        d,
                        d_subject: d,
                        memb,
                        colours: (b, b),
                    });
                }
                writer.end_row();
                // Reach grows with the diameter: the row's largest level-0 diameter decides. A
                // matte-edge pixel's subject share is blurred by the subject's own CoC, at most
                // its own (see `subject_coc`), which may put it at level 0 whatever its own.
                let edge_d = level0_limit * 0.999;
                let d_max = coc_row
                    .iter()
                    .zip(&matte_row)
                    .map(|(c, &m)| {
                        let d = c.abs();
                        if d >= level0_limit && m > 0.0 && m < 1.0 {
                            edge_d
                        } else {
                            d
                        }
                    })
                    .filter(|&d| d >= 1.0 && d < level0_limit)
                    .fold(sparse_d, f32::max);
                job.reach[y - y0] = if d_max >= 1.0 {
                    tables.get(d_max, 0.0).reach
                } else {
                    -1
                };
            }
            // Fill-source sums → averages over each box's sampled pixels.
            let rows = ((y0 + chunk_rows).min(h) - y0).div_ceil(fscale);
            let samples = |start: usize, len: usize| {
                (start + len).div_ceil(FILL_STRIDE) - start.div_ceil(FILL_STRIDE)
            };
            for (k, p) in job.fill.iter_mut().enumerate().take(rows * fw) {
                let (fx, fyy) = (k % fw, k / fw);
                let by = y0 + fyy * fscale;
                let bh = (h - by).min(fscale);
                let bw = (w - fx * fscale).min(fscale);
                let n = samples(fx * fscale, bw) * samples(by, bh);
                let inv = 1.0 / n.max(1) as f32;
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
                let mut writer = SliceWriter::new(&mut job.slices, &widths, split, y0);
                for y in y0..(y0 + chunk_rows).min(h) {
                    writer.start_row(y);
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
                        let colours =
                            pixel_colours(input, Some(fills), &highlights, Light::Boosted, x, y, m);
                        let memb = membership(m, c);
                        writer.add(&Pixel {
                            x,
                            y,
                            d,
                            d_subject: subject_coc(Some(fills), x, y, m, c).abs(),
                            memb,
                            colours,
                        });
                    }
                    writer.end_row();
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
            let mut touched = Vec::with_capacity(job.slices.len());
            for (k, mut slice) in job.slices.into_iter().enumerate() {
                touched.push(slice.touched());
                let l = (k % levels) as u32 + 1;
                let s = 1usize << l;
                let scale = 1.0 / s as f32;
                for (r, row) in slice.ready_rows() {
                    let ly = r + (y0 >> l);
                    let rows_in = (h - ly * s).min(s);
                    for (lx, p) in row.iter_mut().enumerate() {
                        if p[3] <= 0.0 {
                            continue;
                        }
                        let count = ((w - lx * s).min(s) * rows_in) as f32;
                        let inv_w = 1.0 / p[3];
                        let inv_lum = 1.0 / p[7];
                        p[4] *= inv_w * scale;
                        p[5] = (p[5] * inv_lum * scale - 0.5).clamp(-0.5, 0.5);
                        p[6] = (p[6] * inv_lum * scale - 0.5).clamp(-0.5, 0.5);
                        p[7] = 0.0;
                        let inv = 1.0 / count;
                        for v in &mut p[..4] {
                            *v *= inv;
                        }
                    }
                }
            }
            touched
        })
        .collect();

    if fill_source.iter().all(|p| p[3] <= 0.0) {
        // No far side at all (everything is subject or in front of the focus): fill from the
        // whole photo, as push-pull does when nothing has weight.
        plain_fill_source(input, &highlights, &mut fill_source, fw);
    }
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

/// Which light a pixel's colours carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Light {
    /// Clipped highlights raised to the light they held (what a blur spreads).
    Boosted,
    /// As the photo recorded it: light blurred by less than a pixel stays on its own pixel,
    /// where the sensor clips it again, so a channel between the clip level and 1 must not
    /// change.
    AsRecorded,
}

/// The `(B, F)` of pixel `(x, y)` with matte `m` (`F` is only meaningful for `m > 0`).
#[inline]
pub(crate) fn pixel_colours(
    input: &Input,
    fills: Option<&MatteFills>,
    highlights: &Highlights,
    light: Light,
    x: usize,
    y: usize,
    m: f32,
) -> ([f32; 3], [f32; 3]) {
    let rgb = input.rgb(y * input.width + x);
    let k = highlights.factors(x, y, rgb);
    let k_used = if light == Light::Boosted { k } else { [1.0; 3] };
    let raise = |c: [f32; 3]| [c[0] * k_used[0], c[1] * k_used[1], c[2] * k_used[2]];
    match fills {
        Some(fills) if m > 0.0 && m < 1.0 => {
            if k != [1.0; 3] {
                // A clipped light seen through the subject's edge (behind a wisp of hair) is
                // background: the subject keeps its own filled colour, the light's energy goes
                // to the background share.
                let f = fills.subject_fill(x, y);
                let u = 1.0 / (1.0 - m);
                let b = std::array::from_fn(|c| ((rgb[c] - m * f[c]) * u).max(0.0));
                return (raise(b), f);
            }
            let (f, b) = fills.unmix(x, y, rgb, m);
            (b, f)
        }
        _ => {
            let b = raise(rgb);
            (b, b)
        }
    }
}

/// Signed CoC at or below which a bright sparse source is on the far side alone (the near
/// side starts at 0.5, see [`membership`]). Only there does level 0 go over the coarser levels
/// (finer is nearer on the far side), which keeps a light scattered at level 0 additive; on
/// the near side coarser levels go over finer ones, so near lights stay on their levels.
pub(crate) const FAR_SPARSE_COC: f32 = 0.5;

/// The share of level `level` of a pixel of signed CoC `c`, blur diameter `d` (of the side
/// asked for), colour `rgb` (raised) and matte `m`: a bright sparse source on the far side
/// (see [`Highlights::is_sparse`]) is all at level 0.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn level_share(
    setup: &Setup,
    x: usize,
    y: usize,
    rgb: [f32; 3],
    m: f32,
    c: f32,
    d: f32,
    level: u32,
) -> f32 {
    if m <= 0.0
        && c <= FAR_SPARSE_COC
        && d > setup.split.d0()
        && setup.highlights.is_sparse(x, y, rgb, d)
    {
        if level == 0 { 1.0 } else { 0.0 }
    } else {
        setup.split.weight(d, level)
    }
}

/// The signed CoC with which the subject share of pixel `(x, y)` (matte `m`, own signed CoC
/// `c`) is blurred. At a matte-edge pixel the depth is the background's wherever the
/// background covers the pixel centre (a hair over a far background), so the subject side
/// takes the subject's own CoC from the fills, no larger than the pixel's own (a portrait's
/// subject is the sharpest thing at its edge). Elsewhere `c`.
#[inline]
pub(crate) fn subject_coc(fills: Option<&MatteFills>, x: usize, y: usize, m: f32, c: f32) -> f32 {
    match fills {
        Some(fills) if m > 0.0 && m < 1.0 => {
            let d = c.abs();
            fills.subject_coc(x, y).clamp(-d, d)
        }
        _ => c,
    }
}

/// The subject hidden behind a near-side occluder at pixel `(x, y)` (matte `m`, signed CoC
/// `c`): weight (near-side share × the matte filled in behind the occluder) and the subject's
/// filled colour, or `None`. A lens sees around a blurred occluder; what it sees there is
/// what the photo shows of the subject around it. It stays on its own pixel.
#[inline]
pub(crate) fn hidden_subject(
    fills: Option<&MatteFills>,
    x: usize,
    y: usize,
    m: f32,
    c: f32,
) -> Option<(f32, [f32; 3])> {
    let fills = fills?;
    let near = membership(m, c)[NEAR];
    if near <= 0.0 {
        return None;
    }
    let (behind, colour) = fills.behind(x, y);
    let wt = near * behind;
    (wt > 1e-4).then_some((wt, colour))
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
            #[allow(clippy::needless_range_loop)]
            for x in 0..w {
                let m = input.matte(y * w + x);
                let (b, f) =
                    pixel_colours(input, fills, &setup.highlights, Light::Boosted, x, y, m);
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
