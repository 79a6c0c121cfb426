//! Mass-constrained deterministic annealing (Rose 1998) for `sigma0 = critical`: a codebook
//! that starts as one codevector at the data mean and grows by splitting codevectors whose
//! cluster has passed its critical temperature, with a mass `p_j` per codevector that enters
//! the logits as a prior (`z_ij = -D_ij / temperature + ln p_j`, a distance shift `-temperature ln p_j`).
//!
//! Why: with `k` coincident codevectors and no masses, a group of `m` coincident centers pulls
//! like one center of prior `m`, so where the first splits send the centers depends on how
//! many happen to sit together, and clusters of unequal sizes end up sharing a center while a
//! large one gets two (measured on the reproduction's `unequal-size` blobs: J 2.2-2.4x
//! Lloyd's). With masses, coincident codevectors act as one, and each cluster gets a new
//! codevector when (and only when) its own critical temperature `2 lambda_max` of its
//! covariance is passed.

use crate::data::Prepared;
use crate::kmeans::lloyd::assign_labels;
use crate::real::Real;
use crate::rng::Rng;

/// The growing codebook: `m <= k` active codevectors (`m x d`) and their masses (sum 1).
pub struct Codebook<T> {
    /// Active codevectors, `m x d`.
    centers: Vec<T>,
    /// Masses `p_j = N_j / W` of the active codevectors.
    mass: Vec<f64>,
    k: usize,
    d: usize,
    /// Distance of a split's two halves from the parent (data units).
    delta: f64,
}

impl<T: Real> Codebook<T> {
    /// One codevector at the weighted mean of `p`, mass 1; at most `k`; splits move by
    /// `delta` (data units) each way.
    pub fn new(p: &Prepared<'_, T>, k: usize, delta: f64) -> Self {
        let d = p.d;
        let mut mean = vec![0.0; d];
        let mut wsum = 0.0;
        for i in 0..p.n() {
            let w = p.weight(i);
            wsum += w;
            for (m, v) in mean.iter_mut().zip(p.row(i)) {
                *m += w * v.to_f64();
            }
        }
        Self {
            centers: mean.iter().map(|&m| T::from_f64(m / wsum)).collect(),
            mass: vec![1.0],
            k,
            d,
            delta,
        }
    }

    /// Active codevectors.
    pub fn active(&self) -> usize {
        self.mass.len()
    }

    /// The active codevectors, `m x d`.
    pub fn centers_mut(&mut self) -> &mut [T] {
        &mut self.centers
    }

    /// `-temperature ln p_j` per active codevector (`>= 0`; a vanishing mass is held at `1e-300`).
    pub fn bias(&self, temperature: f64) -> Vec<T> {
        self.mass
            .iter()
            .map(|&p| T::from_f64(-temperature * p.max(1e-300).ln()))
            .collect()
    }

    /// The masses from `N_j` (the step's weighted responsibilities of the active codevectors).
    pub fn set_mass(&mut self, n: &[f64]) {
        let total: f64 = n.iter().sum();
        if total > 0.0 {
            for (p, &v) in self.mass.iter_mut().zip(n) {
                *p = v / total;
            }
        }
    }

    /// Splits the codevectors whose cluster (rows nearest to it) has `2 lambda_max > temperature`,
    /// largest `p_j lambda_max` first (mass times spread: what a split along the principal
    /// axis can take off J), while fewer than `k` are active: the parent moves `-delta
    /// u`, the child (appended) `+delta u` with `u` the cluster's principal direction (the
    /// unstable mode of the split: along a random direction the stable components shrink
    /// first and a split that would take can come back within `delta` and be merged), each
    /// with half the mass. Returns how many were split.
    pub fn grow(&mut self, p: &Prepared<'_, T>, temperature: f64, rng: &mut Rng) -> usize {
        let (m, d) = (self.active(), self.d);
        if m >= self.k {
            return 0;
        }
        let (lambda, dirs) = cluster_lambda_max(p, &self.centers, m, rng);
        let mut order: Vec<usize> = (0..m).filter(|&j| 2.0 * lambda[j] > temperature).collect();
        let key: Vec<f64> = (0..m).map(|j| self.mass[j] * lambda[j]).collect();
        order.sort_by(|&a, &b| key[b].total_cmp(&key[a]).then(a.cmp(&b)));
        order.truncate(self.k - m);
        for &j in &order {
            let mut u = dirs[j * d..(j + 1) * d].to_vec();
            let norm = u
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
                .max(f64::MIN_POSITIVE);
            u.iter_mut().for_each(|v| *v *= self.delta / norm);
            let parent: Vec<f64> = self.centers[j * d..(j + 1) * d]
                .iter()
                .map(|v| v.to_f64())
                .collect();
            for t in 0..d {
                self.centers[j * d + t] = T::from_f64(parent[t] - u[t]);
            }
            self.centers
                .extend(parent.iter().zip(&u).map(|(&c, &e)| T::from_f64(c + e)));
            self.mass[j] /= 2.0;
            self.mass.push(self.mass[j]);
        }
        order.len()
    }

    /// Merges codevectors that came back within `delta` of each other (a split that did not
    /// take: above its critical temperature the pair converges): mass-weighted mean, masses
    /// added, the later one removed. Returns how many were merged away.
    pub fn merge(&mut self) -> usize {
        let d = self.d;
        let tol = self.delta * self.delta;
        let mut merged = 0;
        let mut a = 0;
        while a < self.active() {
            let mut b = a + 1;
            while b < self.active() {
                let dist: f64 = (0..d)
                    .map(|t| (self.centers[a * d + t] - self.centers[b * d + t]).to_f64())
                    .map(|v| v * v)
                    .sum();
                if dist <= tol {
                    let (pa, pb) = (self.mass[a], self.mass[b]);
                    let total = pa + pb;
                    for t in 0..d {
                        let (ca, cb) = (
                            self.centers[a * d + t].to_f64(),
                            self.centers[b * d + t].to_f64(),
                        );
                        self.centers[a * d + t] = T::from_f64(if total > 0.0 {
                            (pa * ca + pb * cb) / total
                        } else {
                            ca
                        });
                    }
                    self.mass[a] = total;
                    self.mass.remove(b);
                    self.centers.drain(b * d..(b + 1) * d);
                    merged += 1;
                } else {
                    b += 1;
                }
            }
            a += 1;
        }
        merged
    }

    /// All `k` centers (`k x d`): the active codevectors, then, while fewer than `k` are
    /// active, copies of the heaviest one (they coincide with it: the same J).
    pub fn padded(&self) -> Vec<T> {
        let d = self.d;
        let heaviest = (0..self.active())
            .max_by(|&a, &b| self.mass[a].total_cmp(&self.mass[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        let mut out = self.centers.clone();
        while out.len() < self.k * d {
            out.extend_from_within(heaviest * d..(heaviest + 1) * d);
        }
        out
    }
}

/// Rows the power iterations of [`cluster_lambda_max`] visit at most (every `ceil(n / this)`-th
/// row): the eigenvalue only times the splits.
const LAMBDA_ROWS: usize = 1 << 16;

/// Per center of `centers` (`m x d`): the largest eigenvalue of the weighted covariance of the
/// rows nearest to it (about the center) and its direction (`m x d`), by 50 power iterations
/// over at most [`LAMBDA_ROWS`] evenly spaced rows (no `d x d` matrix; a seeded random
/// start). 0 for a center without rows.
fn cluster_lambda_max<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    m: usize,
    rng: &mut Rng,
) -> (Vec<f64>, Vec<f64>) {
    let d = p.d;
    let labels = assign_labels(p, centers, m);
    let stride = p.n().div_ceil(LAMBDA_ROWS).max(1);
    let mut wsum = vec![0.0; m];
    for i in (0..p.n()).step_by(stride) {
        wsum[labels[i] as usize] += p.weight(i);
    }
    let mut v: Vec<f64> = (0..m * d).map(|_| rng.normal()).collect();
    let mut lambda = vec![0.0; m];
    let mut next = vec![0.0; m * d];
    let mut xc = vec![0.0; d];
    for _ in 0..50 {
        for j in 0..m {
            let vj = &mut v[j * d..(j + 1) * d];
            let norm = vj.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 0.0 {
                vj.iter_mut().for_each(|a| *a /= norm);
            }
        }
        next.fill(0.0);
        for i in (0..p.n()).step_by(stride) {
            let j = labels[i] as usize;
            let c = &centers[j * d..(j + 1) * d];
            for (t, (x, cc)) in p.row(i).iter().zip(c).enumerate() {
                xc[t] = (*x - *cc).to_f64();
            }
            let dot: f64 = xc
                .iter()
                .zip(&v[j * d..(j + 1) * d])
                .map(|(a, b)| a * b)
                .sum();
            let s = p.weight(i) * dot;
            for (o, a) in next[j * d..(j + 1) * d].iter_mut().zip(&xc) {
                *o += s * a;
            }
        }
        for j in 0..m {
            let nj = &next[j * d..(j + 1) * d];
            lambda[j] = if wsum[j] > 0.0 {
                nj.iter().map(|a| a * a).sum::<f64>().sqrt() / wsum[j]
            } else {
                0.0
            };
        }
        std::mem::swap(&mut v, &mut next);
    }
    (lambda, v)
}
