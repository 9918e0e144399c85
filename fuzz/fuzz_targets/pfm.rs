//! Fuzz target: `fstop::fuzzing::pfm` (see src/fuzzing.rs). Run with `cargo fuzz run pfm`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fstop::fuzzing::pfm(data);
});
