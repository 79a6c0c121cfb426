//! `kmrbf reproduce`: the seed paper's experiments on built-in data, with a report.
//!
//! For every data set and seed: a k-means++ init, the K-Means fixed point from it, then from
//! the same init, for softmax / entmax15 / sparsemax, a sweep over sigma (every sigma trained
//! from the init), the warm-started annealing over the same grid (a soft start), the default
//! annealing (`sigma0 = auto`), the trajectory comparison, and deterministic annealing from
//! the critical temperature. Writes figures (PNG + SVG), tables, run.json and report.html.

mod certificate;
mod experiment;
pub(crate) mod figures;
pub(crate) mod report;

use crate::args::Global;
use crate::fail::{bad_input, internal, CliResult};
use experiment::Run;
use kmrbf::synth::Dataset;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Arguments of `reproduce`.
#[derive(clap::Args)]
pub struct ReproduceArgs {
    /// Directory to write (report.html, figures, table.csv/md, run.json).
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// Seeds (inits and synthetic draws) per data set.
    #[arg(long, default_value_t = 3)]
    pub seeds: usize,
    /// A smaller sigma grid (12 points instead of 18) for a fast check.
    #[arg(long)]
    pub quick: bool,
    /// Your data set (.npy or .csv) instead of the built-in ones (with --k): the
    /// experiments on a sample of its rows, and the equivalence on all of them.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Number of clusters of --data.
    #[arg(long)]
    pub k: Option<usize>,
    /// Rows of --data the sweeps and figures run on (a uniform sample when it has more).
    #[arg(long, default_value_t = 10_000)]
    pub sample: usize,
    /// Also deep clustering on builtin:digits (`kmrbf deep` with its defaults, 5 seeds,
    /// about 15 minutes on 2 cores; with --quick a small network and one seed, seconds):
    /// written to OUT/deep and summarized in report.html.
    #[cfg(feature = "deep")]
    #[arg(long)]
    pub deep: bool,
    /// The global flags (`--quiet`, `--isa`).
    #[arg(skip)]
    pub global: Global,
}

/// `n * d * k` up to which the whole-data certificate runs from every seed (beyond it, from
/// the first seed only: about a minute on 2 cores at 1M x 32, k = 64).
const CERTIFY_ALL_SEEDS: usize = 1_000_000_000;

/// A user's data set: the whole of it (centered, in its file's precision) for the
/// certificate, and a uniform sample of its rows (f64, the user's coordinates) for the
/// experiment's sweeps and figures.
struct UserData {
    name: String,
    full: crate::matrix::Centered,
    sample: Dataset,
}

impl UserData {
    fn load(path: &Path, k: usize, sample: usize) -> CliResult<Self> {
        let m = crate::files::load_matrix(path)?;
        if k < 2 || k > m.n {
            return Err(bad_input(format!(
                "--k = {k} is invalid: need 2 <= k <= the number of rows ({})",
                m.n
            )));
        }
        if sample < k {
            return Err(bad_input(format!(
                "--sample = {sample} is invalid: need at least k = {k} rows"
            )));
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("data")
            .to_string();
        let (n, d) = (m.n, m.d);
        let all = m.to_f64();
        let (x, label) = if n > sample {
            // A uniform sample without replacement (partial Fisher-Yates, fixed seed), rows
            // kept in file order.
            let mut rng = kmrbf::rng::Rng::new(0);
            let mut idx: Vec<usize> = (0..n).collect();
            for i in 0..sample {
                let j = i + rng.below(n - i);
                idx.swap(i, j);
            }
            let mut rows = idx[..sample].to_vec();
            rows.sort_unstable();
            let x: Vec<f64> = rows
                .iter()
                .flat_map(|&i| all[i * d..(i + 1) * d].iter().copied())
                .collect();
            (x, format!("{name} ({sample} of {n} rows)"))
        } else {
            (all, name.clone())
        };
        let rows = x.len() / d;
        Ok(Self {
            name,
            full: crate::matrix::Centered::new(m),
            sample: Dataset {
                name: label,
                x,
                n: rows,
                d,
                truth: Vec::new(),
                k,
            },
        })
    }
}

fn real_dataset(name: &str, k: usize) -> CliResult<Dataset> {
    let m = crate::files::load_matrix(Path::new(&format!("builtin:{name}")))?;
    let labels = crate::builtin::labels(name);
    Ok(Dataset {
        name: name.into(),
        x: m.to_f64(),
        n: m.n,
        d: m.d,
        truth: labels,
        k,
    })
}

/// Every data set of the reproduction for `seed` (the synthetic ones depend on it).
pub fn datasets(seed: u64) -> CliResult<Vec<Dataset>> {
    let mut v = kmrbf::synth::geometries(1000 + seed);
    v.push(real_dataset("iris", 3)?);
    v.push(real_dataset("digits", 10)?);
    Ok(v)
}

/// Runs `reproduce`.
pub fn reproduce(a: ReproduceArgs) -> CliResult<()> {
    if a.seeds == 0 {
        return Err(bad_input("--seeds = 0 is invalid: need at least one seed"));
    }
    let user = match (&a.data, a.k) {
        (Some(path), Some(k)) => Some(UserData::load(path, k, a.sample)?),
        (Some(_), None) => return Err(bad_input("--data needs --k (the number of clusters)")),
        (None, Some(_)) => return Err(bad_input("--k goes with --data")),
        (None, None) => None,
    };
    let start = std::time::Instant::now();
    let points = if a.quick { 12 } else { 18 };
    // Write into a sibling temporary directory first; move into place at the end.
    let parent = match a.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if a.out.exists() && !a.out.is_dir() {
        return Err(bad_input(format!(
            "--out {}: exists and is not a directory",
            a.out.display()
        )));
    }
    let name = a
        .out
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("report");
    if !parent.is_dir() {
        return Err(bad_input(format!(
            "--out {}: directory {} does not exist",
            a.out.display(),
            parent.display()
        )));
    }
    // Partial directories of earlier runs that were killed (SIGKILL) before cleaning up.
    let prefix = format!(".{name}.partial-");
    crate::interrupt::remove_stale(&parent, &prefix);
    let tmp = parent.join(format!("{prefix}{}", std::process::id()));
    crate::interrupt::register(&tmp);
    if let Err(e) = std::fs::create_dir_all(&tmp) {
        crate::interrupt::unregister(&tmp);
        return Err(bad_input(format!(
            "--out {}: cannot write there: {e}",
            a.out.display()
        )));
    }
    let result = (|| -> CliResult<()> {
        let mut jobs: Vec<(Dataset, u64)> = Vec::new();
        for s in 0..a.seeds as u64 {
            match &user {
                Some(u) => jobs.push((u.sample.clone(), s)),
                None => {
                    for ds in datasets(s)? {
                        jobs.push((ds, s));
                    }
                }
            }
        }
        let progress = crate::progress::Progress::new(a.global.quiet);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let total = jobs.len();
        let runs: Vec<Run> = jobs
            .par_iter()
            .map(|(ds, s)| {
                let r = experiment::run(a.global.isa, ds, *s, points);
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress.set(format!("{n}/{total} runs ({} seed {s})", ds.name));
                r
            })
            .collect();
        let extra = match &user {
            Some(u) => {
                let (n, d, k) = (u.full.m.n, u.full.m.d, u.sample.k);
                let cert_seeds = if n.saturating_mul(d).saturating_mul(k) <= CERTIFY_ALL_SEEDS {
                    a.seeds
                } else {
                    1
                };
                let mut certs = Vec::new();
                for s in 0..cert_seeds as u64 {
                    progress.set(format!("the whole data set ({n} rows), seed {s}"));
                    let c = certificate::certify(a.global.isa, &u.full, k, s, &experiment::MAPS)
                        .map_err(|e| crate::fail::lib_error(&u.name, e))?;
                    certs.extend(c);
                }
                Some(report::Extra {
                    title: format!("The equivalence on the whole data set ({n} rows x {d} columns, {})", certs.first().map_or("", |c| c.dtype.as_str())),
                    intro: format!(
                        "Computed on every row, in the precision of the file, from the k-means++ init of {}: Lloyd to its fixed point, and from the same init the annealing from <code>sigma0 = auto</code> for each map. A discrepancy of exactly 0 means the annealing ended on the same centers, bit for bit. The figures and the table above ran on {}.",
                        if cert_seeds == a.seeds { format!("each of the {cert_seeds} seed(s)") } else { format!("seed 0 only (n x d x k above {CERTIFY_ALL_SEEDS:.0e}; the other seeds ran on the sample)") },
                        if u.sample.n < n { format!("a uniform sample of {} of the {n} rows (in float64)", u.sample.n) } else { "all rows (in float64)".to_string() }
                    ),
                    table_md: certificate::table(&certs),
                    json: serde_json::to_value(&certs).map_err(|e| internal(e.to_string()))?,
                })
            }
            None => None,
        };
        progress.finish();
        let elapsed = start.elapsed().as_secs_f64();
        report::write_all(
            &tmp,
            &runs,
            a.seeds,
            a.quick,
            points,
            elapsed,
            extra.as_ref(),
        )
        .map_err(internal)?;
        Ok(())
    })();
    if let Err(e) = result {
        crate::interrupt::remove(&tmp);
        crate::interrupt::unregister(&tmp);
        return Err(e);
    }
    let moved = {
        let mut guard = crate::interrupt::hold();
        let moved = move_into_place(&tmp, &a.out);
        if moved.is_err() {
            crate::interrupt::remove(&tmp);
        }
        guard.retain(|p| p != &tmp);
        moved
    };
    moved?;
    #[cfg(feature = "deep")]
    if a.deep {
        deep_section(&a)?;
    }
    if !a.global.quiet {
        eprintln!(
            "kmrbf reproduce: {} seeds in {:.1} s; wrote {}",
            a.seeds,
            start.elapsed().as_secs_f64(),
            a.out.join("report.html").display()
        );
    }
    Ok(())
}

/// `kmrbf deep` on builtin:digits with its defaults and 5 seeds into `OUT/deep`, and a
/// section of report.html with its scores and a link.
#[cfg(feature = "deep")]
fn deep_section(a: &ReproduceArgs) -> CliResult<()> {
    use clap::{Args, FromArgMatches};
    let out = a.out.join("deep");
    let mut argv = vec![
        "deep",
        "--data",
        "builtin:digits",
        "--k",
        "10",
        "--out",
        out.to_str()
            .ok_or_else(|| bad_input("--out: not valid UTF-8"))?,
    ];
    // --quick: a small network and one seed, a check of the path rather than the result.
    argv.extend(if a.quick {
        &[
            "--seeds",
            "1",
            "--hidden",
            "64",
            "--pretrain-epochs",
            "20",
            "--epochs",
            "5",
        ][..]
    } else {
        &["--seeds", "5"][..]
    });
    let m = crate::deep::DeepArgs::augment_args(clap::Command::new("deep"))
        .try_get_matches_from(&argv)
        .map_err(|e| internal(e.to_string()))?;
    let mut args =
        crate::deep::DeepArgs::from_arg_matches(&m).map_err(|e| internal(e.to_string()))?;
    args.global = a.global;
    crate::deep::deep(args)?;
    let metrics: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("metrics.json")).map_err(|e| internal(e.to_string()))?,
    )
    .map_err(|e| internal(e.to_string()))?;
    let mut rows = String::new();
    if let Some(summary) = metrics["summary"].as_object() {
        for (name, v) in summary {
            let cell = |key: &str| {
                format!(
                    "{:.3} ± {:.3}",
                    v[key]["mean"].as_f64().unwrap_or(f64::NAN),
                    v[key]["std"].as_f64().unwrap_or(f64::NAN)
                )
            };
            rows.push_str(&format!(
                "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                cell("acc"),
                cell("nmi"),
                cell("ari")
            ));
        }
    }
    let section = format!(
        "<h2>Deep clustering on digits</h2><p>An autoencoder trained jointly with the RBF head (entmax15, annealed; centers by closed-form soft-lloyd steps), {} seed(s){}, beside K-Means on the pixels and the two-stage autoencoder + K-Means (<a href=\"deep/report.html\">full report</a>, <code>kmrbf {}</code>):</p><table><tr><th>method</th><th>ACC</th><th>NMI</th><th>ARI</th></tr>\n{rows}</table>\n",
        if a.quick { 1 } else { 5 },
        if a.quick { " (--quick: a small network, a check of the path, not the result)" } else { "" },
        argv.join(" ")
    );
    let report = a.out.join("report.html");
    let html = std::fs::read_to_string(&report).map_err(|e| internal(e.to_string()))?;
    let html = match html.rfind("</body>") {
        Some(i) => format!("{}{section}{}", &html[..i], &html[i..]),
        None => html + &section,
    };
    crate::deep::write_file(&report, html.as_bytes())
}

fn move_into_place(tmp: &Path, out: &Path) -> CliResult<()> {
    let fail =
        |e: std::io::Error| bad_input(format!("--out {}: cannot write there: {e}", out.display()));
    if !out.exists() {
        std::fs::rename(tmp, out).map_err(fail)?;
        return Ok(());
    }
    for entry in std::fs::read_dir(tmp).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        std::fs::rename(entry.path(), out.join(entry.file_name())).map_err(fail)?;
    }
    std::fs::remove_dir_all(tmp).map_err(fail)
}
