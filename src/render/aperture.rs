//! The aperture's shape: a circle, or an n-blade polygon whose blades may be curved.
//!
//! The unit shape is inscribed in the unit circle (polygon vertices lie on the CoC circle, so
//! the CoC diameter is the vertex-to-vertex size). Rotation 0 puts a vertex straight up; blade
//! curvature `κ` bends each side into a circular arc of radius `1/κ` through its two vertices
//! (κ = 0 straight, κ = 1 the full circle), which keeps the shape convex.
//!
//! Two views of the same shape:
//! * [`UnitShape::contains`] — a point-in-shape test, used by the reference kernel to measure
//!   pixel coverage by supersampling;
//! * [`SpanTables`] — for the fast kernel, each diameter's shape cut into one horizontal span per
//!   pixel row. A row's span is the shape's chord averaged over the row's height (from
//!   cumulative integrals of the left and right edges), so the span's length is exactly the
//!   shape's area inside that row; its fractional ends anti-alias the edge. Spans are
//!   normalised so one source pixel's weights sum to exactly 1.
//!
//! # Lens character ([`DiscModel`], see [`crate::optics::Character`])
//! * **Anamorphic squeeze** `s`: the unit shape's x is scaled by `1/s` (the horizontal CoC),
//!   so both views draw the oval.
//! * **Spherical aberration**: a radial intensity profile as two nested copies of the shape,
//!   the whole disc with weight `1 + S` and the inner one scaled by `1/√2` (half the area) with
//!   weight `−S`, so the rim has intensity `1 + S`, the centre `1 − S`, and the total stays 1.
//!   A [`SpanTable`] carries the inner copy as its own table (`inner`): two spans per row.
//!   The sign of `S` flips between the sides of the focus plane (the caller's choice).
//! * **Longitudinal chromatic aberration**: the green channel's diameter is `d + k`, red's and
//!   blue's `|d − k|` (`k` = [`DiscModel::chroma_px`], signed per side, in the level's pixels);
//!   the table of `d` is the larger disc, carrying the weight `w` and its channels, with the
//!   smaller one attached (`chroma`). Its reach is the larger disc's, so everything that sizes
//!   windows by reach stays right. [`LevelTables`] keeps one set of tables per level (the
//!   offset is fixed in full-resolution pixels) — and one set for every level when it is off.
//!
//! * **Cat-eye** ([`CatEye`], also the swirl's): the unit shape intersected with the barrel's
//!   image, a unit circle whose centre moves with the source's field position (before the
//!   anamorphic squeeze). The reference kernel builds that shape exactly for every source pixel;
//!   the fast kernel's [`SpanTables`] keep one shape per cell of a [`FIELD_CELLS`]² grid over
//!   the image (the barrel where the cell's centre is), chosen by the source pixel's place in
//!   its level ([`SpanTables::get_at`]); each cell's tables are built on first use. A cell's
//!   shape lies inside the plain one, so the plain tables' reach bounds every cell's.
//!
//! With every trait off the tables are exactly the plain ones.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::optics::ApertureShape;

/// Samples of the edge integrals over v ∈ [−1, 1].
const EDGE_SAMPLES: usize = 4096;

#[derive(Debug, Clone)]
enum Boundary {
    Circle,
    /// Straight blades: the half-planes `n·p ≤ apothem`.
    Straight {
        normals: Vec<[f64; 2]>,
        apothem: f64,
    },
    /// Curved blades: the intersection of discs of radius `radius`.
    Curved {
        centres: Vec<[f64; 2]>,
        radius: f64,
    },
}

/// The aperture shape at unit radius (image axes: x right, y down).
#[derive(Debug, Clone)]
pub(crate) struct UnitShape {
    boundary: Boundary,
    /// ∫ left edge dv from −1, sampled at `EDGE_SAMPLES + 1` points.
    cum_left: Vec<f64>,
    /// ∫ right edge dv from −1.
    cum_right: Vec<f64>,
    /// x of the top tip (v < top of the shape) and of the bottom tip.
    tip_top: f64,
    tip_bottom: f64,
    /// Largest |v| inside the shape.
    extent: f64,
    /// Horizontal scale, `1/squeeze` for an anamorphic lens (1 for a spherical one).
    x_scale: f64,
    /// Cat-eye: the centre of the barrel's image, a unit circle the shape is cut to (before
    /// the squeeze).
    barrel: Option<[f64; 2]>,
}

impl UnitShape {
    /// The shape for a lens aperture. Out-of-range values are made safe: fewer than 3 blades is
    /// a circle, curvature is clamped to 0..1, a non-finite rotation is 0.
    #[cfg(test)]
    pub(crate) fn new(aperture: &ApertureShape) -> UnitShape {
        UnitShape::squeezed(aperture, 1.0)
    }

    /// The shape of an anamorphic lens with squeeze `squeeze` (≥ 1; anything else is 1): the
    /// aperture narrowed horizontally by `1/squeeze`.
    pub(crate) fn squeezed(aperture: &ApertureShape, squeeze: f64) -> UnitShape {
        let x_scale = if squeeze.is_finite() && squeeze > 1.0 {
            1.0 / squeeze
        } else {
            1.0
        };
        let curvature = if aperture.blade_curvature.is_finite() {
            aperture.blade_curvature.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let boundary = if aperture.blades < 3 || curvature >= 1.0 {
            Boundary::Circle
        } else {
            let n = aperture.blades.min(1024) as usize;
            let rotation = if aperture.blade_rotation_deg.is_finite() {
                aperture.blade_rotation_deg.to_radians()
            } else {
                0.0
            };
            let half = std::f64::consts::PI / n as f64;
            let apothem = half.cos();
            // Vertex i at angle π/2 + rotation + 2πi/n (y up); side i's outward normal halfway
            // to vertex i+1. Image y points down, hence the minus sign.
            let normals: Vec<[f64; 2]> = (0..n)
                .map(|i| {
                    let a = std::f64::consts::FRAC_PI_2 + rotation + 2.0 * half * i as f64 + half;
                    [a.cos(), -a.sin()]
                })
                .collect();
            if curvature < 1e-4 {
                Boundary::Straight { normals, apothem }
            } else {
                let radius = 1.0 / curvature;
                let s = half.sin();
                let offset = apothem - (radius * radius - s * s).sqrt();
                let centres = normals
                    .iter()
                    .map(|nrm| [nrm[0] * offset, nrm[1] * offset])
                    .collect();
                Boundary::Curved { centres, radius }
            }
        };
        UnitShape::from_boundary(boundary, x_scale, None)
    }

    /// This shape cut to the barrel's image centred at `barrel` (see [`CatEye`]). Without
    /// `tables` only [`UnitShape::contains`] and [`UnitShape::chord`] may be used (the
    /// reference kernel's per-pixel shapes).
    pub(crate) fn with_barrel(&self, barrel: [f64; 2], tables: bool) -> UnitShape {
        if tables {
            UnitShape::from_boundary(self.boundary.clone(), self.x_scale, Some(barrel))
        } else {
            UnitShape {
                barrel: Some(barrel),
                ..self.clone()
            }
        }
    }

    fn from_boundary(boundary: Boundary, x_scale: f64, barrel: Option<[f64; 2]>) -> UnitShape {
        let mut shape = UnitShape {
            boundary,
            cum_left: Vec::new(),
            cum_right: Vec::new(),
            tip_top: 0.0,
            tip_bottom: 0.0,
            extent: 1.0,
            x_scale,
            barrel,
        };
        let n = EDGE_SAMPLES;
        let v_at = |j: usize| -1.0 + 2.0 * j as f64 / n as f64;
        let chords: Vec<Option<(f64, f64)>> = (0..=n).map(|j| shape.chord(v_at(j))).collect();
        let first = chords.iter().position(Option::is_some);
        let last = chords.iter().rposition(Option::is_some);
        let (Some(first), Some(last)) = (first, last) else {
            // Cannot happen for a real aperture; fall back to the circle.
            return UnitShape::from_boundary(Boundary::Circle, x_scale, None);
        };
        let mid = |c: Option<(f64, f64)>| c.map_or(0.0, |(l, r)| 0.5 * (l + r));
        shape.tip_top = mid(chords[first]);
        shape.tip_bottom = mid(chords[last]);
        shape.extent = v_at(first).abs().max(v_at(last).abs()).min(1.0);
        let edge = |j: usize| -> (f64, f64) {
            match chords[j] {
                Some(c) => c,
                None if j < first => (shape.tip_top, shape.tip_top),
                None => (shape.tip_bottom, shape.tip_bottom),
            }
        };
        let dv = 2.0 / n as f64;
        let mut cl = vec![0.0; n + 1];
        let mut cr = vec![0.0; n + 1];
        let mut prev = edge(0);
        for j in 1..=n {
            let cur = edge(j);
            cl[j] = cl[j - 1] + 0.5 * (prev.0 + cur.0) * dv;
            cr[j] = cr[j - 1] + 0.5 * (prev.1 + cur.1) * dv;
            prev = cur;
        }
        shape.cum_left = cl;
        shape.cum_right = cr;
        shape
    }

    /// The chord `[left, right]` of the shape on the horizontal line at height `v`.
    pub(crate) fn chord(&self, v: f64) -> Option<(f64, f64)> {
        let (l, r) = self.unsqueezed_chord(v)?;
        Some((l * self.x_scale, r * self.x_scale))
    }

    /// The chord of the aperture before the anamorphic squeeze.
    fn unsqueezed_chord(&self, v: f64) -> Option<(f64, f64)> {
        let (lo, hi) = self.aperture_chord(v)?;
        let Some([bx, by]) = self.barrel else {
            return Some((lo, hi));
        };
        let dy = v - by;
        let s = 1.0 - dy * dy;
        if s <= 0.0 {
            return None;
        }
        let s = s.sqrt();
        let (lo, hi) = (lo.max(bx - s), hi.min(bx + s));
        (hi > lo).then_some((lo, hi))
    }

    /// The chord of the aperture alone (no barrel, no squeeze).
    fn aperture_chord(&self, v: f64) -> Option<(f64, f64)> {
        match &self.boundary {
            Boundary::Circle => {
                let s = 1.0 - v * v;
                (s > 0.0).then(|| {
                    let s = s.sqrt();
                    (-s, s)
                })
            }
            Boundary::Straight { normals, apothem } => {
                let (mut lo, mut hi) = (-1.0f64, 1.0f64);
                for nrm in normals {
                    let rhs = apothem - nrm[1] * v;
                    if nrm[0].abs() < 1e-12 {
                        if rhs < 0.0 {
                            return None;
                        }
                    } else if nrm[0] > 0.0 {
                        hi = hi.min(rhs / nrm[0]);
                    } else {
                        lo = lo.max(rhs / nrm[0]);
                    }
                }
                (hi > lo).then_some((lo, hi))
            }
            Boundary::Curved { centres, radius } => {
                let (mut lo, mut hi) = (-1.0f64, 1.0f64);
                for c in centres {
                    let dy = v - c[1];
                    let s = radius * radius - dy * dy;
                    if s <= 0.0 {
                        return None;
                    }
                    let s = s.sqrt();
                    lo = lo.max(c[0] - s);
                    hi = hi.min(c[0] + s);
                }
                (hi > lo).then_some((lo, hi))
            }
        }
    }

    /// True when the point (x, y) (unit radius, y down) lies inside the shape.
    pub(crate) fn contains(&self, x: f64, y: f64) -> bool {
        let x = x / self.x_scale;
        if let Some([bx, by]) = self.barrel
            && (x - bx) * (x - bx) + (y - by) * (y - by) > 1.0
        {
            return false;
        }
        match &self.boundary {
            Boundary::Circle => x * x + y * y <= 1.0,
            Boundary::Straight { normals, apothem } => {
                normals.iter().all(|n| n[0] * x + n[1] * y <= *apothem)
            }
            Boundary::Curved { centres, radius } => centres.iter().all(|c| {
                let (dx, dy) = (x - c[0], y - c[1]);
                dx * dx + dy * dy <= radius * radius
            }),
        }
    }

    /// Cumulative integral of an edge at `u`, extended linearly by the tips beyond ±1.
    fn cumulative(&self, table: &[f64], u: f64) -> f64 {
        let n = EDGE_SAMPLES;
        if u <= -1.0 {
            table[0] + (u + 1.0) * self.tip_top
        } else if u >= 1.0 {
            table[n] + (u - 1.0) * self.tip_bottom
        } else {
            let pos = (u + 1.0) * 0.5 * n as f64;
            let j = (pos as usize).min(n - 1);
            let t = pos - j as f64;
            table[j] + t * (table[j + 1] - table[j])
        }
    }

    /// ∫ left edge and ∫ right edge over `v ∈ [u0, u1]`.
    fn strip(&self, u0: f64, u1: f64) -> (f64, f64) {
        (
            self.cumulative(&self.cum_left, u1) - self.cumulative(&self.cum_left, u0),
            self.cumulative(&self.cum_right, u1) - self.cumulative(&self.cum_right, u0),
        )
    }

    /// Largest |v| covered by the shape (≤ 1).
    pub(crate) fn extent(&self) -> f64 {
        self.extent
    }
}

/// One pixel row of a scattered shape, as four difference-buffer updates.
///
/// Relative to the source pixel's left edge the span is `[s, e)`; pixel `i0` gets `c[0]`, the
/// difference buffer is updated at `i0, i0+1, i1, i1+1` by `c[0..4]` (this also holds when
/// `i0 == i1`). `c` includes the normalisation `rho`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanRow {
    pub i0: i32,
    pub i1: i32,
    pub c: [f32; 4],
    pub s: f32,
    pub e: f32,
}

/// The spans of one diameter, rows `k_lo..k_lo + rows.len()` relative to the source row.
#[derive(Debug, Clone)]
pub(crate) struct SpanTable {
    pub k_lo: i32,
    pub rows: Vec<SpanRow>,
    /// Weight per unit of span length (1 / shape area in pixels).
    pub rho: f32,
    /// Largest |row offset| with a non-empty span.
    pub reach: i32,
    /// Spherical aberration: the nested inner disc, already weighted (see the module docs).
    pub inner: Option<Box<SpanTable>>,
    /// Chromatic aberration: the smaller channels' disc, and which of `[r, g, b, w]` this
    /// table carries (the others go through the smaller disc).
    pub chroma: Option<(Box<SpanTable>, [bool; 4])>,
}

impl SpanTable {
    /// Spans of the shape scaled to diameter `d` pixels, centred `dy` pixels below a pixel
    /// centre.
    pub(crate) fn build(shape: &UnitShape, d: f64, dy: f64) -> SpanTable {
        let r = 0.5 * d;
        if r.is_nan() || r <= 1e-6 {
            // Everything lands on the source pixel itself.
            return SpanTable {
                k_lo: 0,
                rows: vec![SpanRow {
                    i0: 0,
                    i1: 1,
                    c: [1.0, 0.0, -1.0, 0.0],
                    s: 0.0,
                    e: 1.0,
                }],
                rho: 1.0,
                reach: 0,
                inner: None,
                chroma: None,
            };
        }
        let k_max = (r * shape.extent() + dy.abs() + 0.5).ceil() as i32;
        let mut spans: Vec<(i32, f64, f64)> = Vec::new();
        for k in -k_max..=k_max {
            let u0 = (f64::from(k) - 0.5 - dy) / r;
            let u1 = (f64::from(k) + 0.5 - dy) / r;
            let (il, ir) = shape.strip(u0, u1);
            let (l, rr) = (r * r * il, r * r * ir);
            spans.push((k, l, rr));
        }
        let min_area = 1e-9 * r * r;
        let first = spans.iter().position(|s| s.2 - s.1 > min_area);
        let last = spans.iter().rposition(|s| s.2 - s.1 > min_area);
        let (first, last) = match (first, last) {
            (Some(a), Some(b)) => (a, b),
            _ => return SpanTable::build(shape, 0.0, 0.0),
        };
        let spans = &spans[first..=last];
        let total: f64 = spans.iter().map(|s| (s.2 - s.1).max(0.0)).sum();
        let rho = 1.0 / total;
        let rows = spans
            .iter()
            .map(|&(_, l, rr)| {
                let s = 0.5 + l;
                let e = 0.5 + rr.max(l);
                let i0 = s.floor();
                let i1 = e.floor();
                let f0 = s - i0;
                let f1 = e - i1;
                SpanRow {
                    i0: i0 as i32,
                    i1: i1 as i32,
                    c: [
                        (rho * (1.0 - f0)) as f32,
                        (rho * f0) as f32,
                        (rho * (f1 - 1.0)) as f32,
                        (-rho * f1) as f32,
                    ],
                    s: s as f32,
                    e: e as f32,
                }
            })
            .collect();
        let k_lo = spans[0].0;
        let k_hi = spans[spans.len() - 1].0;
        SpanTable {
            k_lo,
            rows,
            rho: rho as f32,
            reach: k_lo.abs().max(k_hi.abs()),
            inner: None,
            chroma: None,
        }
    }

    /// Multiplies every weight by `k`.
    fn weighted(mut self, k: f64) -> SpanTable {
        let k32 = k as f32;
        for row in &mut self.rows {
            row.c = row.c.map(|c| c * k32);
        }
        self.rho *= k32;
        self
    }

    /// The table of diameter `d` for a disc model (see the module docs): the plain table when
    /// every trait is off.
    pub(crate) fn build_model(model: &DiscModel, d: f64, dy: f64) -> SpanTable {
        let k = model.chroma_px;
        if k == 0.0 || !k.is_finite() {
            return SpanTable::build_profiled(model, d, dy);
        }
        let outer = SpanTable::build_profiled(model, d + k.abs(), dy);
        let small = SpanTable::build_profiled(model, (d - k.abs()).abs(), dy);
        let channels = if k > 0.0 {
            [false, true, false, true]
        } else {
            [true, false, true, true]
        };
        SpanTable {
            chroma: Some((Box::new(small), channels)),
            ..outer
        }
    }

    /// The plain table, or with spherical aberration the disc and its nested inner disc.
    fn build_profiled(model: &DiscModel, d: f64, dy: f64) -> SpanTable {
        let sa = model.sa;
        let plain = SpanTable::build(&model.shape, d, dy);
        if sa == 0.0 || !sa.is_finite() {
            return plain;
        }
        let inner = SpanTable::build(&model.shape, d * SA_INNER_SCALE, dy).weighted(-sa);
        SpanTable {
            inner: Some(Box::new(inner)),
            ..plain.weighted(1.0 + sa)
        }
    }
}

/// Scale of the inner disc of the spherical-aberration profile: half the disc's area.
pub(crate) const SA_INNER_SCALE: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// What shapes one side's discs at one level (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct DiscModel {
    /// The aperture, anamorphic squeeze included.
    pub shape: UnitShape,
    /// Spherical aberration for this side: rim weight `1 + sa`, centre `1 − sa`.
    pub sa: f64,
    /// Chromatic CoC offset in this level's pixels: green `d + k`, red and blue `|d − k|`.
    pub chroma_px: f64,
    /// Cat-eye: the barrel that cuts the shape where the source is (`None`: off).
    pub cat_eye: Option<CatEye>,
}

impl DiscModel {
    /// The plain model of a shape (every trait off).
    #[cfg(test)]
    pub(crate) fn plain(shape: &UnitShape) -> DiscModel {
        DiscModel {
            shape: shape.clone(),
            sa: 0.0,
            chroma_px: 0.0,
            cat_eye: None,
        }
    }

    /// The model of a source at field position `(fx, fy)` (fractions of the image's width and
    /// height, 0.5 the centre): with cat-eye the shape cut to the barrel there (`tables`: see
    /// [`UnitShape::with_barrel`]), else this model.
    pub(crate) fn at_field(&self, (fx, fy): (f64, f64), tables: bool) -> DiscModel {
        match &self.cat_eye {
            None => self.clone(),
            Some(cat_eye) => DiscModel {
                shape: self.shape.with_barrel(cat_eye.barrel_at(fx, fy), tables),
                cat_eye: None,
                ..self.clone()
            },
        }
    }
}

/// Cat-eye (see [`crate::optics::Character`]): the barrel's image is a unit circle centred
/// `shift · (p − c) / |corner − c|` aperture radii from the aperture's centre for a source at
/// `p` (c the image centre, full-resolution pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CatEye {
    /// Signed barrel shift in the frame's corner, aperture radii: `−t_c` on the far side (the
    /// barrel is met against the field direction), `+t_c` on the near side (its discs are
    /// turned half a revolution).
    pub shift: f64,
    /// The full-resolution image's width and height in pixels.
    pub width: usize,
    pub height: usize,
}

impl CatEye {
    /// The barrel's centre for field position `(fx, fy)` (fractions of width and height).
    pub(crate) fn barrel_at(&self, fx: f64, fy: f64) -> [f64; 2] {
        let (w, h) = (self.width as f64, self.height as f64);
        let corner = 0.5 * (w * w + h * h).sqrt();
        let k = self.shift / corner;
        [k * (fx - 0.5) * w, k * (fy - 0.5) * h]
    }
}

/// Cat-eye's optical vignetting (see [`crate::optics::Character`]): the surviving share of the
/// pupil at each pixel, tabulated over the squared field radius (both kernels read the same
/// table).
#[derive(Debug, Clone)]
pub(crate) struct Vignetting {
    /// Transmission at `ρ² = i / VIGNETTING_STEPS`, one entry past the corner.
    table: Vec<f32>,
    centre: (f32, f32),
    /// `VIGNETTING_STEPS / corner radius²`.
    scale: f32,
}

/// Steps of [`Vignetting`]'s table over `ρ² ∈ [0, 1]`.
const VIGNETTING_STEPS: usize = 1024;

impl Vignetting {
    /// The vignetting of a barrel shifted `corner_shift` aperture radii in the corner of an
    /// image `width × height`, seen `scale` times the aperture's size from the sensor (see
    /// [`crate::optics::cat_eye_transmission`]); `None` when there is none.
    pub(crate) fn new(
        corner_shift: f64,
        scale: f64,
        (width, height): (usize, usize),
    ) -> Option<Vignetting> {
        if corner_shift.is_nan() || corner_shift <= 0.0 {
            return None;
        }
        let n = VIGNETTING_STEPS;
        let table = (0..=n + 1)
            .map(|i| {
                let rho = (i as f64 / n as f64).sqrt();
                crate::optics::cat_eye_transmission(corner_shift, scale, rho) as f32
            })
            .collect();
        let (w, h) = (width as f32, height as f32);
        Some(Vignetting {
            table,
            centre: (0.5 * w, 0.5 * h),
            scale: n as f32 / (0.25 * (w * w + h * h)),
        })
    }

    /// The transmission at pixel `(x, y)`.
    #[inline]
    pub(crate) fn at(&self, x: usize, y: usize) -> f32 {
        let (dx, dy) = (
            x as f32 + 0.5 - self.centre.0,
            y as f32 + 0.5 - self.centre.1,
        );
        let pos = ((dx * dx + dy * dy) * self.scale).min(VIGNETTING_STEPS as f32);
        let i = pos as usize;
        let t = pos - i as f32;
        self.table[i] + (self.table[i + 1] - self.table[i]) * t
    }
}

/// Cells per axis of the fast kernel's cat-eye grid (see the module docs).
pub(crate) const FIELD_CELLS: usize = 17;

/// Per cell of the cat-eye grid, its disc model and its tables, each built on first use.
#[derive(Debug)]
struct FieldCells {
    models: Vec<OnceLock<DiscModel>>,
    /// Per cell, per diameter step ([`CELL_STEPS_PER_PX`]), the offset phases
    /// ([`CELL_OFFSET_STEPS_PER_PX`]).
    tables: Vec<OnceLock<Vec<OnceLock<CellPhases>>>>,
}

/// One cat-eye cell's tables of one diameter, per offset phase.
type CellPhases = Box<[OnceLock<SpanTable>; CELL_PHASES]>;

/// Diameter steps per pixel of a cat-eye cell's tables (diameter error < 1/8 px at the level;
/// coarser than [`DIAMETER_STEPS_PER_PX`], as a cell has its own tables to build).
const CELL_STEPS_PER_PX: f32 = 8.0;
/// Vertical offset steps per pixel of a cat-eye cell's tables.
const CELL_OFFSET_STEPS_PER_PX: i32 = 4;
const CELL_PHASES: usize = CELL_OFFSET_STEPS_PER_PX as usize + 1;

impl Clone for FieldCells {
    fn clone(&self) -> Self {
        FieldCells::new(self.models.len())
    }
}

impl FieldCells {
    fn new(cells: usize) -> FieldCells {
        FieldCells {
            models: (0..cells).map(|_| OnceLock::new()).collect(),
            tables: (0..cells).map(|_| OnceLock::new()).collect(),
        }
    }
}

/// A side's span tables for every level (see the module docs).
#[derive(Debug)]
pub(crate) struct LevelTables {
    model: DiscModel,
    max_d: f32,
    /// One set when `chroma_px` is 0 (shared by all levels), else one per level.
    levels: Vec<OnceLock<SpanTables>>,
}

/// Levels [`LevelTables`] keeps apart (coarser ones share the last; `LevelSplit` caps at 40).
const TABLE_LEVELS: usize = 41;

impl LevelTables {
    /// Tables for diameters up to `max_d` level pixels (plus the chromatic offset), `model`
    /// at full resolution.
    pub(crate) fn new(model: DiscModel, max_d: f32) -> LevelTables {
        let count = if model.chroma_px == 0.0 {
            1
        } else {
            TABLE_LEVELS
        };
        LevelTables {
            model,
            max_d,
            levels: (0..count).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The tables of level `level`.
    pub(crate) fn at(&self, level: u32) -> &SpanTables {
        let i = (level as usize).min(self.levels.len() - 1);
        self.levels[i].get_or_init(|| {
            let chroma_px = self.model.chroma_px / f64::from(1u32 << i.min(31));
            let model = DiscModel {
                chroma_px,
                ..self.model.clone()
            };
            SpanTables::with_model(model, self.max_d + chroma_px.abs().ceil() as f32)
        })
    }
}

/// Span tables for every diameter in `0..=max_d` at a fixed step and every vertical centroid
/// offset in ±½ px at a fixed step, for the fast kernel.
#[derive(Debug, Clone)]
pub(crate) struct SpanTables {
    per_px: f32,
    model: DiscModel,
    /// Built on first use: a render needs only the few diameters its scene has.
    tables: Vec<OnceLock<SpanTable>>,
    /// With cat-eye, the cells' own tables (see [`SpanTables::get_at`]).
    field: Option<Box<FieldCells>>,
}

/// Diameter steps per pixel in [`SpanTables`] (diameter error ≤ 1/128 px at the level).
pub(crate) const DIAMETER_STEPS_PER_PX: f32 = 64.0;
/// Vertical offset steps per pixel (offset error ≤ 1/16 px at the level).
const OFFSET_STEPS_PER_PX: i32 = 8;
const PHASES: usize = OFFSET_STEPS_PER_PX as usize + 1;

impl SpanTables {
    /// Tables for diameters up to `max_d` pixels (each built when first asked for; the
    /// content does not depend on which thread builds it).
    #[cfg(test)]
    pub(crate) fn new(shape: &UnitShape, max_d: f32) -> SpanTables {
        SpanTables::with_model(DiscModel::plain(shape), max_d)
    }

    /// Tables of a disc model (see the module docs).
    pub(crate) fn with_model(model: DiscModel, max_d: f32) -> SpanTables {
        let per_px = DIAMETER_STEPS_PER_PX;
        let count = (max_d.max(1.0) * per_px).ceil() as usize + 1;
        let field = model
            .cat_eye
            .map(|_| Box::new(FieldCells::new(FIELD_CELLS * FIELD_CELLS)));
        SpanTables {
            per_px,
            model,
            tables: (0..count * PHASES).map(|_| OnceLock::new()).collect(),
            field,
        }
    }

    /// The diameter step and offset phase of `d` and `dy` (each rounded to the table step; `d`
    /// clamped to the largest, `dy` to ±½).
    #[inline]
    fn index(&self, d: f32, dy: f32) -> (usize, usize) {
        let count = self.tables.len() / PHASES;
        // Through i32: f32 → u64 conversions cost several instructions on x86-64.
        let q = (((d * self.per_px + 0.5) as i32).max(0) as usize).min(count - 1);
        let steps = OFFSET_STEPS_PER_PX as f32;
        let p = ((dy.clamp(-0.5, 0.5) * steps + steps / 2.0 + 0.5) as i32 as usize).min(PHASES - 1);
        (q, p)
    }

    /// The table of `model` at diameter step `q` and phase `p`.
    fn build_at(&self, model: &DiscModel, q: usize, p: usize) -> SpanTable {
        let half = OFFSET_STEPS_PER_PX / 2;
        SpanTable::build_model(
            model,
            q as f64 / f64::from(self.per_px),
            f64::from(p as i32 - half) / f64::from(OFFSET_STEPS_PER_PX),
        )
    }

    /// The table for diameter `d` and vertical centroid offset `dy` (each rounded to the table
    /// step; `d` clamped to the largest, `dy` to ±½), of the shape without cat-eye: with it,
    /// the shape that bounds every cell's (for reaches).
    #[inline]
    pub(crate) fn get(&self, d: f32, dy: f32) -> &SpanTable {
        let (q, p) = self.index(d, dy);
        self.tables[q * PHASES + p].get_or_init(|| self.build_at(&self.model, q, p))
    }

    /// The table for a source pixel at `(x, y)` of an image (level) `width × height`: with
    /// cat-eye its cell's, else [`SpanTables::get`].
    #[inline]
    pub(crate) fn get_at(
        &self,
        d: f32,
        dy: f32,
        (x, y): (usize, usize),
        (width, height): (usize, usize),
    ) -> &SpanTable {
        let Some(field) = &self.field else {
            return self.get(d, dy);
        };
        let cell = field_cell(x, width) + FIELD_CELLS * field_cell(y, height);
        let model = self.cell_model(field, cell);
        // The cell's steps, rounded towards zero so the disc is never larger than `get`'s
        // (whose reach sizes the windows).
        let (q, p) = self.index(d, dy);
        let per_step = (DIAMETER_STEPS_PER_PX / CELL_STEPS_PER_PX) as usize;
        let qc = q / per_step;
        let count = (self.tables.len() / PHASES).div_ceil(per_step);
        let phase_step = OFFSET_STEPS_PER_PX / CELL_OFFSET_STEPS_PER_PX;
        let half = OFFSET_STEPS_PER_PX / 2;
        let pc = ((p as i32 - half) / phase_step + CELL_OFFSET_STEPS_PER_PX / 2) as usize;
        let steps =
            field.tables[cell].get_or_init(|| (0..count).map(|_| OnceLock::new()).collect());
        let phases = steps[qc].get_or_init(|| Box::new(std::array::from_fn(|_| OnceLock::new())));
        phases[pc].get_or_init(|| {
            let p = (pc as i32 - CELL_OFFSET_STEPS_PER_PX / 2) * phase_step + half;
            self.build_at(model, qc * per_step, p as usize)
        })
    }

    /// With cat-eye, the cell of a source at `(x, y)` of an image (level) `width × height`
    /// and its disc model; `None` without.
    pub(crate) fn model_at(
        &self,
        (x, y): (usize, usize),
        (width, height): (usize, usize),
    ) -> Option<(usize, &DiscModel)> {
        let field = self.field.as_ref()?;
        let cell = field_cell(x, width) + FIELD_CELLS * field_cell(y, height);
        Some((cell, self.cell_model(field, cell)))
    }

    fn cell_model<'s>(&'s self, field: &'s FieldCells, cell: usize) -> &'s DiscModel {
        field.models[cell].get_or_init(|| {
            let n = FIELD_CELLS as f64;
            let (col, row) = (cell % FIELD_CELLS, cell / FIELD_CELLS);
            let centre = ((col as f64 + 0.5) / n, (row as f64 + 0.5) / n);
            self.model.at_field(centre, true)
        })
    }
}

/// The cat-eye grid cell (one axis) of pixel `i` of `n`.
#[inline]
fn field_cell(i: usize, n: usize) -> usize {
    let c = ((i as f32 + 0.5) * (FIELD_CELLS as f32 / n.max(1) as f32)) as i32;
    (c.max(0) as usize).min(FIELD_CELLS - 1)
}

/// Exact-by-supersampling coverage of the shape of diameter `d` centred on a pixel centre:
/// `(dx, dy, weight)` for every destination pixel offset it touches, weights summing to 1.
/// Pixels whose four corners are inside count 1, pixels farther than the radius count 0, the
/// rest are sampled on an `ss × ss` grid. (Reference kernel only.)
pub(crate) fn coverage(shape: &UnitShape, d: f64, ss: usize) -> Vec<(i32, i32, f64)> {
    let r = 0.5 * d;
    let own = vec![(0, 0, 1.0)];
    if r.is_nan() || r <= 1e-6 {
        return own;
    }
    let reach = (r + 0.5).ceil() as i32;
    let inside = |x: f64, y: f64| shape.contains(x / r, y / r);
    let mut out = Vec::new();
    let mut total = 0.0;
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            // Pixel square relative to the source pixel centre.
            let (x0, y0) = (f64::from(dx) - 0.5, f64::from(dy) - 0.5);
            let (x1, y1) = (x0 + 1.0, y0 + 1.0);
            let nx = 0.0f64.clamp(x0, x1);
            let ny = 0.0f64.clamp(y0, y1);
            if nx * nx + ny * ny > r * r {
                continue;
            }
            let cov = if inside(x0, y0) && inside(x1, y0) && inside(x0, y1) && inside(x1, y1) {
                1.0
            } else {
                let mut hits = 0usize;
                for sy in 0..ss {
                    let y = y0 + (sy as f64 + 0.5) / ss as f64;
                    for sx in 0..ss {
                        let x = x0 + (sx as f64 + 0.5) / ss as f64;
                        if inside(x, y) {
                            hits += 1;
                        }
                    }
                }
                hits as f64 / (ss * ss) as f64
            };
            if cov > 0.0 {
                out.push((dx, dy, cov));
                total += cov;
            }
        }
    }
    if total <= 0.0 {
        return own;
    }
    for o in &mut out {
        o.2 /= total;
    }
    out
}

/// [`coverage_model`] of the disc of a source pixel at `(x, y)` of a full-resolution image,
/// its exact cat-eye shape included. (Reference kernel only.)
pub(crate) fn coverage_model_at(
    model: &DiscModel,
    d: f64,
    ss: usize,
    (x, y): (usize, usize),
) -> Vec<(i32, i32, ChannelWeights)> {
    match &model.cat_eye {
        None => coverage_model(model, d, ss),
        Some(c) => {
            let at = (
                (x as f64 + 0.5) / c.width as f64,
                (y as f64 + 0.5) / c.height as f64,
            );
            coverage_model(&model.at_field(at, false), d, ss)
        }
    }
}

/// Per-channel weights `[r, g, b, w]` of a destination pixel offset.
pub(crate) type ChannelWeights = [f64; 4];

/// [`coverage`] of a disc model at diameter `d` (full resolution): per destination offset the
/// weight of each of `[r, g, b, w]`, each channel's weights summing to 1 (spherical
/// aberration as the weighted nested shapes, chromatic aberration as each channel's own
/// diameter). Below one pixel the disc is plain, as the fast kernel keeps it on its pixel.
/// (Reference kernel only.)
pub(crate) fn coverage_model(
    model: &DiscModel,
    d: f64,
    ss: usize,
) -> Vec<(i32, i32, ChannelWeights)> {
    let profiled = |d: f64| -> Vec<(i32, i32, f64)> {
        let outer = coverage(&model.shape, d, ss);
        if model.sa == 0.0 {
            return outer;
        }
        let mut sum: BTreeMap<(i32, i32), f64> = BTreeMap::new();
        for (dx, dy, k) in outer {
            *sum.entry((dx, dy)).or_default() += (1.0 + model.sa) * k;
        }
        for (dx, dy, k) in coverage(&model.shape, d * SA_INNER_SCALE, ss) {
            *sum.entry((dx, dy)).or_default() -= model.sa * k;
        }
        sum.into_iter().map(|((dx, dy), k)| (dx, dy, k)).collect()
    };
    if model.cat_eye.is_some() {
        // Without a field position: the cat-eye's bounding shape (callers use
        // `coverage_model_at`).
        let plain = DiscModel {
            cat_eye: None,
            ..model.clone()
        };
        return coverage_model(&plain, d, ss);
    }
    let k = model.chroma_px;
    if d < 1.0 {
        return coverage(&model.shape, d, ss)
            .into_iter()
            .map(|(dx, dy, w)| (dx, dy, [w; 4]))
            .collect();
    }
    if k == 0.0 {
        return profiled(d)
            .into_iter()
            .map(|(dx, dy, w)| (dx, dy, [w; 4]))
            .collect();
    }
    let (green, magenta) = (profiled((d + k).abs()), profiled((d - k).abs()));
    let mut sum: BTreeMap<(i32, i32), ChannelWeights> = BTreeMap::new();
    // The weight goes with the larger disc (see `SpanTable::build_model`).
    let w_with_green = k > 0.0;
    for (dx, dy, w) in green {
        let e = sum.entry((dx, dy)).or_default();
        e[1] += w;
        if w_with_green {
            e[3] += w;
        }
    }
    for (dx, dy, w) in magenta {
        let e = sum.entry((dx, dy)).or_default();
        e[0] += w;
        e[2] += w;
        if !w_with_green {
            e[3] += w;
        }
    }
    sum.into_iter().map(|((dx, dy), w)| (dx, dy, w)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circle() -> UnitShape {
        UnitShape::new(&ApertureShape::default())
    }

    fn hexagon(curvature: f64) -> UnitShape {
        UnitShape::new(&ApertureShape {
            blades: 6,
            blade_rotation_deg: 0.0,
            blade_curvature: curvature,
        })
    }

    fn table_area(t: &SpanTable) -> f64 {
        t.rows.iter().map(|r| f64::from(r.e - r.s)).sum::<f64>()
    }

    #[test]
    fn span_areas_match_the_shape_area() {
        let c = circle();
        for d in [3.0, 8.0, 15.5] {
            let t = SpanTable::build(&c, d, 0.0);
            let area = table_area(&t);
            let want = std::f64::consts::PI * d * d / 4.0;
            assert!((area - want).abs() / want < 2e-3, "{d}: {area} vs {want}");
            assert!((f64::from(t.rho) * area - 1.0).abs() < 1e-5);
        }
        let h = hexagon(0.0);
        let d = 12.0;
        let t = SpanTable::build(&h, d, 0.0);
        let want = 1.5 * 3f64.sqrt() * (d / 2.0) * (d / 2.0);
        let area = table_area(&t);
        assert!((area - want).abs() / want < 2e-3, "{area} vs {want}");
    }

    #[test]
    fn reach_never_shrinks_as_the_diameter_grows() {
        // The renderer takes a row's reach from its largest diameter alone.
        let five = UnitShape::new(&ApertureShape {
            blades: 5,
            blade_rotation_deg: 17.0,
            blade_curvature: 0.3,
        });
        for shape in [circle(), hexagon(0.0), hexagon(0.5), five] {
            let tables = SpanTables::new(&shape, 25.0);
            let mut last = -1;
            for q in 0..=25 * DIAMETER_STEPS_PER_PX as usize {
                let reach = tables.get(q as f32 / DIAMETER_STEPS_PER_PX, 0.0).reach;
                assert!(reach >= last, "diameter {q}/64: reach {reach} < {last}");
                last = reach;
            }
        }
    }

    #[test]
    fn weights_sum_to_one() {
        for shape in [circle(), hexagon(0.0), hexagon(0.5)] {
            for d in [0.0, 0.5, 1.0, 2.7, 9.0, 15.9] {
                let t = SpanTable::build(&shape, d, 0.25);
                let sum: f64 = t
                    .rows
                    .iter()
                    .map(|r| r.c.iter().map(|&c| f64::from(c)).sum::<f64>())
                    .sum();
                // The four updates of a row cancel; the weight is c0 + c1 (pixels up to i1).
                assert!(sum.abs() < 1e-5, "{sum}");
                let mass: f64 = t
                    .rows
                    .iter()
                    .map(|r| f64::from(t.rho) * f64::from(r.e - r.s))
                    .sum();
                assert!((mass - 1.0).abs() < 1e-5, "{d}: {mass}");
                let cov: f64 = coverage(&shape, d, 8).iter().map(|c| c.2).sum();
                assert!((cov - 1.0).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn hexagon_has_a_vertex_up_and_flat_sides() {
        let h = hexagon(0.0);
        assert!(h.contains(0.0, -0.99));
        assert!(h.contains(0.0, 0.99));
        assert!(!h.contains(0.99, 0.0));
        assert!(h.contains(0.86, 0.0));
        assert!(!h.contains(0.88, 0.0));
        // Fully curved blades are the circle.
        let round = hexagon(1.0);
        assert!(round.contains(0.99, 0.0));
        // Half-curved lies between.
        let half = hexagon(0.5);
        assert!(half.contains(0.88, 0.0) && !half.contains(0.99, 0.0));
    }

    /// Total weight of a table, its nested disc and its chromatic disc, per channel.
    fn channel_mass(t: &SpanTable) -> [f64; 4] {
        let own = |t: &SpanTable| -> f64 {
            let mass = |t: &SpanTable| {
                t.rows
                    .iter()
                    .map(|r| f64::from(t.rho) * f64::from(r.e - r.s))
                    .sum::<f64>()
            };
            mass(t) + t.inner.as_deref().map_or(0.0, mass)
        };
        match &t.chroma {
            None => [own(t); 4],
            Some((small, channels)) => {
                std::array::from_fn(|c| if channels[c] { own(t) } else { own(small) })
            }
        }
    }

    #[test]
    fn lens_character_tables_keep_every_channel_whole() {
        let shape = UnitShape::squeezed(&ApertureShape::default(), 1.5);
        // The squeezed disc: area π·r²/1.5, height unchanged.
        let t = SpanTable::build(&shape, 30.0, 0.0);
        let want = std::f64::consts::PI * 225.0 / 1.5;
        assert!((table_area(&t) - want).abs() / want < 2e-3);
        assert!(shape.contains(0.0, 0.99) && !shape.contains(0.7, 0.0));
        for (sa, chroma_px) in [(0.0, 0.0), (0.6, 0.0), (-0.4, 2.5), (0.0, -3.0), (1.0, 1.0)] {
            let model = DiscModel {
                shape: shape.clone(),
                sa,
                chroma_px,
                cat_eye: None,
            };
            for d in [1.0, 4.5, 20.0] {
                let t = SpanTable::build_model(&model, d, 0.25);
                for m in channel_mass(&t) {
                    assert!((m - 1.0).abs() < 1e-4, "{sa} {chroma_px} {d}: {m}");
                }
                // The reach is the larger disc's.
                let plain = SpanTable::build(&shape, d + chroma_px.abs(), 0.25);
                assert_eq!(t.reach, plain.reach);
                // The reference kernel's weights also sum to 1 per channel.
                let cov = coverage_model(&model, d, 4);
                for c in 0..4 {
                    let sum: f64 = cov.iter().map(|w| w.2[c]).sum();
                    assert!((sum - 1.0).abs() < 1e-9, "{sa} {chroma_px} {d}: {sum}");
                }
            }
        }
        // Green is the larger disc behind the focus (positive offset), magenta in front.
        let behind = DiscModel {
            shape: shape.clone(),
            sa: 0.0,
            chroma_px: 2.0,
            cat_eye: None,
        };
        let t = SpanTable::build_model(&behind, 10.0, 0.0);
        assert_eq!(t.chroma.as_ref().unwrap().1, [false, true, false, true]);
        // With every trait off the table is exactly the plain one.
        let plain = SpanTable::build(&circle(), 10.0, 0.0);
        let same = SpanTable::build_model(&DiscModel::plain(&circle()), 10.0, 0.0);
        assert!(same.inner.is_none() && same.chroma.is_none());
        assert_eq!(plain.rho, same.rho);
        for (a, b) in plain.rows.iter().zip(&same.rows) {
            assert_eq!((a.c, a.s, a.e), (b.c, b.s, b.e));
        }
    }

    #[test]
    fn cat_eye_cells_cut_lemons_that_lie_inside_the_plain_disc() {
        let model = DiscModel {
            cat_eye: Some(CatEye {
                shift: -1.0,
                width: 400,
                height: 300,
            }),
            ..DiscModel::plain(&circle())
        };
        let tables = SpanTables::with_model(model.clone(), 25.0);
        // The centre cells are nearly round, the corner's cut by the barrel towards the
        // centre (far side: the barrel's centre is up and left of the lower right corner's).
        let centre = tables.get_at(20.0, 0.0, (200, 150), (400, 300));
        let corner = tables.get_at(20.0, 0.0, (399, 299), (400, 300));
        let plain = tables.get(20.0, 0.0);
        let area = |t: &SpanTable| table_area(t);
        assert!(area(centre) > 0.95 * area(plain));
        assert!(area(corner) < 0.75 * area(plain), "{}", area(corner));
        assert!(corner.reach <= plain.reach && centre.reach <= plain.reach);
        // The same cell at a coarser level (half the size) is the same table.
        let coarse = tables.get_at(20.0, 0.0, (199, 149), (200, 150));
        assert!(std::ptr::eq(coarse, corner));
        // The exact shape of the corner pixel: inside the unit circle and the barrel.
        let exact = model.at_field((399.5 / 400.0, 299.5 / 300.0), false);
        let b = CatEye {
            shift: -1.0,
            width: 400,
            height: 300,
        }
        .barrel_at(399.5 / 400.0, 299.5 / 300.0);
        assert!(b[0] < -0.75 && b[1] < -0.55, "{b:?}");
        assert!(exact.shape.contains(-0.3, -0.3) && !exact.shape.contains(0.6, 0.5));
        let cov = coverage_model_at(&model, 20.0, 4, (399, 299));
        let sum: f64 = cov.iter().map(|w| w.2[3]).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        // Long axis tangential: at the right edge's middle the lemon is taller than wide.
        let edge = tables.get_at(30.0, 0.0, (399, 150), (400, 300));
        let width = edge
            .rows
            .iter()
            .map(|r| f64::from(r.e - r.s))
            .fold(0.0, f64::max);
        assert!(
            edge.rows.len() as f64 > 1.2 * width,
            "{} {width}",
            edge.rows.len()
        );
    }

    #[test]
    fn small_diameters_stay_on_their_pixel() {
        let t = SpanTable::build(&circle(), 0.9, 0.0);
        assert_eq!(t.rows.len(), 1);
        assert_eq!((t.rows[0].i0, t.rows[0].i1), (0, 0));
    }
}
