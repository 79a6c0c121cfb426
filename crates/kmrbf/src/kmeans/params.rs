//! K-Means parameters, validated once.

use super::hamerly::hamerly_run;
use super::lloyd::lloyd_run;
use super::model::{Algorithm, KMeans, Timings};
use super::step::{mean_variance, IterInfo, RunResult};
use super::yinyang::yinyang_run;
use crate::data::Prepared;
use crate::data::{check_weights, MatView};
use crate::error::{Error, Result};
use crate::init::{kmeans_plus_plus, random_rows};
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::row_sq_norms;
use crate::real::Real;
use crate::rng::Rng;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// How the initial centers are chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum Init<T> {
    /// Greedy k-means++ with `2 + floor(ln k)` local trials (scikit-learn's default).
    KMeansPlusPlus,
    /// `k` distinct rows, drawn with probability proportional to their weight.
    Random,
    /// Given `k x d` centers, row-major.
    Centers(Vec<T>),
}

/// K-Means hyperparameters (builder). `fit` validates them with the data.
#[derive(Clone, Debug)]
pub struct KMeansParams<T> {
    /// Number of clusters.
    pub k: usize,
    /// Initialization.
    pub init: Init<T>,
    /// Restarts; `None`: 1 for k-means++ and given centers, 10 for random (scikit-learn's "auto").
    pub n_init: Option<usize>,
    /// Iteration cap per restart.
    pub max_iter: usize,
    /// Relative tolerance: stop when `sum_k ||dc_k||^2 <= tol * mean_j var(X[:, j])`.
    pub tol: f64,
    /// Seed of the initialization.
    pub seed: u64,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Raised by another thread to stop the fit after the current iteration
    /// ([`Error::Interrupted`]).
    pub stop: Option<Arc<AtomicBool>>,
    /// The instruction-set tier the kernels run on (default: [`Isa::detect`]). Every tier
    /// gives the same centers, labels and inertia.
    pub isa: Isa,
    /// Threads (`None`: the caller's rayon pool; see [`crate::par`]). Every count gives the
    /// same bits.
    pub threads: Option<usize>,
}

impl<T: Real> KMeansParams<T> {
    /// Defaults of scikit-learn: k-means++, max_iter 300, tol 1e-4, seed 0, auto.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            init: Init::KMeansPlusPlus,
            n_init: None,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            algorithm: Algorithm::Auto,
            stop: None,
            isa: Isa::detect(),
            threads: None,
        }
    }
    /// Sets the number of threads (`None`: the caller's rayon pool).
    pub fn threads(mut self, n: Option<usize>) -> Self {
        self.threads = n;
        self
    }
    /// Sets the instruction-set tier the kernels run on.
    pub fn isa(mut self, isa: Isa) -> Self {
        self.isa = isa;
        self
    }
    /// Sets a flag that stops the fit when raised (checked after every iteration).
    pub fn stop_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }
    /// Sets the initialization.
    pub fn init(mut self, init: Init<T>) -> Self {
        self.init = init;
        self
    }
    /// Sets the number of restarts.
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = Some(n);
        self
    }
    /// Sets the iteration cap.
    pub fn max_iter(mut self, m: usize) -> Self {
        self.max_iter = m;
        self
    }
    /// Sets the relative tolerance.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the algorithm.
    pub fn algorithm(mut self, a: Algorithm) -> Self {
        self.algorithm = a;
        self
    }

    /// Checks the parameters against data of `n` rows and `d` columns.
    pub fn validate(&self, n: usize, d: usize) -> Result<()> {
        if self.k == 0 {
            return Err(Error::BadK {
                k: 0,
                reason: "need at least one cluster".into(),
            });
        }
        if self.k > n {
            return Err(Error::BadK {
                k: self.k,
                reason: format!("more clusters than rows (n = {n})"),
            });
        }
        if self.max_iter == 0 {
            return Err(Error::BadParam {
                name: "max_iter",
                value: "0".into(),
                reason: "must be >= 1",
            });
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::BadParam {
                name: "tol",
                value: self.tol.to_string(),
                reason: "must be finite and >= 0",
            });
        }
        if self.n_init == Some(0) {
            return Err(Error::BadParam {
                name: "n_init",
                value: "0".into(),
                reason: "must be >= 1",
            });
        }
        if let Init::Centers(c) = &self.init {
            if c.len() != self.k * d {
                let got_k = c.len().checked_div(d).unwrap_or(0);
                return Err(Error::InitShape {
                    expected_k: self.k,
                    expected_d: d,
                    got_k,
                    got_d: if got_k * d == c.len() { d } else { c.len() },
                });
            }
            crate::data::check_finite("init centers", c, d)?;
        }
        Ok(())
    }

    /// Restarts that will run.
    pub fn effective_n_init(&self) -> usize {
        self.n_init.unwrap_or(match self.init {
            Init::Random => 10,
            _ => 1,
        })
    }

    /// The initial centers restart 0 of [`Self::fit`] starts from (same seed, same stream),
    /// so other models (the RBF annealing) can start where K-Means starts.
    pub fn initial_centers(
        &self,
        x: MatView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<Vec<T>> {
        crate::par::run(self.threads, || self.initial_centers_here(x, sample_weight))?
    }

    fn initial_centers_here(
        &self,
        x: MatView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<Vec<T>> {
        x.validate("data")?;
        self.validate(x.n(), x.d())?;
        if let Some(w) = sample_weight {
            check_weights(w, x.n())?;
        }
        let mut xn = crate::memory::vec_filled(x.n(), T::ZERO);
        row_sq_norms(x.data(), x.d(), &mut xn);
        let p = Prepared {
            x: x.data(),
            d: x.d(),
            xn: &xn,
            w: sample_weight,
            isa: self.isa,
        };
        let mut rng = Rng::fork(self.seed, 0);
        Ok(match &self.init {
            Init::KMeansPlusPlus => kmeans_plus_plus(p, self.k, &mut rng),
            Init::Random => random_rows(p, self.k, &mut rng),
            Init::Centers(c) => c.clone(),
        })
    }

    /// Fits K-Means to `x` (optionally weighted); keeps the restart with the lowest inertia.
    pub fn fit(&self, x: MatView<'_, T>, sample_weight: Option<&[T]>) -> Result<KMeans<T>> {
        self.fit_observed(x, sample_weight, &|_| {})
    }

    /// [`Self::fit`] with an observer called after every iteration.
    pub fn fit_observed(
        &self,
        x: MatView<'_, T>,
        sample_weight: Option<&[T]>,
        observer: &(dyn Fn(IterInfo) + Sync),
    ) -> Result<KMeans<T>> {
        crate::par::run(self.threads, || {
            self.fit_observed_here(x, sample_weight, observer)
        })?
    }

    fn fit_observed_here(
        &self,
        x: MatView<'_, T>,
        sample_weight: Option<&[T]>,
        observer: &(dyn Fn(IterInfo) + Sync),
    ) -> Result<KMeans<T>> {
        x.validate("data")?;
        self.validate(x.n(), x.d())?;
        if let Some(w) = sample_weight {
            check_weights(w, x.n())?;
            let positive = w.iter().filter(|v| **v > T::ZERO).count();
            if positive < self.k && matches!(self.init, Init::Random | Init::KMeansPlusPlus) {
                return Err(Error::BadK {
                    k: self.k,
                    reason: format!("only {positive} rows have positive weight"),
                });
            }
        }
        let mut xn = crate::memory::vec_filled(x.n(), T::ZERO);
        row_sq_norms(x.data(), x.d(), &mut xn);
        let p = Prepared {
            x: x.data(),
            d: x.d(),
            xn: &xn,
            w: sample_weight,
            isa: self.isa,
        };
        let tol_abs = self.tol * mean_variance(x);
        let algorithm = match self.algorithm {
            Algorithm::Auto => Algorithm::Lloyd,
            a => a,
        };
        let stop = self.stop.as_deref();
        let mut best: Option<RunResult<T>> = None;
        let mut timings = Timings::default();
        for run in 0..self.effective_n_init() {
            let t0 = std::time::Instant::now();
            let mut rng = Rng::fork(self.seed, run as u64);
            let init = match &self.init {
                Init::KMeansPlusPlus => kmeans_plus_plus(p, self.k, &mut rng),
                Init::Random => random_rows(p, self.k, &mut rng),
                Init::Centers(c) => c.clone(),
            };
            let t1 = std::time::Instant::now();
            timings.init_seconds += (t1 - t0).as_secs_f64();
            let r = match algorithm {
                Algorithm::Hamerly => {
                    hamerly_run(&p, &init, self.k, self.max_iter, tol_abs, observer, stop)
                }
                Algorithm::Yinyang => {
                    yinyang_run(&p, &init, self.k, self.max_iter, tol_abs, observer, stop)
                }
                _ => lloyd_run(&p, &init, self.k, self.max_iter, tol_abs, observer, stop),
            };
            timings.iter_seconds += t1.elapsed().as_secs_f64();
            timings.iterations += r.n_iter;
            if r.interrupted {
                return Err(Error::Interrupted);
            }
            if best.as_ref().is_none_or(|b| r.inertia < b.inertia) {
                best = Some(r);
            }
        }
        let best = best.expect("n_init >= 1");
        Ok(KMeans::from_run(
            best,
            self.k,
            x.d(),
            algorithm,
            timings,
            self.isa,
        ))
    }
}
