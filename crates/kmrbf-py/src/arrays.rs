//! Arrays across the boundary: the two float dtypes, zero-copy input views, owned outputs.

use numpy::{
    Element, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The element types the kernels compute in.
pub trait Float: kmrbf::Real + Element {}
impl Float for f32 {}
impl Float for f64 {}

/// Which float dtype an array has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// float32.
    F32,
    /// float64.
    F64,
}

/// The dtype of a 2-D float array `x` (named `what` in errors).
pub fn dtype_of(x: &Bound<'_, PyAny>, what: &str) -> PyResult<Dtype> {
    if x.extract::<PyReadonlyArray2<f32>>().is_ok() {
        Ok(Dtype::F32)
    } else if x.extract::<PyReadonlyArray2<f64>>().is_ok() {
        Ok(Dtype::F64)
    } else {
        Err(PyTypeError::new_err(format!(
            "{what} must be a 2-D float32 or float64 numpy array"
        )))
    }
}

/// A read-only 2-D view of `x` as `T` (C-contiguous), with its shape.
pub fn view2<'py, T: Float>(
    x: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<(PyReadonlyArray2<'py, T>, usize, usize)> {
    let a: PyReadonlyArray2<'py, T> = x.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a 2-D {} array like X",
            std::any::type_name::<T>()
        ))
    })?;
    let shape = a.as_array().dim();
    if !a.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{what} must be C-contiguous"
        )));
    }
    Ok((a, shape.0, shape.1))
}

/// An optional 1-D view (sample weights) as `T`.
pub fn view1<'py, T: Float>(
    x: Option<&Bound<'py, PyAny>>,
    what: &str,
) -> PyResult<Option<PyReadonlyArray1<'py, T>>> {
    x.map(|x| {
        let a: PyReadonlyArray1<'py, T> = x.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what} must be a 1-D {} array like X",
                std::any::type_name::<T>()
            ))
        })?;
        if !a.is_c_contiguous() {
            return Err(PyValueError::new_err(format!("{what} must be contiguous")));
        }
        Ok(a)
    })
    .transpose()
}

/// An owned `rows x cols` row-major array.
pub fn matrix<T: Element>(
    py: Python<'_>,
    v: Vec<T>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'_, PyArray2<T>>> {
    PyArray1::from_vec(py, v).reshape([rows, cols])
}

/// kmrbf's refusal as Python's `ValueError` (the message names the parameter and value).
pub fn value_error(e: kmrbf::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}
