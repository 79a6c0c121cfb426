//! The RBF model (DESIGN.md section 1): K-Means as the zero-temperature limit of a
//! normalized RBF layer.
//!
//! `params` holds the map, kernel convention and temperature; `pass` is the fused soft pass
//! (distance tile -> row map -> weighted sums) shared by objectives, gradients and steps;
//! `objective` gives J, L, F and the gradients; `step` the center updates; `anneal` the
//! temperature schedule that lands on the K-Means fixed point; `minibatch` the same annealing
//! on random batches (landing on mini-batch K-Means); `backward` the gradients
//! through the responsibilities that an autograd layer needs; `model` the params -> fitted
//! model flow ([`AnnealParams::fit`](anneal::AnnealParams::fit) -> [`RbfModel`]).

pub mod anneal;
pub mod backward;
pub mod codebook;
pub mod minibatch;
pub mod model;
pub mod objective;
pub mod params;
pub mod pass;
pub mod shard;
pub mod step;

pub use crate::kernels::maps::{map_row, MapKind, RowTerms};
pub use backward::{responsibilities_backward, ResponsibilityGrads};
pub use minibatch::{MiniBatchAnnealParams, SoftBatchStep};
pub use model::RbfModel;
pub use objective::{center_gradient, input_gradient, objectives, GradientKind, Objectives};
pub use params::{Kernel, Temperature};
pub use pass::{soft_pass, soft_pass_into, PassOutput, PassRequest};
