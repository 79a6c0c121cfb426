//! Running a computation without the GIL, on the caller's thread count, stoppable by Ctrl-C.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// How often the waiting thread looks for a pending signal (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Runs `f` with the GIL released on `n_threads` threads (`None`: one per core), while the
/// calling thread waits and checks Python's signal handlers. On Ctrl-C it raises `stop` (the
/// library ends at its next check) and returns the `KeyboardInterrupt`.
///
/// `f` gets the stop flag to hand to the library.
pub fn compute<R, F>(py: Python<'_>, n_threads: Option<usize>, f: F) -> PyResult<R>
where
    R: Send,
    F: FnOnce(Arc<AtomicBool>) -> R + Send,
{
    let pool = match n_threads {
        Some(0) => {
            return Err(PyValueError::new_err(
                "n_threads = 0 is invalid: must be >= 1 or None",
            ))
        }
        Some(n) => Some(
            kmrbf::par::pool(n)
                .map_err(|e| PyValueError::new_err(format!("n_threads = {n}: {e}")))?,
        ),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut signal: Option<PyErr> = None;
    let out = py.detach(|| {
        std::thread::scope(|s| {
            let (tx, rx) = channel();
            let flag = stop.clone();
            let worker = s.spawn(move || {
                let r = match &pool {
                    Some(p) => p.install(|| f(flag)),
                    None => f(flag),
                };
                let _ = tx.send(());
                r
            });
            loop {
                match rx.recv_timeout(SIGNAL_POLL) {
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => {
                        if signal.is_none() {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                stop.store(true, Ordering::Relaxed);
                                signal = Some(e);
                            }
                        }
                    }
                }
            }
            match worker.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    });
    match signal {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The instruction-set tier the kernels run on: the environment variable `KMRBF_ISA` when set
/// (`auto`, `portable`, `avx2`, `avx512` or `amx`; read at each call, as the command line
/// reads it), else the widest tier this CPU runs. A tier the CPU lacks raises `ValueError`.
pub fn isa() -> PyResult<kmrbf::Isa> {
    match std::env::var("KMRBF_ISA") {
        Err(_) => Ok(kmrbf::Isa::detect()),
        Ok(v) => {
            kmrbf::Isa::named(&v).map_err(|e| PyValueError::new_err(format!("KMRBF_ISA: {e}")))
        }
    }
}
