//! Explicit parallelism: a computation runs on the thread count its params name.
//!
//! `threads: None` runs on the caller's rayon pool (the global one unless the caller installed
//! another); `Some(n)` runs on a pool of `n` threads, built on first use and kept for the
//! process (a pool per call cost more than a small batch's whole computation). Results are
//! the same bits for every count: work is split into fixed-size chunks whose partial results
//! are combined in chunk order.

use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// The pool of `n >= 1` threads, shared by every caller that asks for `n`.
pub fn pool(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    if n == 0 {
        return Err(Error::BadParam {
            name: "threads",
            value: "0".into(),
            reason: "must be >= 1 (or unset: the caller's pool)",
        });
    }
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = pools.iter().find(|(m, _)| *m == n) {
        return Ok(p.clone());
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|_| Error::BadParam {
                name: "threads",
                value: n.to_string(),
                reason: "the operating system refused to start that many threads",
            })?,
    );
    pools.push((n, p.clone()));
    Ok(p)
}

/// Runs `f` on `threads` threads (`None`: the caller's pool).
pub fn run<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    Ok(match threads {
        None => f(),
        Some(n) => pool(n)?.install(f),
    })
}
