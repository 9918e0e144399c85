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
                disparity.data[i] = 0.5;
                matte.data[i] = m;
            }
            if xf > 0.05 * fw && xf < 0.2 * fw && yf > 0.55 * fh {
                rgb = [0.05, 0.25 + 0.1 * t, 0.06];
                disparity.data[i] = 1.0 / 1.2;
                matte.data[i] = 0.0;
            }
            color.r[i] = rgb[0];
            color.g[i] = rgb[1];
            color.b[i] = rgb[2];
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
                if i < n && matte.data[i] == 0.0 && disparity.data[i] == 0.0 {
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
