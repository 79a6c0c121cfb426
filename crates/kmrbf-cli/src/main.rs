//! `kmrbf`: the command line of kmrbf (DESIGN.md section 3).

use clap::{Parser, Subcommand};
use kmrbf_cli::fail::{self, CliResult};
use kmrbf_cli::{fit, reproduce, soft};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "kmrbf",
    version,
    about = "Exact fast K-Means and its differentiable RBF-network form"
)]
struct Cli {
    /// Worker threads (default: all cores). Results are bitwise the same for any count.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// No progress output and no summary line (errors and warnings still go to stderr).
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Fit K-Means (scikit-learn semantics) and write the model (JSON) and labels.
    Fit {
        /// Data: a .npy (2-D f32/f64) or .csv file, or builtin:iris / builtin:digits.
        #[arg(long)]
        data: PathBuf,
        /// Number of clusters.
        #[arg(long)]
        k: usize,
        /// k-means++, random, or a .npy/.csv file of k x d initial centers.
        #[arg(long, default_value = "k-means++")]
        init: String,
        /// Restarts (default: 1 for k-means++ and given centers, 10 for random).
        #[arg(long)]
        n_init: Option<usize>,
        /// Seed of the initialization.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Iteration cap per restart.
        #[arg(long, default_value_t = 300)]
        max_iter: usize,
        /// Relative tolerance on the center shift (times the mean feature variance).
        #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true)]
        tol: f64,
        /// lloyd, hamerly or auto.
        #[arg(long, default_value = "auto")]
        algorithm: String,
        /// 1-D .npy of per-row sample weights (>= 0).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Model file to write (JSON).
        #[arg(long)]
        out: PathBuf,
        /// Labels of the training rows to write (int64 .npy).
        #[arg(long)]
        labels: Option<PathBuf>,
    },
    /// Label new data with a fitted model (nearest center).
    Predict {
        /// Model file written by `fit`.
        #[arg(long)]
        model: PathBuf,
        /// Data: .npy or .csv with the model's number of columns.
        #[arg(long)]
        data: PathBuf,
        /// Labels to write (int64 .npy).
        #[arg(long)]
        out: PathBuf,
    },
    /// Responsibilities of new data under a model's centers (n x k .npy).
    Transform {
        /// Model file (from `fit` or `anneal`).
        #[arg(long)]
        model: PathBuf,
        /// Data: .npy or .csv with the model's number of columns.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        soft: SoftArgs,
        /// Temperature (> 0), in units of squared distance: rows are one-hot where the two
        /// nearest centers' squared distances differ by more than about sigma (2 sigma for
        /// entmax15); `objective` reports the one-hot fraction.
        #[arg(long, allow_negative_numbers = true)]
        sigma: f64,
        /// Responsibilities to write (.npy, the data's precision).
        #[arg(long)]
        out: PathBuf,
    },
    /// J, L, F, their bounds and the gradient for given centers (JSON).
    Objective {
        /// Data: .npy or .csv.
        #[arg(long)]
        data: PathBuf,
        /// k x d centers (.npy or .csv), or a model file (.json) written by fit or anneal.
        #[arg(long)]
        centers: PathBuf,
        /// 1-D .npy of per-row sample weights (>= 0).
        #[arg(long)]
        weights: Option<PathBuf>,
        #[command(flatten)]
        soft: SoftArgs,
        /// Temperature (> 0).
        #[arg(long, allow_negative_numbers = true)]
        sigma: f64,
        /// stopgrad (gradient of F) or full (gradient of L).
        #[arg(long, default_value = "stopgrad")]
        gradient: String,
        /// JSON to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// The paper's experiments on built-in data: a report with figures and tables.
    Reproduce {
        /// Directory to write (report.html, figures, table.csv/md, run.json).
        #[arg(long, default_value = "report")]
        out: PathBuf,
        /// Seeds (inits and synthetic draws) per data set.
        #[arg(long, default_value_t = 3)]
        seeds: usize,
        /// A smaller sigma grid (12 points instead of 18) for a fast check.
        #[arg(long)]
        quick: bool,
        /// Your data set (.npy or .csv) instead of the built-in ones (with --k): the
        /// experiments on a sample of its rows, and the equivalence on all of them.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Number of clusters of --data.
        #[arg(long)]
        k: Option<usize>,
        /// Rows of --data the sweeps and figures run on (a uniform sample when it has more).
        #[arg(long, default_value_t = 10_000)]
        sample: usize,
    },
    /// Anneal the RBF model's temperature from a K-Means init down to the K-Means limit.
    Anneal {
        /// Data: .npy or .csv, or builtin:iris / builtin:digits.
        #[arg(long)]
        data: PathBuf,
        /// Number of centers.
        #[arg(long)]
        k: usize,
        #[command(flatten)]
        soft: SoftArgs,
        /// k-means++, random, or a file of k x d initial centers.
        #[arg(long, default_value = "k-means++")]
        init: String,
        /// Seed of the initialization (the same init as `fit --seed`).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// auto (lands on Lloyd's fixed point), median (a soft start), critical, or a number.
        #[arg(long, default_value = "auto", allow_negative_numbers = true)]
        sigma0: String,
        /// Last temperature (default sigma0 * 1e-4).
        #[arg(long, allow_negative_numbers = true)]
        sigma_min: Option<f64>,
        /// Ratio of the geometric schedule, in (0, 1).
        #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
        gamma: f64,
        /// geometric or dkm.
        #[arg(long, default_value = "geometric")]
        schedule: String,
        /// Explicit decreasing temperatures, comma-separated (overrides the schedule).
        #[arg(long)]
        sigmas: Option<String>,
        /// Train every temperature from the init (a sweep) instead of warm-starting.
        #[arg(long)]
        no_warm_start: bool,
        /// soft-lloyd, gd (lr / 2N_k scaling), gd-plain or adam.
        #[arg(long, default_value = "soft-lloyd")]
        step: String,
        /// Learning rate of gd / adam.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        lr: f64,
        /// Gradient for gd / adam: stopgrad (of F) or full (of L).
        #[arg(long, default_value = "stopgrad")]
        gradient: String,
        /// A stage ends when the largest squared center move <= tol * mean feature variance.
        #[arg(long, default_value_t = 1e-14, allow_negative_numbers = true)]
        tol: f64,
        /// At most this many steps per temperature.
        #[arg(long, default_value_t = 1000)]
        stage_cap: usize,
        /// Finish with hard Lloyd iterations.
        #[arg(long)]
        polish: bool,
        /// Also run K-Means from the same init and record the discrepancy per stage.
        #[arg(long)]
        reference: bool,
        /// 1-D .npy of per-row sample weights (>= 0).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Model file to write (JSON, with the stage records).
        #[arg(long)]
        out: PathBuf,
        /// One CSV row per stage. `discrepancy` (with --reference) is the largest distance
        /// between matched centers in data units; `discrepancy_rel` divides it by the largest
        /// |coordinate| of the K-Means centers, as the report does.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Hard labels under the final centers (int64 .npy).
        #[arg(long)]
        labels: Option<PathBuf>,
    },
}

/// Map, kernel convention and alpha of the soft commands.
#[derive(clap::Args)]
struct SoftArgs {
    /// softmax, entmax15, sparsemax, entmax (with --alpha) or hard.
    #[arg(long, default_value = "entmax15")]
    map: String,
    /// alpha of `--map entmax`, in (1, 2].
    #[arg(long, allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// temperature (z = -D / sigma) or bandwidth (z = -D / (2 sigma^2)).
    #[arg(long, default_value = "temperature")]
    kernel: String,
}

impl SoftArgs {
    fn flags(self) -> soft::SoftFlags {
        soft::SoftFlags {
            map: self.map,
            alpha: self.alpha,
            kernel: self.kernel,
        }
    }
}

fn run(cli: Cli) -> CliResult<()> {
    if let Some(t) = cli.threads {
        if t == 0 {
            return Err(fail::bad_input("--threads = 0 is invalid: must be >= 1"));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| fail::internal(format!("cannot start {t} threads: {e}")))?;
    }
    match cli.cmd {
        Cmd::Fit {
            data,
            k,
            init,
            n_init,
            seed,
            max_iter,
            tol,
            algorithm,
            weights,
            out,
            labels,
        } => fit::fit(fit::FitArgs {
            data,
            k,
            init,
            n_init,
            seed,
            max_iter,
            tol,
            algorithm,
            weights,
            out,
            labels,
            quiet: cli.quiet,
        }),
        Cmd::Predict { model, data, out } => fit::predict(&model, &data, &out, cli.quiet),
        Cmd::Reproduce {
            out,
            seeds,
            quick,
            data,
            k,
            sample,
        } => reproduce::reproduce(reproduce::ReproduceArgs {
            out,
            seeds,
            quick,
            quiet: cli.quiet,
            data,
            k,
            sample,
        }),
        Cmd::Transform {
            model,
            data,
            soft,
            sigma,
            out,
        } => soft::transform(&model, &data, &soft.flags(), sigma, &out, cli.quiet),
        Cmd::Objective {
            data,
            centers,
            weights,
            soft,
            sigma,
            gradient,
            out,
        } => soft::objective(
            &data,
            &centers,
            weights.as_deref(),
            &soft.flags(),
            sigma,
            &gradient,
            &out,
            cli.quiet,
        ),
        Cmd::Anneal {
            data,
            k,
            soft,
            init,
            seed,
            sigma0,
            sigma_min,
            gamma,
            schedule,
            sigmas,
            no_warm_start,
            step,
            lr,
            gradient,
            tol,
            stage_cap,
            polish,
            reference,
            weights,
            out,
            trace,
            labels,
        } => soft::run_anneal(soft::AnnealArgs {
            data,
            k,
            flags: soft.flags(),
            init,
            seed,
            sigma0,
            sigma_min,
            gamma,
            schedule,
            sigmas,
            no_warm_start,
            step,
            lr,
            gradient,
            tol,
            stage_cap,
            polish,
            reference,
            weights,
            out,
            trace,
            labels,
            quiet: cli.quiet,
        }),
    }
}

fn main() {
    // Before any thread starts: interrupts remove temporary outputs.
    kmrbf_cli::interrupt::install();
    let cli = Cli::parse();
    let code = match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("kmrbf: error: {e}");
            e.code
        }
        Err(_) => {
            eprintln!("kmrbf: internal error (a bug: please report it)");
            1
        }
    };
    std::process::exit(code);
}
