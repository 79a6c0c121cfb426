//! Clustering metrics: adjusted Rand index, normalized mutual information, Hungarian
//! matching, matched accuracy, and the discrepancy between two sets of centers.

/// Contingency table of two labelings (`a` rows, `b` columns).
fn contingency(a: &[u32], b: &[u32]) -> (Vec<Vec<f64>>, usize, usize) {
    assert_eq!(a.len(), b.len(), "labelings of different lengths");
    let ka = a.iter().max().map_or(0, |&m| m as usize + 1);
    let kb = b.iter().max().map_or(0, |&m| m as usize + 1);
    let mut t = vec![vec![0.0; kb]; ka];
    for (&x, &y) in a.iter().zip(b) {
        t[x as usize][y as usize] += 1.0;
    }
    (t, ka, kb)
}

fn comb2(x: f64) -> f64 {
    x * (x - 1.0) / 2.0
}

/// Adjusted Rand index (Hubert & Arabie): 1 for identical partitions, ~0 for random ones.
pub fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len() as f64;
    let (t, _, _) = contingency(a, b);
    let sum_ij: f64 = t.iter().flatten().map(|&v| comb2(v)).sum();
    let rows: Vec<f64> = t.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..t.first().map_or(0, |r| r.len()))
        .map(|j| t.iter().map(|r| r[j]).sum())
        .collect();
    let sa: f64 = rows.iter().map(|&v| comb2(v)).sum();
    let sb: f64 = cols.iter().map(|&v| comb2(v)).sum();
    let expected = sa * sb / comb2(n);
    let max = 0.5 * (sa + sb);
    if (max - expected).abs() < 1e-300 {
        return 1.0; // both partitions trivial (one cluster, or all singletons): identical
    }
    (sum_ij - expected) / (max - expected)
}

/// Normalized mutual information with the arithmetic mean of the entropies (scikit-learn's
/// default): 1 for identical partitions.
pub fn normalized_mutual_info(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len() as f64;
    let (t, _, _) = contingency(a, b);
    let rows: Vec<f64> = t.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..t.first().map_or(0, |r| r.len()))
        .map(|j| t.iter().map(|r| r[j]).sum())
        .collect();
    let h = |v: &[f64]| -> f64 {
        v.iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| -(c / n) * (c / n).ln())
            .sum()
    };
    let (ha, hb) = (h(&rows), h(&cols));
    let mut mi = 0.0;
    for (i, r) in t.iter().enumerate() {
        for (j, &c) in r.iter().enumerate() {
            if c > 0.0 {
                mi += (c / n) * ((c * n) / (rows[i] * cols[j])).ln();
            }
        }
    }
    let denom = 0.5 * (ha + hb);
    if denom <= 0.0 {
        return 1.0;
    }
    (mi / denom).clamp(0.0, 1.0)
}

/// Minimum-cost assignment of an `n x n` cost matrix (row-major): `assign[row] = column`.
/// Hungarian algorithm with potentials, O(n^3).
pub fn hungarian(cost: &[f64], n: usize) -> Vec<usize> {
    assert_eq!(cost.len(), n * n);
    let inf = f64::INFINITY;
    // 1-based arrays; p[j] = row matched to column j.
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut assign = vec![0usize; n];
    for j in 1..=n {
        if p[j] > 0 {
            assign[p[j] - 1] = j - 1;
        }
    }
    assign
}

/// Fraction of rows whose label in `pred` maps to their label in `truth` under the best
/// one-to-one matching of clusters (Hungarian on the contingency table).
pub fn matched_accuracy(truth: &[u32], pred: &[u32]) -> f64 {
    let (t, ka, kb) = contingency(truth, pred);
    let m = ka.max(kb);
    let mut cost = vec![0.0; m * m];
    for i in 0..ka {
        for j in 0..kb {
            cost[i * m + j] = -t[i][j];
        }
    }
    let a = hungarian(&cost, m);
    let hits: f64 = (0..ka)
        .map(|i| if a[i] < kb { t[i][a[i]] } else { 0.0 })
        .sum();
    hits / truth.len().max(1) as f64
}

/// Discrepancy between two `k x d` sets of centers: match them one-to-one minimizing the total
/// squared distance (Hungarian), then the largest Euclidean distance of a matched pair.
pub fn center_discrepancy(a: &[f64], b: &[f64], k: usize, d: usize) -> f64 {
    let mut cost = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            cost[i * k + j] = (0..d).map(|t| (a[i * d + t] - b[j * d + t]).powi(2)).sum();
        }
    }
    let m = hungarian(&cost, k);
    (0..k)
        .map(|i| cost[i * k + m[i]].sqrt())
        .fold(0.0, f64::max)
}
