//! Lloyd over blocks for engines that split the data (the Dask estimators): one block's
//! statistics, and the update from merged statistics.

use crate::arrays::{dtype_of, matrix, value_error, view1, view2, Dtype, Float};
use kmrbf::data::Prepared;
use kmrbf::kmeans::shard::{
    prepare_block, prepared_pass_into, shard_pass_into, update, FarRow, ShardStats,
};
use kmrbf::kmeans::ClusterSums;
use kmrbf::{MatView, Shift};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// One block, `n x d` at global rows `offset..`, for a labelled pass: its rows, weights and
/// centers checked against each other, and its previous labels (`u32::MAX` without).
pub(crate) struct LabelledBlock<'a, T> {
    xs: &'a [T],
    w: Option<&'a [T]>,
    /// The `k x d` centers (working coordinates).
    pub cs: &'a [T],
    n: usize,
    d: usize,
    k: usize,
    mean: Vec<f64>,
    offset: u64,
    labels: Vec<u32>,
}

impl<'a, T: Float> LabelledBlock<'a, T> {
    /// Checks the block `x`, its weights `w`, the centers `c`, the column means `mean` and the
    /// previous labels `prev` against each other.
    pub(crate) fn check(
        x: &'a numpy::PyReadonlyArray2<'_, T>,
        w: Option<&'a PyReadonlyArray1<'_, T>>,
        c: &'a numpy::PyReadonlyArray2<'_, T>,
        mean: Vec<f64>,
        offset: u64,
        prev: Option<PyReadonlyArray1<'_, i32>>,
    ) -> PyResult<Self> {
        use numpy::PyUntypedArrayMethods;
        let (n, d) = (x.shape()[0], x.shape()[1]);
        let (k, dc) = (c.shape()[0], c.shape()[1]);
        if dc != d || mean.len() != d {
            return Err(PyValueError::new_err(format!(
                "centers have {dc} features and mean {} values; the block has {d} columns",
                mean.len()
            )));
        }
        let w = w.map(|w| w.as_slice()).transpose()?;
        check_weight_count(w, n)?;
        let labels: Vec<u32> = match &prev {
            Some(p) => p.as_slice()?.iter().map(|&l| l as u32).collect(),
            None => vec![u32::MAX; n],
        };
        if labels.len() != n {
            return Err(PyValueError::new_err(format!(
                "previous labels: {} for a block of {n} rows",
                labels.len()
            )));
        }
        Ok(Self {
            xs: x.as_slice()?,
            w,
            cs: c.as_slice()?,
            n,
            d,
            k,
            mean,
            offset,
            labels,
        })
    }

    /// Runs `pass(rows, weights, global offset, labels, stats)` over the block's shifted
    /// pieces, continuing `stats`, without the GIL; returns the statistics and the new labels.
    pub(crate) fn run<'py, S: Send>(
        mut self,
        py: Python<'py>,
        mut stats: S,
        pass: impl Fn(MatView<'_, T>, Option<&[T]>, u64, &mut [u32], &mut S) -> kmrbf::Result<()>
            + Send
            + Sync,
    ) -> PyResult<(S, Bound<'py, PyArray1<i32>>)> {
        let (n, d, k, offset) = (self.n, self.d, self.k, self.offset);
        let (xs, w, mean) = (self.xs, self.w, std::mem::take(&mut self.mean));
        let labels = &mut self.labels;
        py.detach(|| {
            shifted_pieces(xs, n, d, k, mean, |r0, v| {
                let m = v.n();
                let w = w.map(|w| &w[r0..r0 + m]);
                pass(
                    v,
                    w,
                    offset + r0 as u64,
                    &mut labels[r0..r0 + m],
                    &mut stats,
                )
            })
        })
        .map_err(|e| block_error(e, offset))?;
        let labels: Vec<i32> = self.labels.into_iter().map(|l| l as i32).collect();
        Ok((stats, PyArray1::from_vec(py, labels)))
    }
}

#[allow(clippy::too_many_arguments)]
fn pass_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    mean: PyReadonlyArray1<'py, f64>,
    offset: u64,
    prev: Option<PyReadonlyArray1<'py, i32>>,
    extras: bool,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyArray1<i32>>)> {
    let (xr, _, d) = view2::<T>(x, "block")?;
    let (cr, k, _) = view2::<T>(centers, "centers")?;
    let w = view1::<T>(w, "sample_weight")?;
    let mean = mean.as_slice()?.to_vec();
    let block = LabelledBlock::check(&xr, w.as_ref(), &cr, mean, offset, prev)?;
    let (isa, cs) = (crate::run::isa()?, block.cs);
    let (stats, labels) = block.run(py, ShardStats::empty(k, d), |v, w, at, lab, s| {
        shard_pass_into(isa, v, w, cs, k, at, lab, s, extras)
    })?;
    Ok((stats_dict(py, &stats, k, d)?, labels))
}

/// Calls `f(first_row, rows)` on the block `xs` (`n x d`) in pieces of whole kernel chunks
/// for `k` centers, each piece checked finite (an error names the row in the block) and copied
/// moved by the column means `mean` into one reused buffer: the copy is still in cache when
/// the pass reads it. Statistics continued piece after piece are the whole block's (the same
/// bits: the kernels reduce chunk by chunk in order).
pub(crate) fn shifted_pieces<T: Float>(
    xs: &[T],
    n: usize,
    d: usize,
    k: usize,
    mean: Vec<f64>,
    mut f: impl FnMut(usize, MatView<'_, T>) -> kmrbf::Result<()>,
) -> kmrbf::Result<()> {
    let chunk = kmrbf::kmeans::Blocking::of::<T>(k).chunk_rows.max(1);
    let piece = 2 * rayon::current_num_threads().max(1) * chunk;
    let shift = Shift::from_mean(mean);
    let mut buf: Vec<T> = Vec::with_capacity(piece.min(n) * d);
    for r0 in (0..n).step_by(piece) {
        let m = piece.min(n - r0);
        let src = &xs[r0 * d..(r0 + m) * d];
        MatView::new(src, m, d)?
            .validate("data")
            .map_err(|e| match e {
                kmrbf::Error::NonFinite {
                    what,
                    row,
                    col,
                    value,
                } => kmrbf::Error::NonFinite {
                    what,
                    row: r0 + row,
                    col,
                    value,
                },
                e => e,
            })?;
        shift.applied_into(src, &mut buf);
        f(r0, MatView::new(&buf, m, d)?)?;
    }
    Ok(())
}

/// Refuses weights whose count is not the block's `n` rows.
pub(crate) fn check_weight_count<T>(w: Option<&[T]>, n: usize) -> PyResult<()> {
    match w {
        Some(w) if w.len() != n => Err(value_error(kmrbf::Error::WeightCount {
            expected: n,
            got: w.len(),
        })),
        _ => Ok(()),
    }
}

/// A block's error as Python's `ValueError`, a non-finite value named by its row in X.
pub(crate) fn block_error(e: kmrbf::Error, offset: u64) -> PyErr {
    match e {
        kmrbf::Error::NonFinite {
            row, col, value, ..
        } => PyValueError::new_err(format!(
            "X: non-finite value {value} at row {}, column {col}",
            offset as usize + row
        )),
        e => value_error(e),
    }
}

/// The statistics as the dict the Python side passes around.
pub(crate) fn stats_dict<'py>(
    py: Python<'py>,
    stats: &ShardStats,
    k: usize,
    d: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("sums", matrix(py, stats.sums.sums.clone(), k, d)?)?;
    out.set_item("weight", PyArray1::from_vec(py, stats.sums.weight.clone()))?;
    out.set_item("inertia", stats.inertia)?;
    out.set_item("changed", stats.changed)?;
    out.set_item("rows", stats.rows)?;
    let m = stats.far.len();
    let far = &stats.far;
    out.set_item(
        "far_dist",
        PyArray1::from_vec(py, far.iter().map(|f| f.dist).collect()),
    )?;
    out.set_item(
        "far_index",
        PyArray1::from_vec(py, far.iter().map(|f| f.index as i64).collect()),
    )?;
    out.set_item(
        "far_label",
        PyArray1::from_vec(py, far.iter().map(|f| f.label as i32).collect()),
    )?;
    out.set_item(
        "far_weight",
        PyArray1::from_vec(py, far.iter().map(|f| f.weight).collect()),
    )?;
    out.set_item(
        "far_rows",
        matrix(
            py,
            far.iter().flat_map(|f| f.row.iter().copied()).collect(),
            m,
            d,
        )?,
    )?;
    Ok(out)
}

/// The statistics of two blocks added (`a` first): `ShardStats::merge`.
#[pyfunction]
pub fn shard_merge<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyDict>,
    b: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let (mut a, b) = (stats_of(a)?, stats_of(b)?);
    if (a.sums.weight.len(), a.sums.d) != (b.sums.weight.len(), b.sums.d) {
        return Err(PyValueError::new_err("statistics of different shapes"));
    }
    a.merge(&b);
    let (k, d) = (a.sums.weight.len(), a.sums.d);
    stats_dict(py, &a, k, d)
}

/// One block's statistics for a Lloyd iteration: the block (`n x d`, global rows
/// `offset..offset + n`) is shifted by `mean` (the data's column means, float64) on a copy
/// and assigned to `centers` (`k x d`, working coordinates, the block's dtype). `prev` holds
/// the block's previous labels (int32) or None. Returns `(stats, labels)`: a dict of
/// `sums` (k x d), `weight` (k), `inertia`, `changed`, `rows`, `far_*` (the rows farthest from
/// their centers), and the new int32 labels. Without `extras` the second sweep (inertia and
/// farthest rows) is skipped: `inertia` is 0 and `far_*` empty.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, centers, mean, offset, prev, extras = true))]
#[allow(clippy::too_many_arguments)]
pub fn shard_pass<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    mean: PyReadonlyArray1<'py, f64>,
    offset: u64,
    prev: Option<PyReadonlyArray1<'py, i32>>,
    extras: bool,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyArray1<i32>>)> {
    let (w, c) = (sample_weight, centers);
    match dtype_of(x, "block")? {
        Dtype::F32 => pass_typed::<f32>(py, x, w, c, mean, offset, prev, extras),
        Dtype::F64 => pass_typed::<f64>(py, x, w, c, mean, offset, prev, extras),
    }
}

pub(crate) fn stats_of(s: &Bound<'_, PyDict>) -> PyResult<ShardStats> {
    let g = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        s.get_item(name)?
            .ok_or_else(|| PyValueError::new_err(format!("statistics without {name}")))
    };
    let sums: PyReadonlyArray2<f64> = g("sums")?.extract()?;
    let (k, d) = sums.as_array().dim();
    let weight: PyReadonlyArray1<f64> = g("weight")?.extract()?;
    let dist: PyReadonlyArray1<f64> = g("far_dist")?.extract()?;
    let index: PyReadonlyArray1<i64> = g("far_index")?.extract()?;
    let label: PyReadonlyArray1<i32> = g("far_label")?.extract()?;
    let fw: PyReadonlyArray1<f64> = g("far_weight")?.extract()?;
    let rows: PyReadonlyArray2<f64> = g("far_rows")?.extract()?;
    let rows = rows.as_slice()?;
    let far = (0..dist.as_slice()?.len())
        .map(|i| -> PyResult<FarRow> {
            Ok(FarRow {
                dist: dist.as_slice()?[i],
                index: index.as_slice()?[i] as u64,
                label: label.as_slice()?[i] as u32,
                weight: fw.as_slice()?[i],
                row: rows[i * d..(i + 1) * d].to_vec(),
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(ShardStats {
        sums: ClusterSums {
            sums: sums.as_slice()?.to_vec(),
            weight: weight.as_slice()?.to_vec(),
            d,
        },
        inertia: g("inertia")?.extract()?,
        changed: g("changed")?.extract()?,
        rows: g("rows")?.extract()?,
        far: {
            let mut f = far;
            f.truncate(k);
            f
        },
    })
}

fn update_typed<'py, T: Float>(
    py: Python<'py>,
    stats: &ShardStats,
    old: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, f64, usize)> {
    let (or, k, d) = view2::<T>(old, "centers")?;
    if stats.sums.weight.len() != k || stats.sums.d != d {
        return Err(PyValueError::new_err(format!(
            "statistics for {} x {} centers, got centers {k} x {d}",
            stats.sums.weight.len(),
            stats.sums.d
        )));
    }
    let mut next = vec![T::ZERO; k * d];
    let (shift, relocated) = update(stats, or.as_slice()?, &mut next);
    Ok((matrix(py, next, k, d)?.into_any(), shift, relocated))
}

/// The Lloyd update from merged statistics (the in-memory M-step, empty clusters included):
/// returns `(new_centers, sum of squared moves, relocated clusters)`.
#[pyfunction]
pub fn shard_update<'py>(
    py: Python<'py>,
    stats: &Bound<'py, PyDict>,
    centers: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, f64, usize)> {
    let s = stats_of(stats)?;
    match dtype_of(centers, "centers")? {
        Dtype::F32 => update_typed::<f32>(py, &s, centers),
        Dtype::F64 => update_typed::<f64>(py, &s, centers),
    }
}

fn prepare_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
    mean: Vec<f64>,
    offset: u64,
) -> PyResult<PreparedTuple<'py>> {
    let (xr, n, d) = view2::<T>(x, "block")?;
    if mean.len() != d {
        return Err(PyValueError::new_err(format!(
            "mean has {} values; the block has {d} columns",
            mean.len()
        )));
    }
    let w = view1::<T>(w, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    check_weight_count(w, n)?;
    let xs = xr.as_slice()?;
    let b = py
        .detach(|| prepare_block(MatView::new(xs, n, d)?, w, &Shift::from_mean(mean), offset))
        .map_err(|e| block_error(e, offset))?;
    Ok((
        matrix(py, b.rows, n, d)?.into_any(),
        PyArray1::from_vec(py, b.norms).into_any(),
        PyArray1::from_vec(py, b.sq_sums),
    ))
}

/// A prepared block: its rows, their squared norms, the column sums of their squares.
type PreparedTuple<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyArray1<f64>>,
);

/// A block made ready for every Lloyd pass of a fit (`kmrbf::kmeans::shard::prepare_block`):
/// the block (`n x d`, global rows `offset..`) moved by `mean` (the data's column means), checked
/// finite (an error names the global row), its weights checked. Returns `(rows, norms,
/// sq_sums)`: the moved rows (the block's dtype), their squared norms, and the `d` column sums of
/// the squared moved values (float64).
#[pyfunction]
#[pyo3(signature = (x, sample_weight, mean, offset))]
pub fn prepare_block_rows<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    mean: PyReadonlyArray1<'py, f64>,
    offset: u64,
) -> PyResult<PreparedTuple<'py>> {
    let mean = mean.as_slice()?.to_vec();
    match dtype_of(x, "block")? {
        Dtype::F32 => prepare_typed::<f32>(py, x, sample_weight, mean, offset),
        Dtype::F64 => prepare_typed::<f64>(py, x, sample_weight, mean, offset),
    }
}

#[allow(clippy::too_many_arguments)]
fn prepared_typed<'py, T: Float>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    norms: &Bound<'py, PyAny>,
    w: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    offset: u64,
    prev: Option<PyReadonlyArray1<'py, i32>>,
    extras: bool,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyArray1<i32>>)> {
    let (xr, n, d) = view2::<T>(x, "block")?;
    let (cr, k, dc) = view2::<T>(centers, "centers")?;
    if dc != d {
        return Err(PyValueError::new_err(format!(
            "centers have {dc} features; the block has {d} columns"
        )));
    }
    let nr = view1::<T>(Some(norms), "norms")?.expect("given");
    let w = view1::<T>(w, "sample_weight")?;
    let w = w.as_ref().map(|w| w.as_slice()).transpose()?;
    let mut labels: Vec<u32> = match &prev {
        Some(p) => p.as_slice()?.iter().map(|&l| l as u32).collect(),
        None => vec![u32::MAX; n],
    };
    let (xs, ns, cs) = (xr.as_slice()?, nr.as_slice()?, cr.as_slice()?);
    let isa = crate::run::isa()?;
    let stats = py
        .detach(|| -> kmrbf::Result<ShardStats> {
            let p = Prepared::new(xs, d, ns, w, isa)?;
            let mut stats = ShardStats::empty(k, d);
            prepared_pass_into(&p, cs, k, offset, &mut labels, &mut stats, extras)?;
            Ok(stats)
        })
        .map_err(|e| block_error(e, offset))?;
    let labels: Vec<i32> = labels.into_iter().map(|l| l as i32).collect();
    Ok((
        stats_dict(py, &stats, k, d)?,
        PyArray1::from_vec(py, labels),
    ))
}

/// `shard_pass` on a block from `prepare_block_rows` (`x` its moved rows, `norms` their squared
/// norms, `sample_weight` as given to it): the kernel and the sums only, the same statistics
/// and labels bit for bit.
#[pyfunction]
#[pyo3(signature = (x, norms, sample_weight, centers, offset, prev, extras = true))]
#[allow(clippy::too_many_arguments)]
pub fn prepared_shard_pass<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    norms: &Bound<'py, PyAny>,
    sample_weight: Option<&Bound<'py, PyAny>>,
    centers: &Bound<'py, PyAny>,
    offset: u64,
    prev: Option<PyReadonlyArray1<'py, i32>>,
    extras: bool,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyArray1<i32>>)> {
    let (w, c) = (sample_weight, centers);
    match dtype_of(x, "block")? {
        Dtype::F32 => prepared_typed::<f32>(py, x, norms, w, c, offset, prev, extras),
        Dtype::F64 => prepared_typed::<f64>(py, x, norms, w, c, offset, prev, extras),
    }
}
