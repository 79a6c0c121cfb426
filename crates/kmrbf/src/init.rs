//! Initial centers: greedy k-means++ (scikit-learn's variant) and random rows.

use crate::data::Prepared;
use crate::kernels::layout::distance::sq_dist;
use crate::kernels::seeding::{seed_rows, seed_rows_pair, PairCandidates, SeedCandidates};
use crate::real::Real;
use crate::rng::Rng;
use rayon::prelude::*;

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

/// Rows per chunk of the seeding passes: the unit of parallel work, of the sampling masses,
/// and of the lazy updates a draw makes (a draw brings its chunk up to date with the pending
/// centers, so smaller chunks make draws cheaper; 8192 -> 2048 measured ~0.72 -> ~0.66 s on
/// 1M x 32, k = 64, one thread).
const SEED_CHUNK_ROWS: usize = 2048;

/// Proposals drawn at most, per trial, for the second step of a two-step pass.
const MAX_PROPOSALS_PER_TRIAL: usize = 64;

/// Greedy k-means++: `k x d` initial centers drawn from the rows of `p`.
///
/// Each new center is the best (lowest potential `sum_i w_i min_j D_ij`) of
/// [`n_local_trials`] candidates drawn with probability proportional to `w_i D_i`
/// (scikit-learn's greedy variant). Two greedy steps share one streaming pass over `x`
/// (`kernels::seeding`): the candidates of step `s + 1` must follow the distances
/// after step `s`'s winner, which is unknown before the pass, so they are drawn for every
/// possible winner `t` at once by rejection: rows proposed with probability proportional to
/// `w_i closest_i` (the current masses) are accepted for `t` with probability
/// `min(closest_p, D(x_p, T_t)) / closest_p` (the same proposals and uniforms for every `t`),
/// which gives exactly the distribution after `T_t`. The pass then scores `T` and, for each
/// `t`, its accepted set `S_t`; the winner `t*` and the best of `S_t*` both become centers.
/// When some `S_t` cannot be filled within `MAX_PROPOSALS_PER_TRIAL` proposals per trial
/// and `t` wins, or one center is left, the pass is one step.
pub fn kmeans_plus_plus<T: Real>(p: Prepared<'_, T>, k: usize, rng: &mut Rng) -> Vec<T> {
    let n = p.n();
    let d = p.d;
    let trials = n_local_trials(k);
    let cr = SEED_CHUNK_ROWS;
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

    // closest[i] = min over chosen centers of D_i, brought up to date lazily: the centers of
    // `pending` (at most two) are applied by the next pass, or early to the chunk a draw lands
    // in (`fresh[ci]` says whether chunk `ci` has seen them).
    let mut closest = crate::memory::vec_filled(n, T::INFINITY);
    let first_c = SeedCandidates::new(p.isa, p.row(first), 1, d, true);
    let pots = seed_pass(&p, &mut closest, cr, &first_c);
    let mut chunk_mass: Vec<f64> = pots.iter().map(|v| v[0]).collect();
    let mut fresh = vec![true; n_chunks];
    let mut pending: Vec<usize> = Vec::new();

    let mut cand_idx = vec![0usize; trials];
    let mut chosen = 1;
    while chosen < k {
        let total: f64 = chunk_mass.iter().sum();
        let mut lazy = Lazy {
            p: &p,
            closest: &mut closest,
            fresh: &mut fresh,
            cr,
            pending: PairCandidates::new(
                p.isa,
                &pending
                    .iter()
                    .flat_map(|&i| p.row(i).to_vec())
                    .collect::<Vec<T>>(),
                &[],
                &[],
                d,
            ),
        };
        for ci_out in cand_idx.iter_mut() {
            *ci_out = lazy.draw(&chunk_mass, rng.uniform() * total);
        }
        // Step s + 1's candidates for every possible winner, by rejection.
        let mut sets: Vec<Vec<usize>> = vec![Vec::new(); trials];
        if k - chosen >= 2 {
            let mut proposals = 0;
            while sets.iter().any(|s| s.len() < trials)
                && proposals < MAX_PROPOSALS_PER_TRIAL * trials
            {
                let pi = lazy.draw(&chunk_mass, rng.uniform() * total);
                let v = rng.uniform();
                proposals += 1;
                let clp = lazy.closest[pi].to_f64();
                for (set, &ti) in sets.iter_mut().zip(&cand_idx) {
                    if set.len() < trials {
                        let dpt = sq_dist(p.row(pi), p.row(ti)).to_f64();
                        if v * clp < clp.min(dpt) {
                            set.push(pi);
                        }
                    }
                }
            }
        }
        // The distinct proposal rows U, and each set as positions in U.
        let mut u_rows: Vec<usize> = Vec::new();
        let sets_u: Vec<Vec<usize>> = sets
            .iter()
            .map(|set| {
                set.iter()
                    .map(|&row| match u_rows.iter().position(|&u| u == row) {
                        Some(pos) => pos,
                        None => {
                            u_rows.push(row);
                            u_rows.len() - 1
                        }
                    })
                    .collect()
            })
            .collect();
        let gather =
            |idx: &[usize]| -> Vec<T> { idx.iter().flat_map(|&i| p.row(i).to_vec()).collect() };
        let pc = PairCandidates::new(
            p.isa,
            &gather(&pending),
            &gather(&cand_idx),
            &gather(&u_rows),
            d,
        );
        let parts = pair_pass(&p, &mut closest, cr, &pc, trials);
        // Totals over the chunks (in chunk order) of a trial's sum, or of a second-step sum.
        let pot_of = |t: usize| -> f64 { parts.iter().map(|v| v.0[t]).sum() };
        let pot2_of = |at: usize| -> f64 { parts.iter().map(|v| v.1[at]).sum() };
        let mut best = 0;
        let mut best_pot = f64::INFINITY;
        for t in 0..trials {
            let pot = pot_of(t);
            if pot < best_pot {
                best_pot = pot;
                best = t;
            }
        }
        centers.extend_from_slice(p.row(cand_idx[best]));
        chosen += 1;
        pending = vec![cand_idx[best]];
        if sets_u[best].len() == trials {
            let mut best_u = sets_u[best][0];
            let mut best_pot2 = f64::INFINITY;
            for &u in &sets_u[best] {
                let pot = pot2_of(pc.at(best, u));
                if pot < best_pot2 {
                    best_pot2 = pot;
                    best_u = u;
                }
            }
            for (m, v) in chunk_mass.iter_mut().zip(&parts) {
                *m = v.1[pc.at(best, best_u)];
            }
            centers.extend_from_slice(p.row(u_rows[best_u]));
            chosen += 1;
            pending.push(u_rows[best_u]);
        } else {
            for (m, v) in chunk_mass.iter_mut().zip(&parts) {
                *m = v.0[best];
            }
        }
        fresh.fill(false);
    }
    centers
}

/// One two-step pass over all rows: per chunk (in chunk order) the trial potentials and the
/// `trials x width` second-step potentials of [`seed_rows_pair`].
fn pair_pass<T: Real>(
    p: &Prepared<'_, T>,
    closest: &mut [T],
    cr: usize,
    pc: &PairCandidates<T>,
    trials: usize,
) -> Vec<(Vec<f64>, Vec<f64>)> {
    let d = p.d;
    let n = p.n();
    let width = pc.width();
    closest
        .par_chunks_mut(cr)
        .enumerate()
        .map(|(ci, cl)| {
            let r0 = ci * cr;
            let r1 = (r0 + cr).min(n);
            let mut pot = vec![0.0f64; trials];
            let mut pot2 = vec![0.0f64; trials * width];
            seed_rows_pair(
                &p.x[r0 * d..r1 * d],
                &p.xn[r0..r1],
                p.w.map(|w| &w[r0..r1]),
                cl,
                pc,
                &mut pot,
                &mut pot2,
            );
            (pot, pot2)
        })
        .collect()
}

/// The driver's view of `closest` between passes: draws that bring the chunk they land in
/// up to date with the pending centers first.
struct Lazy<'a, 'p, T> {
    p: &'a Prepared<'p, T>,
    closest: &'a mut [T],
    fresh: &'a mut [bool],
    cr: usize,
    /// The pending centers (no trials): one read of a chunk applies them all.
    pending: PairCandidates<T>,
}

impl<T: Real> Lazy<'_, '_, T> {
    /// One weighted draw of a row with probability `w_i closest_i / total` (`r` uniform in
    /// `[0, total)`).
    fn draw(&mut self, chunk_mass: &[f64], r: f64) -> usize {
        draw_row(
            self.p,
            self.closest,
            chunk_mass,
            self.fresh,
            self.cr,
            &self.pending,
            r,
        )
    }
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
            debug_assert!(
                !cands.is_empty(),
                "a seeding pass scores at least one candidate"
            );
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
/// `[0, total)`), bringing the chosen chunk up to date with the pending centers first (the
/// pass's own kernel, so the bits agree with the pass applying them again).
fn draw_row<T: Real>(
    p: &Prepared<'_, T>,
    closest: &mut [T],
    chunk_mass: &[f64],
    fresh: &mut [bool],
    cr: usize,
    pending: &PairCandidates<T>,
    r: f64,
) -> usize {
    let n = p.n();
    let d = p.d;
    let (mut ci, mut acc) = pick_chunk(r, chunk_mass);
    loop {
        let rows = ci * cr..((ci + 1) * cr).min(n);
        if !fresh[ci] {
            seed_rows_pair(
                &p.x[rows.start * d..rows.end * d],
                &p.xn[rows.clone()],
                p.w.map(|w| &w[rows.clone()]),
                &mut closest[rows.clone()],
                pending,
                &mut [],
                &mut [],
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
