//! Layers and slices: the sanitised input, the per-pixel colours each side scatters (boosted
//! background `B`, boosted subject `F`), and the fast kernel's resolution pyramid of slices,
//! all gathered in one pass over the photo ([`decompose`]).
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
use super::coc::{CocMap, LevelSplit, PerSide, SIDES, Side, fill_weight, membership, sane_matte};
use super::defocus::SrcPx;
use super::highlights::Highlights;
use super::matting::{FillSample, FillSums, MatteFills, accumulate, matte_fill_level, sane};
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
    let valid = plane.width().checked_mul(plane.height()) == Some(plane.data().len());
    if !valid || plane.data().is_empty() {
        None
    } else if plane.width() == width && plane.height() == height {
        Some(Cow::Borrowed(plane.data()))
    } else {
        Some(Cow::Owned(plane.resized(width, height).into_data()))
    }
}

impl<'a> Input<'a> {
    /// `None` for an empty image.
    pub(crate) fn new(scene: &'a Scene) -> Option<Input<'a>> {
        let (width, height) = (scene.color.width(), scene.color.height());
        let n = width.checked_mul(height)?;
        if n == 0 {
            return None;
        }
        let channel = |c: &'a [f32]| -> Cow<'a, [f32]> {
            if c.len() == n {
                Cow::Borrowed(c)
            } else {
                let mut v = c.to_vec();
                v.resize(n, 0.0);
                Cow::Owned(v)
            }
        };
        let color = [
            channel(scene.color.r()),
            channel(scene.color.g()),
            channel(scene.color.b()),
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
pub(crate) type SliceSource = Vec<SrcPx>;

/// The scene decomposed for the kernels: what [`decompose`] produces.
pub(crate) struct Layers {
    pub setup: Setup,
    /// Matte fills, when there is a matte with some subject in it.
    pub fills: Option<MatteFills>,
    /// Far-side hole-fill source at [`FILL_LEVEL`]: `[r·w, g·w, b·w, w]` box averages of the
    /// boosted photo with weight `far·(1 − m)` (the far side, away from the subject).
    pub fill_source: Vec<[f32; 4]>,
    /// `slices[side][L - 1]` for levels `1..=max_level`, `None` where empty (fast kernel).
    pub slices: PerSide<Vec<Option<SliceSource>>>,
    /// Per row, the largest row reach of its level-0 scatter, −1 for none (fast kernel).
    pub row_reach0: Vec<i32>,
    /// Bright sparse sources blurred beyond `d0`, in row order (fast kernel): scattered at
    /// full resolution apart from the rows' ring, so they do not widen it.
    pub sparse: Vec<SparsePixel>,
}

/// A bright sparse source (see [`sparse_side`]) whose blur is beyond the level-0 limit `d0`.
/// The full-resolution pass scatters these with their exact aperture at any blur up to
/// [`SPARSE_MAX_D`], so their discs keep a crisp edge, apart from the ring of lines every
/// row's ordinary level-0 scatter goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SparsePixel {
    pub x: u32,
    pub y: u32,
    /// [`Side::Far`] or [`Side::Near`].
    pub side: Side,
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
    memb: PerSide<f32>,
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
            let mut others = p.memb;
            others[Side::Subject] = 0.0;
            let mut subject = PerSide::default();
            subject[Side::Subject] = p.memb[Side::Subject];
            self.add_sides(p, others, p.d);
            self.add_sides(p, subject, p.d_subject);
        }
    }

    /// Adds the sides' shares `memb` of a pixel with blur diameter `d`.
    #[inline(always)]
    fn add_sides(&mut self, p: &Pixel, memb: PerSide<f32>, d: f32) {
        let (l, t) = self.split.split(d);
        if l >= 1 && t < 1.0 {
            self.add_to_level(p, memb, d, l, 1.0 - t);
        }
        if t > 0.0 {
            self.add_to_level(p, memb, d, l + 1, t);
        }
    }

    #[inline(always)]
    fn add_to_level(&mut self, p: &Pixel, memb: PerSide<f32>, d: f32, level: u32, share: f32) {
        let levels = self.widths.len() - 1;
        let lu = level as usize;
        let li = self.row_base[lu] + (p.x >> level);
        // Position within the level pixel's box, for its light's centroid.
        let mask = (1u32 << level) - 1;
        let px = ((p.x as u32 & mask) as i32) as f32 + 0.5;
        let py = ((p.y as u32 & mask) as i32) as f32 + 0.5;
        for (side, &mw) in memb.iter() {
            let ws = mw * share;
            if ws <= 0.0 {
                continue;
            }
            let col = if side == Side::Subject {
                p.colours.1
            } else {
                p.colours.0
            };
            // Where the box's light is. On the far side (normalised by its coverage) the centroid
            // follows the light itself, so a point light's disc lands where the light is (a
            // faint floor keeps black boxes centred); on the subject and near sides, whose
            // coverage is their transparency, it follows the weight so coverage stays whole.
            let lum = if side == Side::Far {
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
            let k = side.index() * levels + lu - 1;
            let slot = side.index() * 2 + (lu & 1);
            self.runs.add(slot, (k, li, self.row[lu]), v, self.slices);
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

/// Sizes and levels of one decomposition.
struct Geometry {
    w: usize,
    h: usize,
    split: LevelSplit,
    /// Coarse levels in use: slices exist for levels `1..=levels`.
    levels: usize,
    /// Photo rows per chunk: whole rows at every level in use and at [`FILL_LEVEL`].
    chunk_rows: usize,
    /// Level of the matte fills' box sums, and its size.
    matte_level: u32,
    mw: usize,
    mh: usize,
    /// Size of the hole-fill source ([`FILL_LEVEL`]).
    fw: usize,
    fh: usize,
    /// Width of each level `0..=levels`.
    widths: Vec<usize>,
}

impl Geometry {
    fn new(input: &Input, coc: &CocMap, d0: f32) -> Geometry {
        let (w, h) = (input.width, input.height);
        let max_level = LevelSplit::levels_for(d0, max_coc(input, coc));
        let matte_level = matte_fill_level(w, h);
        debug_assert!(matte_level <= FILL_LEVEL);
        let (mw, mh) = level_dims(w, h, matte_level);
        let (fw, fh) = level_dims(w, h, FILL_LEVEL);
        Geometry {
            w,
            h,
            split: LevelSplit::new(d0, max_level),
            levels: max_level as usize,
            chunk_rows: 1usize << max_level.max(FILL_LEVEL),
            matte_level,
            mw,
            mh,
            fw,
            fh,
            widths: (0..=max_level).map(|l| level_dims(w, h, l).0).collect(),
        }
    }

    fn chunks(&self) -> usize {
        self.h.div_ceil(self.chunk_rows)
    }

    /// Level-`l` rows per chunk.
    fn rows_at(&self, l: u32) -> usize {
        self.chunk_rows >> l
    }

    /// Photo rows of chunk `ci`.
    fn rows_of(&self, ci: usize) -> std::ops::Range<usize> {
        let y0 = ci * self.chunk_rows;
        y0..(y0 + self.chunk_rows).min(self.h)
    }

    /// The level of slice `k` (slices are stored side by side, levels `1..=levels` each).
    fn level_of_slice(&self, k: usize) -> u32 {
        (k % self.levels.max(1)) as u32 + 1
    }
}

/// One chunk of photo rows' share of the buffers the first pass writes.
struct Chunk<'b> {
    fill: &'b mut [[f32; 4]],
    reach: &'b mut [i32],
    slices: Vec<ChunkSlice<'b>>,
}

/// The current photo row, sanitised: signed CoC, matte and colour (highlight-raised once the
/// matte sums have read it, see [`first_pass`]).
struct Row {
    coc: Vec<f32>,
    matte: Vec<f32>,
    rgb: [Vec<f32>; 3],
}

impl Row {
    fn new(w: usize) -> Row {
        Row {
            coc: vec![0.0; w],
            matte: vec![0.0; w],
            rgb: std::array::from_fn(|_| vec![0.0; w]),
        }
    }

    /// Loads photo row `y`.
    fn load(&mut self, input: &Input, coc: &CocMap, y: usize) {
        let w = input.width;
        let row = y * w..(y + 1) * w;
        // Plain indexed loops over equal-length slices: no bounds checks, vectorised.
        let (cr, mr) = (&mut self.coc[..w], &mut self.matte[..w]);
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
        let [rr, gr, br] = &mut self.rgb;
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
    }

    #[inline]
    fn rgb(&self, x: usize) -> [f32; 3] {
        [self.rgb[0][x], self.rgb[1][x], self.rgb[2][x]]
    }
}

/// Adds the row to its row of matte fill box sums (boxes `2^level` pixels wide); the row's
/// largest matte value.
fn add_matte_sums(sums_row: &mut [FillSums], row: &Row, level: u32) -> f32 {
    let n = 1usize << level;
    let w = row.coc.len();
    let (cr, mr) = (&row.coc, &row.matte);
    let mut max_m = 0.0f32;
    for (x1, s) in sums_row.iter_mut().enumerate() {
        let mut acc = FillSums::default();
        for x in x1 * n..(x1 * n + n).min(w) {
            max_m = max_m.max(mr[x]);
            let near = membership(mr[x], cr[x])[Side::Near];
            accumulate(&mut acc, row.rgb(x), mr[x], cr[x], near);
        }
        *s += acc;
    }
    max_m
}

/// Adds photo row `y` to the far hole-fill source (a last resort, and smooth: every
/// [`FILL_STRIDE`]-th pixel of every `FILL_STRIDE`-th row is plenty), weighted by
/// [`fill_weight`].
fn add_fill_source(fill_row: &mut [[f32; 4]], row: &Row, y: usize) {
    if !y.is_multiple_of(FILL_STRIDE) {
        return;
    }
    let fscale = 1usize << FILL_LEVEL;
    let w = row.coc.len();
    for (fx, p) in fill_row.iter_mut().enumerate() {
        let mut acc = [0.0f32; 4];
        for x in (fx * fscale..(fx * fscale + fscale).min(w)).step_by(FILL_STRIDE) {
            let wt = fill_weight(row.matte[x], row.coc[x]);
            acc[0] += row.rgb[0][x] * wt;
            acc[1] += row.rgb[1][x] * wt;
            acc[2] += row.rgb[2][x] * wt;
            acc[3] += wt;
        }
        for (dst, src) in p.iter_mut().zip(acc) {
            *dst += src;
        }
    }
}

/// Adds photo row `y` (colours raised) to the coarse slices: pixels blurred beyond `d0`,
/// except bright sparse sources (listed in `sparse`, scattered at level 0) and, with a matte,
/// matte-edge pixels (left for the second pass; the return value says whether there were any).
fn add_coarse(
    writer: &mut SliceWriter,
    row: &Row,
    y: usize,
    d0: f32,
    highlights: &Highlights,
    with_matte: bool,
    sparse: &mut Vec<SparsePixel>,
) -> bool {
    writer.start_row(y);
    let mut deferred = false;
    for (x, (&c, &m)) in row.coc.iter().zip(&row.matte).enumerate() {
        let d = c.abs();
        if d <= d0 {
            continue;
        }
        let b = row.rgb(x);
        if let Some(side) = sparse_side(highlights, x, y, b, m, c) {
            // Scattered at full resolution (see `sparse_side`).
            sparse.push(SparsePixel {
                x: x as u32,
                y: y as u32,
                side,
            });
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
    deferred
}

/// How far the row's level-0 scatter reaches (rows), −1 for none. Reach grows with the
/// diameter: the row's largest level-0 diameter decides (bright sparse sources blurred beyond
/// `d0` are splatted apart, see [`SparsePixel`]). A matte-edge pixel's subject share is blurred
/// by the subject's own CoC, at most its own (see [`subject_coc`]), which may put it at level 0
/// whatever its own.
fn level0_reach(row: &Row, level0_limit: f32, tables: &SpanTables) -> i32 {
    let edge_d = level0_limit * 0.999;
    let d_max = row
        .coc
        .iter()
        .zip(&row.matte)
        .map(|(c, &m)| {
            let d = c.abs();
            if d >= level0_limit && m > 0.0 && m < 1.0 {
                edge_d
            } else {
                d
            }
        })
        .filter(|&d| d >= 1.0 && d < level0_limit)
        .fold(-1.0, f32::max);
    if d_max >= 1.0 {
        tables.get(d_max, 0.0).reach
    } else {
        -1
    }
}

/// Fill-source sums of the chunk whose rows are `rows` → averages over each box's sampled
/// pixels (see [`add_fill_source`]).
fn average_fill_source(fill: &mut [[f32; 4]], rows: std::ops::Range<usize>, w: usize, h: usize) {
    let fscale = 1usize << FILL_LEVEL;
    let fw = w.div_ceil(fscale);
    let y0 = rows.start;
    let box_rows = (rows.end - y0).div_ceil(fscale);
    let samples = |start: usize, len: usize| {
        (start + len).div_ceil(FILL_STRIDE) - start.div_ceil(FILL_STRIDE)
    };
    for (k, p) in fill.iter_mut().enumerate().take(box_rows * fw) {
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
}

/// What the first pass found in a chunk.
struct Found {
    max_m: f32,
    deferred: bool,
    /// Bright sparse sources blurred beyond `d0`, in row order.
    sparse: Vec<SparsePixel>,
}

/// The first pass over chunk `ci`: matte fill sums, the hole-fill source and — with `tables`
/// (fast kernel) — the coarse slices and the level-0 row reaches.
#[allow(clippy::too_many_arguments)]
fn first_pass(
    chunk: &mut Chunk,
    sums: &mut [FillSums],
    ci: usize,
    g: &Geometry,
    input: &Input,
    coc: &CocMap,
    highlights: &Highlights,
    tables: Option<&SpanTables>,
) -> Found {
    let (w, fw) = (g.w, g.fw);
    let rows = g.rows_of(ci);
    let y0 = rows.start;
    let with_matte = input.matte.is_some();
    let (d0, level0_limit) = (g.split.d0(), g.split.level0_limit());
    let mut found = Found {
        max_m: 0.0,
        deferred: false,
        sparse: Vec::new(),
    };
    let mut row = Row::new(w);
    let mut writer = SliceWriter::new(&mut chunk.slices, &g.widths, g.split, y0);
    for y in rows.clone() {
        row.load(input, coc, y);
        if with_matte {
            let n = 1usize << g.matte_level;
            let sums_row = &mut sums[((y - y0) >> g.matte_level) * g.mw..][..w.div_ceil(n)];
            found.max_m = found
                .max_m
                .max(add_matte_sums(sums_row, &row, g.matte_level));
        }
        // From here on the row's colours are highlight-raised.
        if highlights.is_active() {
            let [rr, gr, br] = &mut row.rgb;
            highlights.raise_row(y, &mut rr[..w], &mut gr[..w], &mut br[..w]);
        }
        add_fill_source(
            &mut chunk.fill[((y - y0) >> FILL_LEVEL) * fw..][..fw],
            &row,
            y,
        );
        let Some(tables) = tables else {
            continue;
        };
        found.deferred |= add_coarse(
            &mut writer,
            &row,
            y,
            d0,
            highlights,
            with_matte,
            &mut found.sparse,
        );
        chunk.reach[y - y0] = level0_reach(&row, level0_limit, tables);
    }
    average_fill_source(chunk.fill, rows, w, g.h);
    found
}

/// The second pass over chunk `ci`: the coarse contributions of matte-edge pixels, now that
/// the fills can split them into subject and background colour.
fn add_matte_edges(
    chunk: &mut Chunk,
    ci: usize,
    g: &Geometry,
    input: &Input,
    coc: &CocMap,
    highlights: &Highlights,
    fills: &MatteFills,
) {
    let w = g.w;
    let d0 = g.split.d0();
    let rows = g.rows_of(ci);
    let mut writer = SliceWriter::new(&mut chunk.slices, &g.widths, g.split, rows.start);
    for y in rows {
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
            let fs = Some(fills.at(x, y));
            let colours = pixel_colours(input, fs.as_ref(), highlights, Light::Boosted, x, y, m);
            let memb = membership(m, c);
            writer.add(&Pixel {
                x,
                y,
                d,
                d_subject: subject_coc(fs.as_ref(), m, c).abs(),
                memb,
                colours,
            });
        }
        writer.end_row();
    }
}

/// Chunk `ci`'s slice sums → averages over each level pixel's box of existing pixels (CoC in
/// level pixels, light centroid within the box); per slice, whether the chunk touched it.
fn average_slices(chunk: Chunk, ci: usize, g: &Geometry) -> Vec<bool> {
    let (w, h) = (g.w, g.h);
    let y0 = ci * g.chunk_rows;
    let mut touched = Vec::with_capacity(chunk.slices.len());
    for (k, mut slice) in chunk.slices.into_iter().enumerate() {
        touched.push(slice.touched());
        let l = g.level_of_slice(k);
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
}

/// Decomposes the scene for the kernels in one pass over the photo (two where the matte has
/// soft edges): CoC range and level occupancy ([`Geometry`]), the matte fills' box sums (then
/// the fills), the far hole fill's source, and — with `tables` (fast kernel) — the slice
/// sources of levels ≥ 1 and the level-0 row reaches. Pixels at the matte's edge (0 < m < 1)
/// need the fills to be split into subject and background colour, so their coarse
/// contributions are added in a second pass over them ([`add_matte_edges`]).
pub(crate) fn decompose(
    input: &Input,
    coc: CocMap,
    highlights: Highlights,
    d0: f32,
    tables: Option<&SpanTables>,
) -> Layers {
    let g = Geometry::new(input, &coc, d0);
    let (w, h, levels) = (g.w, g.h, g.levels);
    let with_matte = input.matte.is_some();
    let with_slices = tables.is_some();

    let mut sums: Vec<FillSums> =
        vec![FillSums::default(); if with_matte { g.mw * g.mh } else { 0 }];
    let mut fill_source = vec![[0.0f32; 4]; g.fw * g.fh];
    let mut row_reach0 = vec![-1i32; if with_slices { h } else { 0 }];
    // All slices are allocated zeroed (untouched pages cost nothing); empty ones are dropped.
    let mut slices: Vec<SliceSource> = if with_slices {
        (0..SIDES)
            .flat_map(|_| 1..=levels as u32)
            .map(|l| {
                let (lw, lh) = level_dims(w, h, l);
                vec![[0.0f32; 8]; lw * lh]
            })
            .collect()
    } else {
        Vec::new()
    };

    // Regroup every buffer chunk by chunk of `chunk_rows` photo rows.
    let mut chunks: Vec<Chunk> = (0..g.chunks())
        .map(|_| Chunk {
            fill: Default::default(),
            reach: Default::default(),
            slices: Vec::new(),
        })
        .collect();
    let mut sum_chunks: Vec<&mut [FillSums]> = sums
        .chunks_mut((g.rows_at(g.matte_level) * g.mw).max(1))
        .collect();
    sum_chunks.resize_with(chunks.len(), Default::default);
    for (chunk, c) in chunks
        .iter_mut()
        .zip(fill_source.chunks_mut(g.rows_at(FILL_LEVEL) * g.fw))
    {
        chunk.fill = c;
    }
    for (chunk, c) in chunks.iter_mut().zip(row_reach0.chunks_mut(g.chunk_rows)) {
        chunk.reach = c;
    }
    for (k, src) in slices.iter_mut().enumerate() {
        let l = g.level_of_slice(k);
        let lw = g.widths[l as usize];
        for (chunk, c) in chunks.iter_mut().zip(src.chunks_mut(g.rows_at(l) * lw)) {
            chunk.slices.push(ChunkSlice::new(c, lw));
        }
    }

    let found: Vec<Found> = chunks
        .par_iter_mut()
        .zip(sum_chunks)
        .enumerate()
        .map(|(ci, (chunk, sums))| {
            first_pass(chunk, sums, ci, &g, input, &coc, &highlights, tables)
        })
        .collect();

    let max_m = found.iter().fold(0.0f32, |a, f| a.max(f.max_m));
    let sparse: Vec<SparsePixel> = found
        .iter()
        .flat_map(|f| f.sparse.iter().copied())
        .collect();
    let fills =
        (with_matte && max_m > 0.0).then(|| MatteFills::new(&sums, g.mw, g.mh, g.matte_level));
    drop(sums);

    if let Some(fills) = fills.as_ref().filter(|_| found.iter().any(|f| f.deferred)) {
        chunks
            .par_iter_mut()
            .zip(&found)
            .enumerate()
            .filter(|(_, (_, f))| f.deferred)
            .for_each(|(ci, (chunk, _))| {
                add_matte_edges(chunk, ci, &g, input, &coc, &highlights, fills);
            });
    }

    let touched: Vec<Vec<bool>> = chunks
        .into_par_iter()
        .enumerate()
        .map(|(ci, chunk)| average_slices(chunk, ci, &g))
        .collect();

    if fill_source.iter().all(|p| p[3] <= 0.0) {
        // No far side at all (everything is subject or in front of the focus): fill from the
        // whole photo, as push-pull does when nothing has weight.
        plain_fill_source(input, &highlights, &mut fill_source, g.fw);
    }
    let mut slice_iter = slices.into_iter();
    let slices = PerSide::from_fn(|side| {
        (0..levels)
            .map(|li| {
                let src = slice_iter.next()?;
                let k = side.index() * levels + li;
                touched.iter().any(|t| t[k]).then_some(src)
            })
            .collect()
    });
    Layers {
        setup: Setup {
            coc,
            highlights,
            split: g.split,
        },
        fills,
        fill_source,
        slices,
        row_reach0,
        sparse,
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

/// The `(B, F)` of pixel `(x, y)` with matte `m` (`F` is only meaningful for `m > 0`), `fills`
/// the matte fills sampled there ([`MatteFills::sample`]; only read for `0 < m < 1`).
#[inline]
pub(crate) fn pixel_colours(
    input: &Input,
    fills: Option<&FillSample>,
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
                // The pixel is `m·F + (1 − m)·B`: where the fill is brighter than the pixel
                // allows, the subject takes all of the pixel's light in that channel (B = 0), so
                // the two shares still add up to what the photo recorded.
                let fill = fills.subject_fill();
                let f: [f32; 3] = std::array::from_fn(|c| fill[c].min(rgb[c] / m));
                let u = 1.0 / (1.0 - m);
                let b = std::array::from_fn(|c| ((rgb[c] - m * f[c]) * u).max(0.0));
                return (raise(b), f);
            }
            let (f, b) = fills.unmix(rgb, m);
            (b, f)
        }
        _ => {
            let b = raise(rgb);
            (b, b)
        }
    }
}

/// Signed CoC at or below which a bright sparse source is on the far side alone (the near
/// side starts at 0.5, see [`membership`]). There level 0 goes over the coarser levels (finer
/// is nearer on the far side), which keeps a light scattered at level 0 additive.
pub(crate) const FAR_SPARSE_COC: f32 = 0.5;
/// Signed CoC at or above which a bright sparse source is on the near side alone. There
/// coarser levels go over finer ones, so its lights form a layer of their own in front of the
/// near side's levels ([`NEAR_LIGHTS`]), which keeps them additive too.
pub(crate) const NEAR_SPARSE_COC: f32 = 1.5;
/// The near side's layer of bright sparse sources, in front of its levels: a pseudo-level for
/// [`level_share`].
pub(crate) const NEAR_LIGHTS: u32 = u32::MAX;
/// Largest blur (px) at which a bright sparse source is scattered at full resolution. Span
/// tables grow with the largest diameter (64 steps per pixel), so a light blurred over a
/// quarter of a 12 MP frame or more stays on the coarse levels, as every other blur that size.
pub(crate) const SPARSE_MAX_D: f32 = 1024.0;

/// The side whose full-resolution light layer pixel `(x, y)` (raised colour `rgb`, matte `m`,
/// signed CoC `c`) belongs to: a bright sparse source (see [`Highlights::is_sparse`]) with no
/// subject in it, on the far side alone or on the near side alone; `None` for anything else.
/// Callers ask only for blurs beyond `d0` (below, level 0 takes every pixel anyway).
#[inline]
pub(crate) fn sparse_side(
    highlights: &Highlights,
    x: usize,
    y: usize,
    rgb: [f32; 3],
    m: f32,
    c: f32,
) -> Option<Side> {
    let side = if c <= FAR_SPARSE_COC {
        Side::Far
    } else if c >= NEAR_SPARSE_COC {
        Side::Near
    } else {
        return None;
    };
    let d = c.abs();
    // (A NaN blur fails the comparison.)
    (m <= 0.0 && d <= SPARSE_MAX_D && highlights.is_sparse(x, y, rgb)).then_some(side)
}

/// The share of level `level` (or of the near side's light layer, [`NEAR_LIGHTS`]) of a pixel
/// of signed CoC `c`, blur diameter `d` (of the side asked for), colour `rgb` (raised) and
/// matte `m`: a bright sparse source blurred beyond `d0` is all at level 0 on the far side and
/// all in the light layer on the near side (see [`sparse_side`]).
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
    let sparse = (d > setup.split.d0())
        .then(|| sparse_side(&setup.highlights, x, y, rgb, m, c))
        .flatten();
    match sparse {
        Some(Side::Far) => f32::from(u8::from(level == 0)),
        Some(_) => f32::from(u8::from(level == NEAR_LIGHTS)),
        None if level == NEAR_LIGHTS => 0.0,
        None => setup.split.weight(d, level),
    }
}

/// The signed CoC with which the subject share of a pixel (matte `m`, own signed CoC `c`, the
/// fills sampled there) is blurred. At a matte-edge pixel the depth is the background's wherever the
/// background covers the pixel centre (a hair over a far background), so the subject side
/// takes the subject's own CoC from the fills, no larger than the pixel's own (a portrait's
/// subject is the sharpest thing at its edge). Elsewhere `c`.
#[inline]
pub(crate) fn subject_coc(fills: Option<&FillSample>, m: f32, c: f32) -> f32 {
    match fills {
        Some(fills) if m > 0.0 && m < 1.0 => {
            let d = c.abs();
            fills.subject_coc().clamp(-d, d)
        }
        _ => c,
    }
}

/// The subject hidden behind a near-side occluder at a pixel (matte `m`, signed CoC `c`, the
/// fills sampled there): weight (near-side share × the matte filled in behind the occluder) and the subject's
/// filled colour, or `None`. A lens sees around a blurred occluder; what it sees there is
/// what the photo shows of the subject around it. It stays on its own pixel.
#[inline]
pub(crate) fn hidden_subject(
    fills: Option<&FillSample>,
    m: f32,
    c: f32,
) -> Option<(f32, [f32; 3])> {
    let fills = fills?;
    let near = membership(m, c)[Side::Near];
    if near <= 0.0 {
        return None;
    }
    let (behind, colour) = fills.behind();
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
                let fs = MatteFills::sample(fills, x, y);
                let (b, f) = pixel_colours(
                    input,
                    fs.as_ref(),
                    &setup.highlights,
                    Light::Boosted,
                    x,
                    y,
                    m,
                );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optics::Lens;
    use crate::scene::LinearRgb;

    /// A `w × h` row source: colour `rgb`, matte `m`, signed CoC `c` everywhere.
    fn row(w: usize, rgb: [f32; 3], m: f32, c: f32) -> Row {
        let mut r = Row::new(w);
        r.coc.fill(c);
        r.matte.fill(m);
        for (ch, v) in r.rgb.iter_mut().zip(rgb) {
            ch.fill(v);
        }
        r
    }

    #[test]
    fn a_row_is_loaded_sanitised() {
        let mut color = LinearRgb::filled(3, 2, [0.5; 3]);
        color.r_mut()[3] = f32::NAN;
        let mut disparity = Plane::filled(3, 2, 0.5);
        disparity.data_mut()[4] = f32::INFINITY;
        let mut matte = Plane::filled(3, 2, 1.0);
        matte.data_mut()[5] = 7.0;
        let scene = Scene::new(color, disparity, Some(matte)).unwrap();
        let input = Input::new(&scene).unwrap();
        let coc = CocMap::new(&Lens::default(), 3, 2);
        let mut r = Row::new(3);
        r.load(&input, &coc, 1);
        assert_eq!(r.rgb[0], vec![0.0, 0.5, 0.5], "NaN colour counts as black");
        assert_eq!(r.coc[1], 0.0, "non-finite disparity is the focus plane");
        assert_eq!(r.matte[2], 1.0, "matte clamped to 0..1");
    }

    #[test]
    fn the_fill_source_samples_every_fourth_pixel_of_every_fourth_row() {
        let fscale = 1usize << FILL_LEVEL;
        let w = fscale + 8;
        let (fw, h) = (w.div_ceil(fscale), fscale);
        let mut fill = vec![[0.0f32; 4]; fw];
        // Far background (matte 0, behind the focus): full weight.
        let r = row(w, [0.2, 0.4, 0.6], 0.0, -20.0);
        for y in 0..h {
            add_fill_source(&mut fill, &r, y);
        }
        average_fill_source(&mut fill, 0..h, w, h);
        // Every box, the partial last one too, averages back to the colour with weight 1.
        for p in &fill {
            for (v, want) in p.iter().zip([0.2, 0.4, 0.6, 1.0]) {
                assert!((v - want).abs() < 1e-6, "{p:?}");
            }
        }
        // Only rows that are multiples of the stride are read.
        let mut once = vec![[0.0f32; 4]; fw];
        add_fill_source(&mut once, &r, 1);
        assert_eq!(once[0], [0.0; 4]);
    }

    #[test]
    fn matte_sums_report_the_largest_matte() {
        let level = 2;
        let w: usize = 10;
        let mut sums = vec![FillSums::default(); w.div_ceil(1 << level)];
        let mut r = row(w, [0.5; 3], 0.25, 0.0);
        r.matte[7] = 0.75;
        assert_eq!(add_matte_sums(&mut sums, &r, level), 0.75);
        assert!(sums.iter().all(|s| *s != FillSums::default()));
    }

    #[test]
    fn level0_reach_counts_matte_edges_but_not_beyond_the_limit() {
        let shape = super::super::aperture::UnitShape::new(&Default::default());
        let tables = SpanTables::new(&shape, 64.0);
        let limit = 25.0;
        // In focus: nothing reaches.
        assert_eq!(
            level0_reach(&row(8, [0.5; 3], 0.0, 0.2), limit, &tables),
            -1
        );
        // A 10 px blur reaches about 5 rows.
        let ten = level0_reach(&row(8, [0.5; 3], 0.0, 10.0), limit, &tables);
        assert!((4..=6).contains(&ten), "{ten}");
        // Beyond the level-0 limit a plain pixel is on the coarse levels, but a matte-edge
        // pixel's subject share may still be at level 0.
        assert_eq!(
            level0_reach(&row(8, [0.5; 3], 0.0, 40.0), limit, &tables),
            -1
        );
        let edge = level0_reach(&row(8, [0.5; 3], 0.5, 40.0), limit, &tables);
        assert!(edge >= ten, "{edge}");
    }

    #[test]
    fn sparse_side_takes_compact_lights_wholly_on_one_side_up_to_the_largest_blur() {
        let (w, h) = (64, 48);
        let mut lit = LinearRgb::filled(w, h, [0.05; 3]);
        lit.set(30, 20, [1.0; 3]);
        let scene = Scene::new(lit, Plane::filled(w, h, 0.0), None).unwrap();
        let input = Input::new(&scene).unwrap();
        let hl = Highlights::new(&Default::default(), &input);
        let white = [1.0; 3];
        assert_eq!(sparse_side(&hl, 30, 20, white, 0.0, -40.0), Some(Side::Far));
        assert_eq!(sparse_side(&hl, 30, 20, white, 0.0, 40.0), Some(Side::Near));
        // Split between the sides, under the subject, not a light, or too large a blur.
        assert_eq!(sparse_side(&hl, 30, 20, white, 0.0, 1.0), None);
        assert_eq!(sparse_side(&hl, 30, 20, white, 0.5, -40.0), None);
        assert_eq!(sparse_side(&hl, 10, 10, [0.05; 3], 0.0, -40.0), None);
        assert_eq!(
            sparse_side(&hl, 30, 20, white, 0.0, -2.0 * SPARSE_MAX_D),
            None
        );
    }

    #[test]
    fn decompose_puts_blur_on_the_levels_it_needs() {
        let (w, h) = (64, 48);
        // A sensor narrow enough for a ~70 px background disc at 64 px.
        let lens = Lens {
            sensor: crate::optics::Sensor::Custom { width_mm: 2.0 },
            ..Lens::default()
        };
        let coc = CocMap::new(&lens, w, h);
        let shape = super::super::aperture::UnitShape::new(&lens.aperture);
        let tables = SpanTables::new(&shape, 64.0);
        let highlights = |input: &Input| Highlights::new(&Default::default(), input);
        // All in focus: no coarse slice, no reach.
        let focus = lens.focus_disparity_per_m() as f32;
        let sharp = Scene::new(
            LinearRgb::filled(w, h, [0.3; 3]),
            Plane::filled(w, h, focus),
            None,
        )
        .unwrap();
        let input = Input::new(&sharp).unwrap();
        let layers = decompose(&input, coc, highlights(&input), 12.0, Some(&tables));
        assert!(layers.slices.0.iter().flatten().all(Option::is_none));
        assert!(layers.row_reach0.iter().all(|&r| r == -1));
        assert!(layers.fills.is_none());
        // A far background: the far side has coarse slices, the others none.
        let far = Scene::new(
            LinearRgb::filled(w, h, [0.3; 3]),
            Plane::filled(w, h, 0.0),
            None,
        )
        .unwrap();
        let input = Input::new(&far).unwrap();
        let layers = decompose(&input, coc, highlights(&input), 12.0, Some(&tables));
        assert!(layers.slices[Side::Far].iter().any(Option::is_some));
        assert!(layers.slices[Side::Subject].iter().all(Option::is_none));
        assert!(layers.slices[Side::Near].iter().all(Option::is_none));
        assert!(layers.sparse.is_empty());
        // A small clipped light on that background is listed for the full-resolution pass
        // (pixel by pixel, in row order), and it does not widen any row's level-0 reach.
        let mut lit = LinearRgb::filled(w, h, [0.05; 3]);
        for (x, y) in [(30, 20), (31, 20), (30, 21), (31, 21)] {
            lit.r_mut()[y * w + x] = 1.0;
            lit.g_mut()[y * w + x] = 1.0;
            lit.b_mut()[y * w + x] = 1.0;
        }
        let night = Scene::new(lit, Plane::filled(w, h, 0.0), None).unwrap();
        let input = Input::new(&night).unwrap();
        let layers = decompose(&input, coc, highlights(&input), 12.0, Some(&tables));
        let listed: Vec<(u32, u32)> = layers
            .sparse
            .iter()
            .filter(|p| p.side == Side::Far)
            .map(|p| (p.x, p.y))
            .collect();
        assert_eq!(listed, vec![(30, 20), (31, 20), (30, 21), (31, 21)]);
        assert!(layers.row_reach0.iter().all(|&r| r == -1));
        // The reference kernel asks for no slices at all.
        let layers = decompose(&input, coc, highlights(&input), 12.0, None);
        assert!(layers.slices.0.iter().flatten().all(Option::is_none));
        assert!(layers.row_reach0.is_empty());
    }
}
