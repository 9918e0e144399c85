//! Fuzz target: `fstop::fuzzing::preset_toml` (see src/fuzzing.rs). Run with `cargo fuzz run preset_toml`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fstop::fuzzing::preset_toml(data);
});
