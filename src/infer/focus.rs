//! Auto focus: the subject's distance from its size in the frame.
//!
//! A real camera focused on a person at distance `Z` images their head with a magnification
//! `M = f / (Z − f)`; on a full-frame sensor at 85 mm a head-and-shoulders framing puts the head
//! at about a fifth of the frame width, which is about 1.9 m. fstop inverts that: it measures
//! the head's breadth in the matte and assumes an average adult head, so the focal length and
//! sensor change the estimate exactly as they would on a camera.
//!
//! **Assumption** (documented, overridable with `--focus`): an average adult head is
//! [`HEAD_BREADTH_M`] = 15.5 cm wide (skull breadth) and [`HEAD_HEIGHT_M`] = 23 cm from crown to
//! chin; in a matte the measured breadth also includes ears and hair, which adds about 10 %
//! ([`MATTE_BREADTH_ALLOWANCE`]). Children, profiles and big hair bias the estimate by the same
//! ratio; the result is clamped to [`DISTANCE_RANGE_M`].

use crate::optics::Lens;
use crate::scene::Plane;

/// Average adult head breadth (skull), metres.
pub const HEAD_BREADTH_M: f64 = 0.155;
/// Average adult head height, crown to chin, metres.
pub const HEAD_HEIGHT_M: f64 = 0.23;
/// A matte's head outline includes ears and hair: its breadth is this much more than the skull's.
pub const MATTE_BREADTH_ALLOWANCE: f64 = 1.1;
/// Estimates are clamped to this range, metres.
pub const DISTANCE_RANGE_M: (f64, f64) = (0.5, 20.0);

/// Width of the longest run of subject pixels (matte ≥ 0.5) in each row.
fn row_widths(matte: &Plane) -> Vec<usize> {
    (0..matte.height)
        .map(|y| {
            let mut best = 0;
            let mut run = 0;
            for &a in matte.row(y) {
                if a >= 0.5 {
                    run += 1;
                    best = best.max(run);
                } else {
                    run = 0;
                }
            }
            best
        })
        .collect()
}

/// The head's breadth in pixels and the crown's row, from the matte's outline.
///
/// The crown is the first row whose subject run is at least 1 % of the image width (stray hairs
/// above it are ignored). Going down from the crown the outline widens to the head's widest
/// point at about half the head's height (ears), narrows at the neck and widens again at the
/// shoulders. The breadth is the widest run seen until the scan has gone down
/// `0.55 · HEAD_HEIGHT / HEAD_BREADTH` times that width — about ear level for a head of
/// average proportions, above the shoulders.
pub fn head_breadth_px(matte: &Plane) -> Option<(f64, usize)> {
    if matte.width == 0 || matte.height == 0 {
        return None;
    }
    let widths = row_widths(matte);
    let min_run = (matte.width / 100).max(2);
    let crown = widths.iter().position(|&w| w >= min_run)?;
    let k = 0.55 * HEAD_HEIGHT_M / HEAD_BREADTH_M;
    let mut widest = 0usize;
    for (y, &w) in widths.iter().enumerate().skip(crown) {
        widest = widest.max(w);
        if (y - crown) as f64 >= k * widest as f64 {
            break;
        }
    }
    (widest > 0).then_some((widest as f64, crown))
}

/// Estimates the subject's distance (metres) from the head's size in the matte, the focal
/// length and the sensor width (see the module docs for the assumption). `None` when the matte
/// holds no subject.
pub fn estimate_subject_distance_m(matte: &Plane, lens: &Lens) -> Option<f64> {
    let (breadth_px, _) = head_breadth_px(matte)?;
    let size_on_sensor_mm = breadth_px * lens.sensor.width_mm() / matte.width as f64;
    let real_mm = HEAD_BREADTH_M * MATTE_BREADTH_ALLOWANCE * 1000.0;
    // Thin lens: object distance = f · (1 + 1/M), M = size on sensor / real size.
    let distance_m = lens.focal_length_mm * (1.0 + real_mm / size_on_sensor_mm) / 1000.0;
    distance_m
        .is_finite()
        .then(|| distance_m.clamp(DISTANCE_RANGE_M.0, DISTANCE_RANGE_M.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A person: an elliptic head `breadth` px wide and 23/15.5 as tall, a neck, shoulders.
    fn person(w: usize, h: usize, breadth: f64, crown: f64) -> Plane {
        let head_h = breadth * HEAD_HEIGHT_M / HEAD_BREADTH_M;
        let cx = w as f64 / 2.0;
        let cy = crown + head_h / 2.0;
        let mut m = Plane::filled(w, h, 0.0);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
                let dx = (fx - cx) / (breadth / 2.0);
                let dy = (fy - cy) / (head_h / 2.0);
                let head = dx * dx + dy * dy <= 1.0;
                let neck = fy > cy && fy < crown + head_h * 1.2 && (fx - cx).abs() < breadth * 0.3;
                let shoulders = fy >= crown + head_h * 1.2 && (fx - cx).abs() < breadth * 1.6;
                if head || neck || shoulders {
                    m.data[y * w + x] = 1.0;
                }
            }
        }
        m
    }

    #[test]
    fn measures_the_head_not_the_shoulders() {
        let m = person(600, 400, 120.0, 30.0);
        let (b, crown) = head_breadth_px(&m).unwrap();
        assert!((b - 120.0).abs() <= 3.0, "{b}");
        assert!((29..=31).contains(&crown), "{crown}");
    }

    #[test]
    fn distance_follows_the_thin_lens_and_scales_with_focal_length() {
        // Head a fifth of a full-frame photo's width at 85 mm: 0.17 m / 7.2 mm · 85 mm ≈ 2.1 m.
        let m = person(1000, 700, 200.0, 60.0);
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
    fn empty_matte_is_none_and_extremes_are_clamped() {
        assert_eq!(
            estimate_subject_distance_m(&Plane::filled(100, 80, 0.0), &Lens::default()),
            None
        );
        // The subject fills the frame: very close, clamped to the nearest allowed distance.
        let full = Plane::filled(100, 80, 1.0);
        assert_eq!(
            estimate_subject_distance_m(&full, &Lens::default()),
            Some(DISTANCE_RANGE_M.0)
        );
        // A tiny head far away: clamped to the farthest.
        let tiny = person(4000, 400, 45.0, 100.0);
        assert_eq!(
            estimate_subject_distance_m(&tiny, &Lens::default()),
            Some(DISTANCE_RANGE_M.1)
        );
    }
}
