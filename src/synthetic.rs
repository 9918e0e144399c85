//! Synthetic scenes for benchmarks, examples and tests: deterministic, no files, no models.

use crate::scene::{LinearRgb, Plane, Scene};

/// Deterministic hash noise in 0..1 (also for tests' own scenes).
pub fn noise(x: usize, y: usize, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77) ^ seed;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h & 0xFFFF) as f32 / 65535.0
}

/// A synthetic portrait scene at `w × h`: a textured background at infinity with ~60 clipped
/// point lights, a subject ellipse at 2 m (soft-edged matte) and a foreground slab at 1.2 m.
/// With the default 85 mm f/1.8 full-frame lens focused at 2 m the background CoC is
/// ≈ 233 px at 4000 px wide.
pub fn portrait_scene(w: usize, h: usize) -> Scene {
    let n = w * h;
    let mut color = LinearRgb::filled(w, h, [0.0; 3]);
    let mut disparity = Plane::filled(w, h, 0.0);
    let mut matte = Plane::filled(w, h, 0.0);
    let (fw, fh) = (w as f32, h as f32);
    // Subject ellipse at 2 m, foreground slab at 1.2 m.
    let (cx, cy, rx, ry) = (0.55 * fw, 0.6 * fh, 0.18 * fw, 0.35 * fh);
    let soft = (fw / 1000.0).max(1.0);
    for y in 0..h {
        let yf = y as f32 + 0.5;
        for x in 0..w {
            let xf = x as f32 + 0.5;
            let i = y * w + x;
            let t = noise(x / 4, y / 4, 7);
            let mut rgb = [
                0.1 + 0.3 * (xf / fw) + 0.15 * t,
                0.15 + 0.2 * ((yf / fh) * 9.0).sin().abs() + 0.1 * noise(x, y, 1),
                0.3 - 0.2 * (xf / fw) + 0.1 * t,
            ];
            let q = (((xf - cx) / rx).powi(2) + ((yf - cy) / ry).powi(2)).sqrt();
            let m = ((1.0 - q) * rx / soft + 0.5).clamp(0.0, 1.0);
            if m > 0.0 {
                let skin = [0.55 + 0.1 * noise(x, y, 3), 0.38, 0.3];
                for c in 0..3 {
                    rgb[c] = m * skin[c] + (1.0 - m) * rgb[c];
                }
                disparity.data_mut()[i] = 0.5;
                matte.data_mut()[i] = m;
            }
            if xf > 0.05 * fw && xf < 0.2 * fw && yf > 0.55 * fh {
                rgb = [0.05, 0.25 + 0.1 * t, 0.06];
                disparity.data_mut()[i] = 1.0 / 1.2;
                matte.data_mut()[i] = 0.0;
            }
            color.r_mut()[i] = rgb[0];
            color.g_mut()[i] = rgb[1];
            color.b_mut()[i] = rgb[2];
        }
    }
    // Point lights: clipped blobs about 0.2 % of the width across.
    let r = (w / 500).max(1);
    for k in 0..60 {
        let x0 = r + (noise(k, 0, 11) * (w - 2 * r - 1) as f32) as usize;
        let y0 = r + (noise(k, 1, 11) * 0.5 * fh) as usize;
        let col = [
            1.0,
            0.6 + 0.4 * noise(k, 2, 11),
            0.3 + 0.7 * noise(k, 3, 11),
        ];
        for y in y0 - r..=y0 + r {
            for x in x0 - r..=x0 + r {
                let i = y * w + x;
                if i < n && matte.data()[i] == 0.0 && disparity.data()[i] == 0.0 {
                    color.set(x, y, col);
                }
            }
        }
    }
    Scene::new(color, disparity, Some(matte)).expect("sizes match")
}

/// A zlib stream that inflates to `n` zero bytes, built by hand in a few bits per 258
/// bytes (fixed Huffman codes: one literal 0, then matches of length 258 at distance 1),
/// so a gigabyte bomb costs a few megabytes and no time to make.
pub fn zlib_zeros(n: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        count: u32,
    }
    impl Bits {
        fn put(&mut self, value: u32, bits: u32) {
            self.acc |= u64::from(value) << self.count;
            self.count += bits;
            while self.count >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.count -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, bits: u32) {
            let rev = code.reverse_bits() >> (32 - bits);
            self.put(rev, bits);
        }
    }
    let mut b = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        count: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman codes
    let literal_zero = |b: &mut Bits| b.code(0x30, 8);
    let mut left = n;
    if left > 0 {
        literal_zero(&mut b);
        left -= 1;
    }
    while left >= 258 {
        b.code(0xC5, 8); // length symbol 285 = 258
        b.code(0, 5); // distance code 0 = 1
        left -= 258;
    }
    for _ in 0..left {
        literal_zero(&mut b);
    }
    b.code(0, 7); // end of block (256)
    if b.count > 0 {
        b.out.push(b.acc as u8);
    }
    let adler = ((n % 65521) << 16) | 1;
    b.out.extend_from_slice(&(adler as u32).to_be_bytes());
    b.out
}

/// The bench's real portrait: `examples/astronaut.png` (NASA, public domain) made a photo of
/// any size, with the depth and matte the models made of it. The models' raw outputs at their
/// own resolution are stored in `benches/data/` (regenerate them with `cargo run --release
/// --example bench_data`), so the bench runs the real refinement (upsampling, edge-aware
/// refinement, fusion) and focus without loading a model.
pub mod real {
    use std::path::{Path, PathBuf};

    use crate::infer::{self, ModelSet, depth, matte, preprocess, refine};
    use crate::io::{self, DecodeOptions, EncodeOptions, Photo, encode::OutputFormat};
    use crate::optics::{Lens, ValidLens};
    use crate::pipeline::{
        Analysis, AnalysisTimings, DepthData, DepthOrigin, LensSettings, PipelineError,
    };
    use crate::scene::{LinearRgb, Plane, Scene};

    /// The source portrait.
    pub fn source_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/astronaut.png")
    }

    /// Where the models' raw outputs are stored.
    pub fn data_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data")
    }

    const ALPHA_FILE: &str = "astronaut-matte.png";
    const DISPARITY_FILE: &str = "astronaut-disparity.png";
    /// `lo hi`: the disparity range the 16-bit PNG maps to 0..65535.
    const RANGE_FILE: &str = "astronaut-disparity-range.txt";

    /// `photo` cropped to the aspect ratio of `width × height` around its centre and resampled
    /// to that size.
    pub fn crop_resized(photo: &LinearRgb, width: usize, height: usize) -> LinearRgb {
        let (sw, sh) = (photo.width(), photo.height());
        let target_aspect = width as f64 / height as f64;
        let (cw, ch) = if sw as f64 / sh as f64 > target_aspect {
            (((sh as f64) * target_aspect) as usize, sh)
        } else {
            (sw, ((sw as f64) / target_aspect) as usize)
        };
        let (x0, y0) = ((sw - cw) / 2, (sh - ch) / 2);
        let mut cropped = LinearRgb::filled(cw, ch, [0.0; 3]);
        for y in 0..ch {
            for x in 0..cw {
                cropped.set(x, y, photo.at(x0 + x, y0 + y));
            }
        }
        cropped.resized(width, height)
    }

    /// The portrait at `width × height` as `fstop` sees the bench's JPEG of it (encoded at the
    /// default quality and decoded again, as `examples/bench_photo` writes it).
    pub fn photo(width: usize, height: usize) -> Result<Photo, io::IoError> {
        let source = io::read_photo(&source_path(), &DecodeOptions::default())?;
        let resized = crop_resized(&source.color, width, height);
        let (jpeg, _) = io::encode_photo(
            OutputFormat::Jpeg,
            &resized,
            None,
            &source.metadata,
            8,
            &EncodeOptions::default(),
        )?;
        io::read_photo_bytes(Path::new("astronaut.jpg"), &jpeg, &DecodeOptions::default())
    }

    /// Runs both models on `photo`'s working image and stores their raw outputs (matte alpha
    /// and relative disparity, at the models' resolution) in `dir`.
    pub fn save_model_outputs(
        models: &mut ModelSet,
        photo: &LinearRgb,
        dir: &Path,
    ) -> anyhow::Result<()> {
        let working = preprocess::working_image(photo, models.working_long_side);
        let alpha = models.run_matte(&working)?;
        let disparity = models.run_depth(&working)?;
        let (lo, hi) = disparity
            .finite_range()
            .ok_or_else(|| anyhow::anyhow!("the depth model gave no finite value"))?;
        std::fs::create_dir_all(dir)?;
        io::write_plane_png16(&dir.join(ALPHA_FILE), &alpha, 0.0, 1.0)?;
        io::write_plane_png16(&dir.join(DISPARITY_FILE), &disparity, lo, hi)?;
        std::fs::write(dir.join(RANGE_FILE), format!("{lo:e} {hi:e}\n"))?;
        Ok(())
    }

    /// The stored raw outputs: matte alpha and relative disparity at the models' resolution.
    pub fn model_outputs() -> anyhow::Result<(Plane, Plane)> {
        let dir = data_dir();
        let alpha = io::read_matte(&dir.join(ALPHA_FILE))?;
        let mut disparity = io::read_matte(&dir.join(DISPARITY_FILE))?;
        let range = std::fs::read_to_string(dir.join(RANGE_FILE))?;
        let [lo, hi]: [f32; 2] = range
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<f32>, _>>()?
            .try_into()
            .map_err(|_| anyhow::anyhow!("{RANGE_FILE}: want two numbers"))?;
        for v in disparity.data_mut() {
            *v = lo + *v * (hi - lo);
        }
        Ok((alpha, disparity))
    }

    /// The analysis `fstop` makes of the portrait at `width × height` with both models (the
    /// refinement of [`ModelSet::estimate`] run on the stored outputs).
    pub fn analysis(width: usize, height: usize) -> anyhow::Result<Analysis> {
        let photo = photo(width, height)?;
        let (alpha, disparity) = model_outputs()?;
        let working = preprocess::working_image(&photo.color, infer::WORKING_LONG_SIDE);
        let guide = preprocess::guide_plane(&working);
        let (matte_w, matte_full) = matte::refine_matte(
            &alpha,
            &working,
            &guide,
            &photo.color,
            Some(&refine::normalize_robust(&disparity)),
            &matte::MatteParams::default(),
        );
        let relative = depth::refine_depth(
            &disparity,
            &guide,
            &matte_w,
            &matte_full,
            &depth::DepthParams::default(),
        );
        anyhow::ensure!(
            (relative.width(), relative.height()) == (width, height),
            "refined depth is {}×{}, not {width}×{height}",
            relative.width(),
            relative.height()
        );
        Ok(Analysis {
            photo,
            depth: DepthData::Relative(crate::depth::sanitize_relative(relative)),
            matte: Some(matte_full),
            models: None,
            depth_origin: DepthOrigin::Model,
            timings: AnalysisTimings::default(),
            warnings: Vec::new(),
        })
    }

    /// The portrait's scene at `width × height` and the lens auto-focused on it, as `fstop
    /// photo.jpg --f-number F` renders it.
    pub fn scene(width: usize, height: usize, f_number: f64) -> anyhow::Result<(Scene, ValidLens)> {
        let settings = LensSettings {
            lens: Lens {
                f_number,
                ..Lens::default()
            },
            ..LensSettings::default()
        };
        let (focused, photo, matte) = analysis(width, height)?
            .into_focused(&settings)
            .map_err(|e: PipelineError| anyhow::anyhow!("{e}"))?;
        let scene = Scene::new(photo.color, focused.disparity_per_m, matte)?;
        Ok((scene, focused.lens))
    }
}
