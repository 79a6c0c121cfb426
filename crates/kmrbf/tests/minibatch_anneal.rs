//! Annealed mini-batch soft-lloyd: one step against a naive update, a step from zero weights
//! against the full soft-lloyd step, the one-hot limit against mini-batch K-Means bit for bit,
//! thread parity, the step's convex-combination invariant (proptest), and typed errors.

mod common;
use common::with_threads;
use kmrbf::kmeans::{MiniBatchParams, MiniBatchState};
use kmrbf::rbf::anneal::{Schedule, Sigma0};
use kmrbf::rbf::objective::responsibilities;
use kmrbf::rbf::step::{StepKind, Stepper};
use kmrbf::rbf::{Kernel, MapKind, MiniBatchAnnealParams, Temperature};
use kmrbf::rng::Rng;
use kmrbf::{Error, Init, Isa, MatView, Real};
use proptest::prelude::*;

fn blobs(n: usize, d: usize, k: usize, spread: f64, seed: u64) -> Vec<f64> {
    kmrbf::synth::blobs(n, d, k, spread, seed).x
}

fn temp(sigma: f64) -> Temperature {
    Temperature::new(sigma, Kernel::Temperature).unwrap()
}

/// The weighted squared distances `n x k` by direct differences.
fn sq_dists(x: &[f64], c: &[f64], d: usize) -> Vec<f64> {
    let k = c.len() / d;
    x.chunks(d)
        .flat_map(|r| {
            (0..k).map(move |j| {
                r.iter()
                    .zip(&c[j * d..(j + 1) * d])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
            })
        })
        .collect()
}

/// Half the median over rows of the gap between the two nearest squared distances: a
/// temperature at which most rows are split between centers.
fn soft_sigma(x: &[f64], c: &[f64], d: usize) -> f64 {
    let k = c.len() / d;
    let dist = sq_dists(x, c, d);
    let mut gaps: Vec<f64> = dist
        .chunks(k)
        .map(|r| {
            let mut v = r.to_vec();
            v.sort_by(|a, b| a.total_cmp(b));
            v[1] - v[0]
        })
        .collect();
    gaps.sort_by(|a, b| a.total_cmp(b));
    gaps[gaps.len() / 2]
}

/// `(n c + sum_i w_i r_ik x_i) / (n + sum_i w_i r_ik)` per center, naive, in f64.
fn naive_update(
    x: &[f64],
    w: &[f64],
    r: &[f64],
    c: &[f64],
    counts: &[f64],
    d: usize,
) -> (Vec<f64>, Vec<f64>) {
    let k = c.len() / d;
    let mut sums = vec![0.0; k * d];
    let mut mass = vec![0.0; k];
    for (i, row) in x.chunks(d).enumerate() {
        for j in 0..k {
            let q = w[i] * r[i * k + j];
            mass[j] += q;
            for t in 0..d {
                sums[j * d + t] += q * row[t];
            }
        }
    }
    let mut out = c.to_vec();
    let mut n1 = counts.to_vec();
    for j in 0..k {
        if mass[j] > 0.0 {
            n1[j] = counts[j] + mass[j];
            for t in 0..d {
                out[j * d + t] = (c[j * d + t] * counts[j] + sums[j * d + t]) / n1[j];
            }
        }
    }
    (out, n1)
}

#[test]
fn a_soft_step_is_the_responsibility_weighted_running_mean() {
    let (n, d, k) = (300usize, 3usize, 4usize);
    let x = blobs(n, d, k, 1.0, 1);
    let mut rng = Rng::new(2);
    let w: Vec<f64> = (0..n).map(|_| 0.5 + rng.uniform()).collect();
    let c0 = x[..k * d].to_vec();
    let counts0: Vec<f64> = (0..k).map(|j| 10.0 * (j + 1) as f64).collect();
    let sigma = soft_sigma(&x, &c0, d);
    // Softmax by direct exponentials.
    let dist = sq_dists(&x, &c0, d);
    let mut r = vec![0.0; n * k];
    for i in 0..n {
        let z: Vec<f64> = (0..k).map(|j| -dist[i * k + j] / sigma).collect();
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        for j in 0..k {
            r[i * k + j] = e[j] / s;
        }
    }
    let mut cases = vec![(MapKind::Softmax, r)];
    // Entmax-1.5 from the library's map (checked against the entmax package elsewhere).
    let v = MatView::new(&x, n, d).unwrap();
    let re = responsibilities(Isa::detect(), v, &c0, k, MapKind::Entmax15, temp(sigma)).unwrap();
    cases.push((MapKind::Entmax15, re));
    for (map, r) in cases {
        let (want, want_n) = naive_update(&x, &w, &r, &c0, &counts0, d);
        let mut st = MiniBatchState::from_parts(c0.clone(), counts0.clone(), 0, k, d).unwrap();
        let s = st.soft_step(v, Some(&w), map, temp(sigma), None).unwrap();
        assert!(!s.hard, "{map:?}: a soft batch");
        assert!(
            common::max_abs_diff(&st.centers, &want) <= 1e-12,
            "{map:?} centers"
        );
        assert!(
            common::max_abs_diff(&st.counts, &want_n) <= 1e-9,
            "{map:?} counts"
        );
        let shift: f64 = st
            .centers
            .iter()
            .zip(&c0)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        assert!((s.center_shift - shift).abs() <= 1e-12 * shift.max(1e-300));
        assert_eq!(s.reassigned, 0);
    }
}

fn soft_step_from_zero_weights_is_soft_lloyd<T: Real>() {
    let (n, d, k) = (2000usize, 5usize, 6usize);
    let x: Vec<T> = blobs(n, d, k, 1.5, 3)
        .iter()
        .map(|&v| T::from_f64(v))
        .collect();
    let c0 = x[..k * d].to_vec();
    let x64: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
    let c64: Vec<f64> = c0.iter().map(|v| v.to_f64()).collect();
    let sigma = soft_sigma(&x64, &c64, d);
    let v = MatView::new(&x, n, d).unwrap();
    for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
        let mut st = MiniBatchState::new(c0.clone(), k, d).unwrap();
        let s = st.soft_step(v, None, map, temp(sigma), None).unwrap();
        assert!(!s.hard);
        let mut c = c0.clone();
        let xn = {
            let mut xn = vec![T::ZERO; n];
            kmrbf::kernels::layout::distance::row_sq_norms(&x, d, &mut xn);
            xn
        };
        let p = kmrbf::data::Prepared::new(&x, d, &xn, None, Isa::detect()).unwrap();
        let info = Stepper::new(StepKind::SoftLloyd).step(&p, &mut c, k, map, sigma);
        assert_eq!(
            st.centers,
            c,
            "{} {map:?}: the soft-lloyd step's bits",
            T::NAME
        );
        for j in 0..k {
            assert_eq!(st.counts[j], T::from_f64(info.mass[j]));
        }
        assert!(
            (s.loss - info.before.f).abs() <= 1e-12 * info.before.f.abs(),
            "the loss is the batch's F"
        );
    }
}

#[test]
fn a_soft_step_from_zero_weights_is_a_soft_lloyd_step() {
    soft_step_from_zero_weights_is_soft_lloyd::<f32>();
    soft_step_from_zero_weights_is_soft_lloyd::<f64>();
}

fn one_hot_limit_case<T: Real>(init: Init<T>, weighted: bool, map: MapKind, stop_early: bool) {
    let (n, d, k) = (6000usize, 4usize, 7usize);
    let x: Vec<T> = blobs(n, d, k, 0.8, 11)
        .iter()
        .map(|&v| T::from_f64(v))
        .collect();
    let mut rng = Rng::new(12);
    let w: Option<Vec<T>> =
        weighted.then(|| (0..n).map(|_| T::from_f64(0.2 + rng.uniform())).collect());
    let v = MatView::new(&x, n, d).unwrap();
    let mut mb = MiniBatchParams::<T>::new(k);
    mb.init = init;
    mb.batch_size = 300;
    mb.max_iter = 3;
    mb.seed = 21;
    mb.reassignment_ratio = 0.05;
    if !stop_early {
        mb.max_no_improvement = None;
    } else {
        mb.tol = 1e-6;
    }
    let hard = mb.fit(v, w.as_deref()).unwrap();
    let mut p = MiniBatchAnnealParams::new(k, map);
    p.batches = mb.clone();
    // A temperature far below every gap: every batch is one-hot.
    p.schedule = Schedule::List(vec![1e-30]);
    p.stage_batches = Some(3 * n / 300);
    let r = p.fit(v, w.as_deref()).unwrap();
    let what = format!("{} {map:?} weighted {weighted} stop {stop_early}", T::NAME);
    assert_eq!(r.centers, hard.state.centers, "{what}: centers");
    assert_eq!(r.labels, hard.labels, "{what}: labels");
    assert_eq!(r.inertia.to_bits(), hard.inertia.to_bits(), "{what}");
    assert_eq!(r.total_steps, hard.n_steps, "{what}: batches");
    assert_eq!(r.stages.len(), 1);
    assert_eq!(r.stages[0].objectives.onehot_fraction, 1.0);
}

#[test]
fn at_the_one_hot_limit_it_is_minibatch_kmeans_bit_for_bit() {
    for map in [
        MapKind::Softmax,
        MapKind::Entmax15,
        MapKind::Sparsemax,
        MapKind::Hard,
    ] {
        one_hot_limit_case::<f32>(Init::KMeansPlusPlus, false, map, false);
    }
    one_hot_limit_case::<f64>(Init::KMeansPlusPlus, true, MapKind::Softmax, false);
    one_hot_limit_case::<f32>(Init::Random, true, MapKind::Entmax15, true);
    one_hot_limit_case::<f64>(Init::Random, false, MapKind::Softmax, true);
}

fn annealed_fit(
    threads: usize,
    x: &[f32],
    n: usize,
    d: usize,
    k: usize,
    seed: u64,
) -> kmrbf::rbf::anneal::AnnealResult<f32> {
    with_threads(threads, || {
        let mut p = MiniBatchAnnealParams::<f32>::new(k, MapKind::Entmax15);
        p.batches.batch_size = 512;
        p.batches.seed = seed;
        p.polish = true;
        p.reference = true;
        p.fit(MatView::new(x, n, d).unwrap(), None).unwrap()
    })
}

#[test]
fn the_annealed_fit_is_seeded_thread_count_independent_and_lands_on_a_kmeans_solution() {
    let (n, d, k) = (20_000usize, 6usize, 8usize);
    let x: Vec<f32> = blobs(n, d, k, 0.5, 5).iter().map(|&v| v as f32).collect();
    let a = annealed_fit(1, &x, n, d, k, 3);
    let b = annealed_fit(2, &x, n, d, k, 3);
    assert_eq!(a.centers, b.centers);
    assert_eq!(a.labels, b.labels);
    assert_eq!(
        a.stages,
        b.stages
            .iter()
            .map(|s| kmrbf::rbf::anneal::StageRecord {
                seconds: a.stages[s.stage].seconds,
                ..s.clone()
            })
            .collect::<Vec<_>>()
    );
    assert_ne!(a.centers, annealed_fit(1, &x, n, d, k, 4).centers);
    // Median start: a soft first stage; the schedule cools to the one-hot limit.
    let first = &a.stages[0].objectives;
    let last = &a.stages.last().unwrap().objectives;
    assert!(
        first.onehot_fraction < 0.9,
        "soft start: {}",
        first.onehot_fraction
    );
    assert!(
        last.onehot_fraction > 0.99,
        "cooled: {}",
        last.onehot_fraction
    );
    assert_eq!(a.stages.len(), 14, "sigma0 down to sigma0 1e-4 by halves");
    assert!(a.polish_iters > 0);
    // Well-separated blobs: the same partition as Lloyd's from the same init, and J close.
    let rf = a.reference.as_ref().unwrap();
    let ari = a.stages.last().unwrap().ari.unwrap();
    assert!(ari > 0.99, "ARI to Lloyd {ari}");
    assert!(
        a.inertia <= 1.01 * rf.inertia,
        "J {} vs Lloyd {}",
        a.inertia,
        rf.inertia
    );
}

#[test]
fn bad_settings_are_typed_errors() {
    let (n, d, k) = (200usize, 2usize, 3usize);
    let x = blobs(n, d, k, 0.5, 7);
    let v = MatView::new(&x, n, d).unwrap();
    let with = |f: &dyn Fn(&mut MiniBatchAnnealParams<f64>)| {
        let mut p = MiniBatchAnnealParams::new(k, MapKind::Softmax);
        f(&mut p);
        p.fit(v, None)
    };
    assert!(matches!(
        with(&|p| p.sigma0 = Sigma0::Critical),
        Err(Error::BadParam { name: "sigma0", .. })
    ));
    assert!(matches!(
        with(&|p| p.stage_batches = Some(0)),
        Err(Error::BadParam {
            name: "stage_batches",
            ..
        })
    ));
    assert!(matches!(
        with(&|p| p.sigma0 = Sigma0::Value(-1.0)),
        Err(Error::BadParam { name: "sigma", .. })
    ));
    assert!(matches!(
        with(&|p| p.schedule = Schedule::List(vec![1.0, 2.0])),
        Err(Error::BadParam { name: "sigmas", .. })
    ));
    assert!(matches!(
        with(&|p| p.schedule = Schedule::Geometric { gamma: 1.5 }),
        Err(Error::BadParam { name: "gamma", .. })
    ));
    assert!(matches!(
        with(&|p| p.batches.k = n + 1),
        Err(Error::BadK { .. })
    ));
    let mut bad = x.clone();
    bad[2 * 17 + 1] = f64::NAN;
    let r = MiniBatchAnnealParams::<f64>::new(k, MapKind::Softmax)
        .fit(MatView::new(&bad, n, d).unwrap(), None);
    assert!(
        matches!(
            r,
            Err(Error::NonFinite {
                row: 17,
                col: 1,
                ..
            })
        ),
        "{r:?}"
    );
    // A step: a temperature outside f32's range, a batch of the wrong width.
    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let mut st = MiniBatchState::new(xf[..k * d].to_vec(), k, d).unwrap();
    let r = st.soft_step(
        MatView::new(&xf, n, d).unwrap(),
        None,
        MapKind::Softmax,
        temp(1e-300),
        None,
    );
    assert!(matches!(r, Err(Error::BadTemperature { .. })), "{r:?}");
    let r = st.soft_step(
        MatView::new(&xf[..198], 66, 3).unwrap(),
        None,
        MapKind::Softmax,
        temp(1.0),
        None,
    );
    assert!(matches!(r, Err(Error::ColumnMismatch { .. })), "{r:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every coordinate of a center after a soft step lies between its old value and the
    /// batch's extremes (the update is a convex combination), weights never decrease, and the
    /// step is soft or hard as the batch is.
    #[test]
    fn a_soft_step_is_a_convex_combination(
        seed in 0u64..1000,
        n in 5usize..80,
        k in 1usize..6,
        sigma in 1e-3f64..1e2,
        counts in proptest::collection::vec(0.0f64..50.0, 6),
        map in prop_oneof![Just(MapKind::Softmax), Just(MapKind::Entmax15), Just(MapKind::Sparsemax)],
    ) {
        let d = 3;
        let mut rng = Rng::new(seed);
        let x: Vec<f64> = (0..n * d).map(|_| 4.0 * rng.normal()).collect();
        let c0: Vec<f64> = (0..k * d).map(|_| 4.0 * rng.normal()).collect();
        let counts0 = counts[..k].to_vec();
        let mut st = MiniBatchState::from_parts(c0.clone(), counts0.clone(), 0, k, d).unwrap();
        st.soft_step(MatView::new(&x, n, d).unwrap(), None, map, temp(sigma), None).unwrap();
        for t in 0..d {
            let col = x.chunks(d).map(|r| r[t]);
            let lo = col.clone().fold(f64::INFINITY, f64::min);
            let hi = col.fold(f64::NEG_INFINITY, f64::max);
            for j in 0..k {
                let (old, new) = (c0[j * d + t], st.centers[j * d + t]);
                let slack = 1e-9 * (1.0 + hi.abs().max(lo.abs()).max(old.abs()));
                prop_assert!(new >= lo.min(old) - slack && new <= hi.max(old) + slack,
                    "center {} col {}: {} outside [{}, {}] (old {})", j, t, new, lo, hi, old);
            }
        }
        for j in 0..k {
            prop_assert!(st.counts[j] >= counts0[j]);
        }
        let total: f64 = st.counts.iter().sum::<f64>() - counts0.iter().sum::<f64>();
        prop_assert!((total - n as f64).abs() <= 1e-9 * n as f64, "the batch's mass is its rows: {}", total);
    }
}
