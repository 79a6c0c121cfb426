//! Yinyang K-Means (Ding et al., ICML 2015): Lloyd's iterations with, per row, an upper bound
//! on the distance to its center and a lower bound on the distance to each *group* of other
//! centers, so that most distances are never computed.
//!
//! Same labels as Lloyd bit for bit, hence the same centers (the M-step is Lloyd's, over the
//! same chunks in the same order). The bounds hold for exact distances; the labels come from
//! rounded values `v_j = cn_j - 2 <x, c_j>` (the register kernels' FMA chain). With `E` a
//! bound on `|xn + v_j - ||x - c_j||^2|` for every center (`Slack`), a group is skipped only
//! when its lower bound `l` satisfies `l^2 > u^2 + 2E` (`u` the upper bound): then every
//! skipped `v_j` is strictly above the current center's `v_a`, so Lloyd's argmin lies among
//! the values computed, which are Lloyd's own bits. Bounds are rounded outward (`u` up, `l`
//! down to its stored f32).
//!
//! Groups: centers are ordered once, from the initial centers, by recursive halving along the
//! line through two far-apart centers, into groups of `16 b` centers (`GroupPack`); `b` is
//! 1 unless the `n x groups` f32 lower bounds would pass [`BOUNDS_BYTES`].
//!
//! Needs the register kernels' FMA chain, so the AVX2 tier or wider ([`available`]); on the
//! portable tier Lloyd runs instead.

use super::step::{
    cluster_sums, end_of_iteration, inertia, update_centers, IterInfo, RunResult, Stop,
};
use crate::data::Prepared;
use crate::kernels::assign::groups::{rows_blocks, GroupPack, LANES};
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::row_sq_norms;
use crate::kernels::layout::tiles::Blocking;
use crate::real::Real;
use rayon::prelude::*;
use std::sync::atomic::AtomicBool;

/// Largest size of the lower bounds (`n x groups` f32); groups double in size beyond it.
pub const BOUNDS_BYTES: usize = 512 << 20;

/// True when Yinyang can give Lloyd's labels on `isa` (the FMA chain of the register
/// kernels: AVX2 or wider).
pub fn available(isa: Isa) -> bool {
    isa.avx2()
}

/// Blocks of 16 centers per group for `n` rows and `k` centers: 1, doubled while the lower
/// bounds would pass [`BOUNDS_BYTES`].
pub fn blocks_per_group(n: usize, k: usize) -> usize {
    let mut b = 1;
    while n * k.div_ceil(LANES * b) * 4 > BOUNDS_BYTES && LANES * b < k {
        b *= 2;
    }
    b
}

/// The slack `E(xn) = coef (sqrt(xn) + cmax)^2 + tiny` between `xn + v_j` and the exact
/// squared distance, for every center. Error analysis (`u` the unit roundoff of `T`): the
/// chain of `d` FMAs is off by at most `d u sum_t |x_t c_t| <= d u ||x|| ||c||`; `cn` by `d u
/// ||c||^2`; the last FMA by `u (cn + 2 |<x, c>|)`; `xn` by `d u ||x||^2`; together below
/// `(2 d + 2) u (||x|| + ||c||)^2`. `coef = 4 (d + 4) u` doubles that; `tiny` covers
/// gradual underflow. `cmax` bounds every center's norm (inflated for `cn`'s rounding).
struct Slack {
    coef: f64,
    tiny: f64,
    cmax: f64,
    /// `1 + (d + 2) u`: inflates a norm computed from a rounded squared norm.
    inflate: f64,
}

impl Slack {
    fn new<T: Real>(d: usize, cn: &[T]) -> Self {
        let u = T::EPSILON.to_f64() / 2.0;
        let inflate = 1.0 + (d + 2) as f64 * u;
        let cmax = cn.iter().fold(0.0f64, |m, v| m.max(v.to_f64())).sqrt() * inflate;
        Self {
            coef: 4.0 * (d + 4) as f64 * u,
            tiny: 4.0 * (d + 4) as f64 * T::MIN_POSITIVE.to_f64() * T::EPSILON.to_f64(),
            cmax,
            inflate,
        }
    }
    fn of(&self, xn: f64) -> f64 {
        let s = xn.max(0.0).sqrt() * self.inflate + self.cmax;
        self.coef * s * s + self.tiny
    }
}

/// Rounds an f64 lower bound down to an f32 that is still a lower bound.
fn down32(v: f64) -> f32 {
    let f = v as f32;
    if f as f64 > v {
        f.next_down()
    } else {
        f
    }
}

/// Lower bound on the distance to a center whose value is `v` (`e` = [`Slack::of`]).
fn lower<T: Real>(xn: f64, v: T, e: f64) -> f32 {
    let s = xn + v.to_f64() - e;
    if s.is_nan() {
        return 0.0;
    }
    down32(s.max(0.0).sqrt())
}

/// Upper bound on the distance to a center whose value is `v`.
fn upper<T: Real>(xn: f64, v: T, e: f64) -> f64 {
    (xn + v.to_f64() + e).max(0.0).sqrt().next_up()
}

/// True when `(v, j)` precedes `(bv, bj)`: smaller value, or equal value and lower index
/// (Lloyd's tie rule). A NaN never precedes.
#[inline(always)]
fn precedes<T: Real>(v: T, j: u32, bv: T, bj: u32) -> bool {
    v < bv || (v == bv && j < bj)
}

/// The minimum of one group's values for one row: `(m1, j1)` the smallest value and its
/// center, `m2` the smallest value of the others, `nan` when a value is NaN.
#[derive(Clone, Copy)]
struct GroupMin<T> {
    m1: T,
    j1: u32,
    m2: T,
    nan: bool,
}

impl<T: Real> GroupMin<T> {
    fn of(values: &[T], pack: &GroupPack<T>, g: usize) -> Self {
        let spg = pack.slots_per_group();
        let mut m = Self {
            m1: T::INFINITY,
            j1: u32::MAX,
            m2: T::INFINITY,
            nan: false,
        };
        for (s, &v) in values.iter().enumerate() {
            let j = pack.index(g * spg + s);
            if j == u32::MAX {
                continue;
            }
            if v.to_f64().is_nan() {
                m.nan = true;
            } else if precedes(v, j, m.m1, m.j1) {
                m.m2 = m.m1;
                m.m1 = v;
                m.j1 = j;
            } else if v < m.m2 {
                m.m2 = v;
            }
        }
        m
    }
    /// Lower bound on the distance to the group's centers other than `label`.
    fn bound(&self, label: u32, xn: f64, e: f64) -> f32 {
        if self.nan {
            return 0.0;
        }
        lower(xn, if self.j1 == label { self.m2 } else { self.m1 }, e)
    }
}

/// The order of the `k` centers in groups of `spg`: recursive halving (the left part a whole
/// number of groups) along the line through two far-apart centers of the part.
fn group_order<T: Real>(centers: &[T], k: usize, d: usize, spg: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..k as u32).collect();
    halve(&mut order, centers, d, spg);
    order
}

fn halve<T: Real>(part: &mut [u32], c: &[T], d: usize, spg: usize) {
    if part.len() <= spg {
        return;
    }
    let row = |j: u32| &c[j as usize * d..(j as usize + 1) * d];
    let dist2 = |a: &[T], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x.to_f64() - y) * (x.to_f64() - y))
            .sum()
    };
    let mut mean = vec![0.0f64; d];
    for &j in part.iter() {
        for (m, v) in mean.iter_mut().zip(row(j)) {
            *m += v.to_f64();
        }
    }
    mean.iter_mut().for_each(|m| *m /= part.len() as f64);
    let farthest = |from: &[f64]| -> u32 {
        let mut best = (f64::NEG_INFINITY, part[0]);
        for &j in part.iter() {
            let v = dist2(row(j), from);
            if v > best.0 {
                best = (v, j);
            }
        }
        best.1
    };
    let p = farthest(&mean);
    let pf: Vec<f64> = row(p).iter().map(|v| v.to_f64()).collect();
    let q = farthest(&pf);
    let dir: Vec<f64> = row(q)
        .iter()
        .zip(&pf)
        .map(|(a, b)| a.to_f64() - b)
        .collect();
    let mut keyed: Vec<(f64, u32)> = part
        .iter()
        .map(|&j| {
            (
                row(j).iter().zip(&dir).map(|(a, b)| a.to_f64() * b).sum(),
                j,
            )
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (slot, (_, j)) in part.iter_mut().zip(keyed) {
        *slot = j;
    }
    let left = part.len().div_ceil(spg) / 2 * spg;
    let (l, r) = part.split_at_mut(left);
    halve(l, c, d, spg);
    halve(r, c, d, spg);
}

/// Per-row state: label, upper bound, lower bounds (`groups` each).
struct Bounds<'a> {
    labels: &'a mut [u32],
    upper: &'a mut [f64],
    lower: &'a mut [f32],
}

/// One tile of [`Bounds`]: its first row, then its labels, upper and lower bounds.
type BoundsTile<'b> = (usize, &'b mut [u32], &'b mut [f64], &'b mut [f32]);

impl<'a> Bounds<'a> {
    /// The rows in tiles of `rows`, in parallel (`groups` lower bounds per row).
    fn par_tiles(
        self,
        rows: usize,
        groups: usize,
    ) -> impl IndexedParallelIterator<Item = BoundsTile<'a>> {
        self.labels
            .par_chunks_mut(rows)
            .zip(self.upper.par_chunks_mut(rows))
            .zip(self.lower.par_chunks_mut(rows * groups))
            .enumerate()
            .map(move |(ci, ((lab, up), lo))| (ci * rows, lab, up, lo))
    }
}

/// Rows of one unit of work: their columns stay in L2 (about 512 KiB) while every group they
/// need passes once.
fn tile_rows<T>(d: usize) -> usize {
    ((512 << 10) / (d.max(1) * std::mem::size_of::<T>())).clamp(8, 1024)
}

/// The minima of each `(group, row)` pair's values, `pairs` sorted by group: one pass of each
/// group's blocks over all the rows that need it (two groups in one pass when the same rows
/// need both, as in a full pass).
fn group_minima<T: Real>(
    p: &Prepared<'_, T>,
    pack: &GroupPack<T>,
    pairs: &[(u32, u32)],
    out: &mut Vec<GroupMin<T>>,
) {
    let bpg = pack.blocks_per_group();
    let spg = pack.slots_per_group();
    out.clear();
    let mut rows: Vec<u32> = Vec::new();
    let mut values: Vec<T> = Vec::new();
    let run_end = |start: usize| {
        let g = pairs[start].0;
        start + pairs[start..].iter().take_while(|q| q.0 == g).count()
    };
    let mut start = 0;
    while start < pairs.len() {
        let g = pairs[start].0 as usize;
        let end = run_end(start);
        rows.clear();
        rows.extend(pairs[start..end].iter().map(|q| q.1));
        let m = rows.len();
        // The next group, when the same rows need it.
        let next = (end < pairs.len() && pairs[end].0 as usize == g + 1)
            .then(|| run_end(end))
            .filter(|&e2| {
                e2 - end == m && pairs[end..e2].iter().zip(&rows).all(|(q, &r)| q.1 == r)
            });
        let groups = if next.is_some() { 2 } else { 1 };
        let stride = groups * spg;
        values.resize(m * stride, T::ZERO);
        rows_blocks(
            p.isa,
            p.x,
            p.d,
            &rows,
            pack,
            g * bpg,
            groups * bpg,
            &mut values,
            stride,
        );
        for h in 0..groups {
            out.extend((0..m).map(|q| {
                GroupMin::of(
                    &values[q * stride + h * spg..q * stride + (h + 1) * spg],
                    pack,
                    g + h,
                )
            }));
        }
        start = next.unwrap_or(end);
    }
}

/// The first pass: every value of every row; labels as Lloyd's, exact bounds.
fn first_pass<T: Real>(p: &Prepared<'_, T>, pack: &GroupPack<T>, slack: &Slack, b: Bounds<'_>) {
    let ng = pack.groups();
    let tr = tile_rows::<T>(p.d);
    b.par_tiles(tr, ng).for_each(|(i0, lab, up, lo)| {
        let rows = lab.len();
        let pairs: Vec<(u32, u32)> = (0..ng as u32)
            .flat_map(|g| (0..rows as u32).map(move |q| (g, i0 as u32 + q)))
            .collect();
        let mut mins = Vec::with_capacity(pairs.len());
        group_minima(p, pack, &pairs, &mut mins);
        for q in 0..rows {
            let (mut bv, mut bj) = (T::INFINITY, 0u32);
            for g in 0..ng {
                let gm = &mins[g * rows + q];
                if precedes(gm.m1, gm.j1, bv, bj) {
                    bv = gm.m1;
                    bj = gm.j1;
                }
            }
            let xn = p.xn[i0 + q].to_f64();
            let e = slack.of(xn);
            lab[q] = bj;
            up[q] = upper(xn, bv, e);
            for (g, l) in lo[q * ng..(q + 1) * ng].iter_mut().enumerate() {
                *l = mins[g * rows + q].bound(bj, xn, e);
            }
        }
    });
}

/// Moves of the centers and the largest move in each group, as outward-rounded distances.
fn drifts<T: Real>(old: &[T], new: &[T], d: usize, pack: &GroupPack<T>) -> (Vec<f64>, Vec<f64>) {
    let u = 2f64.powi(-53);
    let grow = 1.0 + 8.0 * (d + 4) as f64 * u;
    let moves: Vec<f64> = old
        .par_chunks(d)
        .zip(new.par_chunks(d))
        .map(|(a, b)| {
            let s: f64 = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x.to_f64() - y.to_f64()) * (x.to_f64() - y.to_f64()))
                .sum();
            (s.sqrt() * grow).next_up()
        })
        .collect();
    let mut group = vec![0.0f64; pack.groups()];
    for (j, &m) in moves.iter().enumerate() {
        let g = pack.slot_of(j) / pack.slots_per_group();
        group[g] = group[g].max(m);
    }
    (moves, group)
}

/// One bounded pass after the centers moved by `moves` (`group_moves` per group): updates
/// the bounds, recomputes only the values the bounds do not exclude. Returns the number of
/// rows whose label changed.
fn bounded_pass<T: Real>(
    p: &Prepared<'_, T>,
    pack: &GroupPack<T>,
    slack: &Slack,
    moves: &[f64],
    group_moves: &[f64],
    b: Bounds<'_>,
) -> usize {
    let ng = pack.groups();
    let spg = pack.slots_per_group();
    let tr = tile_rows::<T>(p.d);
    b.par_tiles(tr, ng)
        .map(|(i0, lab, up, lo)| {
            let rows = lab.len();
            // 1. Bounds follow the moves; rows whose bounds still exclude every other group
            //    keep their label. The others need their own center's value.
            let mut lmins = vec![0.0f64; rows];
            // The rounding slack of each row, computed once for every phase.
            let slacks: Vec<f64> = (0..rows).map(|q| slack.of(p.xn[i0 + q].to_f64())).collect();
            let mut tight: Vec<(u32, u32)> = Vec::new();
            for q in 0..rows {
                let a = lab[q] as usize;
                let u = (up[q] + moves[a]).next_up();
                let mut lmin = f64::INFINITY;
                for (l, &gm) in lo[q * ng..(q + 1) * ng].iter_mut().zip(group_moves) {
                    *l = down32((*l as f64 - gm).max(0.0));
                    lmin = lmin.min(*l as f64);
                }
                up[q] = u;
                lmins[q] = lmin;
                let e = slacks[q];
                if lmin * lmin <= (u * u + 2.0 * e).next_up() {
                    tight.push(((pack.slot_of(a) / LANES) as u32, (i0 + q) as u32));
                }
            }
            // 2. The own center's value, block by block: a tighter upper bound.
            tight.sort_unstable();
            let mut own = vec![T::ZERO; tight.len()];
            let mut rows_of: Vec<u32> = Vec::new();
            let mut values: Vec<T> = Vec::new();
            let mut start = 0;
            while start < tight.len() {
                let blk = tight[start].0;
                let end = start + tight[start..].iter().take_while(|t| t.0 == blk).count();
                rows_of.clear();
                rows_of.extend(tight[start..end].iter().map(|t| t.1));
                values.resize(rows_of.len() * LANES, T::ZERO);
                rows_blocks(
                    p.isa,
                    p.x,
                    p.d,
                    &rows_of,
                    pack,
                    blk as usize,
                    1,
                    &mut values,
                    LANES,
                );
                for (j, t) in tight[start..end].iter().enumerate() {
                    let q = t.1 as usize - i0;
                    let l = pack.slot_of(lab[q] as usize) % LANES;
                    own[start + j] = values[j * LANES + l];
                }
                start = end;
            }
            // 3. Rows still open: the groups their bounds do not exclude.
            let mut open: Vec<(usize, T)> = Vec::new();
            let mut pairs: Vec<(u32, u32)> = Vec::new();
            for (t, &va) in tight.iter().zip(&own) {
                let q = t.1 as usize - i0;
                let (xn, e) = (p.xn[i0 + q].to_f64(), slacks[q]);
                let u = upper(xn, va, e);
                up[q] = u;
                let lim = (u * u + 2.0 * e).next_up();
                if lmins[q] * lmins[q] > lim {
                    continue;
                }
                open.push((q, va));
                for (g, &l) in lo[q * ng..(q + 1) * ng].iter().enumerate() {
                    if (l as f64) * (l as f64) <= lim {
                        pairs.push((g as u32, t.1));
                    }
                }
            }
            pairs.sort_unstable();
            let mut mins = Vec::with_capacity(pairs.len());
            group_minima(p, pack, &pairs, &mut mins);
            // 4. Labels among the values computed (Lloyd's argmin: see the module docs), then
            //    the bounds of the groups seen.
            let mut best: Vec<(T, u32)> = vec![(T::INFINITY, u32::MAX); rows];
            for &(q, va) in &open {
                best[q] = (va, lab[q]);
            }
            for (pr, gm) in pairs.iter().zip(&mins) {
                let q = pr.1 as usize - i0;
                if precedes(gm.m1, gm.j1, best[q].0, best[q].1) {
                    best[q] = (gm.m1, gm.j1);
                }
            }
            let mut own_seen = vec![false; rows];
            for (pr, gm) in pairs.iter().zip(&mins) {
                let q = pr.1 as usize - i0;
                let g = pr.0 as usize;
                lo[q * ng + g] = gm.bound(best[q].1, p.xn[i0 + q].to_f64(), slacks[q]);
                own_seen[q] |= g == pack.slot_of(lab[q] as usize) / spg;
            }
            let mut changed = 0;
            for &(q, va) in &open {
                let (bv, bj) = best[q];
                let a = lab[q];
                let (xn, e) = (p.xn[i0 + q].to_f64(), slacks[q]);
                if bj != a {
                    changed += 1;
                    if !own_seen[q] {
                        let ga = pack.slot_of(a as usize) / spg;
                        lo[q * ng + ga] = lo[q * ng + ga].min(lower(xn, va, e));
                    }
                }
                lab[q] = bj;
                up[q] = upper(xn, bv, e);
            }
            changed
        })
        .sum()
}

/// One restart of Yinyang from `init`, Lloyd's stopping rules and results (see the module
/// documentation); Lloyd itself where the tier lacks the FMA chain.
pub fn yinyang_run<T: Real>(
    p: &Prepared<'_, T>,
    init: &[T],
    k: usize,
    max_iter: usize,
    tol_abs: f64,
    observer: &(dyn Fn(IterInfo) + Sync),
    stop: Option<&AtomicBool>,
) -> RunResult<T> {
    let bpg = blocks_per_group(p.n(), k);
    yinyang_run_grouped(p, init, k, max_iter, tol_abs, observer, stop, bpg)
}

/// [`yinyang_run`] with groups of `blocks_per_group` blocks of 16 centers (any value gives
/// the same results; larger groups, fewer bounds).
#[allow(clippy::too_many_arguments)]
pub fn yinyang_run_grouped<T: Real>(
    p: &Prepared<'_, T>,
    init: &[T],
    k: usize,
    max_iter: usize,
    tol_abs: f64,
    observer: &(dyn Fn(IterInfo) + Sync),
    stop: Option<&AtomicBool>,
    blocks_per_group: usize,
) -> RunResult<T> {
    if !available(p.isa) {
        return super::lloyd::lloyd_run(p, init, k, max_iter, tol_abs, observer, stop);
    }
    let n = p.n();
    let d = p.d;
    let blocking = Blocking::of::<T>(k);
    let cr = blocking.chunk_rows;
    let bpg = blocks_per_group.max(1);
    let order = group_order(init, k, d, LANES * bpg);
    let mut centers = init.to_vec();
    let mut new_centers = init.to_vec();
    let mut cn = vec![T::ZERO; k];
    row_sq_norms(&centers, d, &mut cn);
    let mut pack = GroupPack::new(&centers, &cn, k, d, &order, bpg);
    let ng = pack.groups();
    let mut labels = crate::memory::vec_filled(n, 0u32);
    let mut upper_b = crate::memory::vec_filled(n, 0.0f64);
    let mut lower_b = crate::memory::vec_filled(n * ng, 0.0f32);
    let mut strict = false;
    let mut interrupted = false;
    let mut n_iter = 0;
    let mut moves: Vec<f64> = Vec::new();
    let mut group_moves: Vec<f64> = Vec::new();
    for it in 0..max_iter {
        n_iter = it + 1;
        let slack = Slack::new(d, &cn);
        let bounds = Bounds {
            labels: &mut labels,
            upper: &mut upper_b,
            lower: &mut lower_b,
        };
        let changed = if it == 0 {
            first_pass(p, &pack, &slack, bounds);
            n
        } else {
            bounded_pass(p, &pack, &slack, &moves, &group_moves, bounds)
        };
        let sums = cluster_sums(p, &labels, k, blocking);
        let (shift, relocated) = update_centers(p, &labels, &centers, sums, &mut new_centers);
        (moves, group_moves) = drifts(&centers, &new_centers, d, &pack);
        std::mem::swap(&mut centers, &mut new_centers);
        row_sq_norms(&centers, d, &mut cn);
        pack.refill(&centers, &cn);
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
        // The bounds already follow the last move: the final labels are one more bounded
        // pass (Lloyd runs a full one here), Lloyd's labels all the same.
        let slack = Slack::new(d, &cn);
        let bounds = Bounds {
            labels: &mut labels,
            upper: &mut upper_b,
            lower: &mut lower_b,
        };
        bounded_pass(p, &pack, &slack, &moves, &group_moves, bounds);
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
