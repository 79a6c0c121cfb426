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

fn finish(name: &str, x: Vec<f64>, d: usize, truth: Vec<u32>, k: usize) -> Dataset {
    let n = truth.len();
    Dataset {
        name: name.into(),
        x,
        n,
        d,
        truth,
        k,
    }
}

/// Blobs in 2-D at fixed, well separated centers, with per-cluster standard deviations
/// `stds` and sizes `sizes` (one entry per cluster).
fn blobs_2d(name: &str, centers: &[[f64; 2]], stds: &[f64], sizes: &[usize], seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    let mut truth = Vec::new();
    for (c, ((ctr, &s), &m)) in centers.iter().zip(stds).zip(sizes).enumerate() {
        for _ in 0..m {
            x.push(ctr[0] + s * rng.normal());
            x.push(ctr[1] + s * rng.normal());
            truth.push(c as u32);
        }
    }
    finish(name, x, 2, truth, centers.len())
}

const CENTERS4: [[f64; 2]; 4] = [[-6.0, -5.0], [6.0, -4.0], [-5.0, 6.0], [5.0, 5.5]];

/// Isotropic 2-D blobs: 4 clusters of 200 points, standard deviation 1.
pub fn isotropic(seed: u64) -> Dataset {
    blobs_2d("isotropic", &CENTERS4, &[1.0; 4], &[200; 4], seed)
}

/// Anisotropic blobs: isotropic blobs times the linear map `[[0.6, -0.64], [-0.4, 0.85]]`
/// (scikit-learn's example transformation).
pub fn anisotropic(seed: u64) -> Dataset {
    let mut ds = blobs_2d("anisotropic", &CENTERS4, &[1.0; 4], &[200; 4], seed);
    for r in ds.x.chunks_mut(2) {
        let (a, b) = (r[0], r[1]);
        r[0] = 0.6 * a - 0.4 * b;
        r[1] = -0.64 * a + 0.85 * b;
    }
    ds
}

/// Blobs with unequal standard deviations (0.5, 1, 1.5, 2.5).
pub fn unequal_variance(seed: u64) -> Dataset {
    blobs_2d(
        "unequal-variance",
        &CENTERS4,
        &[0.5, 1.0, 1.5, 2.5],
        &[200; 4],
        seed,
    )
}

/// Blobs with unequal sizes (400, 200, 80, 30).
pub fn unequal_size(seed: u64) -> Dataset {
    blobs_2d(
        "unequal-size",
        &CENTERS4,
        &[1.0; 4],
        &[400, 200, 80, 30],
        seed,
    )
}

/// Two interleaving half circles with Gaussian noise 0.08, 400 points each, k = 2.
pub fn moons(seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    let mut truth = Vec::new();
    for c in 0..2u32 {
        for _ in 0..400 {
            let t = std::f64::consts::PI * rng.uniform();
            let (a, b) = if c == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            x.push(a + 0.08 * rng.normal());
            x.push(b + 0.08 * rng.normal());
            truth.push(c);
        }
    }
    finish("moons", x, 2, truth, 2)
}

/// Two concentric circles (radii 1 and 0.45) with noise 0.05, 400 points each, k = 2.
pub fn circles(seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    let mut truth = Vec::new();
    for (c, r) in [(0u32, 1.0), (1, 0.45)] {
        for _ in 0..400 {
            let t = std::f64::consts::TAU * rng.uniform();
            x.push(r * t.cos() + 0.05 * rng.normal());
            x.push(r * t.sin() + 0.05 * rng.normal());
            truth.push(c);
        }
    }
    finish("circles", x, 2, truth, 2)
}

/// The benchmarks' recipe (`bench/compare.py`): `n x d` f32 rows, each a center drawn
/// uniformly from `k` centers uniform in `[-1, 1]^d`, plus Gaussian noise of standard deviation
/// 0.6 per coordinate (overlapping clusters: dense softmax rows, many near-ties). Row-major.
pub fn bench_blobs_f32(n: usize, d: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let c: Vec<f64> = (0..k * d).map(|_| 2.0 * rng.uniform() - 1.0).collect();
    let mut x = crate::memory::vec_with_capacity(n * d);
    for _ in 0..n {
        let j = rng.below(k);
        for t in 0..d {
            x.push((c[j * d + t] + 0.6 * rng.normal()) as f32);
        }
    }
    x
}

/// 16-D blobs, k = 8, 150 points each, standard deviation 2 around centers in `[-10, 10]^16`.
pub fn blobs16(seed: u64) -> Dataset {
    let mut ds = blobs(1200, 16, 8, 2.0, seed);
    ds.name = "blobs-16d".into();
    ds
}

/// Every synthetic geometry of the reproduction, for a seed.
pub fn geometries(seed: u64) -> Vec<Dataset> {
    vec![
        isotropic(seed),
        anisotropic(seed),
        unequal_variance(seed),
        unequal_size(seed),
        moons(seed),
        circles(seed),
        blobs16(seed),
    ]
}
