//! Weighted per-cluster sums: the M-step of Lloyd, accumulated in f64.

use super::dispatch::simd_dispatch;
use crate::real::Real;

/// Per-cluster sufficient statistics: `sums` is `k x d` (`sum_i w_i x_i` over the cluster),
/// `weight` is `k` (`sum_i w_i`). Always f64, whatever the data type.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSums {
    /// `k x d` weighted coordinate sums.
    pub sums: Vec<f64>,
    /// `k` total weights.
    pub weight: Vec<f64>,
    /// Columns.
    pub d: usize,
}

impl ClusterSums {
    /// Zeroed statistics for `k` clusters in `d` columns.
    pub fn zeros(k: usize, d: usize) -> Self {
        Self {
            sums: vec![0.0; k * d],
            weight: vec![0.0; k],
            d,
        }
    }

    /// Adds `other` (same shape) into `self`: the merge of two shards.
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += *b;
        }
        for (a, b) in self.weight.iter_mut().zip(&other.weight) {
            *a += *b;
        }
    }

    /// Merges a sequence of partials in order (deterministic).
    pub fn merge_all(k: usize, d: usize, parts: &[Self]) -> Self {
        let mut total = Self::zeros(k, d);
        for p in parts {
            total.merge(p);
        }
        total
    }
}

simd_dispatch! {
    /// Adds each row of the `b x d` tile `x` (weight `w[i]`, or 1) to the sums of its label.
    pub fn accumulate_hard<T: Real>(x: &[T], w: Option<&[T]>, labels: &[u32], acc: &mut ClusterSums) => accumulate_hard_body
}

#[inline(always)]
fn accumulate_hard_body<T: Real>(x: &[T], w: Option<&[T]>, labels: &[u32], acc: &mut ClusterSums) {
    let d = acc.d;
    if d == 0 {
        for (i, &l) in labels.iter().enumerate() {
            acc.weight[l as usize] += w.map_or(1.0, |w| w[i].to_f64());
        }
        return;
    }
    for (i, (row, &l)) in x.chunks_exact(d).zip(labels).enumerate() {
        let l = l as usize;
        let s = &mut acc.sums[l * d..(l + 1) * d];
        match w {
            None => {
                for (a, &v) in s.iter_mut().zip(row) {
                    *a += v.to_f64();
                }
                acc.weight[l] += 1.0;
            }
            Some(w) => {
                let wi = w[i].to_f64();
                for (a, &v) in s.iter_mut().zip(row) {
                    *a += wi * v.to_f64();
                }
                acc.weight[l] += wi;
            }
        }
    }
}
