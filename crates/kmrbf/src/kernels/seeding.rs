//! The k-means++ seeding pass: one streaming read of a row chunk per greedy step.
//!
//! Greedy k-means++ keeps, per row, `closest_i = min over chosen centers of D_i`. A step
//! draws `L` candidates, scores each by its potential `sum_i w_i min(closest_i, D_ij)`, and
//! keeps the best. Here the update of `closest` by the center chosen at the previous step is
//! deferred and fused into the next scoring pass (candidate 0, "pending"), so every step reads
//! `x` exactly once and writes nothing but `closest`; the per-chunk potentials of the winner
//! are the next step's sampling masses. Applying the pending center twice changes nothing
//! (`min(min(a, D), D) = min(a, D)` with `D` computed the same way), which lets the driver
//! bring one chunk up to date early when it samples from it.

use super::distance::sq_dist;
use super::packed::{self, MR};
use crate::real::Real;

/// Candidates of one seeding pass, `m x d`, packed for the AVX-512 kernel when it runs.
pub struct SeedCandidates<T> {
    /// `m x d` row-major candidate rows.
    rows: Vec<T>,
    /// Candidates.
    m: usize,
    /// Columns.
    d: usize,
    /// When true, candidate 0 is the center chosen at the previous step: its distances update
    /// `closest` before the others are scored.
    pending: bool,
    /// Per group of `T::LANES` candidates: `d x LANES` panel and `LANES` norms (`+inf` pad).
    groups: Vec<(Vec<T>, Vec<T>)>,
}

impl<T: Real> SeedCandidates<T> {
    /// Packs the `m x d` rows `cands`; `pending` marks row 0 as the previous step's center.
    pub fn new(cands: &[T], m: usize, d: usize, pending: bool) -> Self {
        assert_eq!(cands.len(), m * d);
        let groups = if packed::available() {
            let lanes = T::LANES;
            (0..m.div_ceil(lanes))
                .map(|g| {
                    let mut panel = vec![T::ZERO; d * lanes];
                    let mut cn = vec![T::INFINITY; lanes];
                    for j in 0..lanes.min(m - g * lanes) {
                        let row = &cands[(g * lanes + j) * d..(g * lanes + j + 1) * d];
                        for t in 0..d {
                            panel[t * lanes + j] = row[t];
                        }
                        cn[j] = super::distance::sq_norm(row);
                    }
                    (panel, cn)
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            rows: cands.to_vec(),
            m,
            d,
            pending,
            groups,
        }
    }

    /// Candidate `j` (a row of `d` values).
    pub fn row(&self, j: usize) -> &[T] {
        &self.rows[j * self.d..(j + 1) * self.d]
    }

    /// Number of candidates (including the pending one).
    pub fn len(&self) -> usize {
        self.m
    }

    /// True without candidates.
    pub fn is_empty(&self) -> bool {
        self.m == 0
    }
}

/// One seeding pass over a chunk of `b` rows (`x`: `b x d`, squared norms `xn`, optional
/// weights `w`, running `closest`, updated in place by the pending candidate):
/// `pot[j] += sum_i w_i min(closest_i, D_ij)` for the `m` candidates (`pot.len() >= m`), where
/// for the pending candidate this is the new `sum_i w_i closest_i`.
pub fn seed_rows<T: Real>(
    x: &[T],
    xn: &[T],
    w: Option<&[T]>,
    closest: &mut [T],
    cands: &SeedCandidates<T>,
    pot: &mut [f64],
) {
    let b = xn.len();
    let d = cands.d;
    assert!(x.len() == b * d && closest.len() == b && pot.len() >= cands.m);
    if cands.groups.is_empty() {
        seed_rows_portable(x, xn, w, closest, cands, pot);
    } else {
        seed_rows_packed(x, xn, w, closest, cands, pot);
    }
}

/// Portable twin: distances in the exact difference form, one fixed order per (row, candidate).
fn seed_rows_portable<T: Real>(
    x: &[T],
    _xn: &[T],
    w: Option<&[T]>,
    closest: &mut [T],
    cands: &SeedCandidates<T>,
    pot: &mut [f64],
) {
    let d = cands.d;
    let cand = |j: usize| &cands.rows[j * d..(j + 1) * d];
    for (i, cl) in closest.iter_mut().enumerate() {
        let row = &x[i * d..(i + 1) * d];
        let wi = w.map_or(1.0, |w| w[i].to_f64());
        let first = if cands.pending {
            *cl = sq_dist(row, cand(0)).min_of(*cl);
            pot[0] += wi * cl.to_f64();
            1
        } else {
            0
        };
        for j in first..cands.m {
            pot[j] += wi * sq_dist(row, cand(j)).min_of(*cl).to_f64();
        }
    }
}

/// Panels ahead that the packed kernel prefetches into L2 (the pass streams `x` once per step
/// and is bound by memory; measured on 1M x 32 f32, k = 64: 4 -> 1.33 s, 16 -> 1.09-1.15 s for
/// the whole seeding on one thread, 64 no better).
const PREFETCH_PANELS: usize = 16;

fn seed_rows_packed<T: Real>(
    x: &[T],
    xn: &[T],
    w: Option<&[T]>,
    closest: &mut [T],
    cands: &SeedCandidates<T>,
    pot: &mut [f64],
) {
    let d = cands.d;
    let b = xn.len();
    let lanes = T::LANES;
    let mut lane_pot = vec![T::ZERO; lanes];
    let mut pad = vec![T::ZERO; MR * d];
    let mut r = 0;
    while r < b {
        let rows = MR.min(b - r);
        let mut xn_p = [T::ZERO; MR];
        let mut cl_p = [T::ZERO; MR];
        let mut w_p = [T::ZERO; MR];
        for i in 0..rows {
            xn_p[i] = xn[r + i];
            cl_p[i] = closest[r + i];
            w_p[i] = w.map_or(T::ONE, |w| w[r + i]);
        }
        let xp = if rows == MR {
            x[r * d..].as_ptr()
        } else {
            pad.fill(T::ZERO);
            pad[..rows * d].copy_from_slice(&x[r * d..]);
            pad.as_ptr()
        };
        let prefetch = (x.as_ptr() as *const i8)
            .wrapping_add((r + PREFETCH_PANELS * MR) * d * std::mem::size_of::<T>());
        for (g, (panel, cn)) in cands.groups.iter().enumerate() {
            lane_pot.fill(T::ZERO);
            // SAFETY: `xp` holds MR rows of `d` values; the panel holds `d * LANES` values and
            // `cn` LANES; AVX-512 was checked when the candidates were packed. The prefetch
            // pointer is only a hint (it may point past the data).
            unsafe {
                T::seed_panel(
                    xp,
                    d,
                    &xn_p,
                    &mut cl_p,
                    &w_p,
                    panel.as_ptr(),
                    cn.as_ptr(),
                    cands.pending && g == 0,
                    prefetch,
                    &mut lane_pot,
                )
            };
            for j in 0..lanes.min(cands.m - g * lanes) {
                pot[g * lanes + j] += lane_pot[j].to_f64();
            }
        }
        closest[r..r + rows].copy_from_slice(&cl_p[..rows]);
        r += rows;
    }
}
