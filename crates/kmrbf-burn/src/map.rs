//! The responsibility maps as one burn operation with a hand-written backward.
//!
//! [`RbfMapBackend::rbf_map`] takes scores `z` (`[n, k]`, `z_ik = -D_ik / T`) and returns the
//! responsibilities `r = map(z)` row by row (DESIGN.md section 1):
//! - softmax `r_k = exp(z_k) / sum_j exp(z_j)`;
//! - entmax15 `r_k = [z_k / 2 - tau]_+^2` with the exact threshold from the sorted row;
//! - sparsemax `r_k = [z_k - tau]_+`, exact threshold.
//!
//! The forward is written in backend operations (sort, cumulative sum, gather), so any burn
//! backend runs it. Under autodiff the backward is the exact Jacobian of DESIGN.md,
//! `dz = s * (g - sum(s g) / sum(s))` with `s = r` (softmax), `sqrt(r)` (entmax15),
//! `1[r > 0]` (sparsemax): one pass over the saved responsibilities, no graph through the sort.
//!
//! Stability: each row is shifted so that its largest score is 0, and scores below a floor where
//! the map is exactly 0 (or below e^-10000 for softmax) are clamped to it, so that scores of
//! `-1e38` (distances 1e30 at temperature 1e-8) give neither NaN nor Inf.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    backend_extension, get_or_init_device_settings, Backend, Flex, FloatDType, IntDType, Scalar,
    TensorData, TensorMetadata,
};
use burn::tensor::Tensor;

/// Which responsibility map a layer applies to its scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Map {
    /// Dense; leaks `exp(-gap / T)` to every other center.
    Softmax,
    /// Sparse alpha = 1.5 entmax; a row is one-hot iff its gap is `>= 2 T`.
    Entmax15,
    /// Sparse alpha = 2; a row is one-hot iff its gap is `>= T`.
    Sparsemax,
}

impl Map {
    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Map::Softmax => "softmax",
            Map::Entmax15 => "entmax15",
            Map::Sparsemax => "sparsemax",
        }
    }

    /// Parses `softmax`, `entmax15` or `sparsemax`.
    pub fn parse(name: &str) -> Option<Map> {
        match name {
            "softmax" => Some(Map::Softmax),
            "entmax15" => Some(Map::Entmax15),
            "sparsemax" => Some(Map::Sparsemax),
            _ => None,
        }
    }

    /// The same map in the core library's terms.
    pub fn core(self) -> kmrbf::rbf::MapKind {
        match self {
            Map::Softmax => kmrbf::rbf::MapKind::Softmax,
            Map::Entmax15 => kmrbf::rbf::MapKind::Entmax15,
            Map::Sparsemax => kmrbf::rbf::MapKind::Sparsemax,
        }
    }

    /// Scores this far below a row's largest one get exactly zero responsibility (softmax:
    /// below `e^-10000`, zero in f32 and f64), so clamping to it changes nothing.
    fn floor(self) -> f64 {
        match self {
            Map::Softmax => -1e4,
            // tau >= max(z / 2) - 1, so z / 2 <= -1 is off the support.
            Map::Entmax15 => -4.0,
            // tau >= max(z) - 1.
            Map::Sparsemax => -2.0,
        }
    }
}

/// The responsibility map as a backend operation; see the module documentation.
#[backend_extension(Flex, Autodiff, Cube: cfg(any(feature = "wgpu", feature = "cuda")))]
pub trait RbfMapBackend: Backend {
    /// `scores`: `[n, k]`, finite or `-inf`; returns the responsibilities, `[n, k]`, rows on
    /// the simplex.
    fn rbf_map(scores: FloatTensor<Self>, map: Map) -> FloatTensor<Self> {
        map_forward::<Self>(scores, map)
    }
}

impl RbfMapBackend for Flex {}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl RbfMapBackend for burn::backend::Cube {}

impl<B: Backend + RbfMapBackend, C: CheckpointStrategy> RbfMapBackend for Autodiff<B, C> {
    fn rbf_map(scores: FloatTensor<Self>, map: Map) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MapBackward;

        impl<B: Backend> Backward<B, 1> for MapBackward {
            type State = (FloatTensor<B>, Map);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [parent] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (resp, map) = ops.state;
                if let Some(node) = parent {
                    grads.register::<B>(node.id, map_backward::<B>(resp, grad, map));
                }
            }
        }

        match MapBackward
            .prepare::<C>([scores.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let resp = B::rbf_map(scores.into_primitive(), map);
                prep.finish((resp.clone(), map), resp)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::rbf_map(scores.into_primitive(), map)),
        }
    }
}

/// The map applied to burn tensors, row by row.
///
/// # Shapes
/// `scores`: `[n, k]` -> responsibilities `[n, k]`.
pub fn rbf_map(scores: Tensor<2>, map: Map) -> Tensor<2> {
    use burn::backend::Dispatch;
    Tensor::from_dispatch(<Dispatch as RbfMapBackend>::rbf_map(
        scores.into_dispatch(),
        map,
    ))
}

fn float_dtype<B: Backend>(t: &FloatTensor<B>) -> FloatDType {
    FloatDType::from(t.dtype())
}

/// `[1, k]` holding `1, 2, ..., k` in the dtype and on the device of `like`.
fn counts_row<B: Backend>(like: &FloatTensor<B>, k: usize) -> FloatTensor<B> {
    let data = match float_dtype::<B>(like) {
        FloatDType::F64 => TensorData::new((1..=k).map(|v| v as f64).collect::<Vec<_>>(), [1, k]),
        _ => TensorData::new((1..=k).map(|v| v as f32).collect::<Vec<_>>(), [1, k]),
    };
    B::float_from_data(data, &like.device())
}

/// The exact forward, written in backend operations.
fn map_forward<B: Backend>(scores: FloatTensor<B>, map: Map) -> FloatTensor<B> {
    let shape = scores.shape();
    let k = shape[1];
    let device = scores.device();
    let settings = get_or_init_device_settings::<B>(&device);
    let dtype = float_dtype::<B>(&scores);
    // Shift each row to max 0 and clamp below the floor where the map is exactly 0.
    let row_max = B::float_max_dim(scores.clone(), 1);
    let shifted = B::float_sub(scores, row_max);
    let z = B::float_clamp_min(shifted, Scalar::Float(map.floor()));
    match map {
        Map::Softmax => {
            let e = B::float_exp(z);
            let total = B::float_sum_dim(e.clone(), 1);
            B::float_div(e, total)
        }
        Map::Entmax15 | Map::Sparsemax => {
            let y = match map {
                Map::Entmax15 => B::float_mul_scalar(z, Scalar::Float(0.5)),
                _ => z,
            };
            let sorted = B::float_sort(y.clone(), 1, true);
            let counts = counts_row::<B>(&sorted, k);
            let cum = B::float_cumsum(sorted.clone(), 1);
            // tau_m: the threshold if the support were the m largest entries.
            let tau = match map {
                Map::Entmax15 => {
                    // mean_m - sqrt((1 - m (meansq_m - mean_m^2)) / m), clamped at 0 inside.
                    let mean = B::float_div(cum, counts.clone());
                    let sq = B::float_mul(sorted.clone(), sorted.clone());
                    let meansq = B::float_div(B::float_cumsum(sq, 1), counts.clone());
                    let var = B::float_sub(meansq, B::float_mul(mean.clone(), mean.clone()));
                    let ss = B::float_mul(counts.clone(), var);
                    let delta = B::float_div(
                        B::float_add_scalar(B::float_neg(ss), Scalar::Float(1.0)),
                        counts,
                    );
                    let delta = B::float_clamp_min(delta, Scalar::Float(0.0));
                    B::float_sub(mean, B::float_sqrt(delta))
                }
                _ => B::float_div(B::float_sub_scalar(cum, Scalar::Float(1.0)), counts),
            };
            // Support size: the number of m with tau_m <= y_(m) (a prefix of the sorted row).
            let inside = B::float_lower_equal(tau.clone(), sorted, settings.bool_dtype);
            let size = B::float_sum_dim(B::bool_into_float(inside, dtype), 1);
            let last =
                B::float_into_int(B::float_sub_scalar(size, Scalar::Float(1.0)), IntDType::I64);
            let tau_star = B::float_gather(1, tau, last);
            let p = B::float_clamp_min(B::float_sub(y, tau_star), Scalar::Float(0.0));
            match map {
                Map::Entmax15 => B::float_mul(p.clone(), p),
                _ => p,
            }
        }
    }
}

/// The exact backward: `dz = s * (g - sum(s g) / sum(s))`, `s` from the saved responsibilities.
fn map_backward<B: Backend>(
    resp: FloatTensor<B>,
    grad: FloatTensor<B>,
    map: Map,
) -> FloatTensor<B> {
    let dtype = float_dtype::<B>(&resp);
    let settings = get_or_init_device_settings::<B>(&resp.device());
    let s = match map {
        Map::Softmax => resp,
        Map::Entmax15 => B::float_sqrt(resp),
        Map::Sparsemax => B::bool_into_float(
            B::float_greater_elem(resp, Scalar::Float(0.0), settings.bool_dtype),
            dtype,
        ),
    };
    let sg = B::float_sum_dim(B::float_mul(s.clone(), grad.clone()), 1);
    let ssum = B::float_sum_dim(s.clone(), 1);
    let centered = B::float_sub(grad, B::float_div(sg, ssum));
    B::float_mul(s, centered)
}
