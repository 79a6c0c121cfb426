//! Hamerly's accelerated Lloyd: one upper and one lower distance bound per row skip most
//! distance computations. Same assignments as Lloyd, hence the same centers; the sums are
//! accumulated over the same chunks in the same order, so they match Lloyd bit for bit
//! whenever the labels do.

use super::step::{
    cluster_sums, end_of_iteration, inertia, update_centers, IterInfo, RunResult, Stop,
};
use crate::data::Prepared;
use crate::kernels::assign::argmin::top2;
use crate::kernels::layout::distance::{row_sq_norms, sq_dist};
use crate::kernels::layout::tiles::{fold_tiles, Blocking};
use crate::real::Real;
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;

/// Exact nearest and second-nearest distance of every row (first pass), by the fused kernel.
/// Labels follow the same expression and tie rule as the Lloyd epilogue.
fn init_bounds<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    blocking: Blocking,
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
) {
    let mut cn = vec![T::ZERO; k];
    row_sq_norms(centers, p.d, &mut cn);
    let mut out = vec![(0u32, 0.0f64, 0.0f64); p.n()];
    fold_tiles(
        p.against(centers, k),
        &mut out,
        1,
        blocking,
        true,
        || (),
        |_, t, o| {
            for i in 0..t.rows() {
                let row = &t.cross[i * k..(i + 1) * k];
                let (b1, v1, v2) = top2(k, |j| row[j] + cn[j]);
                let to_dist = |v: T| (t.xn[i] + v).max_of(T::ZERO).to_f64().sqrt();
                o[i] = (
                    b1 as u32,
                    to_dist(v1),
                    if k > 1 { to_dist(v2) } else { f64::INFINITY },
                );
            }
        },
    );
    for (i, (l, u, lo)) in out.into_iter().enumerate() {
        labels[i] = l;
        upper[i] = u;
        lower[i] = lo;
    }
}

/// One restart of Hamerly's algorithm from `init`; stopping rules as Lloyd's `lloyd_run`.
pub fn hamerly_run<T: Real>(
    p: &Prepared<'_, T>,
    init: &[T],
    k: usize,
    max_iter: usize,
    tol_abs: f64,
    observer: &(dyn Fn(IterInfo) + Sync),
    stop: Option<&AtomicBool>,
) -> RunResult<T> {
    let n = p.n();
    let d = p.d;
    let blocking = Blocking::of::<T>(k);
    let cr = blocking.chunk_rows;
    let mut centers = init.to_vec();
    let mut new_centers = init.to_vec();
    let mut labels = vec![0u32; n];
    let mut labels_old = vec![u32::MAX; n];
    let mut upper = vec![0.0f64; n];
    let mut lower = vec![0.0f64; n];
    let mut half_sep = vec![0.0f64; k];
    let mut strict = false;
    let mut interrupted = false;
    let mut n_iter = 0;
    for it in 0..max_iter {
        n_iter = it + 1;
        if it == 0 {
            init_bounds(
                p,
                &centers,
                k,
                blocking,
                &mut labels,
                &mut upper,
                &mut lower,
            );
        } else {
            // s_c = half the distance from c to its nearest other center.
            for c in 0..k {
                let cc = &centers[c * d..(c + 1) * d];
                let mut m = f64::INFINITY;
                for o in 0..k {
                    if o != c {
                        m = m.min(sq_dist(cc, &centers[o * d..(o + 1) * d]).to_f64());
                    }
                }
                half_sep[c] = 0.5 * m.sqrt();
            }
            let centers_ref = &centers;
            let half_ref = &half_sep;
            labels
                .par_chunks_mut(cr)
                .zip(upper.par_chunks_mut(cr))
                .zip(lower.par_chunks_mut(cr))
                .enumerate()
                .for_each(|(ci, ((lc, uc), loc))| {
                    for j in 0..lc.len() {
                        let i = ci * cr + j;
                        let a = lc[j] as usize;
                        let m = half_ref[a].max(loc[j]);
                        if uc[j] <= m {
                            continue;
                        }
                        let x = p.row(i);
                        uc[j] = sq_dist(x, &centers_ref[a * d..(a + 1) * d]).to_f64().sqrt();
                        if uc[j] <= m {
                            continue;
                        }
                        let (b1, v1, v2) =
                            top2(k, |c| sq_dist(x, &centers_ref[c * d..(c + 1) * d]).to_f64());
                        lc[j] = b1 as u32;
                        uc[j] = v1.sqrt();
                        loc[j] = v2.sqrt();
                    }
                });
        }
        let sums = cluster_sums(p, &labels, k, blocking);
        let (shift, relocated) = update_centers(p, &labels, &centers, sums, &mut new_centers);
        // Bounds follow the centers' moves.
        let moves: Vec<f64> = (0..k)
            .map(|c| {
                sq_dist(
                    &centers[c * d..(c + 1) * d],
                    &new_centers[c * d..(c + 1) * d],
                )
                .to_f64()
                .sqrt()
            })
            .collect();
        let (mut r1, mut r2) = (0usize, f64::NEG_INFINITY);
        for c in 1..k {
            if moves[c] > moves[r1] {
                r1 = c;
            }
        }
        for (c, &m) in moves.iter().enumerate() {
            if c != r1 && m > r2 {
                r2 = m;
            }
        }
        let r2 = r2.max(0.0);
        let max_move = moves[r1];
        upper
            .par_iter_mut()
            .zip(lower.par_iter_mut())
            .zip(labels.par_iter())
            .for_each(|((u, lo), &l)| {
                *u += moves[l as usize];
                *lo -= if l as usize == r1 { r2 } else { max_move };
            });
        std::mem::swap(&mut centers, &mut new_centers);
        let info = IterInfo {
            iter: n_iter,
            center_shift: shift,
            relocated,
        };
        if let Some(why) = end_of_iteration(observer, info, labels != labels_old, tol_abs, stop) {
            strict = why == Stop::Strict;
            interrupted = why == Stop::Interrupted;
            break;
        }
        labels_old.copy_from_slice(&labels);
    }
    if !strict {
        labels = super::lloyd::assign_labels(p, &centers, k);
    }
    let inertia = inertia(p, &labels, &centers, cr);
    RunResult {
        centers,
        labels,
        inertia,
        n_iter,
        strict_convergence: strict,
        interrupted,
    }
}
