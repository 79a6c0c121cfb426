//! The hard assignment: the nearest center of each row and its distance.
//!
//! - [`argmin`]: the epilogue over a distance tile (any tier; `simd_dispatch!`).
//! - [`packed`]: centers packed in register blocks, distances and argmin in registers
//!   (AVX-512 here, AVX2 in the leaf [`packed_avx2`]; the same FMA chain, the same bits).
//! - [`lowdim`]: rows in lanes for `d <= 4` (AVX-512 and AVX2).
//! - [`amx`]: bf16 tile screening with exact re-scoring (AMX tier; the same labels).
//! - [`groups`]: centers in groups of 16-lane blocks and the values of chosen blocks for
//!   chosen rows (Yinyang's distances; the same bits).

pub mod amx;
pub mod argmin;
pub mod groups;
pub mod lowdim;
pub mod packed;
pub mod packed_avx2;
pub mod packing;
