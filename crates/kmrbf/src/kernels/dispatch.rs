//! Run-time CPU feature dispatch for the epilogues.
//!
//! The epilogues are written as plain loops over lanes; compiled for the baseline x86-64 they
//! get SSE2 only. `simd_dispatch!` compiles the same body twice more, with AVX-512 (x86-64-v4)
//! and with AVX2 + FMA (x86-64-v3) enabled, and runs the widest the caller's [`crate::kernels::isa::Isa`]
//! allows, so one binary runs everywhere and is fast on both kinds of machine. The bodies are plain float loops
//! (no reassociation, no contraction), so every build gives the same bits.

/// Defines `$name(isa, args..)` that runs `$body(args..)` (an `#[inline(always)]` function)
/// compiled for AVX-512 when `isa` allows it, else for AVX2 + FMA when `isa` allows it, else
/// for the baseline. The bodies are plain loops, so every build gives the same bits.
macro_rules! simd_dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<$($g:ident : $bound:path),*>($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path
    ) => {
        $(#[$meta])*
        $vis fn $name<$($g: $bound),*>(isa: $crate::kernels::isa::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                fn fast<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
                fn wide<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if isa.avx512() {
                    // SAFETY: an `Isa` of tier AVX-512 proves every feature enabled on `fast`.
                    return unsafe { fast($($arg),*) };
                }
                if isa.avx2() {
                    // SAFETY: an `Isa` of tier AVX2 proves every feature enabled on `wide`.
                    return unsafe { wide($($arg),*) };
                }
            }
            let _ = isa;
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
