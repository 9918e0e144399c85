//! Fuzz target: `fstop::fuzzing::npy` (see src/fuzzing.rs). Run with `cargo fuzz run npy`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fstop::fuzzing::npy(data);
});
