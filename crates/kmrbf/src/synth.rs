//! Seeded synthetic data sets (row-major f64 with ground-truth labels).

use crate::rng::Rng;

/// A generated data set: `n x d` rows, true labels and the intended number of clusters.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Short name.
    pub name: String,
    /// `n x d` row-major.
    pub x: Vec<f64>,
    /// Rows.
    pub n: usize,
    /// Columns.
    pub d: usize,
    /// Ground truth labels.
    pub truth: Vec<u32>,
    /// Intended number of clusters.
    pub k: usize,
}

/// Isotropic Gaussian blobs: `k` centers uniform in `[-10, 10]^d`, `n` points spread
/// round-robin over the centers, each with standard deviation `std`.
pub fn blobs(n: usize, d: usize, k: usize, std: f64, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let centers: Vec<f64> = (0..k * d).map(|_| rng.uniform() * 20.0 - 10.0).collect();
    let mut x = Vec::with_capacity(n * d);
    let mut truth = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % k;
        truth.push(c as u32);
        for t in 0..d {
            x.push(centers[c * d + t] + std * rng.normal());
        }
    }
    Dataset {
        name: "blobs".into(),
        x,
        n,
        d,
        truth,
        k,
    }
}
