//! Pure numerics over slices: no validation, no RNG, no I/O. One folder per operation, each
//! with its entry points; instruction-set files are leaves under them.
//!
//! Layout everywhere: matrices are row-major slices, `x` is `n x d`, `centers` is `k x d`.
//! The central piece is [`layout::tiles::fold_tiles`]: a blocked GEMM of a row tile against
//! all centers (`-2 x . c`), handed to a row epilogue while the tile is in cache, with rayon
//! over fixed-size row chunks whose results come back in chunk order, so reductions are
//! bitwise identical for any thread count. Every kernel with a vector path takes an
//! [`isa::Isa`] (the tier it may use); each fast kernel has a naive twin in
//! [`crate::reference`] that the tests compare against.
//!
//! | operation | module | entry points |
//! |---|---|---|
//! | instruction-set tiers | [`isa`], [`dispatch`] | `Isa::detect`, `simd_dispatch!` |
//! | tiles, layout, `-2 x . c` | [`layout`] | `fold_tiles`, `CrossPack`, `row_sq_norms` |
//! | hard assignment | [`assign`] | `argmin_rows`, `argmin_rows_packed`, `argmin_rows_lowd`, `argmin_rows_amx`, `rows_blocks` |
//! | k-means++ seeding | [`seeding`] | `seed_rows`, `seed_rows_pair` |
//! | row maps (softmax, entmax, sparsemax) | [`maps`] | `map_row`, `MapKind` |
//! | the soft pass epilogues | [`soft`] | `soft_rows`, `softmax_sums`, `sparse_sums`, `sparse_sums_f64` |
//! | M-step sums | [`update`] | `accumulate_hard`, `TileSums` |
//! | gradients through the maps | [`backward`] | `dist_grad_rows` |

pub mod assign;
pub mod backward;
pub mod dispatch;
pub mod isa;
pub mod layout;
pub mod maps;
pub mod seeding;
pub mod soft;
pub mod update;
