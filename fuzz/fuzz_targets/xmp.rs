//! Fuzz target: `fstop::fuzzing::xmp` (see src/fuzzing.rs). Run with `cargo fuzz run xmp`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fstop::fuzzing::xmp(data);
});
