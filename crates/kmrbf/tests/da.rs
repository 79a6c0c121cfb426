//! Mass-constrained deterministic annealing (`sigma0 = critical`): the biased pass against an
//! extra coordinate, the growing codebook's splits and merges, and the result on blobs of
//! unequal sizes, where annealing without masses ended at 2.2-2.4x Lloyd's J.

use kmrbf::data::Prepared;
use kmrbf::kernels::layout::distance::row_sq_norms;
use kmrbf::kernels::maps::MapKind;
use kmrbf::rbf::anneal::{anneal, AnnealParams, Schedule, Sigma0};
use kmrbf::rbf::codebook::Codebook;
use kmrbf::rbf::pass::{soft_pass, soft_pass_biased, PassRequest, RowOut};
use kmrbf::rbf::step::{StepKind, Stepper};
use kmrbf::rng::Rng;
use kmrbf::{KMeansParams, MatView, Real};

fn norms<T: Real>(x: &[T], d: usize) -> Vec<T> {
    let mut xn = vec![T::ZERO; x.len() / d];
    row_sq_norms(x, d, &mut xn);
    xn
}

/// `v` (`rows x d`) with one more column, `extra[i]` (0 when `None`).
fn widen<T: Real>(v: &[T], d: usize, extra: Option<&[T]>) -> Vec<T> {
    v.chunks(d)
        .enumerate()
        .flat_map(|(i, r)| {
            r.iter()
                .copied()
                .chain(std::iter::once(extra.map_or(T::ZERO, |e| e[i])))
        })
        .collect()
}

/// A bias `b_k` on the squared distances is the same as a last coordinate `sqrt(b_k)` on the
/// centers and 0 on the rows: responsibilities (tile pipeline) and a soft-lloyd step's new
/// centers and masses (the fused kernels for f32, k <= 64) agree with that reference.
fn biased_pass_is_an_extra_coordinate<T: Real>(tol: f64) {
    let (n, d, k) = (700usize, 5usize, 7usize);
    let mut rng = Rng::new(5);
    let x: Vec<T> = (0..n * d)
        .map(|_| T::from_f64(2.0 * rng.normal()))
        .collect();
    let c: Vec<T> = (0..k * d)
        .map(|_| T::from_f64(2.0 * rng.normal()))
        .collect();
    let bias: Vec<T> = (0..k).map(|_| T::from_f64(3.0 * rng.uniform())).collect();
    let root: Vec<T> = bias
        .iter()
        .map(|b| T::from_f64(b.to_f64().sqrt()))
        .collect();
    let (xw, cw) = (widen(&x, d, None), widen(&c, d, Some(&root)));
    let (xn, xnw) = (norms(&x, d), norms(&xw, d + 1));
    let p = Prepared::new(&x, d, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    let pw =
        Prepared::new(&xw, d + 1, &xnw, None, kmrbf::Isa::detect()).expect("consistent lengths");
    for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
        for temp in [0.3, 2.0, 20.0] {
            let req = PassRequest {
                map,
                temperature: T::from_f64(temp),
                resp_sums: false,
                loss_sums: false,
                fused: true,
            };
            let mut r = vec![T::ZERO; n * k];
            let mut rw = vec![T::ZERO; n * k];
            soft_pass_biased(&p, &c, k, Some(&bias), req, RowOut::Resp(&mut r));
            soft_pass(&pw, &cw, k, req, RowOut::Resp(&mut rw));
            let err = r
                .iter()
                .zip(&rw)
                .map(|(a, b)| (a.to_f64() - b.to_f64()).abs())
                .fold(0.0, f64::max);
            assert!(
                err <= tol,
                "{map:?} temp {temp}: responsibilities differ by {err}"
            );
            let (mut cs, mut csw) = (c.clone(), cw.clone());
            let info = Stepper::new(StepKind::SoftLloyd).step_biased(
                &p,
                &mut cs,
                k,
                map,
                temp,
                Some(&bias),
            );
            let infow = Stepper::new(StepKind::SoftLloyd).step(&pw, &mut csw, k, map, temp);
            for j in 0..k {
                let mass_err = (info.mass[j] - infow.mass[j]).abs() / n as f64;
                assert!(
                    mass_err <= tol,
                    "{map:?} temp {temp}: mass {j} off by {mass_err}"
                );
                for t in 0..d {
                    let (a, b) = (cs[j * d + t].to_f64(), csw[j * (d + 1) + t].to_f64());
                    assert!(
                        (a - b).abs() <= 100.0 * tol * (1.0 + b.abs()),
                        "{map:?} temp {temp}: center {j}, column {t}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn biased_pass_is_an_extra_coordinate_f64() {
    biased_pass_is_an_extra_coordinate::<f64>(1e-12);
}

#[test]
fn biased_pass_is_an_extra_coordinate_f32() {
    biased_pass_is_an_extra_coordinate::<f32>(2e-5);
}

/// Rows of `sizes[b]` points around `means[b]` (2-D) with standard deviation `std`.
fn blobs2(means: &[[f64; 2]], sizes: &[usize], std: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    for (m, &s) in means.iter().zip(sizes) {
        for _ in 0..s {
            x.push(m[0] + std * rng.normal());
            x.push(m[1] + std * rng.normal());
        }
    }
    x
}

#[test]
fn codebook_splits_past_the_critical_temperature_and_merges_above_it() {
    // Two tight blobs at (-5, 0) and (5, 0): lambda_max ~ 25, critical temperature ~ 50.
    let x = blobs2(&[[-5.0, 0.0], [5.0, 0.0]], &[200, 200], 0.1, 1);
    let xn = norms(&x, 2);
    let p = Prepared::new(&x, 2, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    let mut rng = Rng::new(2);
    let mut cb = Codebook::new(&p, 2, 1e-3);
    assert_eq!(
        cb.grow(&p, 55.0, &mut rng),
        0,
        "above the critical temperature"
    );
    assert_eq!(cb.active(), 1);
    assert_eq!(cb.grow(&p, 40.0, &mut rng), 1, "below it");
    assert_eq!(cb.active(), 2);
    let mut st = Stepper::new(StepKind::SoftLloyd);
    for temp in [40.0, 10.0, 1.0] {
        for _ in 0..300 {
            let bias = cb.bias(temp);
            let info = st.step_biased(&p, cb.centers_mut(), 2, MapKind::Softmax, temp, Some(&bias));
            cb.set_mass(&info.mass);
        }
    }
    assert_eq!(cb.merge(), 0, "a split that took stays split");
    let c = cb.padded();
    let (lo, hi) = if c[0] < c[2] { (0, 2) } else { (2, 0) };
    assert!(
        (c[lo] + 5.0).abs() < 0.05 && (c[hi] - 5.0).abs() < 0.05,
        "{c:?}"
    );
    assert!(
        cb.bias(1.0).iter().all(|&b| (b - 2f64.ln()).abs() < 1e-2),
        "masses 1/2"
    );
    assert_eq!(cb.grow(&p, 1e-3, &mut rng), 0, "k codevectors are active");

    // One blob of variance 1: critical temperature ~ 2. A split at 1.5 that is then annealed
    // at 10 (above it) comes back together and is merged.
    let x = blobs2(&[[0.0, 0.0]], &[400], 1.0, 3);
    let xn = norms(&x, 2);
    let p = Prepared::new(&x, 2, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    let mut cb = Codebook::new(&p, 3, 1e-3);
    assert_eq!(cb.grow(&p, 1.5, &mut rng), 1);
    for _ in 0..200 {
        let bias = cb.bias(10.0);
        let info = st.step_biased(&p, cb.centers_mut(), 2, MapKind::Softmax, 10.0, Some(&bias));
        cb.set_mass(&info.mass);
    }
    assert_eq!(cb.merge(), 1);
    assert_eq!(cb.active(), 1);
    assert_eq!(cb.padded().len(), 3 * 2, "padded to k rows");
}

#[test]
fn mass_constrained_annealing_matches_lloyd_on_unequal_sizes() {
    for seed in 0..3u64 {
        let ds = kmrbf::synth::unequal_size(seed);
        let v = MatView::new(&ds.x, ds.n, ds.d).unwrap();
        let init = KMeansParams::<f64>::new(ds.k)
            .seed(seed)
            .initial_centers(v, None)
            .unwrap();
        let mut prm = AnnealParams::new(MapKind::Softmax);
        prm.sigma0 = Sigma0::Critical;
        prm.schedule = Schedule::Geometric { gamma: 0.8 };
        prm.stage_cap = 200;
        prm.tol = 1e-10;
        prm.polish = true;
        prm.seed = seed;
        let r = anneal(v, None, &init, ds.k, &prm, &mut |_| {}).unwrap();
        let lloyd = r.reference.as_ref().unwrap().inertia;
        assert!(
            r.inertia <= 1.01 * lloyd,
            "seed {seed}: annealing J {} vs Lloyd J {lloyd}",
            r.inertia
        );
        // Every center has its own cluster (none left as a copy).
        let d = ds.d;
        for a in 0..ds.k {
            for b in a + 1..ds.k {
                let dist: f64 = (0..d)
                    .map(|t| (r.centers[a * d + t] - r.centers[b * d + t]).powi(2))
                    .sum();
                assert!(dist > 1.0, "seed {seed}: centers {a} and {b} coincide");
            }
        }
    }
}
