//! `fit --block-rows`: a `.npy` streamed from disk in blocks gives the in-memory fit's bits.

mod common;
use common::*;

/// Blobs far from the origin (so the shift matters), `n x d`, and `k` rows as initial centers.
fn blobs(n: usize, d: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
    let ds = kmrbf::synth::blobs(n, d, k, 1.0, 11);
    let x: Vec<f64> = ds.x.iter().map(|v| v + 250.0).collect();
    let init: Vec<f64> = (0..k)
        .flat_map(|j| x[(j * n / k) * d..(j * n / k + 1) * d].to_vec())
        .collect();
    (x, init)
}

/// `fit` in memory and streamed in blocks of 100 rows (`extra` flags on both): the same model
/// and labels.
fn same_fit(dir: &Dir, data: &str, extra: &[&str]) {
    let mem = ["--quiet", "fit", "--data", data, "--k", "6", "--out"];
    let mut a: Vec<&str> = mem.to_vec();
    let (mm, lm, ms, ls) = (
        dir.s("mem.json"),
        dir.s("mem.npy"),
        dir.s("st.json"),
        dir.s("st.npy"),
    );
    a.extend([mm.as_str(), "--labels", lm.as_str()]);
    a.extend(extra);
    ok(&a);
    let mut b: Vec<&str> = mem.to_vec();
    b.extend([ms.as_str(), "--labels", ls.as_str(), "--block-rows", "100"]);
    b.extend(extra);
    ok(&b);
    let (m, s) = (json(&dir.path("mem.json")), json(&dir.path("st.json")));
    assert_eq!(m["centers"], s["centers"], "{data} {extra:?}");
    assert_eq!(m["inertia"], s["inertia"]);
    assert_eq!(m["n_iter"], s["n_iter"]);
    assert!(
        s["settings"]["streamed"]["block_rows"].as_u64().unwrap() < 30_000,
        "several blocks"
    );
    assert_eq!(
        read_labels(&dir.path("mem.npy")),
        read_labels(&dir.path("st.npy"))
    );
}

#[test]
fn streamed_fit_equals_the_in_memory_fit() {
    let dir = Dir::new("stream-same");
    let (n, d, k) = (30_000, 4, 6);
    let (x, init) = blobs(n, d, k);
    write_npy_f64(&dir.path("x64.npy"), &x, &format!("({n}, {d})"), false);
    write_npy_f64(&dir.path("c64.npy"), &init, &format!("({k}, {d})"), false);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let c32: Vec<f32> = init.iter().map(|&v| v as f32).collect();
    write_npy_f32(&dir.path("x32.npy"), &x32, &format!("({n}, {d})"));
    write_npy_f32(&dir.path("c32.npy"), &c32, &format!("({k}, {d})"));
    // Centers 4 and 5 repeat 0 and 1: two clusters come out empty in the first iteration.
    let mut dup = init.clone();
    dup.copy_within(0..2 * d, 4 * d);
    write_npy_f64(&dir.path("dup.npy"), &dup, &format!("({k}, {d})"), false);
    same_fit(&dir, &dir.s("x64.npy"), &["--init", &dir.s("dup.npy")]);
    let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 5) as f64 * 0.3).collect();
    write_npy_f64(&dir.path("w.npy"), &w, &format!("({n},)"), false);
    let wf = dir.s("w.npy");
    for (data, init) in [("x64.npy", "c64.npy"), ("x32.npy", "c32.npy")] {
        let init = dir.s(init);
        same_fit(&dir, &dir.s(data), &["--init", &init]);
        same_fit(
            &dir,
            &dir.s(data),
            &["--init", &init, "--weights", wf.as_str()],
        );
        same_fit(
            &dir,
            &dir.s(data),
            &["--init", &init, "--tol", "0", "--max-iter", "7"],
        );
    }
}

/// `fit --mini-batch` on a streamed file reads each batch's rows where they lie and gives the
/// in-memory mini-batch fit's model and labels, byte for byte: k-means++, random with restarts,
/// given centers, weights, a tolerance, f32 and f64, blocks far smaller than the file.
#[test]
fn streamed_mini_batch_equals_the_in_memory_mini_batch() {
    let dir = Dir::new("stream-minibatch");
    let (n, d, k) = (30_000, 4, 6);
    let (x, init) = blobs(n, d, k);
    write_npy_f64(&dir.path("x64.npy"), &x, &format!("({n}, {d})"), false);
    write_npy_f64(&dir.path("c64.npy"), &init, &format!("({k}, {d})"), false);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    write_npy_f32(&dir.path("x32.npy"), &x32, &format!("({n}, {d})"));
    let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 5) as f64 * 0.3).collect();
    write_npy_f64(&dir.path("w.npy"), &w, &format!("({n},)"), false);
    let (wf, c64) = (dir.s("w.npy"), dir.s("c64.npy"));
    let mb = ["--mini-batch", "500", "--seed", "4"];
    for data in ["x64.npy", "x32.npy"] {
        let data = dir.s(data);
        for extra in [
            vec!["--init", "k-means++"],
            vec![
                "--init",
                "random",
                "--n-init",
                "3",
                "--weights",
                wf.as_str(),
            ],
            vec![
                "--init",
                c64.as_str(),
                "--tol",
                "1e-4",
                "--max-no-improvement",
                "0",
            ],
        ] {
            let mut e: Vec<&str> = mb.to_vec();
            e.extend(extra);
            same_fit(&dir, &data, &e);
        }
    }
}

#[test]
fn streamed_kmeans_plus_plus_seeds_from_a_sample() {
    let dir = Dir::new("stream-pp");
    let (n, d, k) = (20_000, 3, 6);
    let (x, _) = blobs(n, d, k);
    write_npy_f64(&dir.path("x.npy"), &x, &format!("({n}, {d})"), false);
    let x = dir.s("x.npy");
    for out in ["a.json", "b.json"] {
        let o = dir.s(out);
        ok(&[
            "--quiet",
            "fit",
            "--data",
            &x,
            "--k",
            "6",
            "--block-rows",
            "5000",
            "--init-sample",
            "3000",
            "--out",
            &o,
            "--labels",
            &dir.s("l.npy"),
        ]);
    }
    let (a, b) = (json(&dir.path("a.json")), json(&dir.path("b.json")));
    assert_eq!(a["centers"], b["centers"], "same seed, same result");
    assert_eq!(a["settings"]["streamed"]["init_sample_rows"], 3000);
    let labels = read_labels(&dir.path("l.npy"));
    let mut used: Vec<i64> = labels.clone();
    used.sort();
    used.dedup();
    assert_eq!(used.len(), 6, "every cluster owns rows");
}

#[test]
fn streamed_bad_input_exits_2_and_writes_nothing() {
    let dir = Dir::new("stream-bad");
    let (n, d) = (5000, 3);
    let (mut x, _) = blobs(n, d, 3);
    write_npy_f64(&dir.path("fortran.npy"), &x, &format!("({n}, {d})"), true);
    x[3456 * d + 2] = f64::NAN;
    write_npy_f64(&dir.path("nan.npy"), &x, &format!("({n}, {d})"), false);
    let mut bytes = std::fs::read(dir.path("nan.npy")).unwrap();
    bytes.truncate(bytes.len() - 100);
    std::fs::write(dir.path("short.npy"), bytes).unwrap();
    std::fs::write(dir.path("x.csv"), "1,2\n3,4\n5,6\n").unwrap();
    let out = dir.s("out.json");
    let cases: [(&str, &[&str], &str); 6] = [
        ("fortran.npy", &[], "needs C order"),
        ("nan.npy", &[], "row 3456, column 2"),
        ("nan.npy", &["--mini-batch", "100"], "row 3456, column 2"),
        ("short.npy", &[], "truncated"),
        ("x.csv", &[], "not a .npy file"),
        ("fortran.npy", &["--n-init", "3"], "needs C order"),
    ];
    for (file, extra, want) in cases {
        let data = dir.s(file);
        let mut args = vec![
            "fit",
            "--data",
            data.as_str(),
            "--k",
            "2",
            "--block-rows",
            "700",
            "--out",
            out.as_str(),
        ];
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.code, 2, "{file}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{file}: {}", r.stderr);
        assert!(!dir.path("out.json").exists(), "{file}: nothing written");
    }
    write_npy_f64(
        &dir.path("ok.npy"),
        &blobs(n, d, 3).0,
        &format!("({n}, {d})"),
        false,
    );
    let data = dir.s("ok.npy");
    let r = run(&[
        "fit",
        "--data",
        &data,
        "--k",
        "2",
        "--block-rows",
        "700",
        "--n-init",
        "3",
        "--out",
        &out,
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("one restart"), "{}", r.stderr);
}

#[test]
fn streamed_predict_writes_the_in_memory_labels() {
    let dir = Dir::new("stream-predict");
    let (n, d, k) = (30_001, 4, 6);
    let (x, init) = blobs(n, d, k);
    write_npy_f64(&dir.path("x64.npy"), &x, &format!("({n}, {d})"), false);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    write_npy_f32(&dir.path("x32.npy"), &x32, &format!("({n}, {d})"));
    write_npy_f64(&dir.path("c.npy"), &init, &format!("({k}, {d})"), false);
    let (c, m) = (dir.s("c.npy"), dir.s("m.json"));
    ok(&[
        "--quiet",
        "fit",
        "--data",
        &dir.s("x64.npy"),
        "--k",
        "6",
        "--init",
        &c,
        "--out",
        &m,
    ]);
    for data in ["x64.npy", "x32.npy"] {
        let data = dir.s(data);
        let (mem, st) = (dir.s("mem.npy"), dir.s("st.npy"));
        ok(&[
            "--quiet", "predict", "--model", &m, "--data", &data, "--out", &mem,
        ]);
        // Blocks of 8192 rows (100 rounded up to the kernel's chunk): four, the last short.
        let r = ok(&[
            "predict",
            "--model",
            &m,
            "--data",
            &data,
            "--out",
            &st,
            "--block-rows",
            "100",
        ]);
        assert!(r.stderr.contains("streamed"), "{}", r.stderr);
        let (a, b) = (
            read_labels(&dir.path("mem.npy")),
            read_labels(&dir.path("st.npy")),
        );
        assert_eq!(a.len(), n);
        assert_eq!(a, b, "{data}");
        assert!(a.iter().all(|&l| (0..k as i64).contains(&l)));
    }
    // Bad input: exit 2, the row named, nothing written (the labels' temporary removed).
    let mut bad = x.clone();
    bad[20_000 * d + 1] = f64::NAN;
    write_npy_f64(&dir.path("nan.npy"), &bad, &format!("({n}, {d})"), false);
    let out = dir.s("out.npy");
    let r = run(&[
        "predict",
        "--model",
        &m,
        "--data",
        &dir.s("nan.npy"),
        "--out",
        &out,
        "--block-rows",
        "100",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("row 20000, column 1"), "{}", r.stderr);
    assert!(!dir.path("out.npy").exists());
    assert!(
        dir.files().iter().all(|f| !f.contains(".tmp")),
        "{:?}",
        dir.files()
    );
    write_npy_f64(
        &dir.path("wide.npy"),
        &x[..n / 5 * 5],
        &format!("({}, 5)", n / 5),
        false,
    );
    let r = run(&[
        "predict",
        "--model",
        &m,
        "--data",
        &dir.s("wide.npy"),
        "--out",
        &out,
        "--block-rows",
        "100",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("columns"), "{}", r.stderr);
    assert!(!dir.path("out.npy").exists());
}

#[test]
fn streamed_transform_writes_the_in_memory_responsibilities() {
    let dir = Dir::new("stream-transform");
    let (n, d, k) = (20_003, 3, 5);
    let (x, init) = blobs(n, d, k);
    write_npy_f64(&dir.path("x64.npy"), &x, &format!("({n}, {d})"), false);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    write_npy_f32(&dir.path("x32.npy"), &x32, &format!("({n}, {d})"));
    write_npy_f64(&dir.path("c.npy"), &init, &format!("({k}, {d})"), false);
    let (c, m) = (dir.s("c.npy"), dir.s("m.json"));
    ok(&[
        "--quiet",
        "fit",
        "--data",
        &dir.s("x64.npy"),
        "--k",
        "5",
        "--init",
        &c,
        "--out",
        &m,
    ]);
    for data in ["x64.npy", "x32.npy"] {
        for map in ["softmax", "entmax15"] {
            let data = dir.s(data);
            let (mem, st) = (dir.s("mem.npy"), dir.s("st.npy"));
            let common = [
                "transform",
                "--model",
                &m,
                "--data",
                &data,
                "--map",
                map,
                "--sigma",
                "2",
            ];
            let mut a = common.to_vec();
            a.extend(["--out", &mem]);
            ok(&a);
            let mut b = common.to_vec();
            b.extend(["--out", &st, "--block-rows", "100"]);
            let r = ok(&b);
            assert!(r.stderr.contains("streamed"), "{}", r.stderr);
            // The same file, byte for byte (header, dtype and values).
            let (bm, bs) = (
                std::fs::read(dir.path("mem.npy")).unwrap(),
                std::fs::read(dir.path("st.npy")).unwrap(),
            );
            assert!(bm == bs, "{data} {map}: streamed responsibilities differ");
            let (vals, _) = read_npy(&dir.path("st.npy"));
            assert_eq!(vals.len(), n * k);
            for row in vals.chunks(k) {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5);
            }
        }
    }
}

/// `anneal` in memory and with `--block-rows 100` (several blocks): the same model (centers,
/// J, sigma0, the reference run and every stage record), trace and labels.
fn same_anneal(dir: &Dir, data: &str, init: &str, extra: &[&str]) {
    let run_one = |tag: &str, stream: bool| {
        let (m, t, l) = (
            dir.s(&format!("{tag}.json")),
            dir.s(&format!("{tag}.csv")),
            dir.s(&format!("{tag}.npy")),
        );
        let mut a: Vec<&str> = vec![
            "--quiet", "anneal", "--data", data, "--k", "6", "--init", init, "--out", &m,
            "--trace", &t, "--labels", &l,
        ];
        if stream {
            a.extend(["--block-rows", "100"]);
        }
        a.extend(extra);
        ok(&a);
    };
    run_one("amem", false);
    run_one("ast", true);
    let (m, s) = (json(&dir.path("amem.json")), json(&dir.path("ast.json")));
    for key in ["centers", "inertia", "n_iter"] {
        assert_eq!(m[key], s[key], "{key}: {data} {extra:?}");
    }
    for key in [
        "sigma0_value",
        "reference",
        "initial_centers",
        "polish_iters",
    ] {
        assert_eq!(
            m["settings"][key], s["settings"][key],
            "{key}: {data} {extra:?}"
        );
    }
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        for st in v.as_array_mut().unwrap() {
            st.as_object_mut().unwrap().remove("seconds");
        }
        v
    };
    assert_eq!(
        strip(&m["settings"]["stages"]),
        strip(&s["settings"]["stages"]),
        "stages: {data} {extra:?}"
    );
    assert!(s["settings"]["streamed"]["block_rows"].as_u64().unwrap() < 30_000);
    assert_eq!(
        std::fs::read(dir.path("amem.csv")).unwrap(),
        std::fs::read(dir.path("ast.csv")).unwrap(),
        "trace: {data} {extra:?}"
    );
    assert_eq!(
        read_labels(&dir.path("amem.npy")),
        read_labels(&dir.path("ast.npy"))
    );
}

#[test]
fn streamed_anneal_equals_the_in_memory_anneal() {
    let dir = Dir::new("stream-anneal");
    let (n, d, k) = (30_000, 4, 6);
    let (x, init) = blobs(n, d, k);
    write_npy_f64(&dir.path("x64.npy"), &x, &format!("({n}, {d})"), false);
    write_npy_f64(&dir.path("c64.npy"), &init, &format!("({k}, {d})"), false);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    write_npy_f32(&dir.path("x32.npy"), &x32, &format!("({n}, {d})"));
    let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 5) as f64 * 0.3).collect();
    write_npy_f64(&dir.path("w.npy"), &w, &format!("({n},)"), false);
    // Centers 4 and 5 repeat 0 and 1: the Lloyd runs (sigma0 = auto's gaps, the reference)
    // relocate empty clusters to the farthest rows.
    let mut dup = init.clone();
    dup.copy_within(0..2 * d, 4 * d);
    write_npy_f64(&dir.path("dup.npy"), &dup, &format!("({k}, {d})"), false);
    let wf = dir.s("w.npy");
    let c = dir.s("c64.npy");
    for data in ["x64.npy", "x32.npy"] {
        let data = dir.s(data);
        same_anneal(&dir, &data, &c, &["--reference"]);
        same_anneal(&dir, &data, &c, &["--map", "entmax15", "--weights", &wf]);
        same_anneal(
            &dir,
            &data,
            &dir.s("dup.npy"),
            &["--map", "sparsemax", "--reference", "--polish"],
        );
        same_anneal(
            &dir,
            &data,
            &c,
            &[
                "--step",
                "gd",
                "--gradient",
                "full",
                "--sigma0",
                "0.5",
                "--stage-cap",
                "20",
            ],
        );
        same_anneal(
            &dir,
            &data,
            &c,
            &[
                "--step",
                "adam",
                "--lr",
                "0.05",
                "--stage-cap",
                "15",
                "--sigmas",
                "2,0.5,0.1",
                "--no-warm-start",
            ],
        );
    }
}

#[test]
fn streamed_anneal_refuses_what_needs_memory_and_bad_rows() {
    let dir = Dir::new("stream-anneal-bad");
    let (n, d) = (5000, 3);
    let (mut x, _) = blobs(n, d, 3);
    write_npy_f64(&dir.path("ok.npy"), &x, &format!("({n}, {d})"), false);
    x[4321 * d + 1] = f64::INFINITY;
    write_npy_f64(&dir.path("inf.npy"), &x, &format!("({n}, {d})"), false);
    let out = dir.s("out.json");
    let cases: [(&str, &[&str], &str); 4] = [
        ("ok.npy", &["--sigma0", "median"], "need the data in memory"),
        (
            "ok.npy",
            &["--sigma0", "critical"],
            "need the data in memory",
        ),
        ("inf.npy", &[], "row 4321, column 1"),
        ("ok.npy", &["--k", "6000"], "--k = 6000"),
    ];
    for (file, extra, want) in cases {
        let data = dir.s(file);
        let mut args = vec![
            "anneal",
            "--data",
            data.as_str(),
            "--block-rows",
            "700",
            "--out",
            out.as_str(),
        ];
        args.extend(extra);
        if !extra.contains(&"--k") {
            args.extend(["--k", "3"]);
        }
        let r = run(&args);
        assert_eq!(r.code, 2, "{file} {extra:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{file} {extra:?}: {}", r.stderr);
        assert!(!dir.path("out.json").exists(), "{file}: nothing written");
    }
}

#[test]
fn block_rows_auto_streams_in_the_automatic_size() {
    let dir = Dir::new("stream-auto");
    let (n, d, k) = (20_000, 3, 4);
    let (x, init) = blobs(n, d, k);
    write_npy_f64(&dir.path("x.npy"), &x, &format!("({n}, {d})"), false);
    write_npy_f64(&dir.path("c.npy"), &init, &format!("({k}, {d})"), false);
    let (data, c, mem, st) = (
        dir.s("x.npy"),
        dir.s("c.npy"),
        dir.s("mem.json"),
        dir.s("st.json"),
    );
    let base = ["--quiet", "fit", "--data", &data, "--k", "4", "--init", &c];
    let mut a = base.to_vec();
    a.extend(["--out", &mem]);
    ok(&a);
    let mut b = base.to_vec();
    b.extend(["--out", &st, "--block-rows", "auto"]);
    ok(&b);
    let (m, s) = (json(&dir.path("mem.json")), json(&dir.path("st.json")));
    assert_eq!(m["centers"], s["centers"]);
    assert!(s["settings"]["streamed"]["block_rows"].as_u64().unwrap() > 0);
    let mut bad = base.to_vec();
    bad.extend(["--out", &st, "--block-rows", "lots"]);
    std::fs::remove_file(dir.path("st.json")).unwrap();
    let r = run(&bad);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("a number of rows or auto"),
        "{}",
        r.stderr
    );
    assert!(!dir.path("st.json").exists());
}
