//! `kmrbf deep`: outputs, resume, and bad input (exit 2, nothing written).
#![cfg(feature = "deep")]

mod common;

use common::{json, ok, read_labels, read_npy, run, Dir};

/// A small, fast configuration on iris.
const SMALL: [&str; 12] = [
    "--hidden",
    "16",
    "--embedding",
    "3",
    "--pretrain-epochs",
    "30",
    "--epochs",
    "4",
    "--lr",
    "0.01",
    "--batch-size",
    "64",
];

fn deep(extra: &[&str]) -> common::Run {
    let mut args = vec!["deep", "--data", "builtin:iris", "--k", "3", "--quiet"];
    args.extend(SMALL);
    args.extend(extra);
    run(&args)
}

#[test]
fn writes_labels_embedding_model_metrics_and_report() {
    let dir = Dir::new("deep-out");
    let out = dir.s("run");
    let r = deep(&["--seeds", "2", "--out", &out]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let labels = read_labels(&dir.path("run/labels.npy"));
    assert_eq!(labels.len(), 150);
    assert!(labels.iter().all(|l| (0..3).contains(l)));
    let (emb, header) = read_npy(&dir.path("run/embedding.npy"));
    assert!(header.contains("(150, 3)"), "{header}");
    assert!(emb.iter().all(|v| v.is_finite()));
    for f in [
        "model.bpk",
        "centers.npy",
        "report.html",
        "training.svg",
        "embedding.png",
        "checkpoint/state.json",
        "checkpoint/model-000034.bpk",
        "seed-1/labels.npy",
        "seed-1/checkpoint/optimizer-000034.adam",
    ] {
        assert!(dir.path("run").join(f).exists(), "{f} missing");
    }
    let m = json(&dir.path("run/metrics.json"));
    let seeds = m["seeds"].as_array().unwrap();
    assert_eq!(seeds.len(), 2);
    let hist = seeds[0]["history"].as_array().unwrap();
    assert_eq!(hist.len(), 34);
    let last = &hist[33];
    for key in ["j", "l", "f", "acc", "nmi", "ari", "sigma"] {
        assert!(last[key].as_f64().unwrap().is_finite(), "{key}");
    }
    // Iris with its built-in labels: the deep run is scored, and so are the baselines.
    let deep = m["summary"]["deep (joint RBF head)"]["acc"]["mean"]
        .as_f64()
        .unwrap();
    assert!(deep > 0.6, "ACC {deep}");
    assert!(m["summary"]["K-Means on the input"]["nmi"]["mean"]
        .as_f64()
        .is_some());
    let html = std::fs::read_to_string(dir.path("run/report.html")).unwrap();
    assert!(html.contains("autoencoder + K-Means") && html.contains("training.svg"));
}

/// `--balanced` reaches the training (the centers' steps change) and is recorded with the
/// parameters, so a resumed run keeps it.
#[test]
fn balanced_center_steps_are_taken_and_recorded() {
    let dir = Dir::new("deep-balanced");
    let (plain, balanced) = (dir.s("plain"), dir.s("balanced"));
    for (out, extra) in [(&plain, None), (&balanced, Some("--balanced"))] {
        let mut args = vec!["--seeds", "1", "--out", out.as_str()];
        args.extend(extra);
        let r = deep(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    for (name, want) in [("plain", false), ("balanced", true)] {
        let m = json(&dir.path(&format!("{name}/metrics.json")));
        assert_eq!(m["params"]["balanced"].as_bool(), Some(want), "{name}");
        let state = json(&dir.path(&format!("{name}/checkpoint/state.json")));
        assert!(
            state.to_string().contains(&format!("\"balanced\":{want}")),
            "{name}"
        );
        let labels = read_labels(&dir.path(&format!("{name}/labels.npy")));
        assert!(labels.len() == 150 && labels.iter().all(|l| (0..3).contains(l)));
    }
    let (a, _) = read_npy(&dir.path("plain/centers.npy"));
    let (b, _) = read_npy(&dir.path("balanced/centers.npy"));
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).any(|(u, v)| u != v), "the same centers");
    assert!(b.iter().all(|v| v.is_finite()));
}

/// The small configuration with a longer pretraining, so a run can be cut while it trains.
fn long_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "deep",
        "--data",
        "builtin:iris",
        "--k",
        "3",
        "--quiet",
        "--out",
        out,
    ];
    args.extend(SMALL.iter().map(|a| if *a == "30" { "400" } else { a }));
    args.extend(extra);
    args
}

#[test]
fn an_interrupted_run_resumed_ends_like_an_uninterrupted_one() {
    let dir = Dir::new("deep-resume");
    let full = dir.s("full");
    ok(&long_args(&full, &[]));
    // Start the same run, interrupt it (SIGINT) once its first checkpoint exists.
    let cut = dir.s("cut");
    let mut child = common::bin().args(long_args(&cut, &[])).spawn().unwrap();
    let state = dir.path("cut/checkpoint/state.json");
    let start = std::time::Instant::now();
    while !state.exists() && start.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let done = json(&state)["epochs_done"].as_u64().unwrap();
    assert!(
        status.code() == Some(130) && done < 404,
        "the run was not cut: {status:?}, {done} epochs"
    );
    assert!(!dir.path("cut/labels.npy").exists());
    ok(&long_args(&cut, &["--resume", &cut]));
    for f in ["labels.npy", "embedding.npy", "centers.npy"] {
        assert_eq!(
            std::fs::read(dir.path("full").join(f)).unwrap(),
            std::fs::read(dir.path("cut").join(f)).unwrap(),
            "{f} differs after a resume from epoch {done}"
        );
    }
    let a = json(&dir.path("full/metrics.json"));
    let b = json(&dir.path("cut/metrics.json"));
    assert_eq!(a["summary"], b["summary"]);
    // Other parameters: refused, nothing written.
    let other = dir.s("other");
    let r = run(&long_args(&other, &["--resume", &full, "--lambda", "0.5"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("other parameters"), "{}", r.stderr);
    assert!(!dir.path("other").exists());
    // A corrupt checkpoint: refused naming the file, nothing written.
    let state = json(&dir.path("full/checkpoint/state.json"));
    let optimizer = state["optimizer_file"].as_str().unwrap().to_string();
    std::fs::write(
        dir.path("full/checkpoint").join(&optimizer),
        b"not a record",
    )
    .unwrap();
    let r = run(&long_args(&other, &["--resume", &full]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(&optimizer), "{}", r.stderr);
    assert!(!dir.path("other").exists());
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = Dir::new("deep-bad");
    std::fs::write(dir.path("y.csv"), "0\n1\n2\n").unwrap();
    let out = dir.s("out");
    let y = dir.s("y.csv");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--k", "151"], "--k"),
        (vec!["--k", "3", "--temperature", "0"], "--temperature"),
        (vec!["--k", "3", "--temperature=-1"], "--temperature"),
        (vec!["--k", "3", "--temperatures", "1,0"], "temperatures"),
        (vec!["--k", "3", "--map", "nope"], "--map"),
        (
            vec!["--k", "3", "--true-labels", &y],
            "3 labels for 150 rows",
        ),
        (vec!["--k", "3", "--lambda=-1"], "lambda"),
        (vec!["--k", "3", "--seeds", "0"], "--seeds"),
        (
            vec!["--k", "3", "--resume", "/nonexistent/dir"],
            "state.json",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["deep", "--data", "builtin:iris", "--quiet", "--out", &out];
        args.extend(&extra);
        let r = run(&args);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{extra:?}: {}", r.stderr);
        assert!(!dir.path("out").exists(), "{extra:?} wrote output");
    }
    let r = run(&[
        "deep",
        "--data",
        "/nonexistent.csv",
        "--k",
        "2",
        "--out",
        &out,
    ]);
    assert_eq!(r.code, 2);
    assert!(!dir.path("out").exists());
}
