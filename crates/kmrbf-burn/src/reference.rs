//! Plain-tensor references for the maps, differentiated by burn's autodiff: the independent
//! check of [`crate::map`]'s hand-written backward.
//!
//! The support of a sparse row is found on the host (sorted, exact threshold, in f64); given the
//! support, the threshold has a closed form in masked sums, which autodiff differentiates:
//! entmax15 `tau = s1 / m - sqrt((1 - (s2 - s1^2 / m)) / m)` over `y = z / 2`, sparsemax
//! `tau = (s1 - 1) / m`, with `m`, `s1`, `s2` the size, sum and sum of squares on the support.

use burn::tensor::{activation, Tensor, TensorData};

use crate::map::Map;

/// `map(scores)` for `scores`: `[n, k]`, in differentiable tensor operations.
pub fn map(scores: Tensor<2>, map: Map) -> Tensor<2> {
    match map {
        Map::Softmax => activation::softmax(scores, 1),
        Map::Entmax15 | Map::Sparsemax => {
            let [n, k] = scores.dims();
            let host: Vec<f64> = scores
                .clone()
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .expect("scores");
            let scale = if map == Map::Entmax15 { 0.5 } else { 1.0 };
            let mut mask = vec![0f32; n * k];
            for i in 0..n {
                let y: Vec<f64> = host[i * k..(i + 1) * k].iter().map(|v| v * scale).collect();
                let tau = host_threshold(&y, map);
                for j in 0..k {
                    if y[j] > tau {
                        mask[i * k + j] = 1.0;
                    }
                }
            }
            let device = scores.device();
            let mask =
                Tensor::<2>::from_data(TensorData::new(mask, [n, k]), &device).cast(scores.dtype());
            let y = scores * scale;
            let m = mask.clone().sum_dim(1);
            let s1 = (y.clone() * mask.clone()).sum_dim(1);
            let tau = match map {
                Map::Entmax15 => {
                    let s2 = (y.clone() * y.clone() * mask.clone()).sum_dim(1);
                    let ss = s2 - s1.clone() * s1.clone() / m.clone();
                    let delta = (ss.neg() + 1.0) / m.clone();
                    s1 / m - delta.sqrt()
                }
                _ => (s1 - 1.0) / m,
            };
            let p = (y - tau).clamp_min(0.0) * mask;
            if map == Map::Entmax15 {
                p.clone() * p
            } else {
                p
            }
        }
    }
}

/// The exact threshold of one row `y` (already scaled), by sorting (f64).
pub fn host_threshold(y: &[f64], map: Map) -> f64 {
    let mut s = y.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let (mut s1, mut s2) = (0.0, 0.0);
    let mut tau = f64::NEG_INFINITY;
    for (idx, &v) in s.iter().enumerate() {
        let m = (idx + 1) as f64;
        s1 += v;
        s2 += v * v;
        let t = match map {
            Map::Entmax15 => {
                let delta = ((1.0 - (s2 - s1 * s1 / m)) / m).max(0.0);
                s1 / m - delta.sqrt()
            }
            _ => (s1 - 1.0) / m,
        };
        if t <= v {
            tau = t;
        }
    }
    tau
}
