//! `kmrbf transform`, `kmrbf objective` and `kmrbf anneal`: the RBF model on the command line.

use crate::fail::{bad_input, lib_error, CliError, CliResult};
use crate::files::{check_out_dir, load_matrix, Outputs};
use crate::matrix::{shifted, Matrix, Values};
use crate::model_file::{rows_of, ModelFile};
use crate::npy;
use crate::progress::Progress;
use kmrbf::kernels::maps::MapKind;
use kmrbf::rbf::anneal::{anneal, AnnealParams, AnnealResult, Schedule, Sigma0, StageRecord};
use kmrbf::rbf::objective::responsibilities;
use kmrbf::rbf::params::parse_map;
use kmrbf::rbf::step::StepKind;
use kmrbf::rbf::{center_gradient, GradientKind, Kernel, Temperature};
use kmrbf::{Init, KMeansParams, MatView, Real};
use std::path::{Path, PathBuf};

/// The map, kernel and temperature flags shared by the soft commands.
pub struct SoftFlags {
    pub map: String,
    pub alpha: Option<f64>,
    pub kernel: String,
}

impl SoftFlags {
    fn map(&self) -> CliResult<MapKind> {
        parse_map(&self.map, self.alpha).map_err(|e| match &e {
            kmrbf::Error::BadParam { name: "alpha", .. } => lib_error("--alpha", e),
            _ => lib_error("--map", e),
        })
    }
    fn kernel(&self) -> CliResult<Kernel> {
        self.kernel.parse().map_err(|e| lib_error("--kernel", e))
    }
}

fn temperature(flag: &str, sigma: f64, kernel: Kernel) -> CliResult<Temperature> {
    Temperature::new(sigma, kernel).map_err(|e| lib_error(flag, e))
}

fn view<'a, T: Real>(m: &Matrix, x: &'a [T], path: &Path) -> CliResult<MatView<'a, T>> {
    MatView::new(x, m.n, m.d).map_err(|e| lib_error(&path.display().to_string(), e))
}

/// Centers from a `.npy`/`.csv` file, checked against `d` columns (and `k` rows if given).
fn load_centers(path: &Path, d: usize, k: Option<usize>, flag: &str) -> CliResult<Matrix> {
    let c = load_matrix(path)?;
    if c.d != d || k.is_some_and(|k| k != c.n) {
        return Err(bad_input(format!(
            "{flag} {}: expected centers of shape {} x {d}, got {} x {}",
            path.display(),
            k.map_or("k".to_string(), |k| k.to_string()),
            c.n,
            c.d
        )));
    }
    Ok(c)
}

/// `transform`: responsibilities of the rows of `data` under the model's centers.
pub fn transform(
    model: &Path,
    data: &Path,
    flags: &SoftFlags,
    sigma: f64,
    out: &Path,
) -> CliResult<()> {
    check_out_dir(out)?;
    let map = flags.map()?;
    let t = temperature("--sigma", sigma, flags.kernel()?)?;
    let (mf, m, c) = crate::model_file::load_for_prediction(model, data)?;
    let ctx = |e| lib_error(&data.display().to_string(), e);
    let bytes = match &m.values {
        Values::F32(x) => {
            let c: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            let r = responsibilities(view(&m, x, data)?, &c, mf.k, map, t).map_err(ctx)?;
            npy::encode_f32(&r, &[m.n, mf.k])
        }
        Values::F64(x) => {
            let r = responsibilities(view(&m, x, data)?, &c, mf.k, map, t).map_err(ctx)?;
            npy::encode_f64(&r, &[m.n, mf.k])
        }
    };
    let mut o = Outputs::default();
    o.add(out, bytes);
    o.commit()
}

/// `objective`: J, L, F, the bounds and the center gradient, as JSON.
#[allow(clippy::too_many_arguments)]
pub fn objective(
    data: &Path,
    centers: &Path,
    weights: Option<&Path>,
    flags: &SoftFlags,
    sigma: f64,
    gradient: &str,
    out: &Path,
) -> CliResult<()> {
    check_out_dir(out)?;
    let map = flags.map()?;
    let kernel = flags.kernel()?;
    let t = temperature("--sigma", sigma, kernel)?;
    let kind: GradientKind = gradient.parse().map_err(|e| lib_error("--gradient", e))?;
    let mut m = load_matrix(data)?;
    let c = load_centers(centers, m.d, None, "--centers")?;
    let shift = m.center_columns();
    let c64 = shifted(&c.to_f64(), &shift, -1.0);
    let w = weights.map(npy::read_vector).transpose()?;
    let wctx = |e: kmrbf::Error| -> CliError {
        match e {
            kmrbf::Error::BadWeight { .. }
            | kmrbf::Error::WeightCount { .. }
            | kmrbf::Error::ZeroTotalWeight => lib_error(
                &format!(
                    "--weights {}",
                    weights.map(|p| p.display().to_string()).unwrap_or_default()
                ),
                e,
            ),
            e => lib_error(&data.display().to_string(), e),
        }
    };
    let (o, g) = match &m.values {
        Values::F32(x) => {
            let cc: Vec<f32> = c64.iter().map(|&v| v as f32).collect();
            let w: Option<Vec<f32>> = w.map(|w| w.iter().map(|&v| v as f32).collect());
            center_gradient(view(&m, x, data)?, w.as_deref(), &cc, c.n, map, t, kind)
                .map_err(wctx)?
        }
        Values::F64(x) => center_gradient(
            view(&m, x, data)?,
            w.as_deref(),
            &c.to_f64(),
            c.n,
            map,
            t,
            kind,
        )
        .map_err(wctx)?,
    };
    let json = serde_json::json!({
        "format": "kmrbf-objective",
        "version": env!("CARGO_PKG_VERSION"),
        "data": data.display().to_string(),
        "centers": centers.display().to_string(),
        "map": map.name(),
        "kernel": flags.kernel,
        "sigma": sigma,
        "temperature": t.effective(),
        "k": c.n,
        "d": m.d,
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
            "values": rows_of(&g, m.d),
        },
    });
    let mut bytes = serde_json::to_vec_pretty(&json).expect("json");
    bytes.push(b'\n');
    let mut outs = Outputs::default();
    outs.add(out, bytes);
    outs.commit()
}

/// Arguments of `anneal`.
pub struct AnnealArgs {
    pub data: PathBuf,
    pub k: usize,
    pub flags: SoftFlags,
    pub init: String,
    pub seed: u64,
    pub sigma0: String,
    pub sigma_min: Option<f64>,
    pub gamma: f64,
    pub schedule: String,
    pub sigmas: Option<String>,
    pub no_warm_start: bool,
    pub step: String,
    pub lr: f64,
    pub gradient: String,
    pub tol: f64,
    pub stage_cap: usize,
    pub polish: bool,
    pub reference: bool,
    pub out: PathBuf,
    pub trace: Option<PathBuf>,
    pub labels: Option<PathBuf>,
    pub quiet: bool,
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
    check_out_dir(&a.out)?;
    for p in [&a.trace, &a.labels].into_iter().flatten() {
        check_out_dir(p)?;
    }
    let map = a.flags.map()?;
    let kernel = a.flags.kernel()?;
    if a.k == 0 {
        return Err(bad_input("--k = 0 is invalid: need at least one cluster"));
    }
    let sigma0 = match a.sigma0.as_str() {
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
    let schedule = match (a.schedule.as_str(), &a.sigmas) {
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
    let gradient: GradientKind = a.gradient.parse().map_err(|e| lib_error("--gradient", e))?;
    let step = StepKind::parse(&a.step, a.lr, gradient).map_err(|e| match &e {
        kmrbf::Error::BadParam { name: "lr", .. } => lib_error("--lr", e),
        _ => lib_error("--step", e),
    })?;
    if !(a.tol.is_finite() && a.tol >= 0.0) {
        return Err(bad_input(format!(
            "--tol = {} is invalid: must be finite and >= 0",
            a.tol
        )));
    }
    if a.stage_cap == 0 {
        return Err(bad_input("--stage-cap = 0 is invalid: must be >= 1"));
    }
    let mut m = load_matrix(&a.data)?;
    let init_centers = match a.init.as_str() {
        "k-means++" | "random" => None,
        path => Some(load_centers(Path::new(path), m.d, Some(a.k), "--init")?.to_f64()),
    };
    let shift = m.center_columns();
    let init_centers = init_centers.map(|c| shifted(&c, &shift, -1.0));
    let params = AnnealParams {
        map,
        kernel,
        sigma0,
        sigma_min: a.sigma_min,
        schedule,
        warm_start: !a.no_warm_start,
        step,
        tol: a.tol,
        stage_cap: a.stage_cap,
        polish: a.polish,
        reference: a.reference,
        seed: a.seed,
    };
    let progress = Progress::new(a.quiet);
    let files = match &m.values {
        Values::F32(x) => anneal_typed::<f32>(&a, &m, x, init_centers, &params, &progress, &shift)?,
        Values::F64(x) => anneal_typed::<f64>(&a, &m, x, init_centers, &params, &progress, &shift)?,
    };
    progress.finish();
    files.commit()
}

#[allow(clippy::too_many_arguments)]
fn anneal_typed<T: Real + Into<f64>>(
    a: &AnnealArgs,
    m: &Matrix,
    x: &[T],
    init_centers: Option<Vec<f64>>,
    params: &AnnealParams,
    progress: &Progress,
    shift: &[f64],
) -> CliResult<Outputs> {
    let v = view(m, x, &a.data)?;
    let init_kind = match (a.init.as_str(), init_centers) {
        (_, Some(c)) => Init::Centers(c.into_iter().map(T::from_f64).collect()),
        ("random", None) => Init::Random,
        _ => Init::KMeansPlusPlus,
    };
    let kp = KMeansParams::<T>::new(a.k).init(init_kind).seed(a.seed);
    let init = kp.initial_centers(v, None).map_err(|e| match &e {
        kmrbf::Error::BadK { .. } => lib_error("--k", e),
        _ => lib_error(&a.data.display().to_string(), e),
    })?;
    let mut observer = |s: &StageRecord| {
        progress.set(format!(
            "stage {} sigma {:.3e} steps {} J {:.6e}{}",
            s.stage,
            s.sigma,
            s.steps,
            s.objectives.j,
            s.discrepancy
                .map_or(String::new(), |d| format!(" discrepancy {d:.3e}"))
        ))
    };
    let r = anneal(v, None, &init, a.k, params, &mut observer).map_err(|e| match &e {
        kmrbf::Error::BadParam { name, .. } => {
            lib_error(&format!("--{}", name.replace('_', "-")), e)
        }
        _ => lib_error(&a.data.display().to_string(), e),
    })?;
    let mut outs = Outputs::default();
    outs.add(
        &a.out,
        model_json(a, m, &init, &r, params, shift).to_bytes(),
    );
    if let Some(t) = &a.trace {
        outs.add(t, trace_csv(&r.stages).into_bytes());
    }
    if let Some(l) = &a.labels {
        outs.add(l, npy::encode_labels(&r.labels));
    }
    Ok(outs)
}

fn stage_json(s: &StageRecord) -> serde_json::Value {
    let o = &s.objectives;
    serde_json::json!({
        "stage": s.stage, "sigma": s.sigma, "temperature": s.temperature, "steps": s.steps, "seconds": s.seconds,
        "J": o.j, "L": o.l, "F": o.f, "L_minus_J": o.l - o.j, "F_minus_J": o.f - o.j, "bound": o.bound,
        "mean_support": o.mean_support, "onehot_fraction": o.onehot_fraction,
        "last_move_sq": s.last_move_sq, "discrepancy": s.discrepancy, "ari": s.ari, "nmi": s.nmi,
    })
}

fn model_json<T: Real + Into<f64>>(
    a: &AnnealArgs,
    m: &Matrix,
    init: &[T],
    r: &AnnealResult<T>,
    params: &AnnealParams,
    shift: &[f64],
) -> ModelFile {
    let back = |c: &[f64]| rows_of(&shifted(c, shift, 1.0), m.d);
    let to64 = |c: &[T]| c.iter().map(|&v| v.into()).collect::<Vec<f64>>();
    let settings = serde_json::json!({
        "command": "anneal",
        "data": a.data.display().to_string(),
        "n": m.n,
        "map": params.map.name(),
        "kernel": a.flags.kernel,
        "init": a.init,
        "seed": a.seed,
        "sigma0": a.sigma0,
        "sigma0_value": r.sigma0,
        "sigma_min": a.sigma_min,
        "schedule": a.schedule,
        "gamma": a.gamma,
        "sigmas": a.sigmas,
        "warm_start": !a.no_warm_start,
        "step": a.step,
        "lr": a.lr,
        "gradient": a.gradient,
        "tol": a.tol,
        "stage_cap": a.stage_cap,
        "polish": a.polish,
        "polish_iters": r.polish_iters,
        "initial_centers": back(&to64(init)),
        "reference": r.reference.as_ref().map(|rf| serde_json::json!({
            "centers": back(&rf.centers), "inertia": rf.inertia, "n_iter": rf.n_iter,
        })),
        "stages": r.stages.iter().map(stage_json).collect::<Vec<_>>(),
    });
    ModelFile {
        format: "kmrbf-model".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        k: a.k,
        d: m.d,
        dtype: T::NAME.into(),
        centers: back(&to64(&r.centers)),
        inertia: r.inertia,
        n_iter: r.total_steps,
        settings,
    }
}

/// One CSV row per stage.
pub fn trace_csv(stages: &[StageRecord]) -> String {
    let mut s = String::from(
        "stage,sigma,temperature,steps,J,L,F,L_minus_J,bound,F_minus_J,mean_support,onehot_fraction,last_move_sq,discrepancy,ari,nmi\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:e}"));
    for st in stages {
        let o = &st.objectives;
        s.push_str(&format!(
            "{},{:e},{:e},{},{:e},{:e},{:e},{:e},{:e},{:e},{},{},{:e},{},{},{}\n",
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
            opt(st.ari),
            opt(st.nmi)
        ));
    }
    s
}
