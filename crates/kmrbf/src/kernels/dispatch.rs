//! Run-time CPU feature dispatch for the epilogues.
//!
//! The epilogues are written as plain loops over lanes; compiled for the baseline x86-64 they
//! get SSE2 only. `simd_dispatch!` compiles the same body twice more, with AVX-512 (x86-64-v4)
//! and with AVX2 + FMA (x86-64-v3) enabled, and picks the widest the CPU has, so one binary
//! runs everywhere and is fast on both kinds of machine. The bodies are plain float loops
//! (no reassociation, no contraction), so every build gives the same bits.

/// True when the environment variable `KMRBF_NO_SIMD` is set (read once).
fn simd_disabled() -> bool {
    static DISABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DISABLED.get_or_init(|| std::env::var_os("KMRBF_NO_SIMD").is_some())
}

/// True when the environment variable `KMRBF_NO_AVX512` is set (read once).
fn avx512_disabled() -> bool {
    static DISABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DISABLED.get_or_init(|| std::env::var_os("KMRBF_NO_AVX512").is_some())
}

/// The CPU features of the AVX-512 tier. Every `target_feature` list of an AVX-512 kernel is
/// a subset of it (a test reads every such attribute under `kernels/`), and [`has_avx512`]
/// detects exactly these, so no kernel runs with a feature the CPU lacks.
pub const AVX512_FEATURES: &str =
    "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi1,bmi2,lzcnt,popcnt";

/// The CPU features of the AVX2 + FMA tier (x86-64-v3), with the same contract as
/// [`AVX512_FEATURES`] for the AVX2 kernels and [`has_avx2_fma`].
pub const AVX2_FEATURES: &str = "avx2,fma,bmi1,bmi2,lzcnt,popcnt";

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

/// Whether the CPU has every feature of the comma-separated `list` (cached by std).
pub fn has_all(list: &str) -> bool {
    list.split(',').all(detected)
}

/// True when the AVX-512 path can run on this CPU: every feature of [`AVX512_FEATURES`].
/// Setting the environment variable `KMRBF_NO_SIMD` forces the portable path,
/// `KMRBF_NO_AVX512` the AVX2 tier where the CPU has it (the test suite runs all three on
/// AVX-512 machines).
#[inline]
pub fn has_avx512() -> bool {
    if simd_disabled() || avx512_disabled() {
        return false;
    }
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| has_all(AVX512_FEATURES))
}

/// True when the CPU has every feature of [`AVX2_FEATURES`] (x86-64-v3: every x86 server
/// since ~2015, AMD Zen 1-3 among them, which have no AVX-512). `KMRBF_NO_SIMD` turns it off
/// too.
#[inline]
pub fn has_avx2_fma() -> bool {
    if simd_disabled() {
        return false;
    }
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| has_all(AVX2_FEATURES))
}

/// Defines `$name` that runs `$body` (an `#[inline(always)]` function) compiled for AVX-512
/// when available, else for AVX2 + FMA when available, else for the baseline. The builds give the same results on the
/// same machine: feature detection does not change between calls.
macro_rules! simd_dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<$($g:ident : $bound:path),*>($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path
    ) => {
        $(#[$meta])*
        $vis fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                unsafe fn fast<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                unsafe fn wide<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if $crate::kernels::dispatch::has_avx512() {
                    // SAFETY: the CPU supports every feature enabled on `fast`.
                    return unsafe { fast($($arg),*) };
                }
                if $crate::kernels::dispatch::has_avx2_fma() {
                    // SAFETY: the CPU supports every feature enabled on `wide`.
                    return unsafe { wide($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

/// Mask of the first `min(n, 16)` lanes of a 16-lane register (tails of the AVX-512 loops).
#[inline(always)]
pub fn lanes16(n: usize) -> u16 {
    if n >= 16 {
        0xffff
    } else {
        ((1u32 << n) - 1) as u16
    }
}

/// Hints the `bytes` bytes that follow `p` into L1 (a kernel's next panel of rows while it
/// scores this one; a hint past the end of the data is harmless on x86).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn prefetch_following<T>(p: *const T, bytes: usize) {
    use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    let next = (p as *const i8).wrapping_add(bytes);
    let mut off = 0;
    while off < bytes {
        // SAFETY: a prefetch never faults and reads nothing the program sees; SSE is part of
        // the x86-64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(off)) };
        off += 64;
    }
}
