//! Writes a test photo of a given size for end-to-end benchmarks by resampling a real portrait:
//! `cargo run --release --example bench_photo -- examples/astronaut.png 4000 3000 /tmp/12mp.jpg`.

use std::path::Path;

use fstop::io::{DecodeOptions, EncodeOptions, read_photo, write_photo};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(
        args.len() == 4,
        "usage: bench_photo INPUT WIDTH HEIGHT OUTPUT"
    );
    let photo = read_photo(Path::new(&args[0]), &DecodeOptions::default())?;
    let (width, height): (usize, usize) = (args[1].parse()?, args[2].parse()?);
    // Crop the source to the target aspect ratio around its centre, then resample.
    let (sw, sh) = (photo.color.width, photo.color.height);
    let target_aspect = width as f64 / height as f64;
    let (cw, ch) = if sw as f64 / sh as f64 > target_aspect {
        (((sh as f64) * target_aspect) as usize, sh)
    } else {
        (sw, ((sw as f64) / target_aspect) as usize)
    };
    let (x0, y0) = ((sw - cw) / 2, (sh - ch) / 2);
    let mut cropped = fstop::LinearRgb::filled(cw, ch, [0.0; 3]);
    for y in 0..ch {
        for x in 0..cw {
            cropped.set(x, y, photo.color.at(x0 + x, y0 + y));
        }
    }
    let resized = cropped.resized(width, height);
    write_photo(
        Path::new(&args[3]),
        &resized,
        None,
        &photo.metadata,
        8,
        &EncodeOptions::default(),
    )?;
    Ok(())
}
