//! What Lloyd and Hamerly share: the M-step with empty-cluster relocation, and inertia.

use crate::data::MatView;
use crate::data::Prepared;
use crate::kernels::layout::distance::sq_dist;
use crate::kernels::layout::tiles::Blocking;
use crate::kernels::update::{accumulate_hard, ClusterSums, TileSums};
use crate::real::Real;
use rayon::prelude::*;

/// The outcome of one K-Means restart.
#[derive(Clone, Debug)]
pub struct RunResult<T> {
    /// `k x d` centers.
    pub centers: Vec<T>,
    /// `n` labels, assigned to the returned centers.
    pub labels: Vec<u32>,
    /// `sum_i w_i ||x_i - c_{label_i}||^2`, accumulated in f64.
    pub inertia: f64,
    /// Iterations run.
    pub n_iter: usize,
    /// True when labels stopped changing (rather than the tolerance or the cap stopping it).
    pub strict_convergence: bool,
    /// True when a stop flag ended the run before its stopping rules did.
    pub interrupted: bool,
}

/// Per-cluster sums of the rows by `labels`, over the chunks of `blocking`, merged in order.
/// Gives the same bits as the sums the fused Lloyd pass accumulates (same tiles, same order).
pub fn cluster_sums<T: Real>(
    p: &Prepared<'_, T>,
    labels: &[u32],
    k: usize,
    blocking: Blocking,
) -> ClusterSums {
    let mut total = ClusterSums::zeros(k, p.d);
    cluster_sums_into(p, labels, k, blocking, &mut total);
    total
}

/// [`cluster_sums`] added to the running sums `into` (`k x d`) of the rows before `p`'s, chunk
/// by chunk in order: blocks whose sizes are multiples of `blocking.chunk_rows`, read one
/// after another, give the sums of one call over all their rows (the same bits).
pub fn cluster_sums_into<T: Real>(
    p: &Prepared<'_, T>,
    labels: &[u32],
    k: usize,
    blocking: Blocking,
    into: &mut ClusterSums,
) {
    let d = p.d;
    let cr = blocking.chunk_rows;
    let parts: Vec<ClusterSums> = labels
        .par_chunks(cr)
        .enumerate()
        .map(|(ci, lc)| {
            let r0 = ci * cr;
            let r1 = r0 + lc.len();
            let mut acc = ClusterSums::zeros(k, d);
            let mut tile = TileSums::hard(p.isa, k, d);
            let mut t0 = r0;
            while t0 < r1 {
                let t1 = (t0 + blocking.tile_rows).min(r1);
                let w = p.w.map(|w| &w[t0..t1]);
                let x = &p.x[t0 * d..t1 * d];
                accumulate_hard(p.isa, x, d, w, &lc[t0 - r0..t1 - r0], &mut tile);
                tile.tile_done(t1 - t0, &mut acc);
                t0 = t1;
            }
            tile.flush_into(&mut acc);
            acc
        })
        .collect();
    for part in &parts {
        into.merge(part);
    }
}

/// The M-step: relocates empty clusters to the farthest rows from their old centers (as
/// scikit-learn does), then writes the means into `new_centers` (`k x d`).
/// Returns `sum_k ||new_k - old_k||^2` and the number of relocated clusters.
pub fn update_centers<T: Real>(
    p: &Prepared<'_, T>,
    labels: &[u32],
    old_centers: &[T],
    mut sums: ClusterSums,
    new_centers: &mut [T],
) -> (f64, usize) {
    let d = p.d;
    let k = sums.weight.len();
    let empty: Vec<usize> = (0..k).filter(|&c| sums.weight[c] == 0.0).collect();
    if !empty.is_empty() {
        let far = farthest_rows(p, labels, old_centers, empty.len());
        for (&e, &i) in empty.iter().zip(&far) {
            let old = labels[i] as usize;
            let wi = p.weight(i);
            for (t, &v) in p.row(i).iter().enumerate() {
                sums.sums[old * d + t] -= v.to_f64() * wi;
                sums.sums[e * d + t] = v.to_f64() * wi;
            }
            sums.weight[e] = wi;
            sums.weight[old] -= wi;
        }
    }
    (write_means(&sums, old_centers, new_centers), empty.len())
}

/// `new_centers[c] = sums[c] / weight[c]` (a center without weight stays where it was);
/// returns `sum_k ||new_k - old_k||^2`. The last half of every M-step.
pub fn write_means<T: Real>(sums: &ClusterSums, old_centers: &[T], new_centers: &mut [T]) -> f64 {
    let (d, k) = (sums.d, sums.weight.len());
    let mut shift = 0.0;
    for c in 0..k {
        let wc = sums.weight[c];
        for t in 0..d {
            let old = old_centers[c * d + t];
            let v = if wc > 0.0 {
                T::from_f64(sums.sums[c * d + t] / wc)
            } else {
                old
            };
            let diff = (v - old).to_f64();
            shift += diff * diff;
            new_centers[c * d + t] = v;
        }
    }
    shift
}

/// The `m` rows farthest from their assigned centers, farthest first, lowest index on ties.
fn farthest_rows<T: Real>(
    p: &Prepared<'_, T>,
    labels: &[u32],
    centers: &[T],
    m: usize,
) -> Vec<usize> {
    let d = p.d;
    let mut dist: Vec<(f64, usize)> = labels
        .par_iter()
        .enumerate()
        .map(|(i, &l)| {
            let c = &centers[l as usize * d..(l as usize + 1) * d];
            (sq_dist(p.row(i), c).to_f64(), i)
        })
        .collect();
    let by_far = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if m < dist.len() {
        dist.select_nth_unstable_by(m, by_far);
        dist.truncate(m);
    }
    dist.sort_by(by_far);
    dist.into_iter().map(|(_, i)| i).collect()
}

/// `sum_i w_i ||x_i - c_{label_i}||^2` from direct differences, f64, deterministic chunks.
pub fn inertia<T: Real>(
    p: &Prepared<'_, T>,
    labels: &[u32],
    centers: &[T],
    chunk_rows: usize,
) -> f64 {
    let mut s = InertiaSum::new(chunk_rows);
    s.add(p.x, p.d, p.w, labels, centers);
    s.total()
}

/// [`inertia`] over rows that come in blocks of any size: each chunk of `chunk_rows` rows
/// (counted from the first row of the first block) is summed in row order, and the chunks'
/// sums are added in order, so the total has the bits of one call over all the rows.
#[derive(Clone, Debug)]
pub struct InertiaSum {
    chunk_rows: usize,
    /// Rows added so far.
    rows: usize,
    /// The sum of the chunks completed so far.
    done: f64,
    /// The sum of the rows of the chunk in progress.
    open: f64,
}

impl InertiaSum {
    /// No rows yet; chunks of `chunk_rows` (>= 1) rows.
    pub fn new(chunk_rows: usize) -> Self {
        Self {
            chunk_rows: chunk_rows.max(1),
            rows: 0,
            done: 0.0,
            open: 0.0,
        }
    }

    /// Adds the next block's rows `x` (`n x d`, weights `w` or 1), labelled `labels` (`n`)
    /// among `centers` (`k x d`).
    pub fn add<T: Real>(
        &mut self,
        x: &[T],
        d: usize,
        w: Option<&[T]>,
        labels: &[u32],
        centers: &[T],
    ) {
        let cr = self.chunk_rows;
        let term = |i: usize| {
            let l = labels[i] as usize;
            let wi = w.map_or(1.0, |w| w[i].to_f64());
            wi * sq_dist(&x[i * d..(i + 1) * d], &centers[l * d..(l + 1) * d]).to_f64()
        };
        let n = labels.len();
        // Finish the chunk in progress, then whole chunks in parallel, then open the last.
        let head = ((cr - self.rows % cr) % cr).min(n);
        for i in 0..head {
            self.open += term(i);
        }
        self.rows += head;
        if self.rows.is_multiple_of(cr) && head > 0 {
            self.done += self.open;
            self.open = 0.0;
        }
        let whole = (n - head) / cr * cr;
        let parts: Vec<f64> = (0..whole / cr)
            .into_par_iter()
            .map(|c| {
                let mut s = 0.0;
                for i in head + c * cr..head + (c + 1) * cr {
                    s += term(i);
                }
                s
            })
            .collect();
        for v in parts {
            self.done += v;
        }
        self.rows += whole;
        for i in head + whole..n {
            self.open += term(i);
        }
        self.rows += n - head - whole;
    }

    /// The sum over every row added.
    pub fn total(&self) -> f64 {
        if self.rows.is_multiple_of(self.chunk_rows) {
            self.done
        } else {
            self.done + self.open
        }
    }
}

/// Progress of one iteration, for observers (progress bars, logs).
#[derive(Clone, Copy, Debug)]
pub struct IterInfo {
    /// 1-based iteration.
    pub iter: usize,
    /// `sum_k ||c_new - c_old||^2`.
    pub center_shift: f64,
    /// Empty clusters relocated in this iteration.
    pub relocated: usize,
}

/// Why a run ends after an iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The labels did not change (strict convergence).
    Strict,
    /// `sum_k ||dc_k||^2 <= tol_abs`.
    Tolerance,
    /// A stop flag was raised.
    Interrupted,
}

/// Reports iteration `info` to `observer`, then applies scikit-learn's stopping rules in order:
/// labels unchanged, center shift within `tol_abs`, then the caller's `stop` flag.
pub fn end_of_iteration(
    observer: &(dyn Fn(IterInfo) + Sync),
    info: IterInfo,
    labels_changed: bool,
    tol_abs: f64,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> Option<Stop> {
    observer(info);
    if !labels_changed {
        Some(Stop::Strict)
    } else if info.center_shift <= tol_abs {
        Some(Stop::Tolerance)
    } else if stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
        Some(Stop::Interrupted)
    } else {
        None
    }
}

/// `mean_j var(X[:, j])` (unweighted, population variance, as scikit-learn's tolerance).
pub fn mean_variance<T: Real>(x: MatView<'_, T>) -> f64 {
    let (n, d) = (x.n(), x.d());
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        for (m, v) in mean.iter_mut().zip(x.row(i)) {
            *m += v.to_f64();
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut var = vec![0.0f64; d];
    for i in 0..n {
        for ((s, v), m) in var.iter_mut().zip(x.row(i)).zip(&mean) {
            let t = v.to_f64() - m;
            *s += t * t;
        }
    }
    var.iter().sum::<f64>() / (n as f64 * d as f64)
}
