//! Initial centers: greedy k-means++ (scikit-learn's variant) and random rows.

use crate::kernels::packed;
use crate::kernels::tiles::{fold_tiles, Blocking, Problem};
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

/// Picks an index with probability proportional to `mass`, given per-chunk totals.
/// `r` is uniform in `[0, total)`; returns the last index with positive mass if rounding runs off.
fn pick(
    r: f64,
    chunk_mass: &[f64],
    chunk_rows: usize,
    mass_of: impl Fn(usize) -> f64,
    n: usize,
) -> usize {
    let mut acc = 0.0;
    let mut last_positive = None;
    for (ci, &m) in chunk_mass.iter().enumerate() {
        if m > 0.0 {
            last_positive = Some(ci);
        }
        if acc + m > r && m > 0.0 {
            let start = ci * chunk_rows;
            let end = (start + chunk_rows).min(n);
            let mut a = acc;
            let mut last = None;
            for i in start..end {
                let mi = mass_of(i);
                if mi > 0.0 {
                    last = Some(i);
                    a += mi;
                    if a > r {
                        return i;
                    }
                }
            }
            if let Some(i) = last {
                return i;
            }
        }
        acc += m;
    }
    // Rounding ran off the end: the last row with positive mass.
    let ci = last_positive.unwrap_or(0);
    let start = ci * chunk_rows;
    let end = (start + chunk_rows).min(n);
    (start..end).rev().find(|&i| mass_of(i) > 0.0).unwrap_or(0)
}

/// Greedy k-means++: `k x d` initial centers drawn from the rows of `p`.
///
/// Each new center is the best (lowest potential `sum_i w_i min_j D_ij`) of
/// [`n_local_trials`] candidates drawn with probability proportional to `w_i D_i`.
pub fn kmeans_plus_plus<T: Real>(p: Prepared<'_, T>, k: usize, rng: &mut Rng) -> Vec<T> {
    let n = p.n();
    let d = p.d;
    let trials = n_local_trials(k);
    let blocking = Blocking::of::<T>(trials);
    let cr = blocking.chunk_rows;
    let mut centers = Vec::with_capacity(k * d);

    // First center: weighted choice.
    let w_chunks: Vec<f64> = (0..n.div_ceil(cr))
        .into_par_iter()
        .map(|ci| (ci * cr..((ci + 1) * cr).min(n)).map(|i| p.weight(i)).sum())
        .collect();
    let w_total: f64 = w_chunks.iter().sum();
    let first = pick(rng.uniform() * w_total, &w_chunks, cr, |i| p.weight(i), n);
    centers.extend_from_slice(p.row(first));

    // closest[i] = min over chosen centers of D_i.
    let mut closest = vec![T::ZERO; n];
    let mut cand_dist = vec![T::ZERO; n * trials];
    {
        let c0 = &centers[..d];
        let cn0 = [crate::kernels::distance::sq_norm(c0)];
        fold_tiles(
            p.against(c0, 1),
            &mut closest,
            1,
            blocking,
            true,
            || (),
            |_, t, out| {
                for i in 0..t.rows() {
                    out[i] = (t.xn[i] + cn0[0] + t.cross[i]).max_of(T::ZERO);
                }
            },
        );
    }
    let mut pot_chunks = chunk_potential(&p, &closest, cr);

    let use_packed = packed::available() && trials <= T::LANES;
    let mut cand = vec![T::ZERO; trials * d];
    let mut cand_idx = vec![0usize; trials];
    for _ in 1..k {
        let total: f64 = pot_chunks.iter().sum();
        for ci in cand_idx.iter_mut() {
            let r = rng.uniform() * total;
            *ci = pick(r, &pot_chunks, cr, |i| p.weight(i) * closest[i].to_f64(), n);
        }
        for (t, &ci) in cand_idx.iter().enumerate() {
            cand[t * d..(t + 1) * d].copy_from_slice(p.row(ci));
        }
        let mut cn = vec![T::ZERO; trials];
        crate::kernels::distance::row_sq_norms(&cand, d, &mut cn);
        let closest_ref = &closest;
        let parts: Vec<Vec<f64>> = if use_packed {
            let (panel, pcn) = packed::pack_trials(&cand, trials, d);
            cand_dist
                .par_chunks_mut(cr * trials)
                .enumerate()
                .map(|(ci, out)| {
                    let r0 = ci * cr;
                    let r1 = (r0 + cr).min(n);
                    let mut pot = vec![0.0f64; trials];
                    packed::trials_rows_packed(
                        &p.x[r0 * d..r1 * d],
                        d,
                        &p.xn[r0..r1],
                        p.w.map(|w| &w[r0..r1]),
                        &closest_ref[r0..r1],
                        &panel,
                        &pcn,
                        trials,
                        out,
                        &mut pot,
                    );
                    pot
                })
                .collect()
        } else {
            fold_tiles(
                p.against(&cand, trials),
                &mut cand_dist,
                trials,
                blocking,
                true,
                || vec![0.0f64; trials],
                |pot, t, out| {
                    for i in 0..t.rows() {
                        let g = t.row0 + i;
                        let wi = t.weight(i).to_f64();
                        let cl = closest_ref[g];
                        for j in 0..trials {
                            let dij = (t.xn[i] + cn[j] + t.cross[i * trials + j]).max_of(T::ZERO);
                            let m = dij.min_of(cl);
                            out[i * trials + j] = m;
                            pot[j] += wi * m.to_f64();
                        }
                    }
                },
            )
        };
        let mut pots = vec![0.0f64; trials];
        for part in &parts {
            for (a, b) in pots.iter_mut().zip(part) {
                *a += *b;
            }
        }
        let mut best = 0;
        for j in 1..trials {
            if pots[j] < pots[best] {
                best = j;
            }
        }
        closest
            .par_iter_mut()
            .zip(cand_dist.par_chunks(trials))
            .for_each(|(c, row)| *c = row[best]);
        pot_chunks = chunk_potential(&p, &closest, cr);
        centers.extend_from_slice(p.row(cand_idx[best]));
    }
    centers
}

/// Per-chunk `sum_i w_i closest_i`, in f64, in chunk order.
fn chunk_potential<T: Real>(p: &Prepared<'_, T>, closest: &[T], cr: usize) -> Vec<f64> {
    closest
        .par_chunks(cr)
        .enumerate()
        .map(|(ci, c)| {
            c.iter()
                .enumerate()
                .map(|(j, v)| p.weight(ci * cr + j) * v.to_f64())
                .sum()
        })
        .collect()
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
