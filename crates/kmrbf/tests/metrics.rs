//! Metrics against known values and brute force.

use kmrbf::metrics::*;

#[test]
fn ari_and_nmi_match_known_values() {
    // Values from scikit-learn's documentation / computed by hand.
    let a = [0, 0, 1, 1];
    let b = [0, 0, 1, 2];
    assert!((adjusted_rand_index(&a, &b) - 0.571_428_571_428_571_5).abs() < 1e-12);
    assert!((normalized_mutual_info(&a, &b) - 0.8).abs() < 1e-12);
    // Relabeling does not matter.
    assert_eq!(adjusted_rand_index(&[0, 0, 1, 1, 2], &[2, 2, 0, 0, 1]), 1.0);
    assert!((normalized_mutual_info(&[0, 0, 1, 1, 2], &[2, 2, 0, 0, 1]) - 1.0).abs() < 1e-12);
    // Independent labelings score about zero (exactly -0.5 here by the formula).
    let ari = adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]);
    assert!((ari - (-0.5)).abs() < 1e-12, "{ari}");
}

fn brute_force(cost: &[f64], n: usize) -> f64 {
    fn rec(cost: &[f64], n: usize, row: usize, used: &mut Vec<bool>, acc: f64, best: &mut f64) {
        if row == n {
            *best = best.min(acc);
            return;
        }
        for j in 0..n {
            if !used[j] {
                used[j] = true;
                rec(cost, n, row + 1, used, acc + cost[row * n + j], best);
                used[j] = false;
            }
        }
    }
    let mut best = f64::INFINITY;
    rec(cost, n, 0, &mut vec![false; n], 0.0, &mut best);
    best
}

#[test]
fn hungarian_finds_the_minimum_assignment() {
    let mut rng = kmrbf::rng::Rng::new(1);
    for n in 1..=7 {
        for _ in 0..20 {
            let cost: Vec<f64> = (0..n * n).map(|_| (rng.uniform() * 10.0).floor()).collect();
            let a = hungarian(&cost, n);
            let mut seen = vec![false; n];
            for &j in &a {
                assert!(!seen[j], "not a permutation");
                seen[j] = true;
            }
            let total: f64 = (0..n).map(|i| cost[i * n + a[i]]).sum();
            assert_eq!(total, brute_force(&cost, n), "n = {n}");
        }
    }
}

#[test]
fn discrepancy_ignores_the_order_of_centers() {
    let a = [0.0, 0.0, 10.0, 0.0, 0.0, 10.0];
    let b = [0.0, 10.5, 0.1, 0.0, 10.0, 0.0];
    let d = center_discrepancy(&a, &b, 3, 2);
    assert!((d - 0.5).abs() < 1e-12, "{d}");
    assert_eq!(
        matched_accuracy(&[0, 0, 1, 1, 2, 2], &[1, 1, 2, 2, 0, 0]),
        1.0
    );
    assert!((matched_accuracy(&[0, 0, 1, 1], &[0, 0, 0, 1]) - 0.75).abs() < 1e-12);
}

/// ARI and NMI from a table filled block by block (k x k, empty rows and columns included)
/// have the bits of the whole-array functions; the chunked inertia summed over blocks of any
/// size has the bits of one call.
#[test]
fn metrics_and_inertia_filled_in_blocks_equal_the_whole() {
    use kmrbf::kmeans::step::{inertia, InertiaSum};
    use kmrbf::metrics::{adjusted_rand_index, normalized_mutual_info, Contingency};
    let n = 10_007;
    let a: Vec<u32> = (0..n).map(|i| ((i * 7919) % 13 % 9) as u32).collect();
    let b: Vec<u32> = (0..n).map(|i| ((i * 104_729) % 11 % 7) as u32).collect();
    let mut t = Contingency::new(16, 16);
    for (ca, cb) in a.chunks(999).zip(b.chunks(999)) {
        t.add(ca, cb);
    }
    assert_eq!(t.ari(), adjusted_rand_index(&a, &b));
    assert_eq!(t.nmi(), normalized_mutual_info(&a, &b));
    assert!(t.ari() < 0.99);
    let d = 3;
    let ds = kmrbf::synth::blobs(n, d, 4, 1.0, 2);
    let c: Vec<f64> = ds.x[..4 * d].to_vec();
    let labels: Vec<u32> = (0..n).map(|i| (i % 4) as u32).collect();
    let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
    let mut xn = vec![0.0; n];
    kmrbf::kernels::layout::distance::row_sq_norms(&ds.x, d, &mut xn);
    let p = kmrbf::data::Prepared::new(&ds.x, d, &xn, Some(&w), kmrbf::Isa::detect()).unwrap();
    let want = inertia(&p, &labels, &c, 1000);
    for block in [1usize, 7, 999, 1000, 1001, 4000, n] {
        let mut s = InertiaSum::new(1000);
        for r0 in (0..n).step_by(block) {
            let r1 = (r0 + block).min(n);
            s.add(
                &ds.x[r0 * d..r1 * d],
                d,
                Some(&w[r0..r1]),
                &labels[r0..r1],
                &c,
            );
        }
        assert_eq!(s.total(), want, "blocks of {block}");
    }
}
