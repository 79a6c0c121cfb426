//! The fused, blocked driver: distance tile by GEMM, then a row epilogue while the tile is hot.

use crate::kernels::isa::Isa;
use crate::kernels::layout::aligned::Aligned;
use crate::kernels::layout::cross::{cross_tile, CrossPack};
use crate::kernels::layout::distance::neg2_cross_tile;
use crate::real::Real;
use crate::real::{as_f32, as_f32_mut};
use rayon::prelude::*;

/// Row blocking of the fused kernel. Depends on the shape only, never on the thread count,
/// so chunk partial results (and hence every reduction) are the same for any thread count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocking {
    /// Rows per GEMM tile; the `tile_rows x k` distance block stays in L2.
    pub tile_rows: usize,
    /// Rows per parallel chunk (a multiple of `tile_rows`); one partial result per chunk.
    pub chunk_rows: usize,
}

impl Blocking {
    /// Bytes of the distance block a tile aims for (half of a 1 MiB L2).
    pub const TILE_BYTES: usize = 192 * 1024;
    /// Rows a chunk aims for.
    pub const CHUNK_ROWS: usize = 8192;

    /// The blocking for `k` centers of element size `elem_bytes`.
    pub fn for_shape(k: usize, elem_bytes: usize) -> Self {
        let per_row = k.max(1) * elem_bytes;
        let tile_rows = ((Self::TILE_BYTES / per_row).clamp(16, 1024) / 16) * 16;
        let chunk_rows = (Self::CHUNK_ROWS / tile_rows).max(1) * tile_rows;
        Self {
            tile_rows,
            chunk_rows,
        }
    }

    /// The blocking for `k` centers in `T`.
    pub fn of<T: Real>(k: usize) -> Self {
        Self::for_shape(k, std::mem::size_of::<T>())
    }
}

/// One row tile handed to an epilogue.
pub struct Tile<'a, T> {
    /// `b x d` rows of the data.
    pub x: &'a [T],
    /// `b` squared row norms.
    pub xn: &'a [T],
    /// `b` sample weights, or `None` for unit weights.
    pub w: Option<&'a [T]>,
    /// `b x k`: `-2 <x_i, c_j>` (empty without `gemm`); the epilogue may overwrite it.
    pub cross: &'a mut [T],
    /// The tier the epilogue's kernels run on (the problem's).
    pub isa: Isa,
}

impl<T: Real> Tile<'_, T> {
    /// Rows in this tile.
    #[inline]
    pub fn rows(&self) -> usize {
        self.xn.len()
    }

    /// Weight of local row `i`.
    #[inline(always)]
    pub fn weight(&self, i: usize) -> T {
        match self.w {
            Some(w) => w[i],
            None => T::ONE,
        }
    }
}

/// Shapes of a fused pass.
#[derive(Clone, Copy)]
pub struct Problem<'a, T> {
    /// `n x d` data, row-major.
    pub x: &'a [T],
    /// Columns.
    pub d: usize,
    /// `n` squared row norms of `x`.
    pub xn: &'a [T],
    /// `n` sample weights or `None`.
    pub w: Option<&'a [T]>,
    /// `k x d` centers, row-major.
    pub centers: &'a [T],
    /// Number of centers.
    pub k: usize,
    /// The tier every kernel of the pass runs on.
    pub isa: Isa,
}

impl<T: Real> Problem<'_, T> {
    /// Number of rows.
    pub fn n(&self) -> usize {
        self.xn.len()
    }
}

/// Runs `tile_fn` on every tile of `p`, in parallel over chunks of `blocking.chunk_rows` rows.
/// With `gemm`, each tile's `cross` holds `-2 x . c` (f32 with AVX-512: [`cross_tile`];
/// otherwise faer); without, it is empty and the
/// epilogue computes what it needs itself (the packed kernels).
///
/// `out` holds `out_stride` items per row (0: no per-row output) and is split so that each
/// tile gets the rows it covers. Each chunk folds its tiles, in order, into an accumulator made
/// by `init`; the accumulators come back in chunk order, for the caller to combine in order.
pub fn fold_tiles<T, O, A, I, F>(
    p: Problem<'_, T>,
    out: &mut [O],
    out_stride: usize,
    blocking: Blocking,
    gemm: bool,
    init: I,
    tile_fn: F,
) -> Vec<A>
where
    T: Real,
    O: Send,
    A: Send,
    I: Fn() -> A + Sync + Send,
    F: Fn(&mut A, Tile<'_, T>, &mut [O]) + Sync + Send,
{
    let n = p.n();
    let (d, k) = (p.d, p.k);
    let cr = blocking.chunk_rows;
    let tr = blocking.tile_rows;
    let nchunks = n.div_ceil(cr);
    // f32 with AVX-512: the centers packed once for the register cross kernel.
    let pack = if gemm {
        as_f32(p.centers).and_then(|c| CrossPack::new(p.isa, c, k, d))
    } else {
        None
    };
    debug_assert_eq!(out.len(), n * out_stride);
    let out_chunks: Vec<&mut [O]> = if out_stride == 0 {
        (0..nchunks).map(|_| <&mut [O]>::default()).collect()
    } else {
        out.chunks_mut(cr * out_stride).collect()
    };
    out_chunks
        .into_par_iter()
        .enumerate()
        .map_init(
            || Aligned::<T>::zeroed(if gemm { tr * k } else { 0 }),
            |buf, (ci, oc)| {
                let mut acc = init();
                let r0 = ci * cr;
                let r1 = (r0 + cr).min(n);
                let mut t0 = r0;
                while t0 < r1 {
                    let t1 = (t0 + tr).min(r1);
                    let b = t1 - t0;
                    let xt = &p.x[t0 * d..t1 * d];
                    let cross = if gemm {
                        let c = &mut buf[..b * k];
                        match (&pack, as_f32(xt)) {
                            (Some(pk), Some(x32)) => {
                                cross_tile(p.isa, x32, pk, as_f32_mut(c).expect("T is f32"))
                            }
                            _ => neg2_cross_tile(xt, d, p.centers, k, c),
                        }
                        c
                    } else {
                        &mut buf[..0]
                    };
                    let o = if out_stride == 0 {
                        <&mut [O]>::default()
                    } else {
                        &mut oc[(t0 - r0) * out_stride..(t1 - r0) * out_stride]
                    };
                    let tile = Tile {
                        x: xt,
                        xn: &p.xn[t0..t1],
                        w: p.w.map(|w| &w[t0..t1]),
                        cross,
                        isa: p.isa,
                    };
                    tile_fn(&mut acc, tile, o);
                    t0 = t1;
                }
                acc
            },
        )
        .collect()
}
