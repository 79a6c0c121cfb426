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

use crate::kernels::assign::packed;
use crate::kernels::assign::packing::{AVX512_MR as MR, PAIR_MR};
use crate::kernels::dispatch::simd_dispatch;
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::sq_dist;
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
    /// Empty when `isa` has no packed kernel.
    groups: Vec<(Vec<T>, Vec<T>)>,
    /// The tier the pass runs on.
    isa: Isa,
}

impl<T: Real> SeedCandidates<T> {
    /// Packs the `m x d` rows `cands` for the kernels of `isa`; `pending` marks row 0 as the
    /// previous step's center.
    pub fn new(isa: Isa, cands: &[T], m: usize, d: usize, pending: bool) -> Self {
        assert_eq!(cands.len(), m * d);
        let groups = if packed::dist_available(isa) {
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
                        cn[j] = crate::kernels::layout::distance::sq_norm(row);
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
            isa,
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
        debug_assert!(rows < MR || (r + MR) * d <= x.len());
        for (g, (panel, cn)) in cands.groups.iter().enumerate() {
            debug_assert!(panel.len() >= d * lanes && cn.len() >= lanes);
            debug_assert!(lane_pot.len() >= lanes);
            lane_pot.fill(T::ZERO);
            // SAFETY: `xp` holds MR rows of `d` values; the panel holds `d * LANES` values and
            // `cn` LANES; the groups exist only for a tier with AVX2 or wider. The prefetch
            // pointer is only a hint (it may point past the data).
            unsafe {
                T::seed_panel(
                    cands.isa,
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

/// Rows of [`seed_rows_pair`] summed in the data's precision before going into f64 (a
/// multiple of both panel heights).
const PAIR_FLUSH_ROWS: usize = 64;

/// Candidates of a two-step seeding pass (see [`crate::init::kmeans_plus_plus`]): `np`
/// pending centers (applied to `closest` first), the `nt` trials `T` of step `s`, then the
/// distinct rows `U` that step `s + 1` may try, packed one after the other in register groups
/// (usually one: 2 + 6 + ~6 lanes for k = 64).
pub struct PairCandidates<T> {
    cands: SeedCandidates<T>,
    np: usize,
    nt: usize,
    /// Candidates rounded up to whole groups.
    width: usize,
}

impl<T: Real> PairCandidates<T> {
    /// Packs `pending` (`np x d`), `trials` (`nt x d`) and `u` (`nu x d`), row-major, for the
    /// kernels of `isa`.
    pub fn new(isa: Isa, pending: &[T], trials: &[T], u: &[T], d: usize) -> Self {
        let (np, nt, nu) = (pending.len() / d, trials.len() / d, u.len() / d);
        let m = np + nt + nu;
        let width = m.div_ceil(T::LANES) * T::LANES;
        let mut rows = Vec::with_capacity(width * d);
        rows.extend_from_slice(pending);
        rows.extend_from_slice(trials);
        rows.extend_from_slice(u);
        rows.resize(width * d, T::ZERO);
        Self {
            cands: SeedCandidates::new(isa, &rows, width, d, false),
            np,
            nt,
            width,
        }
    }

    /// Length of the `pot2` rows of [`seed_rows_pair`].
    pub fn width(&self) -> usize {
        self.width
    }

    /// Index in `pot2` of trial `t` followed by the `u`-th row of `U`.
    pub fn at(&self, t: usize, u: usize) -> usize {
        t * self.width + self.np + self.nt + u
    }
}

/// One two-step seeding pass over a chunk of `b` rows (as [`seed_rows`]): `closest` takes the
/// pending centers, then with `m_it = min(closest_i, D(x_i, T_t))`,
/// `pot[t] += sum_i w_i m_it` (`nt` values) and
/// `pot2[t * width + j] += sum_i w_i min(m_it, D(x_i, cand_j))` for the `U` rows `j` (at
/// [`PairCandidates::at`]; the pending and trial columns are left as they are), summed as
/// `sum_i w_i min(closest_i, D_ij)` plus, over the few rows where `T_t` beats `closest_i`,
/// `w_i (min(D_it, D_ij) - min(closest_i, D_ij))`.
/// Distances have the bits of [`seed_rows`]'s, so applying a pending center here and in
/// [`seed_rows`] agrees.
pub fn seed_rows_pair<T: Real>(
    x: &[T],
    xn: &[T],
    w: Option<&[T]>,
    closest: &mut [T],
    pc: &PairCandidates<T>,
    pot: &mut [f64],
    pot2: &mut [f64],
) {
    let b = xn.len();
    let d = pc.cands.d;
    let (lanes, width) = (T::LANES, pc.width);
    assert!(x.len() == b * d && closest.len() == b);
    assert!(pot.len() >= pc.nt && pot2.len() >= pc.nt * width);
    let groups = width / lanes;
    // Distances of an MR-row panel: dbuf[(g * MR + r) * lanes + l] = D(row r, cand g lanes + l).
    let mut dbuf = vec![T::ZERO; groups * MR * lanes];
    let mut acc1 = vec![T::ZERO; width];
    let mut acc2 = vec![T::ZERO; pc.nt * width];
    let mut pad = vec![T::ZERO; PAIR_MR * d];
    let packed = !pc.cands.groups.is_empty();
    // The fused kernel (AVX-512): every candidate in one register group, at most two pending
    // centers. On AVX2 the distance panels and the portable epilogue below.
    let isa = pc.cands.isa;
    let fused = packed && isa.avx512() && groups == 1 && pc.np <= 2;
    let mut r = 0;
    while r < b {
        let rows = if fused { PAIR_MR } else { MR }.min(b - r);
        if fused {
            // Everything in one register group: the fused kernel. Full panels go in place
            // (small copies become library calls that cost as much as the panel's work).
            let ones = [T::ONE; PAIR_MR];
            let ahead = (x.as_ptr() as *const i8)
                .wrapping_add((r + PREFETCH_PANELS * MR) * d * std::mem::size_of::<T>());
            let (panel, cn) = &pc.cands.groups[0];
            debug_assert!(panel.len() >= d * lanes && cn.len() >= lanes);
            debug_assert!(acc1.len() >= lanes && acc2.len() >= pc.nt * lanes);
            debug_assert!(pc.np + pc.nt <= lanes && pc.np <= 2);
            debug_assert!(rows < PAIR_MR || (r + PAIR_MR) * d <= x.len());
            let run = |xp: *const T,
                       xn_p: &[T; PAIR_MR],
                       cl_p: &mut [T; PAIR_MR],
                       w_p: &[T; PAIR_MR],
                       a1: &mut [T],
                       a2: &mut [T]| {
                // SAFETY: `xp` holds PAIR_MR rows of `d` values, the panel `d * LANES`, `cn` LANES,
                // `acc1` LANES (= width), `acc2` nt * LANES; np + nt <= LANES (one group), np <= 2;
                // `isa` has AVX-512 (`fused`).
                unsafe {
                    T::pair_panel(
                        xp,
                        d,
                        xn_p,
                        cl_p,
                        w_p,
                        panel.as_ptr(),
                        cn.as_ptr(),
                        pc.np,
                        pc.nt,
                        ahead,
                        a1.as_mut_ptr(),
                        a2.as_mut_ptr(),
                    )
                }
            };
            if rows == PAIR_MR {
                let xn_p: &[T; PAIR_MR] = xn[r..r + PAIR_MR].try_into().expect("PAIR_MR values");
                let w_p: &[T; PAIR_MR] = match w {
                    Some(w) => w[r..r + PAIR_MR].try_into().expect("PAIR_MR values"),
                    None => &ones,
                };
                let cl_p: &mut [T; PAIR_MR] = (&mut closest[r..r + PAIR_MR])
                    .try_into()
                    .expect("PAIR_MR values");
                run(x[r * d..].as_ptr(), xn_p, cl_p, w_p, &mut acc1, &mut acc2);
            } else {
                // The tail: padded rows have weight 0.
                let mut xn_p = [T::ZERO; PAIR_MR];
                let mut cl_p = [T::ZERO; PAIR_MR];
                let mut w_p = [T::ZERO; PAIR_MR];
                for i in 0..rows {
                    xn_p[i] = xn[r + i];
                    cl_p[i] = closest[r + i];
                    w_p[i] = w.map_or(T::ONE, |w| w[r + i]);
                }
                pad.fill(T::ZERO);
                pad[..rows * d].copy_from_slice(&x[r * d..(r + rows) * d]);
                run(pad.as_ptr(), &xn_p, &mut cl_p, &w_p, &mut acc1, &mut acc2);
                closest[r..r + rows].copy_from_slice(&cl_p[..rows]);
            }
        } else if packed {
            let mut xn_p = [T::ZERO; MR];
            xn_p[..rows].copy_from_slice(&xn[r..r + rows]);
            let xp = if rows == MR {
                x[r * d..].as_ptr()
            } else {
                pad[..MR * d].fill(T::ZERO);
                pad[..rows * d].copy_from_slice(&x[r * d..(r + rows) * d]);
                pad.as_ptr()
            };
            let ahead = (x.as_ptr() as *const i8)
                .wrapping_add((r + PREFETCH_PANELS * MR) * d * std::mem::size_of::<T>());
            debug_assert!(rows < MR || (r + MR) * d <= x.len());
            for (g, (panel, cn)) in pc.cands.groups.iter().enumerate() {
                debug_assert!(panel.len() >= d * lanes && cn.len() >= lanes);
                debug_assert!(dbuf.len() >= (g + 1) * MR * lanes);
                // SAFETY: `xp` holds MR rows of `d` values, the panel `d * LANES`, `cn` LANES,
                // the destination MR * LANES; the groups exist only for a tier with AVX2 or
                // wider. The prefetch pointer is only a hint (it may point past the data).
                unsafe {
                    T::dist_panel(
                        isa,
                        xp,
                        d,
                        &xn_p,
                        panel.as_ptr(),
                        cn.as_ptr(),
                        dbuf[g * MR * lanes..].as_mut_ptr(),
                        if g == 0 { ahead } else { std::ptr::null() },
                    )
                };
            }
        } else {
            for i in 0..rows {
                let row = &x[(r + i) * d..(r + i + 1) * d];
                for j in 0..width {
                    let (g, l) = (j / lanes, j % lanes);
                    dbuf[(g * MR + i) * lanes + l] = sq_dist(row, pc.cands.row(j));
                }
            }
        }
        if !fused {
            let mut wp = [T::ONE; MR];
            if let Some(w) = w {
                wp[..rows].copy_from_slice(&w[r..r + rows]);
            }
            pair_panel(
                isa,
                &dbuf,
                &wp[..rows],
                &mut closest[r..r + rows],
                pc,
                &mut acc1,
                &mut acc2,
            );
        }
        r += rows;
        // Into f64 every PAIR_FLUSH_ROWS rows and at the end.
        if r == b || r.is_multiple_of(PAIR_FLUSH_ROWS) {
            for (p, a) in pot.iter_mut().zip(&acc1[pc.np..pc.np + pc.nt]) {
                *p += a.to_f64();
            }
            // Second-step sums of the `U` columns: the common part `acc1` plus each trial's
            // corrections (the pending and trial columns are never read).
            let u0 = pc.np + pc.nt;
            for (pt, at) in pot2
                .chunks_exact_mut(width)
                .zip(acc2.chunks_exact_mut(width))
            {
                for ((p, a), &c) in pt[u0..].iter_mut().zip(&mut at[u0..]).zip(&acc1[u0..]) {
                    *p += c.to_f64() + a.to_f64();
                    *a = T::ZERO;
                }
            }
            acc1.fill(T::ZERO);
        }
    }
}

simd_dispatch! {
    /// The sums of one panel of [`seed_rows_pair`] from its distances `dbuf`: `acc1[j] +=
    /// w_r min(closest_r, D_rj)` over the pending and trial lanes (`u_off` of them), `acc2` the
    /// second-step sums.
    fn pair_panel<T: Real>(
        dbuf: &[T],
        w: &[T],
        closest: &mut [T],
        pc: &PairCandidates<T>,
        acc1: &mut [T],
        acc2: &mut [T],
    ) => pair_panel_body
}

#[inline(always)]
fn pair_panel_body<T: Real>(
    dbuf: &[T],
    w: &[T],
    closest: &mut [T],
    pc: &PairCandidates<T>,
    acc1: &mut [T],
    acc2: &mut [T],
) {
    // `T::LANES` is a constant here, so the lane loops below are one register each.
    let lanes = T::LANES;
    let width = pc.width;
    let groups = width / lanes;
    let mut mbuf = [T::ZERO; 64];
    assert!((pc.np + pc.nt).div_ceil(lanes) * lanes <= mbuf.len());
    for (r, cl) in closest.iter_mut().enumerate() {
        let wi = w[r];
        for p in 0..pc.np {
            *cl = dbuf[r * lanes + p].min_of(*cl);
        }
        let c = *cl;
        // min(closest, D_j) for every lane, with sums; kept for the pending and trial lanes.
        for g in 0..groups {
            let base = (g * MR + r) * lanes;
            let du = &dbuf[base..base + lanes];
            let ag = &mut acc1[g * lanes..(g + 1) * lanes];
            if g * lanes < pc.np + pc.nt {
                let mg = &mut mbuf[g * lanes..(g + 1) * lanes];
                for ((mv, a), &dv) in mg.iter_mut().zip(ag.iter_mut()).zip(du) {
                    *mv = dv.min_of(c);
                    *a += wi * *mv;
                }
            } else {
                for (a, &dv) in ag.iter_mut().zip(du) {
                    *a += wi * dv.min_of(c);
                }
            }
        }
        // Trials that beat `closest`: corrections to the common sums (as the fused kernel).
        for t in 0..pc.nt {
            let mt = mbuf[pc.np + t];
            // Only where the trial beats `closest` (`mt < c`; NaN-safe as the kernel's mask).
            if mt.partial_cmp(&c) != Some(std::cmp::Ordering::Less) {
                continue;
            }
            for g in 0..groups {
                let base = (g * MR + r) * lanes;
                let du = &dbuf[base..base + lanes];
                let acc = &mut acc2[t * width + g * lanes..t * width + (g + 1) * lanes];
                for (a, &dv) in acc.iter_mut().zip(du) {
                    *a += wi * (dv.min_of(mt) - dv.min_of(c));
                }
            }
        }
    }
}
