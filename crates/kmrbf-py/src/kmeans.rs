//! K-Means: fit, initial centers, assignment (predict / score).

use crate::arrays::{dtype_of, matrix, value_error, view1, view2, Dtype, Float};
use crate::run::compute;
use kmrbf::{Algorithm, Init, KMeansParams, MatView, Shift};
use numpy::{PyArray1, PyArray2, PyReadwriteArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The fitted model as Python values: `(centers, labels, inertia, n_iter)`.
type Fitted<'py, T> = (
    Bound<'py, PyArray2<T>>,
    Bound<'py, PyArray1<i32>>,
    f64,
    usize,
);

/// How the initial centers are given: a method name or `k x d` centers (user coordinates).
pub(crate) enum InitArg {
    Method(String),
    Centers(Vec<f64>),
}

pub(crate) fn init_arg<T: Float>(init: &Bound<'_, PyAny>, k: usize, d: usize) -> PyResult<InitArg> {
    if let Ok(s) = init.extract::<String>() {
        return match s.as_str() {
            "k-means++" | "random" => Ok(InitArg::Method(s)),
            other => Err(PyValueError::new_err(format!(
                "init = {other:?} is invalid: expected 'k-means++', 'random' or an array of shape (n_clusters, n_features)"
            ))),
        };
    }
    let (c, rows, cols) = view2::<T>(init, "init")?;
    if (rows, cols) != (k, d) {
        return Err(PyValueError::new_err(format!(
            "init: expected centers of shape ({k}, {d}), got ({rows}, {cols})"
        )));
    }
    Ok(InitArg::Centers(
        c.as_slice()?.iter().map(|v| v.to_f64()).collect(),
    ))
}

pub(crate) fn init_of<T: Float>(a: &InitArg, shift: &Shift) -> Init<T> {
    match a {
        InitArg::Method(m) if m == "random" => Init::Random,
        InitArg::Method(_) => Init::KMeansPlusPlus,
        InitArg::Centers(c) => Init::Centers(shift.to_working(c)),
    }
}

/// K-Means settings as the Python estimator passes them.
struct FitSettings {
    k: usize,
    n_init: Option<usize>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    algorithm: Algorithm,
    isa: kmrbf::Isa,
}

/// Centers `x` (in place: the caller owns it), fits, and returns the user-coordinate centers.
#[allow(clippy::too_many_arguments)]
fn fit_centered<T: Float>(
    x: &mut [T],
    n: usize,
    d: usize,
    w: Option<&[T]>,
    init: &InitArg,
    s: &FitSettings,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    undo: bool,
) -> kmrbf::Result<(Vec<T>, Vec<i32>, f64, usize)> {
    let shift = Shift::of_valid(MatView::new(x, n, d)?, "X")?;
    shift.apply(x);
    let r = KMeansParams::new(s.k)
        .isa(s.isa)
        .init(init_of(init, &shift))
        .max_iter(s.max_iter)
        .tol(s.tol)
        .seed(s.seed)
        .algorithm(s.algorithm)
        .stop_flag(stop);
    let r = match s.n_init {
        Some(m) => r.n_init(m),
        None => r,
    };
    let fitted = r.fit(MatView::new(x, n, d)?, w);
    if undo {
        shift.undo(x);
    }
    let m = fitted?;
    let centers = shift
        .to_user(m.centers())
        .into_iter()
        .map(T::from_f64)
        .collect();
    let (inertia, n_iter) = (m.inertia(), m.n_iter());
    // Same size and alignment: the collect reuses the model's allocation (no second copy).
    let labels = m.into_labels().into_iter().map(|l| l as i32).collect();
    Ok((centers, labels, inertia, n_iter))
}

#[allow(clippy::too_many_arguments)]
fn fit_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    init: &Bound<'py, PyAny>,
    s: FitSettings,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
    copy_x: bool,
) -> PyResult<Fitted<'py, T>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let init = init_arg::<T>(init, s.k, d)?;
    let w = view1::<T>(sample_weight, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let (centers, labels, inertia, n_iter) = if copy_x {
        let xs = xr.as_slice()?;
        compute(py, n_threads, |stop| {
            let mut own = xs.to_vec();
            fit_centered(&mut own, n, d, w, &init, &s, stop, false)
        })?
    } else {
        drop(xr);
        let mut xw: PyReadwriteArray2<'py, T> = x.extract()?;
        let xs = xw.as_slice_mut()?;
        compute(py, n_threads, |stop| {
            fit_centered(xs, n, d, w, &init, &s, stop, true)
        })?
    }
    .map_err(value_error)?;
    Ok((
        matrix(py, centers, s.k, d)?,
        PyArray1::from_vec(py, labels),
        inertia,
        n_iter,
    ))
}

fn algorithm_of(name: &str) -> PyResult<Algorithm> {
    match name {
        "lloyd" => Ok(Algorithm::Lloyd),
        "hamerly" => Ok(Algorithm::Hamerly),
        "yinyang" => Ok(Algorithm::Yinyang),
        "auto" => Ok(Algorithm::Auto),
        other => Err(PyValueError::new_err(format!(
            "algorithm = {other:?} is invalid: expected 'lloyd', 'hamerly', 'yinyang' or 'auto'"
        ))),
    }
}

/// Fits K-Means; returns `(centers, labels, inertia, n_iter)` with centers in X's dtype.
///
/// `X` is `n x d`, C-contiguous float32 or float64 (not copied when `copy_x` is false: it
/// is centered in place and restored); `init` is `'k-means++'`, `'random'` or `k x d`
/// centers of X's dtype; `sample_weight` a 1-D array of X's dtype or None.
#[pyfunction]
#[pyo3(signature = (x, n_clusters, init, n_init, max_iter, tol, seed, algorithm, sample_weight, n_threads, copy_x))]
#[allow(clippy::too_many_arguments)]
pub fn kmeans_fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_clusters: usize,
    init: &Bound<'py, PyAny>,
    n_init: Option<usize>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    algorithm: &str,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
    copy_x: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let s = FitSettings {
        k: n_clusters,
        n_init,
        max_iter,
        tol,
        seed,
        algorithm: algorithm_of(algorithm)?,
        isa: crate::run::isa()?,
    };
    Ok(match dtype_of(x, "X")? {
        Dtype::F32 => fit_typed::<f32>(py, x, init, s, sample_weight, n_threads, copy_x)?
            .into_pyobject(py)?
            .into_any(),
        Dtype::F64 => fit_typed::<f64>(py, x, init, s, sample_weight, n_threads, copy_x)?
            .into_pyobject(py)?
            .into_any(),
    })
}

fn init_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    k: usize,
    method: &str,
    seed: u64,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray2<T>>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let init = match method {
        "k-means++" => Init::KMeansPlusPlus,
        "random" => Init::Random,
        other => {
            return Err(PyValueError::new_err(format!(
                "init = {other:?} is invalid: expected 'k-means++' or 'random'"
            )))
        }
    };
    let w = view1::<T>(sample_weight, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let xs = xr.as_slice()?;
    let isa = crate::run::isa()?;
    let c = compute(py, n_threads, |_| -> kmrbf::Result<Vec<T>> {
        let shift = Shift::of_valid(MatView::new(xs, n, d)?, "X")?;
        let own = shift.applied(xs);
        let c = KMeansParams::new(k)
            .isa(isa)
            .init(init)
            .seed(seed)
            .initial_centers(MatView::new(&own, n, d)?, w)?;
        Ok(shift.to_user(&c).into_iter().map(T::from_f64).collect())
    })?
    .map_err(value_error)?;
    matrix(py, c, k, d)
}

/// The initial centers K-Means' restart 0 starts from (`'k-means++'` or `'random'`,
/// centered coordinates as [`kmeans_fit`]), `k x d` in X's dtype.
#[pyfunction]
#[pyo3(signature = (x, n_clusters, init, seed, sample_weight, n_threads))]
pub fn initial_centers<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    n_clusters: usize,
    init: &str,
    seed: u64,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match dtype_of(x, "X")? {
        Dtype::F32 => {
            init_typed::<f32>(py, x, n_clusters, init, seed, sample_weight, n_threads)?.into_any()
        }
        Dtype::F64 => {
            init_typed::<f64>(py, x, n_clusters, init, seed, sample_weight, n_threads)?.into_any()
        }
    })
}

fn assign_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let (cr, k, dc) = view2::<T>(centers, "cluster_centers_")?;
    if dc != d {
        return Err(PyValueError::new_err(format!(
            "X has {d} features, but the model is fitted on {dc} features"
        )));
    }
    let (xs, cs) = (xr.as_slice()?, cr.as_slice()?);
    let isa = crate::run::isa()?;
    let labels = compute(py, n_threads, |_| -> kmrbf::Result<Vec<i32>> {
        let shift = Shift::of_valid(MatView::new(xs, n, d)?, "X")?;
        let own = shift.applied(xs);
        let c64: Vec<f64> = cs.iter().map(|v| v.to_f64()).collect();
        let c: Vec<T> = shift.to_working(&c64);
        let labels = kmrbf::kmeans::predict(isa, &c, k, MatView::new(&own, n, d)?)?;
        Ok(labels.into_iter().map(|l| l as i32).collect())
    })?
    .map_err(value_error)?;
    Ok(PyArray1::from_vec(py, labels))
}

/// Nearest-center labels of `X` (int32), computed on a centered copy of `X`. (The distortion
/// of X under given centers is `objectives` with the hard map.)
#[pyfunction]
#[pyo3(signature = (x, centers, n_threads))]
pub fn assign<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<i32>>> {
    match dtype_of(x, "X")? {
        Dtype::F32 => assign_typed::<f32>(py, x, centers, n_threads),
        Dtype::F64 => assign_typed::<f64>(py, x, centers, n_threads),
    }
}
