//! `kmrbf fit` and `kmrbf predict`.

use crate::fail::{bad_input, lib_error, CliResult};
use crate::files::{check_out_dir, load_matrix, Outputs};
use crate::matrix::{shifted, Matrix, Values};
use crate::model_file::{rows_of, ModelFile};
use crate::npy;
use crate::progress::Progress;
use kmrbf::{Algorithm, Init, KMeansParams, MatView, Real};
use std::path::{Path, PathBuf};

/// Arguments of `fit`, already parsed.
pub struct FitArgs {
    pub data: PathBuf,
    pub k: usize,
    pub init: String,
    pub n_init: Option<usize>,
    pub seed: u64,
    pub max_iter: usize,
    pub tol: f64,
    pub algorithm: String,
    pub weights: Option<PathBuf>,
    pub out: PathBuf,
    pub labels: Option<PathBuf>,
    pub quiet: bool,
}

/// Runs `fit`.
pub fn fit(a: FitArgs) -> CliResult<()> {
    check_out_dir(&a.out)?;
    if let Some(l) = &a.labels {
        check_out_dir(l)?;
    }
    let algorithm: Algorithm = a
        .algorithm
        .parse()
        .map_err(|e| lib_error("--algorithm", e))?;
    if a.k == 0 {
        return Err(bad_input("--k = 0 is invalid: need at least one cluster"));
    }
    let mut m = load_matrix(&a.data)?;
    let shift = m.center_columns();
    let weights = match &a.weights {
        Some(p) => Some(npy::read_vector(p)?),
        None => None,
    };
    let init_centers = match a.init.as_str() {
        "k-means++" | "random" => None,
        path => {
            let c = load_matrix(Path::new(path))?;
            if c.n != a.k || c.d != m.d {
                return Err(bad_input(format!(
                    "--init {path}: expected centers of shape {} x {} (k x columns of the data), got {} x {}",
                    a.k, m.d, c.n, c.d
                )));
            }
            Some(shifted(&c.to_f64(), &shift, -1.0))
        }
    };
    let progress = Progress::new(a.quiet);
    let (bytes, labels) = match &m.values {
        Values::F32(x) => run_fit::<f32>(
            &a,
            &m,
            x,
            weights,
            init_centers,
            algorithm,
            &progress,
            &shift,
        )?,
        Values::F64(x) => run_fit::<f64>(
            &a,
            &m,
            x,
            weights,
            init_centers,
            algorithm,
            &progress,
            &shift,
        )?,
    };
    progress.finish();
    let mut out = Outputs::default();
    out.add(&a.out, bytes);
    if let Some(l) = &a.labels {
        out.add(l, npy::encode_labels(&labels));
    }
    out.commit()
}

#[allow(clippy::too_many_arguments)]
fn run_fit<T: Real + Into<f64>>(
    a: &FitArgs,
    m: &Matrix,
    x: &[T],
    weights: Option<Vec<f64>>,
    init_centers: Option<Vec<f64>>,
    algorithm: Algorithm,
    progress: &Progress,
    shift: &[f64],
) -> CliResult<(Vec<u8>, Vec<u32>)> {
    let init = match (a.init.as_str(), init_centers) {
        (_, Some(c)) => Init::Centers(c.into_iter().map(T::from_f64).collect()),
        ("random", None) => Init::Random,
        _ => Init::KMeansPlusPlus,
    };
    let mut params = KMeansParams::<T>::new(a.k)
        .init(init)
        .seed(a.seed)
        .max_iter(a.max_iter)
        .tol(a.tol)
        .algorithm(algorithm);
    if let Some(n) = a.n_init {
        params = params.n_init(n);
    }
    let w: Option<Vec<T>> = weights.map(|w| w.into_iter().map(T::from_f64).collect());
    let view =
        MatView::new(x, m.n, m.d).map_err(|e| lib_error(&a.data.display().to_string(), e))?;
    let ctx = |e: kmrbf::Error| -> crate::fail::CliError {
        let what = match &e {
            kmrbf::Error::BadWeight { .. }
            | kmrbf::Error::WeightCount { .. }
            | kmrbf::Error::ZeroTotalWeight => {
                format!(
                    "--weights {}",
                    a.weights
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                )
            }
            kmrbf::Error::BadK { .. } => "--k".to_string(),
            kmrbf::Error::BadParam { name, .. } => format!("--{}", name.replace('_', "-")),
            kmrbf::Error::InitShape { .. } => format!("--init {}", a.init),
            _ => a.data.display().to_string(),
        };
        lib_error(&what, e)
    };
    let model = params
        .fit_observed(view, w.as_deref(), &|info| {
            progress.set(format!(
                "iteration {} center shift {:.3e}",
                info.iter, info.center_shift
            ))
        })
        .map_err(ctx)?;
    let settings = serde_json::json!({
        "command": "fit",
        "data": a.data.display().to_string(),
        "n": m.n,
        "init": a.init,
        "n_init": params.effective_n_init(),
        "seed": a.seed,
        "max_iter": a.max_iter,
        "tol": a.tol,
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
        centers: rows_of(
            &shifted(
                &model
                    .centers()
                    .iter()
                    .map(|&v| v.into())
                    .collect::<Vec<f64>>(),
                shift,
                1.0,
            ),
            m.d,
        ),
        inertia: model.inertia(),
        n_iter: model.n_iter(),
        settings,
    };
    Ok((file.to_bytes(), model.labels().to_vec()))
}

/// Runs `predict`: labels of the rows of `data` under the model's centers.
pub fn predict(model: &Path, data: &Path, out: &Path) -> CliResult<()> {
    check_out_dir(out)?;
    let (mf, m, c) = crate::model_file::load_for_prediction(model, data)?;
    let ctx = |e| lib_error(&data.display().to_string(), e);
    let labels = match &m.values {
        Values::F32(x) => {
            let c: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            kmrbf::kmeans::predict(&c, mf.k, MatView::new(x, m.n, m.d).map_err(ctx)?)
                .map_err(ctx)?
        }
        Values::F64(x) => kmrbf::kmeans::predict(&c, mf.k, MatView::new(x, m.n, m.d).map_err(ctx)?)
            .map_err(ctx)?,
    };
    let mut o = Outputs::default();
    o.add(out, npy::encode_labels(&labels));
    o.commit()
}
