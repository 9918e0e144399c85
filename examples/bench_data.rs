//! Regenerates the bench's real-photo case (`benches/data/`): runs both models on the
//! 12 MP astronaut portrait's working image and stores their raw outputs at the models' own
//! resolution (see `fstop::synthetic::real`). Needs the models (`bash scripts/setup.sh`):
//! `cargo run --release --example bench_data`.

use fstop::infer::{ModelConfig, ModelSet};
use fstop::synthetic::real;

fn main() -> anyhow::Result<()> {
    let photo = real::photo(4000, 3000)?;
    let mut models = ModelSet::load(&ModelConfig::default())?;
    let dir = real::data_dir();
    real::save_model_outputs(&mut models, &photo.color, &dir)?;
    println!("wrote the models' outputs to {}", dir.display());
    Ok(())
}
