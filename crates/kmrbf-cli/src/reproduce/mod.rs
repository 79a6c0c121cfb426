//! `kmrbf reproduce`: the seed paper's experiments on built-in data, with a report.
//!
//! For every data set and seed: a k-means++ init, the K-Means fixed point from it, then from
//! the same init, for softmax / entmax15 / sparsemax, a sweep over sigma (every sigma trained
//! from the init), the warm-started annealing over the same grid (a soft start), the default
//! annealing (`sigma0 = auto`), the trajectory comparison, and deterministic annealing from
//! the critical temperature. Writes figures (PNG + SVG), tables, run.json and report.html.

mod experiment;
mod figures;
mod report;

use crate::fail::{bad_input, internal, CliResult};
use experiment::Run;
use kmrbf::synth::Dataset;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Arguments of `reproduce`.
pub struct ReproduceArgs {
    pub out: PathBuf,
    pub seeds: usize,
    pub quick: bool,
    pub quiet: bool,
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
            for ds in datasets(s)? {
                jobs.push((ds, s));
            }
        }
        let progress = crate::progress::Progress::new(a.quiet);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let total = jobs.len();
        let runs: Vec<Run> = jobs
            .par_iter()
            .map(|(ds, s)| {
                let r = experiment::run(ds, *s, points);
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress.set(format!("{n}/{total} runs ({} seed {s})", ds.name));
                r
            })
            .collect();
        progress.finish();
        let elapsed = start.elapsed().as_secs_f64();
        report::write_all(&tmp, &runs, a.seeds, a.quick, points, elapsed).map_err(internal)?;
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
    if !a.quiet {
        eprintln!(
            "kmrbf reproduce: {} seeds in {:.1} s; wrote {}",
            a.seeds,
            start.elapsed().as_secs_f64(),
            a.out.join("report.html").display()
        );
    }
    Ok(())
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
