//! `kmrbf`: the command line of kmrbf (DESIGN.md section 3).

use clap::{Parser, Subcommand};
use kmrbf_cli::args::{Global, IsaArg};
use kmrbf_cli::fail::{self, CliResult};
use kmrbf_cli::{fit, reproduce, soft};

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
    /// Instruction-set tier of the kernels (default: the widest this CPU runs; the
    /// environment variable KMRBF_ISA is read when the flag is absent). Every tier gives the
    /// same labels and centers; the soft maps agree to rounding.
    #[arg(long, global = true, value_enum)]
    isa: Option<IsaArg>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fit K-Means (scikit-learn semantics) and write the model (JSON) and labels.
    Fit(fit::FitArgs),
    /// Label new data with a fitted model (nearest center).
    Predict(fit::PredictArgs),
    /// Responsibilities of new data under a model's centers (n x k .npy).
    Transform(soft::TransformArgs),
    /// J, L, F, their bounds and the gradient for given centers (JSON).
    Objective(soft::ObjectiveArgs),
    /// The paper's experiments (on built-in data, or on yours with --data): a report.
    Reproduce(reproduce::ReproduceArgs),
    /// Anneal the RBF model's temperature from a K-Means init down to the K-Means limit.
    Anneal(soft::AnnealArgs),
    /// Deep clustering: an autoencoder trained jointly with the RBF head (burn).
    #[cfg(feature = "deep")]
    Deep(kmrbf_cli::deep::DeepArgs),
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
    let global = Global {
        quiet: cli.quiet,
        isa: IsaArg::from_flag_or_env(cli.isa)?,
    };
    match cli.cmd {
        Cmd::Fit(a) => fit::fit(fit::FitArgs { global, ..a }),
        Cmd::Predict(a) => fit::predict(&fit::PredictArgs { global, ..a }),
        Cmd::Transform(a) => soft::transform(&soft::TransformArgs { global, ..a }),
        Cmd::Objective(a) => soft::objective(&soft::ObjectiveArgs { global, ..a }),
        Cmd::Reproduce(a) => reproduce::reproduce(reproduce::ReproduceArgs { global, ..a }),
        Cmd::Anneal(a) => soft::run_anneal(soft::AnnealArgs { global, ..a }),
        #[cfg(feature = "deep")]
        Cmd::Deep(a) => kmrbf_cli::deep::deep(kmrbf_cli::deep::DeepArgs { global, ..a }),
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
