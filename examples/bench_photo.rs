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
    let resized = fstop::synthetic::real::crop_resized(&photo.color, width, height);
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
