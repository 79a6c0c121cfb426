//! Weighted per-cluster sums: the M-step of Lloyd, accumulated in f64.

use crate::kernels::dispatch::simd_dispatch;
use crate::kernels::isa::Isa;
use crate::kernels::layout::aligned::{Aligned, Plain};
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
}

/// Per-tile sums in the data's own precision, folded into [`ClusterSums`] (f64) once at
/// least [`TileSums::FLUSH_ROWS`] rows have gone in (and at the end of a chunk): the hot
/// per-row loop is one vector add in `T`, rounding in `T` spans fewer than
/// `FLUSH_ROWS + tile_rows` rows, and the `k x d` flush is amortized even when tiles are
/// short (many centers).
#[derive(Clone, Debug)]
pub struct TileSums<T: Plain> {
    /// `k x d` sums since the last flush (cache-line aligned: rows are updated by vectors).
    pub sums: Aligned<T>,
    /// `k` weights since the last flush (f64: exact for counts).
    pub weight: Vec<f64>,
    /// Rows added since the last flush.
    pub rows: usize,
    /// The tier the flushes run on.
    pub isa: Isa,
    /// Row weights are never negative (see [`TileSums::hard`]): a flush skips the clusters
    /// with zero weight since the last one.
    nonnegative: bool,
}

impl<T: Real> TileSums<T> {
    /// Zeroed tile sums, flushed on tier `isa`, for any signed row weights.
    pub fn zeros(isa: Isa, k: usize, d: usize) -> Self {
        Self {
            sums: Aligned::zeroed(k * d),
            weight: vec![0.0; k],
            rows: 0,
            isa,
            nonnegative: false,
        }
    }

    /// Zeroed tile sums for rows whose weights are never negative (the hard M-step: counts, or
    /// validated sample weights). A cluster that gained zero weight since the last flush then
    /// holds only `+-0` sums, and adding those to the f64 sums (which start at `+0` and so
    /// never become `-0`) changes no bit: the flush skips it. With many centers and few rows
    /// per flush that is most of the `k x d` flush.
    pub fn hard(isa: Isa, k: usize, d: usize) -> Self {
        Self {
            nonnegative: true,
            ..Self::zeros(isa, k, d)
        }
    }

    /// Rows between flushes (at least; a flush happens after the tile that reaches it).
    pub const FLUSH_ROWS: usize = 1024;

    /// Adds the sums into `acc` (f64) and zeroes them.
    pub fn flush_into(&mut self, acc: &mut ClusterSums) {
        debug_assert!(!self.nonnegative || self.weight.iter().all(|&w| w >= 0.0));
        let skip = self.nonnegative && acc.d > 0;
        flush_tile(self.isa, &mut self.sums, &mut self.weight, acc, skip);
        self.rows = 0;
    }

    /// Records `rows` more rows (one tile) and flushes once [`Self::FLUSH_ROWS`] are in.
    /// Every caller that must agree bit for bit (Lloyd's fused pass, `cluster_sums`) calls
    /// this after each tile and [`Self::flush_into`] at the end of the chunk.
    pub fn tile_done(&mut self, rows: usize, acc: &mut ClusterSums) {
        self.rows += rows;
        if self.rows >= Self::FLUSH_ROWS {
            self.flush_into(acc);
        }
    }
}

simd_dispatch! {
    /// `acc += (sums, weight)` in f64, then zeroes `sums` and `weight` (one tile's flush);
    /// with `skip_empty` (`d > 0`), clusters of zero weight are left as they are.
    fn flush_tile<T: Real>(sums: &mut [T], weight: &mut [f64], acc: &mut ClusterSums, skip_empty: bool) => flush_tile_body
}

#[inline(always)]
fn flush_tile_body<T: Real>(
    sums: &mut [T],
    weight: &mut [f64],
    acc: &mut ClusterSums,
    skip_empty: bool,
) {
    if skip_empty {
        let d = acc.d;
        for (c, w) in weight.iter_mut().enumerate() {
            if *w == 0.0 {
                continue;
            }
            acc.weight[c] += *w;
            *w = 0.0;
            let rows = acc.sums[c * d..(c + 1) * d].iter_mut();
            for (a, s) in rows.zip(sums[c * d..(c + 1) * d].iter_mut()) {
                *a += s.to_f64();
                *s = T::ZERO;
            }
        }
        return;
    }
    for (a, s) in acc.sums.iter_mut().zip(sums.iter_mut()) {
        *a += s.to_f64();
        *s = T::ZERO;
    }
    for (a, s) in acc.weight.iter_mut().zip(weight.iter_mut()) {
        *a += *s;
        *s = 0.0;
    }
}

simd_dispatch! {
    /// Adds each row of the `b x d` tile `x` (weight `w[i]`, or 1) to the tile sums of its label.
    pub fn accumulate_hard<T: Real>(x: &[T], d: usize, w: Option<&[T]>, labels: &[u32], acc: &mut TileSums<T>) => accumulate_hard_body
}

#[inline(always)]
fn accumulate_hard_body<T: Real>(
    x: &[T],
    d: usize,
    w: Option<&[T]>,
    labels: &[u32],
    acc: &mut TileSums<T>,
) {
    match w {
        None => {
            for &l in labels {
                acc.weight[l as usize] += 1.0;
            }
            if d == 0 {
                return;
            }
            for (row, &l) in x.chunks_exact(d).zip(labels) {
                let l = l as usize;
                for (a, &v) in acc.sums[l * d..(l + 1) * d].iter_mut().zip(row) {
                    *a += v;
                }
            }
        }
        Some(w) => {
            for (&l, &wi) in labels.iter().zip(w) {
                acc.weight[l as usize] += wi.to_f64();
            }
            if d == 0 {
                return;
            }
            for ((row, &l), &wi) in x.chunks_exact(d).zip(labels).zip(w) {
                let l = l as usize;
                for (a, &v) in acc.sums[l * d..(l + 1) * d].iter_mut().zip(row) {
                    *a += wi * v;
                }
            }
        }
    }
}
