//! Lloyd's algorithm on the fused kernel: one GEMM-blocked pass per iteration assigns every
//! row and accumulates the per-cluster sums while the tile is in cache.

use super::step::{end_of_iteration, inertia, update_centers, IterInfo, RunResult, Stop};
use crate::data::Prepared;
use crate::kernels::assign::amx::{self, argmin_rows_amx, AmxCenters, AmxScratch, AmxSums};
use crate::kernels::assign::argmin::argmin_rows;
use crate::kernels::assign::lowdim::{self, argmin_rows_lowd};
use crate::kernels::assign::packed::{self, argmin_rows_packed};
use crate::kernels::assign::packing::Packed;
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::row_sq_norms;
use crate::kernels::layout::tiles::{fold_tiles, Blocking};
use crate::kernels::update::{accumulate_hard, ClusterSums, TileSums};
use crate::real::Real;
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;

/// Bytes of packed centers one range may take: a range stays in L2 while every row panel of
/// a tile passes, instead of all `k x d` centers streaming from L3 for each panel of 8 rows.
const RANGE_BYTES: usize = 512 << 10;

/// Bytes of rows one piece of the ranged pre-pass holds: beside a range of centers they stay in
/// L2 while every range passes over them, so each range is read from L3 once per piece
/// instead of once per tile (tiles hold as few as 16 rows when `k` is large).
const PIECE_BYTES: usize = 512 << 10;

/// `labels[i] = argmin_j D_ij` over centers packed in `ranges` (rows `x`, `labels.len()` of
/// them; `best` their minima of `cn_j - 2 <x_i, c_j>`; `lab2` / `best2` scratch of the same
/// length). Ranges are combined in index order with a strict `<`: the lowest index on ties,
/// the bits of one pass over all centers.
fn argmin_ranges<T: Real>(
    isa: Isa,
    x: &[T],
    ranges: &[(usize, Packed<T>)],
    labels: &mut [u32],
    best: &mut [T],
    lab2: &mut [u32],
    best2: &mut [T],
) {
    argmin_rows_packed(isa, x, &ranges[0].1, labels, best);
    for (j0, pk) in &ranges[1..] {
        argmin_rows_packed(isa, x, pk, lab2, best2);
        for i in 0..labels.len() {
            if best2[i] < best[i] {
                best[i] = best2[i];
                labels[i] = lab2[i] + *j0 as u32;
            }
        }
    }
}

/// Labels every row before the M-step, in parallel pieces of `piece` rows:
/// `label(scratch, r0, lab)` writes the labels of rows `r0..r0 + lab.len()` (one `scratch`
/// per worker). Returns how many labels differ from those `labels` held on entry. Labels are
/// per row, so the pieces need not be the M-step's chunks.
fn label_pieces<S>(
    labels: &mut [u32],
    piece: usize,
    scratch: impl Fn() -> S + Sync + Send,
    label: impl Fn(&mut S, usize, &mut [u32]) + Sync + Send,
) -> usize {
    labels
        .par_chunks_mut(piece)
        .enumerate()
        .map_init(
            || (scratch(), Vec::with_capacity(piece)),
            |(s, prev), (ci, lab)| {
                prev.clear();
                prev.extend_from_slice(lab);
                label(s, ci * piece, lab);
                prev.iter().zip(lab.iter()).filter(|(u, v)| u != v).count()
            },
        )
        .sum()
}

/// The centers packed for the register kernels, in ranges of at most [`RANGE_BYTES`] (one
/// range when all fit): `(first center, packed range)`. Each range's argmin is the same FMA
/// chain per distance; combining ranges in order with a strict `<` keeps the lowest index on
/// ties, so the labels and minima are the bits of one pass over all centers.
fn pack_ranges<T: Real>(
    isa: Isa,
    centers: &[T],
    cn: &[T],
    k: usize,
    d: usize,
) -> Vec<(usize, Packed<T>)> {
    let nb = packed::argmin_block::<T>(isa, k);
    let per = (RANGE_BYTES / (d.max(1) * std::mem::size_of::<T>())) / nb * nb;
    let size = per.max(nb);
    let mut out = Vec::new();
    let mut j0 = 0;
    while j0 < k {
        let mut j1 = (j0 + size).min(k);
        // A last range that small would take the one-register kernel: merge it.
        if k - j1 <= nb / 2 {
            j1 = k;
        }
        let kr = j1 - j0;
        out.push((
            j0,
            Packed::new(
                &centers[j0 * d..j1 * d],
                &cn[j0..j1],
                kr,
                d,
                packed::argmin_block::<T>(isa, kr),
            ),
        ));
        j0 = j1;
    }
    out
}

/// One fused pass: `labels[i] = argmin_j D_ij` and, when `accumulate`, the cluster sums.
pub fn assign_pass<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    labels: &mut [u32],
    accumulate: bool,
    blocking: Blocking,
) -> Option<ClusterSums> {
    let mut total = ClusterSums::zeros(if accumulate { k } else { 0 }, p.d);
    assign_pass_into(p, centers, k, labels, accumulate, blocking, &mut total);
    accumulate.then_some(total)
}

/// [`assign_pass`] that adds the cluster sums of its chunks, in order, to `total` (so a stream
/// of blocks whose sizes are multiples of `blocking.chunk_rows` adds exactly what one pass over
/// all rows adds, in the same order: the same bits), and returns the number of rows whose
/// label differs from the one `labels` held on entry (so a caller needs no second label
/// array to see whether the labels changed).
pub fn assign_pass_into<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    labels: &mut [u32],
    accumulate: bool,
    blocking: Blocking,
    total: &mut ClusterSums,
) -> usize {
    let d = p.d;
    let mut cn = vec![T::ZERO; k];
    row_sq_norms(centers, d, &mut cn);
    let tr = blocking.tile_rows;
    // Low dimension: rows in lanes (same labels as the packed kernels).
    let isa = p.isa;
    let lowd = lowdim::prefer(isa, d, k);
    let packed =
        (!lowd && packed::argmin_available(isa, k)).then(|| pack_ranges(isa, centers, &cn, k, d));
    // f32 on a CPU with AMX, from 25 columns: tile screening, same labels as the register
    // kernel.
    let tiles = match (isa.amx(), amx::as_f32(centers), amx::as_f32(&cn)) {
        (true, Some(c), Some(cn)) if !lowd && d >= amx::MIN_D => {
            Some(AmxCenters::new(c, cn, k, d)).filter(|a| a.in_range())
        }
        _ => None,
    };
    // Centers past L2: the tiles label whole chunks in the grouped order first (the M-step
    // then sums each tile as the other kernels do).
    let prelabeled = tiles.as_ref().filter(|a| a.grouped()).and_then(|a| {
        let x = amx::as_f32(p.x)?;
        let xn = amx::as_f32(p.xn)?;
        xn.iter().all(|&v| v <= amx::MAX_SQ_NORM).then(|| {
            // Labels are per row, so their pieces need not be the M-step's chunks: pieces of
            // 1024 rows keep every thread busy (a few chunks of 8192 left one idle).
            label_pieces(labels, 1024, AmxScratch::default, |scratch, r0, lab| {
                let b = lab.len();
                let (xc, xnc) = (&x[r0 * d..(r0 + b) * d], &xn[r0..r0 + b]);
                argmin_rows_amx(isa, xc, xnc, a, lab, None, scratch);
            })
        })
    });
    // Centers in several ranges on the register kernels: pieces of rows that fit L2 beside a
    // range are labelled first, range after range (the same labels: each row's minimum is
    // the same FMA chains combined in the same order), and the M-step sums each tile.
    let prelabeled = prelabeled.or_else(|| {
        let ranges = packed
            .as_ref()
            .filter(|r| r.len() > 1 && tiles.is_none() && !lowd)?;
        let piece = ((PIECE_BYTES / (d * std::mem::size_of::<T>())).clamp(16, 1024) / 8) * 8;
        let scratch = || {
            (
                vec![T::ZERO; piece],
                vec![0u32; piece],
                vec![T::ZERO; piece],
            )
        };
        Some(label_pieces(
            labels,
            piece,
            scratch,
            |(best, lab2, best2), r0, lab| {
                let b = lab.len();
                let x = &p.x[r0 * d..(r0 + b) * d];
                let (best, lab2, best2) = (&mut best[..b], &mut lab2[..b], &mut best2[..b]);
                argmin_ranges(isa, x, ranges, lab, best, lab2, best2);
            },
        ))
    });
    let mut parts = fold_tiles(
        p.against(centers, k),
        labels,
        1,
        blocking,
        packed.is_none() && !lowd,
        || {
            (
                ClusterSums::zeros(if accumulate { k } else { 0 }, d),
                TileSums::<T>::hard(isa, if accumulate { k } else { 0 }, d),
                (
                    vec![T::ZERO; tr],
                    AmxScratch::default(),
                    (vec![0u32; tr], vec![T::ZERO; tr]),
                ),
                (vec![0u32; tr], 0usize),
            )
        },
        |(acc, tile_acc, (best, scratch, (lab2, best2)), (prev, changed)), t, lab| {
            let b = t.rows();
            if prelabeled.is_some() {
                if accumulate {
                    accumulate_hard(isa, t.x, d, t.w, lab, tile_acc);
                    tile_acc.tile_done(b, acc);
                }
                return;
            }
            prev[..b].copy_from_slice(lab);
            let on_tiles = tiles.as_ref().and_then(|a| {
                let x = amx::as_f32(t.x)?;
                let xn = amx::as_f32(t.xn)?;
                xn.iter()
                    .all(|&v| v <= amx::MAX_SQ_NORM)
                    .then_some((a, x, xn))
            });
            let mut summed = false;
            match (on_tiles, &packed) {
                (Some((a, x, xn)), _) => {
                    // The M-step sums ride along while the rows are in L1.
                    let sums = match (accumulate, amx::as_f32_mut(&mut tile_acc.sums)) {
                        (true, Some(sums)) => Some(AmxSums {
                            sums,
                            weight: &mut tile_acc.weight,
                            w: t.w.and_then(amx::as_f32),
                        }),
                        _ => None,
                    };
                    summed = sums.is_some();
                    argmin_rows_amx(isa, x, xn, a, lab, sums, scratch)
                }
                (None, _) if lowd => {
                    argmin_rows_lowd(isa, t.x, d, centers, &cn, lab, &mut best[..b])
                }
                (None, Some(ranges)) if ranges.len() == 1 => {
                    argmin_rows_packed(isa, t.x, &ranges[0].1, lab, &mut best[..b])
                }
                (None, Some(ranges)) => argmin_ranges(
                    isa,
                    t.x,
                    ranges,
                    lab,
                    &mut best[..b],
                    &mut lab2[..b],
                    &mut best2[..b],
                ),
                (None, None) => argmin_rows(isa, t.cross, k, &cn, lab, &mut best[..b]),
            }
            *changed += prev[..b]
                .iter()
                .zip(lab.iter())
                .filter(|(a, b)| a != b)
                .count();
            if accumulate {
                if !summed {
                    accumulate_hard(isa, t.x, d, t.w, lab, tile_acc);
                }
                tile_acc.tile_done(b, acc);
            }
        },
    );
    let changed = prelabeled.unwrap_or_else(|| parts.iter().map(|(_, _, _, (_, c))| c).sum());
    if accumulate {
        for (part, tile_acc, _, _) in &mut parts {
            tile_acc.flush_into(part);
            total.merge(part);
        }
    }
    changed
}

/// Labels of the rows of `p` against `centers` (`k x d`).
pub fn assign_labels<T: Real>(p: &Prepared<'_, T>, centers: &[T], k: usize) -> Vec<u32> {
    let mut labels = vec![0u32; p.n()];
    assign_pass(p, centers, k, &mut labels, false, Blocking::of::<T>(k));
    labels
}

/// One restart of Lloyd from `init` (`k x d`), scikit-learn's stopping rules:
/// labels unchanged, or `sum_k ||dc_k||^2 <= tol_abs`, or `max_iter` iterations. `stop`, when
/// set (checked after every iteration), ends the run early with `interrupted` set.
pub fn lloyd_run<T: Real>(
    p: &Prepared<'_, T>,
    init: &[T],
    k: usize,
    max_iter: usize,
    tol_abs: f64,
    observer: &(dyn Fn(IterInfo) + Sync),
    stop: Option<&AtomicBool>,
) -> RunResult<T> {
    let n = p.n();
    let blocking = Blocking::of::<T>(k);
    let mut centers = init.to_vec();
    let mut new_centers = init.to_vec();
    // One label array: the pass counts the rows whose label changed as it writes them.
    let mut labels = crate::memory::vec_filled(n, u32::MAX);
    let mut strict = false;
    let mut interrupted = false;
    let mut n_iter = 0;
    for it in 0..max_iter {
        n_iter = it + 1;
        let mut sums = ClusterSums::zeros(k, p.d);
        let changed = assign_pass_into(p, &centers, k, &mut labels, true, blocking, &mut sums);
        let (shift, relocated) = update_centers(p, &labels, &centers, sums, &mut new_centers);
        std::mem::swap(&mut centers, &mut new_centers);
        let info = IterInfo {
            iter: n_iter,
            center_shift: shift,
            relocated,
        };
        if let Some(why) = end_of_iteration(observer, info, changed != 0, tol_abs, stop) {
            strict = why == Stop::Strict;
            interrupted = why == Stop::Interrupted;
            break;
        }
    }
    if !strict {
        assign_pass(p, &centers, k, &mut labels, false, blocking);
    }
    let inertia = inertia(p, &labels, &centers, blocking.chunk_rows);
    RunResult {
        centers,
        labels,
        inertia,
        n_iter,
        strict_convergence: strict,
        interrupted,
    }
}
