//! The `kmrbf` binary end to end: happy paths, and every bad input exits 2 with a message
//! naming the place and leaves no output file behind.

mod common;

use common::*;
use std::path::Path;

fn blobs_csv(dir: &Dir, name: &str) -> String {
    let ds = kmrbf::synth::blobs(300, 3, 4, 0.5, 1);
    let mut s = String::from("a,b,c\n");
    for r in ds.x.chunks(3) {
        s.push_str(&format!("{},{},{}\n", r[0], r[1], r[2]));
    }
    std::fs::write(dir.path(name), s).unwrap();
    dir.s(name)
}

#[test]
fn fit_then_predict_round_trip() {
    let d = Dir::new("roundtrip");
    let data = blobs_csv(&d, "x.csv");
    let r = run(&[
        "fit",
        "--data",
        &data,
        "--k",
        "4",
        "--seed",
        "3",
        "--out",
        &d.s("m.json"),
        "--labels",
        &d.s("l.npy"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path("m.json")).unwrap()).unwrap();
    assert_eq!(model["k"], 4);
    assert_eq!(model["d"], 3);
    assert_eq!(model["centers"].as_array().unwrap().len(), 4);
    assert!(model["inertia"].as_f64().unwrap() > 0.0);
    assert!(model["n_iter"].as_u64().unwrap() >= 1);
    assert_eq!(model["settings"]["seed"], 3);
    assert!(model["version"].is_string());
    let fit_labels = read_labels(&d.path("l.npy"));
    assert_eq!(fit_labels.len(), 300);
    let r = run(&[
        "predict",
        "--model",
        &d.s("m.json"),
        "--data",
        &data,
        "--out",
        &d.s("p.npy"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_labels(&d.path("p.npy")), fit_labels);
    assert_eq!(
        d.files(),
        vec!["l.npy", "m.json", "p.npy", "x.csv"],
        "no temporaries left"
    );
}

#[test]
fn npy_c_and_fortran_order_and_f32_give_the_same_fit() {
    let d = Dir::new("orders");
    let ds = kmrbf::synth::blobs(200, 3, 3, 0.3, 2);
    write_npy_f64(&d.path("c.npy"), &ds.x, "(200, 3)", false);
    let mut f = vec![0.0; 600];
    for i in 0..200 {
        for j in 0..3 {
            f[j * 200 + i] = ds.x[i * 3 + j];
        }
    }
    write_npy_f64(&d.path("f.npy"), &f, "(200, 3)", true);
    let x32: Vec<f32> = ds.x.iter().map(|&v| v as f32).collect();
    write_npy_f32(&d.path("s.npy"), &x32, "(200, 3)");
    let mut labels = vec![];
    for name in ["c", "f", "s"] {
        let r = run(&[
            "fit",
            "--data",
            &d.s(&format!("{name}.npy")),
            "--k",
            "3",
            "--out",
            &d.s(&format!("{name}.json")),
            "--labels",
            &d.s(&format!("{name}.l.npy")),
        ]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        labels.push(read_labels(&d.path(&format!("{name}.l.npy"))));
    }
    assert_eq!(labels[0], labels[1]);
    assert_eq!(labels[0], labels[2]);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path("s.json")).unwrap()).unwrap();
    assert_eq!(m["dtype"], "f32");
}

/// Every `--algorithm` writes the same model: Yinyang's bounds give Lloyd's labels and
/// centers bit for bit (on the vector tiers; the portable tier runs Lloyd for it), Hamerly
/// the same centers on this well-separated data.
#[test]
fn every_algorithm_writes_the_same_model() {
    let d = Dir::new("algorithms");
    let ds = kmrbf::synth::blobs(3000, 8, 40, 2.5, 4);
    let mut s = String::new();
    for r in ds.x.chunks(8) {
        let row: Vec<String> = r.iter().map(|v| format!("{v}")).collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    std::fs::write(d.path("x.csv"), s).unwrap();
    let fit = |alg: &str| {
        let out = d.s(&format!("{alg}.json"));
        let labels = d.s(&format!("{alg}.npy"));
        let r = run(&[
            "fit",
            "--data",
            &d.s("x.csv"),
            "--k",
            "120",
            "--seed",
            "2",
            "--algorithm",
            alg,
            "--out",
            &out,
            "--labels",
            &labels,
        ]);
        assert_eq!(r.code, 0, "{alg}: {}", r.stderr);
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        (
            m["centers"].clone(),
            m["n_iter"].clone(),
            read_labels(&d.path(&format!("{alg}.npy"))),
        )
    };
    let lloyd = fit("lloyd");
    let yinyang = fit("yinyang");
    assert_eq!(lloyd.0, yinyang.0, "centers");
    assert_eq!(lloyd.1, yinyang.1, "iterations");
    assert_eq!(lloyd.2, yinyang.2, "labels");
    assert!(lloyd.1.as_u64().unwrap() > 2, "the fit iterates");
}

#[test]
fn builtin_data_runs() {
    let d = Dir::new("builtin");
    let r = run(&[
        "fit",
        "--data",
        "builtin:iris",
        "--k",
        "3",
        "--out",
        &d.s("m.json"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&[
        "fit",
        "--data",
        "builtin:nope",
        "--k",
        "3",
        "--out",
        &d.s("n.json"),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("builtin:nope"), "{}", r.stderr);
}

/// Runs a failing `fit`, checks exit 2, that the message contains every `needles`, and that
/// neither output was written.
fn fails(dir: &Dir, args: &[&str], needles: &[&str]) {
    let out = dir.s("out.json");
    let lab = dir.s("out.npy");
    let mut all: Vec<&str> = args.to_vec();
    if args[0] == "fit" {
        all.extend_from_slice(&["--out", &out, "--labels", &lab]);
    }
    let r = run(&all);
    assert_eq!(
        r.code, 2,
        "{args:?}: expected exit 2, got {}: {}",
        r.code, r.stderr
    );
    for n in needles {
        assert!(
            r.stderr.contains(n),
            "{args:?}: message lacks '{n}': {}",
            r.stderr
        );
    }
    assert!(
        !dir.path("out.json").exists() && !dir.path("out.npy").exists(),
        "{args:?}: output left behind"
    );
    assert!(
        dir.files().iter().all(|f| !f.contains(".tmp")),
        "{args:?}: temporary left behind: {:?}",
        dir.files()
    );
}

#[test]
fn bad_data_files() {
    let d = Dir::new("baddata");
    let missing = d.s("missing.csv");
    fails(
        &d,
        &["fit", "--data", &missing, "--k", "2"],
        &["missing.csv"],
    );
    std::fs::write(d.path("empty.csv"), "").unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("empty.csv"), "--k", "2"],
        &["empty.csv", "no data rows"],
    );
    std::fs::write(d.path("header_only.csv"), "a,b\n").unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("header_only.csv"), "--k", "2"],
        &["header_only.csv"],
    );
    std::fs::write(d.path("ragged.csv"), "1,2\n3,4\n5\n").unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("ragged.csv"), "--k", "2"],
        &["ragged.csv", "line 3"],
    );
    std::fs::write(d.path("text.csv"), "1,2\n3,x\n").unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("text.csv"), "--k", "2"],
        &["text.csv", "row 1, column 1", "line 2", "'x'"],
    );
    std::fs::write(d.path("nan.csv"), "1,2\n3,4\n5,nan\n").unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("nan.csv"), "--k", "2"],
        &["nan.csv", "row 2", "column 1", "NaN"],
    );
    std::fs::write(d.path("inf.csv"), "1,inf\n3,4\n5,6\n").unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("inf.csv"), "--k", "2"],
        &["inf.csv", "row 0", "column 1", "inf"],
    );
    write_npy_f64(&d.path("one.npy"), &[1.0, 2.0, 3.0], "(3,)", false);
    fails(
        &d,
        &["fit", "--data", &d.s("one.npy"), "--k", "2"],
        &["one.npy", "2-D", "1-D"],
    );
    write_npy_f64(&d.path("three.npy"), &[1.0; 8], "(2, 2, 2)", false);
    fails(
        &d,
        &["fit", "--data", &d.s("three.npy"), "--k", "2"],
        &["three.npy", "3-D"],
    );
    let mut c = npy_header("<c16", "(2, 2)", false);
    c.extend_from_slice(&[0u8; 64]);
    std::fs::write(d.path("complex.npy"), c).unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("complex.npy"), "--k", "2"],
        &["complex.npy", "unsupported dtype", "<c16"],
    );
    let mut t = npy_header("<f8", "(10, 2)", false);
    t.extend_from_slice(&[0u8; 40]);
    std::fs::write(d.path("trunc.npy"), t).unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("trunc.npy"), "--k", "2"],
        &["trunc.npy", "truncated"],
    );
    std::fs::write(d.path("garbage.npy"), b"hello").unwrap();
    fails(
        &d,
        &["fit", "--data", &d.s("garbage.npy"), "--k", "2"],
        &["garbage.npy", "not a .npy"],
    );
    write_npy_f64(
        &d.path("nan.npy"),
        &[1.0, 2.0, f64::NAN, 4.0],
        "(2, 2)",
        false,
    );
    fails(
        &d,
        &["fit", "--data", &d.s("nan.npy"), "--k", "1"],
        &["nan.npy", "row 1", "column 0"],
    );
}

#[test]
fn bad_parameters() {
    let d = Dir::new("badparams");
    let data = blobs_csv(&d, "x.csv");
    fails(&d, &["fit", "--data", &data, "--k", "0"], &["--k", "0"]);
    fails(
        &d,
        &["fit", "--data", &data, "--k", "301"],
        &["k = 301", "n = 300"],
    );
    fails(
        &d,
        &["fit", "--data", &data, "--k", "2", "--tol", "-1"],
        &["--tol", "-1"],
    );
    fails(
        &d,
        &["fit", "--data", &data, "--k", "2", "--max-iter", "0"],
        &["--max-iter", "0"],
    );
    fails(
        &d,
        &["fit", "--data", &data, "--k", "2", "--algorithm", "fast"],
        &["--algorithm", "fast"],
    );
    write_npy_f64(&d.path("c0.npy"), &[0.0; 9], "(3, 3)", false);
    fails(
        &d,
        &["fit", "--data", &data, "--k", "2", "--init", &d.s("c0.npy")],
        &["c0.npy", "2 x 3", "3 x 3"],
    );
    write_npy_f64(&d.path("c1.npy"), &[0.0; 4], "(2, 2)", false);
    fails(
        &d,
        &["fit", "--data", &data, "--k", "2", "--init", &d.s("c1.npy")],
        &["c1.npy", "2 x 3", "2 x 2"],
    );
    let mut w = vec![1.0; 300];
    w[7] = -1.0;
    write_npy_f64(&d.path("wneg.npy"), &w, "(300,)", false);
    fails(
        &d,
        &[
            "fit",
            "--data",
            &data,
            "--k",
            "2",
            "--weights",
            &d.s("wneg.npy"),
        ],
        &["wneg.npy", "row 7", "-1"],
    );
    w[7] = f64::NAN;
    write_npy_f64(&d.path("wnan.npy"), &w, "(300,)", false);
    fails(
        &d,
        &[
            "fit",
            "--data",
            &data,
            "--k",
            "2",
            "--weights",
            &d.s("wnan.npy"),
        ],
        &["wnan.npy", "row 7", "NaN"],
    );
    write_npy_f64(&d.path("wshort.npy"), &w[..10], "(10,)", false);
    fails(
        &d,
        &[
            "fit",
            "--data",
            &data,
            "--k",
            "2",
            "--weights",
            &d.s("wshort.npy"),
        ],
        &["wshort.npy", "300", "10"],
    );
    let r = run(&[
        "fit",
        "--data",
        &data,
        "--k",
        "2",
        "--out",
        &d.s("nodir/m.json"),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nodir"), "{}", r.stderr);
    let r = run(&["fit", "--data", &data]);
    assert_eq!(r.code, 2, "clap usage error: {}", r.stderr);
}

#[test]
fn predict_rejects_a_column_mismatch_and_bad_models() {
    let d = Dir::new("predict");
    let data = blobs_csv(&d, "x.csv");
    let r = run(&["fit", "--data", &data, "--k", "3", "--out", &d.s("m.json")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(d.path("two.csv"), "1,2\n3,4\n").unwrap();
    let r = run(&[
        "predict",
        "--model",
        &d.s("m.json"),
        "--data",
        &d.s("two.csv"),
        "--out",
        &d.s("p.npy"),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("two.csv")
            && r.stderr.contains("2 columns")
            && r.stderr.contains("d = 3"),
        "{}",
        r.stderr
    );
    assert!(!d.path("p.npy").exists());
    std::fs::write(d.path("bad.json"), "{\"k\": 2}").unwrap();
    let r = run(&[
        "predict",
        "--model",
        &d.s("bad.json"),
        "--data",
        &data,
        "--out",
        &d.s("p.npy"),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bad.json"), "{}", r.stderr);
    assert!(!d.path("p.npy").exists());
}

#[test]
fn soft_commands_round_trip() {
    let d = Dir::new("soft");
    let data = blobs_csv(&d, "x.csv");
    let r = run(&[
        "anneal",
        "--data",
        &data,
        "--k",
        "4",
        "--map",
        "entmax15",
        "--reference",
        "--out",
        &d.s("a.json"),
        "--trace",
        &d.s("t.csv"),
        "--labels",
        &d.s("l.npy"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path("a.json")).unwrap()).unwrap();
    let stages = m["settings"]["stages"].as_array().unwrap();
    assert!(!stages.is_empty());
    let last = stages.last().unwrap();
    assert!(
        last["discrepancy"].as_f64().unwrap() <= 1e-9,
        "annealed onto Lloyd's fixed point: {last}"
    );
    let trace = std::fs::read_to_string(d.path("t.csv")).unwrap();
    assert_eq!(trace.lines().count(), stages.len() + 1);
    assert!(trace.starts_with("stage,sigma,temperature,steps,J,L,F"));
    // The annealed model is a model: predict and transform accept it.
    let r = run(&[
        "transform",
        "--model",
        &d.s("a.json"),
        "--data",
        &data,
        "--map",
        "softmax",
        "--sigma",
        "0.5",
        "--out",
        &d.s("r.npy"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (resp, header) = read_npy_f64(&d.path("r.npy"));
    assert!(header.contains("(300, 4)"), "{header}");
    for row in resp.chunks(4) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    // objective: centers from a .npy.
    let centers: Vec<f64> = m["centers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    write_npy_f64(&d.path("c.npy"), &centers, "(4, 3)", false);
    for g in ["stopgrad", "full"] {
        let r = run(&[
            "objective",
            "--data",
            &data,
            "--centers",
            &d.s("c.npy"),
            "--sigma",
            "2",
            "--map",
            "softmax",
            "--gradient",
            g,
            "--out",
            &d.s("o.json"),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let o: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.path("o.json")).unwrap()).unwrap();
        let (j, l, f, b) = (
            o["J"].as_f64().unwrap(),
            o["L"].as_f64().unwrap(),
            o["F"].as_f64().unwrap(),
            o["bound"].as_f64().unwrap(),
        );
        assert!(l >= j && l - j <= b && f <= j && j - f <= b, "{o}");
        assert_eq!(o["gradient"]["values"].as_array().unwrap().len(), 4);
    }
}

#[test]
fn soft_commands_reject_bad_parameters() {
    let d = Dir::new("softbad");
    let data = blobs_csv(&d, "x.csv");
    let r = run(&["fit", "--data", &data, "--k", "3", "--out", &d.s("m.json")]);
    assert_eq!(r.code, 0);
    write_npy_f64(&d.path("c.npy"), &[0.0; 6], "(2, 3)", false);
    write_npy_f64(&d.path("c2.npy"), &[0.0; 4], "(2, 2)", false);
    let out = d.s("out.npy");
    let (model, c1, c2) = (d.s("m.json"), d.s("c.npy"), d.s("c2.npy"));
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                "transform",
                "--model",
                &model,
                "--data",
                &data,
                "--sigma",
                "0",
                "--out",
                &out,
            ],
            vec!["--sigma", "0"],
        ),
        (
            vec![
                "transform",
                "--model",
                &model,
                "--data",
                &data,
                "--sigma",
                "-2",
                "--out",
                &out,
            ],
            vec!["--sigma", "-2"],
        ),
        (
            vec![
                "transform",
                "--model",
                &model,
                "--data",
                &data,
                "--sigma",
                "NaN",
                "--out",
                &out,
            ],
            vec!["--sigma", "NaN"],
        ),
        (
            vec![
                "transform",
                "--model",
                &model,
                "--data",
                &data,
                "--sigma",
                "1",
                "--map",
                "gumbel",
                "--out",
                &out,
            ],
            vec!["--map", "gumbel"],
        ),
        (
            vec![
                "transform",
                "--model",
                &model,
                "--data",
                &data,
                "--sigma",
                "1",
                "--map",
                "entmax",
                "--alpha",
                "2.5",
                "--out",
                &out,
            ],
            vec!["--alpha", "2.5"],
        ),
        (
            vec![
                "transform",
                "--model",
                &model,
                "--data",
                &data,
                "--sigma",
                "1",
                "--map",
                "entmax",
                "--alpha",
                "1",
                "--out",
                &out,
            ],
            vec!["--alpha", "1"],
        ),
        (
            vec![
                "objective",
                "--data",
                &data,
                "--centers",
                &c2,
                "--sigma",
                "1",
                "--out",
                &out,
            ],
            vec!["c2.npy", "2 x 2"],
        ),
        (
            vec![
                "objective",
                "--data",
                &data,
                "--centers",
                &c1,
                "--sigma",
                "1",
                "--gradient",
                "half",
                "--out",
                &out,
            ],
            vec!["--gradient", "half"],
        ),
        (
            vec![
                "anneal", "--data", &data, "--k", "3", "--gamma", "1.5", "--out", &out,
            ],
            vec!["--gamma", "1.5"],
        ),
        (
            vec![
                "anneal", "--data", &data, "--k", "3", "--gamma", "0", "--out", &out,
            ],
            vec!["--gamma", "0"],
        ),
        (
            vec![
                "anneal",
                "--data",
                &data,
                "--k",
                "3",
                "--sigma0",
                "1",
                "--sigma-min",
                "2",
                "--out",
                &out,
            ],
            vec!["--sigma-min", "2", "--sigma0"],
        ),
        (
            vec![
                "anneal", "--data", &data, "--k", "3", "--sigma0", "-1", "--out", &out,
            ],
            vec!["--sigma0", "-1"],
        ),
        (
            vec![
                "anneal", "--data", &data, "--k", "3", "--sigma0", "hot", "--out", &out,
            ],
            vec!["--sigma0", "hot"],
        ),
        (
            vec![
                "anneal", "--data", &data, "--k", "3", "--map", "nope", "--out", &out,
            ],
            vec!["--map", "nope"],
        ),
        (
            vec![
                "anneal", "--data", &data, "--k", "2", "--init", &c2, "--out", &out,
            ],
            vec!["c2.npy", "2 x 3", "2 x 2"],
        ),
        (
            vec!["anneal", "--data", &data, "--k", "400", "--out", &out],
            vec!["--k", "400"],
        ),
        (
            vec![
                "anneal", "--data", &data, "--k", "3", "--sigmas", "1,2", "--out", &out,
            ],
            vec!["--sigmas", "decreasing"],
        ),
    ];
    for (args, needles) in cases {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: exit {} {}", r.code, r.stderr);
        for n in needles {
            assert!(
                r.stderr.contains(n),
                "{args:?}: message lacks '{n}': {}",
                r.stderr
            );
        }
        assert!(!Path::new(&out).exists(), "{args:?}: wrote output");
    }
}

#[test]
fn f32_data_far_from_the_origin_clusters_like_f64() {
    // Regression: |x|^2 - 2 x.c + |c|^2 cancels in f32 when |x| >> spread; fit centers the
    // columns first (as scikit-learn does), so f32 and f64 agree.
    let d = Dir::new("offset");
    let ds = kmrbf::synth::blobs(2000, 3, 5, 1.0, 4);
    let x64: Vec<f64> = ds.x.iter().map(|v| v + 20_000.0).collect();
    let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
    let x32_as_64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
    write_npy_f32(&d.path("x32.npy"), &x32, "(2000, 3)");
    write_npy_f64(&d.path("x64.npy"), &x32_as_64, "(2000, 3)", false);
    let c0: Vec<f64> = x32_as_64[..15].to_vec();
    write_npy_f64(&d.path("c0.npy"), &c0, "(5, 3)", false);
    for t in ["32", "64"] {
        let r = run(&[
            "fit",
            "--data",
            &d.s(&format!("x{t}.npy")),
            "--k",
            "5",
            "--init",
            &d.s("c0.npy"),
            "--out",
            &d.s(&format!("m{t}.json")),
            "--labels",
            &d.s(&format!("l{t}.npy")),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let (l32, l64) = (
        read_labels(&d.path("l32.npy")),
        read_labels(&d.path("l64.npy")),
    );
    let same = l32.iter().zip(&l64).filter(|(a, b)| a == b).count();
    assert!(
        same >= 1998,
        "f32 and f64 labels agree on {same} of 2000 rows"
    );
    let r = run(&[
        "predict",
        "--model",
        &d.s("m64.json"),
        "--data",
        &d.s("x32.npy"),
        "--out",
        &d.s("p.npy"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = read_labels(&d.path("p.npy"));
    assert!(p.iter().zip(&l64).filter(|(a, b)| a == b).count() >= 1998);
}

#[test]
fn fit_mini_batch_writes_a_model_whose_labels_predict_agrees_with() {
    let d = Dir::new("minibatch");
    let data = blobs_csv(&d, "x.csv");
    let r = run(&[
        "fit",
        "--data",
        &data,
        "--k",
        "4",
        "--mini-batch",
        "64",
        "--seed",
        "2",
        "--out",
        &d.s("m.json"),
        "--labels",
        &d.s("l.npy"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = json(&d.path("m.json"));
    assert_eq!(m["settings"]["algorithm"], "mini-batch");
    assert_eq!(m["settings"]["mini_batch"]["batch_size"], 64);
    assert_eq!(m["settings"]["tol"], 0.0);
    assert!(m["settings"]["mini_batch"]["n_steps"].as_u64().unwrap() >= 1);
    // Blobs of radius 0.5 in 3-D: near the optimum (inertia per row ~ 3 * 0.25).
    assert!(
        m["inertia"].as_f64().unwrap() / 300.0 < 1.5,
        "{}",
        m["inertia"]
    );
    let labels = read_labels(&d.path("l.npy"));
    let r = run(&[
        "predict",
        "--model",
        &d.s("m.json"),
        "--data",
        &data,
        "--out",
        &d.s("p.npy"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read_labels(&d.path("p.npy")), labels);
    // The same seed gives the same model.
    let r = run(&[
        "fit",
        "--data",
        &data,
        "--k",
        "4",
        "--mini-batch",
        "64",
        "--seed",
        "2",
        "--out",
        &d.s("m2.json"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&d.path("m2.json"))["centers"], m["centers"]);
}

#[test]
fn fit_mini_batch_bad_parameters() {
    let d = Dir::new("minibatch_bad");
    let data = blobs_csv(&d, "x.csv");
    fails(
        &d,
        &["fit", "--data", &data, "--k", "4", "--mini-batch", "0"],
        &["--mini-batch"],
    );
    fails(
        &d,
        &[
            "fit",
            "--data",
            &data,
            "--k",
            "4",
            "--mini-batch",
            "10",
            "--reassignment-ratio",
            "-1",
        ],
        &["--reassignment-ratio", "-1"],
    );
    fails(
        &d,
        &["fit", "--data", &data, "--k", "400", "--mini-batch", "10"],
        &["--k"],
    );
}

/// `--isa` (or `KMRBF_ISA`) picks the kernels' tier: every tier this CPU runs writes the same
/// labels on digits; a tier it does not run, an unknown name in the variable, and an unknown
/// value of the flag are refused with exit 2 and nothing written.
#[test]
fn isa_flag_and_variable_pick_the_tier() {
    let d = Dir::new("isa");
    let fit = |tier: &str, out: &str| {
        ok(&[
            "fit",
            "--data",
            "builtin:digits",
            "--k",
            "10",
            "--isa",
            tier,
            "--out",
            &d.s(&format!("{out}.json")),
            "--labels",
            &d.s(&format!("{out}.npy")),
        ]);
        read_labels(&d.path(&format!("{out}.npy")))
    };
    let auto = fit("auto", "auto");
    for tier in kmrbf::Isa::supported() {
        assert_eq!(fit(tier.tier().name(), tier.tier().name()), auto, "{tier}");
    }
    let missing: Vec<&str> = kmrbf::Tier::ALL
        .iter()
        .filter(|t| !t.supported())
        .map(|t| t.name())
        .collect();
    match missing.first() {
        Some(&tier) => {
            let out = d.s("no.json");
            let r = run(&[
                "fit",
                "--data",
                "builtin:iris",
                "--k",
                "3",
                "--isa",
                tier,
                "--out",
                &out,
            ]);
            assert_eq!(r.code, 2, "{}", r.stderr);
            assert!(
                r.stderr.contains("--isa") && r.stderr.contains(tier),
                "{}",
                r.stderr
            );
            assert!(!d.path("no.json").exists());
        }
        None => eprintln!("isa_flag_and_variable_pick_the_tier: this CPU runs every tier"),
    }
    let out = bin()
        .env("KMRBF_ISA", "avx1024")
        .args([
            "fit",
            "--data",
            "builtin:iris",
            "--k",
            "3",
            "--out",
            &d.s("env.json"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("KMRBF_ISA") && err.contains("avx1024"),
        "{err}"
    );
    assert!(!d.path("env.json").exists());
    let out = bin()
        .env("KMRBF_ISA", "portable")
        .args([
            "fit",
            "--data",
            "builtin:digits",
            "--k",
            "10",
            "--out",
            &d.s("p.json"),
        ])
        .args(["--labels", &d.s("p.npy")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(read_labels(&d.path("p.npy")), auto);
    let r = run(&[
        "fit",
        "--data",
        "builtin:iris",
        "--k",
        "3",
        "--isa",
        "sse9",
        "--out",
        &d.s("x.json"),
    ]);
    assert_eq!(r.code, 2);
}

/// `anneal --mini-batch` at a temperature below every gap is `fit --mini-batch` (the same
/// batches, centers and labels, byte for byte); a median start anneals softly and records its
/// stages; the same seed gives the same model.
#[test]
fn anneal_mini_batch_lands_on_fit_mini_batch_and_records_its_stages() {
    let d = Dir::new("anneal_minibatch");
    let x = kmrbf::synth::blobs(3000, 4, 6, 0.8, 3).x;
    write_npy_f64(&d.path("x.npy"), &x, "(3000, 4)", false);
    let data = d.s("x.npy");
    let p = |name: &str| d.s(name);
    let (fj, fl, aj, al, at, sj, sc) = (
        p("f.json"),
        p("f.npy"),
        p("a.json"),
        p("a.npy"),
        p("t.csv"),
        p("s.json"),
        p("s.csv"),
    );
    let common = [
        "--data",
        &data,
        "--k",
        "6",
        "--mini-batch",
        "128",
        "--seed",
        "5",
        "--max-no-improvement",
        "0",
    ];
    let mut fit = vec!["fit", "--max-iter", "2", "--out"];
    fit.extend_from_slice(&[&fj, "--labels", &fl]);
    fit.extend_from_slice(&common);
    let r = run(&fit);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stage_cap = (2 * 3000 / 128).to_string();
    let mut ann = vec![
        "anneal",
        "--sigmas",
        "1e-30",
        "--stage-cap",
        &stage_cap,
        "--out",
    ];
    ann.extend_from_slice(&[&aj, "--labels", &al, "--trace", &at]);
    ann.extend_from_slice(&common);
    let r = run(&ann);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("mini-batch"), "{}", r.stderr);
    let (f, a) = (json(&d.path("f.json")), json(&d.path("a.json")));
    assert_eq!(a["centers"], f["centers"]);
    assert_eq!(a["inertia"], f["inertia"]);
    assert_eq!(
        std::fs::read(d.path("a.npy")).unwrap(),
        std::fs::read(d.path("f.npy")).unwrap()
    );
    assert_eq!(
        a["settings"]["mini_batch"]["batches"],
        f["settings"]["mini_batch"]["n_steps"]
    );
    // The default start (median): soft first, one-hot at the end; the trace has every stage.
    let mut soft = vec!["anneal", "--polish", "--reference", "--out", &sj];
    soft.extend_from_slice(&["--trace", &sc]);
    soft.extend_from_slice(&common);
    let r = run(&soft);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = json(&d.path("s.json"));
    assert_eq!(s["settings"]["sigma0"], "median");
    let stages = s["settings"]["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 14);
    let first = stages[0]["onehot_fraction"].as_f64().unwrap();
    let last = stages[13]["onehot_fraction"].as_f64().unwrap();
    assert!(first < 0.9 && last > 0.99, "{first} {last}");
    assert!(
        s["settings"]["mini_batch"]["polish_batches"]
            .as_u64()
            .unwrap()
            > 0
    );
    let csv = std::fs::read_to_string(d.path("s.csv")).unwrap();
    assert_eq!(csv.lines().count(), 15);
    let ari = stages[13]["ari"].as_f64().unwrap();
    assert!(ari > 0.95, "ARI to Lloyd from the same init: {ari}");
    let r = run(&soft);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&d.path("s.json"))["centers"], s["centers"]);
}

/// The mini-batch flags without --mini-batch, and with it what it does not run: exit 2,
/// the flag named, nothing written.
#[test]
fn anneal_mini_batch_bad_parameters() {
    let d = Dir::new("anneal_minibatch_bad");
    let data = blobs_csv(&d, "x.csv");
    let out = d.s("out.json");
    let lab = d.s("out.npy");
    let x = kmrbf::synth::blobs(100, 2, 2, 0.5, 1).x;
    write_npy_f64(&d.path("x.npy"), &x, "(100, 2)", false);
    let npy = d.s("x.npy");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--reassignment-ratio", "0.1"], "--reassignment-ratio"),
        (vec!["--max-no-improvement", "3"], "--max-no-improvement"),
        (vec!["--mini-batch", "0"], "--mini-batch"),
        (vec!["--mini-batch", "10", "--step", "gd"], "--step"),
        (
            vec!["--mini-batch", "10", "--no-warm-start"],
            "--no-warm-start",
        ),
        (
            vec!["--mini-batch", "10", "--sigma0", "critical"],
            "--sigma0",
        ),
        (
            vec!["--mini-batch", "10", "--stage-cap", "0"],
            "--stage-cap",
        ),
        (
            vec!["--mini-batch", "10", "--reassignment-ratio", "-1"],
            "--reassignment-ratio",
        ),
        (vec!["--mini-batch", "10", "--k", "400"], "--k"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["anneal", "--data", &data, "--out", &out, "--labels", &lab];
        if !extra.contains(&"--k") {
            args.extend_from_slice(&["--k", "3"]);
        }
        args.extend_from_slice(&extra);
        let r = run(&args);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{extra:?}: {}", r.stderr);
        assert!(!d.path("out.json").exists() && !d.path("out.npy").exists());
    }
    let r = run(&[
        "anneal",
        "--data",
        &npy,
        "--k",
        "2",
        "--mini-batch",
        "10",
        "--block-rows",
        "50",
        "--out",
        &out,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--mini-batch"), "{}", r.stderr);
    assert!(!d.path("out.json").exists());
}
