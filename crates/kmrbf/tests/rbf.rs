//! The RBF model: gradients against finite differences, the Gamma-convergence bounds,
//! monotone soft-lloyd, the zero-temperature limit, annealing onto Lloyd's fixed point.

mod common;
use common::*;
use kmrbf::data::Prepared;
use kmrbf::kernels::maps::MapKind;
use kmrbf::rbf::anneal::{anneal, AnnealParams, Schedule, Sigma0};
use kmrbf::rbf::step::{StepKind, Stepper};
use kmrbf::rbf::{center_gradient, input_gradient, objectives, GradientKind, Kernel, Temperature};
use kmrbf::reference;
use kmrbf::{Error, MatView};

const SOFT: [MapKind; 4] = [
    MapKind::Softmax,
    MapKind::Entmax15,
    MapKind::Sparsemax,
    MapKind::Entmax { alpha: 1.3 },
];

fn small() -> (Vec<f64>, usize, usize) {
    let ds = kmrbf::synth::blobs(80, 3, 4, 3.0, 21);
    (ds.x, 80, 3)
}

fn temp(s: f64) -> Temperature {
    Temperature::new(s, Kernel::Temperature).unwrap()
}

fn obj(
    x: &[f64],
    n: usize,
    d: usize,
    w: Option<&[f64]>,
    c: &[f64],
    map: MapKind,
    s: f64,
) -> kmrbf::rbf::Objectives {
    objectives(
        kmrbf::Isa::detect(),
        MatView::new(x, n, d).unwrap(),
        w,
        c,
        c.len() / d,
        map,
        temp(s),
    )
    .unwrap()
}

/// Central differences of `f` at `c`, step `h` relative to the data scale.
fn fd(c: &[f64], h: f64, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    (0..c.len())
        .map(|i| {
            let mut a = c.to_vec();
            let mut b = c.to_vec();
            a[i] += h;
            b[i] -= h;
            (f(&a) - f(&b)) / (2.0 * h)
        })
        .collect()
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt().max(1e-300);
    num / den
}

#[test]
fn center_gradients_match_finite_differences() {
    let (x, n, d) = small();
    let mut rng = kmrbf::rng::Rng::new(4);
    let w: Vec<f64> = (0..n).map(|_| 0.5 + rng.uniform()).collect();
    let c = pick_rows(&x, n, d, 4, 3);
    let c: Vec<f64> = c.iter().map(|v| v + 0.3).collect();
    let v = MatView::new(&x, n, d).unwrap();
    for map in SOFT {
        for sigma in [0.5, 3.0, 20.0] {
            let (_, gs) = center_gradient(
                kmrbf::Isa::detect(),
                v,
                Some(&w),
                &c,
                4,
                map,
                temp(sigma),
                GradientKind::Stopgrad,
            )
            .unwrap();
            let want_f = fd(&c, 1e-5, |cc| obj(&x, n, d, Some(&w), cc, map, sigma).f);
            let e = rel_err(&gs, &want_f);
            assert!(
                e < 1e-4,
                "{map:?} sigma {sigma}: stopgrad vs dF/dc rel err {e}"
            );
            let (_, gf) = center_gradient(
                kmrbf::Isa::detect(),
                v,
                Some(&w),
                &c,
                4,
                map,
                temp(sigma),
                GradientKind::Full,
            )
            .unwrap();
            let want_l = fd(&c, 1e-5, |cc| obj(&x, n, d, Some(&w), cc, map, sigma).l);
            let e = rel_err(&gf, &want_l);
            assert!(e < 1e-4, "{map:?} sigma {sigma}: full vs dL/dc rel err {e}");
        }
    }
    // Hard: F = L = J and the stopgrad gradient is J's (Danskin).
    let (_, g) = center_gradient(
        kmrbf::Isa::detect(),
        v,
        Some(&w),
        &c,
        4,
        MapKind::Hard,
        temp(1.0),
        GradientKind::Stopgrad,
    )
    .unwrap();
    let want = fd(&c, 1e-6, |cc| {
        obj(&x, n, d, Some(&w), cc, MapKind::Hard, 1.0).j
    });
    assert!(rel_err(&g, &want) < 1e-4);
}

#[test]
fn input_gradients_match_finite_differences() {
    let (x, n, d) = small();
    let c = pick_rows(&x, n, d, 4, 5);
    let c: Vec<f64> = c.iter().map(|v| v - 0.2).collect();
    for map in SOFT {
        for (kind, which) in [(GradientKind::Stopgrad, 'F'), (GradientKind::Full, 'L')] {
            let g = input_gradient(
                kmrbf::Isa::detect(),
                MatView::new(&x, n, d).unwrap(),
                None,
                &c,
                4,
                map,
                temp(2.0),
                kind,
            )
            .unwrap();
            let want = fd(&x, 1e-5, |xx| {
                let o = obj(xx, n, d, None, &c, map, 2.0);
                if which == 'F' {
                    o.f
                } else {
                    o.l
                }
            });
            let e = rel_err(&g, &want);
            assert!(e < 1e-4, "{map:?}: input gradient of {which} rel err {e}");
        }
    }
}

#[test]
fn gamma_convergence_bounds_hold_on_random_centers() {
    let (x, n, d) = load_csv("iris");
    let mut rng = kmrbf::rng::Rng::new(8);
    let w: Vec<f64> = (0..n).map(|_| 2.0 * rng.uniform()).collect();
    for trial in 0..20 {
        let k = 2 + trial % 7;
        let c: Vec<f64> = (0..k * d).map(|_| 8.0 * rng.uniform()).collect();
        for map in SOFT {
            for sigma in [1e-3, 0.1, 1.0, 10.0, 1e3] {
                let o = obj(&x, n, d, Some(&w), &c, map, sigma);
                let b = sigma * o.weight * map.entropy_max(k);
                let slack = 1e-9 * o.j.max(1.0);
                assert!(
                    o.l - o.j >= -slack && o.l - o.j <= b + slack,
                    "{map:?} s={sigma}: L-J = {} not in [0, {b}]",
                    o.l - o.j
                );
                assert!(
                    o.f - o.j <= slack && o.f - o.j >= -b - slack,
                    "{map:?} s={sigma}: F-J = {} not in [-{b}, 0]",
                    o.f - o.j
                );
                assert!((o.bound - b).abs() <= 1e-9 * b.max(1.0));
            }
        }
    }
}

#[test]
fn soft_lloyd_never_increases_the_free_energy() {
    let (x, n, d) = load_csv("iris");
    let v = MatView::new(&x, n, d).unwrap();
    let mut xn = vec![0.0; n];
    kmrbf::kernels::layout::distance::row_sq_norms(&x, d, &mut xn);
    let p = Prepared::new(&x, d, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    for map in SOFT {
        for sigma in [0.05, 0.5, 5.0] {
            let mut c = pick_rows(&x, n, d, 5, 1);
            let mut st = Stepper::new(StepKind::SoftLloyd);
            let mut last = f64::INFINITY;
            for _ in 0..30 {
                let info = st.step(&p, &mut c, 5, map, sigma);
                assert!(
                    info.before.f <= last + 1e-10 * last.abs().max(1.0),
                    "{map:?} s={sigma}: F rose {last} -> {}",
                    info.before.f
                );
                last = info.before.f;
            }
            let _ = v;
        }
    }
}

#[test]
fn at_zero_temperature_soft_lloyd_is_lloyd() {
    let ds = kmrbf::synth::blobs(500, 4, 6, 2.5, 3);
    let (x, n, d) = (ds.x, 500, 4);
    let mut xn = vec![0.0; n];
    kmrbf::kernels::layout::distance::row_sq_norms(&x, d, &mut xn);
    let p = Prepared::new(&x, d, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    let w = vec![1.0; n];
    let init = pick_rows(&x, n, d, 6, 2);
    for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
        // One step at sigma = 1e-6 * gap scale equals one Lloyd step.
        let mut c = init.clone();
        Stepper::new(StepKind::SoftLloyd).step(&p, &mut c, 6, map, 1e-6);
        let lloyd1 = reference::lloyd(&x, d, &w, &init, 1, 0.0);
        // reference::lloyd with max_iter = 1 returns the centers after one update.
        let e = max_abs_diff(&c, &lloyd1.centers);
        assert!(e <= 1e-9, "{map:?}: one step differs from Lloyd by {e}");
        // T steps stay on Lloyd's trajectory.
        let mut c = init.clone();
        let mut st = Stepper::new(StepKind::SoftLloyd);
        for t in 1..=8 {
            st.step(&p, &mut c, 6, map, 1e-6);
            let want = reference::lloyd(&x, d, &w, &init, t, 0.0);
            let e = max_abs_diff(&c, &want.centers);
            assert!(
                e <= 1e-6,
                "{map:?}: step {t} is {e} from Lloyd's trajectory"
            );
        }
    }
}

fn check_anneal_lands_on_lloyd(name: &str, x: &[f64], n: usize, d: usize, k: usize, seed: u64) {
    let init = pick_rows(x, n, d, k, seed);
    let v = MatView::new(x, n, d).unwrap();
    for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
        let params = AnnealParams::new(map);
        let r = anneal(v, None, &init, k, &params, &mut |_| {}).unwrap();
        let reference = r.reference.as_ref().unwrap();
        let disc: Vec<f64> = r.stages.iter().map(|s| s.discrepancy.unwrap()).collect();
        let last = *disc.last().unwrap();
        assert!(
            last <= 1e-6 * scale(x),
            "{name} {map:?}: final discrepancy {last} (stages {disc:?})"
        );
        // Non-increasing once sigma is well below its start (after the first quarter of stages).
        let start = disc.len() / 4;
        for w in disc[start..].windows(2) {
            assert!(
                w[1] <= w[0] * (1.0 + 1e-9) + 1e-12,
                "{name} {map:?}: discrepancy rose {w:?} in {disc:?}"
            );
        }
        assert!(
            (r.inertia - reference.inertia).abs() <= 1e-9 * reference.inertia,
            "{name} {map:?}: J differs"
        );
        assert_eq!(r.stages.last().unwrap().ari.unwrap(), 1.0);
    }
}

#[test]
fn annealing_from_auto_sigma0_lands_on_lloyds_fixed_point_on_blobs() {
    let ds = kmrbf::synth::blobs(600, 2, 5, 1.5, 7);
    check_anneal_lands_on_lloyd("blobs", &ds.x, 600, 2, 5, 1);
    let ds = kmrbf::synth::blobs(800, 16, 8, 3.0, 9);
    check_anneal_lands_on_lloyd("blobs16", &ds.x, 800, 16, 8, 2);
}

#[test]
fn annealing_from_auto_sigma0_lands_on_lloyds_fixed_point_on_iris() {
    let (x, n, d) = load_csv("iris");
    for seed in 0..3 {
        check_anneal_lands_on_lloyd("iris", &x, n, d, 3, seed);
    }
}

#[test]
fn critical_annealing_reports_its_distortion_against_lloyd() {
    let (x, n, d) = load_csv("iris");
    let init = pick_rows(&x, n, d, 3, 0);
    let mut params = AnnealParams::new(MapKind::Softmax);
    params.sigma0 = Sigma0::Critical;
    params.polish = true;
    let r = anneal(
        MatView::new(&x, n, d).unwrap(),
        None,
        &init,
        3,
        &params,
        &mut |_| {},
    )
    .unwrap();
    let j_lloyd = r.reference.as_ref().unwrap().inertia;
    // Deterministic annealing reaches a fixed point of Lloyd (it was polished) whose J is at
    // most a few percent above the reference's on iris (it is usually lower or equal).
    assert!(
        r.inertia.is_finite() && r.inertia <= 1.05 * j_lloyd,
        "DA J {} vs Lloyd J {j_lloyd}",
        r.inertia
    );
    eprintln!(
        "iris k=3: deterministic annealing J = {:.6}, Lloyd from the same init J = {j_lloyd:.6}",
        r.inertia
    );
}

#[test]
fn soft_pass_gives_the_same_bits_for_any_thread_count() {
    let ds = kmrbf::synth::blobs(20_000, 8, 10, 2.0, 5);
    let x: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let c = x[..10 * 8].to_vec();
    let run = |t| {
        with_threads(t, || {
            let v = MatView::new(&x, 20_000, 8).unwrap();
            let (o, g) = center_gradient(
                kmrbf::Isa::detect(),
                v,
                None,
                &c,
                10,
                MapKind::Entmax15,
                temp(3.0),
                GradientKind::Full,
            )
            .unwrap();
            (
                o.l.to_bits(),
                o.f.to_bits(),
                g.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            )
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(4));
}

/// Soft-lloyd steps (the fused kernels where they apply: f32 softmax / entmax-1.5 / sparsemax,
/// f64 entmax-1.5 / sparsemax with `k <= 64`) give the same center bits for 1, 2 and 4 threads.
fn soft_lloyd_steps_thread_parity<T: kmrbf::Real>() {
    let ds = kmrbf::synth::blobs(30_000, 8, 10, 2.0, 6);
    let x: Vec<T> = ds.x.iter().map(|&v| T::from_f64(v)).collect();
    let mut xn = vec![T::ZERO; 30_000];
    kmrbf::kernels::layout::distance::row_sq_norms(&x, 8, &mut xn);
    let p = Prepared::new(&x, 8, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
        let run = |t| {
            with_threads(t, || {
                let mut c = x[..10 * 8].to_vec();
                let mut st = Stepper::new(StepKind::SoftLloyd);
                for _ in 0..3 {
                    st.step(&p, &mut c, 10, map, 3.0);
                }
                c.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>()
            })
        };
        let one = run(1);
        assert_eq!(one, run(2), "{map:?} {}", T::NAME);
        assert_eq!(one, run(4), "{map:?} {}", T::NAME);
    }
}

#[test]
fn soft_lloyd_steps_give_the_same_bits_for_any_thread_count() {
    soft_lloyd_steps_thread_parity::<f32>();
    soft_lloyd_steps_thread_parity::<f64>();
}

#[test]
fn bad_soft_parameters_are_typed_errors() {
    let (x, n, d) = small();
    let v = MatView::new(&x, n, d).unwrap();
    let c = pick_rows(&x, n, d, 3, 1);
    assert!(matches!(
        Temperature::new(0.0, Kernel::Temperature),
        Err(Error::BadParam { name: "sigma", .. })
    ));
    assert!(matches!(
        Temperature::new(-1.0, Kernel::Bandwidth),
        Err(Error::BadParam { name: "sigma", .. })
    ));
    assert!(matches!(
        Temperature::new(f64::NAN, Kernel::Temperature),
        Err(Error::BadParam { name: "sigma", .. })
    ));
    assert!(matches!(
        kmrbf::rbf::params::parse_map("entmax", Some(2.5)),
        Err(Error::BadParam { name: "alpha", .. })
    ));
    assert!(matches!(
        kmrbf::rbf::params::parse_map("entmax", Some(1.0)),
        Err(Error::BadParam { name: "alpha", .. })
    ));
    assert!(matches!(
        kmrbf::rbf::params::parse_map("gumbel", None),
        Err(Error::BadParam { name: "map", .. })
    ));
    let e = objectives(
        kmrbf::Isa::detect(),
        v,
        None,
        &c[..5],
        3,
        MapKind::Softmax,
        temp(1.0),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InitShape { .. }), "{e}");
    let mut p = AnnealParams::new(MapKind::Softmax);
    p.schedule = Schedule::Geometric { gamma: 1.0 };
    assert!(matches!(
        anneal(v, None, &c, 3, &p, &mut |_| {}),
        Err(Error::BadParam { name: "gamma", .. })
    ));
    let mut p = AnnealParams::new(MapKind::Softmax);
    p.sigma0 = Sigma0::Value(1.0);
    p.sigma_min = Some(2.0);
    assert!(matches!(
        anneal(v, None, &c, 3, &p, &mut |_| {}),
        Err(Error::BadParam {
            name: "sigma_min",
            ..
        })
    ));
    let mut p = AnnealParams::new(MapKind::Softmax);
    p.sigma0 = Sigma0::Value(-1.0);
    assert!(matches!(
        anneal(v, None, &c, 3, &p, &mut |_| {}),
        Err(Error::BadParam { name: "sigma", .. })
    ));
}

/// Integer-valued f32 data with `k` centers in mirrored pairs: the two centers of a pair sit
/// half a unit either side of an integer plane, shifted by a few 1e-5, so the rows on that
/// plane are nearly equidistant from both, at the rounding level of the distance kernels.
fn integer_data(n: usize, d: usize, k: usize, range: u64, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = kmrbf::rng::Rng::new(seed);
    let x: Vec<f32> = (0..n * d)
        .map(|_| rng.below(range as usize) as f32)
        .collect();
    let mut c = Vec::with_capacity(k * d);
    for j in 0..k / 2 {
        let i = rng.below(n);
        let eps = 4e-5 * (1 + j % 4) as f32;
        for side in [0.5f32 + eps, -0.5] {
            for t in 0..d {
                let off = 0.25 + 0.0137 * j as f32 + 0.0031 * t as f32;
                let v = x[i * d + t] + if t == 0 { side } else { off };
                c.push(v);
            }
        }
    }
    (x, c)
}

/// Rows whose two nearest centers are within `rel` (relative, exact f64 arithmetic).
fn near_ties(x: &[f32], c: &[f32], d: usize, rel: f64) -> usize {
    x.chunks(d)
        .filter(|r| {
            let mut ds: Vec<f64> = c
                .chunks(d)
                .map(|cj| {
                    r.iter()
                        .zip(cj)
                        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                        .sum()
                })
                .collect();
            ds.sort_by(f64::total_cmp);
            ds[1] - ds[0] <= rel * ds[0]
        })
        .count()
}

#[test]
fn a_soft_step_at_the_one_hot_limit_is_a_lloyd_step_bit_for_bit_in_f32() {
    use kmrbf::kernels::layout::distance::row_sq_norms;
    use kmrbf::kmeans::lloyd::lloyd_run;
    let (n, d, k) = (30_000, 6, 48);
    let (x, c0) = integer_data(n, d, k, 40, 5);
    let mut xn = vec![0.0f32; n];
    row_sq_norms(&x, d, &mut xn);
    let p = Prepared::new(&x, d, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    let ties = near_ties(&x, &c0, d, 1e-6);
    assert!(
        ties >= 20,
        "only {ties} near-ties: the data does not test the decision rule"
    );
    let lloyd = lloyd_run(&p, &c0, k, 1, 0.0, &|_| {}, None);
    let mut split_rows = 0.0;
    for map in [
        MapKind::Entmax15,
        MapKind::Sparsemax,
        MapKind::Softmax,
        MapKind::Hard,
    ] {
        // Below the rounding resolution of the distances: the maps still split the rows whose
        // two nearest distances round to the same value, but the step is Lloyd's.
        let temp = 1e-30;
        let o = objectives(
            kmrbf::Isa::detect(),
            MatView::new(&x, n, d).unwrap(),
            None,
            &c0,
            k,
            map,
            Temperature::new(temp, Kernel::Temperature).unwrap(),
        )
        .unwrap();
        split_rows += (1.0 - o.onehot_fraction) * n as f64;
        let mut c = c0.clone();
        Stepper::new(StepKind::SoftLloyd).step(&p, &mut c, k, map, temp);
        let same = c
            .iter()
            .zip(&lloyd.centers)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "{map:?}: the one-hot soft step differs from Lloyd's step ({ties} near-ties)"
        );
    }
    assert!(
        split_rows > 0.0,
        "no row tied in the soft kernels' rounding: a weak test"
    );
}

#[test]
fn the_one_hot_limit_is_where_the_maps_cannot_resolve_the_gap() {
    use kmrbf::rbf::step::one_hot_ratio;
    let max = |m: MapKind, gap: f64, temp: f64| {
        let mut r = [0.0f64; 2];
        let mut s = [0.0f64; 2];
        kmrbf::kernels::maps::map_row(m, &[0.0, gap], temp, &mut r, None, &mut s);
        r[1]
    };
    let max32 = |m: MapKind, gap: f32, temp: f32| {
        let mut r = [0.0f32; 2];
        let mut s = [0.0f32; 2];
        kmrbf::kernels::maps::map_row(m, &[0.0, gap], temp, &mut r, None, &mut s);
        r[1]
    };
    for m in SOFT {
        // Past the ratio the runner-up gets nothing (the limit is safe); for the sparse maps a
        // little below it, something (the limit is tight). Softmax's ratio counts subnormal
        // exponentials, so it is safe but not tight where the exponential flushes them.
        let r64 = one_hot_ratio::<f64>(m);
        let r32 = one_hot_ratio::<f32>(m);
        assert_eq!(max(m, r64 * 1.0001, 1.0), 0.0, "{m:?} f64");
        assert_eq!(max32(m, r32 as f32 * 1.0001, 1.0), 0.0, "{m:?} f32");
        if m != MapKind::Softmax {
            assert!(max(m, r64 * 0.99, 1.0) > 0.0, "{m:?} f64");
            assert!(max32(m, r32 as f32 * 0.99, 1.0) > 0.0, "{m:?} f32");
        }
    }
}

/// Data without a scale (one row; all rows equal) anneals from every data-derived start in
/// both precisions: every temperature gives the same centers, and none may leave the range.
#[test]
fn annealing_data_without_spread_stays_in_range() {
    fn run<T: kmrbf::Real>(x: &[T], n: usize, k: usize) {
        for s0 in [Sigma0::Auto, Sigma0::Median, Sigma0::Critical] {
            for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
                let mut p = AnnealParams::new(map);
                p.sigma0 = s0;
                let init: Vec<T> = x[..k].to_vec();
                let r = anneal(
                    MatView::new(x, n, 1).unwrap(),
                    None,
                    &init,
                    k,
                    &p,
                    &mut |_| {},
                )
                .unwrap_or_else(|e| panic!("{s0:?} {map:?} n={n} k={k}: {e}"));
                assert_eq!(r.labels.len(), n);
                assert!(r.inertia == 0.0, "{s0:?} {map:?}: J = {}", r.inertia);
            }
        }
    }
    run::<f64>(&[3.5], 1, 1);
    run::<f32>(&[3.5], 1, 1);
    run::<f64>(&[2.0; 5], 5, 2);
    run::<f32>(&[-7.0; 5], 5, 2);
}

/// The objectives of every map agree across the tiers this CPU runs (f32, to rounding: the
/// tiers run different kernels, fused or tile by tile, for the same numbers).
#[test]
fn every_tier_gives_the_same_objectives() {
    let ds = kmrbf::synth::blobs(5_000, 16, 12, 3.0, 4);
    let x: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let c: Vec<f32> = x[..12 * 16].to_vec();
    let v = MatView::new(&x, 5_000, 16).unwrap();
    let tiers = common::tiers("every_tier_gives_the_same_objectives");
    for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
        for sigma in [10.0, 1.0, 0.1] {
            let all: Vec<_> = tiers
                .iter()
                .map(|&isa| objectives(isa, v, None, &c, 12, map, temp(sigma)).unwrap())
                .collect();
            let base = &all[0];
            for (o, isa) in all.iter().zip(&tiers) {
                for (name, a, b) in [("J", o.j, base.j), ("L", o.l, base.l), ("F", o.f, base.f)] {
                    let rel = (a - b).abs() / b.abs().max(1.0);
                    assert!(
                        rel <= 1e-5,
                        "{map:?} sigma {sigma} {isa}: {name} {a} vs {b}"
                    );
                }
            }
        }
    }
}

/// `AnnealParams::fit` returns the annealing's centers, stages and reference as a model, and
/// the model computes what the free functions compute at its last temperature; a model from
/// given centers checks them.
#[test]
fn the_fitted_rbf_model_is_the_annealing_and_computes_at_its_temperature() {
    use kmrbf::rbf::RbfModel;
    let ds = kmrbf::synth::blobs(600, 3, 4, 4.0, 9);
    let x = MatView::new(&ds.x, 600, 3).unwrap();
    let init = pick_rows(&ds.x, 600, 3, 4, 2);
    let params = AnnealParams::new(MapKind::Entmax15);
    let want = anneal(x, None, &init, 4, &params, &mut |_| {}).unwrap();
    let mut seen = 0;
    let model = params.fit(x, None, &init, 4, &mut |_| seen += 1).unwrap();
    assert_eq!(model.centers(), &want.centers[..]);
    assert_eq!(model.stages().len(), want.stages.len());
    assert_eq!(seen, want.stages.len());
    assert_eq!(model.fit_record().unwrap().labels, want.labels);
    let reference = model
        .reference()
        .expect("the default asks for the reference run");
    assert_eq!(reference.labels, want.reference.as_ref().unwrap().labels);
    let last = want.stages.last().unwrap();
    assert_eq!(model.temperature().effective(), last.temperature);
    assert_eq!(model.predict(x).unwrap(), want.labels);
    let t = model.temperature();
    let r = model.responsibilities(x).unwrap();
    let free = kmrbf::rbf::objective::responsibilities(
        kmrbf::Isa::detect(),
        x,
        model.centers(),
        4,
        MapKind::Entmax15,
        t,
    )
    .unwrap();
    assert_eq!(r, free);
    let o = model.objectives(x, None).unwrap();
    assert_eq!(o.j, last.objectives.j);
    // From given centers: the same numbers; bad centers and temperatures are refused.
    let again = RbfModel::new(want.centers.clone(), 4, MapKind::Entmax15, t).unwrap();
    assert_eq!(again.responsibilities(x).unwrap(), r);
    assert!(again.fit_record().is_none() && again.stages().is_empty());
    assert!(matches!(
        RbfModel::new(vec![0.0; 12], 0, MapKind::Softmax, temp(1.0)),
        Err(Error::BadK { .. })
    ));
    assert!(matches!(
        RbfModel::new(vec![0.0; 11], 4, MapKind::Softmax, temp(1.0)),
        Err(Error::BadLength { .. })
    ));
    assert!(matches!(
        RbfModel::new(vec![f64::NAN; 12], 4, MapKind::Softmax, temp(1.0)),
        Err(Error::NonFinite { .. })
    ));
    assert!(Temperature::new(0.0, Kernel::Temperature).is_err());
}

/// The soft pass over blocks that are whole multiples of the kernel's chunk, continued with
/// `soft_shard_into`, has the bits of one pass over all rows: terms, responsibility sums and
/// loss sums, f32 and f64, the fused and the tile kernels, on every tier.
#[test]
fn the_soft_pass_over_blocks_equals_one_pass() {
    use kmrbf::kmeans::Blocking;
    use kmrbf::rbf::pass::soft_pass;
    use kmrbf::rbf::shard::soft_shard_into;
    use kmrbf::rbf::{PassOutput, PassRequest};
    fn check<T: kmrbf::Real>(isa: kmrbf::Isa, x: &[T], n: usize, d: usize, c: &[T], k: usize) {
        let w: Vec<T> = (0..n)
            .map(|i| T::from_f64(0.5 + (i % 7) as f64 * 0.25))
            .collect();
        let chunk = Blocking::of::<T>(k).chunk_rows;
        for (map, loss_sums) in [
            (MapKind::Softmax, false),
            (MapKind::Entmax15, false),
            (MapKind::Sparsemax, true),
            (MapKind::Softmax, true),
        ] {
            let req = PassRequest {
                map,
                temperature: T::from_f64(0.7),
                resp_sums: true,
                loss_sums,
                fused: true,
            };
            let mut xn = vec![T::ZERO; n];
            kmrbf::kernels::layout::distance::row_sq_norms(x, d, &mut xn);
            let p = Prepared::new(x, d, &xn, Some(&w), isa).unwrap();
            let one = soft_pass(&p, c, k, req, kmrbf::rbf::pass::RowOut::None);
            let mut run = PassOutput::empty(k, d, &req);
            let mut xmax = 0.0f64;
            for r0 in (0..n).step_by(chunk) {
                let m = chunk.min(n - r0);
                let v = MatView::new(&x[r0 * d..(r0 + m) * d], m, d).unwrap();
                let b =
                    soft_shard_into(isa, v, Some(&w[r0..r0 + m]), c, k, r0 as u64, req, &mut run);
                xmax = xmax.max(b.unwrap());
            }
            let what = format!("{isa:?} {} {map:?} loss {loss_sums}", T::NAME);
            assert_eq!(
                (
                    one.j,
                    one.l,
                    one.f,
                    one.weight,
                    one.support,
                    one.onehot,
                    one.rows
                ),
                (
                    run.j,
                    run.l,
                    run.f,
                    run.weight,
                    run.support,
                    run.onehot,
                    run.rows
                ),
                "{what}"
            );
            let sums = |o: &PassOutput| (o.resp_sums.clone(), o.loss_sums.clone());
            assert!(sums(&one) == sums(&run), "{what}");
            let want = xn.iter().fold(0.0f64, |a, &v| a.max(v.to_f64()));
            assert_eq!(xmax, want, "{what}");
        }
    }
    let (n, d, k) = (20_000, 5, 7);
    let ds = kmrbf::synth::blobs(n, d, k, 1.0, 5);
    let c = pick_rows(&ds.x, n, d, k, 3);
    let x32: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
    for isa in tiers("the_soft_pass_over_blocks_equals_one_pass") {
        check(isa, &ds.x, n, d, &c, k);
        check(isa, &x32, n, d, &c32, k);
    }
}

/// `sigma0 = auto`'s Lloyd run over blocks (`gap_shard_into` + `shard::update`, a second
/// pass for the farthest rows when a cluster empties) finds `lloyd_min_gap`'s gap.
#[test]
fn the_gap_run_over_blocks_equals_lloyd_min_gap() {
    use kmrbf::kmeans::shard::update;
    use kmrbf::kmeans::Blocking;
    use kmrbf::rbf::anneal::lloyd_min_gap;
    use kmrbf::rbf::shard::{gap_shard_into, GapStats};
    let (n, d, k) = (12_000, 3, 6);
    let ds = kmrbf::synth::blobs(n, d, k, 1.5, 8);
    let mut init = pick_rows(&ds.x, n, d, k, 4);
    init.copy_within(0..d, 5 * d); // two equal centers: one cluster comes out empty
    let isa = kmrbf::Isa::detect();
    let mut xn = vec![0.0; n];
    kmrbf::kernels::layout::distance::row_sq_norms(&ds.x, d, &mut xn);
    let p = Prepared::new(&ds.x, d, &xn, None, isa).unwrap();
    let want = lloyd_min_gap(&p, &init, k);
    let chunk = Blocking::of::<f64>(k).chunk_rows;
    let mut labels = vec![u32::MAX; n];
    let (mut c, mut next) = (init.clone(), init.clone());
    let mut gmin = f64::INFINITY;
    let mut relocated = 0;
    for _ in 0..1000 {
        let pass = |c: &[f64], labels: &mut [u32], extras: bool| {
            let mut g = GapStats::empty(k, d);
            for r0 in (0..n).step_by(chunk) {
                let m = chunk.min(n - r0);
                let v = MatView::new(&ds.x[r0 * d..(r0 + m) * d], m, d).unwrap();
                let l = &mut labels[r0..r0 + m];
                gap_shard_into(isa, v, None, c, k, r0 as u64, l, &mut g, extras).unwrap();
            }
            g
        };
        let mut g = pass(&c, &mut labels, false);
        gmin = gmin.min(g.gap);
        if g.stats.changed == 0 {
            break;
        }
        if g.stats.sums.weight.contains(&0.0) {
            g = pass(&c, &mut labels, true);
        }
        relocated += update(&g.stats, &c, &mut next).1;
        std::mem::swap(&mut c, &mut next);
    }
    assert!(relocated > 0, "the run relocated an empty cluster");
    assert!(gmin.is_finite() && gmin > 0.0);
    assert_eq!(gmin, want);
}
