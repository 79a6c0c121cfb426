//! `metrics.json`, the figures and `report.html` of `kmrbf deep`.

use super::{write_file, DeepArgs, SeedRun};
use crate::fail::{internal, CliResult};
use crate::reproduce::figures::{save, Panel, Series, PALETTE};
use crate::reproduce::report::mean_std;
use kmrbf_burn::deep::Scores;
use std::fmt::Write;

/// The three methods' scores over seeds: `(name, [(acc, nmi, ari)] per seed)`.
fn methods(runs: &[SeedRun]) -> Vec<(&'static str, Vec<Scores>)> {
    let collect = |f: &dyn Fn(&SeedRun) -> Option<Scores>| runs.iter().filter_map(f).collect();
    vec![
        ("K-Means on the input", collect(&|r| r.kmeans)),
        (
            "autoencoder + K-Means",
            collect(&|r| r.fit.state.two_stage.flatten()),
        ),
        ("deep (joint RBF head)", collect(&|r| r.deep)),
    ]
}

/// One line per method: mean ± spread of ACC, NMI, ARI.
pub fn summary(runs: &[SeedRun]) -> String {
    let mut s = String::new();
    for (name, v) in methods(runs) {
        if v.is_empty() {
            continue;
        }
        let (a, sa) = mean_std(&v.iter().map(|x| x.acc).collect::<Vec<_>>());
        let (n, sn) = mean_std(&v.iter().map(|x| x.nmi).collect::<Vec<_>>());
        let (r, sr) = mean_std(&v.iter().map(|x| x.ari).collect::<Vec<_>>());
        let _ = writeln!(
            s,
            "{name:24} ACC {a:.3} ± {sa:.3}  NMI {n:.3} ± {sn:.3}  ARI {r:.3} ± {sr:.3}"
        );
    }
    s.trim_end().to_string()
}

fn scores_json(s: Option<Scores>) -> serde_json::Value {
    match s {
        Some(s) => serde_json::json!({"acc": s.acc, "nmi": s.nmi, "ari": s.ari}),
        None => serde_json::Value::Null,
    }
}

/// Points in a plane.
type Points = Vec<(f64, f64)>;

/// The two leading principal directions of `z` (`n x e`) by power iteration on the
/// covariance (f64), and the projection of `z` and `c` onto them.
fn pca2(z: &[f32], c: &[f32], n: usize, e: usize) -> (Points, Points) {
    let mean: Vec<f64> = (0..e)
        .map(|j| (0..n).map(|i| z[i * e + j] as f64).sum::<f64>() / n as f64)
        .collect();
    let mut cov = vec![0f64; e * e];
    for i in 0..n {
        for a in 0..e {
            let va = z[i * e + a] as f64 - mean[a];
            for b in 0..e {
                cov[a * e + b] += va * (z[i * e + b] as f64 - mean[b]);
            }
        }
    }
    let mut dirs: Vec<Vec<f64>> = Vec::new();
    for t in 0..2.min(e) {
        let mut v: Vec<f64> = (0..e).map(|j| 1.0 + (j + t) as f64 * 0.1).collect();
        for _ in 0..200 {
            let mut w: Vec<f64> = (0..e)
                .map(|a| (0..e).map(|b| cov[a * e + b] * v[b]).sum())
                .collect();
            for u in &dirs {
                let dot: f64 = w.iter().zip(u).map(|(x, y)| x * y).sum();
                for j in 0..e {
                    w[j] -= dot * u[j];
                }
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            v = w.iter().map(|x| x / norm).collect();
        }
        dirs.push(v);
    }
    let project = |row: &[f32]| -> (f64, f64) {
        let p = |u: &Vec<f64>| -> f64 {
            row.iter()
                .zip(u)
                .zip(&mean)
                .map(|((x, y), m)| (*x as f64 - m) * y)
                .sum()
        };
        (
            dirs.first().map(p).unwrap_or(0.0),
            dirs.get(1).map(p).unwrap_or(0.0),
        )
    };
    let k = c.len() / e.max(1);
    (
        (0..n).map(|i| project(&z[i * e..(i + 1) * e])).collect(),
        (0..k).map(|j| project(&c[j * e..(j + 1) * e])).collect(),
    )
}

fn figures(a: &DeepArgs, runs: &[SeedRun]) -> Result<Vec<(String, String)>, String> {
    let first = &runs[0];
    let hist = &first.fit.state.history;
    let mut losses = Panel::new(
        "Training losses (first seed)",
        "epoch",
        "per batch",
        false,
        true,
    );
    losses.series.push(Series {
        name: "reconstruction (MSE)".into(),
        color: PALETTE[0],
        points: hist
            .iter()
            .map(|r| (r.epoch as f64, r.reconstruction))
            .collect(),
        dashed: false,
    });
    let head: Vec<(f64, f64)> = hist
        .iter()
        .filter_map(|r| r.head.map(|h| (r.epoch as f64, h.abs())))
        .collect();
    if !head.is_empty() {
        losses.series.push(Series {
            name: format!(
                "|head objective| per row ({})",
                a.loss.name().to_uppercase()
            ),
            color: PALETTE[1],
            points: head,
            dashed: false,
        });
    }
    let mut quality = Panel::new(
        "ACC and NMI per joint epoch",
        "epoch",
        "score",
        false,
        false,
    );
    for (i, r) in runs.iter().enumerate() {
        let h = &r.fit.state.history;
        let acc: Vec<(f64, f64)> = h
            .iter()
            .filter_map(|x| x.acc.map(|v| (x.epoch as f64, v)))
            .collect();
        if acc.is_empty() {
            continue;
        }
        quality.series.push(Series {
            name: format!("ACC seed {}", r.seed),
            color: PALETTE[i % PALETTE.len()],
            points: acc,
            dashed: false,
        });
        quality.series.push(Series {
            name: format!("NMI seed {}", r.seed),
            color: PALETTE[i % PALETTE.len()],
            points: h
                .iter()
                .filter_map(|x| x.nmi.map(|v| (x.epoch as f64, v)))
                .collect(),
            dashed: true,
        });
    }
    let mut temp = Panel::new(
        "Temperature (sigma) per joint epoch",
        "epoch",
        "sigma",
        false,
        true,
    );
    temp.series.push(Series {
        name: "sigma".into(),
        color: PALETTE[2],
        points: hist
            .iter()
            .filter_map(|r| r.sigma.map(|s| (r.epoch as f64, s)))
            .collect(),
        dashed: false,
    });
    let n = first.fit.labels.len();
    let e = first.fit.embedding.len() / n.max(1);
    let (pts, cts) = pca2(&first.fit.embedding, &first.fit.centers, n, e);
    let mut pca = Panel::new(
        "Embedding, first two principal components (first seed)",
        "PC 1",
        "PC 2",
        false,
        false,
    );
    pca.dots = pts
        .iter()
        .zip(&first.fit.labels)
        .map(|(p, l)| (p.0, p.1, PALETTE[*l as usize % PALETTE.len()]))
        .collect();
    pca.crosses = cts;
    let mut panels = vec![losses];
    if !quality.series.is_empty() {
        panels.push(quality);
    }
    panels.push(temp);
    save(&a.out, "training", "kmrbf deep: training", &panels, 3)?;
    save(&a.out, "embedding", "kmrbf deep: embedding", &[pca], 1)?;
    Ok(vec![
        ("training".into(), "Losses, scores and temperature per epoch.".into()),
        (
            "embedding".into(),
            "The final embedding projected on its two leading principal directions, coloured by cluster (colours repeat after 10); crosses: the centers.".into(),
        ),
    ])
}

/// Writes `metrics.json`, the figures and `report.html` into `--out`.
pub fn write(a: &DeepArgs, runs: &[SeedRun], n: usize, d: usize, seconds: f64) -> CliResult<()> {
    let seeds: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "seed": r.seed,
                "seconds": r.seconds,
                "kmeans_on_input": scores_json(r.kmeans),
                "autoencoder_kmeans": scores_json(r.fit.state.two_stage.flatten()),
                "deep": scores_json(r.deep),
                "schedule": r.fit.state.schedule,
                "history": r.fit.state.history,
            })
        })
        .collect();
    let mut summary = serde_json::Map::new();
    for (name, v) in methods(runs) {
        if v.is_empty() {
            continue;
        }
        let field = |f: fn(&Scores) -> f64| {
            let (m, s) = mean_std(&v.iter().map(f).collect::<Vec<_>>());
            serde_json::json!({"mean": m, "std": s})
        };
        summary.insert(
            name.into(),
            serde_json::json!({"acc": field(|s| s.acc), "nmi": field(|s| s.nmi), "ari": field(|s| s.ari)}),
        );
    }
    let json = serde_json::json!({
        "data": a.data.display().to_string(),
        "n": n,
        "d": d,
        "k": a.k,
        "params": runs[0].fit.state.params,
        "seconds": seconds,
        "summary": summary,
        "seeds": seeds,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| internal(e.to_string()))?;
    write_file(&a.out.join("metrics.json"), text.as_bytes())?;
    let figs = figures(a, runs).map_err(|e| internal(format!("figures: {e}")))?;
    let html = html(a, runs, n, d, seconds, &figs);
    write_file(&a.out.join("report.html"), html.as_bytes())
}

fn html(
    a: &DeepArgs,
    runs: &[SeedRun],
    n: usize,
    d: usize,
    seconds: f64,
    figs: &[(String, String)],
) -> String {
    let p = &runs[0].fit.state.params;
    let mut h = String::from("<!doctype html><html><head><meta charset=\"utf-8\"><title>kmrbf deep</title><style>body{font-family:sans-serif;max-width:1300px;margin:auto;padding:1em;color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #bbb;padding:3px 8px}th{background:#eee}img{max-width:100%}</style></head><body>\n");
    let _ = writeln!(h, "<h1>Deep clustering with the RBF head</h1>");
    let _ = writeln!(
        h,
        "<p>kmrbf {} · <code>{}</code>: {n} rows × {d} columns, k = {} · {} seed(s) · {seconds:.1} s.</p>",
        env!("CARGO_PKG_VERSION"),
        a.data.display(),
        a.k,
        runs.len()
    );
    let _ = writeln!(h, "<p>An autoencoder ({} → {} → {}, ReLU) is pretrained on the reconstruction error for {} epochs; K-Means (k-means++, 10 restarts) on its embedding gives the initial centers (scored alone: the two-stage baseline). Then, for {} epochs, the encoder trains on reconstruction + {} × {} of the RBF head ({} responsibilities) per row, the temperature falls epoch by epoch, and after each epoch the centers take one closed-form soft-lloyd step on the whole embedding (the gradient step 1/(2 N<sub>k</sub>) on F, which is Lloyd's step in the zero-temperature limit). Labels: nearest final center. K-Means on the input uses the same scaled input and seed.</p>",
        d,
        p.hidden.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(" → "),
        p.embedding,
        p.pretrain_epochs,
        p.epochs,
        p.lambda,
        a.loss.name().to_uppercase(),
        a.map.name());
    let m = methods(runs);
    if m.iter().any(|(_, v)| !v.is_empty()) {
        h.push_str("<h2>Scores (mean ± standard deviation over seeds)</h2><table><tr><th>method</th><th>ACC</th><th>NMI</th><th>ARI</th></tr>\n");
        for (name, v) in &m {
            if v.is_empty() {
                continue;
            }
            let cell = |f: fn(&Scores) -> f64| {
                let (mu, sd) = mean_std(&v.iter().map(f).collect::<Vec<_>>());
                format!("{mu:.3} ± {sd:.3}")
            };
            let _ = writeln!(
                h,
                "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                cell(|s| s.acc),
                cell(|s| s.nmi),
                cell(|s| s.ari)
            );
        }
        h.push_str("</table>\n<h2>Per seed</h2><table><tr><th>seed</th><th>K-Means ACC / NMI</th><th>autoencoder + K-Means ACC / NMI</th><th>deep ACC / NMI / ARI</th><th>seconds</th></tr>\n");
        for r in runs {
            let f = |s: Option<Scores>| {
                s.map(|s| format!("{:.3} / {:.3}", s.acc, s.nmi))
                    .unwrap_or_default()
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
                r.seed,
                f(r.kmeans),
                f(r.fit.state.two_stage.flatten()),
                r.deep
                    .map(|s| format!("{:.3} / {:.3} / {:.3}", s.acc, s.nmi, s.ari))
                    .unwrap_or_default(),
                r.seconds
            );
        }
        h.push_str("</table>\n");
    } else {
        h.push_str(
            "<p>No true labels: scores are not computed (give <code>--true-labels</code>).</p>\n",
        );
    }
    for (stem, caption) in figs {
        let _ = writeln!(
            h,
            "<h2>{caption}</h2><p><img src=\"{stem}.svg\" alt=\"{stem}\"></p>"
        );
    }
    let _ = writeln!(h, "<p>Files: <code>metrics.json</code> (scores, per-epoch history, schedules), per seed <code>labels.npy</code>, <code>embedding.npy</code>, <code>centers.npy</code>, <code>model.bpk</code> (burn record) and <code>checkpoint/</code> (continue with <code>--resume</code>).</p></body></html>");
    h
}
