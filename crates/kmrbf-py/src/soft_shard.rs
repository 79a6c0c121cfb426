//! The RBF annealing over blocks for engines that split the data (`kmrbf.dask.RBFKMeans`):
//! one block's soft-pass totals, the gap-tracking Lloyd pass behind `sigma0 = 'auto'`, a
//! stage record's pass, and [`SoftDriver`], the client's half (schedule, stepper, objectives).

use crate::arrays::{dtype_of, matrix, value_error, view1, view2, Dtype, Float};
use crate::rbf::{anneal_params, objectives_dict};
use crate::shard::{
    block_error, check_weight_count, shifted_pieces, stats_dict, stats_of, LabelledBlock,
};
use kmrbf::data::Prepared;
use kmrbf::kmeans::{predict, ClusterSums};
use kmrbf::metrics::Contingency;
use kmrbf::rbf::anneal::{auto_sigma0, scale_fallback, stage_sigmas, AnnealParams};
use kmrbf::rbf::objective::Objectives;
use kmrbf::rbf::shard::{gap_shard_into, prepared_soft_into, soft_shard_into, GapStats};
use kmrbf::rbf::step::{one_hot_ratio, resolution_of, Stepper};
use kmrbf::rbf::{MapKind, PassOutput, PassRequest, Temperature};
use kmrbf::MatView;
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A pass's totals as a dict: `j`, `l`, `f`, `weight`, `support`, `onehot`, `rows`, `xmax`
/// (the largest squared row norm), and `resp_sums` / `resp_weight`, `loss_sums` /
/// `loss_weight` where requested.
fn pass_dict<'py>(
    py: Python<'py>,
    o: &PassOutput,
    xmax: f64,
    k: usize,
    d: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("j", o.j)?;
    out.set_item("l", o.l)?;
    out.set_item("f", o.f)?;
    out.set_item("weight", o.weight)?;
    out.set_item("support", o.support)?;
    out.set_item("onehot", o.onehot)?;
    out.set_item("rows", o.rows)?;
    out.set_item("xmax", xmax)?;
    for (name, s) in [("resp", &o.resp_sums), ("loss", &o.loss_sums)] {
        if let Some(s) = s {
            out.set_item(format!("{name}_sums"), matrix(py, s.sums.clone(), k, d)?)?;
            out.set_item(
                format!("{name}_weight"),
                PyArray1::from_vec(py, s.weight.clone()),
            )?;
        }
    }
    Ok(out)
}

fn sums_of(s: &Bound<'_, PyDict>, name: &str) -> PyResult<Option<ClusterSums>> {
    let Some(sums) = s.get_item(format!("{name}_sums"))? else {
        return Ok(None);
    };
    let sums: PyReadonlyArray2<f64> = sums.extract()?;
    let d = sums.as_array().dim().1;
    let weight: PyReadonlyArray1<f64> = s
        .get_item(format!("{name}_weight"))?
        .ok_or_else(|| PyValueError::new_err(format!("totals without {name}_weight")))?
        .extract()?;
    Ok(Some(ClusterSums {
        sums: sums.as_slice()?.to_vec(),
        weight: weight.as_slice()?.to_vec(),
        d,
    }))
}

/// The totals and `xmax` from a dict of [`pass_dict`].
fn pass_of(s: &Bound<'_, PyDict>) -> PyResult<(PassOutput, f64)> {
    let g = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        s.get_item(name)?
            .ok_or_else(|| PyValueError::new_err(format!("totals without {name}")))
    };
    Ok((
        PassOutput {
            j: g("j")?.extract()?,
            l: g("l")?.extract()?,
            f: g("f")?.extract()?,
            weight: g("weight")?.extract()?,
            support: g("support")?.extract()?,
            onehot: g("onehot")?.extract()?,
            rows: g("rows")?.extract()?,
            resp_sums: sums_of(s, "resp")?,
            loss_sums: sums_of(s, "loss")?,
        },
        g("xmax")?.extract()?,
    ))
}

/// One block's soft pass: its rows moved by `mean`, the block's totals at `centers`.
#[allow(clippy::too_many_arguments)]
fn soft_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    reference: Option<&Bound<'py, PyAny>>,
    mean: Vec<f64>,
    offset: u64,
    map: MapKind,
    temperature: f64,
    sums: (bool, bool),
) -> PyResult<(Bound<'py, PyDict>, Option<Bound<'py, PyAny>>)> {
    let (xr, n, d) = view2::<T>(x, "block")?;
    let (cr, k, dc) = view2::<T>(centers, "centers")?;
    if dc != d || mean.len() != d {
        return Err(PyValueError::new_err(format!(
            "centers have {dc} features and mean {} values; the block has {d} columns",
            mean.len()
        )));
    }
    let rc = reference.map(|r| view2::<T>(r, "reference")).transpose()?;
    let w = view1::<T>(w, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let (xs, cs) = (xr.as_slice()?, cr.as_slice()?);
    let rs = rc.as_ref().map(|(r, _, _)| r.as_slice()).transpose()?;
    check_weight_count(w, n)?;
    let isa = crate::run::isa()?;
    let req = PassRequest {
        map,
        temperature: T::from_f64(temperature),
        resp_sums: sums.0,
        loss_sums: sums.1,
        fused: true,
    };
    let (o, xmax, table) = py
        .detach(|| -> kmrbf::Result<(PassOutput, f64, Option<Vec<f64>>)> {
            let mut o = PassOutput::empty(k, d, &req);
            let mut xmax = 0.0f64;
            // The table of the block's labels under `centers` against those under the
            // reference's centers (`k x k` counts).
            let mut table = rs.map(|_| vec![0.0; k * k]);
            shifted_pieces(xs, n, d, k, mean, |r0, v| {
                let w = w.map(|w| &w[r0..r0 + v.n()]);
                let at = offset + r0 as u64;
                xmax = xmax.max(soft_shard_into(isa, v, w, cs, k, at, req, &mut o)?);
                if let (Some(r), Some(t)) = (rs, table.as_mut()) {
                    add_table(isa, cs, r, k, v, t)?;
                }
                Ok(())
            })?;
            Ok((o, xmax, table))
        })
        .map_err(|e| block_error(e, offset))?;
    let table = table
        .map(|t| matrix(py, t, k, k).map(|m| m.into_any()))
        .transpose()?;
    Ok((pass_dict(py, &o, xmax, k, d)?, table))
}

/// Adds the rows `v` to the `k x k` table of their labels under `cs` against those under the
/// reference's centers `r`.
fn add_table<T: Float>(
    isa: kmrbf::Isa,
    cs: &[T],
    r: &[T],
    k: usize,
    v: MatView<'_, T>,
    t: &mut [f64],
) -> kmrbf::Result<()> {
    let (a, b) = (predict(isa, cs, k, v)?, predict(isa, r, k, v)?);
    for (&i, &j) in a.iter().zip(&b) {
        t[i as usize * k + j as usize] += 1.0;
    }
    Ok(())
}

/// One block's totals of a soft pass (`map`, `alpha`) at the effective `temperature`: the
/// block (`n x d`, global rows `offset..`) moved by `mean` on a copy, against `centers`
/// (working coordinates, the block's dtype); `resp_sums` / `loss_sums` ask for the sums a
/// step needs. With `reference` centers also the `k x k` table of the block's labels under
/// `centers` against those under `reference` (float64 counts). Returns `(totals, table)`.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, centers, reference, mean, offset, map, alpha, temperature, resp_sums, loss_sums))]
#[allow(clippy::too_many_arguments)]
pub fn soft_shard_pass<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    reference: Option<&Bound<'py, PyAny>>,
    mean: PyReadonlyArray1<'py, f64>,
    offset: u64,
    map: &str,
    alpha: Option<f64>,
    temperature: f64,
    resp_sums: bool,
    loss_sums: bool,
) -> PyResult<(Bound<'py, PyDict>, Option<Bound<'py, PyAny>>)> {
    let map = kmrbf::rbf::params::parse_map(map, alpha).map_err(value_error)?;
    let mean = mean.as_slice()?.to_vec();
    let sums = (resp_sums, loss_sums);
    let (w, c, r) = (sample_weight, centers, reference);
    match dtype_of(x, "block")? {
        Dtype::F32 => soft_typed::<f32>(py, x, w, c, r, mean, offset, map, temperature, sums),
        Dtype::F64 => soft_typed::<f64>(py, x, w, c, r, mean, offset, map, temperature, sums),
    }
}

/// The totals of two blocks added (`a` first): `PassOutput::merge`; `xmax` the larger.
#[pyfunction]
pub fn soft_merge<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyDict>,
    b: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let ((mut a, xa), (b, xb)) = (pass_of(a)?, pass_of(b)?);
    let shape = |o: &PassOutput| {
        let s = o.resp_sums.as_ref().or(o.loss_sums.as_ref());
        (
            s.map(|s| (s.weight.len(), s.d)),
            o.resp_sums.is_some(),
            o.loss_sums.is_some(),
        )
    };
    if shape(&a) != shape(&b) {
        return Err(PyValueError::new_err(
            "totals of different requests or shapes",
        ));
    }
    a.merge(&b);
    let (k, d) = shape(&a).0.unwrap_or((0, 0));
    pass_dict(py, &a, xa.max(xb), k, d)
}

#[allow(clippy::too_many_arguments)]
fn gap_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    mean: Vec<f64>,
    offset: u64,
    prev: Option<PyReadonlyArray1<'py, i32>>,
    extras: bool,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyArray1<i32>>)> {
    let (xr, _, d) = view2::<T>(x, "block")?;
    let (cr, k, _) = view2::<T>(centers, "centers")?;
    let w = view1::<T>(w, "sample_weight")?;
    let block = LabelledBlock::check(&xr, w.as_ref(), &cr, mean, offset, prev)?;
    let (isa, cs) = (crate::run::isa()?, block.cs);
    let (g, labels) = block.run(py, GapStats::empty(k, d), |v, w, at, lab, g| {
        gap_shard_into(isa, v, w, cs, k, at, lab, g, extras)
    })?;
    let out = stats_dict(py, &g.stats, k, d)?;
    out.set_item("gap", g.gap)?;
    out.set_item("ties", g.ties)?;
    Ok((out, labels))
}

/// One block of an iteration of the Lloyd run behind `sigma0 = 'auto'`: the block moved by
/// `mean` is labelled by the top-2 kernel against `centers`; returns `(stats, labels)`, the
/// statistics of `shard_pass` (with `extras`: the inertia and farthest rows) plus `gap`, the
/// block's smallest positive two-nearest gap, and `ties`.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, centers, mean, offset, prev, extras))]
#[allow(clippy::too_many_arguments)]
pub fn gap_shard_pass<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    mean: PyReadonlyArray1<'py, f64>,
    offset: u64,
    prev: Option<PyReadonlyArray1<'py, i32>>,
    extras: bool,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyArray1<i32>>)> {
    let mean = mean.as_slice()?.to_vec();
    let (w, c) = (sample_weight, centers);
    match dtype_of(x, "block")? {
        Dtype::F32 => gap_typed::<f32>(py, x, w, c, mean, offset, prev, extras),
        Dtype::F64 => gap_typed::<f64>(py, x, w, c, mean, offset, prev, extras),
    }
}

/// ARI and NMI from a `ka x kb` contingency table of counts (float64; e.g. blocks' tables
/// added up).
#[pyfunction]
pub fn contingency_scores(table: PyReadonlyArray2<'_, f64>) -> PyResult<(f64, f64)> {
    let (ka, kb) = table.as_array().dim();
    let t = Contingency::from_counts(ka, kb, table.as_slice()?);
    Ok((t.ari(), t.nmi()))
}

/// The client's half of an annealing over blocks: the settings (the estimator's dict, as
/// `kmrbf.RBFKMeans` passes them), the schedule, and the stepper with its optimizer state.
#[pyclass(module = "kmrbf._core")]
pub struct SoftDriver {
    params: AnnealParams,
    stepper: Stepper,
    k: usize,
    d: usize,
    f32: bool,
}

impl SoftDriver {
    fn working(&self, sigma: f64) -> PyResult<f64> {
        let t = Temperature::new(sigma, self.params.kernel).map_err(value_error)?;
        if self.f32 {
            t.working::<f32>().map_err(value_error)?;
        } else {
            t.working::<f64>().map_err(value_error)?;
        }
        Ok(t.effective())
    }

    fn update_typed<'py, T: Float>(
        &mut self,
        py: Python<'py>,
        centers: &Bound<'py, PyAny>,
        o: &PassOutput,
        lloyd: Option<&ClusterSums>,
        temperature: f64,
    ) -> PyResult<(Bound<'py, PyAny>, f64)> {
        let (cr, k, d) = view2::<T>(centers, "centers")?;
        if (k, d) != (self.k, self.d) {
            return Err(PyValueError::new_err(format!(
                "centers {k} x {d}, the driver's are {} x {}",
                self.k, self.d
            )));
        }
        let mut c = cr.as_slice()?.to_vec();
        let info = self
            .stepper
            .update(&mut c, k, self.params.map, temperature, o, lloyd);
        Ok((matrix(py, c, k, d)?.into_any(), info.max_move_sq))
    }
}

#[pymethods]
impl SoftDriver {
    /// A driver for `k x d` centers in `dtype` ('float32' or 'float64').
    #[new]
    fn new(settings: &Bound<'_, PyDict>, k: usize, d: usize, dtype: &str) -> PyResult<Self> {
        let params = anneal_params(settings)?;
        params.check().map_err(value_error)?;
        let f32 = match dtype {
            "float32" => true,
            "float64" => false,
            other => {
                return Err(PyValueError::new_err(format!(
                    "dtype {other:?}: expected 'float32' or 'float64'"
                )))
            }
        };
        Ok(Self {
            stepper: Stepper::new(params.step),
            params,
            k,
            d,
            f32,
        })
    }

    /// The stages' sigmas from `sigma0` (checked in the working precision).
    fn sigmas(&self, sigma0: f64) -> PyResult<Vec<f64>> {
        if self.f32 {
            stage_sigmas::<f32>(&self.params, sigma0).map_err(value_error)
        } else {
            stage_sigmas::<f64>(&self.params, sigma0).map_err(value_error)
        }
    }

    /// `sigma0 = 'auto'` from the smallest gap along Lloyd's path and the data's mean
    /// column variance `scale`.
    fn auto_sigma0(&self, gap: f64, scale: f64) -> f64 {
        auto_sigma0(&self.params, gap, scale_fallback(scale))
    }

    /// The effective temperature (the divisor of `-D`) of `sigma`.
    fn effective(&self, sigma: f64) -> PyResult<f64> {
        self.working(sigma)
    }

    /// The sums a step asks of the pass: `(resp_sums, loss_sums)`.
    fn request(&self, temperature: f64) -> (bool, bool) {
        let r = self.stepper.request::<f64>(self.params.map, temperature);
        (r.resp_sums, r.loss_sums)
    }

    /// Clears the optimizer state (at a new temperature).
    fn reset(&mut self) {
        self.stepper.reset();
    }

    /// True when the step after the merged `totals` at `centers` is Lloyd's: the caller then
    /// passes Lloyd's merged statistics of the same centers to `update`.
    fn wants_lloyd(
        &self,
        totals: &Bound<'_, PyDict>,
        centers: &Bound<'_, PyAny>,
        temperature: f64,
    ) -> PyResult<bool> {
        let (o, xmax) = pass_of(totals)?;
        let (map, k, d) = (self.params.map, self.k, self.d);
        macro_rules! limit {
            ($t:ty) => {{
                let (cr, _, _) = view2::<$t>(centers, "centers")?;
                let c = cr.as_slice()?;
                self.stepper.wants_lloyd(&o, || {
                    temperature * one_hot_ratio::<$t>(map) <= resolution_of(xmax, c, k, d)
                })
            }};
        }
        Ok(if self.f32 { limit!(f32) } else { limit!(f64) })
    }

    /// One step from the merged `totals` at `centers` (and `lloyd`, Lloyd's merged statistics
    /// where `wants_lloyd` said so): `(new_centers, largest squared move)`.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        centers: &Bound<'py, PyAny>,
        totals: &Bound<'py, PyDict>,
        lloyd: Option<&Bound<'py, PyDict>>,
        temperature: f64,
    ) -> PyResult<(Bound<'py, PyAny>, f64)> {
        let (o, _) = pass_of(totals)?;
        if o.resp_sums.is_none() {
            return Err(PyValueError::new_err(
                "totals without the responsibility sums",
            ));
        }
        let lloyd = lloyd.map(stats_of).transpose()?.map(|s| s.sums);
        if self.f32 {
            self.update_typed::<f32>(py, centers, &o, lloyd.as_ref(), temperature)
        } else {
            self.update_typed::<f64>(py, centers, &o, lloyd.as_ref(), temperature)
        }
    }

    /// J, L, F, bound, mean_support, onehot_fraction of merged `totals` at `temperature`.
    fn objectives<'py>(
        &self,
        py: Python<'py>,
        totals: &Bound<'py, PyDict>,
        temperature: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (o, _) = pass_of(totals)?;
        let ob = Objectives::from_pass(&o, self.params.map, temperature, self.k);
        objectives_dict(py, &ob)
    }
}

/// The largest distance between matched centers of `a` and `b` (`k x d` each, float64;
/// Hungarian matching): `kmrbf::metrics::center_discrepancy`.
#[pyfunction]
pub fn center_discrepancy(
    a: PyReadonlyArray2<'_, f64>,
    b: PyReadonlyArray2<'_, f64>,
) -> PyResult<f64> {
    let (k, d) = a.as_array().dim();
    if b.as_array().dim() != (k, d) {
        return Err(PyValueError::new_err("centers of different shapes"));
    }
    Ok(kmrbf::metrics::center_discrepancy(
        a.as_slice()?,
        b.as_slice()?,
        k,
        d,
    ))
}

#[allow(clippy::too_many_arguments)]
fn prepared_soft_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    norms: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    reference: Option<&Bound<'py, PyAny>>,
    offset: u64,
    map: MapKind,
    temperature: f64,
    sums: (bool, bool),
) -> PyResult<(Bound<'py, PyDict>, Option<Bound<'py, PyAny>>)> {
    let (xr, n, d) = view2::<T>(x, "block")?;
    let (cr, k, dc) = view2::<T>(centers, "centers")?;
    if dc != d {
        return Err(PyValueError::new_err(format!(
            "centers have {dc} features; the block has {d} columns"
        )));
    }
    let nr = view1::<T>(Some(norms), "norms")?.expect("given");
    let rc = reference.map(|r| view2::<T>(r, "reference")).transpose()?;
    let w = view1::<T>(w, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let (xs, ns, cs) = (xr.as_slice()?, nr.as_slice()?, cr.as_slice()?);
    let rs = rc.as_ref().map(|(r, _, _)| r.as_slice()).transpose()?;
    let isa = crate::run::isa()?;
    let req = PassRequest {
        map,
        temperature: T::from_f64(temperature),
        resp_sums: sums.0,
        loss_sums: sums.1,
        fused: true,
    };
    let (o, xmax, table) = py
        .detach(|| -> kmrbf::Result<(PassOutput, f64, Option<Vec<f64>>)> {
            let p = Prepared::new(xs, d, ns, w, isa)?;
            let mut o = PassOutput::empty(k, d, &req);
            let xmax = prepared_soft_into(&p, cs, k, req, &mut o)?;
            // The table of the block's labels under `centers` against those under the
            // reference's centers (`k x k` counts).
            let table = match rs {
                Some(r) => {
                    let mut t = vec![0.0; k * k];
                    add_table(isa, cs, r, k, MatView::new(xs, n, d)?, &mut t)?;
                    Some(t)
                }
                None => None,
            };
            Ok((o, xmax, table))
        })
        .map_err(|e| block_error(e, offset))?;
    let table = table
        .map(|t| matrix(py, t, k, k).map(|m| m.into_any()))
        .transpose()?;
    Ok((pass_dict(py, &o, xmax, k, d)?, table))
}

/// `soft_shard_pass` on a block from `prepare_block_rows` (`x` its moved rows, `norms` their
/// squared norms, `sample_weight` as given to it): the same totals and table bit for bit,
/// without moving and checking the block again.
#[pyfunction]
#[pyo3(signature = (x, norms, sample_weight, centers, reference, offset, map, alpha, temperature, resp_sums, loss_sums))]
#[allow(clippy::too_many_arguments)]
pub fn prepared_soft_shard_pass<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    norms: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    reference: Option<&Bound<'py, PyAny>>,
    offset: u64,
    map: &str,
    alpha: Option<f64>,
    temperature: f64,
    resp_sums: bool,
    loss_sums: bool,
) -> PyResult<(Bound<'py, PyDict>, Option<Bound<'py, PyAny>>)> {
    let map = kmrbf::rbf::params::parse_map(map, alpha).map_err(value_error)?;
    let sums = (resp_sums, loss_sums);
    let (w, c, r) = (sample_weight, centers, reference);
    match dtype_of(x, "block")? {
        Dtype::F32 => {
            prepared_soft_typed::<f32>(py, x, norms, w, c, r, offset, map, temperature, sums)
        }
        Dtype::F64 => {
            prepared_soft_typed::<f64>(py, x, norms, w, c, r, offset, map, temperature, sums)
        }
    }
}
