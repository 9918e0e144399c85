//! The renderer: pure and infallible. (Stub: the real kernel lands with the render work.)

use crate::optics::Lens;
use crate::scene::{LinearRgb, Scene};

/// Highlight recovery: pixels whose brightest channel (display-encoded, 0..1) exceeds
/// `threshold` are boosted in linear light so blurred point lights keep their energy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HighlightOptions {
    /// Display-encoded level above which a pixel counts as (near-)clipped. Default 0.9.
    pub threshold: f32,
    /// How much light a fully clipped pixel is assumed to really hold, as a multiple of the
    /// clip level minus one. 0 disables recovery. Default 4.
    pub gain: f32,
}

impl Default for HighlightOptions {
    fn default() -> Self {
        HighlightOptions {
            threshold: 0.9,
            gain: 4.0,
        }
    }
}

/// Which defocus kernel to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelKind {
    /// The fast multi-resolution scatter kernel.
    #[default]
    Fast,
    /// The slow, obviously-correct per-pixel disc scatter (for tests and comparison).
    Reference,
}

/// Everything about rendering that is not the lens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RenderOptions {
    pub highlights: HighlightOptions,
    pub kernel: KernelKind,
}

/// Renders the scene through the lens. Output is linear light, clamped to 0..1.
pub fn render(scene: &Scene, _lens: &Lens, _options: &RenderOptions) -> LinearRgb {
    scene.color.clone()
}
