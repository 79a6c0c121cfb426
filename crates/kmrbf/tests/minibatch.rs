//! Mini-batch K-Means: one step against a naive update computed in f64, the reassignment
//! rule, the fit's determinism and stopping, and typed errors.

mod common;
use common::with_threads;
use kmrbf::kmeans::{MiniBatchParams, MiniBatchState};
use kmrbf::rng::Rng;
use kmrbf::{Error, Init, MatView};

fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
    kmrbf::synth::blobs(n, d, k, 0.5, seed).x
}

/// The nearest center of `row` by direct differences (ties to the lowest index).
fn nearest(row: &[f64], c: &[f64], d: usize) -> usize {
    let dist = |j: usize| -> f64 {
        row.iter()
            .zip(&c[j * d..(j + 1) * d])
            .map(|(a, b)| (a - b) * (a - b))
            .sum()
    };
    (0..c.len() / d).fold(0, |best, j| if dist(j) < dist(best) { j } else { best })
}

#[test]
fn a_step_is_the_weighted_running_mean_of_each_center() {
    let (n, d, k) = (400usize, 3usize, 5usize);
    let x = blobs(n, d, k, 1);
    let mut rng = Rng::new(2);
    let w: Vec<f64> = (0..n).map(|_| 0.5 + rng.uniform()).collect();
    let c0: Vec<f64> = x[..k * d].to_vec();
    let counts0: Vec<f64> = (0..k).map(|j| 3.0 * j as f64).collect();
    let mut st = MiniBatchState::from_parts(c0.clone(), counts0.clone(), 0, k, d).unwrap();
    let step = st
        .step(MatView::new(&x, n, d).unwrap(), Some(&w), None)
        .unwrap();
    // Naive: labels by direct differences, then c' = (c n + sum w x) / (n + sum w).
    let mut sums = vec![0.0; k * d];
    let mut mass = vec![0.0; k];
    let mut inertia = 0.0;
    for i in 0..n {
        let row = &x[i * d..(i + 1) * d];
        let j = nearest(row, &c0, d);
        mass[j] += w[i];
        for t in 0..d {
            sums[j * d + t] += w[i] * row[t];
        }
        inertia += w[i]
            * row
                .iter()
                .zip(&c0[j * d..])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>();
    }
    for j in 0..k {
        for t in 0..d {
            let want = if mass[j] > 0.0 {
                (c0[j * d + t] * counts0[j] + sums[j * d + t]) / (counts0[j] + mass[j])
            } else {
                c0[j * d + t]
            };
            let got = st.centers[j * d + t];
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "c[{j}][{t}] {got} vs {want}"
            );
        }
        assert!((st.counts[j] - (counts0[j] + mass[j])).abs() <= 1e-12 * st.counts[j].max(1.0));
    }
    assert!((step.inertia - inertia).abs() <= 1e-12 * inertia);
    assert_eq!(step.reassigned, 0);
    let shift: f64 = st
        .centers
        .iter()
        .zip(&c0)
        .map(|(a, b)| (a - b) * (a - b))
        .sum();
    assert!((step.center_shift - shift).abs() <= 1e-12 * shift.max(1e-300));
}

#[test]
fn light_centers_move_to_batch_rows_and_take_the_smallest_other_weight() {
    let (n, d, k) = (200usize, 2usize, 4usize);
    let x = blobs(n, d, 3, 4);
    let mut c0 = x[..k * d].to_vec();
    c0[3 * d] = 1e6; // far from every row: gets none
    let mut st = MiniBatchState::new(c0, k, d).unwrap();
    assert!(
        st.reassign_due(n),
        "a center of weight 0 makes the check due"
    );
    let mut rng = Rng::new(9);
    let step = st
        .step(
            MatView::new(&x, n, d).unwrap(),
            None,
            Some((0.01, &mut rng)),
        )
        .unwrap();
    assert_eq!(step.reassigned, 1);
    let moved = &st.centers[3 * d..4 * d];
    assert!(
        x.chunks(d).any(|r| r == moved),
        "moved onto a row of the batch"
    );
    let floor = st.counts[..3].iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(st.counts[3], floor);
    // Without a ratio nothing moves, and the check is due only every 10 k rows.
    let mut st2 = MiniBatchState::from_parts(x[..k * d].to_vec(), vec![5.0; k], 0, k, d).unwrap();
    assert!(!st2.reassign_due(10 * k - 1));
    assert!(st2.reassign_due(1));
}

#[test]
fn fit_is_seeded_thread_count_independent_and_stops_early() {
    let (n, d, k) = (30_000usize, 6usize, 8usize);
    let x: Vec<f32> = blobs(n, d, k, 5).iter().map(|&v| v as f32).collect();
    let fit = |threads, seed| {
        with_threads(threads, || {
            let mut p = MiniBatchParams::<f32>::new(k);
            p.seed = seed;
            p.batch_size = 512;
            p.fit(MatView::new(&x, n, d).unwrap(), None).unwrap()
        })
    };
    let a = fit(1, 3);
    let b = fit(2, 3);
    assert_eq!(a.state, b.state);
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
    assert_ne!(a.state.centers, fit(1, 4).state.centers);
    let cap = 100 * n / 512;
    assert!(
        a.n_steps < cap,
        "{} steps: the smoothed inertia stops it",
        a.n_steps
    );
    assert_eq!(a.batch_inertia.len(), a.n_steps);
    assert_eq!(a.n_iter, (a.n_steps * 512).div_ceil(n));
    // Blobs of radius 0.5: every row ends near its center.
    assert!(
        a.inertia / (n as f64) < 2.0 * 0.25 * d as f64,
        "inertia per row {}",
        a.inertia / n as f64
    );
    // Off: runs every batch of max_iter passes.
    let mut p = MiniBatchParams::<f32>::new(k);
    p.max_no_improvement = None;
    p.max_iter = 2;
    p.batch_size = 1000;
    let full = p.fit(MatView::new(&x, n, d).unwrap(), None).unwrap();
    assert_eq!(full.n_steps, 2 * n / 1000);
    assert_eq!(full.n_iter, 2);
}

#[test]
fn given_centers_and_weights_are_used() {
    let (n, d, k) = (5_000usize, 3usize, 4usize);
    let x = blobs(n, d, k, 6);
    let w: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 0.0 } else { 1.0 }).collect();
    let mut p = MiniBatchParams::<f64>::new(k);
    p.init = Init::Centers(x[..k * d].to_vec());
    let f = p.fit(MatView::new(&x, n, d).unwrap(), Some(&w)).unwrap();
    // The final inertia counts only the rows of weight 1.
    let direct: f64 = (0..n)
        .filter(|i| i % 2 == 1)
        .map(|i| {
            let r = &x[i * d..(i + 1) * d];
            let j = f.labels[i] as usize;
            r.iter()
                .zip(&f.state.centers[j * d..])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
        })
        .sum();
    assert!((f.inertia - direct).abs() <= 1e-9 * direct);
}

#[test]
fn bad_parameters_and_data_are_typed_errors() {
    let (n, d) = (50usize, 2usize);
    let x = blobs(n, d, 2, 7);
    let v = MatView::new(&x, n, d).unwrap();
    let with = |f: &dyn Fn(&mut MiniBatchParams<f64>)| {
        let mut p = MiniBatchParams::new(3);
        f(&mut p);
        p.fit(v, None)
    };
    assert!(matches!(
        with(&|p| p.k = 51),
        Err(Error::BadK { k: 51, .. })
    ));
    assert!(matches!(with(&|p| p.k = 0), Err(Error::BadK { k: 0, .. })));
    assert!(matches!(
        with(&|p| p.batch_size = 0),
        Err(Error::BadParam {
            name: "batch_size",
            ..
        })
    ));
    assert!(matches!(
        with(&|p| p.max_iter = 0),
        Err(Error::BadParam {
            name: "max_iter",
            ..
        })
    ));
    assert!(matches!(
        with(&|p| p.tol = -1.0),
        Err(Error::BadParam { name: "tol", .. })
    ));
    assert!(matches!(
        with(&|p| p.reassignment_ratio = f64::NAN),
        Err(Error::BadParam {
            name: "reassignment_ratio",
            ..
        })
    ));
    assert!(matches!(
        with(&|p| p.init = Init::Centers(vec![0.0; 5])),
        Err(Error::InitShape { .. })
    ));
    let mut bad = x.clone();
    bad[2 * d + 1] = f64::NAN;
    let e = MiniBatchParams::new(3)
        .fit(MatView::new(&bad, n, d).unwrap(), None)
        .unwrap_err();
    assert!(matches!(e, Error::NonFinite { row: 2, col: 1, .. }), "{e}");
    let mut st = MiniBatchState::new(x[..3 * d].to_vec(), 3, d).unwrap();
    let e = st
        .step(MatView::new(&bad, n, d).unwrap(), None, None)
        .unwrap_err();
    assert!(matches!(e, Error::NonFinite { row: 2, col: 1, .. }), "{e}");
    let e = st
        .step(MatView::new(&x[..30], 10, 3).unwrap(), None, None)
        .unwrap_err();
    assert!(matches!(e, Error::ColumnMismatch { .. }), "{e}");
    assert!(MiniBatchState::from_parts(x[..6].to_vec(), vec![1.0, -1.0, 0.0], 0, 3, d).is_err());
    assert!(MiniBatchState::from_parts(x[..6].to_vec(), vec![1.0; 2], 0, 3, d).is_err());
}
