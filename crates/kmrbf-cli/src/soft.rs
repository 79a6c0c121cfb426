//! `kmrbf transform`, `kmrbf objective` and `kmrbf anneal`: the RBF model on the command line.

use crate::args::{Global, GradientArg, KernelArg, MapArg, ScheduleArg, StepArg};
use crate::fail::{about_weights, bad_input, lib_error, weights_flag, CliError, CliResult};
use crate::files::{load_matrix, load_weights};
use crate::fit::{warn_distinct, InitArg};
use crate::matrix::{Centered, Matrix, UserCenters, Values};
use crate::model_file::{rows_of, ModelFile};
use crate::npy;
use crate::outputs::{list, Outputs};
use crate::progress::Progress;
use kmrbf::kmeans::MiniBatchParams;
use kmrbf::rbf::anneal::{anneal, AnnealParams, AnnealResult, Schedule, Sigma0, StageRecord};
use kmrbf::rbf::objective::{responsibilities, Objectives};
use kmrbf::rbf::params::parse_map;
use kmrbf::rbf::step::StepKind;
use kmrbf::rbf::{center_gradient, GradientKind, Kernel, Temperature};
use kmrbf::rbf::{MapKind, MiniBatchAnnealParams};
use kmrbf::{Isa, KMeansParams, MatView, Real};
use std::path::{Path, PathBuf};

/// The map, alpha and kernel flags shared by the soft commands.
#[derive(clap::Args)]
pub struct SoftArgs {
    /// Responsibility map.
    #[arg(long, value_enum, default_value = "entmax15")]
    pub map: MapArg,
    /// alpha of `--map entmax`, in (1, 2] (refused with the other maps).
    #[arg(long, allow_negative_numbers = true)]
    pub alpha: Option<f64>,
    /// How sigma enters the logits.
    #[arg(long, value_enum, default_value = "temperature")]
    pub kernel: KernelArg,
}

impl SoftArgs {
    fn map(&self) -> CliResult<MapKind> {
        parse_map(self.map.name(), self.alpha).map_err(|e| match &e {
            kmrbf::Error::BadParam { name: "alpha", .. } => lib_error("--alpha", e),
            _ => lib_error("--map", e),
        })
    }
    fn kernel(&self) -> CliResult<Kernel> {
        self.kernel
            .name()
            .parse()
            .map_err(|e| lib_error("--kernel", e))
    }
}

fn temperature(flag: &str, sigma: f64, kernel: Kernel) -> CliResult<Temperature> {
    Temperature::new(sigma, kernel).map_err(|e| lib_error(flag, e))
}

fn view<'a, T: Real>(m: &Matrix, x: &'a [T], path: &Path) -> CliResult<MatView<'a, T>> {
    MatView::new(x, m.n, m.d).map_err(|e| lib_error(&path.display().to_string(), e))
}

/// Centers from a `.npy` / `.csv` file or a model file (`.json`), checked against `d` columns.
fn load_centers(path: &Path, d: usize, flag: &str) -> CliResult<UserCenters> {
    let with_flag = |e: CliError| CliError {
        msg: format!("{flag} {}", e.msg),
        ..e
    };
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let c = if is_json {
        let mf = ModelFile::load(path).map_err(with_flag)?;
        Matrix {
            values: Values::F64(mf.flat_centers()),
            n: mf.k,
            d: mf.d,
        }
    } else {
        load_matrix(path).map_err(with_flag)?
    };
    if c.d != d {
        return Err(bad_input(format!(
            "{flag} {}: expected centers of shape k x {d}, got {} x {}",
            path.display(),
            c.n,
            c.d
        )));
    }
    Ok(UserCenters::from_matrix(&c))
}

/// Arguments of `transform`.
#[derive(clap::Args)]
pub struct TransformArgs {
    /// Model file (from `fit` or `anneal`).
    #[arg(long)]
    pub model: PathBuf,
    /// Data: .npy or .csv with the model's number of columns.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub flags: SoftArgs,
    /// Temperature (> 0), in units of squared distance: rows are one-hot where the two
    /// nearest centers' squared distances differ by more than about sigma (2 sigma for
    /// entmax15); `objective` reports the one-hot fraction.
    #[arg(long, allow_negative_numbers = true)]
    pub sigma: f64,
    /// Responsibilities to write (.npy, the data's precision).
    #[arg(long)]
    pub out: PathBuf,
    /// Read a .npy from disk in blocks of about this many rows and write the responsibilities
    /// as they come (for data larger than memory; the same values); or `auto`. Default: stream
    /// (auto) only a file larger than half the available memory.
    #[arg(long)]
    pub block_rows: Option<crate::stream::BlockRows>,
    /// The global flags (`--quiet`, `--isa`).
    #[arg(skip)]
    pub global: Global,
}

/// `transform`: responsibilities of the rows of `data` under the model's centers.
pub fn transform(a: &TransformArgs) -> CliResult<()> {
    let quiet = a.global.quiet;
    let (model, data, flags, sigma, out) = (&a.model, &a.data, &a.flags, a.sigma, &a.out);
    let mut outs = Outputs::new();
    let id = outs.reserve("--out", out)?;
    let map = flags.map()?;
    let t = temperature("--sigma", sigma, flags.kernel()?)?;
    if let Some(s) = crate::stream::should_stream(data, a.block_rows)? {
        return transform_streamed(a, outs, id, s, map, t, quiet);
    }
    let (mf, cd, c) = crate::model_file::load_for_prediction(model, data)?;
    let bytes = match &cd.m.values {
        Values::F32(x) => npy::encode_f32(
            &transform_typed(a.global.isa, &cd, x, &c, map, t, data)?,
            &[cd.m.n, mf.k],
        ),
        Values::F64(x) => npy::encode_f64(
            &transform_typed(a.global.isa, &cd, x, &c, map, t, data)?,
            &[cd.m.n, mf.k],
        ),
    };
    outs.put(id, bytes);
    let written = outs.commit()?;
    if !quiet {
        eprintln!(
            "kmrbf transform: {} rows x {} centers, {} at temperature {:e}; wrote {}",
            cd.m.n,
            mf.k,
            map.name(),
            t.effective(),
            list(&written)
        );
    }
    Ok(())
}

/// `transform` on a `.npy` streamed in blocks, the rows of responsibilities written as they
/// come (the data's precision, as in memory).
fn transform_streamed(
    a: &TransformArgs,
    mut outs: Outputs,
    id: crate::outputs::OutId,
    s: crate::stream::RowStream,
    map: MapKind,
    t: Temperature,
    quiet: bool,
) -> CliResult<()> {
    let (mf, c) = crate::model_file::load_for_streaming(&a.model, &a.data, s.d)?;
    let header = npy::float_header(s.is_f32(), &[s.n, mf.k]);
    let progress = Progress::new(quiet);
    let data = a.data.as_path();
    outs.write_with(id, |w| {
        if s.is_f32() {
            crate::stream::write_blocks::<f32>(
                &s,
                &c,
                mf.k,
                a.block_rows.and_then(|b| b.rows()),
                &header,
                w,
                &progress,
                |x, cw, bytes| {
                    for v in block_responsibilities(a.global.isa, x, cw, mf.k, map, t, data)? {
                        bytes.extend_from_slice(&v.to_le_bytes());
                    }
                    Ok(())
                },
            )
        } else {
            crate::stream::write_blocks::<f64>(
                &s,
                &c,
                mf.k,
                a.block_rows.and_then(|b| b.rows()),
                &header,
                w,
                &progress,
                |x, cw, bytes| {
                    for v in block_responsibilities(a.global.isa, x, cw, mf.k, map, t, data)? {
                        bytes.extend_from_slice(&v.to_le_bytes());
                    }
                    Ok(())
                },
            )
        }
    })?;
    progress.finish();
    let written = outs.commit()?;
    if !quiet {
        eprintln!(
            "kmrbf transform: {} rows x {} centers, {} at temperature {:e} (streamed); wrote {}",
            s.n,
            mf.k,
            map.name(),
            t.effective(),
            list(&written)
        );
    }
    Ok(())
}

/// The responsibilities of one block of centered rows, errors named as in memory.
fn block_responsibilities<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    cw: &[T],
    k: usize,
    map: MapKind,
    t: Temperature,
    data: &Path,
) -> CliResult<Vec<T>> {
    responsibilities(isa, x, cw, k, map, t).map_err(|e| match e {
        e @ kmrbf::Error::BadTemperature { .. } => lib_error("--sigma", e),
        e => lib_error(&data.display().to_string(), e),
    })
}

fn transform_typed<T: Real>(
    isa: Isa,
    cd: &Centered,
    x: &[T],
    c: &UserCenters,
    map: MapKind,
    t: Temperature,
    data: &Path,
) -> CliResult<Vec<T>> {
    block_responsibilities(
        isa,
        view(&cd.m, x, data)?,
        &cd.working::<T>(c),
        c.k,
        map,
        t,
        data,
    )
}

/// Arguments of `objective`.
#[derive(clap::Args)]
pub struct ObjectiveArgs {
    /// Data: .npy or .csv.
    #[arg(long)]
    pub data: PathBuf,
    /// k x d centers (.npy or .csv), or a model file (.json) written by fit or anneal.
    #[arg(long)]
    pub centers: PathBuf,
    /// 1-D .npy of per-row sample weights (>= 0).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    #[command(flatten)]
    pub flags: SoftArgs,
    /// Temperature (> 0), in units of squared distance.
    #[arg(long, allow_negative_numbers = true)]
    pub sigma: f64,
    /// The gradient written: of F (stopgrad) or of L (full).
    #[arg(long, value_enum, default_value = "stopgrad")]
    pub gradient: GradientArg,
    /// JSON to write.
    #[arg(long)]
    pub out: PathBuf,
    /// The global flags (`--quiet`, `--isa`).
    #[arg(skip)]
    pub global: Global,
}

/// `objective`: J, L, F, the bounds and the center gradient, as JSON.
pub fn objective(a: &ObjectiveArgs) -> CliResult<()> {
    let quiet = a.global.quiet;
    let (data, centers, weights, flags, sigma, out) = (
        &a.data,
        &a.centers,
        a.weights.as_deref(),
        &a.flags,
        a.sigma,
        &a.out,
    );
    let gradient = a.gradient.name();
    let mut outs = Outputs::new();
    let id = outs.reserve("--out", out)?;
    let map = flags.map()?;
    let kernel = flags.kernel()?;
    let t = temperature("--sigma", sigma, kernel)?;
    let kind: GradientKind = gradient.parse().map_err(|e| lib_error("--gradient", e))?;
    let cd = Centered::new(load_matrix(data)?);
    let c = load_centers(centers, cd.m.d, "--centers")?;
    let w = weights.map(load_weights).transpose()?;
    let wctx = |e: kmrbf::Error| -> CliError {
        match e {
            e if about_weights(&e) => lib_error(&weights_flag(weights), e),
            e @ kmrbf::Error::BadTemperature { .. } => lib_error("--sigma", e),
            e => lib_error(&data.display().to_string(), e),
        }
    };
    let (o, g) = match &cd.m.values {
        Values::F32(x) => {
            objective_typed(a.global.isa, &cd, x, w, &c, map, t, kind).map_err(wctx)?
        }
        Values::F64(x) => {
            objective_typed(a.global.isa, &cd, x, w, &c, map, t, kind).map_err(wctx)?
        }
    };
    let json = serde_json::json!({
        "format": "kmrbf-objective",
        "version": env!("CARGO_PKG_VERSION"),
        "data": data.display().to_string(),
        "centers": centers.display().to_string(),
        "map": map.name(),
        "kernel": flags.kernel.name(),
        "sigma": sigma,
        "temperature": t.effective(),
        "k": c.k,
        "d": cd.m.d,
        "J": o.j,
        "L": o.l,
        "F": o.f,
        "W": o.weight,
        "L_minus_J": o.l - o.j,
        "F_minus_J": o.f - o.j,
        "bound": o.bound,
        "mean_support": o.mean_support,
        "onehot_fraction": o.onehot_fraction,
        "gradient": {
            "kind": gradient,
            "of": if kind == GradientKind::Full { "L" } else { "F" },
            "values": rows_of(&g, cd.m.d),
        },
    });
    let mut bytes = serde_json::to_vec_pretty(&json)
        .map_err(|e| crate::fail::internal(format!("cannot encode the objective: {e}")))?;
    bytes.push(b'\n');
    outs.put(id, bytes);
    let written = outs.commit()?;
    if !quiet {
        eprintln!(
            "kmrbf objective: J {:.6e}, L {:.6e}, F {:.6e} ({} at temperature {:e}); wrote {}",
            o.j,
            o.l,
            o.f,
            map.name(),
            t.effective(),
            list(&written)
        );
    }
    Ok(())
}

/// The objectives and the center gradient in precision `T`; the gradient is a difference of
/// centers, so it is the same in both coordinate systems.
#[allow(clippy::too_many_arguments)]
fn objective_typed<T: Real>(
    isa: Isa,
    cd: &Centered,
    x: &[T],
    w: Option<Vec<f64>>,
    c: &UserCenters,
    map: MapKind,
    t: Temperature,
    kind: GradientKind,
) -> Result<(Objectives, Vec<f64>), kmrbf::Error> {
    let v = MatView::new(x, cd.m.n, cd.m.d)?;
    let w: Option<Vec<T>> = w.map(|w| w.iter().map(|&v| T::from_f64(v)).collect());
    center_gradient(isa, v, w.as_deref(), &cd.working::<T>(c), c.k, map, t, kind)
}

/// Arguments of `anneal`.
#[derive(clap::Args)]
pub struct AnnealArgs {
    /// Data: .npy or .csv, or builtin:iris / builtin:digits.
    #[arg(long)]
    pub data: PathBuf,
    /// Number of centers.
    #[arg(long)]
    pub k: usize,
    #[command(flatten)]
    pub flags: SoftArgs,
    /// k-means++, random, or a file of k x d initial centers.
    #[arg(long, default_value = "k-means++")]
    pub init: String,
    /// Seed of the initialization (the same init as `fit --seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// auto (lands on Lloyd's fixed point), median (a soft start), critical, or a number.
    /// Default: auto, and median with --mini-batch.
    #[arg(long, allow_negative_numbers = true)]
    pub sigma0: Option<String>,
    /// Last temperature (default sigma0 * 1e-4).
    #[arg(long, allow_negative_numbers = true)]
    pub sigma_min: Option<f64>,
    /// Ratio of the geometric schedule, in (0, 1).
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    pub gamma: f64,
    /// The temperature schedule.
    #[arg(long, value_enum, default_value = "geometric")]
    pub schedule: ScheduleArg,
    /// Explicit decreasing temperatures, comma-separated (overrides the schedule).
    #[arg(long)]
    pub sigmas: Option<String>,
    /// Train every temperature from the init (a sweep) instead of warm-starting.
    #[arg(long)]
    pub no_warm_start: bool,
    /// The center update at each temperature.
    #[arg(long, value_enum, default_value = "soft-lloyd")]
    pub step: StepArg,
    /// Learning rate of gd / adam.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub lr: f64,
    /// Gradient for gd / adam: of F (stopgrad) or of L (full).
    #[arg(long, value_enum, default_value = "stopgrad")]
    pub gradient: GradientArg,
    /// A stage ends when the largest squared center move <= tol * mean feature variance
    /// (default 1e-14). With --mini-batch: when the sum of the squared center moves of a batch
    /// <= tol * mean feature variance, as `fit --mini-batch` (default 0, off).
    #[arg(long, allow_negative_numbers = true)]
    pub tol: Option<f64>,
    /// At most this many steps per temperature (default 1000); with --mini-batch, batches
    /// (default: one pass over the data).
    #[arg(long)]
    pub stage_cap: Option<usize>,
    /// Finish with hard Lloyd iterations; with --mini-batch, with mini-batch K-Means batches
    /// (at most 100 passes, the same stopping rules).
    #[arg(long)]
    pub polish: bool,
    /// Also run K-Means from the same init and record the discrepancy per stage.
    #[arg(long)]
    pub reference: bool,
    /// 1-D .npy of per-row sample weights (>= 0).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Model file to write (JSON, with the stage records).
    #[arg(long)]
    pub out: PathBuf,
    /// One CSV row per stage. `discrepancy` (with --reference) is the largest distance
    /// between matched centers in data units; `discrepancy_rel` divides it by the largest
    /// |coordinate| of the K-Means centers, as the report does.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Hard labels under the final centers (int64 .npy).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Stream a .npy in blocks of this many rows (rounded up to a whole number of the
    /// kernel's chunks) instead of loading it: for data larger than memory. Same results as
    /// in memory from the same --init file; k-means++ / random seed from a uniform sample
    /// (--init-sample); --sigma0 auto or a number. `auto`: blocks of about 1.5 MiB per
    /// thread. Default: stream (auto) only a file larger than half the available memory.
    #[arg(long)]
    pub block_rows: Option<crate::stream::BlockRows>,
    /// Rows of the uniform sample that k-means++ / random seed from when streaming.
    #[arg(long, default_value_t = 100_000)]
    pub init_sample: usize,
    /// Anneal on random batches of this many rows: mini-batch soft-lloyd, each center
    /// moving to the running mean of its responsibility-weighted rows, its learning rates fresh
    /// at each temperature; where a batch is one-hot the step is `fit --mini-batch`'s, bit for
    /// bit. k-means++ / random seed on a random subset of 3 batches (as `fit --mini-batch`);
    /// --sigma0 median / auto are measured on a subset of the same size. In memory only.
    #[arg(long)]
    pub mini_batch: Option<usize>,
    /// With --mini-batch: centers lighter than this fraction of the heaviest move to random
    /// rows of the batch (default 0.01).
    #[arg(long, allow_negative_numbers = true)]
    pub reassignment_ratio: Option<f64>,
    /// With --mini-batch: a stage ends after this many batches without a new minimum of the
    /// smoothed batch free energy F (0: never; default 10).
    #[arg(long)]
    pub max_no_improvement: Option<usize>,
    /// The global flags (`--quiet`, `--isa`).
    #[arg(skip)]
    pub global: Global,
}

impl AnnealArgs {
    /// `--sigma0` as given, else `auto` (`median` with --mini-batch).
    fn sigma0(&self) -> &str {
        match (&self.sigma0, self.mini_batch) {
            (Some(s), _) => s,
            (None, Some(_)) => "median",
            (None, None) => "auto",
        }
    }

    /// `--tol` as given, else 1e-14 (0 with --mini-batch).
    fn tol(&self) -> f64 {
        self.tol.unwrap_or(if self.mini_batch.is_some() {
            0.0
        } else {
            1e-14
        })
    }
}

fn positive(flag: &str, v: f64) -> CliResult<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(bad_input(format!(
            "{flag} = {v} is invalid: must be finite and > 0"
        )))
    }
}

/// `anneal`: temperature annealing of the RBF model from a K-Means init.
pub fn run_anneal(a: AnnealArgs) -> CliResult<()> {
    let mut outs = Outputs::new();
    let out_model = outs.reserve("--out", &a.out)?;
    let out_trace = outs.reserve_opt("--trace", a.trace.as_deref())?;
    let out_labels = outs.reserve_opt("--labels", a.labels.as_deref())?;
    let init = InitArg::parse(&a.init)?;
    let map = a.flags.map()?;
    let kernel = a.flags.kernel()?;
    if a.k == 0 {
        return Err(bad_input("--k = 0 is invalid: need at least one cluster"));
    }
    let sigma0 = match a.sigma0() {
        "auto" => Sigma0::Auto,
        "median" => Sigma0::Median,
        "critical" => Sigma0::Critical,
        s => Sigma0::Value(positive(
            "--sigma0",
            s.parse::<f64>().map_err(|_| {
                bad_input(format!(
                    "--sigma0 = {s} is invalid: expected auto, median, critical or a number"
                ))
            })?,
        )?),
    };
    if let Some(s) = a.sigma_min {
        positive("--sigma-min", s)?;
        if let Sigma0::Value(s0) = sigma0 {
            if s >= s0 {
                return Err(bad_input(format!(
                    "--sigma-min = {s} is invalid: must be smaller than --sigma0 = {s0}"
                )));
            }
        }
    }
    if !(a.gamma > 0.0 && a.gamma < 1.0) {
        return Err(bad_input(format!(
            "--gamma = {} is invalid: must lie in (0, 1)",
            a.gamma
        )));
    }
    let schedule = match (a.schedule.name(), &a.sigmas) {
        (_, Some(list)) => {
            let v = list
                .split(',')
                .map(|s| s.trim().parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    bad_input(format!(
                        "--sigmas = {list} is invalid: expected comma-separated numbers"
                    ))
                })?;
            for &s in &v {
                positive("--sigmas", s)?;
            }
            Schedule::List(v)
        }
        ("geometric", None) => Schedule::Geometric { gamma: a.gamma },
        ("dkm", None) => Schedule::Dkm,
        (other, None) => {
            return Err(bad_input(format!(
                "--schedule = {other} is invalid: expected geometric or dkm"
            )))
        }
    };
    let gradient: GradientKind = a
        .gradient
        .name()
        .parse()
        .map_err(|e| lib_error("--gradient", e))?;
    let step = StepKind::parse(a.step.name(), a.lr, gradient).map_err(|e| match &e {
        kmrbf::Error::BadParam { name: "lr", .. } => lib_error("--lr", e),
        _ => lib_error("--step", e),
    })?;
    if !(a.tol().is_finite() && a.tol() >= 0.0) {
        return Err(bad_input(format!(
            "--tol = {} is invalid: must be finite and >= 0",
            a.tol()
        )));
    }
    if a.stage_cap == Some(0) {
        return Err(bad_input("--stage-cap = 0 is invalid: must be >= 1"));
    }
    check_minibatch_flags(&a)?;
    let params = AnnealParams {
        map,
        kernel,
        sigma0,
        sigma_min: a.sigma_min,
        schedule,
        warm_start: !a.no_warm_start,
        step,
        tol: a.tol(),
        stage_cap: a.stage_cap.unwrap_or(1000),
        polish: a.polish,
        reference: a.reference,
        seed: a.seed,
        stop: None,
        isa: a.global.isa,
        threads: None,
    };
    let progress = Progress::new(a.global.quiet);
    let r = if let Some(s) = crate::stream::should_stream(&a.data, a.block_rows)? {
        if a.mini_batch.is_some() {
            return Err(bad_input(
                "--mini-batch runs in memory: it cannot be combined with a streamed anneal (--block-rows, or a file larger than half the available memory)",
            ));
        }
        anneal_streamed(&a, s, &init, &params, &progress)?
    } else {
        anneal_in_memory(&a, &init, &params, &progress)?
    };
    progress.finish();
    warn_distinct("anneal", &r.labels, a.k);
    outs.put(out_model, r.model);
    if let Some(id) = out_trace {
        outs.put(id, r.trace.into_bytes());
    }
    if let Some(id) = out_labels {
        outs.put(id, npy::encode_labels(&r.labels));
    }
    let written = outs.commit()?;
    if !a.global.quiet {
        eprintln!(
            "kmrbf anneal: {} from sigma0 {:e}, {} stages, {} steps, J {:.6e}{}{}; wrote {}",
            map.name(),
            r.sigma0,
            r.stages,
            r.steps,
            r.inertia,
            r.discrepancy
                .map_or(String::new(), |d| format!(", discrepancy to K-Means {d:e}")),
            match (r.streamed, a.mini_batch) {
                (true, _) => " (streamed)".to_string(),
                (false, Some(b)) => format!(" (mini-batch, batches of {b} rows)"),
                (false, None) => String::new(),
            },
            list(&written)
        );
    }
    Ok(())
}

/// Refuses the mini-batch flags without --mini-batch, and with it what it does not run.
fn check_minibatch_flags(a: &AnnealArgs) -> CliResult<()> {
    let Some(batch) = a.mini_batch else {
        for (flag, given) in [
            ("--reassignment-ratio", a.reassignment_ratio.is_some()),
            ("--max-no-improvement", a.max_no_improvement.is_some()),
        ] {
            if given {
                return Err(bad_input(format!("{flag} applies only with --mini-batch")));
            }
        }
        return Ok(());
    };
    if batch == 0 {
        return Err(bad_input(
            "--mini-batch = 0 is invalid: need at least one row per batch",
        ));
    }
    if a.step.name() != "soft-lloyd" {
        return Err(bad_input(format!(
            "--step = {} is invalid with --mini-batch: its steps are soft-lloyd's",
            a.step.name()
        )));
    }
    if a.no_warm_start {
        return Err(bad_input(
            "--no-warm-start is invalid with --mini-batch: each stage starts where the last ended",
        ));
    }
    Ok(())
}

/// `anneal` on the data loaded into memory.
fn anneal_in_memory(
    a: &AnnealArgs,
    init: &InitArg,
    params: &AnnealParams,
    progress: &Progress,
) -> CliResult<Annealed> {
    let cd = Centered::new(load_matrix(&a.data)?);
    let given = init.centers(a.k, cd.m.d)?;
    let weights = a.weights.as_deref().map(load_weights).transpose()?;
    Ok(match &cd.m.values {
        Values::F32(x) => anneal_typed::<f32>(a, &cd, x, weights, init, given, params, progress)?,
        Values::F64(x) => anneal_typed::<f64>(a, &cd, x, weights, init, given, params, progress)?,
    })
}

/// `anneal` on a `.npy` streamed in blocks (`stream_anneal.rs`).
fn anneal_streamed(
    a: &AnnealArgs,
    mut s: crate::stream::RowStream,
    init: &InitArg,
    params: &AnnealParams,
    progress: &Progress,
) -> CliResult<Annealed> {
    let given = init.centers(a.k, s.d)?;
    let weights = a.weights.as_deref().map(load_weights).transpose()?;
    let st = crate::stream::StreamSettings {
        k: a.k,
        given: given.as_ref(),
        random: matches!(init, InitArg::Random),
        seed: a.seed,
        max_iter: 0,
        tol: 0.0,
        weights: weights.as_deref(),
        block_rows: a.block_rows.and_then(|b| b.rows()),
        sample_rows: a.init_sample,
        isa: a.global.isa,
    };
    let n = s.n;
    if s.is_f32() {
        streamed_typed::<f32>(a, &mut s, &st, params, progress, n)
    } else {
        streamed_typed::<f64>(a, &mut s, &st, params, progress, n)
    }
}

fn streamed_typed<T: Real>(
    a: &AnnealArgs,
    s: &mut crate::stream::RowStream,
    st: &crate::stream::StreamSettings<'_>,
    params: &AnnealParams,
    progress: &Progress,
    n: usize,
) -> CliResult<Annealed> {
    let mut observer = |s: &StageRecord| progress.set(stage_line(s));
    let (start, r) = crate::stream_anneal::anneal::<T>(s, st, params, progress, &mut observer)?;
    let shift = &start.shift;
    let scale = reference_scale(shift, &r);
    let streamed = serde_json::json!({
        "block_rows": start.block_rows,
        "init_sample_rows": start.sample_rows,
    });
    let model = model_json(a, n, shift, &start.init, &r, params, scale, Some(streamed));
    Ok(Annealed::of(model, r, scale, true))
}

/// The report's scale: the largest |coordinate| of the K-Means centers (user coordinates).
fn reference_scale<T: Real>(shift: &kmrbf::Shift, r: &AnnealResult<T>) -> Option<f64> {
    r.reference.as_ref().map(|rf| {
        shift
            .to_user(&rf.centers)
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(f64::MIN_POSITIVE)
    })
}

/// The progress line of a stage.
fn stage_line(s: &StageRecord) -> String {
    format!(
        "stage {} sigma {:.3e} steps {} J {:.6e}{}",
        s.stage,
        s.sigma,
        s.steps,
        s.objectives.j,
        s.discrepancy
            .map_or(String::new(), |d| format!(" discrepancy {d:.3e}"))
    )
}

/// What an annealing produced, for the files and the summary line.
struct Annealed {
    model: Vec<u8>,
    trace: String,
    labels: Vec<u32>,
    sigma0: f64,
    stages: usize,
    steps: usize,
    inertia: f64,
    discrepancy: Option<f64>,
    streamed: bool,
}

impl Annealed {
    /// The files and summary of `r`, whose labels it takes (4 bytes a row: not copied).
    fn of<T: Real>(
        model: ModelFile,
        r: AnnealResult<T>,
        scale: Option<f64>,
        streamed: bool,
    ) -> Self {
        Self {
            model: model.to_bytes(),
            trace: trace_csv(&r.stages, scale),
            sigma0: r.sigma0,
            stages: r.stages.len(),
            steps: r.total_steps,
            inertia: r.inertia,
            discrepancy: r.stages.last().and_then(|s| s.discrepancy),
            labels: r.labels,
            streamed,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn anneal_typed<T: Real>(
    a: &AnnealArgs,
    cd: &Centered,
    x: &[T],
    weights: Option<Vec<f64>>,
    init: &InitArg,
    given: Option<UserCenters>,
    params: &AnnealParams,
    progress: &Progress,
) -> CliResult<Annealed> {
    let v = view(&cd.m, x, &a.data)?;
    let w: Option<Vec<T>> = weights.map(|w| w.into_iter().map(T::from_f64).collect());
    let lib_ctx = |e: kmrbf::Error| -> CliError {
        match &e {
            kmrbf::Error::BadK { .. } => lib_error("--k", e),
            e if about_weights(e) => lib_error(&weights_flag(a.weights.as_deref()), e.clone()),
            kmrbf::Error::BadParam { name, .. } => {
                lib_error(&format!("--{}", name.replace('_', "-")), e)
            }
            kmrbf::Error::BadTemperature { .. } => {
                lib_error("--sigma0 / --sigma-min / --sigmas", e)
            }
            _ => lib_error(&a.data.display().to_string(), e),
        }
    };
    let (init_centers, r) = if let Some(batch) = a.mini_batch {
        let mut p = MiniBatchAnnealParams::<T>::new(a.k, params.map);
        p.batches = MiniBatchParams::new(a.k).isa(a.global.isa);
        p.batches.init = init.to_init(cd, given.as_ref());
        p.batches.batch_size = batch;
        p.batches.tol = params.tol;
        p.batches.max_no_improvement = a
            .max_no_improvement
            .map_or(Some(10), |m| (m > 0).then_some(m));
        p.batches.reassignment_ratio = a.reassignment_ratio.unwrap_or(0.01);
        p.batches.seed = a.seed;
        p.kernel = params.kernel;
        p.sigma0 = params.sigma0;
        p.sigma_min = params.sigma_min;
        p.schedule = params.schedule.clone();
        p.stage_batches = a.stage_cap;
        p.polish = params.polish;
        p.reference = params.reference;
        progress.set(format!("mini-batch annealing, batches of {batch} rows"));
        let c0 = p
            .batches
            .initial_centers(v, w.as_deref())
            .map_err(lib_ctx)?;
        let r = p.fit(v, w.as_deref()).map_err(lib_ctx)?;
        (c0, r)
    } else {
        let kp = KMeansParams::<T>::new(a.k)
            .isa(a.global.isa)
            .init(init.to_init(cd, given.as_ref()))
            .seed(a.seed);
        let init_centers = kp.initial_centers(v, w.as_deref()).map_err(lib_ctx)?;
        let mut observer = |s: &StageRecord| progress.set(stage_line(s));
        let r =
            anneal(v, w.as_deref(), &init_centers, a.k, params, &mut observer).map_err(lib_ctx)?;
        (init_centers, r)
    };
    let scale = reference_scale(cd.shift(), &r);
    let model = model_json(
        a,
        cd.m.n,
        cd.shift(),
        &init_centers,
        &r,
        params,
        scale,
        None,
    );
    Ok(Annealed::of(model, r, scale, false))
}

fn stage_json(s: &StageRecord, scale: Option<f64>) -> serde_json::Value {
    let o = &s.objectives;
    serde_json::json!({
        "stage": s.stage, "sigma": s.sigma, "temperature": s.temperature, "steps": s.steps, "seconds": s.seconds,
        "J": o.j, "L": o.l, "F": o.f, "L_minus_J": o.l - o.j, "F_minus_J": o.f - o.j, "bound": o.bound,
        "mean_support": o.mean_support, "onehot_fraction": o.onehot_fraction,
        "last_move_sq": s.last_move_sq, "discrepancy": s.discrepancy,
        "discrepancy_rel": s.discrepancy.zip(scale).map(|(d, sc)| d / sc),
        "ari": s.ari, "nmi": s.nmi,
    })
}

#[allow(clippy::too_many_arguments)]
fn model_json<T: Real>(
    a: &AnnealArgs,
    n: usize,
    shift: &kmrbf::Shift,
    init: &[T],
    r: &AnnealResult<T>,
    params: &AnnealParams,
    scale: Option<f64>,
    streamed: Option<serde_json::Value>,
) -> ModelFile {
    let d = init.len() / a.k.max(1);
    let mut settings = serde_json::json!({
        "command": "anneal",
        "data": a.data.display().to_string(),
        "n": n,
        "map": params.map.name(),
        "kernel": a.flags.kernel.name(),
        "init": a.init,
        "seed": a.seed,
        "weights": a.weights.as_ref().map(|p| p.display().to_string()),
        "sigma0": a.sigma0(),
        "sigma0_value": r.sigma0,
        "sigma_min": a.sigma_min,
        "schedule": a.schedule.name(),
        "gamma": a.gamma,
        "sigmas": a.sigmas,
        "warm_start": !a.no_warm_start,
        "step": a.step.name(),
        "lr": a.lr,
        "gradient": a.gradient.name(),
        "tol": a.tol(),
        "stage_cap": match a.mini_batch {
            // Batches per stage: one pass over the data unless given.
            Some(b) => a.stage_cap.unwrap_or((n / b.min(n).max(1)).max(1)),
            None => params.stage_cap,
        },
        "polish": a.polish,
        "polish_iters": r.polish_iters,
        "initial_centers": rows_of(&shift.to_user(init), d),
        "reference": r.reference.as_ref().map(|rf| serde_json::json!({
            "centers": rows_of(&shift.to_user(&rf.centers), d), "inertia": rf.inertia, "n_iter": rf.n_iter,
            "scale": scale,
        })),
        "stages": r.stages.iter().map(|s| stage_json(s, scale)).collect::<Vec<_>>(),
    });
    if let Some(v) = streamed {
        settings["streamed"] = v;
    }
    if let Some(batch) = a.mini_batch {
        settings["mini_batch"] = serde_json::json!({
            "batch_size": batch.min(n),
            "reassignment_ratio": a.reassignment_ratio.unwrap_or(0.01),
            "max_no_improvement": a.max_no_improvement.unwrap_or(10),
            "batches": r.total_steps,
            "polish_batches": r.polish_iters,
        });
    }
    ModelFile {
        format: "kmrbf-model".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        k: a.k,
        d,
        dtype: T::NAME.into(),
        centers: rows_of(&shift.to_user(&r.centers), d),
        inertia: r.inertia,
        n_iter: r.total_steps,
        settings,
    }
}

/// One CSV row per stage. `discrepancy` is in data units; `discrepancy_rel` divides it by
/// `scale` (the largest |coordinate| of the K-Means centers, as in the report).
pub fn trace_csv(stages: &[StageRecord], scale: Option<f64>) -> String {
    let mut s = String::from(
        "stage,sigma,temperature,steps,J,L,F,L_minus_J,bound,F_minus_J,mean_support,onehot_fraction,last_move_sq,discrepancy,discrepancy_rel,ari,nmi\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:e}"));
    for st in stages {
        let o = &st.objectives;
        s.push_str(&format!(
            "{},{:e},{:e},{},{:e},{:e},{:e},{:e},{:e},{:e},{},{},{:e},{},{},{},{}\n",
            st.stage,
            st.sigma,
            st.temperature,
            st.steps,
            o.j,
            o.l,
            o.f,
            o.l - o.j,
            o.bound,
            o.f - o.j,
            o.mean_support,
            o.onehot_fraction,
            st.last_move_sq,
            opt(st.discrepancy),
            opt(st.discrepancy.zip(scale).map(|(d, sc)| d / sc)),
            opt(st.ari),
            opt(st.nmi)
        ));
    }
    s
}
