//! Contact-sheet tiles for `fstop compare --backgrounds`: one background (the lens blur or a
//! studio backdrop) rendered at tile size, labelled with the headshot check's contrast figures
//! and warnings, with its 48 px thumbnail and 32 px circle beside it.

use fstop::backdrop::{Background, Tone};
use fstop::headshot::{self, Face};
use fstop::optics::ValidLens;
use fstop::pipeline::{self, Look};
use fstop::render::RenderOptions;
use fstop::scene::{LinearRgb, Plane, Scene};

use super::compare::{BACKGROUND, Tile, blit};
use super::progress::Ui;

/// Side of the headshot thumbnail and of the circular crop shown beside each tile.
pub const THUMB_PX: usize = 48;
pub const CIRCLE_PX: usize = 32;
/// Gap between a tile and its thumbnails.
const GAP_PX: usize = 4;

/// A warning's kind in a few letters, for tile labels.
fn short_kind(kind: &str) -> &str {
    match kind {
        "low-contrast" => "low",
        "camouflage" => "camo",
        "backlight" => "backlit",
        "busy-background" => "busy",
        other => other,
    }
}

/// One tile: title = the background's label; detail = contrast at full size and in the 32 px
/// circle, and the warnings. `-v` prints the check's summary.
pub fn tile(
    scene: &Scene,
    lens: &ValidLens,
    options: &RenderOptions,
    background: Background,
    ui: &Ui,
) -> Tile {
    // The tile's own grain stays off (the sheet compares backgrounds, not grain).
    let look = Look {
        render: *options,
        background,
        ..Look::default()
    };
    let (image, label, check) = match pipeline::develop(scene, lens, &look) {
        Ok(d) => (d.image, d.background, d.headshot),
        // (The caller refuses studio backgrounds without a matte beforehand.)
        Err(_) => (scene.color().clone(), background.to_string(), None),
    };
    // `studio:NAME (auto: face …)` → `studio (auto: NAME)`.
    let label = match (background, label.split_once(' ')) {
        (Background::Studio(Tone::Auto), Some((name, _))) => {
            format!("studio (auto: {})", name.trim_start_matches("studio:"))
        }
        _ => label,
    };
    let detail = match &check {
        Some(h) => {
            ui.info(format!("{label}: {}", h.summary()));
            let circle = h
                .contrast
                .circle_32px
                .map_or("-".into(), |c| format!("{c:.1}:1"));
            let mut d = format!("contrast {:.1}:1/32px {circle}", h.contrast.full);
            let kinds: Vec<&str> = h.warnings.iter().map(|w| short_kind(w.kind)).collect();
            if !kinds.is_empty() {
                d.push(' ');
                d.push_str(&kinds.join(","));
            }
            d
        }
        None => "no face found".to_string(),
    };
    let face = scene.matte().and_then(|m| headshot::find_face(&image, m));
    Tile {
        image: with_thumbnails(&image, face.as_ref()),
        title: label,
        detail,
    }
}

/// The square profile pictures show: [`headshot::CROP_HEAD_HEIGHTS`] head heights on the face,
/// or the centred square without a face. `(x0, y0, side)`.
fn thumb_square(w: usize, h: usize, face: Option<&Face>) -> (usize, usize, usize) {
    match face {
        Some(f) => headshot::crop(f, w, h),
        None => {
            let side = w.min(h);
            ((w - side) / 2, (h - side) / 2, side)
        }
    }
}

/// `image` with its headshot square at 48 px to its right and, below that, at 32 px in a
/// circle (outside the circle: the sheet's background). Downscaled in linear light.
pub fn with_thumbnails(image: &LinearRgb, face: Option<&Face>) -> LinearRgb {
    let (w, h) = (image.width(), image.height());
    if w == 0 || h == 0 {
        return image.clone();
    }
    let (x0, y0, side) = thumb_square(w, h, face);
    let small = |n: usize| {
        let [r, g, b] = image.channels().map(|c| {
            let mut data = Vec::with_capacity(side * side);
            for y in y0..y0 + side {
                data.extend_from_slice(&c[y * w + x0..y * w + x0 + side]);
            }
            Plane::from_vec(side, side, data).resized(n, n).into_data()
        });
        LinearRgb::from_channels(n, n, [r, g, b])
    };
    let thumb = small(THUMB_PX);
    let mut circle = small(CIRCLE_PX);
    let rad = CIRCLE_PX as f32 / 2.0;
    for y in 0..CIRCLE_PX {
        for x in 0..CIRCLE_PX {
            let (dx, dy) = (x as f32 + 0.5 - rad, y as f32 + 0.5 - rad);
            // Anti-aliased edge: about the pixel's coverage by the circle.
            let a = (rad - (dx * dx + dy * dy).sqrt() + 0.5).clamp(0.0, 1.0);
            let p = circle.at(x, y);
            circle.set(
                x,
                y,
                std::array::from_fn(|c| a * p[c] + (1.0 - a) * BACKGROUND[c]),
            );
        }
    }
    let mut out = LinearRgb::filled(
        w + GAP_PX + THUMB_PX,
        h.max(THUMB_PX + GAP_PX + CIRCLE_PX),
        BACKGROUND,
    );
    blit(&mut out, image, 0, 0);
    blit(&mut out, &thumb, w + GAP_PX, 0);
    let cx = w + GAP_PX + (THUMB_PX - CIRCLE_PX) / 2;
    blit(&mut out, &circle, cx, THUMB_PX + GAP_PX);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_sit_beside_the_tile_and_the_circle_is_round() {
        let img = LinearRgb::filled(100, 60, [0.5; 3]);
        let out = with_thumbnails(&img, None);
        assert_eq!((out.width(), out.height()), (100 + 4 + 48, 84));
        // The 48 px thumbnail of a flat image is flat.
        assert_eq!(out.at(100 + 4 + 24, 24), [0.5; 3]);
        // The circle: its centre is the image, its corners the sheet's background.
        let (cx, cy) = (100 + 4 + 8, 48 + 4);
        assert!((out.at(cx + 16, cy + 16)[0] - 0.5).abs() < 1e-6);
        assert_eq!(out.at(cx, cy), BACKGROUND);
        assert_eq!(out.at(cx + 31, cy + 31), BACKGROUND);
    }
}
