//! Exact K-Means with scikit-learn's semantics (DESIGN.md section 1).
//!
//! `params` validates once; `lloyd`, `hamerly` and `yinyang` run one restart from given centers;
//! `step` holds what both share (M-step, empty-cluster relocation, inertia); `model` holds
//! the fitted, immutable result; `minibatch` is scikit-learn's mini-batch K-Means.

pub mod hamerly;
pub mod lloyd;
pub mod minibatch;
mod model;
mod params;
pub mod shard;
pub mod step;
pub mod yinyang;

/// The row blocking of the fused passes (rows per tile and per parallel chunk).
pub use crate::kernels::layout::tiles::Blocking;
/// Per-cluster sums and weights in f64: the sufficient statistics of an M-step.
pub use crate::kernels::update::ClusterSums;
pub use minibatch::{BatchStep, MiniBatchFit, MiniBatchParams, MiniBatchState};
pub use model::{predict, KMeans};
pub use model::{Algorithm, Timings};
pub use params::{Init, KMeansParams};
pub use step::IterInfo;
pub use step::RunResult;
