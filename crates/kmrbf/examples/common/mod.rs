//! What the timing examples share: their numeric arguments and medians.
#![allow(dead_code)]

/// The command line's arguments as numbers (`N D K THREADS`, ...); panics with the usage line
/// when one is missing or not a number.
pub fn args(usage: &str, count: usize) -> Vec<usize> {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap_or_else(|_| panic!("usage: {usage}")))
        .collect();
    assert!(a.len() >= count, "usage: {usage}");
    a
}

/// Median of timings (seconds).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Squared row norms of the `n x d` rows `x`.
pub fn norms(x: &[f32], d: usize) -> Vec<f32> {
    let mut xn = vec![0f32; x.len() / d.max(1)];
    kmrbf::kernels::layout::distance::row_sq_norms(x, d, &mut xn);
    xn
}

/// A rayon pool of `threads` threads.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

/// The tier to time: `KMRBF_ISA` (`portable`, `avx2`, `avx512`, `amx`) when set, else the
/// widest here; printed so every timing names its tier.
pub fn isa() -> kmrbf::Isa {
    let isa = match std::env::var("KMRBF_ISA") {
        Ok(v) => kmrbf::Isa::named(&v).unwrap_or_else(|e| panic!("KMRBF_ISA: {e}")),
        Err(_) => kmrbf::Isa::detect(),
    };
    eprintln!("tier: {isa}");
    isa
}
