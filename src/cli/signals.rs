//! SIGINT / SIGTERM: the first one asks the run to stop (no new photos, photos in flight are
//! abandoned at the next stage boundary, so nothing half-written is left: outputs are only ever
//! written by the I/O layer's temp-file-then-rename); a second one exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM, SIGXFSZ};

/// Why the run should stop.
#[derive(Debug, Default)]
pub struct Stop {
    signal: Arc<AtomicUsize>,
    once: Arc<AtomicBool>,
    halted: AtomicBool,
}

impl Stop {
    /// A stop flag that only [`Stop::halt`] sets (for tests and non-batch commands).
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Installs the SIGINT and SIGTERM handlers.
    pub fn install() -> std::io::Result<Stop> {
        let stop = Stop::new();
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal: a second
            // signal exits immediately with the conventional code.
            signal_hook::flag::register_conditional_shutdown(
                sig,
                128 + sig,
                Arc::clone(&stop.once),
            )?;
            signal_hook::flag::register(sig, Arc::clone(&stop.once))?;
            signal_hook::flag::register_usize(sig, Arc::clone(&stop.signal), sig as usize)?;
        }
        // A file-size limit (`ulimit -f`) would kill the process mid-write with SIGXFSZ and
        // leave a temporary file behind; with a handler installed the write fails with EFBIG
        // instead, which the I/O layer reports (and cleans up) like a full disk.
        // SAFETY: the handler does nothing, which is async-signal-safe.
        unsafe { signal_hook::low_level::register(SIGXFSZ, || {}) }?;
        Ok(stop)
    }

    /// True once a signal arrived or [`Stop::halt`] was called.
    pub fn requested(&self) -> bool {
        self.signal().is_some() || self.halted.load(Ordering::SeqCst)
    }

    /// The signal that arrived, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }

    /// Stops the run for a reason of its own (fail-fast, fatal error, closed stdout).
    pub fn halt(&self) {
        self.halted.store(true, Ordering::SeqCst);
    }

    /// `SIGINT` / `SIGTERM`.
    pub fn signal_name(&self) -> Option<&'static str> {
        self.signal().map(|s| match s {
            SIGINT => "SIGINT",
            SIGTERM => "SIGTERM",
            _ => "signal",
        })
    }

    /// 130 for SIGINT, 143 for SIGTERM.
    pub fn exit_code(&self) -> Option<i32> {
        self.signal().map(|s| 128 + s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halt_is_not_a_signal() {
        let s = Stop::new();
        assert!(!s.requested());
        s.halt();
        assert!(s.requested());
        assert_eq!(s.exit_code(), None);
    }
}
