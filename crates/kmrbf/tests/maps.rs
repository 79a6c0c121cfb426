//! Row maps: simplex, order, exactness against the bisection reference, sparsity threshold,
//! and numerical safety at extreme temperatures and distances.

mod common;
use kmrbf::kernels::maps::{map_row, MapKind};
use proptest::prelude::*;

const MAPS: [MapKind; 5] = [
    MapKind::Hard,
    MapKind::Softmax,
    MapKind::Entmax15,
    MapKind::Sparsemax,
    MapKind::Entmax { alpha: 1.3 },
];

fn apply<T: kmrbf::Real>(map: MapKind, dist: &[T], temp: T) -> Vec<T> {
    let k = dist.len();
    let mut r = vec![T::ZERO; k];
    let mut s = vec![T::ZERO; k];
    map_row(map, dist, temp, &mut r, None, &mut s);
    r
}

fn argmin(v: &[f64]) -> usize {
    let mut b = 0;
    for j in 1..v.len() {
        if v[j] < v[b] {
            b = j;
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn rows_are_on_the_simplex_and_keep_the_order(
        dist in prop::collection::vec(0.0f64..100.0, 1..24),
        log_temp in -3.0f64..3.0,
    ) {
        let temp = 10f64.powf(log_temp);
        for map in MAPS {
            let r = apply(map, &dist, temp);
            let sum: f64 = r.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-9, "{map:?}: sum {sum}");
            prop_assert!(r.iter().all(|&v| (0.0..=1.0 + 1e-12).contains(&v)), "{map:?}: {r:?}");
            // argmax r = argmin D, and nearer centers never get less mass.
            let best = argmin(&dist);
            prop_assert!(r.iter().all(|&v| v <= r[best]), "{map:?}: argmax moved");
            for a in 0..dist.len() {
                for b in 0..dist.len() {
                    if dist[a] < dist[b] {
                        prop_assert!(r[a] >= r[b], "{map:?}: order broken at {a}, {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn exact_entmax15_and_sparsemax_match_bisection(
        dist in prop::collection::vec(0.0f64..10.0, 1..30),
        log_temp in -2.0f64..2.0,
    ) {
        let temp = 10f64.powf(log_temp);
        for (exact, alpha) in [(MapKind::Entmax15, 1.5), (MapKind::Sparsemax, 2.0)] {
            let a = apply(exact, &dist, temp);
            let b = apply(MapKind::Entmax { alpha }, &dist, temp);
            for (x, y) in a.iter().zip(&b) {
                prop_assert!((x - y).abs() <= 1e-6, "{exact:?}: {x} vs bisection {y}");
            }
        }
    }

    #[test]
    fn soft_maps_become_hard_as_temperature_falls(
        dist in prop::collection::vec(0.0f64..10.0, 2..16),
    ) {
        let mut sorted = dist.clone();
        sorted.sort_by(f64::total_cmp);
        let gap = sorted[1] - sorted[0];
        prop_assume!(gap > 1e-3);
        let hard = apply(MapKind::Hard, &dist, 1.0);
        for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
            let r = apply(map, &dist, gap * 1e-3);
            for (x, y) in r.iter().zip(&hard) {
                prop_assert!((x - y).abs() < 1e-12, "{map:?} at temp gap/1000 is not hard");
            }
        }
    }
}

#[test]
fn entmax15_is_one_hot_exactly_when_the_gap_reaches_two_sigma() {
    let sigma = 0.37;
    for gap in [
        0.5 * sigma,
        1.9 * sigma,
        1.999 * sigma,
        2.0 * sigma,
        2.001 * sigma,
        5.0 * sigma,
    ] {
        let dist = [3.0, 3.0 + gap, 9.0, 3.0 + gap + 1.0];
        let r = apply(MapKind::Entmax15, &dist, sigma);
        let one_hot = r.iter().filter(|&&v| v > 0.0).count() == 1;
        assert_eq!(
            one_hot,
            gap >= 2.0 * sigma,
            "gap = {} sigma: {r:?}",
            gap / sigma
        );
    }
    // Sparsemax: one-hot iff gap >= sigma.
    for gap in [0.99 * sigma, 1.0 * sigma, 1.01 * sigma] {
        let r = apply(MapKind::Sparsemax, &[1.0, 1.0 + gap], sigma);
        assert_eq!(
            r[1] == 0.0,
            gap >= sigma,
            "sparsemax gap = {} sigma: {r:?}",
            gap / sigma
        );
    }
}

fn extremes_stay_finite<T: kmrbf::Real>() {
    let big = T::from_f64(1e30);
    let rows: Vec<Vec<T>> = vec![
        vec![T::ZERO, big, T::from_f64(1.0)],
        vec![big, big, big],
        vec![T::from_f64(5.0), T::from_f64(5.0)],
        vec![T::from_f64(1e-30), T::ZERO, T::from_f64(2e-30)],
        vec![big, T::ZERO],
    ];
    for temp in [1e-30, 1e-10, 1.0, 1e10, 1e30] {
        let temp = T::from_f64(temp);
        for dist in &rows {
            for map in MAPS {
                let k = dist.len();
                let mut r = vec![T::ZERO; k];
                let mut s = vec![T::ZERO; k];
                let mut jac = vec![T::ZERO; k];
                let t = map_row(map, dist, temp, &mut r, Some(&mut jac), &mut s);
                assert!(
                    r.iter().all(|v| v.is_finite()),
                    "{map:?} {} temp {temp}: {r:?}",
                    T::NAME
                );
                assert!(
                    jac.iter().all(|v| v.is_finite()),
                    "{map:?}: jacobian {jac:?}"
                );
                let sum: f64 = r.iter().map(|v| v.to_f64()).sum();
                assert!(
                    (sum - 1.0).abs() < 1e-5,
                    "{map:?} {} temp {temp}: sum {sum}",
                    T::NAME
                );
                assert!(
                    t.loss.is_finite() && t.free.is_finite() && t.dmin.is_finite(),
                    "{map:?}: {t:?}"
                );
            }
        }
    }
}

#[test]
fn no_nan_or_inf_at_extreme_temperatures_and_distances_f32() {
    extremes_stay_finite::<f32>();
}

#[test]
fn no_nan_or_inf_at_extreme_temperatures_and_distances_f64() {
    extremes_stay_finite::<f64>();
}

#[test]
fn vectorized_exp_is_accurate() {
    use kmrbf::kernels::maps::exp::exp_nonpos;
    let mut worst32 = 0.0f64;
    let mut worst64 = 0.0f64;
    for i in 0..20000 {
        let x = -80.0 * (i as f64) / 20000.0;
        let want = x.exp();
        worst64 = worst64.max((exp_nonpos(x) - want).abs() / want);
        let got32 = exp_nonpos(x as f32) as f64;
        let want32 = (x as f32 as f64).exp();
        worst32 = worst32.max((got32 - want32).abs() / want32);
    }
    assert!(worst64 < 1e-15, "f64 exp rel error {worst64}");
    assert!(worst32 < 3e-7, "f32 exp rel error {worst32}");
    assert_eq!(exp_nonpos(-1e4f32), 0.0);
    assert_eq!(exp_nonpos(-1e6f64), 0.0);
}

/// Inputs of a tile-kernel test: squared norms, `-2 x.c` and weights, random but plausible.
struct TileCase {
    xn: Vec<f32>,
    cn: Vec<f32>,
    cross: Vec<f32>,
    w: Vec<f32>,
}

impl TileCase {
    fn random(rng: &mut kmrbf::rng::Rng, b: usize, k: usize) -> Self {
        Self {
            xn: (0..b).map(|_| 4.0 + rng.uniform() as f32 * 4.0).collect(),
            cn: (0..k).map(|_| 4.0 + rng.uniform() as f32 * 4.0).collect(),
            cross: (0..b * k).map(|_| -8.0 * rng.uniform() as f32).collect(),
            w: (0..b).map(|_| 0.5 + rng.uniform() as f32).collect(),
        }
    }

    /// Row `i`'s distances in f64, as the kernels define them.
    fn dist(&self, i: usize) -> Vec<f64> {
        let k = self.cn.len();
        (0..k)
            .map(|c| ((self.xn[i] + self.cn[c] + self.cross[i * k + c]).max(0.0)) as f64)
            .collect()
    }
}

/// The AVX-512 f32 softmax tile kernel against the portable row map, computed in f64: every
/// responsibility, the weighted copy and the J / L / F / support totals, for several `k` (tail
/// lanes), temperatures (dense to one-hot rows) and weights.
#[test]
fn softmax_f32_tile_kernel_matches_the_row_map() {
    use kmrbf::kernels::soft::rows_avx512::{available, soft_rows, SoftMap};
    let tiers = common::tiers("softmax_f32_tile_kernel_matches_the_row_map");
    // The kernel runs on the AVX-512 tiers (the missing ones are printed).
    for isa in tiers.into_iter().filter(|&i| available(i)) {
        let mut rng = kmrbf::rng::Rng::new(5);
        let mut checked = 0;
        for &(b, k) in &[(37usize, 64usize), (20, 5), (33, 17), (9, 130), (1, 1)] {
            for &temp in &[50.0f32, 2.0, 0.05, 1e-6] {
                let case = TileCase::random(&mut rng, b, k);
                let TileCase { xn, cn, cross, w } = &case;
                let mut c2 = cross.clone();
                let mut weighted = vec![0f32; b * k];
                let mut resp = vec![0f32; b * k];
                let mut colsum = vec![0f32; k];
                let tot = soft_rows(
                    isa,
                    SoftMap::Softmax,
                    &mut c2,
                    xn,
                    cn,
                    Some(w),
                    temp,
                    Some(&mut weighted),
                    Some(&mut resp),
                    Some(&mut colsum),
                );
                let (mut j, mut l, mut f, mut support) = (0.0, 0.0, 0.0, 0usize);
                for i in 0..b {
                    let dist = case.dist(i);
                    for c in 0..k {
                        assert_eq!(c2[i * k + c] as f64, dist[c], "distances");
                    }
                    let mut r = vec![0.0; k];
                    let mut s = vec![0.0; k];
                    let terms = map_row(MapKind::Softmax, &dist, temp as f64, &mut r, None, &mut s);
                    let dmin = dist.iter().cloned().fold(f64::INFINITY, f64::min);
                    for c in 0..k {
                        // f32 rounding of the exponent argument a = (D - Dmin) / temp costs a
                        // relative error of about |a| eps in exp(-a).
                        let arg = (dist[c] - dmin) / temp as f64;
                        let rel = 3e-6 + 2.4e-7 * arg;
                        let got = resp[i * k + c] as f64;
                        assert!((got - r[c]).abs() <= rel * r[c] + 1e-37, "r {got} {}", r[c]);
                        let gw = weighted[i * k + c] as f64;
                        let want = w[i] as f64 * r[c];
                        assert!((gw - want).abs() <= (rel + 1e-6) * want + 1e-37);
                    }
                    j += w[i] as f64 * terms.dmin;
                    l += w[i] as f64 * terms.loss;
                    f += w[i] as f64 * terms.free;
                    support += (0..k).filter(|&c| resp[i * k + c] > 0.0).count();
                }
                let scale = j.abs().max(1.0);
                assert!((tot.j - j).abs() <= 1e-6 * scale);
                assert!((tot.l - l).abs() <= 1e-5 * scale, "L {} {l}", tot.l);
                assert!(
                    (tot.f - f).abs() <= 1e-5 * scale,
                    "F {} {f} temp {temp}",
                    tot.f
                );
                assert_eq!(tot.support as usize, support);
                // Column sums of the weighted rows, row by row in f32: bit for bit.
                for c in 0..k {
                    let want = (0..b).fold(0f32, |s, i| s + weighted[i * k + c]);
                    assert_eq!(colsum[c].to_bits(), want.to_bits(), "column {c}");
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 20);
    }
}

/// The fused kernels (cross products, rows and sums in one pass; on every AVX2 and AVX-512 tier
/// of this CPU) against the portable
/// row map in f64 on the kernels' own f32 distances (the `cn - 2 x . c` FMA chain is replayed
/// here in scalar f32, bit for bit): the weighted sums `sum_i w_i r_ij x_i`, their column
/// sums, J / L / F, the support and the one-hot rows, for several shapes (tail lanes, short
/// last blocks and groups, `d` past 32), temperatures (dense to one-hot rows; for the sparse
/// maps one candidate, up to 16 and more) and weights.
fn fused_kernel_matches_the_row_map(map: MapKind) {
    use kmrbf::kernels::layout::cross::CrossPack;
    use kmrbf::kernels::soft::shared::{available, FusedRows, FusedScratch};
    use kmrbf::kernels::soft::shared::{SparseMap, SparseScratch};
    use kmrbf::kernels::soft::softmax::softmax_sums;
    use kmrbf::kernels::soft::sparse::sparse_sums;
    let here = |isa| {
        if map == MapKind::Softmax {
            available(isa, 64)
        } else {
            kmrbf::kernels::soft::shared::available(isa, 64)
        }
    };
    // The kernels run on the AVX2 and AVX-512 tiers (the missing ones are printed).
    for isa in common::tiers("fused_kernel_matches_the_row_map")
        .into_iter()
        .filter(|&i| here(i))
    {
        let mut rng = kmrbf::rng::Rng::new(11);
        let mut scratch = FusedScratch::default();
        let mut sparse = SparseScratch::default();
        let mut checked = 0;
        let (mut onehot_seen, mut spread_seen, mut wide_seen) = (0, 0, 0);
        let shapes = [
            (37usize, 32usize, 64usize),
            (50, 7, 5),
            (13, 40, 17),
            (6, 1, 64),
            (1, 3, 1),
            (100, 33, 48),
            (49, 16, 33),
        ];
        for &(b, d, k) in &shapes {
            for &temp in &[50.0f32, 2.0, 0.3, 0.05, 1e-6] {
                for weighted in [false, true] {
                    let x: Vec<f32> = (0..b * d).map(|_| rng.normal() as f32).collect();
                    let c: Vec<f32> = (0..k * d).map(|_| rng.normal() as f32).collect();
                    let sq = |v: &[f32]| v.iter().fold(0f32, |s, &a| a.mul_add(a, s));
                    let xn: Vec<f32> = x.chunks(d).map(sq).collect();
                    let cn: Vec<f32> = c.chunks(d).map(sq).collect();
                    let w: Option<Vec<f32>> =
                        weighted.then(|| (0..b).map(|_| 0.5 + rng.uniform() as f32).collect());
                    let pack = CrossPack::packed(&c, k, d);
                    // The sparse kernels add into `k x d` f32 sums, the softmax kernel into `d x
                    // 64` f64 sums, transposed; both start at 0.25 here (it must add).
                    let mut sums = vec![0.25f32; k * d];
                    let mut sums_t = vec![0.25f64; d * 64];
                    let mut col = vec![0f32; k];
                    let rows = FusedRows {
                        x: &x,
                        xn: &xn,
                        w: w.as_deref(),
                        pack: &pack,
                        cn: &cn,
                        temp,
                        isa,
                    };
                    let out = Some((&mut sums[..], &mut col[..]));
                    // Softmax also writes its rows (NaN first: every entry must be written).
                    let mut resp = vec![f32::NAN; b * k];
                    let tot = match map {
                        MapKind::Softmax => softmax_sums(
                            &rows,
                            Some((&mut sums_t[..], &mut col[..])),
                            Some(&mut resp[..]),
                            &mut scratch,
                        ),
                        MapKind::Entmax15 => {
                            sparse_sums(SparseMap::Entmax15, &rows, out, &mut sparse)
                        }
                        MapKind::Sparsemax => {
                            sparse_sums(SparseMap::Sparsemax, &rows, out, &mut sparse)
                        }
                        _ => unreachable!(),
                    };
                    let got = |e: usize| {
                        if map == MapKind::Softmax {
                            sums_t[(e % d) * 64 + e / d]
                        } else {
                            sums[e] as f64
                        }
                    };
                    if map == MapKind::Softmax {
                        // Past k the transposed sums only got zeros.
                        for t in 0..d {
                            assert!(sums_t[t * 64 + k..(t + 1) * 64].iter().all(|&v| v == 0.25));
                        }
                    }
                    let mut want_sums = vec![0.25f64; k * d];
                    let mut abs_sums = vec![0.25f64; k * d];
                    let mut abs_x = vec![0f64; d];
                    let mut want_col = vec![0f64; k];
                    let (mut j, mut l, mut f, mut wsum) = (0.0, 0.0, 0.0, 0.0);
                    let (mut support, mut onehot) = (0usize, 0usize);
                    let a = -std::f32::consts::LOG2_E / temp;
                    for i in 0..b {
                        let xi = &x[i * d..(i + 1) * d];
                        // The kernel's shifted distances u = cn - 2 x . c (one FMA chain from cn),
                        // D = xn + u; for softmax its exponent (u - umin) (-log2 e / temp) decides
                        // the support.
                        let u: Vec<f32> = (0..k)
                            .map(|jj| {
                                let cr = &c[jj * d..(jj + 1) * d];
                                (0..d).fold(cn[jj], |s, t| xi[t].mul_add(-2.0 * cr[t], s))
                            })
                            .collect();
                        let umin = u.iter().cloned().fold(f32::INFINITY, f32::min);
                        let dist: Vec<f64> = u
                            .iter()
                            .map(|&v| (xn[i] as f64 + v as f64).max(0.0))
                            .collect();
                        let mut r = vec![0.0; k];
                        let mut s = vec![0.0; k];
                        let terms = map_row(map, &dist, temp as f64, &mut r, None, &mut s);
                        if map == MapKind::Softmax {
                            // f32 exponents: the error grows with |log2 r| (r ~ 2^t); the
                            // kernel flushes e below 2^-125 to 0.
                            for jj in 0..k {
                                let got = resp[i * k + jj] as f64;
                                let rel = 2e-6 + 3e-7 * r[jj].max(1e-300).log2().abs();
                                let tol = r[jj] * rel + 1e-36;
                                assert!(
                                    (got - r[jj]).abs() <= tol,
                                    "r[{i}][{jj}] {got} vs {} (b {b} d {d} k {k} temp {temp})",
                                    r[jj]
                                );
                            }
                        }
                        let sup = if map == MapKind::Softmax {
                            u.iter().filter(|&&v| (v - umin) * a >= -125.0).count()
                        } else {
                            terms.support
                        };
                        support += sup;
                        onehot += (sup == 1) as usize;
                        if map != MapKind::Softmax {
                            let scale = if map == MapKind::Entmax15 {
                                2.0 * temp
                            } else {
                                temp
                            };
                            let cands = u.iter().filter(|&&v| (v - umin) / scale < 1.0).count();
                            onehot_seen += (cands == 1) as usize;
                            spread_seen += (cands > 1) as usize;
                            wide_seen += (cands > 16) as usize;
                        }
                        let wi = w.as_ref().map_or(1.0, |w| w[i] as f64);
                        for t in 0..d {
                            abs_x[t] += wi * (xi[t] as f64).abs();
                        }
                        for jj in 0..k {
                            want_col[jj] += wi * r[jj];
                            for t in 0..d {
                                want_sums[jj * d + t] += wi * r[jj] * xi[t] as f64;
                                abs_sums[jj * d + t] += (wi * r[jj] * xi[t] as f64).abs();
                            }
                        }
                        j += wi * terms.dmin;
                        l += wi * terms.loss;
                        f += wi * terms.free;
                        wsum += wi;
                    }
                    // Softmax: relative to the sum of |terms|. The sparse maps: besides, f32
                    // logits near the support boundary (absolute 2e-5 in r, as the tile kernels).
                    let r_abs = if map == MapKind::Softmax { 0.0 } else { 2e-5 };
                    let ctx = format!("{map:?} b {b} d {d} k {k} temp {temp} weighted {weighted}");
                    for e in 0..k * d {
                        let err = (got(e) - want_sums[e]).abs();
                        let tol = 1e-5 * abs_sums[e] + r_abs * abs_x[e % d];
                        assert!(
                            err <= tol,
                            "sums[{e}]: {} vs {} ({ctx})",
                            got(e),
                            want_sums[e]
                        );
                    }
                    for jj in 0..k {
                        let err = (col[jj] as f64 - want_col[jj]).abs();
                        let tol = 1e-5 * want_col[jj] + r_abs * wsum + 1e-30;
                        assert!(err <= tol, "col {jj} ({ctx})");
                    }
                    // F carries -temp H: its rounding scales with |F| at high temperatures.
                    let scale = j.abs().max(1.0);
                    let fscale = scale.max(f.abs());
                    assert!((tot.j - j).abs() <= 1e-6 * scale, "J {} {j} ({ctx})", tot.j);
                    assert!((tot.l - l).abs() <= 1e-5 * scale, "L {} {l} ({ctx})", tot.l);
                    assert!(
                        (tot.f - f).abs() <= 1e-5 * fscale,
                        "F {} {f} ({ctx})",
                        tot.f
                    );
                    assert!((tot.w - wsum).abs() <= 1e-9 * wsum, "W ({ctx})");
                    assert_eq!(tot.support as usize, support, "support ({ctx})");
                    assert_eq!(tot.onehot, onehot, "one-hot rows ({ctx})");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, shapes.len() * 10);
        if map != MapKind::Softmax {
            // One-hot rows, the vector threshold and the sorted scan were all exercised.
            assert!(
                onehot_seen > 10 && spread_seen > 10 && wide_seen > 10,
                "{onehot_seen} {spread_seen} {wide_seen}"
            );
        }
    }
}

#[test]
fn fused_softmax_kernel_matches_the_row_map() {
    fused_kernel_matches_the_row_map(MapKind::Softmax);
}

#[test]
fn fused_entmax15_kernel_matches_the_row_map() {
    fused_kernel_matches_the_row_map(MapKind::Entmax15);
}

#[test]
fn fused_sparsemax_kernel_matches_the_row_map() {
    fused_kernel_matches_the_row_map(MapKind::Sparsemax);
}

/// The AVX-512 f32 entmax-1.5 tile kernel against the portable row map in f64: responsibilities
/// (absolute 2e-5: f32 logits near the support boundary), weights, totals, one-hot rows.
#[test]
fn entmax15_f32_tile_kernel_matches_the_row_map() {
    threshold_kernel_matches_the_row_map(
        kmrbf::kernels::soft::rows_avx512::SoftMap::Entmax15,
        MapKind::Entmax15,
    );
}

/// The same for sparsemax.
#[test]
fn sparsemax_f32_tile_kernel_matches_the_row_map() {
    threshold_kernel_matches_the_row_map(
        kmrbf::kernels::soft::rows_avx512::SoftMap::Sparsemax,
        MapKind::Sparsemax,
    );
}

fn threshold_kernel_matches_the_row_map(
    fast: kmrbf::kernels::soft::rows_avx512::SoftMap,
    map: MapKind,
) {
    use kmrbf::kernels::soft::rows_avx512::{available, soft_rows};
    // The kernel runs on the AVX-512 tiers (the missing ones are printed).
    for isa in common::tiers("threshold_kernel_matches_the_row_map")
        .into_iter()
        .filter(|&i| available(i))
    {
        let mut rng = kmrbf::rng::Rng::new(9);
        let mut onehot_seen = 0;
        let mut spread_seen = 0;
        for &(b, k) in &[(37usize, 64usize), (20, 5), (33, 17), (9, 130), (3, 1)] {
            for &temp in &[50.0f32, 2.0, 0.3, 1e-6] {
                let case = TileCase::random(&mut rng, b, k);
                let TileCase { xn, cn, cross, w } = &case;
                let mut c2 = cross.clone();
                let mut weighted = vec![0f32; b * k];
                let mut resp = vec![0f32; b * k];
                let mut colsum = vec![0f32; k];
                let tot = soft_rows(
                    isa,
                    fast,
                    &mut c2,
                    xn,
                    cn,
                    Some(w),
                    temp,
                    Some(&mut weighted),
                    Some(&mut resp),
                    Some(&mut colsum),
                );
                let (mut j, mut l, mut f, mut onehot) = (0.0, 0.0, 0.0, 0usize);
                for i in 0..b {
                    let dist = case.dist(i);
                    let mut r = vec![0.0; k];
                    let mut s = vec![0.0; k];
                    let terms = map_row(map, &dist, temp as f64, &mut r, None, &mut s);
                    for c in 0..k {
                        let got = resp[i * k + c] as f64;
                        assert!(
                            (got - r[c]).abs() <= 2e-5,
                            "r {got} {} (k {k} temp {temp})",
                            r[c]
                        );
                        let gw = weighted[i * k + c] as f64;
                        assert!((gw - w[i] as f64 * r[c]).abs() <= 4e-5);
                    }
                    j += w[i] as f64 * terms.dmin;
                    l += w[i] as f64 * terms.loss;
                    f += w[i] as f64 * terms.free;
                    onehot += (terms.support == 1) as usize;
                }
                let scale = j.abs().max(1.0);
                assert!((tot.j - j).abs() <= 1e-6 * scale);
                assert!((tot.l - l).abs() <= 1e-5 * scale, "L {} {l}", tot.l);
                assert!(
                    (tot.f - f).abs() <= 1e-5 * scale,
                    "F {} {f} temp {temp}",
                    tot.f
                );
                assert_eq!(tot.onehot, onehot);
                for c in 0..k {
                    let want = (0..b).fold(0f32, |s, i| s + weighted[i * k + c]);
                    assert_eq!(colsum[c].to_bits(), want.to_bits(), "column {c}");
                }
                onehot_seen += onehot;
                spread_seen += b - onehot;
            }
        }
        // Both branches (one-hot rows and sorted candidates) were exercised.
        assert!(
            onehot_seen > 10 && spread_seen > 10,
            "{onehot_seen} {spread_seen}"
        );
    }
}

/// The f32 threshold kernels on rows with tied candidates (the unsorted 16-lane threshold
/// gives ties one shared support) and with 1 to 20 candidates (16 and fewer take the vector
/// threshold, more the sorted scan), against the portable row map in f64.
#[test]
fn threshold_kernels_match_the_row_map_on_tied_candidates() {
    use kmrbf::kernels::soft::rows_avx512::{available, soft_rows, SoftMap};
    // The kernel runs on the AVX-512 tiers (the missing ones are printed).
    for isa in common::tiers("threshold_kernels_match_the_row_map_on_tied_candidates")
        .into_iter()
        .filter(|&i| available(i))
    {
        let mut rng = kmrbf::rng::Rng::new(21);
        let (b, k) = (40usize, 24usize);
        for (fast, map) in [
            (SoftMap::Entmax15, MapKind::Entmax15),
            (SoftMap::Sparsemax, MapKind::Sparsemax),
        ] {
            for &temp in &[0.25f32, 1.0, 4.0] {
                // Distances on a grid of 0.25 (exact in f32): many exact ties.
                let xn = vec![2.0f32; b];
                let cn = vec![2.0f32; k];
                let cross: Vec<f32> = (0..b * k)
                    .map(|_| -4.0 + 0.25 * (rng.uniform() * 12.0).floor() as f32)
                    .collect();
                let mut c2 = cross.clone();
                let mut resp = vec![0f32; b * k];
                soft_rows(
                    isa,
                    fast,
                    &mut c2,
                    &xn,
                    &cn,
                    None,
                    temp,
                    None,
                    Some(&mut resp),
                    None,
                );
                for i in 0..b {
                    let dist: Vec<f64> = (0..k)
                        .map(|c| (xn[i] + cn[c] + cross[i * k + c]).max(0.0) as f64)
                        .collect();
                    let mut r = vec![0.0; k];
                    let mut s = vec![0.0; k];
                    map_row(map, &dist, temp as f64, &mut r, None, &mut s);
                    for c in 0..k {
                        let got = resp[i * k + c] as f64;
                        assert!(
                            (got - r[c]).abs() <= 2e-6,
                            "{map:?} temp {temp} row {i} col {c}: {got} vs {}",
                            r[c]
                        );
                    }
                }
            }
        }
    }
}

/// The AVX-512 dense weighted sums `sums += a^T x` equal, bit for bit, one scalar f32 FMA
/// chain per entry over the rows in order (shapes with column, center and row-block tails;
/// weights with zeros; nonzero starting sums).
#[test]
fn dense_weighted_sums_equal_one_fma_chain_per_entry() {
    use kmrbf::kernels::soft::rows_avx512::{available, dense_weighted_sums};
    // The kernel runs on the AVX-512 tiers (the missing ones are printed).
    for isa in common::tiers("dense_weighted_sums_equal_one_fma_chain_per_entry")
        .into_iter()
        .filter(|&i| available(i))
    {
        let mut rng = kmrbf::rng::Rng::new(9);
        for &(b, d, k) in &[
            (1usize, 1usize, 1usize),
            (70, 33, 9),
            (130, 32, 64),
            (65, 17, 20),
            (3, 50, 8),
        ] {
            let x: Vec<f32> = (0..b * d).map(|_| rng.normal() as f32).collect();
            let a: Vec<f32> = (0..b * k)
                .map(|_| {
                    if rng.uniform() < 0.3 {
                        0.0
                    } else {
                        rng.uniform() as f32
                    }
                })
                .collect();
            let start: Vec<f32> = (0..k * d).map(|_| rng.normal() as f32).collect();
            let mut got = start.clone();
            dense_weighted_sums(isa, &mut got, d, k, &x, &a);
            for j in 0..k {
                for t in 0..d {
                    let want = (0..b).fold(start[j * d + t], |s, i| {
                        a[i * k + j].mul_add(x[i * d + t], s)
                    });
                    assert_eq!(
                        got[j * d + t].to_bits(),
                        want.to_bits(),
                        "b={b} d={d} k={k} j={j} t={t}"
                    );
                }
            }
        }
    }
}

/// Through the model API (`responsibilities`, `center_gradient`): every `sigma` from 1e-300
/// to 1e300, both kernels, f32 and f64, data spread over many orders of magnitude, gives
/// finite rows on the simplex and finite objectives, or `BadTemperature` exactly when the
/// effective temperature leaves `temperature_range`.
fn temperature_range_holds<T: kmrbf::Real>(log_sigma: f64, bandwidth: bool, log_scale: f64) {
    use kmrbf::rbf::objective::responsibilities;
    use kmrbf::rbf::params::temperature_range;
    use kmrbf::rbf::{center_gradient, GradientKind, Kernel, Temperature};
    let scale = 10f64.powf(log_scale);
    let (n, d, k) = (40, 2, 3);
    let x: Vec<T> = (0..n * d)
        .map(|i| T::from_f64(scale * (((i * 37) % 23) as f64 - 11.0)))
        .collect();
    let c: Vec<T> = x[..k * d]
        .iter()
        .map(|&v| v + T::from_f64(0.3 * scale))
        .collect();
    let v = kmrbf::MatView::new(&x, n, d).unwrap();
    let kernel = if bandwidth {
        Kernel::Bandwidth
    } else {
        Kernel::Temperature
    };
    let t = Temperature::new(10f64.powf(log_sigma), kernel).unwrap();
    let (lo, hi) = temperature_range::<T>();
    let inside = t.effective() >= lo && t.effective() <= hi;
    for map in MAPS {
        let r = responsibilities(kmrbf::Isa::detect(), v, &c, k, map, t);
        let g = center_gradient(
            kmrbf::Isa::detect(),
            v,
            None,
            &c,
            k,
            map,
            t,
            GradientKind::Full,
        );
        if !inside {
            assert!(matches!(r, Err(kmrbf::Error::BadTemperature { .. })));
            assert!(matches!(g, Err(kmrbf::Error::BadTemperature { .. })));
            continue;
        }
        let r = r.unwrap();
        for row in r.chunks(k) {
            let s: f64 = row.iter().map(|v| v.to_f64()).sum();
            assert!(
                row.iter().all(|&v| v.is_finite() && v >= T::ZERO) && (s - 1.0).abs() < 1e-4,
                "{map:?} sigma {t:?}: {row:?}"
            );
        }
        let (o, g) = g.unwrap();
        for v in [o.j, o.l, o.f, o.bound, o.mean_support] {
            assert!(v.is_finite(), "{map:?} {t:?} scale {scale}: {o:?}");
        }
        assert!(g.iter().all(|v| v.is_finite()), "{map:?} {t:?}: gradient");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_temperature_gives_the_simplex_or_a_typed_error(
        log_sigma in -300.0f64..300.0,
        bandwidth in any::<bool>(),
        log_scale32 in -6.0f64..6.0,
        log_scale64 in -100.0f64..100.0,
    ) {
        temperature_range_holds::<f32>(log_sigma, bandwidth, log_scale32);
        temperature_range_holds::<f64>(log_sigma, bandwidth, log_scale64);
    }
}

#[test]
fn temperature_range_edges() {
    use kmrbf::rbf::params::temperature_range;
    for (lo, hi) in [temperature_range::<f32>(), temperature_range::<f64>()] {
        temperature_range_holds::<f32>(lo.log10(), false, 0.0);
        temperature_range_holds::<f64>(lo.log10(), false, 0.0);
        temperature_range_holds::<f32>(hi.log10(), false, 0.0);
        temperature_range_holds::<f64>(hi.log10(), false, 0.0);
    }
}

#[test]
fn a_view_whose_shape_overflows_is_refused() {
    let x = [0.0f64; 4];
    // 2^63 * 2 wraps to 0 in unchecked arithmetic: it must not pass as an empty view.
    assert!(kmrbf::MatView::new(&x[..0], 1 << 63, 2).is_err());
    assert!(kmrbf::MatView::new(&x, usize::MAX, usize::MAX).is_err());
    assert!(kmrbf::MatView::new(&x, 2, 3).is_err());
    let v = kmrbf::MatView::new(&x, 2, 2).unwrap();
    assert_eq!((v.n(), v.d(), v.data().len()), (2, 2, 4));
}
