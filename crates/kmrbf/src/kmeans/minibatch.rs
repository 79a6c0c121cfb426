//! Mini-batch K-Means (Sculley 2010) with scikit-learn's `MiniBatchKMeans` semantics.
//!
//! [`MiniBatchState`] is the streaming core (`partial_fit`): each batch is assigned to the
//! current centers by the exact kernels, then every center that received rows moves to
//! `(c_k n_k + sum_i w_i x_i) / (n_k + sum_i w_i)`, its running weight `n_k` the inverse of its
//! learning rate; the arithmetic is scikit-learn's, in the data's precision and in row order,
//! so from the same centers and batches the centers agree with scikit-learn's to rounding of
//! the distances only. Centers whose weight falls below `reassignment_ratio` times the largest
//! move to random rows of the batch (scikit-learn's rule: when a center is empty, or after
//! every `10 k` rows). [`MiniBatchParams::fit`] draws the batches (with replacement, with
//! probability proportional to the sample weights), initialises on a random subset, and stops
//! on scikit-learn's smoothed-inertia rule.
//!
//! Everything random comes from one stream of the seed, used in a fixed order: the same bits
//! for any thread count.

use super::lloyd::{assign_labels, assign_pass};
use super::params::Init;
use super::step::inertia;
use super::step::mean_variance;
use crate::data::Prepared;
use crate::data::{check_finite, check_weights, MatView};
use crate::error::{Error, Result};
use crate::init::{kmeans_plus_plus, random_rows};
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::row_sq_norms;
use crate::kernels::layout::tiles::Blocking;
use crate::real::Real;
use crate::rng::Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Centers and the weight each has absorbed: the whole state between batches.
#[derive(Clone, Debug, PartialEq)]
pub struct MiniBatchState<T> {
    /// `k x d` centers, row-major.
    pub centers: Vec<T>,
    /// `k` running weights `n_k` (the learning rate of center `k` is `1 / n_k`).
    pub counts: Vec<T>,
    /// Rows seen since the last reassignment check fired.
    pub since_reassign: usize,
    k: usize,
    d: usize,
    isa: Isa,
}

/// What one batch did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchStep {
    /// `sum_i w_i ||x_i - c_{label_i}||^2` of the batch under the centers before the update.
    pub inertia: f64,
    /// `sum_k ||c_k(new) - c_k(old)||^2`.
    pub center_shift: f64,
    /// Centers moved to batch rows by the reassignment.
    pub reassigned: usize,
}

impl<T: Real> MiniBatchState<T> {
    /// A fresh state at `centers` (`k x d`): weights 0.
    pub fn new(centers: Vec<T>, k: usize, d: usize) -> Result<Self> {
        let counts = vec![T::ZERO; k];
        Self::from_parts(centers, counts, 0, k, d)
    }

    /// A state from its parts (what [`Self::centers`], [`Self::counts`] and
    /// [`Self::since_reassign`] held), checked.
    pub fn from_parts(
        centers: Vec<T>,
        counts: Vec<T>,
        since_reassign: usize,
        k: usize,
        d: usize,
    ) -> Result<Self> {
        if k == 0 {
            return Err(Error::BadK {
                k,
                reason: "need at least one center".into(),
            });
        }
        for (what, len, rows, cols) in [
            ("centers", centers.len(), k, d),
            ("counts", counts.len(), k, 1),
        ] {
            if len != rows * cols {
                return Err(Error::BadLength {
                    what,
                    rows,
                    cols,
                    expected: rows * cols,
                    got: len,
                });
            }
        }
        check_finite("centers", &centers, d)?;
        if let Some(j) = counts
            .iter()
            .position(|c| !(c.is_finite() && *c >= T::ZERO))
        {
            return Err(Error::BadParam {
                name: "counts",
                value: format!("{} (center {j})", counts[j]),
                reason: "center weights must be finite and >= 0",
            });
        }
        Ok(Self {
            centers,
            counts,
            since_reassign,
            k,
            d,
            isa: Isa::detect(),
        })
    }

    /// The same state, its steps run on tier `isa` (default: [`Isa::detect`]; every tier
    /// gives the same bits).
    pub fn with_isa(mut self, isa: Isa) -> Self {
        self.isa = isa;
        self
    }

    /// The tier the steps run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Number of centers.
    pub fn k(&self) -> usize {
        self.k
    }

    /// scikit-learn's rule for whether the next batch (of `rows` rows) checks for centers to
    /// reassign: some center has weight 0, or `10 k` rows have passed since the last check.
    pub fn reassign_due(&mut self, rows: usize) -> bool {
        self.since_reassign += rows;
        if self.counts.contains(&T::ZERO) || self.since_reassign >= 10 * self.k {
            self.since_reassign = 0;
            return true;
        }
        false
    }

    /// One step on `batch` (weights `w`, `None`: 1): labels under the current centers, the
    /// batch's inertia, the per-center update, then, with `reassign = Some((ratio, rng))`,
    /// the centers whose weight is below `ratio` times the largest (at most half the batch's
    /// rows of them, the lightest first) move to distinct batch rows drawn uniformly, and
    /// their weights become the smallest weight among the others.
    pub fn step(
        &mut self,
        batch: MatView<'_, T>,
        w: Option<&[T]>,
        reassign: Option<(f64, &mut Rng)>,
    ) -> Result<BatchStep> {
        let xn = self.checked_norms(batch, w)?;
        let p = Prepared {
            x: batch.data(),
            d: self.d,
            xn: &xn,
            w,
            isa: self.isa,
        };
        Ok(self.step_prepared(&p, reassign))
    }

    /// [`Self::step`] on rows already checked, with their squared norms.
    pub(crate) fn step_prepared(
        &mut self,
        p: &Prepared<'_, T>,
        reassign: Option<(f64, &mut Rng)>,
    ) -> BatchStep {
        let (d, k) = (self.d, self.k);
        let batch = MatView::new(p.x, p.n(), d).expect("rows of d values");
        let w = p.w;
        let (labels, batch_inertia) = self.assign_prepared(p);
        let old = self.centers.clone();
        // Per center: the batch's weight, then c n_k + sum w x (rows in order) over the new
        // weight, as scikit-learn's dense update.
        let mut wsum = vec![T::ZERO; k];
        for (i, &l) in labels.iter().enumerate() {
            wsum[l as usize] += w.map_or(T::ONE, |w| w[i]);
        }
        for j in 0..k {
            if wsum[j] > T::ZERO {
                let nk = self.counts[j];
                for v in &mut self.centers[j * d..(j + 1) * d] {
                    *v *= nk;
                }
            }
        }
        for (i, &l) in labels.iter().enumerate() {
            let j = l as usize;
            if wsum[j] > T::ZERO {
                let wi = w.map_or(T::ONE, |w| w[i]);
                let row = batch.row(i);
                for (c, &x) in self.centers[j * d..(j + 1) * d].iter_mut().zip(row) {
                    *c += x * wi;
                }
            }
        }
        for j in 0..k {
            if wsum[j] > T::ZERO {
                self.counts[j] += wsum[j];
                let alpha = T::ONE / self.counts[j];
                for v in &mut self.centers[j * d..(j + 1) * d] {
                    *v *= alpha;
                }
            }
        }
        let reassigned = match reassign {
            Some((ratio, rng)) if ratio > 0.0 => self.reassign(batch, ratio, rng),
            _ => 0,
        };
        let center_shift = self
            .centers
            .iter()
            .zip(&old)
            .map(|(a, b)| {
                let v = a.to_f64() - b.to_f64();
                v * v
            })
            .sum();
        BatchStep {
            inertia: batch_inertia,
            center_shift,
            reassigned,
        }
    }

    /// Labels of the rows of `batch` under the current centers and their inertia
    /// `sum_i w_i ||x_i - c_{label_i}||^2` (f64): what a batch looks like after its step.
    pub fn assign(&self, batch: MatView<'_, T>, w: Option<&[T]>) -> Result<(Vec<u32>, f64)> {
        let xn = self.checked_norms(batch, w)?;
        let p = Prepared {
            x: batch.data(),
            d: self.d,
            xn: &xn,
            w,
            isa: self.isa,
        };
        Ok(self.assign_prepared(&p))
    }

    /// The squared row norms of `batch` after checking its columns, values and weights.
    pub(crate) fn checked_norms(&self, batch: MatView<'_, T>, w: Option<&[T]>) -> Result<Vec<T>> {
        if batch.d() != self.d {
            return Err(Error::ColumnMismatch {
                what: "batch (the centers)",
                expected: self.d,
                got: batch.d(),
            });
        }
        batch.validate("batch")?;
        if let Some(w) = w {
            check_weights(w, batch.n())?;
        }
        let mut xn = vec![T::ZERO; batch.n()];
        row_sq_norms(batch.data(), self.d, &mut xn);
        Ok(xn)
    }

    /// [`Self::assign`] on rows already checked, with their squared norms.
    fn assign_prepared(&self, p: &Prepared<'_, T>) -> (Vec<u32>, f64) {
        let (b, k) = (p.n(), self.k);
        let blocking = batch_blocking::<T>(b, k);
        let mut labels = vec![0u32; b];
        assign_pass(p, &self.centers, k, &mut labels, false, blocking);
        let total = inertia(p, &labels, &self.centers, blocking.chunk_rows);
        (labels, total)
    }

    /// Moves the light centers to random distinct rows of `batch`; returns how many moved.
    pub(crate) fn reassign(&mut self, batch: MatView<'_, T>, ratio: f64, rng: &mut Rng) -> usize {
        let (b, d, k) = (batch.n(), self.d, self.k);
        let max = self
            .counts
            .iter()
            .fold(T::ZERO, |m, &v| if v > m { v } else { m });
        let limit = T::from_f64(ratio) * max;
        let mut moved: Vec<bool> = self.counts.iter().map(|&c| c < limit).collect();
        let cap = b / 2;
        if moved.iter().filter(|&&m| m).count() > cap {
            // Only the `cap` lightest (ties by index) move.
            let mut order: Vec<usize> = (0..k).collect();
            order.sort_by(|&a, &c| {
                self.counts[a]
                    .partial_cmp(&self.counts[c])
                    .unwrap()
                    .then(a.cmp(&c))
            });
            for &j in &order[cap..] {
                moved[j] = false;
            }
        }
        let n_moved = moved.iter().filter(|&&m| m).count();
        if n_moved == 0 {
            return 0;
        }
        // Distinct rows: the first n_moved of a partial Fisher-Yates shuffle.
        let mut rows: Vec<usize> = (0..b).collect();
        for t in 0..n_moved {
            let s = t + rng.below(b - t);
            rows.swap(t, s);
        }
        let mut next = rows.into_iter();
        for j in (0..k).filter(|&j| moved[j]) {
            let r = next.next().expect("n_moved <= b / 2 rows");
            self.centers[j * d..(j + 1) * d].copy_from_slice(batch.row(r));
        }
        let floor = (0..k)
            .filter(|&j| !moved[j])
            .map(|j| self.counts[j])
            .reduce(|a, v| if v < a { v } else { a });
        if let Some(floor) = floor {
            for j in (0..k).filter(|&j| moved[j]) {
                self.counts[j] = floor;
            }
        }
        n_moved
    }
}

/// The blocking of one batch's assignment: the usual tiles, in about four chunks so that a
/// batch (often a single chunk of a full pass) spreads over the threads. Labels do not
/// depend on the blocking; the inertia's chunks depend only on `b` and `k`.
fn batch_blocking<T: Real>(b: usize, k: usize) -> Blocking {
    let full = Blocking::of::<T>(k);
    let tiles = b.div_ceil(full.tile_rows);
    Blocking {
        tile_rows: full.tile_rows,
        chunk_rows: full.tile_rows * tiles.div_ceil(4).max(1),
    }
}

/// Mini-batch K-Means hyperparameters (builder), scikit-learn's defaults.
#[derive(Clone, Debug)]
pub struct MiniBatchParams<T> {
    /// Number of clusters.
    pub k: usize,
    /// Initialization (on a random subset of `init_size` rows).
    pub init: Init<T>,
    /// Rows per batch (capped at `n`).
    pub batch_size: usize,
    /// Passes over the data: `max_iter * n / batch_size` batches at most.
    pub max_iter: usize,
    /// Stop when `sum_k ||dc_k||^2 <= tol * mean_j var(X[:, j])` after a batch (0: never).
    pub tol: f64,
    /// Stop after this many batches without a new minimum of the smoothed inertia.
    pub max_no_improvement: Option<usize>,
    /// Rows of the initialization subset; `None`: `3 batch_size` (at least `3 k`); a size below
    /// `k` becomes `3 k` (scikit-learn's rule); at most `n`.
    pub init_size: Option<usize>,
    /// Initializations tried (the one with the lowest inertia on a validation subset is kept);
    /// `None`: 1 for k-means++ and given centers, 3 for random.
    pub n_init: Option<usize>,
    /// Centers lighter than this fraction of the heaviest are reassigned.
    pub reassignment_ratio: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Raised by another thread to stop after the current batch ([`Error::Interrupted`]).
    pub stop: Option<Arc<AtomicBool>>,
    /// The instruction-set tier the kernels run on (default: [`Isa::detect`]).
    pub isa: Isa,
    /// Threads (`None`: the caller's rayon pool; see [`crate::par`]).
    pub threads: Option<usize>,
}

/// A fitted mini-batch K-Means.
#[derive(Clone, Debug)]
pub struct MiniBatchFit<T> {
    /// The final state (centers and their weights).
    pub state: MiniBatchState<T>,
    /// Labels of every row under the final centers.
    pub labels: Vec<u32>,
    /// `sum_i w_i ||x_i - c_{label_i}||^2` over all rows, f64.
    pub inertia: f64,
    /// Batches run.
    pub n_steps: usize,
    /// Passes over the data those batches amount to, `ceil(n_steps batch_size / n)`.
    pub n_iter: usize,
    /// Mean inertia per row of each batch, in order (the trajectory the stopping rule smooths).
    pub batch_inertia: Vec<f64>,
}

impl<T: Real> MiniBatchParams<T> {
    /// scikit-learn's defaults: k-means++, batches of 1024, 100 passes, tol 0, 10 batches
    /// without improvement, reassignment ratio 0.01, seed 0.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            init: Init::KMeansPlusPlus,
            batch_size: 1024,
            max_iter: 100,
            tol: 0.0,
            max_no_improvement: Some(10),
            init_size: None,
            n_init: None,
            reassignment_ratio: 0.01,
            seed: 0,
            stop: None,
            isa: Isa::detect(),
            threads: None,
        }
    }

    /// Sets the instruction-set tier the kernels run on.
    pub fn isa(mut self, isa: Isa) -> Self {
        self.isa = isa;
        self
    }

    fn check(&self, n: usize, d: usize) -> Result<()> {
        if self.k == 0 || self.k > n {
            return Err(Error::BadK {
                k: self.k,
                reason: format!("need 1 <= k <= n = {n}"),
            });
        }
        let bad = |name, value: String, reason| {
            Err(Error::BadParam {
                name,
                value,
                reason,
            })
        };
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "must be >= 1");
        }
        if self.max_iter == 0 {
            return bad("max_iter", "0".into(), "must be >= 1");
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return bad("tol", self.tol.to_string(), "must be finite and >= 0");
        }
        if !(self.reassignment_ratio.is_finite() && self.reassignment_ratio >= 0.0) {
            return bad(
                "reassignment_ratio",
                self.reassignment_ratio.to_string(),
                "must be finite and >= 0",
            );
        }
        if self.n_init == Some(0) {
            return bad("n_init", "0".into(), "must be >= 1");
        }
        if let Init::Centers(c) = &self.init {
            if c.len() != self.k * d {
                return Err(Error::InitShape {
                    expected_k: self.k,
                    expected_d: d,
                    got_k: c.len() / d.max(1),
                    got_d: d,
                });
            }
            check_finite("init", c, d)?;
        }
        Ok(())
    }

    /// Fits to `x` (optionally weighted).
    pub fn fit(&self, x: MatView<'_, T>, sample_weight: Option<&[T]>) -> Result<MiniBatchFit<T>> {
        crate::par::run(self.threads, || self.fit_here(x, sample_weight))?
    }

    /// The initial centers [`Self::fit`] starts from on `x` (the same random draws).
    pub fn initial_centers(
        &self,
        x: MatView<'_, T>,
        sample_weight: Option<&[T]>,
    ) -> Result<Vec<T>> {
        crate::par::run(self.threads, || {
            self.check_data(x, sample_weight)?;
            let mut rng = Rng::fork(self.seed, 0);
            let mut rows = MemoryRows(x);
            let mut draw = BatchDraw::new(&rows, sample_weight, self.batch_size, self.isa);
            Ok(self.start(&mut draw, &mut rows, &mut rng)?.0)
        })?
    }

    /// [`Self::fit`] on rows read from `rows` as the batches need them (the weights `w` of
    /// every row in memory; `scale` the mean column variance of the data, the unit of `tol`):
    /// the same draws as [`Self::fit`], so on the same rows the same state, batches and trace.
    /// Labelling every row under the final centers is the caller's pass (one read of the
    /// data).
    pub fn fit_rows<S>(
        &self,
        rows: &mut S,
        w: Option<&[T]>,
        scale: f64,
    ) -> std::result::Result<MiniBatchRun<T>, S::Error>
    where
        S: RowSource<T> + Send,
        S::Error: Send,
    {
        crate::par::run(self.threads, || {
            self.check(rows.n(), rows.d())?;
            if let Some(w) = w {
                check_weights(w, rows.n())?;
            }
            self.run_rows(rows, w, scale)
        })?
    }

    /// The state after the batches (checked settings and weights).
    fn run_rows<S: RowSource<T>>(
        &self,
        rows: &mut S,
        w: Option<&[T]>,
        scale: f64,
    ) -> std::result::Result<MiniBatchRun<T>, S::Error> {
        let (n, d, k) = (rows.n(), rows.d(), self.k);
        let mut rng = Rng::fork(self.seed, 0);
        let mut draw = BatchDraw::new(rows, w, self.batch_size, self.isa);
        let (c0, _) = self.start(&mut draw, rows, &mut rng)?;
        let mut state = MiniBatchState::new(c0, k, d)?.with_isa(self.isa);
        let tol_abs = self.tol_abs(scale);
        let n_steps = (self.max_iter * n / draw.batch).max(1);
        let (steps, trace) = self.run_batches(
            &mut state,
            &mut draw,
            rows,
            &mut rng,
            n_steps,
            tol_abs,
            |st, b, re| {
                let step = st.step_prepared(b, re);
                (step.inertia, step.center_shift)
            },
        )?;
        Ok(MiniBatchRun {
            state,
            n_steps: steps,
            n_iter: (steps * draw.batch).div_ceil(n),
            batch_inertia: trace,
        })
    }

    fn fit_here(&self, x: MatView<'_, T>, sample_weight: Option<&[T]>) -> Result<MiniBatchFit<T>> {
        self.check_data(x, sample_weight)?;
        let scale = if self.tol > 0.0 {
            mean_variance(x)
        } else {
            0.0
        };
        let run = self.run_rows(&mut MemoryRows(x), sample_weight, scale)?;
        let p = prepared(x, sample_weight, self.isa);
        let (labels, total) = final_labels(&p.view(), &run.state.centers, self.k);
        Ok(MiniBatchFit {
            state: run.state,
            labels,
            inertia: total,
            n_steps: run.n_steps,
            n_iter: run.n_iter,
            batch_inertia: run.batch_inertia,
        })
    }

    /// Checks the data, the weights and the settings against them.
    pub(crate) fn check_data(&self, x: MatView<'_, T>, w: Option<&[T]>) -> Result<()> {
        x.validate("data")?;
        self.check(x.n(), x.d())?;
        if let Some(w) = w {
            check_weights(w, x.n())?;
        }
        Ok(())
    }

    /// The center-shift tolerance in data units: `tol` times `scale`, the mean column
    /// variance (0: off).
    pub(crate) fn tol_abs(&self, scale: f64) -> f64 {
        if self.tol > 0.0 {
            self.tol * scale
        } else {
            0.0
        }
    }

    /// The initial centers (the best of `n_init` initializations, each on its own random
    /// subset of `init_size` rows, judged by the inertia of a validation subset drawn first)
    /// and that validation subset as gathered rows.
    pub(crate) fn start<'a, S: RowSource<T>>(
        &self,
        draw: &'a mut BatchDraw<'_, T>,
        rows: &mut S,
        rng: &mut Rng,
    ) -> std::result::Result<(Vec<T>, Prepared<'a, T>), S::Error> {
        let w = draw.w;
        let (n, k) = (rows.n(), self.k);
        let init_size = match self.init_size {
            Some(s) if s >= k => s,
            Some(_) => 3 * k,
            None if 3 * draw.batch < k => 3 * k,
            None => 3 * draw.batch,
        }
        .min(n);
        let n_init = match self.init {
            Init::Centers(_) => 1,
            Init::Random => self.n_init.unwrap_or(3),
            _ => self.n_init.unwrap_or(1),
        };
        let valid: Vec<usize> = (0..init_size).map(|_| rng.below(n)).collect();
        let mut best: Option<(f64, Vec<T>)> = None;
        for _ in 0..n_init {
            let c0 = match &self.init {
                Init::Centers(c) => c.clone(),
                method => {
                    let idx: Vec<usize> = (0..init_size).map(|_| rng.below(n)).collect();
                    let sub = draw.buf.rows(rows, w, &idx, self.isa)?;
                    match method {
                        Init::Random => random_rows(sub, k, rng),
                        _ => kmeans_plus_plus(sub, k, rng),
                    }
                }
            };
            let v = draw.buf.rows(rows, w, &valid, self.isa)?;
            let labels = assign_labels(&v, &c0, k);
            let score = inertia(&v, &labels, &c0, Blocking::of::<T>(k).chunk_rows);
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                best = Some((score, c0));
            }
        }
        let c0 = best.expect("n_init >= 1").1;
        Ok((c0, draw.buf.rows(rows, w, &valid, self.isa)?))
    }

    /// Runs at most `n_steps` batches of `draw` from `state` under scikit-learn's rules: before
    /// each batch the reassignment check ([`MiniBatchState::reassign_due`]), then `step` (the
    /// state, the batch, the reassignment to run) returns the batch's loss (a sum over its
    /// rows) and the squared center shift; the stopping rule watches the loss per row and the
    /// shift against `tol_abs`. Returns the batches run and each one's loss per row.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_batches<S: RowSource<T>>(
        &self,
        state: &mut MiniBatchState<T>,
        draw: &mut BatchDraw<'_, T>,
        rows: &mut S,
        rng: &mut Rng,
        n_steps: usize,
        tol_abs: f64,
        mut step: impl FnMut(
            &mut MiniBatchState<T>,
            &Prepared<'_, T>,
            Option<(f64, &mut Rng)>,
        ) -> (f64, f64),
    ) -> std::result::Result<(usize, Vec<f64>), S::Error> {
        let batch = draw.batch;
        let mut trace = Vec::new();
        let mut stop_rule = StopRule::new(self.max_no_improvement, batch, rows.n());
        for _ in 0..n_steps {
            if self
                .stop
                .as_deref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
            {
                return Err(Error::Interrupted.into());
            }
            let b = draw.next(rows, rng)?;
            let due = state.reassign_due(batch);
            let (loss, shift) = step(
                state,
                &b,
                due.then_some((self.reassignment_ratio, &mut *rng)),
            );
            let mean = loss / batch as f64;
            trace.push(mean);
            if stop_rule.converged(mean, shift, tol_abs) {
                break;
            }
        }
        Ok((trace.len(), trace))
    }
}

/// Rows a mini-batch fit draws from: the data in memory ([`MemoryRows`]), or rows read on
/// demand from a file larger than memory.
pub trait RowSource<T> {
    /// The error of a read (the library's errors convert into it).
    type Error: From<Error>;
    /// Rows.
    fn n(&self) -> usize;
    /// Columns.
    fn d(&self) -> usize;
    /// Appends rows `idx` (in that order, repeats allowed; each `< n`) to `out`, `d` values
    /// each, every one finite (an error otherwise).
    fn gather(&mut self, idx: &[usize], out: &mut Vec<T>) -> std::result::Result<(), Self::Error>;
}

/// Rows in memory, already checked finite.
pub struct MemoryRows<'x, T>(pub MatView<'x, T>);

impl<T: Real> RowSource<T> for MemoryRows<'_, T> {
    type Error = Error;
    fn n(&self) -> usize {
        self.0.n()
    }
    fn d(&self) -> usize {
        self.0.d()
    }
    fn gather(&mut self, idx: &[usize], out: &mut Vec<T>) -> Result<()> {
        for &i in idx {
            out.extend_from_slice(self.0.row(i));
        }
        Ok(())
    }
}

/// What a mini-batch run over a [`RowSource`] ends with.
#[derive(Clone, Debug)]
pub struct MiniBatchRun<T> {
    /// The final state (centers and their weights).
    pub state: MiniBatchState<T>,
    /// Batches run.
    pub n_steps: usize,
    /// Passes over the data those batches amount to, `ceil(n_steps batch_size / n)`.
    pub n_iter: usize,
    /// Mean inertia per row of each batch, in order.
    pub batch_inertia: Vec<f64>,
}

/// `x` with its squared norms and weights, as the kernels take it.
fn prepared<'a, T: Real>(x: MatView<'a, T>, w: Option<&'a [T]>, isa: Isa) -> OwnedPrepared<'a, T> {
    let mut xn = vec![T::ZERO; x.n()];
    row_sq_norms(x.data(), x.d(), &mut xn);
    OwnedPrepared { x, xn, w, isa }
}

/// [`Prepared`] owning its norms.
pub(crate) struct OwnedPrepared<'a, T> {
    x: MatView<'a, T>,
    xn: Vec<T>,
    w: Option<&'a [T]>,
    isa: Isa,
}

impl<'a, T: Real> OwnedPrepared<'a, T> {
    /// The borrowed view.
    pub(crate) fn view(&self) -> Prepared<'_, T> {
        Prepared {
            x: self.x.data(),
            d: self.x.d(),
            xn: &self.xn,
            w: self.w,
            isa: self.isa,
        }
    }
}

/// Labels of every row of `p` under `centers` (`k x d`) and their inertia (summed in chunks of
/// [`INERTIA_CHUNK_ROWS`] rows, so a caller reading the rows in blocks can add the same sums
/// with [`super::step::InertiaSum`]).
pub(crate) fn final_labels<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
) -> (Vec<u32>, f64) {
    let labels = assign_labels(p, centers, k);
    let total = inertia(p, &labels, centers, INERTIA_CHUNK_ROWS);
    (labels, total)
}

/// The chunk of the final inertia's sum.
pub const INERTIA_CHUNK_ROWS: usize = 8192;

/// The batches of a fit: `batch` rows (at most `n`) drawn with replacement, each with
/// probability proportional to its weight, gathered (with their squared norms) into a reused
/// buffer.
pub(crate) struct BatchDraw<'w, T> {
    w: Option<&'w [T]>,
    /// Rows per batch.
    pub(crate) batch: usize,
    cumulative: Option<Vec<f64>>,
    idx: Vec<usize>,
    buf: Gather<T>,
    isa: Isa,
}

impl<'w, T: Real> BatchDraw<'w, T> {
    /// Batches of `batch_size` rows (at most all) of `rows`, weights `w`.
    pub(crate) fn new<S: RowSource<T>>(
        rows: &S,
        w: Option<&'w [T]>,
        batch_size: usize,
        isa: Isa,
    ) -> Self {
        let batch = batch_size.min(rows.n());
        let cumulative = w.map(|w| {
            let mut acc = 0.0f64;
            w.iter()
                .map(|v| {
                    acc += v.to_f64();
                    acc
                })
                .collect::<Vec<f64>>()
        });
        Self {
            w,
            batch,
            cumulative,
            idx: vec![0; batch],
            buf: Gather::default(),
            isa,
        }
    }

    /// The next batch (unweighted rows: the weights chose them).
    pub(crate) fn next<S: RowSource<T>>(
        &mut self,
        rows: &mut S,
        rng: &mut Rng,
    ) -> std::result::Result<Prepared<'_, T>, S::Error> {
        let n = rows.n();
        match &self.cumulative {
            None => self.idx.iter_mut().for_each(|i| *i = rng.below(n)),
            Some(cum) => {
                let total = *cum.last().expect("n >= 1");
                for i in self.idx.iter_mut() {
                    let u = rng.uniform() * total;
                    // The first row whose running total exceeds u (rows of weight 0 never).
                    *i = cum.partition_point(|&c| c <= u).min(n - 1);
                }
            }
        }
        // Checked rows, their norms computed once by the gather.
        self.buf.rows(rows, None, &self.idx, self.isa)
    }
}

/// scikit-learn's stopping rule on the batches' mean inertia: the first batch only starts;
/// then an exponentially weighted average with `alpha = min(2 batch / (n + 1), 1)`, stopping
/// when the centers moved at most `tol_abs` (when `tol_abs > 0`) or when the average has not
/// reached a new minimum for `max_no_improvement` batches.
struct StopRule {
    max_no_improvement: Option<usize>,
    alpha: f64,
    seen: usize,
    ewa: Option<f64>,
    ewa_min: Option<f64>,
    no_improvement: usize,
}

impl StopRule {
    fn new(max_no_improvement: Option<usize>, batch: usize, n: usize) -> Self {
        Self {
            max_no_improvement,
            alpha: (batch as f64 * 2.0 / (n as f64 + 1.0)).min(1.0),
            seen: 0,
            ewa: None,
            ewa_min: None,
            no_improvement: 0,
        }
    }

    fn converged(&mut self, mean_inertia: f64, center_shift: f64, tol_abs: f64) -> bool {
        self.seen += 1;
        if self.seen == 1 {
            return false;
        }
        let ewa = match self.ewa {
            None => mean_inertia,
            Some(e) => e * (1.0 - self.alpha) + mean_inertia * self.alpha,
        };
        self.ewa = Some(ewa);
        if tol_abs > 0.0 && center_shift <= tol_abs {
            return true;
        }
        if self.ewa_min.is_none_or(|m| ewa < m) {
            self.no_improvement = 0;
            self.ewa_min = Some(ewa);
        } else {
            self.no_improvement += 1;
        }
        self.max_no_improvement
            .is_some_and(|m| self.no_improvement >= m)
    }
}

/// A reusable buffer of gathered rows with their norms and weights.
#[derive(Default)]
struct Gather<T> {
    x: Vec<T>,
    xn: Vec<T>,
    w: Vec<T>,
}

impl<T: Real> Gather<T> {
    /// Rows `idx` of `rows` (and their weights `w`) as a prepared matrix.
    fn rows<'a, S: RowSource<T>>(
        &'a mut self,
        rows: &mut S,
        w: Option<&[T]>,
        idx: &[usize],
        isa: Isa,
    ) -> std::result::Result<Prepared<'a, T>, S::Error> {
        let d = rows.d();
        self.x.clear();
        rows.gather(idx, &mut self.x)?;
        self.xn.resize(idx.len(), T::ZERO);
        row_sq_norms(&self.x, d, &mut self.xn);
        if let Some(w) = w {
            self.w.clear();
            self.w.extend(idx.iter().map(|&i| w[i]));
        }
        Ok(Prepared {
            x: &self.x,
            d,
            xn: &self.xn,
            w: w.map(|_| &self.w[..]),
            isa,
        })
    }
}
