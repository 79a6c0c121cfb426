//! Deep clustering: determinism, resume, corrupt checkpoints, bad input, an easy data set.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kmrbf_burn::deep::{DeepFit, DeepParams, EpochRecord, Trainer};
use kmrbf_burn::Error;

/// Three well-separated blobs in 8 dimensions, 240 rows, labels 0..3.
fn blobs() -> (Vec<f32>, Vec<u32>, usize, usize) {
    let (n, d) = (240, 8);
    let mut rng = kmrbf::rng::Rng::new(5);
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i % 3) as u32;
        for j in 0..d {
            let center = if j % 3 == c as usize { 6.0 } else { 0.0 };
            x.push((center + rng.normal()) as f32);
        }
        y.push(c);
    }
    (x, y, n, d)
}

fn small(k: usize) -> DeepParams {
    let mut p = DeepParams::new(k);
    p.hidden = vec![16];
    p.embedding = 3;
    p.pretrain_epochs = 30;
    p.epochs = 4;
    p.batch_size = 64;
    p.n_init = 3;
    p.seed = 11;
    p.lr = 1e-2;
    p.threads = Some(1);
    p
}

fn without_time(h: &[EpochRecord]) -> Vec<EpochRecord> {
    h.iter()
        .map(|r| EpochRecord {
            seconds: 0.0,
            ..r.clone()
        })
        .collect()
}

/// The same labels, embedding, centers and history (apart from the timings), bit for bit.
fn assert_same_fit(a: &DeepFit, b: &DeepFit) {
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.embedding, b.embedding);
    assert_eq!(a.centers, b.centers);
    assert_eq!(
        without_time(&a.state.history),
        without_time(&b.state.history)
    );
}

#[test]
fn same_seed_same_bits_and_easy_blobs_are_found() {
    let (x, y, n, d) = blobs();
    let run = || {
        Trainer::new(small(3), &x, n, d, Some(&y))
            .unwrap()
            .run(None, &mut |_| {})
            .unwrap()
    };
    let a = run();
    let b = run();
    assert_same_fit(&a, &b);
    let acc = kmrbf::metrics::matched_accuracy(&y, &a.labels);
    assert!(acc > 0.99, "blobs: ACC {acc}");
    assert_eq!(a.state.history.len(), 34);
    let last = a.state.history.last().unwrap();
    assert!(last.j.unwrap() <= last.l.unwrap() + 1e-6);
}

#[test]
fn one_and_two_threads_give_the_same_bits() {
    // Layers of 256 x 256 and batches of 120 rows: large enough that burn-flex splits the
    // matrix products over threads and Adam splits the parameters into several chunks.
    let (x, y, n, d) = blobs();
    let run = |threads| {
        let mut p = small(3);
        p.hidden = vec![256, 256];
        p.batch_size = 120;
        p.pretrain_epochs = 3;
        p.epochs = 2;
        p.threads = Some(threads);
        Trainer::new(p, &x, n, d, Some(&y))
            .unwrap()
            .run(None, &mut |_| {})
            .unwrap()
    };
    assert_same_fit(&run(1), &run(2));
}

#[test]
fn a_resumed_run_ends_like_an_uninterrupted_one() {
    let (x, y, n, d) = blobs();
    let full_dir = tempdir("full");
    let full = Trainer::new(small(3), &x, n, d, Some(&y))
        .unwrap()
        .checkpoint_into(&full_dir)
        .run(None, &mut |_| {})
        .unwrap();
    for stop_after in [0usize, 1, 2, 31] {
        let dir = tempdir(&format!("cut{stop_after}"));
        let flag = Arc::new(AtomicBool::new(false));
        let raise = flag.clone();
        let cut = Trainer::new(small(3), &x, n, d, Some(&y))
            .unwrap()
            .checkpoint_into(&dir)
            .stop_flag(flag)
            .run(None, &mut |r| {
                if r.epoch == stop_after {
                    raise.store(true, Ordering::Relaxed);
                }
            });
        assert!(matches!(cut, Err(Error::Interrupted)));
        let resumed = Trainer::new(small(3), &x, n, d, Some(&y))
            .unwrap()
            .checkpoint_into(&dir)
            .run(Some(&dir), &mut |_| {})
            .unwrap();
        assert_eq!(resumed.labels, full.labels, "stopped after {stop_after}");
        assert_eq!(resumed.embedding, full.embedding);
        assert_eq!(resumed.centers, full.centers);
        assert_eq!(
            without_time(&resumed.state.history),
            without_time(&full.state.history)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::remove_dir_all(&full_dir).unwrap();
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kmrbf-burn-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn corrupt_or_foreign_checkpoints_are_refused_naming_the_file() {
    let (x, y, n, d) = blobs();
    let dir = tempdir("corrupt");
    let t = Trainer::new(small(3), &x, n, d, Some(&y)).unwrap();
    t.checkpoint_into(&dir).run(None, &mut |_| {}).unwrap();
    let trainer = || Trainer::new(small(3), &x, n, d, Some(&y)).unwrap();
    assert!(trainer().check_resume(&dir).is_ok());
    // Other data.
    let mut other = x.clone();
    other[0] += 1.0;
    let e = Trainer::new(small(3), &other, n, d, Some(&y))
        .unwrap()
        .check_resume(&dir)
        .unwrap_err()
        .to_string();
    assert!(e.contains("state.json") && e.contains("other data"), "{e}");
    // Other parameters.
    let mut p = small(3);
    p.lambda = 0.5;
    let e = Trainer::new(p, &x, n, d, None)
        .unwrap()
        .check_resume(&dir)
        .unwrap_err()
        .to_string();
    assert!(e.contains("other parameters"), "{e}");
    // A truncated model record.
    let named = |key: &str| {
        let state = std::fs::read_to_string(dir.join("state.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&state).unwrap();
        dir.join(v[key].as_str().unwrap())
    };
    let model = named("model_file");
    let name = model.file_name().unwrap().to_str().unwrap().to_string();
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();
    let e = trainer().check_resume(&dir).unwrap_err().to_string();
    assert!(e.contains(&name), "{e}");
    // Only the last epoch's records are kept.
    let records = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(records, 3, "state.json and two records");
    std::fs::write(&model, &bytes).unwrap();
    // A state that is not JSON.
    std::fs::write(dir.join("state.json"), "{ not json").unwrap();
    let e = trainer().check_resume(&dir).unwrap_err().to_string();
    assert!(e.contains("state.json"), "{e}");
    // No checkpoint at all.
    let e = trainer()
        .check_resume(&dir.join("nothing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("state.json"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_refused_naming_the_parameter() {
    let (x, y, n, d) = blobs();
    let err = |p: DeepParams, truth: Option<&[u32]>| {
        Trainer::new(p, &x, n, d, truth)
            .err()
            .expect("refused")
            .to_string()
    };
    assert!(err(small(n + 1), None).starts_with("k = "));
    assert!(err(small(0), None).starts_with("k = "));
    let mut p = small(3);
    p.lambda = -1.0;
    assert!(err(p, None).starts_with("lambda"));
    let mut p = small(3);
    p.schedule = Some(kmrbf_burn::TemperatureSchedule::List {
        sigmas: vec![1.0, 0.0],
    });
    assert!(err(p, None).starts_with("temperatures"));
    assert!(err(small(3), Some(&y[..10])).starts_with("true-labels"));
    let mut bad = x.clone();
    bad[3 * d + 2] = f32::NAN;
    let e = Trainer::new(small(3), &bad, n, d, None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("row 3, column 2"), "{e}");
}

#[test]
fn the_optional_training_terms_run_and_change_the_result() {
    // 3 x 3 "images": the blobs' first 8 columns and a zero pixel.
    let (x8, y, n, _) = blobs();
    let d = 9;
    let x: Vec<f32> = (0..n)
        .flat_map(|i| x8[i * 8..(i + 1) * 8].iter().copied().chain([0.0]))
        .collect();
    let fit = |p: DeepParams| {
        Trainer::new(p, &x, n, d, Some(&y))
            .unwrap()
            .run(None, &mut |_| {})
            .unwrap()
    };
    let base = fit(small(3));
    let mut with_shift = small(3);
    with_shift.augment = Some(kmrbf_burn::deep::params::Augment {
        side: 3,
        max_shift: 1,
        clean_target: true,
    });
    let mut with_noise = small(3);
    with_noise.input_dropout = 0.2;
    let mut with_neighbors = small(3);
    with_neighbors.neighbors = 5;
    with_neighbors.mu = 1.0;
    let mut balanced = small(3);
    balanced.balanced = true;
    for (name, p) in [
        ("augment", with_shift),
        ("input_dropout", with_noise),
        ("neighbors", with_neighbors),
        ("balanced", balanced),
    ] {
        let f = fit(p);
        assert!(f.embedding.iter().all(|v| v.is_finite()), "{name}");
        assert_ne!(f.embedding, base.embedding, "{name} changed nothing");
        assert_eq!(f.labels.len(), n);
    }
    let mut bad = small(3);
    bad.augment = Some(kmrbf_burn::deep::params::Augment {
        side: 4,
        max_shift: 1,
        clean_target: true,
    });
    let e = Trainer::new(bad, &x, n, d, None).err().unwrap().to_string();
    assert!(e.starts_with("augment"), "{e}");
}
