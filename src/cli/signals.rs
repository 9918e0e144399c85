//! SIGINT / SIGTERM: the first one asks the run to stop (no new photos, photos in flight are
//! abandoned at the next stage boundary, so nothing half-written is left: outputs are only ever
//! written by the I/O layer's temp-file-then-rename); a second one deletes the temporary files
//! being written and exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM, SIGXFSZ};

/// Why the run should stop.
#[derive(Debug, Default)]
pub struct Stop {
    signal: Arc<AtomicUsize>,
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
        let count = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register_usize(sig, Arc::clone(&stop.signal), sig as usize)?;
            let count = Arc::clone(&count);
            // SAFETY: an atomic increment is async-signal-safe.
            unsafe {
                signal_hook::low_level::register(sig, move || {
                    count.fetch_add(1, Ordering::SeqCst);
                })
            }?;
        }
        // The second signal is acted on by a thread, not in the handler: deleting the
        // temporary files being written needs a lock and allocation, which a handler cannot do.
        // (Exiting right in the handler used to leave `.fstop-tmp` files behind.)
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        std::thread::Builder::new()
            .name("fstop-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if count.load(Ordering::SeqCst) >= 2 {
                        fstop::io::atomic::remove_in_flight_temp_files_and_exit(128 + sig);
                    }
                }
            })?;
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

    /// The exit status of an interrupted run (130 for SIGINT, 143 for SIGTERM).
    pub fn exit(&self) -> Option<super::Exit> {
        self.signal().map(super::Exit::Signal)
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
        assert_eq!(s.exit(), None);
    }
}
