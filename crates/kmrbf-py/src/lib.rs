//! `kmrbf._core`: the compiled half of the `kmrbf` Python package.
//!
//! Each function takes C-contiguous float32 / float64 numpy arrays without copying them
//! (centering works on a copy unless the caller passes `copy_x = False`), releases the GIL
//! while it computes, runs on `n_threads` threads, and stops on Ctrl-C. The estimators and
//! their scikit-learn conventions live in the Python half (`python/kmrbf`).

mod arrays;
mod kmeans;
mod layer;
mod minibatch;
mod rbf;
mod run;
mod shard;
mod soft_shard;

use pyo3::prelude::*;

/// The compiled functions behind `kmrbf.KMeans`, `kmrbf.RBFKMeans` and the row maps.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(kmeans::kmeans_fit, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans::initial_centers, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans::assign, m)?)?;
    m.add_function(wrap_pyfunction!(minibatch::minibatch_fit, m)?)?;
    m.add_function(wrap_pyfunction!(minibatch::minibatch_step, m)?)?;
    m.add_function(wrap_pyfunction!(minibatch::minibatch_anneal, m)?)?;
    m.add_function(wrap_pyfunction!(minibatch::stage_sigmas, m)?)?;
    m.add_function(wrap_pyfunction!(rbf::anneal, m)?)?;
    m.add_function(wrap_pyfunction!(rbf::responsibilities, m)?)?;
    m.add_function(wrap_pyfunction!(rbf::objectives, m)?)?;
    m.add_function(wrap_pyfunction!(rbf::map_rows, m)?)?;
    m.add_function(wrap_pyfunction!(layer::resp_backward, m)?)?;
    m.add_function(wrap_pyfunction!(shard::shard_pass, m)?)?;
    m.add_function(wrap_pyfunction!(shard::prepare_block_rows, m)?)?;
    m.add_function(wrap_pyfunction!(shard::prepared_shard_pass, m)?)?;
    m.add_function(wrap_pyfunction!(soft_shard::prepared_soft_shard_pass, m)?)?;
    m.add_function(wrap_pyfunction!(shard::shard_merge, m)?)?;
    m.add_function(wrap_pyfunction!(shard::shard_update, m)?)?;
    m.add_function(wrap_pyfunction!(soft_shard::soft_shard_pass, m)?)?;
    m.add_function(wrap_pyfunction!(soft_shard::soft_merge, m)?)?;
    m.add_function(wrap_pyfunction!(soft_shard::gap_shard_pass, m)?)?;
    m.add_function(wrap_pyfunction!(soft_shard::contingency_scores, m)?)?;
    m.add_function(wrap_pyfunction!(soft_shard::center_discrepancy, m)?)?;
    m.add_class::<soft_shard::SoftDriver>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
