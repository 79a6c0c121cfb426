//! Naive twins of the fast kernels, written for clarity, in f64. Tests compare against them.

/// `n x k` squared distances from direct differences, in f64.
pub fn sq_dists(x: &[f64], d: usize, centers: &[f64]) -> Vec<f64> {
    let n = x.len().checked_div(d).unwrap_or(0);
    let k = centers.len().checked_div(d).unwrap_or(0);
    let mut out = vec![0.0; n * k];
    for i in 0..n {
        for j in 0..k {
            let mut s = 0.0;
            for t in 0..d {
                let diff = x[i * d + t] - centers[j * d + t];
                s += diff * diff;
            }
            out[i * k + j] = s;
        }
    }
    out
}

/// Nearest center of each row (lowest index on ties) and the squared distance to it.
pub fn assign(x: &[f64], d: usize, centers: &[f64]) -> (Vec<u32>, Vec<f64>) {
    let k = centers.len() / d;
    let dist = sq_dists(x, d, centers);
    let n = x.len() / d;
    let mut labels = vec![0u32; n];
    let mut best = vec![0.0; n];
    for i in 0..n {
        let row = &dist[i * k..(i + 1) * k];
        let mut b = 0;
        for j in 1..k {
            if row[j] < row[b] {
                b = j;
            }
        }
        labels[i] = b as u32;
        best[i] = row[b];
    }
    (labels, best)
}

/// The result of [`lloyd`].
#[derive(Clone, Debug)]
pub struct LloydResult {
    /// `k x d` final centers.
    pub centers: Vec<f64>,
    /// Final labels (assigned to the final centers).
    pub labels: Vec<u32>,
    /// `sum_i w_i ||x_i - c_{label_i}||^2`.
    pub inertia: f64,
    /// Iterations run.
    pub n_iter: usize,
}

/// Plain Lloyd with scikit-learn's semantics: stop when labels do not change or when
/// `sum_k ||dc_k||^2 <= tol_abs`; empty clusters take the farthest points (from their old
/// centers, farthest first, lowest index on ties); a final assignment when not strictly converged.
pub fn lloyd(
    x: &[f64],
    d: usize,
    w: &[f64],
    init: &[f64],
    max_iter: usize,
    tol_abs: f64,
) -> LloydResult {
    let n = x.len() / d;
    let k = init.len() / d;
    let mut centers = init.to_vec();
    let mut labels_old = vec![u32::MAX; n];
    let mut labels = vec![0u32; n];
    let mut strict = false;
    let mut n_iter = 0;
    for it in 0..max_iter {
        n_iter = it + 1;
        let (l, _) = assign(x, d, &centers);
        labels = l;
        let mut sums = vec![0.0; k * d];
        let mut weight = vec![0.0; k];
        for i in 0..n {
            let c = labels[i] as usize;
            weight[c] += w[i];
            for t in 0..d {
                sums[c * d + t] += w[i] * x[i * d + t];
            }
        }
        let empty: Vec<usize> = (0..k).filter(|&c| weight[c] == 0.0).collect();
        if !empty.is_empty() {
            let mut far: Vec<(f64, usize)> = (0..n)
                .map(|i| {
                    let c = labels[i] as usize;
                    let s: f64 = (0..d)
                        .map(|t| (x[i * d + t] - centers[c * d + t]).powi(2))
                        .sum();
                    (s, i)
                })
                .collect();
            far.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            for (e, &(_, i)) in empty.iter().zip(&far) {
                let old = labels[i] as usize;
                for t in 0..d {
                    sums[old * d + t] -= x[i * d + t] * w[i];
                    sums[e * d + t] = x[i * d + t] * w[i];
                }
                weight[*e] = w[i];
                weight[old] -= w[i];
            }
        }
        let mut shift = 0.0;
        for c in 0..k {
            for t in 0..d {
                let v = if weight[c] > 0.0 {
                    sums[c * d + t] / weight[c]
                } else {
                    centers[c * d + t]
                };
                shift += (v - centers[c * d + t]).powi(2);
                centers[c * d + t] = v;
            }
        }
        if labels == labels_old {
            strict = true;
            break;
        }
        if shift <= tol_abs {
            break;
        }
        labels_old.clone_from(&labels);
    }
    if !strict {
        labels = assign(x, d, &centers).0;
    }
    let inertia = (0..n)
        .map(|i| {
            let c = labels[i] as usize;
            w[i] * (0..d)
                .map(|t| (x[i * d + t] - centers[c * d + t]).powi(2))
                .sum::<f64>()
        })
        .sum();
    LloydResult {
        centers,
        labels,
        inertia,
        n_iter,
    }
}

/// Greedy k-means++ written plainly (f64, direct distances), drawing from `rng` exactly as
/// [`crate::init::kmeans_plus_plus`] does: the first center with probability proportional to
/// the weight, then per step `2 + floor(ln k)` candidates with probability proportional to
/// `w_i D_i`, keeping the one with the lowest potential; while two or more centers remain, the
/// next step's candidates are drawn before the step by rejection (rows proposed with
/// probability proportional to `w_i D_i`, accepted for trial `t` with probability
/// `min(D_p, D(x_p, T_t)) / D_p`), and when the winner's set is full its best becomes the
/// next center at once.
pub fn kmeans_plus_plus(
    x: &[f64],
    d: usize,
    w: &[f64],
    k: usize,
    rng: &mut crate::rng::Rng,
) -> Vec<f64> {
    kmeans_plus_plus_traced(x, d, w, k, rng).0
}

/// One greedy choice of [`kmeans_plus_plus_traced`]: center number `center` was the best of
/// the candidate `rows`, whose potentials are `pots`.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Index of the chosen center.
    pub center: usize,
    /// Candidate rows, in draw order.
    pub rows: Vec<usize>,
    /// Their potentials.
    pub pots: Vec<f64>,
}

/// [`kmeans_plus_plus`] with every choice it made (for tests that must tell a tie of
/// potentials, where a different summation order may legitimately pick the other row).
pub fn kmeans_plus_plus_traced(
    x: &[f64],
    d: usize,
    w: &[f64],
    k: usize,
    rng: &mut crate::rng::Rng,
) -> (Vec<f64>, Vec<Selection>) {
    let mut trace = Vec::new();
    let n = x.len() / d;
    let trials = crate::init::n_local_trials(k);
    let draw = |mass: &[f64], r: f64| -> usize {
        let mut acc = 0.0;
        let mut last = 0;
        for (i, &m) in mass.iter().enumerate() {
            if m > 0.0 {
                acc += m;
                last = i;
                if acc > r {
                    return i;
                }
            }
        }
        last
    };
    let total: f64 = w.iter().sum();
    let first = draw(w, rng.uniform() * total);
    let mut centers = x[first * d..(first + 1) * d].to_vec();
    let dist =
        |i: usize, j: usize| -> f64 { (0..d).map(|t| (x[i * d + t] - x[j * d + t]).powi(2)).sum() };
    let mut closest: Vec<f64> = (0..n).map(|i| dist(i, first)).collect();
    // min(closest, D(., c)) for a row c, and its potential.
    let after = |closest: &[f64], c: usize| -> (f64, Vec<f64>) {
        let nd: Vec<f64> = (0..n).map(|i| closest[i].min(dist(i, c))).collect();
        ((0..n).map(|i| w[i] * nd[i]).sum(), nd)
    };
    let mut chosen = 1;
    while chosen < k {
        let mass: Vec<f64> = (0..n).map(|i| w[i] * closest[i]).collect();
        let pot: f64 = mass.iter().sum();
        let cands: Vec<usize> = (0..trials)
            .map(|_| draw(&mass, rng.uniform() * pot))
            .collect();
        let mut sets: Vec<Vec<usize>> = vec![Vec::new(); trials];
        if k - chosen >= 2 {
            let mut proposals = 0;
            while sets.iter().any(|s| s.len() < trials) && proposals < 64 * trials {
                let p = draw(&mass, rng.uniform() * pot);
                let v = rng.uniform();
                proposals += 1;
                for (set, &c) in sets.iter_mut().zip(&cands) {
                    if set.len() < trials && v * closest[p] < closest[p].min(dist(p, c)) {
                        set.push(p);
                    }
                }
            }
        }
        let mut best = (f64::INFINITY, 0usize, Vec::new());
        let mut pots = Vec::new();
        for (t, &c) in cands.iter().enumerate() {
            let (p, nd) = after(&closest, c);
            pots.push(p);
            if p < best.0 {
                best = (p, t, nd);
            }
        }
        trace.push(Selection {
            center: chosen,
            rows: cands.clone(),
            pots,
        });
        let t = best.1;
        centers.extend_from_slice(&x[cands[t] * d..(cands[t] + 1) * d]);
        chosen += 1;
        closest = best.2;
        if sets[t].len() == trials {
            let mut second = (f64::INFINITY, 0usize, Vec::new());
            let mut pots = Vec::new();
            for &c in &sets[t] {
                let (p, nd) = after(&closest, c);
                pots.push(p);
                if p < second.0 {
                    second = (p, c, nd);
                }
            }
            trace.push(Selection {
                center: chosen,
                rows: sets[t].clone(),
                pots,
            });
            centers.extend_from_slice(&x[second.1 * d..(second.1 + 1) * d]);
            chosen += 1;
            closest = second.2;
        }
    }
    (centers, trace)
}
