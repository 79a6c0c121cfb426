//! `kmrbf deep`: deep clustering, an autoencoder trained jointly with the RBF head
//! (`kmrbf_burn::deep`), beside K-Means on the input and the two-stage autoencoder + K-Means.
//!
//! Layout of `--out`: the run of `--seed` at the top (`model.bpk`, `labels.npy`,
//! `embedding.npy`, `centers.npy`, `checkpoint/`), further seeds (`--seeds`) in `seed-<s>/`,
//! and for all of them `metrics.json`, `report.html` and its figures. Every file is written
//! through a temporary and a rename; checkpoints are written after every epoch (they survive an
//! interruption: `--resume` continues from them). Bad input is refused before anything is
//! written.

mod report;

use crate::args::Global;
use crate::fail::{bad_input, internal, CliError, CliResult};
use crate::matrix::Values;
use kmrbf_burn::deep::{DeepFit, DeepParams, EpochRecord, HeadLoss, Scale, Scores, Trainer};
use kmrbf_burn::{Map, TemperatureSchedule};
use std::path::{Path, PathBuf};
use std::time::Instant;

crate::args::choice! {
    /// `--map` of `deep`: the head's responsibility map.
    DeepMapArg {
        /// Dense.
        Softmax => "softmax",
        /// alpha = 1.5, sparse.
        Entmax15 => "entmax15",
        /// alpha = 2, sparse.
        Sparsemax => "sparsemax",
    }
}

crate::args::choice! {
    /// `--loss`: the head's objective.
    LossArg {
        /// The free energy (gradient r).
        F => "f",
        /// The smooth loss (Deep k-Means).
        L => "l",
    }
}

crate::args::choice! {
    /// `--scale`: how inputs are scaled.
    ScaleArg {
        /// Divide by the largest |x|.
        MaxAbs => "max-abs",
        /// Per-column z-scores.
        Standard => "standard",
        /// As given.
        None => "none",
    }
}

crate::args::choice! {
    /// `--schedule`: how the temperature falls over the joint epochs.
    ScheduleArg {
        /// sigma0 * gamma^epoch down to sigma0 * 1e-3.
        Geometric => "geometric",
        /// Deep k-Means' schedule on 1 / sigma.
        Dkm => "dkm",
    }
}

/// Arguments of `deep`.
#[derive(clap::Args)]
pub struct DeepArgs {
    /// Data: .npy or .csv (rows x features), or builtin:iris / builtin:digits.
    #[arg(long)]
    pub data: PathBuf,
    /// Number of clusters.
    #[arg(long)]
    pub k: usize,
    /// True labels (.npy or .csv, one per row) for ACC / NMI / ARI; built-in data bring theirs.
    #[arg(long)]
    pub true_labels: Option<PathBuf>,
    /// The head's responsibility map.
    #[arg(long, value_enum, default_value = "entmax15")]
    pub map: DeepMapArg,
    /// The head's objective added to the reconstruction error.
    #[arg(long, value_enum, default_value = "f")]
    pub loss: LossArg,
    /// Weight of the head's objective.
    #[arg(long, default_value_t = 0.01)]
    pub lambda: f64,
    /// Center steps with responsibilities balanced to equal cluster masses (Sinkhorn) instead
    /// of the soft-lloyd step: a prior of equal cluster sizes.
    #[arg(long)]
    pub balanced: bool,
    /// Epochs of reconstruction only.
    #[arg(long, default_value_t = 200)]
    pub pretrain_epochs: usize,
    /// Epochs of joint training.
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    /// Hidden widths of the encoder, comma-separated (the decoder mirrors them).
    #[arg(long, default_value = "500,500,2000", value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// Embedding width.
    #[arg(long, default_value_t = 10)]
    pub embedding: usize,
    /// Rows per batch.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// How the temperature falls.
    #[arg(long, value_enum, default_value = "geometric")]
    pub schedule: ScheduleArg,
    /// First temperature (sigma). Default: the 5% quantile of the gap between the two
    /// nearest squared distances on the pretrained embedding (most rows start one-hot).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// An explicit list of temperatures, one per joint epoch (the last one repeats).
    #[arg(long, value_delimiter = ',')]
    pub temperatures: Option<Vec<f64>>,
    /// Input scaling.
    #[arg(long, value_enum, default_value = "max-abs")]
    pub scale: ScaleArg,
    /// Seed (initialization, batch order, K-Means).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Runs with seeds seed, seed + 1, ...: the report gives mean and spread.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Continue the runs checkpointed in this folder (a previous --out).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// The global flags.
    #[arg(skip)]
    pub global: Global,
}

/// One seed's results.
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// K-Means on the (scaled) input, same seed, n_init 10.
    pub kmeans: Option<Scores>,
    /// The fit.
    pub fit: DeepFit,
    /// The final scores.
    pub deep: Option<Scores>,
    /// Seconds of the run.
    pub seconds: f64,
}

fn seed_dir(out: &Path, first: u64, seed: u64) -> PathBuf {
    if seed == first {
        out.to_path_buf()
    } else {
        out.join(format!("seed-{seed}"))
    }
}

fn load_truth(a: &DeepArgs, n: usize) -> CliResult<Option<Vec<u32>>> {
    let given = match &a.true_labels {
        Some(p) => {
            let v = if p.extension().is_some_and(|x| x == "npy") {
                crate::npy::read_vector(p)?
            } else {
                // One label per line, as the data reader reads a one-column CSV.
                let m = crate::files::load_matrix(p)?;
                if m.d != 1 {
                    return Err(bad_input(format!(
                        "--true-labels {}: {} columns; expected one label per row",
                        p.display(),
                        m.d
                    )));
                }
                m.to_f64()
            };
            let mut out = Vec::with_capacity(v.len());
            for (i, x) in v.iter().enumerate() {
                if !(x.is_finite() && *x >= 0.0 && x.fract() == 0.0 && *x < u32::MAX as f64) {
                    return Err(bad_input(format!(
                        "--true-labels {}: row {i}: {x} is not a non-negative integer label",
                        p.display()
                    )));
                }
                out.push(*x as u32);
            }
            Some((p.display().to_string(), out))
        }
        None => a
            .data
            .to_str()
            .and_then(|s| s.strip_prefix("builtin:"))
            .map(|name| (a.data.display().to_string(), crate::builtin::labels(name)))
            .filter(|(_, v)| !v.is_empty()),
    };
    match given {
        Some((name, v)) if v.len() != n => Err(bad_input(format!(
            "--true-labels {name}: {} labels for {n} rows of --data",
            v.len()
        ))),
        Some((_, v)) => Ok(Some(v)),
        None => Ok(None),
    }
}

fn params(a: &DeepArgs, seed: u64, threads: Option<usize>) -> CliResult<DeepParams> {
    let mut p = DeepParams::new(a.k);
    p.map = match a.map {
        DeepMapArg::Softmax => Map::Softmax,
        DeepMapArg::Entmax15 => Map::Entmax15,
        DeepMapArg::Sparsemax => Map::Sparsemax,
    };
    p.head_loss = match a.loss {
        LossArg::F => HeadLoss::F,
        LossArg::L => HeadLoss::L,
    };
    p.scale = match a.scale {
        ScaleArg::MaxAbs => Scale::MaxAbs,
        ScaleArg::Standard => Scale::Standard,
        ScaleArg::None => Scale::None,
    };
    p.lambda = a.lambda;
    p.balanced = a.balanced;
    p.pretrain_epochs = a.pretrain_epochs;
    p.epochs = a.epochs;
    p.hidden = a.hidden.clone();
    p.embedding = a.embedding;
    p.batch_size = a.batch_size;
    p.lr = a.lr;
    p.seed = seed;
    p.threads = threads;
    if let Some(t) = a.temperature {
        if !(t.is_finite() && t > 0.0) {
            return Err(bad_input(format!(
                "--temperature = {t} is invalid: must be finite and > 0"
            )));
        }
    }
    p.schedule = match (&a.temperatures, a.temperature, a.schedule) {
        (Some(list), _, _) => Some(TemperatureSchedule::List {
            sigmas: list.clone(),
        }),
        (None, Some(t), ScheduleArg::Geometric) => Some(TemperatureSchedule::Geometric {
            sigma0: t,
            gamma: 1e-3f64.powf(1.0 / (a.epochs.max(2) - 1) as f64),
            sigma_min: t * 1e-3,
        }),
        (None, Some(t), ScheduleArg::Dkm) => Some(TemperatureSchedule::Dkm { sigma0: t }),
        (None, None, ScheduleArg::Geometric) => None,
        (None, None, ScheduleArg::Dkm) => {
            return Err(bad_input(
                "--schedule dkm needs --temperature (its first sigma)",
            ))
        }
    };
    p.sigma0_quantile = 0.05;
    Ok(p)
}

fn lib_err(e: kmrbf_burn::Error) -> CliError {
    match e {
        kmrbf_burn::Error::Interrupted => internal("interrupted"),
        other => bad_input(other.to_string()),
    }
}

/// Runs `kmrbf deep`.
pub fn deep(a: DeepArgs) -> CliResult<()> {
    let started = Instant::now();
    let m = crate::files::load_matrix(&a.data)?;
    let (n, d) = (m.n, m.d);
    let x: Vec<f32> = match &m.values {
        Values::F32(v) => v.clone(),
        Values::F64(v) => v.iter().map(|v| *v as f32).collect(),
    };
    let truth = load_truth(&a, n)?;
    if a.seeds == 0 {
        return Err(bad_input("--seeds = 0 is invalid: must be >= 1"));
    }
    let threads = Some(rayon::current_num_threads());
    let seeds: Vec<u64> = (0..a.seeds as u64).map(|i| a.seed + i).collect();
    // Every check before the first write: parameters, data, and the checkpoints to resume.
    let mut trainers = Vec::new();
    for &s in &seeds {
        let p = params(&a, s, threads)?;
        let t = Trainer::new(p, &x, n, d, truth.as_deref()).map_err(|e| {
            bad_input(match e {
                kmrbf_burn::Error::BadParam {
                    name,
                    value,
                    reason,
                } => {
                    format!(
                        "--{} = {value} is invalid: {reason}",
                        name.replace('_', "-")
                    )
                }
                other => other.to_string(),
            })
        })?;
        if let Some(dir) = &a.resume {
            let ck = seed_dir(dir, a.seed, s).join("checkpoint");
            t.check_resume(&ck).map_err(lib_err)?;
        }
        trainers.push(t);
    }
    std::fs::create_dir_all(&a.out)
        .map_err(|e| bad_input(format!("--out {}: cannot create: {e}", a.out.display())))?;
    let progress = crate::progress::Progress::new(a.global.quiet);
    let mut runs = Vec::new();
    for (t, &s) in trainers.into_iter().zip(&seeds) {
        let dir = seed_dir(&a.out, a.seed, s);
        let t0 = Instant::now();
        let kmeans = truth.as_ref().map(|tr| {
            let xs = kmrbf_burn::deep::train::scaled(&x, n, d, t.params().scale);
            let km = kmrbf::KMeansParams::new(a.k)
                .n_init(10)
                .seed(s)
                .isa(a.global.isa)
                .fit(kmrbf::MatView::new(&xs, n, d).expect("checked"), None)
                .expect("checked data");
            Scores::of(tr, km.labels())
        });
        let total = a.pretrain_epochs + a.epochs;
        let resume = a
            .resume
            .as_ref()
            .map(|r| seed_dir(r, a.seed, s).join("checkpoint"));
        let t = t.checkpoint_into(&dir.join("checkpoint"));
        let fit = t
            .run(resume.as_deref(), &mut |r: &EpochRecord| {
                progress.set(format!(
                    "seed {s}: epoch {}/{total} ({}){}",
                    r.epoch + 1,
                    r.phase,
                    r.acc.map(|v| format!(", ACC {v:.3}")).unwrap_or_default()
                ))
            })
            .map_err(lib_err)?;
        let deep = truth.as_ref().map(|tr| Scores::of(tr, &fit.labels));
        write_seed(&dir, &fit, a.k)?;
        runs.push(SeedRun {
            seed: s,
            kmeans,
            fit,
            deep,
            seconds: t0.elapsed().as_secs_f64(),
        });
    }
    progress.finish();
    report::write(&a, &runs, n, d, started.elapsed().as_secs_f64())?;
    if !a.global.quiet {
        eprintln!("{}", report::summary(&runs));
        eprintln!(
            "kmrbf deep: {} seed(s) in {:.1} s; wrote {}",
            runs.len(),
            started.elapsed().as_secs_f64(),
            a.out.join("report.html").display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary and a rename.
pub fn write_file(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| bad_input(format!("{}: cannot write: {e}", path.display())))
}

fn write_seed(dir: &Path, fit: &DeepFit, k: usize) -> CliResult<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| bad_input(format!("{}: cannot create: {e}", dir.display())))?;
    let n = fit.labels.len();
    let e = fit.embedding.len() / n.max(1);
    write_file(
        &dir.join("labels.npy"),
        &crate::npy::encode_labels(&fit.labels),
    )?;
    write_file(
        &dir.join("embedding.npy"),
        &crate::npy::encode_f32(&fit.embedding, &[n, e]),
    )?;
    write_file(
        &dir.join("centers.npy"),
        &crate::npy::encode_f32(&fit.centers, &[k, e]),
    )?;
    fit.model
        .save(&dir.join("model.bpk"))
        .map_err(|e| internal(e.to_string()))
}
