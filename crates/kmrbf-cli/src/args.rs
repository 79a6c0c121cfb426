//! The closed sets of values the command line takes, as clap value enums: `--help` lists
//! them, clap refuses others (exit 2), and each keeps the name the library parses.

/// Defines a value enum whose variants carry their command-line names.
macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
        pub enum $name {
            $($(#[$vm])* #[value(name = $s)] $var),+
        }
        impl $name {
            /// The name on the command line (and in the files kmrbf writes).
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$var => $s),+
                }
            }
        }
    };
}
#[cfg(feature = "deep")]
pub(crate) use choice;

choice! {
    /// `--map`: the responsibility map.
    MapArg {
        /// One-hot at the nearest center.
        Hard => "hard",
        /// Max-shifted softmax of -D / temperature.
        Softmax => "softmax",
        /// alpha = 1.5: sparse, exactly one-hot when the two nearest differ by 2 sigma.
        Entmax15 => "entmax15",
        /// alpha = 2.
        Sparsemax => "sparsemax",
        /// General alpha in (1, 2], with --alpha (bisection).
        Entmax => "entmax",
    }
}

choice! {
    /// `--kernel`: how sigma enters the logits.
    KernelArg {
        /// z = -D / sigma.
        Temperature => "temperature",
        /// z = -D / (2 sigma^2).
        Bandwidth => "bandwidth",
    }
}

choice! {
    /// `--algorithm` of `fit`.
    AlgorithmArg {
        /// Lloyd on the fused kernel.
        Lloyd => "lloyd",
        /// Hamerly's bounds (same centers).
        Hamerly => "hamerly",
        /// Yinyang's group bounds (same labels and centers as Lloyd, bit for bit).
        Yinyang => "yinyang",
        /// Lloyd (measured faster here).
        Auto => "auto",
    }
}

choice! {
    /// `--schedule` of `anneal`.
    ScheduleArg {
        /// sigma <- gamma sigma.
        Geometric => "geometric",
        /// Deep k-Means' schedule.
        Dkm => "dkm",
    }
}

choice! {
    /// `--step` of `anneal`.
    StepArg {
        /// Closed form: c_k <- sum_i r_ik x_i / N_k.
        SoftLloyd => "soft-lloyd",
        /// Gradient step lr / (2 N_k).
        Gd => "gd",
        /// Gradient step lr.
        GdPlain => "gd-plain",
        /// Adam.
        Adam => "adam",
    }
}

choice! {
    /// `--gradient`: of F (stopgrad) or of L (full).
    GradientArg {
        /// The EM / envelope gradient, exact for F.
        Stopgrad => "stopgrad",
        /// Through the responsibilities' Jacobian, exact for L.
        Full => "full",
    }
}

choice! {
    /// `--isa`: the instruction-set tier the kernels run on.
    IsaArg {
        /// The widest tier this CPU runs.
        Auto => "auto",
        /// Plain loops (baseline x86-64, or any architecture).
        Portable => "portable",
        /// AVX2 + FMA (x86-64-v3).
        Avx2 => "avx2",
        /// AVX-512 (x86-64-v4).
        Avx512 => "avx512",
        /// AVX-512 with AMX tiles for the f32 assignment.
        Amx => "amx",
    }
}

/// The environment variable read when `--isa` is absent.
pub const ISA_ENV: &str = "KMRBF_ISA";

impl IsaArg {
    /// The tier: `auto` detects; a tier this CPU does not run is refused (exit 2).
    pub fn resolve(self) -> crate::fail::CliResult<kmrbf::Isa> {
        kmrbf::Isa::named(self.name()).map_err(|e| {
            crate::fail::bad_input(format!(
                "--isa: {e} (the widest tier here is {})",
                kmrbf::Isa::detect()
            ))
        })
    }

    /// `--isa` when given, else `KMRBF_ISA` when set (a name of `--isa`), else `auto`.
    pub fn from_flag_or_env(flag: Option<IsaArg>) -> crate::fail::CliResult<kmrbf::Isa> {
        if let Some(a) = flag {
            return a.resolve();
        }
        match std::env::var(ISA_ENV) {
            Ok(v) => {
                kmrbf::Isa::named(&v).map_err(|e| crate::fail::bad_input(format!("{ISA_ENV}: {e}")))
            }
            Err(_) => Ok(kmrbf::Isa::detect()),
        }
    }
}

/// What every command takes from the global flags.
#[derive(Clone, Copy, Debug)]
pub struct Global {
    /// `--quiet`: no progress output and no summary line.
    pub quiet: bool,
    /// `--isa` (or `KMRBF_ISA`), resolved.
    pub isa: kmrbf::Isa,
}

impl Default for Global {
    /// Not quiet, the widest tier here.
    fn default() -> Self {
        Self {
            quiet: false,
            isa: kmrbf::Isa::detect(),
        }
    }
}
