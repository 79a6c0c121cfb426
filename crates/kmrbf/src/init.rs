//! Initial centers: greedy k-means++ (scikit-learn's variant) and random rows.

use crate::kernels::seeding::{seed_rows, SeedCandidates};
use crate::kernels::tiles::{Blocking, Problem};
use crate::real::Real;
use crate::rng::Rng;
use rayon::prelude::*;

/// Data prepared once for the fused kernel: rows, their squared norms, weights.
#[derive(Clone, Copy)]
pub struct Prepared<'a, T> {
    /// `n x d` row-major.
    pub x: &'a [T],
    /// Columns.
    pub d: usize,
    /// `n` squared row norms.
    pub xn: &'a [T],
    /// `n` weights, `None` for unit weights.
    pub w: Option<&'a [T]>,
}

impl<'a, T: Real> Prepared<'a, T> {
    /// Rows.
    pub fn n(&self) -> usize {
        self.xn.len()
    }
    /// Weight of row `i` in f64.
    pub fn weight(&self, i: usize) -> f64 {
        self.w.map_or(1.0, |w| w[i].to_f64())
    }
    /// The fused-kernel problem against `centers` (`k x d`).
    pub fn against(&self, centers: &'a [T], k: usize) -> Problem<'a, T> {
        Problem {
            x: self.x,
            d: self.d,
            xn: self.xn,
            w: self.w,
            centers,
            k,
        }
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [T] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
}

/// Number of local trials of greedy k-means++: `2 + floor(ln k)` (scikit-learn's choice).
pub fn n_local_trials(k: usize) -> usize {
    2 + (k as f64).ln().floor() as usize
}

/// Chunk of a draw: the first chunk with positive mass where the running total passes `r`
/// (or the last chunk with positive mass when rounding runs off the end), with the total of
/// the chunks before it.
fn pick_chunk(r: f64, chunk_mass: &[f64]) -> (usize, f64) {
    let mut acc = 0.0;
    let mut last_positive = (0, 0.0);
    for (ci, &m) in chunk_mass.iter().enumerate() {
        if m > 0.0 {
            if acc + m > r {
                return (ci, acc);
            }
            last_positive = (ci, acc);
        }
        acc += m;
    }
    last_positive
}

/// Row of a draw inside a chunk: the first row where `acc + cumulative mass > r`, else the last
/// row with positive mass, else `None`.
fn pick_row(r: f64, acc: f64, mass: impl Iterator<Item = f64>) -> Option<usize> {
    let mut a = acc;
    let mut last = None;
    for (i, m) in mass.enumerate() {
        if m > 0.0 {
            last = Some(i);
            a += m;
            if a > r {
                return Some(i);
            }
        }
    }
    last
}

/// Greedy k-means++: `k x d` initial centers drawn from the rows of `p`.
///
/// Each new center is the best (lowest potential `sum_i w_i min_j D_ij`) of
/// [`n_local_trials`] candidates drawn with probability proportional to `w_i D_i`. One
/// streaming pass over `x` per step (see [`crate::kernels::seeding`]).
pub fn kmeans_plus_plus<T: Real>(p: Prepared<'_, T>, k: usize, rng: &mut Rng) -> Vec<T> {
    let n = p.n();
    let d = p.d;
    let trials = n_local_trials(k);
    let cr = Blocking::of::<T>(trials).chunk_rows;
    let n_chunks = n.div_ceil(cr);
    let mut centers = Vec::with_capacity(k * d);

    // First center: weighted choice.
    let w_chunks: Vec<f64> = (0..n_chunks)
        .into_par_iter()
        .map(|ci| (ci * cr..((ci + 1) * cr).min(n)).map(|i| p.weight(i)).sum())
        .collect();
    let w_total: f64 = w_chunks.iter().sum();
    let r = rng.uniform() * w_total;
    let (ci, acc) = pick_chunk(r, &w_chunks);
    let rows = ci * cr..((ci + 1) * cr).min(n);
    let first = rows.start + pick_row(r, acc, rows.clone().map(|i| p.weight(i))).unwrap_or(0);
    centers.extend_from_slice(p.row(first));

    // closest[i] = min over chosen centers of D_i, brought up to date lazily: `fresh[ci]` says
    // whether chunk `ci` has seen the pending center.
    let mut closest = vec![T::INFINITY; n];
    let mut pending = SeedCandidates::new(p.row(first), 1, d, true);
    let pots = seed_pass(&p, &mut closest, cr, &pending);
    let mut chunk_mass: Vec<f64> = pots.iter().map(|v| v[0]).collect();
    let mut fresh = vec![true; n_chunks];

    let mut cand = vec![T::ZERO; (trials + 1) * d];
    let mut cand_idx = vec![0usize; trials];
    for _ in 1..k {
        let total: f64 = chunk_mass.iter().sum();
        for ci_out in cand_idx.iter_mut() {
            let r = rng.uniform() * total;
            *ci_out = draw_row(&p, &mut closest, &chunk_mass, &mut fresh, cr, &pending, r);
        }
        // Candidate 0 is the pending center (the previous step's choice), 1..=trials the draws.
        cand[..d].copy_from_slice(pending.row(0));
        for (t, &ri) in cand_idx.iter().enumerate() {
            cand[(t + 1) * d..(t + 2) * d].copy_from_slice(p.row(ri));
        }
        let sc = SeedCandidates::new(&cand, trials + 1, d, true);
        let pots = seed_pass(&p, &mut closest, cr, &sc);
        let mut best = 0;
        let mut best_pot = f64::INFINITY;
        for j in 0..trials {
            let pot: f64 = pots.iter().map(|v| v[1 + j]).sum();
            if pot < best_pot {
                best_pot = pot;
                best = j;
            }
        }
        for (m, v) in chunk_mass.iter_mut().zip(&pots) {
            *m = v[1 + best];
        }
        fresh.fill(false);
        let chosen = p.row(cand_idx[best]);
        pending = SeedCandidates::new(chosen, 1, d, true);
        centers.extend_from_slice(chosen);
    }
    centers
}

/// One seeding pass over all rows, per-chunk potentials in chunk order.
fn seed_pass<T: Real>(
    p: &Prepared<'_, T>,
    closest: &mut [T],
    cr: usize,
    cands: &SeedCandidates<T>,
) -> Vec<Vec<f64>> {
    let d = p.d;
    let n = p.n();
    closest
        .par_chunks_mut(cr)
        .enumerate()
        .map(|(ci, cl)| {
            let r0 = ci * cr;
            let r1 = (r0 + cr).min(n);
            let mut pot = vec![0.0f64; cands.len()];
            seed_rows(
                &p.x[r0 * d..r1 * d],
                &p.xn[r0..r1],
                p.w.map(|w| &w[r0..r1]),
                cl,
                cands,
                &mut pot,
            );
            pot
        })
        .collect()
}

/// One weighted draw of a row with probability `w_i closest_i / total` (`r` uniform in
/// `[0, total)`), bringing the chosen chunk up to date with the pending center first.
fn draw_row<T: Real>(
    p: &Prepared<'_, T>,
    closest: &mut [T],
    chunk_mass: &[f64],
    fresh: &mut [bool],
    cr: usize,
    pending: &SeedCandidates<T>,
    r: f64,
) -> usize {
    let n = p.n();
    let d = p.d;
    let (mut ci, mut acc) = pick_chunk(r, chunk_mass);
    loop {
        let rows = ci * cr..((ci + 1) * cr).min(n);
        if !fresh[ci] {
            let mut pot = [0.0f64];
            seed_rows(
                &p.x[rows.start * d..rows.end * d],
                &p.xn[rows.clone()],
                p.w.map(|w| &w[rows.clone()]),
                &mut closest[rows.clone()],
                pending,
                &mut pot,
            );
            fresh[ci] = true;
        }
        let mass = rows.clone().map(|i| p.weight(i) * closest[i].to_f64());
        if let Some(i) = pick_row(r, acc, mass) {
            return rows.start + i;
        }
        // A chunk whose mass rounded to positive but holds no positive row: step back.
        if ci == 0 {
            return 0;
        }
        acc -= chunk_mass[ci - 1];
        ci -= 1;
    }
}

/// `k` distinct rows drawn with probability proportional to their weight, without replacement.
/// Needs at least `k` rows of positive weight (the caller checks).
pub fn random_rows<T: Real>(p: Prepared<'_, T>, k: usize, rng: &mut Rng) -> Vec<T> {
    let n = p.n();
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    if p.w.is_none() {
        // Floyd's algorithm: k distinct indices in O(k).
        let mut set = std::collections::BTreeSet::new();
        for j in n - k..n {
            let t = rng.below(j + 1);
            let pickv = if set.contains(&t) { j } else { t };
            set.insert(pickv);
            chosen.push(pickv);
        }
    } else {
        let mut mass: Vec<f64> = (0..n).map(|i| p.weight(i)).collect();
        for _ in 0..k {
            let total: f64 = mass.iter().sum();
            let r = rng.uniform() * total;
            let mut acc = 0.0;
            let mut pick_i = None;
            for (i, &m) in mass.iter().enumerate() {
                if m > 0.0 {
                    acc += m;
                    pick_i = Some(i);
                    if acc > r {
                        break;
                    }
                }
            }
            let i = pick_i.expect("caller checks there are k rows of positive weight");
            mass[i] = 0.0;
            chosen.push(i);
        }
    }
    let mut centers = Vec::with_capacity(k * p.d);
    for i in chosen {
        centers.extend_from_slice(p.row(i));
    }
    centers
}
