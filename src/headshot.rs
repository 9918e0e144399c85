//! The headshot check: does the face stand out from its background, at full size and at the
//! sizes profile photos are seen at (48 px thumbnails, 32 px circles)?
//!
//! Pure measurements on a finished image (blurred or studio) and its subject matte:
//!
//! * **face** — the head that auto focus finds in the matte ([`crate::head::find_head`]):
//!   inside its ellipse, the face part (below the top 30 % of the head, the middle 70 % of its
//!   breadth) where the matte is ≥ 0.9, skin pixels only (YCbCr `77 ≤ Cb ≤ 127`,
//!   `133 ≤ Cr ≤ 173`; all of the region when under 20 % of it is skin). Without a head, the
//!   top quarter of the subject.
//! * **contrast** — [`crate::backdrop::contrast_ratio`] of the face's mean relative luminance
//!   and the background's (matte ≤ 0.1): over the whole image, and in the headshot crop (a
//!   square 1.8 head heights wide on the face) downscaled in linear light to 48×48 and to 32×32
//!   inside its inscribed circle, where face (face mask ≥ ½) and background (matte ≤ 0.1)
//!   pixels mix at the edges.
//! * **warnings** — `low-contrast`: the 32 px circle's contrast is under [`LOW_CONTRAST`];
//!   `camouflage`: the background in the crop is within [`CAMOUFLAGE_DELTA_E`] (CIE ΔE*ab) of
//!   the skin or of the clothing (subject below the chin); `backlight`: the brighter quarter of
//!   the background in the crop (its 75th percentile) has at least [`BACKLIGHT_RATIO`] times the
//!   contrast ratio above the face; `busy-background`: the background's remaining detail energy
//!   ([`background_detail`]) is at least [`BUSY_DETAIL`].

use serde::Serialize;

pub use crate::backdrop::BACKLIGHT_RATIO;
use crate::backdrop::{
    BackdropName, Background, Light, Tone, ToneChoice, choose_tone_lit, contrast_ratio, luminance,
    srgb8_to_linear,
};
use crate::head::{HEAD_BREADTH_M, HEAD_HEIGHT_M, find_head};
use crate::io::colour::linear_to_srgb;
use crate::scene::{LinearRgb, Plane};

/// Contrast under this in the 32 px circle: the face blurs into the background.
pub const LOW_CONTRAST: f32 = 1.5;
/// Background within this CIE ΔE*ab (1976) of the skin or the clothing: camouflage.
pub const CAMOUFLAGE_DELTA_E: f32 = 15.0;
/// Background detail (RMS, sRGB units) at or above which the background competes with the
/// face.
pub const BUSY_DETAIL: f32 = 0.03;
/// [`background_detail`] works at a scale where the head is this many pixels wide.
pub const DETAIL_HEAD_PX: f32 = 64.0;

/// Where the face was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaceSource {
    /// The head found in the matte.
    Head,
    /// No head found: the top quarter of the subject.
    SubjectTop,
}

/// The face region of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    pub source: FaceSource,
    /// 1 on the face's (skin) pixels, 0 elsewhere; the image's size.
    pub mask: Plane,
    /// True when the mask holds skin pixels only.
    pub skin_only: bool,
    /// Mean linear colour and relative luminance over the mask.
    pub colour: [f32; 3],
    pub luminance: f32,
    /// Head centre (pixels) and height (crown to chin, pixels).
    pub centre: (f32, f32),
    pub head_height_px: f32,
    pub head_breadth_px: f32,
}

/// Skin in 8-bit YCbCr (Chai & Ngan): `77 ≤ Cb ≤ 127`, `133 ≤ Cr ≤ 173`.
pub(crate) fn is_skin(rgb_linear: [f32; 3]) -> bool {
    let [r, g, b] = rgb_linear.map(|v| 255.0 * linear_to_srgb(v.clamp(0.0, 1.0)));
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    (77.0..=127.0).contains(&cb) && (133.0..=173.0).contains(&cr)
}

fn sane(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Finds the face (see the module documentation); `None` when the matte holds no subject.
pub fn find_face(image: &LinearRgb, matte: &Plane) -> Option<Face> {
    let (w, h) = (image.width(), image.height());
    if (matte.width(), matte.height()) != (w, h) || w == 0 || h == 0 {
        return None;
    }
    let ratio = (HEAD_HEIGHT_M / HEAD_BREADTH_M) as f32;
    let (source, cx, crown, breadth, height) = match find_head(matte) {
        Some(head) => {
            let b = head.breadth_px as f32;
            (
                FaceSource::Head,
                head.centre_x as f32,
                head.crown_row as f32,
                b,
                b * ratio,
            )
        }
        None => {
            // The subject's extent (matte ≥ 0.5).
            let (mut x0, mut x1, mut y0, mut y1) = (w, 0, h, 0);
            for y in 0..h {
                for (x, &m) in matte.row(y).iter().enumerate() {
                    if m >= 0.5 {
                        (x0, x1, y0, y1) = (x0.min(x), x1.max(x + 1), y0.min(y), y1.max(y + 1));
                    }
                }
            }
            if x1 <= x0 {
                return None;
            }
            // Face rows (crown + 0.3·H … crown + H) = the top quarter of the subject.
            let height = (y1 - y0) as f32 / 4.0 / 0.7;
            (
                FaceSource::SubjectTop,
                (x0 + x1) as f32 / 2.0,
                y0 as f32 - 0.3 * height,
                height / ratio,
                height,
            )
        }
    };
    let cy = crown + height / 2.0;
    let inside = |x: usize, y: usize| {
        let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
        let (dx, dy) = ((xf - cx) / (breadth / 2.0), (yf - cy) / (height / 2.0));
        dx * dx + dy * dy <= 1.0
            && yf >= crown + 0.3 * height
            && (xf - cx).abs() <= 0.35 * breadth
            && matte.at(x, y) >= 0.9
    };
    let (xa, xb) = (
        (cx - breadth / 2.0).floor().max(0.0) as usize,
        ((cx + breadth / 2.0).ceil().max(0.0) as usize).min(w),
    );
    let (ya, yb) = (
        (crown + 0.3 * height).floor().max(0.0) as usize,
        ((crown + height).ceil().max(0.0) as usize).min(h),
    );
    let mut region = Vec::new();
    let mut skin = Vec::new();
    for y in ya..yb {
        for x in xa..xb {
            if inside(x, y) {
                region.push((x, y));
                if is_skin(image.at(x, y)) {
                    skin.push((x, y));
                }
            }
        }
    }
    if region.is_empty() {
        return None;
    }
    let skin_only = skin.len() * 5 >= region.len();
    let pixels = if skin_only { &skin } else { &region };
    let mut mask = Plane::filled(w, h, 0.0);
    let mut sum = [0.0f64; 3];
    for &(x, y) in pixels {
        mask.data_mut()[y * w + x] = 1.0;
        let c = image.at(x, y).map(sane);
        for k in 0..3 {
            sum[k] += c[k] as f64;
        }
    }
    let colour = sum.map(|s| (s / pixels.len() as f64) as f32);
    Some(Face {
        source,
        mask,
        skin_only,
        colour,
        luminance: luminance(colour),
        centre: (cx, cy),
        head_height_px: height,
        head_breadth_px: breadth,
    })
}

/// CIE L*a*b* (D65) of a linear sRGB colour.
pub(crate) fn lab(rgb: [f32; 3]) -> [f32; 3] {
    let [r, g, b] = rgb.map(sane);
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.950_47;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.088_83;
    let f = |t: f32| {
        if t > 0.008_856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIE ΔE*ab (1976) of two linear colours.
pub(crate) fn delta_e(a: [f32; 3], b: [f32; 3]) -> f32 {
    let (a, b) = (lab(a), lab(b));
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Luminosity contrast of the face with its background at three sizes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Contrast {
    /// Whole image: face vs every background pixel.
    pub full: f32,
    /// The headshot crop at 48×48 (`None`: no face or background pixel left).
    pub thumb_48px: Option<f32>,
    /// The headshot crop at 32×32, inside the circle.
    pub circle_32px: Option<f32>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// `low-contrast`, `camouflage`, `backlight` or `busy-background`.
    pub kind: &'static str,
    pub message: String,
}

/// The headshot check's findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadshotCheck {
    pub face: FaceSource,
    /// The face's luminance is from skin pixels only.
    pub skin_pixels: bool,
    /// Mean relative luminance (linear) of the face and of the background.
    pub face_luminance: f32,
    pub background_luminance: f32,
    pub contrast: Contrast,
    /// ΔE*ab of the background near the face (in the crop) from the skin and the clothing.
    pub skin_delta_e: Option<f32>,
    pub clothing_delta_e: Option<f32>,
    /// Contrast ratio of the brighter quarter of the nearby background over the face (1 when
    /// it is darker).
    pub backlight_ratio: Option<f32>,
    /// RMS detail left in the background (sRGB units), see [`background_detail`].
    pub background_detail: Option<f32>,
    pub warnings: Vec<Warning>,
}

fn round(v: f32, digits: i32) -> f32 {
    let s = 10f32.powi(digits);
    (v * s).round() / s
}

/// Side of the headshot crop, in head heights (crown to chin): the head fills a little over
/// half of it, as in a profile picture.
pub const CROP_HEAD_HEIGHTS: f32 = 1.8;

/// The headshot crop: a square [`CROP_HEAD_HEIGHTS`] head heights wide centred on the face,
/// shifted (and shrunk) to fit the image. `(x0, y0, side)`.
pub fn crop(face: &Face, w: usize, h: usize) -> (usize, usize, usize) {
    let side = ((CROP_HEAD_HEIGHTS * face.head_height_px).round() as usize).clamp(1, w.min(h));
    let x0 = (face.centre.0 - side as f32 / 2.0).round().max(0.0) as usize;
    let y0 = (face.centre.1 - side as f32 / 2.0).round().max(0.0) as usize;
    (x0.min(w - side), y0.min(h - side), side)
}

fn crop_plane(p: &Plane, x0: usize, y0: usize, side: usize) -> Plane {
    let mut data = Vec::with_capacity(side * side);
    for y in y0..y0 + side {
        data.extend_from_slice(&p.row(y)[x0..x0 + side]);
    }
    Plane::from_vec(side, side, data)
}

/// Contrast of face (mask ≥ ½) and background (matte ≤ 0.1) pixels of `lum` where `keep`.
fn masked_contrast(
    lum: &Plane,
    face: &Plane,
    matte: &Plane,
    keep: impl Fn(usize, usize) -> bool,
) -> Option<f32> {
    let (mut f, mut nf, mut b, mut nb) = (0.0f64, 0usize, 0.0f64, 0usize);
    for y in 0..lum.height() {
        for x in 0..lum.width() {
            if !keep(x, y) {
                continue;
            }
            let v = sane(lum.at(x, y)) as f64;
            if face.at(x, y) >= 0.5 {
                f += v;
                nf += 1;
            } else if matte.at(x, y) <= 0.1 {
                b += v;
                nb += 1;
            }
        }
    }
    (nf > 0 && nb > 0).then(|| contrast_ratio((f / nf as f64) as f32, (b / nb as f64) as f32))
}

/// The background's remaining detail: the image is scaled (in linear light) so the head is
/// [`DETAIL_HEAD_PX`] wide (never enlarged), its sRGB-encoded luminance is compared with its
/// 5×5 mean, and the RMS of that difference is taken over background pixels whose whole 5×5
/// neighbourhood has matte ≤ 0.05. `None` when there are none.
/// `luminance` is the image's relative luminance (linear).
pub fn background_detail(luminance: &Plane, matte: &Plane, head_breadth_px: f32) -> Option<f32> {
    let scale = (DETAIL_HEAD_PX / head_breadth_px.max(1.0)).min(1.0);
    let w = ((luminance.width() as f32 * scale).round() as usize).max(1);
    let h = ((luminance.height() as f32 * scale).round() as usize).max(1);
    let lum = luminance.resized(w, h);
    let m = matte.resized(w, h);
    let enc: Vec<f32> = lum
        .data()
        .iter()
        .map(|&v| linear_to_srgb(sane(v)))
        .collect();
    let (mut sum2, mut n) = (0.0f64, 0usize);
    for y in 2..h.saturating_sub(2) {
        for x in 2..w.saturating_sub(2) {
            let mut mean = 0.0;
            let mut clear = true;
            for yy in y - 2..=y + 2 {
                for xx in x - 2..=x + 2 {
                    mean += enc[yy * w + xx];
                    clear &= m.at(xx, yy) <= 0.05;
                }
            }
            if clear {
                let d = enc[y * w + x] - mean / 25.0;
                sum2 += (d * d) as f64;
                n += 1;
            }
        }
    }
    (n > 0).then(|| (sum2 / n as f64).sqrt() as f32)
}

/// Runs the headshot check on `image` (linear) with its subject `matte`; `None` when the
/// matte holds no subject or no face region.
pub fn check(image: &LinearRgb, matte: &Plane) -> Option<HeadshotCheck> {
    let (w, h) = (image.width(), image.height());
    let face = find_face(image, matte)?;
    let lum = image.luminance();
    // Whole-image background and clothing.
    let (mut bg, mut nbg) = (0.0f64, 0usize);
    let mut clothes = [0.0f64; 4];
    let chin = face.centre.1 + face.head_height_px / 2.0;
    for y in 0..h {
        let yf = y as f32 + 0.5;
        let clothing_row =
            yf > chin + 0.2 * face.head_height_px && yf < chin + 1.5 * face.head_height_px;
        for x in 0..w {
            let i = y * w + x;
            let m = matte.data()[i];
            if m <= 0.1 {
                bg += sane(lum.data()[i]) as f64;
                nbg += 1;
            } else if clothing_row
                && m >= 0.9
                && (x as f32 + 0.5 - face.centre.0).abs() <= 1.5 * face.head_breadth_px
            {
                let c = image.at(x, y).map(sane);
                for k in 0..3 {
                    clothes[k] += c[k] as f64;
                }
                clothes[3] += 1.0;
            }
        }
    }
    let background_luminance = if nbg > 0 {
        (bg / nbg as f64) as f32
    } else {
        f32::NAN
    };
    let full = contrast_ratio(face.luminance, background_luminance);

    // The headshot crop, at full size and downscaled.
    let (x0, y0, side) = crop(&face, w, h);
    let c_lum = crop_plane(&lum, x0, y0, side);
    let c_face = crop_plane(&face.mask, x0, y0, side);
    let c_matte = crop_plane(matte, x0, y0, side);
    let small = |n: usize| {
        (
            c_lum.resized(n, n),
            c_face.resized(n, n),
            c_matte.resized(n, n),
        )
    };
    let (l48, f48, m48) = small(48);
    let thumb_48px = masked_contrast(&l48, &f48, &m48, |_, _| true);
    let (l32, f32_, m32) = small(32);
    let circle_32px = masked_contrast(&l32, &f32_, &m32, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - 16.0, y as f32 + 0.5 - 16.0);
        dx * dx + dy * dy <= 256.0
    });

    // The background near the face: its colour and its brighter quarter.
    let mut near = [0.0f64; 4];
    let mut near_lum = Vec::new();
    let stride = (side * side / 250_000).max(1);
    for y in y0..y0 + side {
        for x in x0..x0 + side {
            let i = y * w + x;
            if matte.data()[i] > 0.1 {
                continue;
            }
            let c = image.at(x, y).map(sane);
            for k in 0..3 {
                near[k] += c[k] as f64;
            }
            near[3] += 1.0;
            if i % stride == 0 {
                near_lum.push(sane(lum.data()[i]));
            }
        }
    }
    let near_colour = (near[3] > 0.0).then(|| [0, 1, 2].map(|k| (near[k] / near[3]) as f32));
    let clothing = (clothes[3] > 0.0).then(|| [0, 1, 2].map(|k| (clothes[k] / clothes[3]) as f32));
    let skin_delta_e = near_colour.map(|n| delta_e(face.colour, n));
    let clothing_delta_e = near_colour.zip(clothing).map(|(n, c)| delta_e(c, n));
    let backlight_ratio = (!near_lum.is_empty()).then(|| {
        let k = (near_lum.len() - 1) * 3 / 4;
        let (_, p75, _) = near_lum.select_nth_unstable_by(k, f32::total_cmp);
        if *p75 > face.luminance {
            contrast_ratio(*p75, face.luminance)
        } else {
            1.0
        }
    });
    let detail = background_detail(&lum, matte, face.head_breadth_px);

    let mut warnings = Vec::new();
    let mut warn = |kind: &'static str, message: String| warnings.push(Warning { kind, message });
    let shown = circle_32px.or(thumb_48px).unwrap_or(full);
    if shown < LOW_CONTRAST {
        warn(
            "low-contrast",
            format!(
                "face and background have similar luminosity ({shown:.2}:1 in a 32 px circle, under {LOW_CONTRAST}:1): the face blurs into the background at thumbnail size"
            ),
        );
    }
    if let Some(d) = skin_delta_e.filter(|d| *d < CAMOUFLAGE_DELTA_E) {
        warn(
            "camouflage",
            format!(
                "the background's colour is close to the skin's (ΔE {d:.1}, under {CAMOUFLAGE_DELTA_E})"
            ),
        );
    }
    if let Some(d) = clothing_delta_e.filter(|d| *d < CAMOUFLAGE_DELTA_E) {
        warn(
            "camouflage",
            format!(
                "the background's colour is close to the clothing's (ΔE {d:.1}, under {CAMOUFLAGE_DELTA_E})"
            ),
        );
    }
    if let Some(r) = backlight_ratio.filter(|r| *r >= BACKLIGHT_RATIO) {
        warn(
            "backlight",
            format!(
                "the background is much brighter than the face ({r:.1}:1, from {BACKLIGHT_RATIO}:1): backlit, the face risks a silhouette"
            ),
        );
    }
    if let Some(d) = detail.filter(|d| *d >= BUSY_DETAIL) {
        warn(
            "busy-background",
            format!(
                "the background is busy (remaining detail {d:.3}, from {BUSY_DETAIL}): it competes with the face"
            ),
        );
    }
    let r3 = |v: f32| round(v, 3);
    Some(HeadshotCheck {
        face: face.source,
        skin_pixels: face.skin_only,
        face_luminance: round(face.luminance, 4),
        background_luminance: round(background_luminance, 4),
        contrast: Contrast {
            full: r3(full),
            thumb_48px: thumb_48px.map(r3),
            circle_32px: circle_32px.map(r3),
        },
        skin_delta_e: skin_delta_e.map(|v| round(v, 1)),
        clothing_delta_e: clothing_delta_e.map(|v| round(v, 1)),
        backlight_ratio: backlight_ratio.map(r3),
        background_detail: detail.map(|v| round(v, 4)),
        warnings,
    })
}

impl HeadshotCheck {
    /// One line for humans: the contrast figures and the warnings' kinds.
    pub fn summary(&self) -> String {
        let opt = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{v:.2}:1"));
        let mut line = format!(
            "headshot: face {:.3} vs background {:.3}, contrast {:.2}:1 (48 px {}, 32 px circle {})",
            self.face_luminance,
            self.background_luminance,
            self.contrast.full,
            opt(self.contrast.thumb_48px),
            opt(self.contrast.circle_32px)
        );
        if self.warnings.is_empty() {
            line.push_str(", no warnings");
        } else {
            let kinds: Vec<&str> = self.warnings.iter().map(|w| w.kind).collect();
            line.push_str(&format!(", warnings: {}", kinds.join(", ")));
        }
        line
    }
}

/// A studio tone resolved for one photo.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTone {
    /// `studio:NAME` or `studio:#RRGGBB`, with `(auto, face 0.31, contrast 2.4:1)` when chosen.
    pub label: String,
    /// The tone in linear light.
    pub linear: [f32; 3],
    /// The automatic choice, when there was one.
    pub choice: Option<ToneChoice>,
    /// The paper's mean light gain behind the face (in the headshot crop) the choice used.
    pub light_gain: Option<f32>,
}

/// Mean [`Light::gain`] of `light` over the background (matte ≤ 0.1) of the face's crop; 1
/// when it has none.
pub fn light_gain_near_face(light: &Light, face: &Face, matte: &Plane) -> f32 {
    let (x0, y0, side) = crop(face, matte.width(), matte.height());
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in y0..y0 + side {
        for x in x0..x0 + side {
            if matte.at(x, y) <= 0.1 {
                sum += light.gain(x, y) as f64;
                n += 1;
            }
        }
    }
    if n > 0 { (sum / n as f64) as f32 } else { 1.0 }
}

/// Resolves `tone` for the photo `color` with subject `matte`: [`Tone::Auto`] measures the
/// face ([`find_face`], skin pixels) and applies [`choose_tone_lit`] with the paper's light
/// gain around the face ([`light_gain_near_face`]); without a face it is medium grey, the
/// guides' default.
pub fn resolve_tone(tone: Tone, color: &LinearRgb, matte: &Plane) -> ResolvedTone {
    let named = |n: BackdropName| (format!("studio:{}", n.name()), srgb8_to_linear(n.srgb8()));
    match tone {
        Tone::Named(n) => {
            let (label, linear) = named(n);
            ResolvedTone {
                label,
                linear,
                choice: None,
                light_gain: None,
            }
        }
        Tone::Custom(rgb) => ResolvedTone {
            label: Background::Studio(tone).to_string(),
            linear: srgb8_to_linear(rgb),
            choice: None,
            light_gain: None,
        },
        Tone::Auto => match find_face(color, matte) {
            Some(face) => {
                let gain = light_gain_near_face(&Light::behind_subject(matte), &face, matte);
                let choice = choose_tone_lit(face.luminance, gain);
                let (label, linear) = named(choice.name);
                ResolvedTone {
                    label: format!(
                        "{label} (auto: face {:.3}, contrast {:.2}:1)",
                        face.luminance, choice.contrast
                    ),
                    linear,
                    choice: Some(choice),
                    light_gain: Some(gain),
                }
            }
            None => {
                let (label, linear) = named(BackdropName::MediumGrey);
                ResolvedTone {
                    label: format!("{label} (auto: no face found)"),
                    linear,
                    choice: None,
                    light_gain: None,
                }
            }
        },
    }
}
