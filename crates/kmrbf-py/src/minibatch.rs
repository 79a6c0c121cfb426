//! Mini-batch K-Means: the whole fit, and one step for `partial_fit`.

use crate::arrays::{dtype_of, matrix, value_error, view1, view2, Dtype, Float};
use crate::rbf::{annealed_dict, setting, Cooling};
use crate::run::compute;
use kmrbf::kmeans::{MiniBatchParams, MiniBatchState};
use kmrbf::rbf::{MapKind, MiniBatchAnnealParams, Temperature};
use kmrbf::rng::Rng;
use kmrbf::{Init, MatView, Shift};
use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Mini-batch settings as the Python estimator passes them.
struct Settings {
    k: usize,
    n_init: Option<usize>,
    max_iter: usize,
    batch_size: usize,
    tol: f64,
    max_no_improvement: Option<usize>,
    init_size: Option<usize>,
    reassignment_ratio: f64,
    seed: u64,
}

impl Settings {
    /// The library's parameters with `init` on tier `isa`.
    fn params<T: Float>(&self, init: Init<T>, isa: kmrbf::Isa) -> MiniBatchParams<T> {
        let mut p = MiniBatchParams::new(self.k).isa(isa);
        p.init = init;
        p.n_init = self.n_init;
        p.max_iter = self.max_iter;
        p.batch_size = self.batch_size;
        p.tol = self.tol;
        p.max_no_improvement = self.max_no_improvement;
        p.init_size = self.init_size;
        p.reassignment_ratio = self.reassignment_ratio;
        p.seed = self.seed;
        p
    }
}

/// `init` as K-Means parses it, in the user's coordinates (mini-batch does not center).
fn init_of<T: Float>(init: &Bound<'_, PyAny>, k: usize, d: usize) -> PyResult<Init<T>> {
    let a = crate::kmeans::init_arg::<T>(init, k, d)?;
    Ok(crate::kmeans::init_of(&a, &Shift::zero(d)))
}

fn fit_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    init: &Bound<'py, PyAny>,
    s: Settings,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let init = init_of::<T>(init, s.k, d)?;
    let w = view1::<T>(sample_weight, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let xs = xr.as_slice()?;
    let isa = crate::run::isa()?;
    let fit = compute(py, n_threads, |stop| {
        let mut p = s.params(init, isa);
        p.stop = Some(stop);
        p.fit(MatView::new(xs, n, d)?, w)
    })?
    .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("centers", matrix(py, fit.state.centers, s.k, d)?)?;
    out.set_item("counts", PyArray1::from_vec(py, fit.state.counts))?;
    out.set_item("since_reassign", fit.state.since_reassign)?;
    let labels: Vec<i32> = fit.labels.into_iter().map(|l| l as i32).collect();
    out.set_item("labels", PyArray1::from_vec(py, labels))?;
    out.set_item("inertia", fit.inertia)?;
    out.set_item("n_steps", fit.n_steps)?;
    out.set_item("n_iter", fit.n_iter)?;
    out.set_item("batch_inertia", PyArray1::from_vec(py, fit.batch_inertia))?;
    Ok(out)
}

/// Fits mini-batch K-Means; returns a dict with `centers` (X's dtype), `counts`,
/// `since_reassign`, `labels` (int32), `inertia`, `n_steps`, `n_iter` and `batch_inertia` (the
/// mean inertia per row of each batch).
#[pyfunction]
#[pyo3(signature = (x, n_clusters, init, n_init, max_iter, batch_size, tol, max_no_improvement, init_size, reassignment_ratio, seed, sample_weight, n_threads))]
#[allow(clippy::too_many_arguments)]
pub fn minibatch_fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_clusters: usize,
    init: &Bound<'py, PyAny>,
    n_init: Option<usize>,
    max_iter: usize,
    batch_size: usize,
    tol: f64,
    max_no_improvement: Option<usize>,
    init_size: Option<usize>,
    reassignment_ratio: f64,
    seed: u64,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let s = Settings {
        k: n_clusters,
        n_init,
        max_iter,
        batch_size,
        tol,
        max_no_improvement,
        init_size,
        reassignment_ratio,
        seed,
    };
    match dtype_of(x, "X")? {
        Dtype::F32 => fit_typed::<f32>(py, x, init, s, sample_weight, n_threads),
        Dtype::F64 => fit_typed::<f64>(py, x, init, s, sample_weight, n_threads),
    }
}

#[allow(clippy::too_many_arguments)]
fn step_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    counts: &Bound<'py, PyAny>,
    since_reassign: usize,
    reassignment_ratio: f64,
    seed: u64,
    labels_after: bool,
    soft: Option<(MapKind, Temperature)>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let (cr, k, dc) = view2::<T>(centers, "cluster_centers_")?;
    if dc != d {
        return Err(PyValueError::new_err(format!(
            "X has {d} features, but the model is fitted on {dc} features"
        )));
    }
    let counts: Vec<T> = counts
        .extract::<numpy::PyReadonlyArray1<'py, T>>()
        .map_err(|_| PyValueError::new_err("counts must be a 1-D array of X's dtype"))?
        .as_slice()?
        .to_vec();
    let w = view1::<T>(sample_weight, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let (xs, cs) = (xr.as_slice()?, cr.as_slice()?);
    let isa = crate::run::isa()?;
    let (state, step, (labels, after)) = compute(py, n_threads, |_| -> kmrbf::Result<_> {
        let mut st =
            MiniBatchState::from_parts(cs.to_vec(), counts, since_reassign, k, d)?.with_isa(isa);
        let mut rng = Rng::new(seed);
        let due = st.reassign_due(n);
        let batch = MatView::new(xs, n, d)?;
        let re = due.then_some((reassignment_ratio, &mut rng));
        let step = match soft {
            None => Step::Hard(st.step(batch, w, re)?),
            Some((map, t)) => Step::Soft(st.soft_step(batch, w, map, t, re)?),
        };
        let after = if labels_after {
            st.assign(batch, w)?
        } else {
            (Vec::new(), f64::NAN)
        };
        Ok((st, step, after))
    })?
    .map_err(value_error)?;
    let out = PyDict::new(py);
    let labels: Vec<i32> = labels.into_iter().map(|l| l as i32).collect();
    out.set_item("labels", PyArray1::from_vec(py, labels))?;
    out.set_item("inertia_after", after)?;
    out.set_item("centers", matrix(py, state.centers, k, d)?)?;
    out.set_item("counts", PyArray1::from_vec(py, state.counts))?;
    out.set_item("since_reassign", state.since_reassign)?;
    match step {
        Step::Hard(step) => {
            out.set_item("inertia", step.inertia)?;
            out.set_item("reassigned", step.reassigned)?;
        }
        Step::Soft(step) => {
            out.set_item("loss", step.loss)?;
            out.set_item("hard", step.hard)?;
            out.set_item("reassigned", step.reassigned)?;
        }
    }
    Ok(out)
}

impl Cooling {
    /// The annealed mini-batch settings of these temperatures over `batches`.
    fn minibatch<T: Float>(self, batches: MiniBatchParams<T>) -> MiniBatchAnnealParams<T> {
        let mut p = MiniBatchAnnealParams::new(batches.k, self.map);
        p.batches = batches;
        p.kernel = self.kernel;
        p.sigma0 = self.sigma0;
        p.sigma_min = self.sigma_min;
        p.schedule = self.schedule;
        p
    }
}

/// A mini-batch step of K-Means or of the annealing.
enum Step {
    Hard(kmrbf::kmeans::BatchStep),
    Soft(kmrbf::rbf::SoftBatchStep),
}

/// The soft step's map and temperature from a dict with `map`, `alpha`, `kernel`, `sigma`.
fn soft_of(s: &Bound<'_, PyDict>) -> PyResult<(MapKind, Temperature)> {
    let map = kmrbf::rbf::params::parse_map(
        &setting(s, "map")?.extract::<String>()?,
        setting(s, "alpha")?.extract()?,
    )
    .map_err(value_error)?;
    let kernel: kmrbf::rbf::Kernel = setting(s, "kernel")?
        .extract::<String>()?
        .parse()
        .map_err(value_error)?;
    let sigma: f64 = setting(s, "sigma")?.extract()?;
    Ok((map, Temperature::new(sigma, kernel).map_err(value_error)?))
}

/// One mini-batch step on `X` from `centers` (`k x d`) and their weights `counts` (`k`, X's
/// dtype); `since_reassign` rows since the last reassignment check; `seed` drives the
/// reassignment's draws. Returns a dict with the new `centers`, `counts`, `since_reassign`,
/// the batch's `inertia` before the update, how many centers were `reassigned`, and with
/// `labels_after` the batch's `labels` (int32) and `inertia_after` under the new centers.
/// With `soft` (a dict: `map`, `alpha`, `kernel`, `sigma`) the step is the annealing's
/// mini-batch soft-lloyd step: the dict has the batch's `loss` (its free energy F, or J where
/// the batch was one-hot) and `hard` (the step was K-Means') instead of `inertia`.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, centers, counts, since_reassign, reassignment_ratio, seed, labels_after, n_threads, soft=None))]
#[allow(clippy::too_many_arguments)]
pub fn minibatch_step<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    counts: &Bound<'py, PyAny>,
    since_reassign: usize,
    reassignment_ratio: f64,
    seed: u64,
    labels_after: bool,
    n_threads: Option<usize>,
    soft: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let soft = soft.map(soft_of).transpose()?;
    match dtype_of(x, "X")? {
        Dtype::F32 => step_typed::<f32>(
            py,
            x,
            sample_weight,
            centers,
            counts,
            since_reassign,
            reassignment_ratio,
            seed,
            labels_after,
            soft,
            n_threads,
        ),
        Dtype::F64 => step_typed::<f64>(
            py,
            x,
            sample_weight,
            centers,
            counts,
            since_reassign,
            reassignment_ratio,
            seed,
            labels_after,
            soft,
            n_threads,
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn anneal_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    init: &Bound<'py, PyAny>,
    s: Settings,
    c: Cooling,
    stage_batches: Option<usize>,
    polish: bool,
    reference: bool,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let init = init_of::<T>(init, s.k, d)?;
    let w = view1::<T>(sample_weight, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let xs = xr.as_slice()?;
    let isa = crate::run::isa()?;
    let k = s.k;
    let (c0, r) = compute(py, n_threads, |stop| -> kmrbf::Result<_> {
        let mut p = c.minibatch(s.params(init, isa));
        p.batches.stop = Some(stop);
        p.stage_batches = stage_batches;
        p.polish = polish;
        p.reference = reference;
        let v = MatView::new(xs, n, d)?;
        let c0 = p.batches.initial_centers(v, w)?;
        Ok((c0, p.fit(v, w)?))
    })?
    .map_err(value_error)?;
    let reference = r.reference.as_ref().map(|f| {
        let c: Vec<T> = f.centers.iter().map(|&v| T::from_f64(v)).collect();
        (c, f.labels.clone(), f.inertia, f.n_iter)
    });
    let out = annealed_dict(py, &r, r.centers.clone(), reference, k, d)?;
    out.set_item("init", matrix(py, c0, k, d)?)?;
    Ok(out)
}

/// Annealed mini-batch soft-lloyd on `X` (the mini-batch settings as
/// [`minibatch_fit`]; `cooling` a dict with `map`, `alpha`, `kernel`, `sigma0`, `sigma_min`,
/// `sigmas`, `schedule`, `gamma`); returns the dict of an annealing (`centers`, `labels`,
/// `inertia`, `sigma0`, `total_steps` (batches), `polish_iters` (the polish's batches),
/// `stages`, `reference`) and `init`, the initial centers.
#[pyfunction]
#[pyo3(signature = (x, n_clusters, init, n_init, max_iter, batch_size, tol, max_no_improvement, init_size, reassignment_ratio, seed, sample_weight, n_threads, cooling, stage_batches, polish, reference))]
#[allow(clippy::too_many_arguments)]
pub fn minibatch_anneal<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_clusters: usize,
    init: &Bound<'py, PyAny>,
    n_init: Option<usize>,
    max_iter: usize,
    batch_size: usize,
    tol: f64,
    max_no_improvement: Option<usize>,
    init_size: Option<usize>,
    reassignment_ratio: f64,
    seed: u64,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
    cooling: &Bound<'py, PyDict>,
    stage_batches: Option<usize>,
    polish: bool,
    reference: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let s = Settings {
        k: n_clusters,
        n_init,
        max_iter,
        batch_size,
        tol,
        max_no_improvement,
        init_size,
        reassignment_ratio,
        seed,
    };
    let c = Cooling::of(cooling)?;
    match dtype_of(x, "X")? {
        Dtype::F32 => anneal_typed::<f32>(
            py,
            x,
            init,
            s,
            c,
            stage_batches,
            polish,
            reference,
            sample_weight,
            n_threads,
        ),
        Dtype::F64 => anneal_typed::<f64>(
            py,
            x,
            init,
            s,
            c,
            stage_batches,
            polish,
            reference,
            sample_weight,
            n_threads,
        ),
    }
}

fn sigmas_typed<T: Float>(
    x: &Bound<'_, PyAny>,
    centers: &Bound<'_, PyAny>,
    c: Cooling,
    n_threads: Option<usize>,
    py: Python<'_>,
) -> PyResult<Vec<f64>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let (cr, k, dc) = view2::<T>(centers, "centers")?;
    if dc != d {
        return Err(PyValueError::new_err(format!(
            "centers have {dc} features, X has {d}"
        )));
    }
    let (xs, cs) = (xr.as_slice()?, cr.as_slice()?);
    let isa = crate::run::isa()?;
    compute(py, n_threads, |_| -> kmrbf::Result<Vec<f64>> {
        c.minibatch(MiniBatchParams::new(k).isa(isa))
            .stage_sigmas(MatView::new(xs, n, d)?, cs)
    })?
    .map_err(value_error)
}

/// The sigmas of an annealing's stages (`cooling` as [`minibatch_anneal`]) with `sigma0`
/// 'median' or 'auto' measured on the rows of `X` at `centers` (`k x d`, X's dtype): what
/// the mini-batch annealing's `partial_fit` measures on its first batch.
#[pyfunction]
#[pyo3(signature = (x, centers, cooling, n_threads))]
pub fn stage_sigmas<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    cooling: &Bound<'py, PyDict>,
    n_threads: Option<usize>,
) -> PyResult<Vec<f64>> {
    let c = Cooling::of(cooling)?;
    match dtype_of(x, "X")? {
        Dtype::F32 => sigmas_typed::<f32>(x, centers, c, n_threads, py),
        Dtype::F64 => sigmas_typed::<f64>(x, centers, c, n_threads, py),
    }
}
