//! The packed layout of the centers that the register kernels of [`super::packed`] (AVX-512)
//! and [`super::packed_avx2`] (AVX2) read, and the panel heights of each.
//!
//! Centers are packed once per iteration: block `b` holds, for `t` in `0..d`, the `nb`
//! values `c_{b*nb + j, t}`; padding centers have zero coordinates and `cn = +inf`.

use crate::kernels::layout::aligned::{Aligned, Plain};

/// Centers packed for the kernels of this module.
#[derive(Clone, Debug)]
pub struct Packed<T: Plain> {
    /// `kpad / nb` blocks of `d x nb` values (cache-line aligned).
    pub panel: Aligned<T>,
    /// `kpad` squared norms (`+inf` for padding).
    pub cn: Vec<T>,
    /// Real centers.
    pub k: usize,
    /// `k` rounded up to a multiple of `nb`.
    pub kpad: usize,
    /// Columns.
    pub d: usize,
    /// Centers per block.
    pub nb: usize,
}

impl<T: Plain + From<f32>> Packed<T> {
    /// Packs the `k x d` row-major `centers` in blocks of `nb`, with their squared norms `cn`.
    pub fn new(centers: &[T], cn: &[T], k: usize, d: usize, nb: usize) -> Self {
        let kpad = k.div_ceil(nb) * nb;
        let mut panel = Aligned::zeroed(kpad * d);
        for c in 0..k {
            let (b, j) = (c / nb, c % nb);
            for t in 0..d {
                panel[(b * d + t) * nb + j] = centers[c * d + t];
            }
        }
        let mut pcn = vec![T::from(f32::INFINITY); kpad];
        pcn[..k].copy_from_slice(&cn[..k]);
        Self {
            panel,
            cn: pcn,
            k,
            kpad,
            d,
            nb,
        }
    }
}

/// Centers per block for the f32 kernels (two 16-lane registers).
pub const AVX512_NB_F32: usize = 32;

/// Centers per block for the f64 kernels (two 8-lane registers).
pub const AVX512_NB_F64: usize = 16;

/// Rows per register panel.
pub const AVX512_MR: usize = 8;

/// Rows per register panel of the one-block kernel (`k <= LANES`: one register of centers,
/// 16 accumulators).
pub const AVX512_NARROW_MR: usize = 16;

/// Rows per register panel of the fused two-step seeding kernel (one candidate group): 16
/// accumulators, and a panel of f32 rows is exactly one cache line per column.
pub const PAIR_MR: usize = 16;

/// Rows per register panel (6 rows x 2 vectors = 12 accumulators; 2 center vectors and a
/// broadcast make 15 of the 16 registers).
pub const AVX2_MR: usize = 6;
/// Rows per register panel of the one-block kernel (`k <=` one register: 12 accumulators).
pub const AVX2_NARROW_MR: usize = 12;
/// Centers per packed block for f32 (two 8-lane registers).
pub const AVX2_NB_F32: usize = 16;
/// Centers per packed block for f64 (two 4-lane registers).
pub const AVX2_NB_F64: usize = 8;
