//! The RBF model: annealing, responsibilities, objectives and gradients, row maps.

use crate::arrays::{dtype_of, matrix, value_error, view1, view2, Dtype, Float};
use crate::run::compute;
use kmrbf::rbf::anneal::{anneal as anneal_run, AnnealParams, AnnealResult, Schedule, Sigma0};
use kmrbf::rbf::map_row;
use kmrbf::rbf::params::parse_map;
use kmrbf::rbf::step::StepKind;
use kmrbf::rbf::{GradientKind, Kernel, MapKind, Temperature};
use kmrbf::{MatView, Shift};
use numpy::{PyArray1, PyReadwriteArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;

fn map_of(name: &str, alpha: Option<f64>) -> PyResult<MapKind> {
    parse_map(name, alpha).map_err(value_error)
}

fn kernel_of(name: &str) -> PyResult<Kernel> {
    name.parse().map_err(value_error)
}

fn temperature_of(t: f64, kernel: Kernel) -> PyResult<Temperature> {
    Temperature::new(t, kernel).map_err(|_| {
        PyValueError::new_err(format!(
            "temperature = {t} is invalid: must be finite and > 0"
        ))
    })
}

/// A centered copy of `x` (`n x d`, checked finite) and the shift.
fn centered<T: Float>(x: &[T], n: usize, d: usize) -> kmrbf::Result<(Vec<T>, Shift)> {
    let shift = Shift::of_valid(MatView::new(x, n, d)?, "X")?;
    let own = shift.applied(x);
    Ok((own, shift))
}

/// Centers `k x d` of X's dtype as f64 values, checked against `d`.
fn centers_of<T: Float>(c: &Bound<'_, PyAny>, d: usize) -> PyResult<(Vec<f64>, usize)> {
    let (cr, k, dc) = view2::<T>(c, "centers")?;
    if dc != d {
        return Err(PyValueError::new_err(format!(
            "centers have {dc} features, X has {d}"
        )));
    }
    Ok((cr.as_slice()?.iter().map(|v| v.to_f64()).collect(), k))
}

fn sigma0_of(v: &Bound<'_, PyAny>) -> PyResult<Sigma0> {
    if let Ok(s) = v.extract::<String>() {
        return match s.as_str() {
            "auto" => Ok(Sigma0::Auto),
            "median" => Ok(Sigma0::Median),
            "critical" => Ok(Sigma0::Critical),
            other => Err(PyValueError::new_err(format!(
                "sigma0 = {other:?} is invalid: expected 'auto', 'median', 'critical' or a float > 0"
            ))),
        };
    }
    let x: f64 = v.extract().map_err(|_| {
        PyValueError::new_err("sigma0 must be 'auto', 'median', 'critical' or a float > 0")
    })?;
    Ok(Sigma0::Value(x))
}

/// The temperature settings an annealing reads from the estimator's dict: `map`, `alpha`,
/// `kernel`, `sigma0`, `sigma_min`, `sigmas` (a list, or None), `schedule`, `gamma`.
pub(crate) struct Cooling {
    pub(crate) map: MapKind,
    pub(crate) kernel: Kernel,
    pub(crate) sigma0: Sigma0,
    pub(crate) sigma_min: Option<f64>,
    pub(crate) schedule: Schedule,
}

/// A setting of the estimator's dict.
pub(crate) fn setting<'py>(s: &Bound<'py, PyDict>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    s.get_item(name)?
        .ok_or_else(|| PyValueError::new_err(format!("missing setting {name}")))
}

impl Cooling {
    pub(crate) fn of(s: &Bound<'_, PyDict>) -> PyResult<Self> {
        let g = |name: &str| setting(s, name);
        let listed: Option<Vec<f64>> = g("sigmas")?.extract()?;
        Ok(Self {
            map: map_of(&g("map")?.extract::<String>()?, g("alpha")?.extract()?)?,
            kernel: kernel_of(&g("kernel")?.extract::<String>()?)?,
            sigma0: sigma0_of(&g("sigma0")?)?,
            sigma_min: g("sigma_min")?.extract()?,
            schedule: match g("schedule")?.extract::<String>()?.as_str() {
                _ if listed.is_some() => Schedule::List(listed.unwrap_or_default()),
                "geometric" => Schedule::Geometric {
                    gamma: g("gamma")?.extract()?,
                },
                "dkm" => Schedule::Dkm,
                other => {
                    return Err(PyValueError::new_err(format!(
                        "schedule = {other:?} is invalid: expected 'geometric' or 'dkm'"
                    )))
                }
            },
        })
    }
}

/// Annealing settings from the estimator's dict (keys as the estimator's parameters).
pub(crate) fn anneal_params(s: &Bound<'_, PyDict>) -> PyResult<AnnealParams> {
    let g = |name: &str| setting(s, name);
    let c = Cooling::of(s)?;
    let gradient: GradientKind = g("gradient")?
        .extract::<String>()?
        .parse()
        .map_err(value_error)?;
    let mut p = AnnealParams::new(c.map);
    p.isa = crate::run::isa()?;
    p.kernel = c.kernel;
    p.sigma0 = c.sigma0;
    p.sigma_min = c.sigma_min;
    p.schedule = c.schedule;
    p.step = StepKind::parse(
        &g("step")?.extract::<String>()?,
        g("lr")?.extract()?,
        gradient,
    )
    .map_err(value_error)?;
    p.warm_start = g("warm_start")?.extract()?;
    p.tol = g("tol")?.extract()?;
    p.stage_cap = g("stage_cap")?.extract()?;
    p.polish = g("polish")?.extract()?;
    p.reference = g("reference")?.extract()?;
    p.seed = g("seed")?.extract()?;
    Ok(p)
}

fn anneal_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    init: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    params: AnnealParams,
    n_threads: Option<usize>,
    copy_x: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let (c0, k) = centers_of::<T>(init, d)?;
    let w = view1::<T>(sample_weight, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let run = |xs: &mut [T], undo: bool, stop| -> kmrbf::Result<_> {
        let shift = Shift::of_valid(MatView::new(xs, n, d)?, "X")?;
        shift.apply(xs);
        let mut p = params.clone();
        p.stop = Some(stop);
        let c: Vec<T> = shift.to_working(&c0);
        let r = anneal_run(MatView::new(xs, n, d)?, w, &c, k, &p, &mut |_| {});
        if undo {
            shift.undo(xs);
        }
        let r = r?;
        let centers: Vec<T> = shift
            .to_user(&r.centers)
            .into_iter()
            .map(T::from_f64)
            .collect();
        let reference = r.reference.as_ref().map(|f| {
            let user: Vec<T> = shift
                .to_user(&f.centers)
                .into_iter()
                .map(T::from_f64)
                .collect();
            (user, f.labels.clone(), f.inertia, f.n_iter)
        });
        Ok((r, centers, reference))
    };
    let (r, centers, reference) = if copy_x {
        let xs = xr.as_slice()?;
        compute(py, n_threads, |stop| {
            let mut own = xs.to_vec();
            run(&mut own, false, stop)
        })?
    } else {
        drop(xr);
        let mut xw: PyReadwriteArray2<'py, T> = x.extract()?;
        let xs = xw.as_slice_mut()?;
        compute(py, n_threads, |stop| run(xs, true, stop))?
    }
    .map_err(value_error)?;
    annealed_dict(py, &r, centers, reference, k, d)
}

/// A reference run's centers (user coordinates, X's dtype), labels, inertia and iterations.
pub(crate) type UserReference<T> = (Vec<T>, Vec<u32>, f64, usize);

/// The dict of an annealing: `centers` (`k x d`, user coordinates, X's dtype), `labels`
/// (int32), `inertia`, `sigma0`, `total_steps`, `polish_iters`, `stages` (one dict per
/// temperature) and `reference` (the K-Means run from the same init, or None).
pub(crate) fn annealed_dict<'py, T: Float>(
    py: Python<'py>,
    r: &AnnealResult<T>,
    centers: Vec<T>,
    reference: Option<UserReference<T>>,
    k: usize,
    d: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("centers", matrix(py, centers, k, d)?)?;
    out.set_item(
        "labels",
        PyArray1::from_vec(py, r.labels.iter().map(|&l| l as i32).collect()),
    )?;
    out.set_item("inertia", r.inertia)?;
    out.set_item("sigma0", r.sigma0)?;
    out.set_item("total_steps", r.total_steps)?;
    out.set_item("polish_iters", r.polish_iters)?;
    let stages = PyList::empty(py);
    for s in &r.stages {
        let e = PyDict::new(py);
        e.set_item("stage", s.stage)?;
        e.set_item("sigma", s.sigma)?;
        e.set_item("temperature", s.temperature)?;
        e.set_item("steps", s.steps)?;
        e.set_item("seconds", s.seconds)?;
        e.set_item("J", s.objectives.j)?;
        e.set_item("L", s.objectives.l)?;
        e.set_item("F", s.objectives.f)?;
        e.set_item("bound", s.objectives.bound)?;
        e.set_item("mean_support", s.objectives.mean_support)?;
        e.set_item("onehot_fraction", s.objectives.onehot_fraction)?;
        e.set_item("last_move_sq", s.last_move_sq)?;
        e.set_item("discrepancy", s.discrepancy)?;
        e.set_item("ari", s.ari)?;
        e.set_item("nmi", s.nmi)?;
        stages.append(e)?;
    }
    out.set_item("stages", stages)?;
    match reference {
        Some((c, labels, inertia, n_iter)) => {
            let f = PyDict::new(py);
            f.set_item("centers", matrix(py, c, k, d)?)?;
            f.set_item(
                "labels",
                PyArray1::from_vec(py, labels.iter().map(|&l| l as i32).collect()),
            )?;
            f.set_item("inertia", inertia)?;
            f.set_item("n_iter", n_iter)?;
            out.set_item("reference", f)?;
        }
        None => out.set_item("reference", py.None())?,
    }
    Ok(out)
}

/// Anneals `init` (`k x d`, X's dtype) on `X`; returns a dict with `centers`, `labels`,
/// `inertia`, `sigma0`, `total_steps`, `polish_iters`, `stages` (one dict per temperature)
/// and `reference` (the K-Means run from the same init, or None).
#[pyfunction]
#[pyo3(signature = (x, init, sample_weight, settings, n_threads, copy_x))]
pub fn anneal<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    init: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    settings: &Bound<'py, PyDict>,
    n_threads: Option<usize>,
    copy_x: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let params = anneal_params(settings)?;
    match dtype_of(x, "X")? {
        Dtype::F32 => anneal_typed::<f32>(py, x, init, sample_weight, params, n_threads, copy_x),
        Dtype::F64 => anneal_typed::<f64>(py, x, init, sample_weight, params, n_threads, copy_x),
    }
}

fn responsibilities_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    temp: Temperature,
    map: MapKind,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let (c, k) = centers_of::<T>(centers, d)?;
    let xs = xr.as_slice()?;
    let isa = crate::run::isa()?;
    let r = compute(py, n_threads, |_| -> kmrbf::Result<Vec<T>> {
        let (own, shift) = centered(xs, n, d)?;
        let cw: Vec<T> = shift.to_working(&c);
        let v = MatView::new(&own, n, d)?;
        kmrbf::rbf::objective::responsibilities(isa, v, &cw, k, map, temp)
    })?
    .map_err(value_error)?;
    Ok(matrix(py, r, n, k)?.into_any())
}

/// The `n x k` responsibilities of `X` under `centers` (`k x d`, X's dtype) at `temperature`.
#[pyfunction]
#[pyo3(signature = (x, centers, temperature, map, alpha, kernel, n_threads))]
#[allow(clippy::too_many_arguments)]
pub fn responsibilities<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    temperature: f64,
    map: &str,
    alpha: Option<f64>,
    kernel: &str,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let map = map_of(map, alpha)?;
    let temp = temperature_of(temperature, kernel_of(kernel)?)?;
    match dtype_of(x, "X")? {
        Dtype::F32 => responsibilities_typed::<f32>(py, x, centers, temp, map, n_threads),
        Dtype::F64 => responsibilities_typed::<f64>(py, x, centers, temp, map, n_threads),
    }
}

#[allow(clippy::too_many_arguments)]
fn objectives_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    temp: Temperature,
    map: MapKind,
    gradient: Option<GradientKind>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let (xr, n, d) = view2::<T>(x, "X")?;
    let (c, k) = centers_of::<T>(centers, d)?;
    let w = view1::<T>(sample_weight, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let xs = xr.as_slice()?;
    let isa = crate::run::isa()?;
    let (o, grads) = compute(py, n_threads, |_| -> kmrbf::Result<_> {
        let (own, shift) = centered(xs, n, d)?;
        let cw: Vec<T> = shift.to_working(&c);
        let v = MatView::new(&own, n, d)?;
        match gradient {
            None => Ok((kmrbf::rbf::objectives(isa, v, w, &cw, k, map, temp)?, None)),
            Some(kind) => {
                let (o, gc) = kmrbf::rbf::center_gradient(isa, v, w, &cw, k, map, temp, kind)?;
                let gx = kmrbf::rbf::input_gradient(isa, v, w, &cw, k, map, temp, kind)?;
                Ok((o, Some((gc, gx))))
            }
        }
    })?
    .map_err(value_error)?;
    let out = objectives_dict(py, &o)?;
    out.set_item("weight", o.weight)?;
    if let Some((gc, gx)) = grads {
        out.set_item("grad_centers", matrix(py, gc, k, d)?)?;
        out.set_item("grad_X", matrix(py, gx, n, d)?)?;
    }
    Ok(out)
}

/// `J`, `L`, `F`, `bound`, `mean_support` and `onehot_fraction` of `o` as a dict.
pub(crate) fn objectives_dict<'py>(
    py: Python<'py>,
    o: &kmrbf::rbf::Objectives,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("J", o.j)?;
    out.set_item("L", o.l)?;
    out.set_item("F", o.f)?;
    out.set_item("bound", o.bound)?;
    out.set_item("mean_support", o.mean_support)?;
    out.set_item("onehot_fraction", o.onehot_fraction)?;
    Ok(out)
}

/// J, L, F (and with `gradient` = 'stopgrad' / 'full' the gradients of F / L with respect to
/// the centers, float64 `k x d`, and to X, X's dtype `n x d`) as a dict.
#[pyfunction]
#[pyo3(signature = (x, centers, temperature, map, alpha, kernel, gradient, sample_weight, n_threads))]
#[allow(clippy::too_many_arguments)]
pub fn objectives<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    temperature: f64,
    map: &str,
    alpha: Option<f64>,
    kernel: &str,
    gradient: Option<&str>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let map = map_of(map, alpha)?;
    let temp = temperature_of(temperature, kernel_of(kernel)?)?;
    let gradient = gradient
        .map(|g| g.parse::<GradientKind>().map_err(value_error))
        .transpose()?;
    match dtype_of(x, "X")? {
        Dtype::F32 => objectives_typed::<f32>(
            py,
            x,
            centers,
            temp,
            map,
            gradient,
            sample_weight,
            n_threads,
        ),
        Dtype::F64 => objectives_typed::<f64>(
            py,
            x,
            centers,
            temp,
            map,
            gradient,
            sample_weight,
            n_threads,
        ),
    }
}

/// Rows per parallel task of [`map_rows`].
const MAP_CHUNK: usize = 256;

fn map_rows_typed<'py, T: Float>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    map: MapKind,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let (zr, n, k) = view2::<T>(z, "z")?;
    let zs = zr.as_slice()?;
    let out = compute(py, n_threads, |_| -> kmrbf::Result<Vec<T>> {
        // Logits may be -inf (a masked entry: probability 0); NaN, +inf and rows without a
        // finite entry are refused.
        for (i, row) in zs.chunks_exact(k.max(1)).enumerate() {
            if let Some(j) = row.iter().position(|v| {
                let f = v.to_f64();
                f.is_nan() || f == f64::INFINITY
            }) {
                return Err(kmrbf::Error::NonFinite {
                    what: "z",
                    row: i,
                    col: j,
                    value: row[j].to_f64(),
                });
            }
            if !row.iter().any(|v| v.is_finite()) {
                return Err(kmrbf::Error::NonFinite {
                    what: "z (a row with no finite entry)",
                    row: i,
                    col: 0,
                    value: row[0].to_f64(),
                });
            }
        }
        let mut out = vec![T::ZERO; n * k];
        out.par_chunks_mut(MAP_CHUNK * k.max(1))
            .zip(zs.par_chunks(MAP_CHUNK * k.max(1)))
            .for_each(|(o, zc)| {
                let mut dist = vec![T::ZERO; k];
                let mut scratch = vec![T::ZERO; k];
                for (orow, zrow) in o.chunks_exact_mut(k).zip(zc.chunks_exact(k)) {
                    for (dv, &zv) in dist.iter_mut().zip(zrow) {
                        *dv = -zv;
                    }
                    map_row(map, &dist, T::ONE, orow, None, &mut scratch);
                }
            });
        Ok(out)
    })?
    .map_err(value_error)?;
    Ok(matrix(py, out, n, k)?.into_any())
}

/// Row-wise `map` (softmax / entmax15 / sparsemax / entmax with `alpha`) of the logits `z`
/// (`n x k`, float32 or float64): each output row lies on the simplex.
#[pyfunction]
#[pyo3(signature = (z, map, alpha, n_threads))]
pub fn map_rows<'py>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    map: &str,
    alpha: Option<f64>,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let map = map_of(map, alpha)?;
    match dtype_of(z, "z")? {
        Dtype::F32 => map_rows_typed::<f32>(py, z, map, n_threads),
        Dtype::F64 => map_rows_typed::<f64>(py, z, map, n_threads),
    }
}
