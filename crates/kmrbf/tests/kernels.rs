//! The fast kernels against their naive references.

mod common;
use kmrbf::kernels::assign::argmin::argmin_rows;
use kmrbf::kernels::assign::lowdim;
use kmrbf::kernels::assign::packed::{self, argmin_rows_packed};
use kmrbf::kernels::assign::packing::Packed;
use kmrbf::kernels::layout::distance::{neg2_cross_tile, row_sq_norms};
use kmrbf::reference;
use kmrbf::rng::Rng;
use kmrbf::{Isa, Real};

fn random(n: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal()).collect()
}

/// Labels from the GEMM + epilogue path and from the packed kernel, for a tile in `T`, on
/// tier `isa`.
fn both_paths<T: Real>(
    isa: Isa,
    x: &[T],
    c: &[T],
    d: usize,
    k: usize,
) -> (Vec<u32>, Option<Vec<u32>>) {
    let b = x.len() / d;
    let mut cn = vec![T::ZERO; k];
    row_sq_norms(c, d, &mut cn);
    let mut cross = vec![T::ZERO; b * k];
    neg2_cross_tile(x, d, c, k, &mut cross);
    let mut l1 = vec![0u32; b];
    let mut best = vec![T::ZERO; b];
    argmin_rows(isa, &cross, k, &cn, &mut l1, &mut best);
    let l2 = packed::argmin_available(isa, k).then(|| {
        let pk = Packed::new(c, &cn, k, d, packed::argmin_block::<T>(isa, k));
        let mut l2 = vec![0u32; b];
        argmin_rows_packed(isa, x, &pk, &mut l2, &mut best);
        l2
    });
    (l1, l2)
}

#[test]
fn argmin_matches_reference_for_many_shapes() {
    for isa in common::tiers("argmin_matches_reference_for_many_shapes") {
        argmin_matches_reference_on(isa);
    }
}

fn argmin_matches_reference_on(isa: Isa) {
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
        let (l1, l2) = both_paths(isa, &x, &c, d, k);
        assert_eq!(l1, want, "gemm path, shape {b} x {d}, k = {k}, {isa}");
        if let Some(l2) = l2 {
            assert_eq!(l2, want, "packed path, shape {b} x {d}, k = {k}, {isa}");
        }
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
        let (l1, l2) = both_paths(isa, &x32, &c32, d, k);
        // f32 may flip true near-ties; on random normal data there are none at this size.
        assert_eq!(l1, want, "f32 gemm path, shape {b} x {d}, k = {k}, {isa}");
        if let Some(l2) = l2 {
            assert_eq!(l2, want, "f32 packed path, shape {b} x {d}, k = {k}, {isa}");
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
    for isa in common::tiers("argmin_ties_go_to_the_lowest_index") {
        let (l1, l2) = both_paths(isa, &x, &c, d, k);
        assert_eq!(l1, want, "{isa}");
        if let Some(l2) = l2 {
            assert_eq!(l2, want, "{isa}");
        }
    }
}

/// `a * b + c` rounded once, in `T` (`Real::mul_add` may round twice).
fn fma<T: Real>(a: T, b: T, c: T) -> T {
    if T::NAME == "f32" {
        let f = |v: T| v.to_f64() as f32;
        T::from_f64(f(a).mul_add(f(b), f(c)) as f64)
    } else {
        T::from_f64(a.to_f64().mul_add(b.to_f64(), c.to_f64()))
    }
}

/// The packed argmin kernel of tier `isa` (AVX-512 or AVX2) returns as `best` the scalar
/// chain `fma(sum_t fma(x_t, c_t, .), -2, cn)` bit for bit, and the lowest index of that
/// minimum: so both kernels give the same labels and values on any machine.
fn check_packed_best_is_the_scalar_chain<T: Real>(
    isa: Isa,
    b: usize,
    d: usize,
    k: usize,
    seed: u64,
) {
    let x: Vec<T> = random(b * d, seed)
        .iter()
        .map(|&v| T::from_f64(v))
        .collect();
    let mut c: Vec<T> = random(k * d, seed + 1)
        .iter()
        .map(|&v| T::from_f64(v))
        .collect();
    let dup = c[d.min(k * d)..(2 * d).min(k * d)].to_vec();
    if k > 3 {
        // An exact tie across lanes: center 3 duplicates center 1.
        c[3 * d..4 * d].copy_from_slice(&dup);
    }
    if k > 17 {
        // And within a lane (16 apart: the same lane of the next block for every kernel).
        c[17 * d..18 * d].copy_from_slice(&dup);
    }
    let mut x = x;
    if k > 3 {
        // Rows on center 1: three-way ties, the lowest index (1) must win.
        for i in (0..b).step_by(3) {
            x[i * d..(i + 1) * d].copy_from_slice(&dup);
        }
    }
    let mut cn = vec![T::ZERO; k];
    row_sq_norms(&c, d, &mut cn);
    let pk = Packed::new(&c, &cn, k, d, packed::argmin_block::<T>(isa, k));
    let (mut labels, mut best) = (vec![0u32; b], vec![T::ZERO; b]);
    argmin_rows_packed(isa, &x, &pk, &mut labels, &mut best);
    // The low-dimensional kernel (rows in lanes), where it runs: the same bits.
    let lowd = lowdim::available(isa, d, k).then(|| {
        let (mut l, mut v) = (vec![0u32; b], vec![T::ZERO; b]);
        lowdim::argmin_rows_lowd(isa, &x, d, &c, &cn, &mut l, &mut v);
        (l, v)
    });
    for i in 0..b {
        if let Some((l, v)) = &lowd {
            assert_eq!(l[i], labels[i], "low-d row {i}, {b} x {d}, k = {k}, {isa}");
            assert_eq!(v[i].to_f64().to_bits(), best[i].to_f64().to_bits());
        }
        let (mut bj, mut bv) = (0usize, T::INFINITY);
        for j in 0..k {
            let mut acc = T::ZERO;
            for t in 0..d {
                acc = fma(x[i * d + t], c[j * d + t], acc);
            }
            let v = fma(acc, T::from_f64(-2.0), cn[j]);
            if v < bv {
                (bj, bv) = (j, v);
            }
        }
        assert_eq!(labels[i] as usize, bj, "row {i}, {b} x {d}, k = {k}, {isa}");
        assert_eq!(best[i].to_f64().to_bits(), bv.to_f64().to_bits(), "row {i}");
    }
}

#[test]
fn packed_argmin_is_the_scalar_fma_chain_bit_for_bit() {
    // Shapes for every kernel: two registers of centers, one (k <= lanes, AVX-512 and AVX2
    // widths), and rows in lanes (d <= 4; groups of 4 registers, single registers, a padded
    // tail; per-center and chunked, full and partial chunks).
    for &(b, d, k) in &[
        (13, 32, 64),
        (7, 5, 17),
        (20, 1, 3),
        (6, 40, 33),
        (1, 3, 1),
        (37, 9, 16),
        (45, 70, 8),
        (30, 40, 4),
        (25, 13, 7),
        (100, 2, 16),
        (131, 3, 40),
        (77, 4, 256),
        (200, 1, 5),
        (19, 2, 300),
        (70, 2, 1000),
        (40, 4, 777),
    ] {
        for isa in common::tiers("packed_argmin_is_the_scalar_fma_chain_bit_for_bit") {
            if !packed::argmin_available(isa, k) {
                continue; // The portable tier has no packed kernel.
            }
            check_packed_best_is_the_scalar_chain::<f32>(isa, b, d, k, 5 + b as u64);
            check_packed_best_is_the_scalar_chain::<f64>(isa, b, d, k, 7 + d as u64);
        }
    }
}

/// The seeding pass's distances on the packed kernels (AVX-512 or AVX2) are the scalar chain
/// `max((cn - 2 sum_t fma(x_t, c_t, .)) + xn, 0)` bit for bit: a pending candidate applied to
/// `closest = +inf` leaves exactly that, and the potentials are its weighted sums.
fn check_seed_distances<T: Real>(isa: Isa, b: usize, d: usize, m: usize, seed: u64) {
    use kmrbf::kernels::layout::distance::sq_norm;
    use kmrbf::kernels::seeding::{seed_rows, SeedCandidates};
    let x: Vec<T> = random(b * d, seed)
        .iter()
        .map(|&v| T::from_f64(v))
        .collect();
    let c: Vec<T> = random(m * d, seed + 1)
        .iter()
        .map(|&v| T::from_f64(v))
        .collect();
    let mut xn = vec![T::ZERO; b];
    row_sq_norms(&x, d, &mut xn);
    let cands = SeedCandidates::new(isa, &c, m, d, true);
    let mut closest = vec![T::INFINITY; b];
    let mut pot = vec![0f64; m];
    seed_rows(&x, &xn, None, &mut closest, &cands, &mut pot);
    let cn0 = sq_norm(&c[..d]);
    for i in 0..b {
        if !kmrbf::kernels::assign::packed::dist_available(isa) {
            // The portable pass takes the difference form; only to rounding.
            let direct = kmrbf::kernels::layout::distance::sq_dist(&x[i * d..(i + 1) * d], &c[..d]);
            assert_eq!(closest[i].to_f64().to_bits(), direct.to_f64().to_bits());
            continue;
        }
        let mut acc = T::ZERO;
        for t in 0..d {
            acc = fma(x[i * d + t], c[t], acc);
        }
        let v = fma(acc, T::from_f64(-2.0), cn0) + xn[i];
        let want = if v > T::ZERO { v } else { T::ZERO };
        assert_eq!(
            closest[i].to_f64().to_bits(),
            want.to_f64().to_bits(),
            "row {i} of {b} x {d}, m = {m}, {isa}"
        );
    }
    let total: f64 = closest.iter().map(|v| v.to_f64()).sum();
    assert!(
        (pot[0] - total).abs() <= 1e-5 * total.max(1.0),
        "{} vs {total}",
        pot[0]
    );
}

#[test]
fn seeding_distances_are_the_scalar_fma_chain_bit_for_bit() {
    for &(b, d, m) in &[(13, 32, 9), (8, 5, 16), (21, 40, 20), (3, 1, 1)] {
        for isa in common::tiers("seeding_distances_are_the_scalar_fma_chain_bit_for_bit") {
            check_seed_distances::<f32>(isa, b, d, m, 31 + b as u64);
            check_seed_distances::<f64>(isa, b, d, m, 41 + d as u64);
        }
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

/// The AMX screening path must give exactly the register kernel's labels: random data at
/// several scales and offsets, every `d` / `k` remainder, duplicate centers (exact ties) and
/// rows placed at midpoints between two centers (near-ties down to f32 rounding).
#[test]
fn amx_labels_equal_the_register_kernel_bit_for_bit() {
    use kmrbf::kernels::assign::amx::{argmin_rows_amx, AmxCenters, AmxScratch, AmxSums};
    use kmrbf::kernels::update::{accumulate_hard, TileSums};
    let tiers = common::tiers("amx_labels_equal_the_register_kernel_bit_for_bit");
    let Some(&isa) = tiers.iter().find(|i| i.amx()) else {
        // Not a pass in disguise: the comparison needs AMX hardware (the missing tier is
        // printed above); the library falls back to the register kernel tested above.
        return;
    };
    let mut compared = 0;
    for &(b, d, k, scale, offset, seed) in &[
        (300usize, 32usize, 64usize, 1.0f64, 0.0f64, 1u64),
        (257, 3, 5, 1.0, 0.0, 2),
        (100, 33, 17, 10.0, 5.0, 3),
        (64, 100, 70, 1e-3, 0.0, 4),
        (90, 128, 256, 1.0, 100.0, 5),
        (40, 1, 1, 1.0, 0.0, 6),
        (120, 64, 48, 1e-18, 0.0, 7),
        (120, 16, 33, 1e12, 0.0, 8),
        (80, 40, 130, 0.5, -3.0, 9),
        // Centers past L2: groups of panels against ranges of blocks (an odd last group, an
        // odd block left in a range; one column block of 32 in the second).
        (301, 600, 1000, 1.0, 0.0, 10),
        (100, 20, 8300, 1.0, 0.5, 11),
    ] {
        let mut x: Vec<f32> = random(b * d, seed)
            .iter()
            .map(|v| (v * scale + offset * scale) as f32)
            .collect();
        let mut c: Vec<f32> = random(k * d, seed + 100)
            .iter()
            .map(|v| (v * scale + offset * scale) as f32)
            .collect();
        if k >= 4 {
            // Exact ties: center 3 duplicates center 1.
            let c1 = c[d..2 * d].to_vec();
            c[3 * d..4 * d].copy_from_slice(&c1);
            // Near-ties: rows halfway between centers 0 and 2.
            for i in (0..b).step_by(7) {
                for t in 0..d {
                    x[i * d + t] = (c[t] + c[2 * d + t]) / 2.0;
                }
            }
        }
        let mut xn = vec![0f32; b];
        row_sq_norms(&x, d, &mut xn);
        let mut cn = vec![0f32; k];
        row_sq_norms(&c, d, &mut cn);
        let pk = Packed::new(&c, &cn, k, d, packed::argmin_block::<f32>(isa, k));
        let mut want = vec![0u32; b];
        let mut best = vec![0f32; b];
        argmin_rows_packed(isa, &x, &pk, &mut want, &mut best);
        let ac = AmxCenters::new(&c, &cn, k, d);
        assert!(ac.in_range());
        assert_eq!(ac.grouped(), k >= 1000, "d={d} k={k}: the grouped order");
        let mut got = vec![0u32; b];
        argmin_rows_amx(
            isa,
            &x,
            &xn,
            &ac,
            &mut got,
            None,
            &mut AmxScratch::default(),
        );
        assert_eq!(got, want, "b={b} d={d} k={k} scale={scale} offset={offset}");
        // The fused M-step sums equal the separate pass bit for bit, with and without weights.
        let w: Vec<f32> = (0..b).map(|i| 0.25 + (i % 5) as f32 * 0.5).collect();
        for weights in [None, Some(w.as_slice())] {
            let mut sums = vec![0f32; k * d];
            let mut weight = vec![0f64; k];
            let acc = AmxSums {
                sums: &mut sums,
                weight: &mut weight,
                w: weights,
            };
            let mut lab = vec![0u32; b];
            argmin_rows_amx(
                isa,
                &x,
                &xn,
                &ac,
                &mut lab,
                Some(acc),
                &mut AmxScratch::default(),
            );
            let mut tile = TileSums::<f32>::zeros(isa, k, d);
            accumulate_hard(isa, &x, d, weights, &want, &mut tile);
            assert!(sums
                .iter()
                .zip(&tile.sums)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
            assert_eq!(weight, tile.weight);
        }
        compared += 1;
    }
    assert_eq!(compared, 11);
}

/// The hard M-step's flush skips clusters that gained no weight: the same f64 sums, bit for
/// bit, as flushing all of them, with rows of zero weight (`+-0` sums), a cluster that only
/// ever gets zero-weight rows, several flushes and every tier, in f32 and f64.
#[test]
fn skipping_empty_clusters_in_the_flush_keeps_every_bit() {
    fn check<T: Real>(isa: Isa) {
        use kmrbf::kernels::update::{accumulate_hard, ClusterSums, TileSums};
        let (k, d, b) = (300usize, 7usize, 40usize);
        let mut plain = ClusterSums::zeros(k, d);
        let mut skip = ClusterSums::zeros(k, d);
        let mut all = TileSums::<T>::zeros(isa, k, d);
        let mut hard = TileSums::<T>::hard(isa, k, d);
        for round in 0..5u64 {
            let x: Vec<T> = random(b * d, 40 + round)
                .iter()
                .map(|&v| T::from_f64(v * 3.0 - 1.0))
                .collect();
            let labels: Vec<u32> = (0..b)
                .map(|i| ((i as u64 * 37 + round * 11) % 90) as u32 * 3)
                .collect();
            // Every fifth row weighs zero, and so does every row of cluster 0.
            let w: Vec<T> = (0..b)
                .map(|i| {
                    let zero = i % 5 == 0 || labels[i] == 0;
                    T::from_f64(if zero { 0.0 } else { 0.5 + (i % 3) as f64 })
                })
                .collect();
            for weights in [None, Some(w.as_slice())] {
                accumulate_hard(isa, &x, d, weights, &labels, &mut all);
                accumulate_hard(isa, &x, d, weights, &labels, &mut hard);
            }
            all.flush_into(&mut plain);
            hard.flush_into(&mut skip);
        }
        let bits = |s: &ClusterSums| {
            let sums = s.sums.iter().map(|v| v.to_bits());
            sums.chain(s.weight.iter().map(|v| v.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&plain), bits(&skip), "{isa}");
        assert!(plain.weight.iter().filter(|&&v| v == 0.0).count() > k / 2);
    }
    for isa in common::tiers("skipping_empty_clusters_in_the_flush_keeps_every_bit") {
        check::<f32>(isa);
        check::<f64>(isa);
    }
}

#[test]
fn cross_kernel_is_one_fma_chain_per_entry_for_many_shapes() {
    use kmrbf::kernels::layout::cross::{cross_tile, CrossPack};
    let mut seen = 0;
    let tiers = common::tiers("cross_kernel_is_one_fma_chain_per_entry_for_many_shapes");
    for (&(b, d, k), &isa) in [
        (1, 1, 1),
        (5, 3, 15),
        (6, 32, 64),
        (7, 32, 64),
        (13, 33, 17),
        (40, 32, 65),
        (19, 16, 130),
    ]
    .iter()
    .flat_map(|s| tiers.iter().map(move |i| (s, i)))
    {
        let x: Vec<f32> = random(b * d, 11).iter().map(|&v| v as f32).collect();
        let c: Vec<f32> = random(k * d, 12).iter().map(|&v| v as f32).collect();
        let Some(pk) = CrossPack::new(isa, &c, k, d) else {
            continue;
        };
        seen += 1;
        let mut out = vec![f32::NAN; b * k];
        cross_tile(isa, &x, &pk, &mut out);
        for i in 0..b {
            for j in 0..k {
                // The same chain in scalar code: acc = x_t (-2 c_t) + acc, t in order.
                let mut acc = 0f32;
                for t in 0..d {
                    acc = x[i * d + t].mul_add(-2.0 * c[j * d + t], acc);
                }
                assert_eq!(
                    out[i * k + j].to_bits(),
                    acc.to_bits(),
                    "b={b} d={d} k={k} i={i} j={j}"
                );
            }
        }
        // And against the faer path, to rounding.
        let mut faer = vec![0f32; b * k];
        neg2_cross_tile(&x, d, &c, k, &mut faer);
        for (a, f) in out.iter().zip(&faer) {
            assert!((a - f).abs() <= 1e-4 * (1.0 + f.abs()), "{a} vs {f}");
        }
    }
    // The kernel runs on every AVX-512 tier (AVX-512, AMX) and on no other.
    assert_eq!(seen, 7 * tiers.iter().filter(|i| i.avx512()).count());
}

/// One two-step seeding pass (`seed_rows_pair`) against naive f64 sums of the same rows:
/// the updated `closest`, the trial potentials and the second-step potentials, for widths the
/// fused kernel specializes (8, 16, 24, 32, 48, 64, 96, 128) and others, 0-2 pending centers, one register group
/// (the fused kernel) and several, a ragged tail, with and without weights.
fn check_pair_pass<T: Real>(n: usize, d: usize, np: usize, nt: usize, nu: usize, seed: u64) {
    for isa in common::tiers("two_step_seeding_pass_matches_naive_sums_for_many_shapes") {
        check_pair_pass_on::<T>(isa, n, d, np, nt, nu, seed);
    }
}

fn check_pair_pass_on<T: Real>(
    isa: Isa,
    n: usize,
    d: usize,
    np: usize,
    nt: usize,
    nu: usize,
    seed: u64,
) {
    use kmrbf::kernels::seeding::{seed_rows_pair, PairCandidates};
    let mut rng = Rng::new(seed);
    let xs: Vec<T> = random(n * d, seed).into_iter().map(T::from_f64).collect();
    let pick = |m: usize, rng: &mut Rng| -> Vec<T> {
        (0..m)
            .flat_map(|_| {
                let i = rng.below(n);
                xs[i * d..(i + 1) * d].to_vec()
            })
            .collect()
    };
    let (pend, trials, u) = (pick(np, &mut rng), pick(nt, &mut rng), pick(nu, &mut rng));
    let mut xn = vec![T::ZERO; n];
    row_sq_norms(&xs, d, &mut xn);
    // `closest` near the typical squared distance, so trials beat it on some rows only.
    let closest0: Vec<T> = (0..n)
        .map(|_| T::from_f64(d as f64 * (0.5 + 2.0 * rng.uniform())))
        .collect();
    let w: Vec<T> = (0..n).map(|_| T::from_f64(0.5 + rng.uniform())).collect();
    let dist = |i: usize, c: &[T], j: usize| -> f64 {
        (0..d)
            .map(|t| (xs[i * d + t].to_f64() - c[j * d + t].to_f64()).powi(2))
            .sum()
    };
    let eps = if T::EPSILON.to_f64() > 1e-10 {
        1e-4
    } else {
        1e-10
    };
    for weighted in [false, true] {
        let pc = PairCandidates::new(isa, &pend, &trials, &u, d);
        let width = pc.width();
        let mut closest = closest0.clone();
        let mut pot = vec![0.0; nt];
        let mut pot2 = vec![0.0; nt * width];
        let wv = weighted.then_some(w.as_slice());
        seed_rows_pair(&xs, &xn, wv, &mut closest, &pc, &mut pot, &mut pot2);
        let mut want = vec![0.0; nt];
        let mut want2 = vec![0.0; nt * nu];
        let mut scale = 0.0;
        for i in 0..n {
            let wi = if weighted { w[i].to_f64() } else { 1.0 };
            let cl = (0..np).fold(closest0[i].to_f64(), |m, p| m.min(dist(i, &pend, p)));
            let tol = eps * (1.0 + xn[i].to_f64() + d as f64);
            let case = format!("n={n} d={d} np={np} nt={nt} nu={nu} row {i}, {isa}");
            assert!((closest[i].to_f64() - cl).abs() <= tol, "{case}: closest");
            scale += wi * cl;
            for t in 0..nt {
                let mt = cl.min(dist(i, &trials, t));
                want[t] += wi * mt;
                for j in 0..nu {
                    want2[t * nu + j] += wi * mt.min(dist(i, &u, j));
                }
            }
        }
        let tol = eps * 10.0 * scale;
        for t in 0..nt {
            assert!(
                (pot[t] - want[t]).abs() <= tol,
                "d={d} np={np} nt={nt} nu={nu} pot[{t}], {isa}"
            );
            for j in 0..nu {
                let got = pot2[pc.at(t, j)];
                assert!(
                    (got - want2[t * nu + j]).abs() <= tol,
                    "d={d} np={np} nt={nt} nu={nu} weighted={weighted} pot2[{t}][{j}], {isa}: {got} vs {}",
                    want2[t * nu + j]
                );
            }
        }
    }
}

#[test]
fn two_step_seeding_pass_matches_naive_sums_for_many_shapes() {
    let mut seed = 0;
    for d in [3, 8, 16, 24, 32, 40, 48, 64, 96, 128] {
        for n in [77, 1000] {
            for np in 0..=2 {
                seed += 1;
                // f32: 16 lanes, one group (the fused kernel) and two; f64: 8 lanes.
                check_pair_pass::<f32>(n, d, np, 6, 6, seed);
                check_pair_pass::<f32>(n, d, np, 6, 20, seed);
                check_pair_pass::<f64>(n, d, np, 3, 2, seed);
                check_pair_pass::<f64>(n, d, np, 3, 9, seed);
            }
        }
    }
}

/// The sparse `a^T x` of the soft pass equals the plain loop bit for bit (`s += a_ij x_it`, a
/// product then a sum, rows in order then columns): for `k` below, at and past one 64-column
/// mask and widths with a masked tail, on weights with 0-3 nonzeros a row.
#[test]
fn sparse_weighted_sums_equal_the_plain_loop_bit_for_bit() {
    use kmrbf::kernels::soft::rows_avx512::available;
    let tiers = common::tiers("sparse_weighted_sums_equal_the_plain_loop_bit_for_bit");
    // The kernel runs on the AVX-512 tiers (the missing ones are printed).
    for isa in tiers.into_iter().filter(|&i| available(i)) {
        sparse_weighted_sums_on(isa);
    }
}

fn sparse_weighted_sums_on(isa: Isa) {
    use kmrbf::kernels::soft::rows_avx512::sparse_weighted_sums;
    let mut rng = Rng::new(5);
    for (b, k, d) in [
        (50, 5, 3),
        (200, 16, 32),
        (300, 64, 32),
        (120, 70, 33),
        (90, 130, 16),
    ] {
        let x: Vec<f32> = (0..b * d).map(|_| rng.normal() as f32).collect();
        let mut a = vec![0f32; b * k];
        for i in 0..b {
            for _ in 0..rng.below(4) {
                a[i * k + rng.below(k)] = rng.uniform() as f32;
            }
        }
        let start: Vec<f32> = (0..k * d).map(|_| rng.normal() as f32).collect();
        let mut want = start.clone();
        for i in 0..b {
            for j in 0..k {
                let c = a[i * k + j];
                if c != 0.0 {
                    for t in 0..d {
                        want[j * d + t] += c * x[i * d + t];
                    }
                }
            }
        }
        let mut got = start.clone();
        sparse_weighted_sums(isa, &mut got, d, k, &x, &a);
        let same = got
            .iter()
            .zip(&want)
            .all(|(g, w)| g.to_bits() == w.to_bits());
        assert!(same, "b={b} k={k} d={d}, {isa}");
    }
}

/// Every `#[target_feature(enable = "...")]` under `src/kernels` (all folders) enables only
/// features of its tier, which `Isa` detects (`kernels/isa.rs`: the AVX2, AVX-512 and AMX
/// lists). A kernel that enabled more would run on CPUs without it.
#[test]
fn every_enabled_target_feature_is_detected_by_its_tier() {
    use kmrbf::kernels::isa::{AMX_FEATURES, AVX2_FEATURES, AVX512_FEATURES};
    let paths =
        common::rust_files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kernels"));
    let mut seen = 0;
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("target_feature(enable = \"") {
            let rest = &text[i + "target_feature(enable = \"".len()..];
            let list = &rest[..rest.find('"').unwrap()];
            let tier = if list.contains("avx512bf16") {
                AMX_FEATURES
            } else if list.contains("avx512") {
                AVX512_FEATURES
            } else {
                AVX2_FEATURES
            };
            for f in list.split(',') {
                assert!(
                    tier.split(',').any(|t| t == f),
                    "{}: enables {f}, which its tier ({tier}) does not detect",
                    path.display()
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 30, "found only {seen} target_feature attributes");
}

/// `top2_rows` against the scalar `top2` on every row of a `b x k` tile.
fn top2_agrees<T: Real>(cross: &[T], cn: &[T], k: usize) {
    for isa in common::tiers("top2_rows_matches_the_scalar_top2") {
        top2_agrees_on(isa, cross, cn, k);
    }
}

fn top2_agrees_on<T: Real>(isa: Isa, cross: &[T], cn: &[T], k: usize) {
    use kmrbf::kernels::assign::argmin::{top2, top2_rows};
    let b = cross.len() / k;
    let (mut lab, mut v1, mut v2) = (vec![0u32; b], vec![T::ZERO; b], vec![T::ZERO; b]);
    top2_rows(isa, cross, k, cn, &mut lab, &mut v1, &mut v2);
    for i in 0..b {
        let row = &cross[i * k..(i + 1) * k];
        let (b1, w1, w2) = top2(k, |j| row[j] + cn[j]);
        assert_eq!(
            (lab[i] as usize, v1[i], v2[i]),
            (b1, w1, w2),
            "{} k {k} row {i}, {isa}",
            T::NAME
        );
    }
}

/// The lane-wise top-2 epilogue gives the scalar `top2`'s index and values on every row, ties
/// included (integer values make many), for k below, at and above the lane count.
#[test]
fn top2_rows_matches_the_scalar_top2() {
    let mut r = Rng::new(4);
    for k in [1usize, 2, 5, 16, 17, 33, 64, 100] {
        let b = 200;
        let cross: Vec<f32> = (0..b * k).map(|_| (r.below(7) as f32) - 3.0).collect();
        let cn: Vec<f32> = (0..k).map(|_| r.below(3) as f32).collect();
        top2_agrees(&cross, &cn, k);
        let cross: Vec<f64> = (0..b * k).map(|_| r.normal()).collect();
        let cn: Vec<f64> = (0..k).map(|_| r.normal()).collect();
        top2_agrees(&cross, &cn, k);
    }
}
