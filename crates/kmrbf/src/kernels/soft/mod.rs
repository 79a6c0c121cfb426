//! The soft pass epilogues: responsibilities, objective terms and soft-lloyd sums.
//!
//! - [`shared`]: what every tier shares (call shapes, buffers, totals, constants, portable
//!   thresholds); `avx512` and `avx2`: the building blocks the kernels of one tier share.
//!   Kernel files import these and never each other (an entry point calls its leaves).
//! - [`rows_avx512`]: the row maps over a distance tile (AVX-512, f32).
//! - [`softmax`]: softmax fused from the rows to the cluster sums (f32, `k <= 64`): entry
//!   point and AVX-512 kernel; [`softmax_avx2`] the AVX2 leaf.
//! - [`sparse`]: entmax-1.5 and sparsemax fused the same way (f32): entry point and AVX-512
//!   kernel; [`sparse_avx2`] the AVX2 leaf; [`sparse_f64`] the AVX-512 f64 kernel.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
pub mod rows_avx512;
pub mod shared;
pub mod softmax;
pub mod softmax_avx2;
pub mod sparse;
pub mod sparse_avx2;
pub mod sparse_f64;
