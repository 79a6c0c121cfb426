//! Yinyang against Lloyd: the same labels, centers, inertia and every iteration's center shift,
//! bit for bit, on every vector tier, in f32 and f64, for any group size, with weights, empty
//! clusters, exact and near ties, and data far from the origin (where rounding is largest
//! next to the distances and the bounds' slack decides).

mod common;
use kmrbf::data::Prepared;
use kmrbf::kernels::layout::distance::row_sq_norms;
use kmrbf::kmeans::lloyd::lloyd_run;
use kmrbf::kmeans::yinyang::yinyang_run_grouped;
use kmrbf::kmeans::IterInfo;
use kmrbf::{Isa, Real};
use std::sync::Mutex;

struct Case<T> {
    name: String,
    x: Vec<T>,
    d: usize,
    init: Vec<T>,
    w: Option<Vec<T>>,
}

fn run_both<T: Real>(c: &Case<T>, isa: Isa, bpg: usize) -> usize {
    let n = c.x.len() / c.d;
    let k = c.init.len() / c.d;
    let mut xn = vec![T::ZERO; n];
    row_sq_norms(&c.x, c.d, &mut xn);
    let p = Prepared::new(&c.x, c.d, &xn, c.w.as_deref(), isa).expect("consistent lengths");
    let (la, lb) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let log_a = |i: IterInfo| {
        la.lock()
            .unwrap()
            .push((i.center_shift.to_bits(), i.relocated))
    };
    let log_b = |i: IterInfo| {
        lb.lock()
            .unwrap()
            .push((i.center_shift.to_bits(), i.relocated))
    };
    let a = lloyd_run(&p, &c.init, k, 60, 0.0, &log_a, None);
    let b = yinyang_run_grouped(&p, &c.init, k, 60, 0.0, &log_b, None, bpg);
    let what = format!("{} ({isa}, {bpg} blocks per group)", c.name);
    assert_eq!(a.labels, b.labels, "{what}: labels");
    assert!(
        a.centers
            .iter()
            .zip(&b.centers)
            .all(|(u, v)| u.to_f64().to_bits() == v.to_f64().to_bits()),
        "{what}: centers differ in bits"
    );
    assert_eq!(a.inertia.to_bits(), b.inertia.to_bits(), "{what}: inertia");
    assert_eq!(a.n_iter, b.n_iter, "{what}: iterations");
    assert_eq!(a.strict_convergence, b.strict_convergence, "{what}");
    assert_eq!(
        *la.lock().unwrap(),
        *lb.lock().unwrap(),
        "{what}: the center shift of some iteration"
    );
    a.n_iter
}

fn cases<T: Real>() -> Vec<Case<T>> {
    let cast = |v: &[f64]| v.iter().map(|&a| T::from_f64(a)).collect::<Vec<T>>();
    let mut out = Vec::new();
    // Overlapping blobs, many groups.
    for &(n, d, k, std, seed) in &[
        (3000usize, 17usize, 200usize, 6.0f64, 1u64),
        (2000, 64, 70, 9.0, 2),
        (1500, 3, 150, 4.0, 3),
        (1200, 1, 40, 3.0, 4),
        (800, 8, 5, 5.0, 5),
        // Centers past 512 KiB: Lloyd's register kernel runs them in ranges.
        (700, 600, 240, 9.0, 6),
    ] {
        let ds = kmrbf::synth::blobs(n, d, (k / 3).max(2), std, seed);
        let init = common::pick_rows(&ds.x, n, d, k, seed + 10);
        out.push(Case {
            name: format!("blobs {n} x {d}, k = {k}"),
            x: cast(&ds.x),
            d,
            init: cast(&init),
            w: None,
        });
    }
    // Exact ties (duplicated centers), near ties (rows halfway between two centers),
    // duplicated rows, and empty clusters in the first iteration.
    {
        let (n, d, k) = (1600usize, 12usize, 60usize);
        let ds = kmrbf::synth::blobs(n, d, 20, 5.0, 21);
        let mut x = ds.x.clone();
        let mut init = common::pick_rows(&x, n, d, k, 22);
        init.copy_within(0..5 * d, 40 * d);
        for i in (0..n).step_by(9) {
            let (a, b) = ((i / 9) % 30, (i / 9 + 7) % 30);
            for t in 0..d {
                x[i * d + t] = 0.5 * (init[a * d + t] + init[b * d + t]);
            }
        }
        for i in (1..n).step_by(13) {
            x.copy_within((i - 1) * d..i * d, i * d);
        }
        out.push(Case {
            name: "ties and empty clusters".into(),
            x: cast(&x),
            d,
            init: cast(&init),
            w: None,
        });
    }
    // Weights, some zero.
    {
        let (n, d, k) = (2500usize, 10usize, 90usize);
        let ds = kmrbf::synth::blobs(n, d, 30, 6.0, 31);
        let mut rng = kmrbf::rng::Rng::new(32);
        let w: Vec<f64> = (0..n).map(|_| rng.below(4) as f64 * 0.75).collect();
        let init = common::pick_rows(&ds.x, n, d, k, 33);
        out.push(Case {
            name: "weighted".into(),
            x: cast(&ds.x),
            d,
            init: cast(&init),
            w: Some(cast(&w)),
        });
    }
    // Far from the origin: distances are a millionth of the squared norms.
    {
        let (n, d, k) = (2000usize, 24usize, 120usize);
        let ds = kmrbf::synth::blobs(n, d, 40, 6.0, 41);
        let x: Vec<f64> = ds.x.iter().map(|v| v * 0.01 + 30.0).collect();
        let init = common::pick_rows(&x, n, d, k, 42);
        out.push(Case {
            name: "far from the origin".into(),
            x: cast(&x),
            d,
            init: cast(&init),
            w: None,
        });
    }
    out
}

fn check_all<T: Real>() {
    let tiers = common::tiers("yinyang_gives_lloyds_bits");
    let mut iterations = 0;
    for isa in tiers.into_iter().filter(|i| i.avx2()) {
        for c in cases::<T>() {
            for bpg in [1, 2, 5] {
                iterations += run_both(&c, isa, bpg);
            }
        }
    }
    // Not a pass in disguise: the runs iterate (a comparison of single passes would not test
    // the bounds). Zero only where no vector tier runs (printed above).
    if kmrbf::Isa::detect().avx2() {
        assert!(iterations > 100, "only {iterations} iterations compared");
    }
}

#[test]
fn yinyang_gives_lloyds_bits_in_f32() {
    check_all::<f32>();
}

#[test]
fn yinyang_gives_lloyds_bits_in_f64() {
    check_all::<f64>();
}

#[test]
fn yinyang_gives_the_same_bits_for_any_thread_count() {
    let ds = kmrbf::synth::blobs(20_000, 20, 60, 7.0, 51);
    let x: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let fit = |threads| {
        common::with_threads(threads, || {
            kmrbf::KMeansParams::new(300)
                .seed(5)
                .algorithm(kmrbf::Algorithm::Yinyang)
                .fit(kmrbf::MatView::new(&x, 20_000, 20).unwrap(), None)
                .unwrap()
        })
    };
    let one = fit(1);
    for t in [2, 3] {
        let other = fit(t);
        assert_eq!(one.labels(), other.labels(), "{t} threads: labels");
        assert!(
            one.centers()
                .iter()
                .zip(other.centers())
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{t} threads: centers"
        );
    }
}
