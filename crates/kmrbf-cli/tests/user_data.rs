//! Every command on data far from the origin, as users' data is, in every input format
//! (f64 / f32 / int32 / int64 `.npy`, CSV), checked against an independent f64 computation
//! written here (naive distances, softmax, sort-based entmax15); extreme temperatures; and
//! output paths that cannot be written.

mod common;

use common::*;
use std::path::Path;

const N: usize = 240;
const D: usize = 3;
const K: usize = 4;
/// Column offsets far from the origin (the means that once went unshifted).
const OFFSET: [f64; D] = [100.0, -57.0, 1000.0];

/// Blobs shifted by `OFFSET` (f64, row-major).
fn data() -> Vec<f64> {
    let ds = kmrbf::synth::blobs(N, D, K, 1.5, 7);
    ds.x.iter()
        .enumerate()
        .map(|(i, v)| 4.0 * v + OFFSET[i % D])
        .collect()
}

/// The data as every input format, each with the exact values the file holds (as f64).
fn inputs(dir: &Dir) -> Vec<(String, Vec<f64>)> {
    let x = data();
    let shape = format!("({N}, {D})");
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    write_npy_f64(&dir.path("x64.npy"), &x, &shape, false);
    write_npy_f32(&dir.path("x32.npy"), &x32, &shape);
    // Integers: ten times the data, rounded.
    let xi: Vec<i64> = x.iter().map(|v| (10.0 * v).round() as i64).collect();
    write_npy_i64(&dir.path("xi64.npy"), &xi, &shape);
    let xi32: Vec<i32> = xi.iter().map(|&v| v as i32).collect();
    write_npy_i32(&dir.path("xi32.npy"), &xi32, &shape);
    let mut csv = String::from("a,b,c\n");
    for r in x.chunks(D) {
        csv.push_str(&format!("{:?},{:?},{:?}\n", r[0], r[1], r[2]));
    }
    std::fs::write(dir.path("x.csv"), csv).unwrap();
    vec![
        (dir.s("x64.npy"), x.clone()),
        (dir.s("x32.npy"), x32.iter().map(|&v| v as f64).collect()),
        (dir.s("xi64.npy"), xi.iter().map(|&v| v as f64).collect()),
        (dir.s("xi32.npy"), xi.iter().map(|&v| v as f64).collect()),
        (dir.s("x.csv"), x),
    ]
}

/// `K` centers near (not on) rows of `x`, so no row is tied between two of them.
fn centers_for(x: &[f64]) -> Vec<f64> {
    (0..K)
        .flat_map(|j| {
            let r = (j * N / K + 3) * D;
            (0..D).map(move |t| (r, t))
        })
        .map(|(r, t)| x[r + t] + 0.37 + 0.11 * t as f64)
        .collect()
}

fn sq(x: &[f64], c: &[f64]) -> f64 {
    x.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// `n x k` squared distances, naive.
fn dists(x: &[f64], c: &[f64]) -> Vec<Vec<f64>> {
    x.chunks(D)
        .map(|r| c.chunks(D).map(|cj| sq(r, cj)).collect())
        .collect()
}

fn softmax(d: &[f64], s: f64) -> Vec<f64> {
    let m = d.iter().cloned().fold(f64::INFINITY, f64::min);
    let e: Vec<f64> = d.iter().map(|v| (-(v - m) / s).exp()).collect();
    let t: f64 = e.iter().sum();
    e.iter().map(|v| v / t).collect()
}

/// entmax15 of the logits `-d / s` by the sort-based threshold (Peters et al. 2019).
fn entmax15(d: &[f64], s: f64) -> Vec<f64> {
    let z: Vec<f64> = d.iter().map(|v| -v / s / 2.0).collect();
    let mut zs = z.clone();
    zs.sort_by(|a, b| b.total_cmp(a));
    let mut tau = 0.0;
    let (mut sum, mut sumsq) = (0.0, 0.0);
    for (i, &v) in zs.iter().enumerate() {
        let k = (i + 1) as f64;
        sum += v;
        sumsq += v * v;
        let mean = sum / k;
        let delta = (1.0 - k * (sumsq / k - mean * mean)) / k;
        let t = mean - delta.max(0.0).sqrt();
        if t <= v {
            tau = t;
        }
    }
    z.iter().map(|v| (v - tau).max(0.0).powi(2)).collect()
}

/// J, L, F and the stopgrad gradient (`k x d`), naive f64.
fn objectives(x: &[f64], c: &[f64], w: &[f64], map: &str, s: f64) -> ([f64; 3], Vec<f64>) {
    let mut o = [0.0; 3];
    let mut g = vec![0.0; K * D];
    for (i, d) in dists(x, c).iter().enumerate() {
        let r = if map == "softmax" {
            softmax(d, s)
        } else {
            entmax15(d, s)
        };
        let dmin = d.iter().cloned().fold(f64::INFINITY, f64::min);
        let loss: f64 = r.iter().zip(d).map(|(a, b)| a * b).sum();
        let h = if map == "softmax" {
            -r.iter()
                .filter(|&&p| p > 0.0)
                .map(|p| p * p.ln())
                .sum::<f64>()
        } else {
            4.0 / 3.0 * (1.0 - r.iter().map(|p| p.powf(1.5)).sum::<f64>())
        };
        o[0] += w[i] * dmin;
        o[1] += w[i] * loss;
        o[2] += w[i] * (loss - s * h);
        for j in 0..K {
            for t in 0..D {
                g[j * D + t] += -2.0 * w[i] * r[j] * (x[i * D + t] - c[j * D + t]);
            }
        }
    }
    (o, g)
}

fn argmin(d: &[f64]) -> usize {
    let mut b = 0;
    for (j, &v) in d.iter().enumerate() {
        if v < d[b] {
            b = j;
        }
    }
    b
}

fn close(got: f64, want: f64, rel: f64, scale: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * (want.abs() + scale),
        "{what}: got {got}, want {want} (relative tolerance {rel})"
    );
}

/// The relative tolerance of a file's working precision.
fn tol_of(path: &str) -> f64 {
    if path.ends_with("x32.npy") {
        2e-4
    } else {
        1e-9
    }
}

#[test]
fn objective_matches_a_naive_computation_far_from_the_origin() {
    let dir = Dir::new("ud-objective");
    for (path, x) in inputs(&dir) {
        let c = centers_for(&x);
        write_npy_f64(&dir.path("c.npy"), &c, &format!("({K}, {D})"), false);
        let w: Vec<f64> = (0..N).map(|i| 0.5 + (i % 3) as f64).collect();
        let mut wb = npy_header("<f8", &format!("({N},)"), false);
        w.iter()
            .for_each(|v| wb.extend_from_slice(&v.to_le_bytes()));
        std::fs::write(dir.path("w.npy"), wb).unwrap();
        let ones = vec![1.0; N];
        for map in ["softmax", "entmax15"] {
            for sigma in [0.5, 20.0] {
                for weighted in [false, true] {
                    let out = dir.s("o.json");
                    let s = sigma.to_string();
                    let cp = dir.s("c.npy");
                    let mut args = vec![
                        "objective",
                        "--data",
                        &path,
                        "--centers",
                        &cp,
                        "--map",
                        map,
                        "--sigma",
                        &s,
                        "--out",
                        &out,
                        "--quiet",
                    ];
                    let wp = dir.s("w.npy");
                    if weighted {
                        args.extend_from_slice(&["--weights", &wp]);
                    }
                    ok(&args);
                    let j = json(&dir.path("o.json"));
                    let (want, g) =
                        objectives(&x, &c, if weighted { &w } else { &ones }, map, sigma);
                    let what = format!("{path} {map} sigma {sigma} weighted {weighted}");
                    let tol = tol_of(&path);
                    let scale = want[0] / N as f64;
                    for (key, v) in ["J", "L", "F"].iter().zip(want) {
                        close(
                            j[key].as_f64().unwrap(),
                            v,
                            tol,
                            scale,
                            &format!("{what} {key}"),
                        );
                    }
                    let got_g: Vec<f64> = j["gradient"]["values"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                        .collect();
                    let gscale = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for (a, b) in got_g.iter().zip(&g) {
                        close(*a, *b, tol.max(1e-7), gscale, &format!("{what} gradient"));
                    }
                }
            }
        }
    }
}

#[test]
fn transform_and_predict_match_a_naive_computation_far_from_the_origin() {
    let dir = Dir::new("ud-transform");
    for (path, x) in inputs(&dir) {
        let c = centers_for(&x);
        // A model file holding the centers (as `fit` writes them).
        let model = serde_json::json!({
            "format": "kmrbf-model", "version": "0", "k": K, "d": D, "dtype": "f64",
            "centers": c.chunks(D).map(|r| r.to_vec()).collect::<Vec<_>>(),
            "inertia": 0.0, "n_iter": 0, "settings": {},
        });
        std::fs::write(dir.path("m.json"), model.to_string()).unwrap();
        let dd = dists(&x, &c);
        ok(&[
            "predict",
            "--model",
            &dir.s("m.json"),
            "--data",
            &path,
            "--out",
            &dir.s("p.npy"),
        ]);
        let labels = read_labels(&dir.path("p.npy"));
        for (i, d) in dd.iter().enumerate() {
            assert_eq!(labels[i] as usize, argmin(d), "{path}: row {i}");
        }
        for map in ["softmax", "entmax15"] {
            let sigma = 8.0;
            ok(&[
                "transform",
                "--model",
                &dir.s("m.json"),
                "--data",
                &path,
                "--map",
                map,
                "--sigma",
                "8",
                "--out",
                &dir.s("r.npy"),
            ]);
            let (r, _) = read_npy(&dir.path("r.npy"));
            let tol = if path.ends_with("x32.npy") {
                2e-3
            } else {
                1e-9
            };
            for (i, d) in dd.iter().enumerate() {
                let want = if map == "softmax" {
                    softmax(d, sigma)
                } else {
                    entmax15(d, sigma)
                };
                for j in 0..K {
                    let got = r[i * K + j];
                    assert!(
                        (got - want[j]).abs() <= tol,
                        "{path} {map}: r[{i}, {j}] = {got}, want {}",
                        want[j]
                    );
                }
            }
        }
    }
}

#[test]
fn fit_and_anneal_report_the_inertia_of_the_centers_they_write() {
    let dir = Dir::new("ud-fit");
    for (path, x) in inputs(&dir) {
        let c0 = centers_for(&x);
        write_npy_f64(&dir.path("c0.npy"), &c0, &format!("({K}, {D})"), false);
        for cmd in ["fit", "anneal"] {
            let mut args = vec![
                cmd, "--data", &path, "--k", "4", "--init", "c0.npy", "--out", "m.json",
                "--labels", "l.npy", "--quiet",
            ];
            let c0p = dir.s("c0.npy");
            let mp = dir.s("m.json");
            let lp = dir.s("l.npy");
            args[6] = &c0p;
            args[8] = &mp;
            args[10] = &lp;
            if cmd == "anneal" {
                args.extend_from_slice(&["--map", "entmax15", "--reference"]);
            }
            ok(&args);
            let m = json(&dir.path("m.json"));
            let c: Vec<f64> = m["centers"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
                .collect();
            let dd = dists(&x, &c);
            let j: f64 = dd
                .iter()
                .map(|d| d.iter().cloned().fold(f64::INFINITY, f64::min))
                .sum();
            let what = format!("{cmd} {path}");
            close(
                m["inertia"].as_f64().unwrap(),
                j,
                tol_of(&path),
                j / N as f64,
                &what,
            );
            let labels = read_labels(&dir.path("l.npy"));
            for (i, d) in dd.iter().enumerate() {
                assert_eq!(labels[i] as usize, argmin(d), "{what}: row {i}");
            }
            // The centers are the means of their rows (a fixed point of Lloyd's update).
            for k in 0..K {
                let rows: Vec<usize> = (0..N).filter(|&i| labels[i] as usize == k).collect();
                for t in 0..D {
                    let mean = rows.iter().map(|&i| x[i * D + t]).sum::<f64>() / rows.len() as f64;
                    close(
                        c[k * D + t],
                        mean,
                        tol_of(&path).max(1e-7),
                        1.0,
                        &format!("{what} center {k}"),
                    );
                }
            }
        }
    }
}

/// The documented range of effective temperatures per precision (`temperature_range`).
fn in_range(te: f64, f32_data: bool) -> bool {
    let (lo, hi) = if f32_data {
        (
            f32::MIN_POSITIVE as f64,
            f32::MAX as f64 * f32::EPSILON as f64,
        )
    } else {
        (f64::MIN_POSITIVE, f64::MAX * f64::EPSILON)
    };
    te >= lo && te <= hi
}

#[test]
fn extreme_temperatures_give_rows_on_the_simplex_or_exit_2() {
    let dir = Dir::new("ud-extreme");
    let ins = inputs(&dir);
    let c = centers_for(&ins[0].1);
    write_npy_f64(&dir.path("c.npy"), &c, &format!("({K}, {D})"), false);
    ok(&[
        "fit",
        "--data",
        &ins[0].0,
        "--k",
        "4",
        "--init",
        &dir.s("c.npy"),
        "--out",
        &dir.s("m.json"),
    ]);
    let sigmas = [
        1e-300, 1e-200, 1e-160, 1e-40, 1e-20, 1e-5, 1.0, 1e5, 1e20, 1e39, 1e146, 1e160, 1e300,
    ];
    let mut ran = 0;
    let mut refused = 0;
    for f32_data in [false, true] {
        let data = if f32_data {
            dir.s("x32.npy")
        } else {
            dir.s("x64.npy")
        };
        for kernel in ["temperature", "bandwidth"] {
            for &sigma in &sigmas {
                let te = if kernel == "temperature" {
                    sigma
                } else {
                    2.0 * sigma * sigma
                };
                let s = format!("{sigma:e}");
                for map in ["softmax", "entmax15", "sparsemax"] {
                    let what = format!("f32 {f32_data} {kernel} sigma {s} {map}");
                    let r = run(&[
                        "transform",
                        "--model",
                        &dir.s("m.json"),
                        "--data",
                        &data,
                        "--map",
                        map,
                        "--kernel",
                        kernel,
                        "--sigma",
                        &s,
                        "--out",
                        &dir.s("r.npy"),
                    ]);
                    let o = run(&[
                        "objective",
                        "--data",
                        &data,
                        "--centers",
                        &dir.s("c.npy"),
                        "--map",
                        map,
                        "--kernel",
                        kernel,
                        "--sigma",
                        &s,
                        "--out",
                        &dir.s("o.json"),
                    ]);
                    if in_range(te, f32_data) {
                        assert_eq!(r.code, 0, "{what}: {}", r.stderr);
                        assert_eq!(o.code, 0, "{what}: {}", o.stderr);
                        let (resp, _) = read_npy(&dir.path("r.npy"));
                        assert_eq!(resp.len(), N * K);
                        for row in resp.chunks(K) {
                            let sum: f64 = row.iter().sum();
                            assert!(
                                row.iter().all(|v| v.is_finite() && *v >= 0.0)
                                    && (sum - 1.0).abs() < 1e-5,
                                "{what}: row {row:?}"
                            );
                        }
                        let j = json(&dir.path("o.json"));
                        for key in ["J", "L", "F", "bound", "temperature", "mean_support"] {
                            assert!(
                                j[key].as_f64().is_some_and(f64::is_finite),
                                "{what}: {key} = {}",
                                j[key]
                            );
                        }
                        ran += 1;
                    } else {
                        for (cmd, x) in [("transform", &r), ("objective", &o)] {
                            assert_eq!(x.code, 2, "{what} {cmd}: {}", x.stderr);
                            assert!(
                                x.stderr.contains("effective temperature")
                                    && x.stderr.contains("--sigma"),
                                "{what} {cmd}: {}",
                                x.stderr
                            );
                        }
                        refused += 1;
                    }
                    let _ = std::fs::remove_file(dir.path("r.npy"));
                    let _ = std::fs::remove_file(dir.path("o.json"));
                }
            }
        }
    }
    assert!(ran > 20 && refused > 20, "ran {ran}, refused {refused}");
    // anneal: a first temperature beyond float32 is refused before any work, with no output.
    let r = run(&[
        "anneal",
        "--data",
        &dir.s("x32.npy"),
        "--k",
        "4",
        "--sigma0",
        "1e39",
        "--out",
        &dir.s("a.json"),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("effective temperature"), "{}", r.stderr);
    assert!(!dir.path("a.json").exists());
    let r = run(&[
        "anneal",
        "--data",
        &dir.s("x64.npy"),
        "--k",
        "4",
        "--kernel",
        "bandwidth",
        "--sigma0",
        "1e-154",
        "--out",
        &dir.s("a.json"),
    ]);
    assert_eq!(
        r.code, 2,
        "2 sigma0^2 = 2e-308 is below the f64 range: {}",
        r.stderr
    );
    assert!(!dir.path("a.json").exists());
    // In range: every number in the model is finite (no null).
    ok(&[
        "anneal",
        "--data",
        &dir.s("x32.npy"),
        "--k",
        "4",
        "--sigma0",
        "1e30",
        "--sigma-min",
        "1e29",
        "--out",
        &dir.s("a.json"),
    ]);
    let text = std::fs::read_to_string(dir.path("a.json")).unwrap();
    let nulls = text.matches("null").count();
    // `sigmas`, `reference`, `weights`, and per stage the four reference columns.
    let stages = json(&dir.path("a.json"))["settings"]["stages"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(nulls, 3 + 4 * stages, "{text}");
}

/// Asserts a failed run: exit 2, the message names `needle`, and `dir` holds only `keep`.
fn refused(dir: &Dir, args: &[&str], needle: &str, keep: &[&str]) {
    let r = run(args);
    assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "{args:?}: lacks '{needle}': {}",
        r.stderr
    );
    let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(dir.files(), want, "{args:?}: files left behind");
}

#[test]
fn outputs_that_cannot_be_written_fail_before_any_work_and_leave_nothing() {
    let dir = Dir::new("ud-outputs");
    let x = data();
    write_npy_f64(&dir.path("x.npy"), &x, &format!("({N}, {D})"), false);
    std::fs::create_dir(dir.path("sub")).unwrap();
    std::fs::write(dir.path("plain"), "a file").unwrap();
    let keep = ["plain", "sub", "x.npy"];
    let xs = dir.s("x.npy");
    // The data path is missing on purpose in the first cases: the output error comes first,
    // which shows that outputs are checked before any input is read or any work is done.
    let missing = dir.s("missing.npy");
    for (args, needle) in [
        (
            vec![
                "fit",
                "--data",
                &missing,
                "--k",
                "2",
                "--out",
                &dir.s("sub"),
            ],
            "is a directory",
        ),
        (
            vec![
                "fit",
                "--data",
                &missing,
                "--k",
                "2",
                "--out",
                &dir.s("m.json"),
                "--labels",
                &dir.s("sub"),
            ],
            "--labels",
        ),
        (
            vec![
                "fit",
                "--data",
                &xs,
                "--k",
                "2",
                "--out",
                &dir.s("m.json"),
                "--labels",
                &dir.s("m.json"),
            ],
            "the same file as --out",
        ),
        (
            vec![
                "fit",
                "--data",
                &xs,
                "--k",
                "2",
                "--out",
                &dir.s("nodir/m.json"),
            ],
            "does not exist",
        ),
        (
            vec![
                "fit",
                "--data",
                &xs,
                "--k",
                "2",
                "--out",
                &dir.s("plain/m.json"),
            ],
            "is not a directory",
        ),
        (
            vec![
                "anneal",
                "--data",
                &missing,
                "--k",
                "2",
                "--out",
                &dir.s("m.json"),
                "--trace",
                &dir.s("sub"),
            ],
            "--trace",
        ),
        (
            vec![
                "anneal",
                "--data",
                &xs,
                "--k",
                "2",
                "--out",
                &dir.s("m.json"),
                "--trace",
                &dir.s("t.csv"),
                "--labels",
                &dir.s("./t.csv"),
            ],
            "the same file",
        ),
        (
            vec![
                "predict",
                "--model",
                &missing,
                "--data",
                &xs,
                "--out",
                &dir.s("sub"),
            ],
            "is a directory",
        ),
        (
            vec![
                "transform",
                "--model",
                &missing,
                "--data",
                &xs,
                "--sigma",
                "1",
                "--out",
                &dir.s("sub"),
            ],
            "is a directory",
        ),
        (
            vec![
                "objective",
                "--data",
                &xs,
                "--centers",
                &missing,
                "--sigma",
                "1",
                "--out",
                &dir.s("sub"),
            ],
            "is a directory",
        ),
        (
            vec!["reproduce", "--out", &dir.s("plain")],
            "not a directory",
        ),
    ] {
        refused(&dir, &args, needle, &keep);
    }
}

#[test]
fn a_walk_through_user_sees_what_was_written_and_clear_hints() {
    let dir = Dir::new("ud-hints");
    let x = data();
    write_npy_f64(&dir.path("x.npy"), &x, &format!("({N}, {D})"), false);
    let xs = dir.s("x.npy");
    let r = ok(&["fit", "--data", &xs, "--k", "4", "--out", &dir.s("m.json")]);
    assert!(
        r.stderr.contains("wrote") && r.stderr.contains("m.json"),
        "{}",
        r.stderr
    );
    let r = ok(&[
        "fit",
        "--data",
        &xs,
        "--k",
        "4",
        "--out",
        &dir.s("m.json"),
        "--quiet",
    ]);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    for (args, needle) in [
        (vec!["--init", "kmeans++"], "did you mean k-means++"),
        (vec!["--init", "kmeans"], "expected k-means++, random"),
    ] {
        let mut a = vec!["fit", "--data", &xs, "--k", "4", "--out", "unused.json"];
        a.extend(args);
        let r = run(&a);
        assert_eq!(r.code, 2);
        assert!(r.stderr.contains(needle), "{}", r.stderr);
    }
    let model = dir.s("m.json");
    for (args, needle) in [
        (vec!["--map", "entmax"], "map entmax needs alpha"),
        (
            vec!["--map", "entmax15", "--alpha", "1.5"],
            "applies only to map entmax",
        ),
        (
            vec!["--map", "softmax", "--alpha", "1.2"],
            "applies only to map entmax",
        ),
    ] {
        let mut a = vec![
            "transform",
            "--model",
            &model,
            "--data",
            &xs,
            "--sigma",
            "1",
            "--out",
            "unused.npy",
        ];
        a.extend(args);
        let r = run(&a);
        assert_eq!(r.code, 2, "{a:?}");
        assert!(
            r.stderr.contains("--alpha") && r.stderr.contains(needle),
            "{}",
            r.stderr
        );
    }
    // k above the number of distinct points: fitted, with a warning (as scikit-learn warns).
    let dup: Vec<f64> = (0..30).map(|i| (i % 2) as f64 + 1000.0).collect();
    write_npy_f64(&dir.path("dup.npy"), &dup, "(30, 1)", false);
    let r = ok(&[
        "fit",
        "--data",
        &dir.s("dup.npy"),
        "--k",
        "3",
        "--out",
        &dir.s("d.json"),
        "--quiet",
    ]);
    assert!(
        r.stderr
            .contains("2 distinct clusters found, fewer than k = 3"),
        "{}",
        r.stderr
    );
    // anneal takes sample weights; zero weights on half the rows change the result.
    let w: Vec<f64> = (0..N).map(|i| if i < N / 2 { 1.0 } else { 0.0 }).collect();
    let mut wb = npy_header("<f8", &format!("({N},)"), false);
    w.iter()
        .for_each(|v| wb.extend_from_slice(&v.to_le_bytes()));
    std::fs::write(dir.path("w.npy"), wb).unwrap();
    ok(&[
        "anneal",
        "--data",
        &xs,
        "--k",
        "4",
        "--weights",
        &dir.s("w.npy"),
        "--out",
        &dir.s("aw.json"),
        "--quiet",
    ]);
    ok(&[
        "anneal",
        "--data",
        &xs,
        "--k",
        "4",
        "--out",
        &dir.s("a.json"),
        "--quiet",
    ]);
    let (a, b) = (json(&dir.path("aw.json")), json(&dir.path("a.json")));
    assert_ne!(a["centers"], b["centers"]);
    assert_eq!(a["settings"]["weights"], dir.s("w.npy"));
    // The trace gives the discrepancy in data units and relative to the report's scale.
    ok(&[
        "anneal",
        "--data",
        &xs,
        "--k",
        "4",
        "--reference",
        "--sigma0",
        "median",
        "--out",
        &dir.s("a.json"),
        "--trace",
        &dir.s("t.csv"),
        "--quiet",
    ]);
    let t = std::fs::read_to_string(dir.path("t.csv")).unwrap();
    let head: Vec<&str> = t.lines().next().unwrap().split(',').collect();
    let (ia, ir) = (
        head.iter().position(|h| *h == "discrepancy").unwrap(),
        head.iter().position(|h| *h == "discrepancy_rel").unwrap(),
    );
    let scale = json(&dir.path("a.json"))["settings"]["reference"]["scale"]
        .as_f64()
        .unwrap();
    assert!(
        scale >= 1000.0 - 20.0,
        "scale {scale}: the largest |coordinate| of the centers"
    );
    for line in t.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (abs, rel): (f64, f64) = (f[ia].parse().unwrap(), f[ir].parse().unwrap());
        close(rel, abs / scale, 1e-12, 0.0, "discrepancy_rel");
    }
}

#[test]
fn objective_takes_a_model_file_as_centers() {
    let dir = Dir::new("ud-model-centers");
    let x = data();
    write_npy_f64(&dir.path("x.npy"), &x, &format!("({N}, {D})"), false);
    let xs = dir.s("x.npy");
    ok(&[
        "fit",
        "--data",
        &xs,
        "--k",
        "4",
        "--out",
        &dir.s("m.json"),
        "--quiet",
    ]);
    ok(&[
        "objective",
        "--data",
        &xs,
        "--centers",
        &dir.s("m.json"),
        "--sigma",
        "1e-3",
        "--out",
        &dir.s("o.json"),
        "--quiet",
    ]);
    let (m, o) = (json(&dir.path("m.json")), json(&dir.path("o.json")));
    close(
        o["J"].as_f64().unwrap(),
        m["inertia"].as_f64().unwrap(),
        1e-9,
        0.0,
        "J of the model's centers",
    );
    assert!(Path::new(&dir.s("o.json")).exists());
}
