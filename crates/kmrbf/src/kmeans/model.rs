//! A fitted K-Means model: immutable, with getters.

use super::lloyd::assign_labels;
use super::step::RunResult;
use crate::data::MatView;
use crate::data::Prepared;
use crate::error::{Error, Result};
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::row_sq_norms;
use crate::real::Real;

/// The result of [`super::KMeansParams::fit`].
#[derive(Clone, Debug)]
pub struct KMeans<T> {
    centers: Vec<T>,
    labels: Vec<u32>,
    inertia: f64,
    n_iter: usize,
    k: usize,
    d: usize,
    algorithm: Algorithm,
    timings: Timings,
    isa: Isa,
}

impl<T: Real> KMeans<T> {
    pub(crate) fn from_run(
        r: RunResult<T>,
        k: usize,
        d: usize,
        algorithm: Algorithm,
        timings: Timings,
        isa: Isa,
    ) -> Self {
        Self {
            centers: r.centers,
            labels: r.labels,
            inertia: r.inertia,
            n_iter: r.n_iter,
            k,
            d,
            algorithm,
            timings,
            isa,
        }
    }

    /// The labels, moved out of the model (no copy).
    pub fn into_labels(self) -> Vec<u32> {
        self.labels
    }

    /// Where the fit spent its time.
    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// `k x d` centers, row-major.
    pub fn centers(&self) -> &[T] {
        &self.centers
    }
    /// Label of each training row (nearest returned center).
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }
    /// `sum_i w_i min_k ||x_i - c_k||^2` of the training data.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }
    /// Iterations of the kept restart.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Columns.
    pub fn d(&self) -> usize {
        self.d
    }
    /// The algorithm that ran (after resolving `Auto`).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The instruction-set tier the fit ran on (`predict` runs on it too).
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Nearest center of each row of `x`.
    pub fn predict(&self, x: MatView<'_, T>) -> Result<Vec<u32>> {
        predict(self.isa, &self.centers, self.k, x)
    }
}

/// Nearest of the `k x d` `centers` for each row of `x` (validated), on tier `isa`.
pub fn predict<T: Real>(isa: Isa, centers: &[T], k: usize, x: MatView<'_, T>) -> Result<Vec<u32>> {
    let d = centers.len().checked_div(k).unwrap_or(0);
    x.validate("data")?;
    if x.d() != d {
        return Err(Error::ColumnMismatch {
            what: "data (the model's centers)",
            expected: d,
            got: x.d(),
        });
    }
    let mut xn = crate::memory::vec_filled(x.n(), T::ZERO);
    row_sq_norms(x.data(), d, &mut xn);
    let p = Prepared {
        x: x.data(),
        d,
        xn: &xn,
        w: None,
        isa,
    };
    Ok(assign_labels(&p, centers, k))
}

/// Which exact algorithm runs the iterations. All return the same centers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// Plain Lloyd on the fused GEMM kernel.
    Lloyd,
    /// Hamerly's bounds: skips distance computations; best at low dimension.
    Hamerly,
    /// Yinyang's group bounds: skips most distances at large `k`; Lloyd's labels and centers
    /// bit for bit (AVX2 tier or wider; Lloyd on the portable tier).
    Yinyang,
    /// The fastest measured on this kind of machine: Lloyd on the register kernel. Hamerly
    /// was 2.5-4x slower at d = 2, 8 and 16 (500k rows, k = 32; docs/NOTES.md); Yinyang was
    /// faster per iteration only at k = 4096 with about 5 rows per cluster, and 4-12x slower
    /// over whole fits of overlapping blobs (bench/RESULTS.md).
    Auto,
}

impl std::str::FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "lloyd" => Ok(Self::Lloyd),
            "hamerly" => Ok(Self::Hamerly),
            "yinyang" => Ok(Self::Yinyang),
            "auto" => Ok(Self::Auto),
            other => Err(Error::BadParam {
                name: "algorithm",
                value: other.to_string(),
                reason: "expected lloyd, hamerly, yinyang or auto",
            }),
        }
    }
}

/// Wall-clock time a fit spent, over all restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Seconds choosing initial centers.
    pub init_seconds: f64,
    /// Seconds iterating (including the final assignment and inertia).
    pub iter_seconds: f64,
    /// Iterations over all restarts.
    pub iterations: usize,
}
