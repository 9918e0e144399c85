//! What analysis and focusing report without failing. Each warning's text (its `Display`) is
//! what the command line prints and the batch report records.

use std::fmt;
use std::path::PathBuf;

use crate::depth::DepthKind;
use crate::optics::OpticsWarning;

/// Why a matte file cannot tell subject from background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatteProblem {
    /// Every value ≤ 0.05.
    Empty,
    /// Every value ≥ 0.95.
    Full,
}

impl MatteProblem {
    fn describe(self) -> &'static str {
        match self {
            MatteProblem::Empty => "is empty (no subject)",
            MatteProblem::Full => "covers the whole photo (no background)",
        }
    }
}

/// A non-fatal problem met while analysing a photo or focusing a lens.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// From decoding the photo (orientation tag, ICC profile, float values…).
    Photo(String),
    /// A depth or matte file (or the model's depth) of another size, resampled to the photo's.
    Resampled {
        path: PathBuf,
        /// "depth map", "matte" or "model depth".
        what: &'static str,
        from: (usize, usize),
        to: (usize, usize),
    },
    /// Depth values that cannot be a depth, filled in from their neighbours (all of them: the
    /// photo is one flat plane).
    InvalidDepth {
        path: PathBuf,
        kind: DepthKind,
        invalid: usize,
        total: usize,
    },
    /// A matte file that is ignored; `depth_file` says whether a depth file (rather than the
    /// matting model) takes over.
    MatteIgnored {
        path: PathBuf,
        problem: MatteProblem,
        depth_file: bool,
    },
    /// The depth to focus at was out of the focusing range.
    FocusClamped { wanted_m: f64, focus_m: f64 },
    /// Relative depth: the background is not behind the focus, so nothing behind is blurred.
    BackgroundNotBehindFocus {
        background_distance_m: f64,
        focus_distance_m: f64,
    },
    /// A lens parameter outside the documented range.
    Lens(OpticsWarning),
    /// `--depth-source auto`: the photo's own depth map could not be used (why); the depth
    /// model is used instead.
    EmbeddedDepthUnused(String),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Photo(text) => f.write_str(text),
            Warning::EmbeddedDepthUnused(why) => write!(
                f,
                "its own depth map cannot be used ({why}); the depth model is used instead"
            ),
            Warning::Resampled {
                path,
                what,
                from,
                to,
            } => write!(
                f,
                "{}: {what} is {}×{}, resampled to the photo's {}×{}",
                path.display(),
                from.0,
                from.1,
                to.0,
                to.1
            ),
            Warning::InvalidDepth {
                path,
                kind,
                invalid,
                total,
            } => {
                let what = match kind {
                    DepthKind::Metres => "NaN, −∞, zero or negative distances",
                    DepthKind::Disparity => "NaN or infinite",
                };
                if invalid == total {
                    write!(
                        f,
                        "{}: no valid depth value ({what}); the photo is treated as one flat plane",
                        path.display()
                    )
                } else {
                    write!(
                        f,
                        "{}: {invalid} of {total} depth values are invalid ({what}); filled in from their neighbours",
                        path.display()
                    )
                }
            }
            Warning::MatteIgnored {
                path,
                problem,
                depth_file,
            } => {
                let instead = if *depth_file {
                    "the depth map alone decides the focus and the blur"
                } else {
                    "the matting model's matte is used instead"
                };
                write!(
                    f,
                    "{}: the matte {}; it is ignored ({instead})",
                    path.display(),
                    problem.describe()
                )
            }
            Warning::FocusClamped { wanted_m, focus_m } => write!(
                f,
                "the depth to focus at ({wanted_m:.3} m) is out of focusing range; focusing at {focus_m:.3} m"
            ),
            Warning::BackgroundNotBehindFocus {
                background_distance_m,
                focus_distance_m,
            } => write!(
                f,
                "the background distance ({background_distance_m} m) is not behind the focus distance \
                 ({focus_distance_m:.2} m), so nothing behind the subject is blurred; give a \
                 larger --background-distance or a nearer --focus"
            ),
            Warning::Lens(w) => write!(f, "{w}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts are the command line's output and the report's: they must not change.
    #[test]
    fn texts_are_the_command_lines() {
        let p = || PathBuf::from("d.npy");
        let cases = [
            (
                Warning::Resampled {
                    path: p(),
                    what: "depth map",
                    from: (10, 5),
                    to: (20, 10),
                },
                "d.npy: depth map is 10×5, resampled to the photo's 20×10",
            ),
            (
                Warning::InvalidDepth {
                    path: p(),
                    kind: DepthKind::Metres,
                    invalid: 3,
                    total: 4,
                },
                "d.npy: 3 of 4 depth values are invalid (NaN, −∞, zero or negative distances); \
                 filled in from their neighbours",
            ),
            (
                Warning::InvalidDepth {
                    path: p(),
                    kind: DepthKind::Disparity,
                    invalid: 4,
                    total: 4,
                },
                "d.npy: no valid depth value (NaN or infinite); the photo is treated as one flat \
                 plane",
            ),
            (
                Warning::MatteIgnored {
                    path: p(),
                    problem: MatteProblem::Full,
                    depth_file: true,
                },
                "d.npy: the matte covers the whole photo (no background); it is ignored (the \
                 depth map alone decides the focus and the blur)",
            ),
            (
                Warning::MatteIgnored {
                    path: p(),
                    problem: MatteProblem::Empty,
                    depth_file: false,
                },
                "d.npy: the matte is empty (no subject); it is ignored (the matting model's \
                 matte is used instead)",
            ),
            (
                Warning::FocusClamped {
                    wanted_m: 0.1,
                    focus_m: 0.85,
                },
                "the depth to focus at (0.100 m) is out of focusing range; focusing at 0.850 m",
            ),
            (
                Warning::BackgroundNotBehindFocus {
                    background_distance_m: 1.5,
                    focus_distance_m: 2.0,
                },
                "the background distance (1.5 m) is not behind the focus distance (2.00 m), so \
                 nothing behind the subject is blurred; give a larger --background-distance or \
                 a nearer --focus",
            ),
        ];
        for (w, text) in cases {
            assert_eq!(w.to_string(), text);
        }
    }
}
