//! Fuzz target: `fstop::fuzzing::depth_file` (see src/fuzzing.rs). Run with `cargo fuzz run depth_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fstop::fuzzing::depth_file(data);
});
