//! K-Means against the naive reference (scikit-learn semantics), variants, threads, errors.

mod common;
use common::*;
use kmrbf::data::Prepared;
use kmrbf::kmeans::step;
use kmrbf::reference;
use kmrbf::{Algorithm, Error, Init, KMeansParams, MatView};

fn fit_given(
    x: &[f64],
    n: usize,
    d: usize,
    init: &[f64],
    alg: Algorithm,
    w: Option<&[f64]>,
) -> kmrbf::KMeans<f64> {
    let k = init.len() / d;
    KMeansParams::new(k)
        .init(Init::Centers(init.to_vec()))
        .algorithm(alg)
        .fit(MatView::new(x, n, d).unwrap(), w)
        .unwrap()
}

fn tol_abs(x: &[f64], n: usize, d: usize) -> f64 {
    1e-4 * kmrbf::kmeans::step::mean_variance(MatView::new(x, n, d).unwrap())
}

fn check_against_reference(name: &str, x: &[f64], n: usize, d: usize, k: usize, seed: u64) {
    let init = pick_rows(x, n, d, k, seed);
    let w = vec![1.0; n];
    let want = reference::lloyd(x, d, &w, &init, 300, tol_abs(x, n, d));
    for alg in [Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::Yinyang] {
        let got = fit_given(x, n, d, &init, alg, None);
        let diff = max_abs_diff(got.centers(), &want.centers);
        assert!(
            diff <= 1e-9 * scale(x),
            "{name} {alg:?}: centers differ by {diff}"
        );
        assert_eq!(got.labels(), &want.labels[..], "{name} {alg:?}: labels");
        // Iris holds duplicate rows on a 0.1 grid: a row can be exactly equidistant from two
        // centers, and whether the expanded form `|x|^2 - 2xc + |c|^2` (ours, scikit-learn's)
        // and the direct differences (the reference) see the tie the same way is down to
        // rounding. It can shift the iteration where labels stop changing by one, never the
        // fixed point (asserted above).
        assert!(
            got.n_iter().abs_diff(want.n_iter) <= 1,
            "{name} {alg:?}: n_iter {} vs {}",
            got.n_iter(),
            want.n_iter
        );
        assert!(
            (got.inertia() - want.inertia).abs() <= 1e-9 * want.inertia,
            "{name} {alg:?}: inertia"
        );
    }
}

#[test]
fn every_algorithm_matches_the_reference_on_iris() {
    let (x, n, d) = load_csv("iris");
    for seed in 0..5 {
        check_against_reference("iris", &x, n, d, 3, seed);
        check_against_reference("iris", &x, n, d, 8, seed);
    }
}

#[test]
fn every_algorithm_matches_the_reference_on_digits() {
    let (x, n, d) = load_csv("digits");
    check_against_reference("digits", &x, n, d, 10, 1);
    check_against_reference("digits", &x, n, d, 37, 2);
}

#[test]
fn every_algorithm_matches_the_reference_on_blobs() {
    for (n, d, k, seed) in [(3000, 2, 5, 1), (2500, 9, 12, 2), (4000, 40, 20, 3)] {
        let ds = kmrbf::synth::blobs(n, d, k, 2.0, seed);
        check_against_reference("blobs", &ds.x, n, d, k, seed);
    }
}

#[test]
fn empty_clusters_take_the_farthest_points_like_the_reference() {
    // Duplicated initial centers leave clusters empty in the first iteration.
    let ds = kmrbf::synth::blobs(600, 3, 4, 1.0, 5);
    let mut init = pick_rows(&ds.x, 600, 3, 3, 1);
    init.extend_from_within(..3);
    init.extend_from_within(..3);
    let w = vec![1.0; 600];
    let want = reference::lloyd(&ds.x, 3, &w, &init, 300, tol_abs(&ds.x, 600, 3));
    for alg in [Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::Yinyang] {
        let got = fit_given(&ds.x, 600, 3, &init, alg, None);
        assert!(
            max_abs_diff(got.centers(), &want.centers) <= 1e-9 * scale(&ds.x),
            "{alg:?}"
        );
        assert_eq!(got.labels(), &want.labels[..]);
        // Every cluster is used at the end.
        for c in 0..5u32 {
            assert!(got.labels().contains(&c), "{alg:?}: cluster {c} empty");
        }
    }
}

#[test]
fn integer_weights_equal_repeated_rows() {
    let ds = kmrbf::synth::blobs(400, 3, 4, 1.5, 8);
    let mut rng = kmrbf::rng::Rng::new(3);
    let w: Vec<f64> = (0..400).map(|_| (rng.below(3)) as f64).collect();
    let mut rep = Vec::new();
    for i in 0..400 {
        for _ in 0..w[i] as usize {
            rep.extend_from_slice(&ds.x[i * 3..(i + 1) * 3]);
        }
    }
    let nrep = rep.len() / 3;
    let init = pick_rows(&rep, nrep, 3, 4, 2);
    let a = fit_given(&ds.x, 400, 3, &init, Algorithm::Lloyd, Some(&w));
    let b = fit_given(&rep, nrep, 3, &init, Algorithm::Lloyd, None);
    assert!(max_abs_diff(a.centers(), b.centers()) <= 1e-9 * scale(&ds.x));
    assert!((a.inertia() - b.inertia()).abs() <= 1e-9 * b.inertia());
    // And against the reference with the same weights.
    let want = reference::lloyd(&ds.x, 3, &w, &init, 300, tol_abs(&ds.x, 400, 3));
    assert!(max_abs_diff(a.centers(), &want.centers) <= 1e-9 * scale(&ds.x));
}

fn fit_threads_f32(threads: usize, alg: Algorithm, init: Init<f32>) -> (Vec<f32>, Vec<u32>, f64) {
    let ds = kmrbf::synth::blobs(30_000, 24, 40, 4.0, 11);
    let x: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    with_threads(threads, || {
        let m = KMeansParams::new(40)
            .init(init)
            .n_init(2)
            .seed(7)
            .algorithm(alg)
            .fit(MatView::new(&x, 30_000, 24).unwrap(), None)
            .unwrap();
        (m.centers().to_vec(), m.labels().to_vec(), m.inertia())
    })
}

/// Every tier this CPU runs fits the same model: the vector tiers (AVX2, AVX-512, AMX) share
/// one FMA chain per distance, so centers, labels and inertia are the same bits; the portable
/// tier computes `-2 x . c` by a blocked GEMM, so it agrees to rounding (the same labels on
/// data without near-ties).
#[test]
fn every_tier_fits_the_same_model() {
    // 40 columns: the AMX tier screens on tiles from 25 (below, it runs the register kernel).
    let ds = kmrbf::synth::blobs(20_000, 40, 30, 4.0, 12);
    let x32: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let tiers = common::tiers("every_tier_fits_the_same_model");
    for alg in [Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::Yinyang] {
        let fit = |isa| {
            KMeansParams::new(30)
                .isa(isa)
                .seed(3)
                .algorithm(alg)
                .fit(MatView::new(&x32, 20_000, 40).unwrap(), None)
                .unwrap()
        };
        let fits: Vec<_> = tiers.iter().map(|&isa| (isa, fit(isa))).collect();
        let (_, widest) = fits.last().unwrap();
        for (isa, m) in &fits {
            assert_eq!(m.isa(), *isa);
            assert_eq!(m.labels(), widest.labels(), "{alg:?} {isa}: labels");
            if isa.avx2() {
                let same = m
                    .centers()
                    .iter()
                    .zip(widest.centers())
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{alg:?} {isa}: centers differ in bits");
                assert_eq!(m.inertia().to_bits(), widest.inertia().to_bits(), "{isa}");
            } else {
                let worst = m
                    .centers()
                    .iter()
                    .zip(widest.centers())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(worst <= 1e-4, "{alg:?} {isa}: centers differ by {worst}");
                let rel = (m.inertia() - widest.inertia()).abs() / widest.inertia();
                assert!(rel <= 1e-5, "{alg:?} {isa}: inertia differs by {rel}");
            }
        }
    }
}

/// Centers past L2 (600 x 520 f32: 1.3 MB of bf16 tiles): the AMX tier labels whole chunks in
/// groups of panels against ranges of centers before the M-step, and the register kernels
/// (1.2 MB of f32, 2.5 MB of f64 packed centers: 3 and 5 ranges) label pieces of rows range
/// after range first; the vector tiers still fit the same bits, with one and two threads (more
/// than one chunk of rows), in f32 and f64.
#[test]
fn the_grouped_amx_order_fits_the_same_model() {
    let (n, d, k) = (9_000, 520, 600);
    let ds = kmrbf::synth::blobs(n, d, k, 6.0, 21);
    let x32: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    same_model_on_vector_tiers("the_grouped_amx_order_fits_the_same_model", &x32, n, d, k);
    same_model_on_vector_tiers("the_grouped_amx_order_fits_the_same_model", &ds.x, n, d, k);
}

/// Two Lloyd iterations from random rows on every vector tier, one and two threads: the same
/// labels, centers and inertia in bits.
fn same_model_on_vector_tiers<T: kmrbf::Real>(name: &str, x: &[T], n: usize, d: usize, k: usize) {
    let tiers: Vec<_> = common::tiers(name)
        .into_iter()
        .filter(|i| i.avx2())
        .collect();
    let fit = |isa, threads| {
        with_threads(threads, || {
            KMeansParams::<T>::new(k)
                .isa(isa)
                .init(Init::Random)
                .seed(5)
                .max_iter(2)
                .fit(MatView::new(x, n, d).unwrap(), None)
                .unwrap()
        })
    };
    let fits: Vec<_> = tiers
        .iter()
        .flat_map(|&isa| [1, 2].map(|t| (isa, t, fit(isa, t))))
        .collect();
    let Some((_, _, first)) = fits.first() else {
        eprintln!("{name}: no vector tier on this CPU");
        return;
    };
    for (isa, threads, m) in &fits {
        assert_eq!(
            m.labels(),
            first.labels(),
            "{isa}, {threads} threads: labels"
        );
        let same = m
            .centers()
            .iter()
            .zip(first.centers())
            .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits());
        assert!(same, "{isa}, {threads} threads: centers differ in bits");
        assert_eq!(m.inertia().to_bits(), first.inertia().to_bits(), "{isa}");
    }
}

#[test]
fn same_bits_for_1_2_and_4_threads() {
    for alg in [Algorithm::Lloyd, Algorithm::Hamerly, Algorithm::Yinyang] {
        for init in [Init::KMeansPlusPlus, Init::Random] {
            let one = fit_threads_f32(1, alg, init.clone());
            for t in [2, 4] {
                let other = fit_threads_f32(t, alg, init.clone());
                let same_centers = one
                    .0
                    .iter()
                    .zip(&other.0)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same_centers,
                    "{alg:?} {init:?}: centers differ with {t} threads"
                );
                assert_eq!(one.1, other.1, "{alg:?}: labels differ with {t} threads");
                assert_eq!(
                    one.2.to_bits(),
                    other.2.to_bits(),
                    "{alg:?}: inertia differs with {t} threads"
                );
            }
        }
    }
}

#[test]
fn kmeans_plus_plus_beats_random_rows_on_average_and_is_seeded() {
    let ds = kmrbf::synth::blobs(5000, 2, 25, 0.3, 4);
    let view = MatView::new(&ds.x, 5000, 2).unwrap();
    let run = |init: Init<f64>, seed| {
        KMeansParams::new(25)
            .init(init)
            .n_init(1)
            .max_iter(1)
            .seed(seed)
            .fit(view, None)
            .unwrap()
            .inertia()
    };
    let pp: f64 = (0..8).map(|s| run(Init::KMeansPlusPlus, s)).sum();
    let rnd: f64 = (0..8).map(|s| run(Init::Random, s)).sum();
    assert!(pp < rnd, "k-means++ {pp} vs random {rnd}");
    assert_eq!(
        run(Init::KMeansPlusPlus, 3).to_bits(),
        run(Init::KMeansPlusPlus, 3).to_bits()
    );
}

#[test]
fn n_init_keeps_the_lowest_inertia() {
    let ds = kmrbf::synth::blobs(2000, 2, 8, 1.0, 6);
    let view = MatView::new(&ds.x, 2000, 2).unwrap();
    let best = KMeansParams::new(8)
        .init(Init::Random)
        .n_init(6)
        .seed(1)
        .fit(view, None)
        .unwrap();
    for run in 0..6u64 {
        // Restart `run` alone uses the same derived stream as inside the n_init loop.
        let mut rng = kmrbf::rng::Rng::fork(1, run);
        let mut xn = vec![0.0; 2000];
        kmrbf::kernels::layout::distance::row_sq_norms(&ds.x, 2, &mut xn);
        let p =
            Prepared::new(&ds.x, 2, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
        let init = kmrbf::init::random_rows(p, 8, &mut rng);
        let single = fit_given(&ds.x, 2000, 2, &init, Algorithm::Lloyd, None);
        assert!(best.inertia() <= single.inertia() * (1.0 + 1e-12));
    }
}

#[test]
fn final_labels_match_the_returned_centers() {
    let ds = kmrbf::synth::blobs(3000, 5, 6, 3.0, 12);
    let view = MatView::new(&ds.x, 3000, 5).unwrap();
    let m = KMeansParams::new(6).max_iter(2).fit(view, None).unwrap();
    let (want, _) = reference::assign(&ds.x, 5, m.centers());
    assert_eq!(m.labels(), &want[..]);
    assert_eq!(m.predict(view).unwrap(), want);
}

#[test]
fn bad_inputs_are_typed_errors_carrying_values() {
    let x = [0.0, 1.0, 2.0, 3.0];
    let v = MatView::new(&x, 4, 1).unwrap();
    let e = KMeansParams::<f64>::new(0).fit(v, None).unwrap_err();
    assert!(matches!(e, Error::BadK { k: 0, .. }));
    let e = KMeansParams::<f64>::new(5).fit(v, None).unwrap_err();
    assert!(matches!(e, Error::BadK { k: 5, .. }), "{e}");
    assert!(e.to_string().contains("n = 4"));
    let e = KMeansParams::<f64>::new(2)
        .tol(-1.0)
        .fit(v, None)
        .unwrap_err();
    assert!(matches!(e, Error::BadParam { name: "tol", .. }));
    let e = KMeansParams::<f64>::new(2)
        .max_iter(0)
        .fit(v, None)
        .unwrap_err();
    assert!(matches!(
        e,
        Error::BadParam {
            name: "max_iter",
            ..
        }
    ));
    let e = KMeansParams::<f64>::new(2)
        .init(Init::Centers(vec![0.0; 3]))
        .fit(v, None)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InitShape {
                expected_k: 2,
                got_k: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = KMeansParams::<f64>::new(2)
        .fit(v, Some(&[1.0, -1.0, 1.0, 1.0]))
        .unwrap_err();
    assert_eq!(
        e,
        Error::BadWeight {
            row: 1,
            value: -1.0
        }
    );
    let e = KMeansParams::<f64>::new(2)
        .fit(v, Some(&[1.0, 1.0, f64::NAN, 1.0]))
        .unwrap_err();
    assert!(matches!(e, Error::BadWeight { row: 2, .. }));
    let bad = [0.0, 1.0, f64::INFINITY, 3.0, 4.0, 5.0];
    let e = KMeansParams::<f64>::new(2)
        .fit(MatView::new(&bad, 3, 2).unwrap(), None)
        .unwrap_err();
    assert!(matches!(e, Error::NonFinite { row: 1, col: 0, .. }), "{e}");
    assert!(MatView::new(&x, 3, 2).is_err());
    let e = KMeansParams::<f64>::new(1)
        .fit(MatView::new(&[], 0, 3).unwrap(), None)
        .unwrap_err();
    assert_eq!(e, Error::EmptyData);
}

/// Prepared rows refuse lengths the kernels would read past: rows that are not `n x d` for
/// `n` norms, weights of another count, no columns.
#[test]
fn prepared_rows_check_their_lengths() {
    let isa = kmrbf::Isa::portable();
    let x = [0.0f32; 12];
    let (xn3, xn4) = ([0.0f32; 3], [0.0f32; 4]);
    let p = Prepared::new(&x, 3, &xn4, Some(&[1.0; 4]), isa).unwrap();
    assert_eq!((p.n(), p.d(), p.weight(2)), (4, 3, 1.0));
    assert!(matches!(
        Prepared::new(&x, 3, &xn3, None, isa),
        Err(Error::BadLength {
            expected: 9,
            got: 12,
            ..
        })
    ));
    assert!(matches!(
        Prepared::new(&x, 3, &xn4, Some(&[1.0; 3]), isa),
        Err(Error::WeightCount {
            expected: 4,
            got: 3
        })
    ));
    assert!(matches!(
        Prepared::new(&x, 0, &xn4, None, isa),
        Err(Error::NoColumns { n: 4 })
    ));
}

#[test]
fn step_inertia_matches_reference() {
    let (x, n, d) = load_csv("iris");
    let init = pick_rows(&x, n, d, 4, 9);
    let m = fit_given(&x, n, d, &init, Algorithm::Lloyd, None);
    let (_, best) = reference::assign(&x, d, m.centers());
    let want: f64 = best.iter().sum();
    assert!((m.inertia() - want).abs() <= 1e-12 * want);
    let _ = step::RunResult::<f64>::clone;
}

/// The fast k-means++ (two greedy steps per pass, chunked sums in the data's precision) picks
/// the same rows as the plain reference, except where two candidates tie in potential to 1e-12
/// (relative): a different summation order may then take the other one, and the streams part.
#[test]
fn kmeans_plus_plus_picks_the_same_rows_as_the_plain_reference() {
    // k = 420 has 8 local trials: with the pending centers and the second-step rows, several
    // f64 register groups (the unfused path); k = 6 fits one group (the fused kernel).
    let mut identical = 0;
    let mut cases = 0;
    for (n, d, k, seed) in [
        (2000, 3, 9, 1u64),
        (1500, 17, 24, 2),
        (3000, 40, 6, 3),
        (2500, 2, 420, 4),
    ] {
        let ds = kmrbf::synth::blobs(n, d, k, 2.0, seed);
        let mut rng = kmrbf::rng::Rng::new(seed);
        let w: Vec<f64> = (0..n).map(|_| 0.2 + rng.uniform()).collect();
        for weights in [None, Some(&w)] {
            let mut xn = vec![0.0; n];
            kmrbf::kernels::layout::distance::row_sq_norms(&ds.x, d, &mut xn);
            let p = Prepared::new(
                &ds.x,
                d,
                &xn,
                weights.map(|v| v.as_slice()),
                kmrbf::Isa::detect(),
            )
            .expect("consistent lengths");
            let got = kmrbf::init::kmeans_plus_plus(p, k, &mut kmrbf::rng::Rng::new(11));
            let ones = vec![1.0; n];
            let (want, trace) = reference::kmeans_plus_plus_traced(
                &ds.x,
                d,
                weights.unwrap_or(&ones),
                k,
                &mut kmrbf::rng::Rng::new(11),
            );
            cases += 1;
            let case = format!("n={n} d={d} k={k} weighted={}", weights.is_some());
            assert_eq!(got.len(), want.len(), "{case}");
            let Some(j) = (0..k).find(|&j| got[j * d..(j + 1) * d] != want[j * d..(j + 1) * d])
            else {
                identical += 1;
                continue;
            };
            // The first difference must be a tie among the reference's own candidates.
            let sel = trace
                .iter()
                .find(|s| s.center == j)
                .unwrap_or_else(|| panic!("{case}: center {j} differs (the first, not chosen)"));
            let pick = sel
                .rows
                .iter()
                .position(|&r| ds.x[r * d..(r + 1) * d] == got[j * d..(j + 1) * d])
                .unwrap_or_else(|| panic!("{case}: center {j} is not among the candidates"));
            let best = sel.pots.iter().cloned().fold(f64::INFINITY, f64::min);
            assert!(
                (sel.pots[pick] - best).abs() <= 1e-12 * best,
                "{case}: center {j}: potential {} against the best {best}",
                sel.pots[pick]
            );
        }
    }
    // Ties are rare: most cases agree to the last center.
    assert!(identical >= cases - 2, "{identical} of {cases} identical");
}

/// Params, inputs and fitted models cross threads (a server fitting in a worker pool).
#[test]
fn params_views_and_models_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<kmrbf::KMeansParams<f32>>();
    send_sync::<kmrbf::KMeansParams<f64>>();
    send_sync::<kmrbf::KMeans<f32>>();
    send_sync::<kmrbf::KMeans<f64>>();
    send_sync::<kmrbf::MatView<'static, f32>>();
    send_sync::<Prepared<'static, f64>>();
    send_sync::<kmrbf::rbf::anneal::AnnealParams>();
    send_sync::<kmrbf::rbf::anneal::AnnealResult<f32>>();
    send_sync::<kmrbf::rbf::Temperature>();
    send_sync::<kmrbf::rbf::RbfModel<f32>>();
    send_sync::<kmrbf::rbf::RbfModel<f64>>();
    send_sync::<kmrbf::kmeans::MiniBatchParams<f32>>();
    send_sync::<kmrbf::kmeans::MiniBatchState<f64>>();
    send_sync::<kmrbf::Isa>();
    send_sync::<kmrbf::Error>();
}

/// Lloyd driven through `shard_pass` / `merge` / `update` with the in-memory loop's stopping
/// rules, blocks of `block` rows.
fn sharded_lloyd(
    x: &[f64],
    n: usize,
    d: usize,
    w: Option<&[f64]>,
    init: &[f64],
    block: usize,
    tol: f64,
) -> (Vec<f64>, Vec<u32>, f64, usize) {
    use kmrbf::kmeans::shard::{shard_pass, update};
    let k = init.len() / d;
    let mut centers = init.to_vec();
    let mut next = init.to_vec();
    let mut labels = vec![u32::MAX; n];
    let pass = |centers: &[f64], labels: &mut [u32]| {
        let mut total: Option<kmrbf::kmeans::shard::ShardStats> = None;
        for (bi, lab) in labels.chunks_mut(block).enumerate() {
            let r0 = bi * block;
            let v = MatView::new(&x[r0 * d..(r0 + lab.len()) * d], lab.len(), d).unwrap();
            let s = shard_pass(
                kmrbf::Isa::detect(),
                v,
                w.map(|w| &w[r0..r0 + lab.len()]),
                centers,
                k,
                r0 as u64,
                lab,
            )
            .unwrap();
            match &mut total {
                None => total = Some(s),
                Some(t) => t.merge(&s),
            }
        }
        total.unwrap()
    };
    let mut n_iter = 0;
    let mut strict = false;
    for it in 0..300 {
        n_iter = it + 1;
        let s = pass(&centers, &mut labels);
        let (shift, _) = update(&s, &centers, &mut next);
        std::mem::swap(&mut centers, &mut next);
        if it > 0 && s.changed == 0 {
            strict = true;
            break;
        }
        if shift <= tol {
            break;
        }
    }
    let fin = pass(&centers, &mut labels);
    assert!(
        !strict || fin.changed == 0,
        "a strict stop keeps its labels"
    );
    (centers, labels, fin.inertia, n_iter)
}

#[test]
fn sharded_lloyd_equals_the_in_memory_fit() {
    let ds = kmrbf::synth::blobs(5000, 6, 8, 1.5, 3);
    let (n, d) = (5000, 6);
    let mut init = pick_rows(&ds.x, n, d, 6, 2);
    // Two duplicated centers: empty clusters in the first iteration exercise the relocation.
    init.extend_from_within(..d);
    init.extend_from_within(d..2 * d);
    let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 * 0.25).collect();
    for weights in [None, Some(&w[..])] {
        let want = KMeansParams::new(8)
            .init(Init::Centers(init.clone()))
            .fit(MatView::new(&ds.x, n, d).unwrap(), weights)
            .unwrap();
        let tol = tol_abs(&ds.x, n, d);
        // One block: the in-memory arithmetic exactly.
        let (c, l, j, it) = sharded_lloyd(&ds.x, n, d, weights, &init, n, tol);
        assert_eq!(c, want.centers(), "one block: bitwise");
        assert_eq!(&l[..], want.labels());
        assert_eq!(j, want.inertia());
        assert_eq!(it, want.n_iter());
        // Blocks of other sizes: sums merge in another order.
        for block in [333, 1024, 2500] {
            let (c, l, j, it) = sharded_lloyd(&ds.x, n, d, weights, &init, block, tol);
            assert_eq!(&l[..], want.labels(), "block {block}");
            assert_eq!(it, want.n_iter(), "block {block}");
            assert!(
                max_abs_diff(&c, want.centers()) <= 1e-12 * scale(&ds.x),
                "block {block}"
            );
            assert!(
                (j - want.inertia()).abs() <= 1e-12 * want.inertia(),
                "block {block}"
            );
        }
    }
}

#[test]
fn streamed_blocks_of_whole_chunks_give_the_in_memory_bits() {
    use kmrbf::kernels::layout::tiles::Blocking;
    use kmrbf::kmeans::shard::{
        prepare_block, prepared_pass_into, shard_pass_into, update, ShardStats,
    };
    let ds = kmrbf::synth::blobs(40_000, 5, 7, 1.0, 4);
    let (n, d, k) = (40_000, 5, 7);
    let x: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let init: Vec<f32> = pick_rows(&ds.x, n, d, k, 9)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let want = KMeansParams::new(k)
        .init(Init::Centers(init.clone()))
        .tol(0.0)
        .fit(MatView::new(&x, n, d).unwrap(), None)
        .unwrap();
    let chunk = Blocking::of::<f32>(k).chunk_rows;
    assert!(chunk < n, "the test needs several chunks");
    let isa = kmrbf::Isa::detect();
    // Blocks passed as they are, and prepared once (moved, checked, normed) for every pass.
    for (block, prepared) in [(chunk, false), (3 * chunk, false), (3 * chunk, true)] {
        let mut centers = init.clone();
        let mut next = init.clone();
        let mut labels = vec![u32::MAX; n];
        let view = |r0: usize, m: usize| MatView::new(&x[r0 * d..(r0 + m) * d], m, d).unwrap();
        let zero = kmrbf::Shift::zero(d);
        let preps: Vec<_> = (0..n)
            .step_by(block)
            .map(|r0| prepare_block(view(r0, block.min(n - r0)), None, &zero, r0 as u64).unwrap())
            .collect();
        let pass = |centers: &[f32], labels: &mut [u32]| {
            let mut s = ShardStats::empty(k, d);
            for (bi, lab) in labels.chunks_mut(block).enumerate() {
                let (r0, at) = (bi * block, (bi * block) as u64);
                if prepared {
                    let b = &preps[bi];
                    let p = kmrbf::data::Prepared::new(&b.rows, d, &b.norms, None, isa).unwrap();
                    prepared_pass_into(&p, centers, k, at, lab, &mut s, true).unwrap();
                } else {
                    let v = view(r0, lab.len());
                    shard_pass_into(isa, v, None, centers, k, at, lab, &mut s, true).unwrap();
                }
            }
            s
        };
        let mut it = 0;
        loop {
            it += 1;
            let s = pass(&centers, &mut labels);
            update(&s, &centers, &mut next);
            std::mem::swap(&mut centers, &mut next);
            if s.changed == 0 || it == 300 {
                break;
            }
        }
        let fin = pass(&centers, &mut labels);
        assert_eq!(centers, want.centers(), "block {block}");
        assert_eq!(&labels[..], want.labels(), "block {block}");
        assert_eq!(fin.inertia, want.inertia(), "block {block}");
        assert_eq!(it, want.n_iter(), "block {block}");
    }
}

#[test]
fn a_shifted_copy_equals_shifting_in_place() {
    for &(n, d) in &[(10_001usize, 7usize), (3, 1), (0, 4)] {
        let x: Vec<f32> = (0..n * d)
            .map(|i| ((i * 7919) % 1000) as f32 * 0.37 + 100.0)
            .collect();
        let shift = kmrbf::Shift::of_rows(&x, d);
        let mut inplace = x.clone();
        shift.apply(&mut inplace);
        for threads in [1, 2] {
            let copy = with_threads(threads, || shift.applied(&x));
            assert_eq!(copy, inplace, "n {n} d {d} threads {threads}");
        }
    }
}

/// The checked shift (one read) gives the plain shift's bits and the validation's errors: the
/// first non-finite value by row and column (in a block past the first, and in the first).
#[test]
fn the_checked_shift_equals_validating_then_shifting() {
    let (n, d) = (40_000usize, 5usize);
    let mut x: Vec<f64> = (0..n * d)
        .map(|i| ((i * 7919) % 1000) as f64 * 0.37 - 9.0)
        .collect();
    let v = MatView::new(&x, n, d).unwrap();
    assert_eq!(
        kmrbf::Shift::of_valid(v, "X").unwrap(),
        kmrbf::Shift::of_rows(&x, d)
    );
    for (pos, bad) in [
        (33_001 * d + 3, f64::NAN),
        (17, f64::NEG_INFINITY),
        (n * d - 1, f64::INFINITY),
    ] {
        let keep = x[pos];
        x[pos] = bad;
        let v = MatView::new(&x, n, d).unwrap();
        let e = kmrbf::Shift::of_valid(v, "X").unwrap_err();
        assert_eq!(e.to_string(), v.validate("X").unwrap_err().to_string());
        assert!(
            matches!(e, Error::NonFinite { what: "X", row, col, .. } if row == pos / d && col == pos % d),
            "{e}"
        );
        x[pos] = keep;
    }
    let empty: [f64; 0] = [];
    let e = kmrbf::Shift::of_valid(MatView::new(&empty, 0, 3).unwrap(), "X");
    assert_eq!(e, Err(Error::EmptyData));
}

/// `threads` in the params: every count gives the bits of the caller's pool, and 0 is refused.
#[test]
fn the_threads_param_gives_the_same_bits() {
    let ds = kmrbf::synth::blobs(20_000, 8, 12, 2.0, 21);
    let x: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    let v = MatView::new(&x, 20_000, 8).unwrap();
    let fit = |t| {
        KMeansParams::new(12)
            .seed(1)
            .threads(t)
            .fit(v, None)
            .unwrap()
    };
    let base = fit(None);
    for t in [Some(1), Some(3)] {
        let m = fit(t);
        assert_eq!(m.labels(), base.labels());
        assert_eq!(m.inertia().to_bits(), base.inertia().to_bits());
        assert!(m
            .centers()
            .iter()
            .zip(base.centers())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
    assert!(matches!(
        KMeansParams::<f32>::new(3).threads(Some(0)).fit(v, None),
        Err(Error::BadParam {
            name: "threads",
            ..
        })
    ));
    let mut mb = kmrbf::kmeans::MiniBatchParams::<f32>::new(12);
    let a = mb.fit(v, None).unwrap();
    mb.threads = Some(2);
    let b = mb.fit(v, None).unwrap();
    assert_eq!(a.state, b.state);
}
