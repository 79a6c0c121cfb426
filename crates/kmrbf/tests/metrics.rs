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
