//! Clustering metrics: adjusted Rand index, normalized mutual information, Hungarian
//! matching, matched accuracy, and the discrepancy between two sets of centers.

/// The contingency table of two labelings, `ka x kb` counts: filled from whole label
/// arrays or block by block (rows in any order), then read as ARI or NMI. Labels at or above
/// `ka` / `kb` grow the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Contingency {
    t: Vec<Vec<f64>>,
    n: f64,
}

impl Contingency {
    /// An empty `ka x kb` table.
    pub fn new(ka: usize, kb: usize) -> Self {
        Self {
            t: vec![vec![0.0; kb]; ka],
            n: 0.0,
        }
    }

    /// A `ka x kb` table from its counts (row-major; e.g. tables of blocks added up).
    pub fn from_counts(ka: usize, kb: usize, counts: &[f64]) -> Self {
        assert_eq!(counts.len(), ka * kb, "a {ka} x {kb} table");
        let t: Vec<Vec<f64>> = (0..ka)
            .map(|i| counts[i * kb..(i + 1) * kb].to_vec())
            .collect();
        let n = counts.iter().sum();
        Self { t, n }
    }

    /// The table of `a` against `b` (sized by their largest labels).
    pub fn of(a: &[u32], b: &[u32]) -> Self {
        let ka = a.iter().max().map_or(0, |&m| m as usize + 1);
        let kb = b.iter().max().map_or(0, |&m| m as usize + 1);
        let mut c = Self::new(ka, kb);
        c.add(a, b);
        c
    }

    /// Counts the pairs `(a_i, b_i)`.
    pub fn add(&mut self, a: &[u32], b: &[u32]) {
        assert_eq!(a.len(), b.len(), "labelings of different lengths");
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (x as usize, y as usize);
            if x >= self.t.len() {
                let kb = self.t.first().map_or(0, |r| r.len());
                self.t.resize(x + 1, vec![0.0; kb]);
            }
            if y >= self.t[0].len() {
                self.t.iter_mut().for_each(|r| r.resize(y + 1, 0.0));
            }
            self.t[x][y] += 1.0;
        }
        self.n += a.len() as f64;
    }

    fn margins(&self) -> (Vec<f64>, Vec<f64>) {
        let rows = self.t.iter().map(|r| r.iter().sum()).collect();
        let cols = (0..self.t.first().map_or(0, |r| r.len()))
            .map(|j| self.t.iter().map(|r| r[j]).sum())
            .collect();
        (rows, cols)
    }

    /// Adjusted Rand index (Hubert & Arabie): 1 for identical partitions, ~0 for random ones.
    /// Empty rows and columns of the table do not change it.
    pub fn ari(&self) -> f64 {
        let sum_ij: f64 = self.t.iter().flatten().map(|&v| comb2(v)).sum();
        let (rows, cols) = self.margins();
        let sa: f64 = rows.iter().map(|&v| comb2(v)).sum();
        let sb: f64 = cols.iter().map(|&v| comb2(v)).sum();
        let expected = sa * sb / comb2(self.n);
        let max = 0.5 * (sa + sb);
        if (max - expected).abs() < 1e-300 {
            return 1.0; // both partitions trivial (one cluster, or all singletons): identical
        }
        (sum_ij - expected) / (max - expected)
    }

    /// Normalized mutual information with the arithmetic mean of the entropies
    /// (scikit-learn's default): 1 for identical partitions.
    pub fn nmi(&self) -> f64 {
        let n = self.n;
        let (rows, cols) = self.margins();
        let h = |v: &[f64]| -> f64 {
            v.iter()
                .filter(|&&c| c > 0.0)
                .map(|&c| -(c / n) * (c / n).ln())
                .sum()
        };
        let (ha, hb) = (h(&rows), h(&cols));
        let mut mi = 0.0;
        for (i, r) in self.t.iter().enumerate() {
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
}

fn comb2(x: f64) -> f64 {
    x * (x - 1.0) / 2.0
}

/// Adjusted Rand index (Hubert & Arabie): 1 for identical partitions, ~0 for random ones.
pub fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    Contingency::of(a, b).ari()
}

/// Normalized mutual information with the arithmetic mean of the entropies (scikit-learn's
/// default): 1 for identical partitions.
pub fn normalized_mutual_info(a: &[u32], b: &[u32]) -> f64 {
    Contingency::of(a, b).nmi()
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
    let t = Contingency::of(truth, pred).t;
    let (ka, kb) = (t.len(), t.first().map_or(0, |r| r.len()));
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
