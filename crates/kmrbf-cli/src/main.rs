//! `kmrbf`: the command line of kmrbf (DESIGN.md section 3).

mod builtin;
mod csvfile;
mod fail;
mod files;
mod fit;
mod matrix;
mod model_file;
mod npy;
mod progress;

use clap::{Parser, Subcommand};
use fail::CliResult;
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
    /// No progress output.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

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
        Cmd::Predict { model, data, out } => fit::predict(&model, &data, &out),
    }
}

fn main() {
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
