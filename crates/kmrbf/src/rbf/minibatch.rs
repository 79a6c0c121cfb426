//! Annealed mini-batch soft-lloyd: the RBF model trained on random batches, its temperature
//! lowered stage by stage, landing on mini-batch K-Means.
//!
//! One step ([`MiniBatchState::soft_step`]) is Sculley's mini-batch update with the hard
//! labels replaced by responsibilities: with `S_k = sum_i w_i r_ik x_i` and
//! `M_k = sum_i w_i r_ik` of the batch at the current centers, every center with `M_k > 0`
//! moves to `(n_k c_k + S_k) / (n_k + M_k)` and its running weight `n_k` grows by `M_k` (its
//! learning rate is `M_k / (n_k + M_k)`). From `n_k = 0` that is one soft-lloyd step on the
//! batch; at a fixed temperature it is a stochastic approximation of the soft-lloyd fixed
//! point. Where the batch is one-hot (every row, or the temperature below the rounding
//! resolution of its distances, [`super::step::at_one_hot_limit`]) the step is mini-batch
//! K-Means' own ([`MiniBatchState`]), bit for bit: a schedule that only visits the one-hot
//! limit reproduces [`MiniBatchParams::fit`] exactly.
//!
//! [`MiniBatchAnnealParams::fit`] draws batches as mini-batch K-Means does (with replacement,
//! proportional to the sample weights, from one random stream of the seed), starts every
//! stage with fresh running weights at the previous stage's centers, stops a stage by
//! scikit-learn's rules on the batches' free energy `F` (`J` at the one-hot limit), and can
//! finish with mini-batch K-Means batches (`polish`).

use super::anneal::{
    reference_run, scale_fallback, stage_sigmas, start_sigma, AnnealParams, AnnealResult, Schedule,
    Sigma0, StageOutcome,
};
use super::objective::validate;
use super::params::{Kernel, Temperature};
use super::pass::{soft_pass, PassRequest, RowOut};
use super::step::at_one_hot_limit;
use crate::data::{MatView, Prepared};
use crate::error::{Error, Result};
use crate::kernels::maps::MapKind;
use crate::kmeans::minibatch::{final_labels, BatchDraw, MemoryRows};
use crate::kmeans::{MiniBatchParams, MiniBatchState};
use crate::real::Real;
use crate::rng::Rng;

/// What one soft batch step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftBatchStep {
    /// The batch's free energy `F = sum_i w_i (<r_i, D_i> - temp H(r_i))` under the centers
    /// before the update; its `J` where the step was mini-batch K-Means' (`hard`).
    pub loss: f64,
    /// `sum_k ||c_k(new) - c_k(old)||^2`.
    pub center_shift: f64,
    /// Centers moved to batch rows by the reassignment.
    pub reassigned: usize,
    /// The batch was one-hot and the step was mini-batch K-Means' own.
    pub hard: bool,
}

impl<T: Real> MiniBatchState<T> {
    /// One annealed mini-batch step on `batch` (weights `w`, `None`: 1) with the responsibilities
    /// of `map` at `temperature`, then the reassignment of light centers as
    /// [`MiniBatchState::step`] does. The effective temperature must lie in the range the
    /// state's precision computes with ([`Temperature::working`]).
    pub fn soft_step(
        &mut self,
        batch: MatView<'_, T>,
        w: Option<&[T]>,
        map: MapKind,
        temperature: Temperature,
        reassign: Option<(f64, &mut Rng)>,
    ) -> Result<SoftBatchStep> {
        temperature.working::<T>()?;
        let xn = self.checked_norms(batch, w)?;
        let p = Prepared {
            x: batch.data(),
            d: batch.d(),
            xn: &xn,
            w,
            isa: self.isa(),
        };
        Ok(self.soft_step_prepared(&p, map, temperature.effective(), reassign))
    }

    /// [`Self::soft_step`] on checked rows with their norms, at effective temperature `temp`.
    pub(crate) fn soft_step_prepared(
        &mut self,
        p: &Prepared<'_, T>,
        map: MapKind,
        temp: f64,
        reassign: Option<(f64, &mut Rng)>,
    ) -> SoftBatchStep {
        let k = self.k();
        let d = p.d;
        let hard = |s: crate::kmeans::BatchStep| SoftBatchStep {
            loss: s.inertia,
            center_shift: s.center_shift,
            reassigned: s.reassigned,
            hard: true,
        };
        if map == MapKind::Hard || at_one_hot_limit(p, &self.centers, k, map, temp) {
            return hard(self.step_prepared(p, reassign));
        }
        let req = PassRequest {
            map,
            temperature: T::from_f64(temp),
            resp_sums: true,
            loss_sums: false,
            fused: true,
        };
        let o = soft_pass(p, &self.centers, k, req, RowOut::None);
        if o.onehot == o.rows {
            return hard(self.step_prepared(p, reassign));
        }
        let rs = o.resp_sums.as_ref().expect("requested");
        let old = self.centers.clone();
        for j in 0..k {
            let m = rs.weight[j];
            if m > 0.0 {
                let n0 = self.counts[j].to_f64();
                let n1 = n0 + m;
                let c = &mut self.centers[j * d..(j + 1) * d];
                for (v, &s) in c.iter_mut().zip(&rs.sums[j * d..(j + 1) * d]) {
                    *v = T::from_f64((v.to_f64() * n0 + s) / n1);
                }
                self.counts[j] = T::from_f64(n1);
            }
        }
        let reassigned = match reassign {
            Some((ratio, rng)) if ratio > 0.0 => {
                let batch = MatView::new(p.x, p.n(), d).expect("rows of d values");
                self.reassign(batch, ratio, rng)
            }
            _ => 0,
        };
        SoftBatchStep {
            loss: o.f,
            center_shift: squared_shift(&self.centers, &old),
            reassigned,
            hard: false,
        }
    }
}

/// `sum ||a - b||^2` over all coordinates, in f64.
fn squared_shift<T: Real>(a: &[T], b: &[T]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let v = x.to_f64() - y.to_f64();
            v * v
        })
        .sum()
}

/// The largest squared move of one center between `a` and `b` (`k x d`).
fn max_center_move<T: Real>(a: &[T], b: &[T], d: usize) -> f64 {
    a.chunks_exact(d.max(1))
        .zip(b.chunks_exact(d.max(1)))
        .map(|(x, y)| squared_shift(x, y))
        .fold(0.0, f64::max)
}

/// Annealed mini-batch settings.
#[derive(Clone, Debug)]
pub struct MiniBatchAnnealParams<T> {
    /// The batches: k, initialization, batch size, reassignment, the stopping rules (`tol`,
    /// `max_no_improvement`, applied within every stage), the polish's passes (`max_iter`),
    /// seed, stop flag, tier and threads.
    pub batches: MiniBatchParams<T>,
    /// The row map.
    pub map: MapKind,
    /// How sigma enters the logits.
    pub kernel: Kernel,
    /// Where the annealing starts: a value, `Median` (the default: a soft start) or `Auto`,
    /// both measured at the initial centers on the initialization's validation subset (not
    /// the whole data); `Critical` is refused (it needs the full annealing's growing
    /// codebook).
    pub sigma0: Sigma0,
    /// The last temperature; `None`: `sigma0 * 1e-4`.
    pub sigma_min: Option<f64>,
    /// The schedule.
    pub schedule: Schedule,
    /// At most this many batches per stage; `None`: one pass over the data (`n / batch_size`).
    pub stage_batches: Option<usize>,
    /// Finish with mini-batch K-Means batches (fresh running weights, at most `max_iter`
    /// passes, the same stopping rules).
    pub polish: bool,
    /// Run K-Means (Lloyd) from the same initial centers on all rows and record each stage's
    /// discrepancy, ARI and NMI to its fixed point.
    pub reference: bool,
}

impl<T: Real> MiniBatchAnnealParams<T> {
    /// Mini-batch K-Means' defaults for the batches, `map`, the temperature convention, a
    /// median start, the geometric schedule with ratio 0.5 down to `sigma0 * 1e-4`, one pass a
    /// stage, no polish, no reference.
    pub fn new(k: usize, map: MapKind) -> Self {
        Self {
            batches: MiniBatchParams::new(k),
            map,
            kernel: Kernel::Temperature,
            sigma0: Sigma0::Median,
            sigma_min: None,
            schedule: Schedule::Geometric { gamma: 0.5 },
            stage_batches: None,
            polish: false,
            reference: false,
        }
    }

    /// The schedule's settings as the full annealing reads them.
    fn schedule_params(&self) -> AnnealParams {
        AnnealParams {
            kernel: self.kernel,
            sigma0: self.sigma0,
            sigma_min: self.sigma_min,
            schedule: self.schedule.clone(),
            ..AnnealParams::new(self.map)
        }
    }

    /// Fits to `x` (optionally weighted). The result's `total_steps` counts the stages'
    /// batches and `polish_iters` the polish's batches.
    pub fn fit(&self, x: MatView<'_, T>, sample_weight: Option<&[T]>) -> Result<AnnealResult<T>> {
        crate::par::run(self.batches.threads, || self.fit_here(x, sample_weight))?
    }

    /// The stages' sigmas (user convention) of an annealing that starts at `centers`
    /// (`k x d`), with `median` / `auto` measured on the rows of `x`: what a driver of
    /// [`MiniBatchState::soft_step`] (a `partial_fit`) uses, measured on its first batch.
    pub fn stage_sigmas(&self, x: MatView<'_, T>, centers: &[T]) -> Result<Vec<f64>> {
        let schedule = self.checked_schedule()?;
        let xn = validate(x, None, centers, self.batches.k)?;
        let p = Prepared {
            x: x.data(),
            d: x.d(),
            xn: &xn,
            w: None,
            isa: self.batches.isa,
        };
        let scale = crate::kmeans::step::mean_variance(x);
        Ok(self.sigmas_on(&schedule, &p, centers, scale)?.1)
    }

    /// The schedule's settings, checked.
    fn checked_schedule(&self) -> Result<AnnealParams> {
        if self.sigma0 == Sigma0::Critical {
            return Err(Error::BadParam {
                name: "sigma0",
                value: "critical".into(),
                reason: "the mini-batch annealing starts at a value, median or auto (critical needs the full annealing's growing codebook)",
            });
        }
        if self.stage_batches == Some(0) {
            return Err(Error::BadParam {
                name: "stage_batches",
                value: "0".into(),
                reason: "must be >= 1",
            });
        }
        let schedule = self.schedule_params();
        schedule.check()?;
        Ok(schedule)
    }

    /// `sigma0` measured on the rows of `p` at `centers` and the stages' sigmas from it.
    fn sigmas_on(
        &self,
        schedule: &AnnealParams,
        p: &Prepared<'_, T>,
        centers: &[T],
        scale: f64,
    ) -> Result<(f64, Vec<f64>)> {
        let s0 = start_sigma(schedule, p, centers, self.batches.k, scale_fallback(scale))?;
        Ok((s0, stage_sigmas::<T>(schedule, s0)?))
    }

    fn fit_here(&self, x: MatView<'_, T>, sample_weight: Option<&[T]>) -> Result<AnnealResult<T>> {
        let b = &self.batches;
        let (n, d, k) = (x.n(), x.d(), b.k);
        b.check_data(x, sample_weight)?;
        let schedule = self.checked_schedule()?;
        let mut rng = Rng::fork(b.seed, 0);
        let mut rows = MemoryRows(x);
        let mut draw = BatchDraw::new(&rows, sample_weight, b.batch_size, b.isa);
        let batch = draw.batch;
        let scale = crate::kmeans::step::mean_variance(x);
        let (init, (sigma0, sigmas)) = {
            let (c0, valid) = b.start(&mut draw, &mut rows, &mut rng)?;
            let s = self.sigmas_on(&schedule, &valid, &c0, scale)?;
            (c0, s)
        };
        let mut xn = vec![T::ZERO; n];
        crate::kernels::layout::distance::row_sq_norms(x.data(), d, &mut xn);
        let p = Prepared {
            x: x.data(),
            d,
            xn: &xn,
            w: sample_weight,
            isa: b.isa,
        };
        let stop = b.stop.as_deref();
        let reference = self.reference.then(|| reference_run(&p, &init, k, stop));
        if stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
            return Err(Error::Interrupted);
        }
        let tol_abs = b.tol_abs(scale);
        let per_stage = self.stage_batches.unwrap_or((n / batch).max(1));
        let mut state = MiniBatchState::new(init.clone(), k, d)?.with_isa(b.isa);
        let mut stages = Vec::with_capacity(sigmas.len());
        let mut total_steps = 0;
        let mut before = init.clone();
        for (si, &sigma) in sigmas.iter().enumerate() {
            let temp = Temperature::new(sigma, self.kernel)?.effective();
            state.counts.fill(T::ZERO);
            state.since_reassign = 0;
            let mut last_move_sq = f64::INFINITY;
            let t0 = std::time::Instant::now();
            let (steps, _) = b.run_batches(
                &mut state,
                &mut draw,
                &mut rows,
                &mut rng,
                per_stage,
                tol_abs,
                |st, bt, re| {
                    before.copy_from_slice(&st.centers);
                    let s = st.soft_step_prepared(bt, self.map, temp, re);
                    last_move_sq = max_center_move(&st.centers, &before, d);
                    (s.loss, s.center_shift)
                },
            )?;
            let seconds = t0.elapsed().as_secs_f64();
            total_steps += steps;
            stages.push(
                StageOutcome {
                    stage: si,
                    sigma,
                    temperature: temp,
                    steps,
                    seconds,
                    last_move_sq,
                }
                .record(&p, &state.centers, k, self.map, reference.as_ref()),
            );
        }
        let mut polish_iters = 0;
        if self.polish {
            state.counts.fill(T::ZERO);
            state.since_reassign = 0;
            let n_steps = (b.max_iter * n / batch).max(1);
            polish_iters = b
                .run_batches(
                    &mut state,
                    &mut draw,
                    &mut rows,
                    &mut rng,
                    n_steps,
                    tol_abs,
                    |st, bt, re| {
                        let s = st.step_prepared(bt, re);
                        (s.inertia, s.center_shift)
                    },
                )?
                .0;
        }
        let (labels, inertia) = final_labels(&p, &state.centers, k);
        Ok(AnnealResult {
            centers: state.centers,
            labels,
            stages,
            reference,
            sigma0,
            total_steps,
            polish_iters,
            inertia,
        })
    }
}
