//! The backward pass of the responsibilities for autograd (the PyTorch layer): given the
//! upstream gradient `G = dLoss/dR` (`n x k`), the gradients with respect to the rows and
//! the centers, computed by [`kmrbf::rbf::responsibilities_backward`].

use crate::arrays::{dtype_of, matrix, value_error, view2, Dtype, Float};
use crate::run::compute;
use kmrbf::data::MatView;
use kmrbf::rbf::params::parse_map;
use kmrbf::rbf::{Kernel, MapKind, Temperature};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

#[allow(clippy::too_many_arguments)]
fn backward_typed<'py, T: Float>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    resp: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    temp: f64,
    map: MapKind,
    n_threads: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (zr, n, d) = view2::<T>(z, "z")?;
    let (cr, k, dc) = view2::<T>(centers, "centers")?;
    let (rr, nr, kr) = view2::<T>(resp, "responsibilities")?;
    let (gr, ng, kg) = view2::<T>(grad, "grad")?;
    if dc != d || (nr, kr) != (n, k) || (ng, kg) != (n, k) {
        return Err(PyValueError::new_err(format!(
            "shapes disagree: z {n} x {d}, centers {k} x {dc}, responsibilities {nr} x {kr}, grad {ng} x {kg}"
        )));
    }
    if !(temp.is_finite() && temp > 0.0) {
        return Err(PyValueError::new_err(format!(
            "temperature = {temp} is invalid: must be finite and > 0"
        )));
    }
    let temp = Temperature::new(temp, Kernel::Temperature).map_err(value_error)?;
    let (z, c, r, g) = (
        zr.as_slice()?,
        cr.as_slice()?,
        rr.as_slice()?,
        gr.as_slice()?,
    );
    let isa = crate::run::isa()?;
    let grads = compute(py, n_threads, |_| {
        kmrbf::rbf::responsibilities_backward(isa, MatView::new(z, n, d)?, c, k, map, temp, r, g)
    })?
    .map_err(value_error)?;
    Ok((
        matrix(py, grads.rows, n, d)?.into_any(),
        matrix(py, grads.centers, k, d)?.into_any(),
    ))
}

/// `(dLoss/dz, dLoss/dcenters)` from `grad = dLoss/dR` for `R = map(-D / temperature)`
/// (`temperature` the effective divisor), all arrays of z's dtype, C-contiguous.
#[pyfunction]
#[pyo3(signature = (z, centers, resp, grad, temperature, map, alpha, n_threads))]
#[allow(clippy::too_many_arguments)]
pub fn resp_backward<'py>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    resp: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    temperature: f64,
    map: &str,
    alpha: Option<f64>,
    n_threads: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let map = parse_map(map, alpha).map_err(crate::arrays::value_error)?;
    match dtype_of(z, "z")? {
        Dtype::F32 => {
            backward_typed::<f32>(py, z, centers, resp, grad, temperature, map, n_threads)
        }
        Dtype::F64 => {
            backward_typed::<f64>(py, z, centers, resp, grad, temperature, map, n_threads)
        }
    }
}
