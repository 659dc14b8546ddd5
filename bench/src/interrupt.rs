//! Ctrl-C, SIGTERM and SIGHUP end the run between two measurements instead of killing the
//! bench outright, so the daemons it started are stopped and its folders removed.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe, and
        // it is a plain `extern "C" fn` that lives for the whole program.
        unsafe {
            libc::signal(
                signal,
                on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}

/// An error once a signal has come in; called before each measured step.
pub fn check() -> Result<(), String> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err("interrupted; stopping the daemons and cleaning up".to_string())
    } else {
        Ok(())
    }
}
