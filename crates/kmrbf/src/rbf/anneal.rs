//! Temperature annealing from `sigma0` down to `sigma_min`, warm-started, landing on the
//! K-Means fixed point (DESIGN.md section 1): schedules, the starting temperature, the stage
//! loop, an optional hard Lloyd polish, and the per-stage equivalence record against a
//! reference K-Means run from the same initial centers.

use super::codebook::Codebook;
use super::objective::{validate, Objectives};
use super::params::{Kernel, Temperature};
use super::pass::{soft_pass, PassRequest, RowOut};
use super::step::{StepKind, Stepper};
use crate::data::MatView;
use crate::data::Prepared;
use crate::error::{Error, Result};
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::sq_dist;
use crate::kernels::maps::MapKind;
use crate::kmeans::lloyd::{assign_labels, lloyd_run};
use crate::kmeans::step::mean_variance;
use crate::metrics::{adjusted_rand_index, center_discrepancy, normalized_mutual_info};
use crate::real::Real;
use crate::rng::Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The sequence of temperatures (in the user's `sigma` convention).
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// `sigma_{m+1} = gamma sigma_m`, `gamma` in (0, 1).
    Geometric {
        /// The ratio.
        gamma: f64,
    },
    /// The DKM schedule on `alpha = 1 / sigma`: `alpha_{n+1} = 2^(1 / ln(n)^2) alpha_n` (n >= 2),
    /// started at `alpha_1 = 1 / sigma0` (DKM's `alpha_1 = 0.1` is `sigma0 = 10`).
    Dkm,
    /// Explicit, strictly decreasing sigmas (sigma0 and sigma_min are ignored).
    List(Vec<f64>),
}

/// Where the annealing starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sigma0 {
    /// The init's own scale along its Lloyd trajectory: with `g` the smallest positive gap
    /// between the squared distances of a row to its two nearest centers, over every row and
    /// every Lloyd iteration from the init, the temperature at which every such row is exactly
    /// one-hot (entmax15: `g / 2`, sparsemax: `g`, entmax(alpha): `(alpha - 1) g`) or within
    /// `e^-40` of it (softmax: `g / 40`). The soft trajectory then is Lloyd's, so annealing
    /// lands on the fixed point Lloyd reaches from the same init (the paper's equivalence).
    Auto,
    /// The median over rows of the same gap at the initial centers: a soft start. Measured
    /// here: from there the warm-started annealing often lands on a different K-Means fixed
    /// point (frequently a lower J), not Lloyd's from the same init.
    Median,
    /// `2 lambda_max` of the weighted data covariance: deterministic annealing's first
    /// critical temperature, above which all centers coincide. Warm-started with a soft map,
    /// this is mass-constrained deterministic annealing on a growing codebook
    /// ([`super::codebook`]; the init is not used); as a sweep or with the hard map, each
    /// stage only perturbs its centers.
    Critical,
    /// A given sigma.
    Value(f64),
}

/// Annealing settings.
#[derive(Clone, Debug)]
pub struct AnnealParams {
    /// The row map.
    pub map: MapKind,
    /// How sigma enters the logits.
    pub kernel: Kernel,
    /// The starting temperature.
    pub sigma0: Sigma0,
    /// The last temperature; `None`: `sigma0 * 1e-4`.
    pub sigma_min: Option<f64>,
    /// The schedule.
    pub schedule: Schedule,
    /// Warm start each stage from the last (true) or from the init (a sweep).
    pub warm_start: bool,
    /// The update at each temperature.
    pub step: StepKind,
    /// A stage ends when `max_k ||dc_k||^2 <= tol * mean_j var(X[:, j])`.
    pub tol: f64,
    /// At most this many steps per stage.
    pub stage_cap: usize,
    /// Finish with hard Lloyd iterations until the labels stop changing.
    pub polish: bool,
    /// Run K-Means from the same init and record the discrepancy to its fixed point.
    pub reference: bool,
    /// Seed of the symmetry-breaking perturbation (critical start only).
    pub seed: u64,
    /// Raised by another thread to stop after the current step ([`Error::Interrupted`]).
    pub stop: Option<Arc<AtomicBool>>,
    /// The instruction-set tier the kernels run on (default: [`Isa::detect`]).
    pub isa: Isa,
    /// Threads (`None`: the caller's rayon pool; see [`crate::par`]).
    pub threads: Option<usize>,
}

impl AnnealParams {
    /// Checks the settings that do not depend on the data: `tol`, `stage_cap`, `gamma`.
    pub fn check(&self) -> Result<()> {
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(bad("tol", self.tol, "must be finite and >= 0"));
        }
        if self.stage_cap == 0 {
            return Err(bad("stage_cap", 0.0, "must be >= 1"));
        }
        if let Schedule::Geometric { gamma } = self.schedule {
            if !(gamma > 0.0 && gamma < 1.0) {
                return Err(bad("gamma", gamma, "must lie in (0, 1)"));
            }
        }
        Ok(())
    }

    /// Defaults: geometric schedule with gamma 0.5 from `sigma0 = auto` to `sigma0 * 1e-4`,
    /// warm-started soft-lloyd, tol 1e-14, at most 1000 steps a stage, no polish, reference on.
    pub fn new(map: MapKind) -> Self {
        Self {
            map,
            kernel: Kernel::Temperature,
            sigma0: Sigma0::Auto,
            sigma_min: None,
            schedule: Schedule::Geometric { gamma: 0.5 },
            warm_start: true,
            step: StepKind::SoftLloyd,
            tol: 1e-14,
            stage_cap: 1000,
            polish: false,
            reference: true,
            seed: 0,
            stop: None,
            isa: Isa::detect(),
            threads: None,
        }
    }
}

/// One temperature's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct StageRecord {
    /// 0-based stage.
    pub stage: usize,
    /// Sigma in the user's convention.
    pub sigma: f64,
    /// The effective temperature (divisor of `-D`).
    pub temperature: f64,
    /// Steps taken.
    pub steps: usize,
    /// Wall-clock seconds of the steps (not of the record's extra passes).
    pub seconds: f64,
    /// Objectives at the stage's final centers.
    pub objectives: Objectives,
    /// Largest squared center move of the last step.
    pub last_move_sq: f64,
    /// Max matched center distance to the reference K-Means fixed point.
    pub discrepancy: Option<f64>,
    /// ARI of the hard labels against the reference labels.
    pub ari: Option<f64>,
    /// NMI of the hard labels against the reference labels.
    pub nmi: Option<f64>,
    /// `k x d` centers at the end of the stage (f64).
    pub centers: Vec<f64>,
}

/// The reference K-Means run.
#[derive(Clone, Debug)]
pub struct Reference {
    /// `k x d` fixed point.
    pub centers: Vec<f64>,
    /// Its labels.
    pub labels: Vec<u32>,
    /// Its distortion.
    pub inertia: f64,
    /// Lloyd iterations.
    pub n_iter: usize,
}

/// The outcome of [`anneal`].
#[derive(Clone, Debug)]
pub struct AnnealResult<T> {
    /// `k x d` final centers (after the polish, if any).
    pub centers: Vec<T>,
    /// Hard labels of the rows under the final centers.
    pub labels: Vec<u32>,
    /// One record per temperature.
    pub stages: Vec<StageRecord>,
    /// The reference K-Means run, if requested.
    pub reference: Option<Reference>,
    /// The starting sigma used (user convention).
    pub sigma0: f64,
    /// Steps over all stages.
    pub total_steps: usize,
    /// Hard Lloyd iterations of the polish (0 without).
    pub polish_iters: usize,
    /// `J` of the final centers.
    pub inertia: f64,
}

fn bad(name: &'static str, value: f64, reason: &'static str) -> Error {
    Error::BadParam {
        name,
        value: value.to_string(),
        reason,
    }
}

/// Converts an effective temperature to sigma in `kernel`'s convention.
fn sigma_of(temp: f64, kernel: Kernel) -> f64 {
    match kernel {
        Kernel::Temperature => temp,
        Kernel::Bandwidth => (temp / 2.0).sqrt(),
    }
}

/// `sigma0 = auto` is this factor times the smallest positive two-nearest gap along Lloyd's
/// path (as an effective temperature): every row on that path is then one-hot (entmax15,
/// sparsemax, entmax(alpha)) or within e^-40 of it (softmax).
pub fn auto_factor(map: MapKind) -> f64 {
    match map {
        MapKind::Softmax => 1.0 / 40.0,
        MapKind::Entmax15 => 0.5,
        MapKind::Sparsemax | MapKind::Hard => 1.0,
        MapKind::Entmax { alpha } => alpha - 1.0,
    }
}

/// Median over rows of `D_(2) - D_(1)` for the centers `c` (`k >= 2`).
pub fn median_gap<T: Real>(p: &Prepared<'_, T>, c: &[T], k: usize) -> f64 {
    let d = p.d;
    let mut gaps: Vec<f64> = (0..p.n())
        .map(|i| {
            let (_, a, b) = crate::kernels::assign::argmin::top2(k, |j| {
                sq_dist(p.row(i), &c[j * d..(j + 1) * d]).to_f64()
            });
            b - a
        })
        .collect();
    let mid = gaps.len() / 2;
    let (_, m, _) = gaps.select_nth_unstable_by(mid, |x, y| x.total_cmp(y));
    *m
}

/// The smallest positive two-nearest gap `D_(2) - D_(1)` over all rows and all iterations of
/// Lloyd from `init` (scikit-learn's steps, until the labels stop changing); infinite when
/// no row has a positive gap.
pub fn lloyd_min_gap<T: Real>(p: &Prepared<'_, T>, init: &[T], k: usize) -> f64 {
    lloyd_gaps(p, init, k).0
}

/// [`lloyd_min_gap`] and the number of exact ties met on the way: rows whose two nearest
/// centers are at exactly the same distance at some Lloyd iteration (counted once per
/// iteration). At a tie the soft maps split the row between the two centers for every sigma,
/// while Lloyd gives it to the lower index, so the zero-temperature limit of the soft model is
/// Lloyd's trajectory only when this count is 0.
pub fn lloyd_gaps<T: Real>(p: &Prepared<'_, T>, init: &[T], k: usize) -> (f64, usize) {
    use crate::kernels::layout::tiles::Blocking;
    use crate::kmeans::step::{cluster_sums, update_centers};
    let blocking = Blocking::of::<T>(k);
    let mut centers = init.to_vec();
    let mut new_centers = init.to_vec();
    let mut labels = vec![0u32; p.n()];
    let mut old = vec![u32::MAX; p.n()];
    let mut gmin = f64::INFINITY;
    let mut ties = 0;
    for _ in 0..GAP_ITERATIONS {
        let (g, t) = gap_labels(p, &centers, k, &mut labels);
        gmin = gmin.min(g);
        ties += t;
        if labels == old {
            break;
        }
        let sums = cluster_sums(p, &labels, k, blocking);
        update_centers(p, &labels, &centers, sums, &mut new_centers);
        std::mem::swap(&mut centers, &mut new_centers);
        old.copy_from_slice(&labels);
    }
    (gmin, ties)
}

/// The cap on the Lloyd iterations of [`lloyd_gaps`].
pub const GAP_ITERATIONS: usize = 10_000;

/// One iteration's labelling of [`lloyd_gaps`] on the rows of `p`: `labels` (`n`) get each
/// row's nearest of `centers` (`k x d`, by the top-2 kernel); returns the smallest positive
/// two-nearest gap of these rows (infinite if none) and their exact ties. Per row, so the
/// rows may come in blocks.
pub fn gap_labels<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    labels: &mut [u32],
) -> (f64, usize) {
    use crate::kernels::layout::distance::row_sq_norms;
    use crate::kernels::layout::tiles::{fold_tiles, Blocking};
    let mut cn = vec![T::ZERO; k];
    row_sq_norms(centers, p.d, &mut cn);
    let parts = fold_tiles(
        p.against(centers, k),
        labels,
        1,
        Blocking::of::<T>(k),
        true,
        || (f64::INFINITY, 0usize, Vec::new(), Vec::new()),
        |(g, ties, first, second), t, lab| {
            let b = t.rows();
            first.resize(b, T::ZERO);
            second.resize(b, T::ZERO);
            let cross = &t.cross[..b * k];
            crate::kernels::assign::argmin::top2_rows(t.isa, cross, k, &cn, lab, first, second);
            for (&v1, &v2) in first.iter().zip(second.iter()) {
                let gap = (v2 - v1).to_f64();
                if gap > 0.0 && gap < *g {
                    *g = gap;
                }
                *ties += (gap == 0.0) as usize;
            }
        },
    );
    parts
        .into_iter()
        .fold((f64::INFINITY, 0), |(g, n), (pg, pt, _, _)| {
            (g.min(pg), n + pt)
        })
}

/// `2 lambda_max` of the weighted covariance of the rows (power iteration).
pub fn critical_temperature<T: Real>(p: &Prepared<'_, T>) -> f64 {
    let (n, d) = (p.n(), p.d);
    let mut mean = vec![0.0; d];
    let mut wsum = 0.0;
    for i in 0..n {
        let w = p.weight(i);
        wsum += w;
        for (m, v) in mean.iter_mut().zip(p.row(i)) {
            *m += w * v.to_f64();
        }
    }
    for m in &mut mean {
        *m /= wsum;
    }
    let mut cov = vec![0.0; d * d];
    let mut xc = vec![0.0; d];
    for i in 0..n {
        let w = p.weight(i);
        for (t, v) in p.row(i).iter().enumerate() {
            xc[t] = v.to_f64() - mean[t];
        }
        for a in 0..d {
            let wa = w * xc[a];
            for b in a..d {
                cov[a * d + b] += wa * xc[b];
            }
        }
    }
    for a in 0..d {
        for b in a..d {
            cov[a * d + b] /= wsum;
            cov[b * d + a] = cov[a * d + b];
        }
    }
    let mut v = vec![1.0 / (d as f64).sqrt(); d];
    let mut lambda = 0.0;
    for _ in 0..500 {
        let mut nv = vec![0.0; d];
        for a in 0..d {
            nv[a] = (0..d).map(|b| cov[a * d + b] * v[b]).sum();
        }
        let norm = nv.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            break;
        }
        let new_lambda = norm;
        for (x, y) in v.iter_mut().zip(&nv) {
            *x = y / norm;
        }
        if (new_lambda - lambda).abs() <= 1e-12 * new_lambda {
            lambda = new_lambda;
            break;
        }
        lambda = new_lambda;
    }
    2.0 * lambda
}

impl Schedule {
    /// The sigmas from `sigma0` down to `sigma_min` (inclusive when reached exactly).
    pub fn sigmas(&self, sigma0: f64, sigma_min: f64) -> Vec<f64> {
        match self {
            Schedule::List(v) => v.clone(),
            Schedule::Geometric { gamma } => {
                let mut out = vec![];
                let mut s = sigma0;
                while s >= sigma_min * (1.0 - 1e-12) && out.len() < 10_000 {
                    out.push(s);
                    s *= gamma;
                }
                out
            }
            Schedule::Dkm => {
                let mut out = vec![sigma0];
                let mut alpha = 1.0 / sigma0;
                let mut n = 2.0f64;
                while out.len() < 10_000 {
                    alpha *= 2f64.powf(1.0 / n.ln().powi(2));
                    n += 1.0;
                    let s = 1.0 / alpha;
                    if s < sigma_min * (1.0 - 1e-12) {
                        break;
                    }
                    out.push(s);
                }
                out
            }
        }
    }
}

/// Where the data give no scale (no positive gap, no spread: a single row, or all rows
/// equal), every temperature gives the same centers; the schedule then starts at 1 so it
/// stays in range. `scale`: the mean variance of the columns.
pub fn scale_fallback(scale: f64) -> f64 {
    if scale >= f64::MIN_POSITIVE.sqrt() {
        scale
    } else {
        1.0
    }
}

/// The first sigma of an explicit list (which ignores `sigma0`: nothing then pays for
/// `auto`, a whole Lloyd run, or `critical`).
pub fn listed_start(params: &AnnealParams) -> Option<f64> {
    match &params.schedule {
        Schedule::List(v) => v.first().copied(),
        _ => None,
    }
}

/// `sigma0 = auto` from `gap`, the smallest positive two-nearest gap along Lloyd's path
/// ([`lloyd_min_gap`]; `fallback` where there is none).
pub fn auto_sigma0(params: &AnnealParams, gap: f64, fallback: f64) -> f64 {
    let g = if gap > 0.0 && gap.is_finite() {
        gap
    } else {
        fallback
    };
    sigma_of(auto_factor(params.map) * g, params.kernel)
}

/// The stages' sigmas from `sigma0` (the schedule of `params`), every one checked, with its
/// effective temperature, to be usable in precision `T`.
pub fn stage_sigmas<T: Real>(params: &AnnealParams, sigma0: f64) -> Result<Vec<f64>> {
    let sigma_min = params.sigma_min.unwrap_or(sigma0 * 1e-4);
    let sigmas = match &params.schedule {
        Schedule::List(v) => {
            if v.is_empty() {
                return Err(bad("sigmas", 0.0, "the list is empty"));
            }
            for (i, &s) in v.iter().enumerate() {
                Temperature::new(s, params.kernel)?;
                if i > 0 && s >= v[i - 1] {
                    return Err(bad("sigmas", s, "must be strictly decreasing"));
                }
            }
            v.clone()
        }
        sched => {
            Temperature::new(sigma_min, params.kernel)
                .map_err(|_| bad("sigma_min", sigma_min, "must be finite and > 0"))?;
            if sigma_min >= sigma0 {
                return Err(Error::BadParam {
                    name: "sigma_min",
                    value: format!("{sigma_min} (sigma0 = {sigma0})"),
                    reason: "must be smaller than sigma0",
                });
            }
            sched.sigmas(sigma0, sigma_min)
        }
    };
    // Every stage's effective temperature in the working precision, before any work.
    for &s in &sigmas {
        Temperature::new(s, params.kernel)?.working::<T>()?;
    }
    Ok(sigmas)
}

/// The starting sigma of `params` (user convention) for `init` (`k x d`) on the rows of `p`:
/// the first of a list, a given value, or `auto` / `median` / `critical` measured on `p`
/// (`fallback`, an effective temperature, where the measure has no positive value).
pub fn start_sigma<T: Real>(
    params: &AnnealParams,
    p: &Prepared<'_, T>,
    init: &[T],
    k: usize,
    fallback: f64,
) -> Result<f64> {
    Ok(match (listed_start(params), params.sigma0) {
        (Some(first), _) => first,
        (None, Sigma0::Value(s)) => Temperature::new(s, params.kernel)?.sigma,
        (None, Sigma0::Auto) => {
            let g = if k >= 2 {
                lloyd_min_gap(p, init, k)
            } else {
                0.0
            };
            auto_sigma0(params, g, fallback)
        }
        (None, Sigma0::Median) => {
            let g = if k >= 2 { median_gap(p, init, k) } else { 0.0 };
            let g = if g > 0.0 && g.is_finite() {
                g
            } else {
                fallback
            };
            sigma_of(g, params.kernel)
        }
        (None, Sigma0::Critical) => {
            let tc = critical_temperature(p);
            sigma_of(if tc > 0.0 { tc } else { fallback }, params.kernel)
        }
    })
}

/// What a stage did, before its measures.
pub(crate) struct StageOutcome {
    pub(crate) stage: usize,
    pub(crate) sigma: f64,
    pub(crate) temperature: f64,
    pub(crate) steps: usize,
    pub(crate) seconds: f64,
    pub(crate) last_move_sq: f64,
}

impl StageOutcome {
    /// The stage's record: the objectives of `map` at the stage's temperature over the rows
    /// of `p` at `centers` (`k x d`), and with a reference the discrepancy, ARI and NMI to it.
    pub(crate) fn record<T: Real>(
        self,
        p: &Prepared<'_, T>,
        centers: &[T],
        k: usize,
        map: MapKind,
        reference: Option<&Reference>,
    ) -> StageRecord {
        let req = PassRequest {
            map,
            temperature: T::from_f64(self.temperature),
            resp_sums: false,
            loss_sums: false,
            fused: true,
        };
        let objectives = Objectives::from_pass(
            &soft_pass(p, centers, k, req, RowOut::None),
            map,
            self.temperature,
            k,
        );
        let c64: Vec<f64> = centers.iter().map(|v| v.to_f64()).collect();
        let (discrepancy, ari, nmi) = match reference {
            Some(r) => {
                let labels = assign_labels(p, centers, k);
                (
                    Some(center_discrepancy(&c64, &r.centers, k, p.d)),
                    Some(adjusted_rand_index(&labels, &r.labels)),
                    Some(normalized_mutual_info(&labels, &r.labels)),
                )
            }
            None => (None, None, None),
        };
        StageRecord {
            stage: self.stage,
            sigma: self.sigma,
            temperature: self.temperature,
            steps: self.steps,
            seconds: self.seconds,
            objectives,
            last_move_sq: self.last_move_sq,
            discrepancy,
            ari,
            nmi,
            centers: c64,
        }
    }
}

/// Lloyd's run from `init` on the rows of `p` to its fixed point: the reference the stages
/// are compared with.
pub(crate) fn reference_run<T: Real>(
    p: &Prepared<'_, T>,
    init: &[T],
    k: usize,
    stop: Option<&AtomicBool>,
) -> Reference {
    let r = lloyd_run(p, init, k, 10_000, 0.0, &|_| {}, stop);
    Reference {
        centers: r.centers.iter().map(|v| v.to_f64()).collect(),
        labels: r.labels,
        inertia: r.inertia,
        n_iter: r.n_iter,
    }
}

/// Anneals `init` (`k x d`) on `x`, on `params.threads` threads. Validates everything first;
/// `observer` sees each stage.
pub fn anneal<T: Real>(
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    init: &[T],
    k: usize,
    params: &AnnealParams,
    observer: &mut (dyn FnMut(&StageRecord) + Send),
) -> Result<AnnealResult<T>> {
    crate::par::run(params.threads, || {
        anneal_here(x, sample_weight, init, k, params, observer)
    })?
}

fn anneal_here<T: Real>(
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    init: &[T],
    k: usize,
    params: &AnnealParams,
    observer: &mut (dyn FnMut(&StageRecord) + Send),
) -> Result<AnnealResult<T>> {
    let xn = validate(x, sample_weight, init, k)?;
    if k > x.n() {
        return Err(Error::BadK {
            k,
            reason: format!("more centers than rows (n = {})", x.n()),
        });
    }
    params.check()?;
    let p = Prepared {
        x: x.data(),
        d: x.d(),
        xn: &xn,
        w: sample_weight,
        isa: params.isa,
    };
    let scale = mean_variance(x);
    let fallback = scale_fallback(scale);
    let sigma0 = start_sigma(params, &p, init, k, fallback)?;
    let sigmas = stage_sigmas::<T>(params, sigma0)?;
    let listed = listed_start(params);
    let tol_abs = params.tol * scale;
    let stop = params.stop.as_deref();
    let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));

    let reference = params.reference.then(|| reference_run(&p, init, k, stop));
    if stopped() {
        return Err(Error::Interrupted);
    }

    // A critical start, warm-started with a soft map, is mass-constrained deterministic
    // annealing on a growing codebook (`codebook.rs`); a critical sweep (no warm start) only
    // perturbs its init at every stage.
    let critical = params.sigma0 == Sigma0::Critical && listed.is_none();
    let mut codebook = (critical && params.warm_start && params.map != MapKind::Hard)
        .then(|| Codebook::new(&p, k, 1e-3 * scale.sqrt()));
    let perturb = critical && codebook.is_none();
    let mut rng = Rng::new(params.seed);
    let jitter = 1e-6 * scale.sqrt();
    let mut stepper = Stepper::new(params.step);
    let mut centers = init.to_vec();
    let mut stages = Vec::with_capacity(sigmas.len());
    let mut total_steps = 0;
    for (si, &sigma) in sigmas.iter().enumerate() {
        let temp = Temperature::new(sigma, params.kernel)?.effective();
        if !params.warm_start {
            centers.copy_from_slice(init);
        }
        stepper.reset();
        if perturb {
            // Above a critical temperature centers collapse onto each other; identical centers
            // get identical updates forever, so break the symmetry a little at every stage.
            for v in centers.iter_mut() {
                *v += T::from_f64(jitter * rng.normal());
            }
        }
        let mut steps = 0;
        let mut last_move_sq = f64::INFINITY;
        let t0 = std::time::Instant::now();
        if let Some(cb) = &mut codebook {
            cb.grow(&p, temp, &mut rng);
            let m = cb.active();
            while steps < params.stage_cap {
                let bias = cb.bias(temp);
                let info =
                    stepper.step_biased(&p, cb.centers_mut(), m, params.map, temp, Some(&bias));
                cb.set_mass(&info.mass);
                steps += 1;
                last_move_sq = info.max_move_sq;
                if last_move_sq <= tol_abs || stopped() {
                    break;
                }
            }
            cb.merge();
            centers = cb.padded();
        }
        while codebook.is_none() && steps < params.stage_cap {
            let info = stepper.step(&p, &mut centers, k, params.map, temp);
            steps += 1;
            last_move_sq = info.max_move_sq;
            if last_move_sq <= tol_abs || stopped() {
                break;
            }
        }
        if stopped() {
            return Err(Error::Interrupted);
        }
        let seconds = t0.elapsed().as_secs_f64();
        total_steps += steps;
        let rec = StageOutcome {
            stage: si,
            sigma,
            temperature: temp,
            steps,
            seconds,
            last_move_sq,
        }
        .record(&p, &centers, k, params.map, reference.as_ref());
        observer(&rec);
        stages.push(rec);
    }
    let mut polish_iters = 0;
    if params.polish {
        let r = lloyd_run(&p, &centers, k, 10_000, 0.0, &|_| {}, stop);
        if r.interrupted {
            return Err(Error::Interrupted);
        }
        polish_iters = r.n_iter;
        centers = r.centers;
    }
    let labels = assign_labels(&p, &centers, k);
    let inertia = crate::kmeans::step::inertia(&p, &labels, &centers, 8192);
    Ok(AnnealResult {
        centers,
        labels,
        stages,
        reference,
        sigma0,
        total_steps,
        polish_iters,
        inertia,
    })
}
