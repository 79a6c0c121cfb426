//! Pure numerics over slices: no validation, no RNG, no I/O.
//!
//! Layout everywhere: matrices are row-major slices, `x` is `n x d`, `centers` is `k x d`.
//! The central piece is [`tiles::fold_tiles`]: a blocked GEMM of a row tile against all
//! centers (`-2 x . c`, faer, single-threaded inside the tile), handed to a row epilogue while
//! the tile is in cache, with rayon over fixed-size row chunks whose results come back in
//! chunk order, so reductions are bitwise identical for any thread count.
//! Each fast kernel has a naive twin in [`mod@reference`] that the tests compare against.

pub mod aligned;
pub mod amx;
pub mod argmin;
pub mod backward;
pub mod cross_f32;
pub mod dispatch;
pub mod distance;
pub mod exp;
pub mod isa;
pub mod lowdim;
pub mod maps;
pub mod packed;
pub mod packed_avx2;
pub mod reference;
pub mod seeding;
pub mod soft_rows_f32;
pub mod softmax_fused_avx2;
pub mod softmax_fused_f32;
pub mod sparse_fused_avx2;
pub mod sparse_fused_f32;
pub mod sparse_fused_f64;
pub mod tiles;
pub mod update;
