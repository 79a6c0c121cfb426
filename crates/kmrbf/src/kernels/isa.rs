//! The instruction-set tier a computation runs on, detected once and passed explicitly.
//!
//! Every kernel with a vector path takes an [`Isa`]. A value of that type is proof that the
//! CPU runs its tier: the only ways to make one are [`Isa::detect`] (the widest tier here),
//! [`Isa::new`] (a named tier, refused when the CPU lacks one of its features) and
//! [`Isa::portable`]. So a kernel that receives `Isa` with tier [`Tier::Avx512`] may call code
//! compiled with every feature of [`AVX512_FEATURES`] without checking again.
//!
//! The tiers nest: `Portable < Avx2 < Avx512 < Amx`; a kernel uses the widest path its tier
//! allows. Every tier gives the same labels; the soft maps agree to rounding (see
//! `docs/NOTES.md`). The library reads no environment variable: the command line's `--isa`
//! (or `KMRBF_ISA`) becomes an `Isa` in the params.

use crate::error::{Error, Result};

/// The CPU features of the AVX-512 tier. Every `target_feature` list of an AVX-512 kernel is
/// a subset of it (a test reads every such attribute under `kernels/`), and detection checks
/// exactly these, so no kernel runs with a feature the CPU lacks.
pub const AVX512_FEATURES: &str =
    "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi1,bmi2,lzcnt,popcnt";

/// The CPU features of the AVX2 + FMA tier (x86-64-v3), with the same contract as
/// [`AVX512_FEATURES`] for the AVX2 kernels.
pub const AVX2_FEATURES: &str = "avx2,fma,bmi1,bmi2,lzcnt,popcnt";

/// The CPU features of the AMX tier's `target_feature` lists besides the tile instructions
/// (which are inline assembly, checked through CPUID and the OS permission).
pub const AMX_FEATURES: &str =
    "avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,avx2,fma,bmi1,bmi2,lzcnt,popcnt";

/// A named instruction-set tier, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Baseline x86-64 (SSE2) or any other architecture: plain loops.
    Portable,
    /// AVX2 + FMA (x86-64-v3; AMD Zen 1-3, Intel since Haswell).
    Avx2,
    /// AVX-512 F/VL/DQ/BW (x86-64-v4; Intel Skylake-SP and later, AMD Zen 4 and later).
    Avx512,
    /// AVX-512 plus AMX-BF16 tiles with the OS permission (Intel Sapphire Rapids and later):
    /// the f32 assignment screens on the tile unit.
    Amx,
}

impl Tier {
    /// Every tier, narrowest first.
    pub const ALL: [Tier; 4] = [Tier::Portable, Tier::Avx2, Tier::Avx512, Tier::Amx];

    /// The name used by the command line and the docs: `portable`, `avx2`, `avx512`, `amx`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Portable => "portable",
            Tier::Avx2 => "avx2",
            Tier::Avx512 => "avx512",
            Tier::Amx => "amx",
        }
    }

    /// The tier called `name` (see [`Tier::name`]).
    pub fn parse(name: &str) -> Result<Tier> {
        Tier::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| Error::BadParam {
                name: "isa",
                value: name.to_string(),
                reason: "expected portable, avx2, avx512 or amx",
            })
    }

    /// Whether this CPU (and OS, for AMX) runs the tier (detected once, then cached).
    pub fn supported(self) -> bool {
        static DETECTED: std::sync::OnceLock<Tier> = std::sync::OnceLock::new();
        self <= *DETECTED.get_or_init(widest)
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A tier this CPU runs (see the module docs: holding one is the proof).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Isa(Tier);

impl Isa {
    /// The widest tier this CPU runs.
    pub fn detect() -> Isa {
        Tier::ALL
            .into_iter()
            .rev()
            .find(|t| t.supported())
            .map_or(Isa(Tier::Portable), Isa)
    }

    /// `tier`, or [`Error::BadParam`] naming the tier when this CPU does not run it.
    pub fn new(tier: Tier) -> Result<Isa> {
        if tier.supported() {
            Ok(Isa(tier))
        } else {
            Err(Error::BadParam {
                name: "isa",
                value: tier.name().to_string(),
                reason: "this CPU does not run that tier",
            })
        }
    }

    /// The tier called `name` (`portable`, `avx2`, `avx512`, `amx`; `auto`: [`Isa::detect`]),
    /// checked as [`Isa::new`]: what `--isa` and `KMRBF_ISA` name.
    pub fn named(name: &str) -> Result<Isa> {
        if name == "auto" {
            return Ok(Isa::detect());
        }
        let tier = Tier::parse(name).map_err(|_| Error::BadParam {
            name: "isa",
            value: name.to_string(),
            reason: "expected auto, portable, avx2, avx512 or amx",
        })?;
        Isa::new(tier)
    }

    /// The portable tier (runs everywhere).
    pub fn portable() -> Isa {
        Isa(Tier::Portable)
    }

    /// Every tier this CPU runs, narrowest first (the tests loop over it).
    pub fn supported() -> Vec<Isa> {
        Tier::ALL
            .into_iter()
            .filter(|t| t.supported())
            .map(Isa)
            .collect()
    }

    /// The tier.
    pub fn tier(self) -> Tier {
        self.0
    }

    /// Whether the AVX2 + FMA paths may run (tier `Avx2` or wider).
    #[inline]
    pub fn avx2(self) -> bool {
        self.0 >= Tier::Avx2
    }

    /// Whether the AVX-512 paths may run (tier `Avx512` or wider).
    #[inline]
    pub fn avx512(self) -> bool {
        self.0 >= Tier::Avx512
    }

    /// Whether the AMX tile paths may run.
    #[inline]
    pub fn amx(self) -> bool {
        self.0 >= Tier::Amx
    }
}

impl Default for Isa {
    /// [`Isa::detect`].
    fn default() -> Self {
        Isa::detect()
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether the CPU has the feature `name` (one of the tiers' names; any other name: false).
fn detected(name: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match name {
            "avx512f" => std::is_x86_feature_detected!("avx512f"),
            "avx512vl" => std::is_x86_feature_detected!("avx512vl"),
            "avx512dq" => std::is_x86_feature_detected!("avx512dq"),
            "avx512bw" => std::is_x86_feature_detected!("avx512bw"),
            "avx512bf16" => std::is_x86_feature_detected!("avx512bf16"),
            "avx2" => std::is_x86_feature_detected!("avx2"),
            "fma" => std::is_x86_feature_detected!("fma"),
            "bmi1" => std::is_x86_feature_detected!("bmi1"),
            "bmi2" => std::is_x86_feature_detected!("bmi2"),
            "lzcnt" => std::is_x86_feature_detected!("lzcnt"),
            "popcnt" => std::is_x86_feature_detected!("popcnt"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = name;
        false
    }
}

/// Whether the CPU has every feature of the comma-separated `list`.
pub fn has_all(list: &str) -> bool {
    list.split(',').all(detected)
}

/// The widest tier of this CPU and OS.
fn widest() -> Tier {
    if !has_all(AVX2_FEATURES) {
        Tier::Portable
    } else if !has_all(AVX512_FEATURES) {
        Tier::Avx2
    } else if has_all(AMX_FEATURES) && amx_permitted() {
        Tier::Amx
    } else {
        Tier::Avx512
    }
}

/// CPUID says AMX-BF16 and AMX-TILE, and Linux grants this process the tile state
/// (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`; then it holds for every thread).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn amx_permitted() -> bool {
    // CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE.
    let l7 = core::arch::x86_64::__cpuid_count(7, 0);
    if (l7.edx >> 22) & 1 == 0 || (l7.edx >> 24) & 1 == 0 {
        return false;
    }
    let ret: i64;
    // SAFETY: a plain Linux system call (158 = arch_prctl, 0x1023 = ARCH_REQ_XCOMP_PERM,
    // 18 = XFEATURE_XTILEDATA) without pointers; it clobbers rcx and r11 only.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") 158i64 => ret, in("rdi") 0x1023i64,
             in("rsi") 18i64, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret == 0
}

/// AMX runs on x86-64 Linux only.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn amx_permitted() -> bool {
    false
}
