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

/// True when the AVX-512 path can run on this CPU (cached by std). Setting the environment
/// variable `KMRBF_NO_SIMD` forces the portable path, `KMRBF_NO_AVX512` the AVX2 tier where
/// the CPU has it (the test suite runs all three on AVX-512 machines).
#[inline]
pub fn has_avx512() -> bool {
    if simd_disabled() || avx512_disabled() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// True when the CPU has AVX2 and FMA (x86-64-v3: every x86 server since ~2015, AMD Zen 1-3
/// among them, which have no AVX-512). `KMRBF_NO_SIMD` turns it off too.
#[inline]
pub fn has_avx2_fma() -> bool {
    if simd_disabled() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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
