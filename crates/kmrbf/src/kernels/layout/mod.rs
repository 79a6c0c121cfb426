//! Memory layout and the distance tiles: aligned buffers, the row-tile driver, squared norms
//! and the `-2 x . c` products (faer's GEMM, or the f32 register kernel on AVX-512).

pub mod aligned;
pub mod cross;
pub mod distance;
pub mod tiles;
