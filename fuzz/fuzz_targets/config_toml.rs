//! Fuzz target: `fstop::fuzzing::config_toml` (see src/fuzzing.rs). Run with `cargo fuzz run config_toml`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fstop::fuzzing::config_toml(data);
});
