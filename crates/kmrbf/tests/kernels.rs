//! The fast kernels against their naive references.

mod common;
use kmrbf::kernels::argmin::argmin_rows;
use kmrbf::kernels::distance::{neg2_cross_tile, row_sq_norms};
use kmrbf::kernels::packed::{self, argmin_rows_packed, Packed};
use kmrbf::kernels::reference;
use kmrbf::rng::Rng;
use kmrbf::Real;

fn random(n: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal()).collect()
}

/// Labels from the GEMM + epilogue path and from the packed kernel, for a tile in `T`.
fn both_paths<T: Real>(x: &[T], c: &[T], d: usize, k: usize) -> (Vec<u32>, Option<Vec<u32>>) {
    let b = x.len() / d;
    let mut cn = vec![T::ZERO; k];
    row_sq_norms(c, d, &mut cn);
    let mut cross = vec![T::ZERO; b * k];
    neg2_cross_tile(x, d, c, k, &mut cross);
    let mut l1 = vec![0u32; b];
    let mut best = vec![T::ZERO; b];
    argmin_rows(&cross, k, &cn, &mut l1, &mut best);
    let l2 = packed::available().then(|| {
        let pk = Packed::new(c, &cn, k, d, T::NB);
        let mut l2 = vec![0u32; b];
        argmin_rows_packed(x, &pk, &mut l2, &mut best);
        l2
    });
    (l1, l2)
}

#[test]
fn argmin_matches_reference_for_many_shapes() {
    for &(b, d, k) in &[
        (1, 1, 1),
        (7, 3, 5),
        (37, 17, 33),
        (100, 32, 64),
        (64, 5, 100),
        (9, 64, 17),
    ] {
        let x = random(b * d, 1 + b as u64);
        let c = random(k * d, 2 + k as u64);
        let (want, _) = reference::assign(&x, d, &c);
        let (l1, l2) = both_paths(&x, &c, d, k);
        assert_eq!(l1, want, "gemm path, shape {b} x {d}, k = {k}");
        if let Some(l2) = l2 {
            assert_eq!(l2, want, "packed path, shape {b} x {d}, k = {k}");
        }
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
        let (l1, l2) = both_paths(&x32, &c32, d, k);
        // f32 may flip true near-ties; on random normal data there are none at this size.
        assert_eq!(l1, want, "f32 gemm path, shape {b} x {d}, k = {k}");
        if let Some(l2) = l2 {
            assert_eq!(l2, want, "f32 packed path, shape {b} x {d}, k = {k}");
        }
    }
}

#[test]
fn argmin_ties_go_to_the_lowest_index() {
    // Every center duplicated: the nearest always has a twin at a higher index.
    let d = 4;
    let k = 40;
    let base = random(20 * d, 9);
    let mut c = base.clone();
    c.extend_from_slice(&base);
    let x = random(50 * d, 10);
    let (want, _) = reference::assign(&x, d, &c);
    assert!(want.iter().all(|&l| l < 20));
    let (l1, l2) = both_paths(&x, &c, d, k);
    assert_eq!(l1, want);
    if let Some(l2) = l2 {
        assert_eq!(l2, want);
    }
}

#[test]
fn squared_norms_match_direct_sums() {
    let d = 19;
    let x = random(13 * d, 3);
    let mut out = vec![0.0; 13];
    row_sq_norms(&x, d, &mut out);
    for i in 0..13 {
        let direct: f64 = x[i * d..(i + 1) * d].iter().map(|v| v * v).sum();
        assert!((out[i] - direct).abs() <= 1e-12 * direct.max(1.0));
    }
}
