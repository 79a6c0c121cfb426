//! The two floating-point types kmrbf computes in (`f32`, `f64`), behind one trait.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real scalar the kernels are generic over: `f32` or `f64`, and only those (the trait is
/// sealed: its kernels are written for these two types).
///
/// The `faer` bound lets the distance kernel call faer's GEMM; everything else is
/// plain arithmetic so the epilogues compile to SIMD.
pub trait Real:
    sealed::Sealed
    + Copy
    + Send
    + Sync
    + Debug
    + Display
    + Default
    + PartialOrd
    + PartialEq
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
    + From<f32>
    + faer::traits::ComplexField
    + crate::kernels::assign::packed::PackedArgmin
    + crate::kernels::assign::lowdim::LowDim
    + crate::kernels::layout::aligned::Plain
    + crate::kernels::maps::exp::VecExp
    + 'static
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// `+inf`.
    const INFINITY: Self;
    /// Machine epsilon.
    const EPSILON: Self;
    /// Largest finite value.
    const MAX: Self;
    /// Smallest positive normal value.
    const MIN_POSITIVE: Self;
    /// Name used in messages and model files ("f32" / "f64").
    const NAME: &'static str;

    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts from a count.
    fn from_usize(v: usize) -> Self {
        Self::from_f64(v as f64)
    }
    /// `true` unless NaN or infinite.
    fn is_finite(self) -> bool;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Exponential (libm; the vectorized one is `kernels::maps::exp`).
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// The smaller of two numbers (the first when equal).
    #[inline(always)]
    fn min_of(self, other: Self) -> Self {
        if other < self {
            other
        } else {
            self
        }
    }
    /// The larger of two numbers (the first when equal).
    #[inline(always)]
    fn max_of(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }
    /// `self * a + b` with two roundings (Rust never fuses it; [`Real::fma`] is the fused one).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `self * a + b` with one rounding: the FMA instruction where the code is compiled with
    /// `fma` enabled, a correctly rounded software fallback elsewhere (slow).
    fn fma(self, a: Self, b: Self) -> Self;
    /// `self^e`.
    fn powf(self, e: Self) -> Self;
}

/// The seal of [`Real`]: a trait no other crate can name.
mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

macro_rules! impl_real {
    ($t:ty, $name:literal) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = <$t>::INFINITY;
            const EPSILON: Self = <$t>::EPSILON;
            const MAX: Self = <$t>::MAX;
            const MIN_POSITIVE: Self = <$t>::MIN_POSITIVE;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                self * a + b
            }
            #[inline(always)]
            fn fma(self, a: Self, b: Self) -> Self {
                <$t>::mul_add(self, a, b)
            }
            #[inline(always)]
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
        }
    };
}

impl_real!(f32, "f32");
impl_real!(f64, "f64");

/// `s` as `f32` values when `T` is `f32` (for kernels that exist in `f32` only).
pub fn as_f32<T: 'static>(s: &[T]) -> Option<&[f32]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        // SAFETY: `T` is `f32`, so the slice already has this type.
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) })
}

/// `s` as mutable `f32` values when `T` is `f32`.
pub fn as_f32_mut<T: 'static>(s: &mut [T]) -> Option<&mut [f32]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        // SAFETY: `T` is `f32`, so the slice already has this type.
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut f32, s.len()) })
}

/// `s` as `f64` values when `T` is `f64`.
pub fn as_f64<T: 'static>(s: &[T]) -> Option<&[f64]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f64>())
        // SAFETY: `T` is `f64`, so the slice already has this type.
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f64, s.len()) })
}

/// `s` as mutable `f64` values when `T` is `f64`.
pub fn as_f64_mut<T: 'static>(s: &mut [T]) -> Option<&mut [f64]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f64>())
        // SAFETY: `T` is `f64`, so the slice already has this type.
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut f64, s.len()) })
}
