//! `kmrbf fit` and `kmrbf predict`.

use crate::args::{AlgorithmArg, Global};
use crate::fail::{about_weights, bad_input, lib_error, weights_flag, CliError, CliResult};
use crate::files::{load_matrix, load_weights};
use crate::matrix::{Centered, UserCenters, Values};
use crate::model_file::{rows_of, ModelFile};
use crate::npy;
use crate::outputs::{list, Outputs};
use crate::progress::Progress;
use kmrbf::kmeans::MiniBatchParams;
use kmrbf::{Algorithm, Init, KMeansParams, MatView, Real};
use std::path::{Path, PathBuf};

/// The `--init` of `fit` and `anneal`.
pub enum InitArg {
    /// Greedy k-means++.
    KMeansPlusPlus,
    /// k distinct random rows.
    Random,
    /// A `.npy` / `.csv` file of `k x d` centers (or `builtin:`).
    File(PathBuf),
}

impl InitArg {
    /// Parses `--init`: `k-means++`, `random`, or a path ending in `.npy`, `.csv` or `.txt`.
    pub fn parse(s: &str) -> CliResult<Self> {
        match s {
            "k-means++" => return Ok(Self::KMeansPlusPlus),
            "random" => return Ok(Self::Random),
            _ => {}
        }
        let ext = Path::new(s)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("npy" | "csv" | "txt")) || s.starts_with("builtin:") {
            return Ok(Self::File(PathBuf::from(s)));
        }
        let squashed: String = s
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
            .collect();
        let hint = if squashed.starts_with("kmeans") || squashed.contains("++") {
            " (did you mean k-means++?)"
        } else {
            ""
        };
        Err(bad_input(format!(
            "--init {s} is invalid: expected k-means++, random, or a .npy / .csv file of k x d centers{hint}"
        )))
    }

    /// The initial centers read from the file, checked to be `k x d`.
    pub fn centers(&self, k: usize, d: usize) -> CliResult<Option<UserCenters>> {
        let Self::File(path) = self else {
            return Ok(None);
        };
        let c = load_matrix(path).map_err(|e| CliError {
            msg: format!("--init {}", e.msg),
            ..e
        })?;
        if c.n != k || c.d != d {
            return Err(bad_input(format!(
                "--init {}: expected centers of shape {k} x {d} (k x columns of the data), got {} x {}",
                path.display(),
                c.n,
                c.d
            )));
        }
        Ok(Some(UserCenters::from_matrix(&c)))
    }

    /// The library's init for data `cd`, with the given centers moved into its coordinates.
    pub fn to_init<T: Real>(&self, cd: &Centered, given: Option<&UserCenters>) -> Init<T> {
        match (self, given) {
            (_, Some(c)) => Init::Centers(cd.working(c)),
            (Self::Random, None) => Init::Random,
            _ => Init::KMeansPlusPlus,
        }
    }
}

/// Arguments of `fit`.
#[derive(clap::Args)]
pub struct FitArgs {
    /// Data: a .npy (2-D f32/f64/int) or .csv file, or builtin:iris / builtin:digits.
    #[arg(long)]
    pub data: PathBuf,
    /// Number of clusters.
    #[arg(long)]
    pub k: usize,
    /// k-means++, random, or a .npy/.csv file of k x d initial centers.
    #[arg(long, default_value = "k-means++")]
    pub init: String,
    /// Restarts (default: 1 for k-means++ and given centers, 10 for random).
    #[arg(long)]
    pub n_init: Option<usize>,
    /// Seed of the initialization.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Iteration cap per restart.
    #[arg(long, default_value_t = 300)]
    pub max_iter: usize,
    /// Relative tolerance on the center shift (times the mean feature variance); default 1e-4,
    /// and 0 (off) with --mini-batch, as scikit-learn.
    #[arg(long, allow_negative_numbers = true)]
    pub tol: Option<f64>,
    /// The K-Means algorithm (all give the same centers).
    #[arg(long, value_enum, default_value = "auto")]
    pub algorithm: AlgorithmArg,
    /// 1-D .npy of per-row sample weights (>= 0).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Model file to write (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Labels of the training rows to write (int64 .npy).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Read a .npy from disk in blocks of about this many rows (rounded up to a whole number
    /// of the kernel's chunks) instead of loading it: for data larger than memory. Same
    /// results as in memory from the same --init file; k-means++ / random seed from a uniform
    /// sample (--init-sample) and run one restart. `auto`: blocks of about 1.5 MiB per thread.
    /// Default: stream (auto) only a file larger than half the available memory.
    #[arg(long)]
    pub block_rows: Option<crate::stream::BlockRows>,
    /// Rows of the uniform sample that k-means++ / random seed from when streaming.
    #[arg(long, default_value_t = 100_000)]
    pub init_sample: usize,
    /// Mini-batch K-Means with batches of this many rows (scikit-learn's MiniBatchKMeans:
    /// per-center learning rates, reassignment of light centers, early stopping on the smoothed
    /// batch inertia); --max-iter then caps the passes over the data. On a streamed .npy the
    /// batches' rows are read where they lie in the file: the in-memory fit's bits.
    #[arg(long)]
    pub mini_batch: Option<usize>,
    /// With --mini-batch: centers lighter than this fraction of the heaviest move to random
    /// rows of the batch.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub reassignment_ratio: f64,
    /// With --mini-batch: stop after this many batches without a new minimum of the smoothed
    /// batch inertia (0: never).
    #[arg(long, default_value_t = 10)]
    pub max_no_improvement: usize,
    /// The global flags (`--quiet`, `--isa`).
    #[arg(skip)]
    pub global: Global,
}

impl FitArgs {
    /// The relative tolerance: as given, else 1e-4 (0 with --mini-batch).
    fn tol(&self) -> f64 {
        self.tol
            .unwrap_or(if self.mini_batch.is_some() { 0.0 } else { 1e-4 })
    }
}

/// Arguments of `predict`.
#[derive(clap::Args)]
pub struct PredictArgs {
    /// Model file written by `fit` or `anneal`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data: .npy or .csv with the model's number of columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Labels to write (int64 .npy).
    #[arg(long)]
    pub out: PathBuf,
    /// Read a .npy from disk in blocks of about this many rows and write the labels as they
    /// come (for data larger than memory; the same labels); or `auto`. Default: stream
    /// (auto) only a file larger than half the available memory.
    #[arg(long)]
    pub block_rows: Option<crate::stream::BlockRows>,
    /// The global flags (`--quiet`, `--isa`).
    #[arg(skip)]
    pub global: Global,
}

/// What a fit produced, for the files and the summary line.
struct Fitted {
    model: Vec<u8>,
    labels: Vec<u32>,
    n_iter: usize,
    inertia: f64,
    dtype: &'static str,
}

/// Warns (stderr) when fewer distinct labels than `k` came out, as scikit-learn does.
pub fn warn_distinct(cmd: &str, labels: &[u32], k: usize) {
    let mut seen = vec![false; k];
    for &l in labels {
        if let Some(s) = seen.get_mut(l as usize) {
            *s = true;
        }
    }
    let m = seen.iter().filter(|&&s| s).count();
    if m < k {
        eprintln!(
            "kmrbf {cmd}: warning: {m} distinct clusters found, fewer than k = {k} (the data may hold fewer than k distinct points); {} centers own no row",
            k - m
        );
    }
}

/// Runs `fit`.
pub fn fit(a: FitArgs) -> CliResult<()> {
    let mut outs = Outputs::new();
    let out_model = outs.reserve("--out", &a.out)?;
    let out_labels = outs.reserve_opt("--labels", a.labels.as_deref())?;
    let algorithm: Algorithm = a
        .algorithm
        .name()
        .parse()
        .map_err(|e| lib_error("--algorithm", e))?;
    let init = InitArg::parse(&a.init)?;
    if a.k == 0 {
        return Err(bad_input("--k = 0 is invalid: need at least one cluster"));
    }
    if a.mini_batch == Some(0) {
        return Err(bad_input(
            "--mini-batch = 0 is invalid: need at least one row per batch",
        ));
    }
    if let Some(s) = crate::stream::should_stream(&a.data, a.block_rows)? {
        return fit_streamed(&a, outs, out_model, out_labels, &init, s);
    }
    let cd = Centered::new(load_matrix(&a.data)?);
    let weights = a.weights.as_deref().map(load_weights).transpose()?;
    let given = init.centers(a.k, cd.m.d)?;
    let progress = Progress::new(a.global.quiet);
    let f = match &cd.m.values {
        Values::F32(x) => run_fit::<f32>(&a, &cd, x, weights, &init, given, algorithm, &progress)?,
        Values::F64(x) => run_fit::<f64>(&a, &cd, x, weights, &init, given, algorithm, &progress)?,
    };
    progress.finish();
    warn_distinct("fit", &f.labels, a.k);
    outs.put(out_model, f.model);
    if let Some(id) = out_labels {
        outs.put(id, npy::encode_labels(&f.labels));
    }
    let written = outs.commit()?;
    if !a.global.quiet {
        eprintln!(
            "kmrbf fit: k = {} on {} rows x {} columns ({}): {} iterations, inertia {:.6e}; wrote {}",
            a.k,
            cd.m.n,
            cd.m.d,
            f.dtype,
            f.n_iter,
            f.inertia,
            list(&written)
        );
    }
    Ok(())
}

/// `fit` on a `.npy` streamed in blocks (`stream.rs`).
fn fit_streamed(
    a: &FitArgs,
    mut outs: Outputs,
    out_model: crate::outputs::OutId,
    out_labels: Option<crate::outputs::OutId>,
    init: &InitArg,
    mut s: crate::stream::RowStream,
) -> CliResult<()> {
    if a.mini_batch.is_none() && a.n_init.is_some_and(|m| m > 1) {
        return Err(bad_input(
            "--n-init: a streamed fit runs one restart (omit --n-init or give 1)",
        ));
    }
    let weights = a.weights.as_deref().map(load_weights).transpose()?;
    let given = init.centers(a.k, s.d)?;
    let progress = Progress::new(a.global.quiet);
    let st = crate::stream::StreamSettings {
        k: a.k,
        given: given.as_ref(),
        random: matches!(init, InitArg::Random),
        seed: a.seed,
        max_iter: a.max_iter,
        tol: a.tol(),
        weights: weights.as_deref(),
        block_rows: a.block_rows.and_then(|b| b.rows()),
        sample_rows: a.init_sample,
        isa: a.global.isa,
    };
    if !(a.tol().is_finite() && a.tol() >= 0.0) {
        return Err(bad_input(format!(
            "--tol = {} is invalid: must be finite and >= 0",
            a.tol()
        )));
    }
    if a.max_iter == 0 {
        return Err(bad_input("--max-iter = 0 is invalid: must be >= 1"));
    }
    let t0 = std::time::Instant::now();
    let (n, d) = (s.n, s.d);
    let (file, labels, n_iter, inertia, dtype) = match (s.is_f32(), a.mini_batch) {
        (true, None) => {
            let r = crate::stream::fit::<f32>(&mut s, &st, &progress)?;
            let f = streamed_model(a, &r, n, d, f32::NAME, t0);
            (f, r.labels, r.n_iter, r.inertia, f32::NAME)
        }
        (false, None) => {
            let r = crate::stream::fit::<f64>(&mut s, &st, &progress)?;
            let f = streamed_model(a, &r, n, d, f64::NAME, t0);
            (f, r.labels, r.n_iter, r.inertia, f64::NAME)
        }
        (true, Some(b)) => streamed_minibatch::<f32>(a, &s, &st, b, t0, &progress)?,
        (false, Some(b)) => streamed_minibatch::<f64>(a, &s, &st, b, t0, &progress)?,
    };
    progress.finish();
    warn_distinct("fit", &labels, a.k);
    outs.put(out_model, file.to_bytes());
    if let Some(id) = out_labels {
        outs.put(id, npy::encode_labels(&labels));
    }
    let written = outs.commit()?;
    if !a.global.quiet {
        eprintln!(
            "kmrbf fit: k = {} on {n} rows x {d} columns ({dtype}, streamed): {n_iter} iterations, inertia {inertia:.6e}; wrote {}",
            a.k,
            list(&written)
        );
    }
    Ok(())
}

/// `fit --mini-batch` on the streamed file: the model, labels, passes, J and precision.
fn streamed_minibatch<T: Real>(
    a: &FitArgs,
    s: &crate::stream::RowStream,
    st: &crate::stream::StreamSettings<'_>,
    batch: usize,
    t0: std::time::Instant,
    progress: &Progress,
) -> CliResult<(ModelFile, Vec<u32>, usize, f64, &'static str)> {
    let p = minibatch_params::<T>(a, batch);
    let r = crate::stream_minibatch::fit::<T>(s, st, p, |e| fit_error(a, e), progress)?;
    let f = &r.fit;
    let streamed = serde_json::json!({ "block_rows": f.block_rows });
    let file = minibatch_model::<T>(
        a,
        (s.n, s.d),
        &f.centers,
        f.inertia,
        (f.n_iter, r.n_steps),
        batch,
        t0,
        Some(streamed),
    );
    Ok((file, r.fit.labels, r.fit.n_iter, r.fit.inertia, T::NAME))
}

/// The mini-batch settings of `fit --mini-batch B` but the init.
fn minibatch_params<T: Real>(a: &FitArgs, batch: usize) -> MiniBatchParams<T> {
    let mut p = MiniBatchParams::<T>::new(a.k).isa(a.global.isa);
    p.n_init = a.n_init;
    p.max_iter = a.max_iter;
    p.batch_size = batch;
    p.tol = a.tol();
    p.max_no_improvement = (a.max_no_improvement > 0).then_some(a.max_no_improvement);
    p.reassignment_ratio = a.reassignment_ratio;
    p.seed = a.seed;
    p
}

/// The model file of `fit --mini-batch`: `centers` in the user's coordinates, J, the passes and
/// batches (`steps`), and with `streamed` how the file was read.
#[allow(clippy::too_many_arguments)]
fn minibatch_model<T: Real>(
    a: &FitArgs,
    (n, d): (usize, usize),
    centers: &[f64],
    inertia: f64,
    (n_iter, steps): (usize, usize),
    batch: usize,
    t0: std::time::Instant,
    streamed: Option<serde_json::Value>,
) -> ModelFile {
    let mut settings = serde_json::json!({
        "command": "fit",
        "data": a.data.display().to_string(),
        "n": n,
        "init": a.init,
        "seed": a.seed,
        "max_iter": a.max_iter,
        "tol": a.tol(),
        "algorithm": "mini-batch",
        "weights": a.weights.as_ref().map(|p| p.display().to_string()),
        "threads": rayon::current_num_threads(),
        "mini_batch": {
            "batch_size": batch.min(n),
            "n_steps": steps,
            "reassignment_ratio": a.reassignment_ratio,
            "max_no_improvement": a.max_no_improvement,
            "seconds": t0.elapsed().as_secs_f64(),
        },
    });
    if let Some(v) = streamed {
        settings["streamed"] = v;
    }
    ModelFile {
        format: "kmrbf-model".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        k: a.k,
        d,
        dtype: T::NAME.into(),
        centers: rows_of(centers, d),
        inertia,
        n_iter,
        settings,
    }
}

fn streamed_model<T: Real>(
    a: &FitArgs,
    r: &crate::stream::Streamed<T>,
    n: usize,
    d: usize,
    dtype: &str,
    t0: std::time::Instant,
) -> ModelFile {
    ModelFile {
        format: "kmrbf-model".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        k: a.k,
        d,
        dtype: dtype.into(),
        centers: rows_of(&r.centers, d),
        inertia: r.inertia,
        n_iter: r.n_iter,
        settings: serde_json::json!({
            "command": "fit",
            "data": a.data.display().to_string(),
            "n": n,
            "init": a.init,
            "n_init": 1,
            "seed": a.seed,
            "max_iter": a.max_iter,
            "tol": a.tol(),
            "algorithm": "lloyd",
            "weights": a.weights.as_ref().map(|p| p.display().to_string()),
            "threads": rayon::current_num_threads(),
            "streamed": {
                "block_rows": r.block_rows,
                "init_sample_rows": r.sample_rows,
                "seconds": t0.elapsed().as_secs_f64(),
            },
        }),
    }
}

/// The library error of a fit, with the flag or file it is about.
fn fit_error(a: &FitArgs, e: kmrbf::Error) -> CliError {
    let what = match &e {
        e if about_weights(e) => weights_flag(a.weights.as_deref()),
        kmrbf::Error::BadK { .. } => "--k".to_string(),
        kmrbf::Error::BadParam {
            name: "batch_size", ..
        } => "--mini-batch".to_string(),
        kmrbf::Error::BadParam { name, .. } => format!("--{}", name.replace('_', "-")),
        kmrbf::Error::InitShape { .. } => format!("--init {}", a.init),
        _ => a.data.display().to_string(),
    };
    lib_error(&what, e)
}

#[allow(clippy::too_many_arguments)]
fn run_fit<T: Real>(
    a: &FitArgs,
    cd: &Centered,
    x: &[T],
    weights: Option<Vec<f64>>,
    init: &InitArg,
    given: Option<UserCenters>,
    algorithm: Algorithm,
    progress: &Progress,
) -> CliResult<Fitted> {
    if let Some(batch) = a.mini_batch {
        return run_minibatch::<T>(a, cd, x, weights, init, given, batch, progress);
    }
    let m = &cd.m;
    let mut params = KMeansParams::<T>::new(a.k)
        .isa(a.global.isa)
        .init(init.to_init(cd, given.as_ref()))
        .seed(a.seed)
        .max_iter(a.max_iter)
        .tol(a.tol())
        .algorithm(algorithm);
    if let Some(n) = a.n_init {
        params = params.n_init(n);
    }
    let w: Option<Vec<T>> = weights.map(|w| w.into_iter().map(T::from_f64).collect());
    let view =
        MatView::new(x, m.n, m.d).map_err(|e| lib_error(&a.data.display().to_string(), e))?;
    let model = params
        .fit_observed(view, w.as_deref(), &|info| {
            progress.set(format!(
                "iteration {} center shift {:.3e}",
                info.iter, info.center_shift
            ))
        })
        .map_err(|e| fit_error(a, e))?;
    let settings = serde_json::json!({
        "command": "fit",
        "data": a.data.display().to_string(),
        "n": m.n,
        "init": a.init,
        "n_init": params.effective_n_init(),
        "seed": a.seed,
        "max_iter": a.max_iter,
        "tol": a.tol(),
        "algorithm": format!("{:?}", model.algorithm()).to_lowercase(),
        "weights": a.weights.as_ref().map(|p| p.display().to_string()),
        "threads": rayon::current_num_threads(),
        "timings": {
            "init_seconds": model.timings().init_seconds,
            "iter_seconds": model.timings().iter_seconds,
            "iterations": model.timings().iterations,
        },
    });
    let file = ModelFile {
        format: "kmrbf-model".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        k: a.k,
        d: m.d,
        dtype: T::NAME.into(),
        centers: rows_of(&cd.user(model.centers()), m.d),
        inertia: model.inertia(),
        n_iter: model.n_iter(),
        settings,
    };
    Ok(Fitted {
        model: file.to_bytes(),
        labels: model.labels().to_vec(),
        n_iter: model.n_iter(),
        inertia: model.inertia(),
        dtype: T::NAME,
    })
}

/// `fit --mini-batch`: scikit-learn's mini-batch K-Means on the centered data.
#[allow(clippy::too_many_arguments)]
fn run_minibatch<T: Real>(
    a: &FitArgs,
    cd: &Centered,
    x: &[T],
    weights: Option<Vec<f64>>,
    init: &InitArg,
    given: Option<UserCenters>,
    batch: usize,
    progress: &Progress,
) -> CliResult<Fitted> {
    let m = &cd.m;
    let mut p = minibatch_params::<T>(a, batch);
    p.init = init.to_init(cd, given.as_ref());
    let w: Option<Vec<T>> = weights.map(|w| w.into_iter().map(T::from_f64).collect());
    let view =
        MatView::new(x, m.n, m.d).map_err(|e| lib_error(&a.data.display().to_string(), e))?;
    progress.set(format!("mini-batch K-Means, batches of {batch} rows"));
    let t0 = std::time::Instant::now();
    let fit = p.fit(view, w.as_deref()).map_err(|e| fit_error(a, e))?;
    let file = minibatch_model::<T>(
        a,
        (m.n, m.d),
        &cd.user(&fit.state.centers),
        fit.inertia,
        (fit.n_iter, fit.n_steps),
        batch,
        t0,
        None,
    );
    Ok(Fitted {
        model: file.to_bytes(),
        labels: fit.labels,
        n_iter: fit.n_iter,
        inertia: fit.inertia,
        dtype: T::NAME,
    })
}

/// Runs `predict`: labels of the rows of `data` under the model's centers.
pub fn predict(a: &PredictArgs) -> CliResult<()> {
    let quiet = a.global.quiet;
    let (model, data, out) = (a.model.as_path(), a.data.as_path(), a.out.as_path());
    let mut outs = Outputs::new();
    let id = outs.reserve("--out", out)?;
    if let Some(s) = crate::stream::should_stream(data, a.block_rows)? {
        return predict_streamed(a, outs, id, s, quiet);
    }
    let (mf, cd, c) = crate::model_file::load_for_prediction(model, data)?;
    let ctx = |e| lib_error(&data.display().to_string(), e);
    let m = &cd.m;
    let labels = match &m.values {
        Values::F32(x) => kmrbf::kmeans::predict(
            a.global.isa,
            &cd.working::<f32>(&c),
            mf.k,
            MatView::new(x, m.n, m.d).map_err(ctx)?,
        )
        .map_err(ctx)?,
        Values::F64(x) => kmrbf::kmeans::predict(
            a.global.isa,
            &cd.working::<f64>(&c),
            mf.k,
            MatView::new(x, m.n, m.d).map_err(ctx)?,
        )
        .map_err(ctx)?,
    };
    outs.put(id, npy::encode_labels(&labels));
    let written = outs.commit()?;
    if !quiet {
        eprintln!(
            "kmrbf predict: {} rows labelled with {} centers; wrote {}",
            m.n,
            mf.k,
            list(&written)
        );
    }
    Ok(())
}

/// `predict` on a `.npy` streamed in blocks, the labels written as they come.
fn predict_streamed(
    a: &PredictArgs,
    mut outs: Outputs,
    id: crate::outputs::OutId,
    s: crate::stream::RowStream,
    quiet: bool,
) -> CliResult<()> {
    let (mf, c) = crate::model_file::load_for_streaming(&a.model, &a.data, s.d)?;
    let progress = Progress::new(quiet);
    outs.write_with(id, |w| {
        if s.is_f32() {
            crate::stream::predict::<f32>(
                a.global.isa,
                &s,
                &c,
                mf.k,
                a.block_rows.and_then(|b| b.rows()),
                w,
                &progress,
            )
        } else {
            crate::stream::predict::<f64>(
                a.global.isa,
                &s,
                &c,
                mf.k,
                a.block_rows.and_then(|b| b.rows()),
                w,
                &progress,
            )
        }
    })?;
    progress.finish();
    let written = outs.commit()?;
    if !quiet {
        eprintln!(
            "kmrbf predict: {} rows labelled with {} centers (streamed); wrote {}",
            s.n,
            mf.k,
            list(&written)
        );
    }
    Ok(())
}
