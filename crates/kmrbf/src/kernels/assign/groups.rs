//! Centers in groups of 16-lane blocks, and the exact values `cn_j - 2 <x, c_j>` of chosen
//! blocks: the distance pieces of the bounded (Yinyang) assignment.
//!
//! A group is a run of [`GroupPack::blocks_per_group`] blocks of [`LANES`] centers, in an order
//! the caller chooses (near centers together). Every value is the FMA chain of the register
//! kernels ([`super::packed`]): `acc = fma(x_t, c_t, acc)` for `t` in `0..d` from zero, then
//! `fma(acc, -2, cn)`. So a label picked among these values (lowest original index on ties) is
//! bit for bit the label those kernels pick, whichever subset of centers a bound leaves.

use crate::kernels::isa::Isa;
use crate::kernels::layout::aligned::Aligned;
use crate::real::Real;

/// Centers per block (one AVX-512 register of f32, two of f64).
pub const LANES: usize = 16;

/// Centers packed by group.
#[derive(Clone, Debug)]
pub struct GroupPack<T: Real> {
    /// Block `b` (slots `16 b .. 16 b + 16`) holds, for `t` in `0..d`, the 16 values
    /// `c_{index[slot], t}` (`d x 16`, cache-line aligned); padding slots are zero.
    panel: Aligned<T>,
    /// Squared norm of each slot's center (`+inf` for padding).
    cn: Vec<T>,
    /// Original center index of each slot (`u32::MAX` for padding).
    index: Vec<u32>,
    /// Slot of each original center (`k`).
    slot_of: Vec<u32>,
    /// Blocks in each group.
    blocks_per_group: usize,
    /// Groups (the last one may hold padding slots).
    groups: usize,
    /// Columns.
    d: usize,
}

impl<T: Real> GroupPack<T> {
    /// Packs the `k x d` row-major `centers` (squared norms `cn`, computed as the register
    /// kernels compute them) in the slot order `order` (a permutation of `0..k`): group `g`
    /// holds `order[g s .. (g + 1) s]`, `s = 16 blocks_per_group`.
    pub fn new(
        centers: &[T],
        cn: &[T],
        k: usize,
        d: usize,
        order: &[u32],
        blocks_per_group: usize,
    ) -> Self {
        assert!(blocks_per_group >= 1 && order.len() == k && k >= 1);
        let slots_per_group = LANES * blocks_per_group;
        let groups = k.div_ceil(slots_per_group);
        let slots = groups * slots_per_group;
        let mut index = vec![u32::MAX; slots];
        index[..k].copy_from_slice(order);
        let mut slot_of = vec![u32::MAX; k];
        for (s, &j) in order.iter().enumerate() {
            slot_of[j as usize] = s as u32;
        }
        assert!(
            slot_of.iter().all(|&s| s != u32::MAX),
            "order is a permutation of 0..k"
        );
        let mut pack = Self {
            panel: Aligned::zeroed(slots * d),
            cn: vec![T::from_f64(f64::INFINITY); slots],
            index,
            slot_of,
            blocks_per_group,
            groups,
            d,
        };
        pack.refill(centers, cn);
        pack
    }

    /// Writes new values of the same `k` centers into the same slots.
    pub fn refill(&mut self, centers: &[T], cn: &[T]) {
        let d = self.d;
        for (s, &j) in self.index.iter().enumerate() {
            if j == u32::MAX {
                continue;
            }
            let j = j as usize;
            let (b, l) = (s / LANES, s % LANES);
            for t in 0..d {
                self.panel[(b * d + t) * LANES + l] = centers[j * d + t];
            }
            self.cn[s] = cn[j];
        }
    }

    /// Groups.
    pub fn groups(&self) -> usize {
        self.groups
    }
    /// Blocks in each group.
    pub fn blocks_per_group(&self) -> usize {
        self.blocks_per_group
    }
    /// Slot of original center `j` (its block is `slot / 16`, its group `slot / (16
    /// blocks_per_group)`).
    pub fn slot_of(&self, j: usize) -> usize {
        self.slot_of[j] as usize
    }
    /// Slots in each group.
    pub fn slots_per_group(&self) -> usize {
        LANES * self.blocks_per_group
    }
    /// Original center index of `slot` (`u32::MAX` for padding).
    pub fn index(&self, slot: usize) -> u32 {
        self.index[slot]
    }
    fn block(&self, b: usize) -> &[T] {
        &self.panel[b * self.d * LANES..(b + 1) * self.d * LANES]
    }
}

/// The values of the 16 slots of `block` for one row `x`, in plain code (one FMA chain per
/// slot over `t`, then the FMA with the norm).
fn block_values<T: Real>(x: &[T], pack: &GroupPack<T>, block: usize) -> [T; LANES] {
    let panel = pack.block(block);
    let mut acc = [T::ZERO; LANES];
    for (t, c) in panel.chunks_exact(LANES).enumerate() {
        let xt = x[t];
        for l in 0..LANES {
            acc[l] = xt.fma(c[l], acc[l]);
        }
    }
    let cn = &pack.cn[block * LANES..(block + 1) * LANES];
    let m2 = T::from_f64(-2.0);
    core::array::from_fn(|l| acc[l].fma(m2, cn[l]))
}

/// The rows `rows` of `x` (`d` columns) against `nblocks` blocks from `first`, in plain code
/// (the tiers without a vector kernel): `out[q * stride + 16 b + l]`.
#[allow(clippy::too_many_arguments)]
fn rows_blocks_plain<T: Real>(
    x: &[T],
    d: usize,
    rows: &[u32],
    pack: &GroupPack<T>,
    first: usize,
    nblocks: usize,
    out: &mut [T],
    stride: usize,
) {
    for (q, &i) in rows.iter().enumerate() {
        let xr = &x[i as usize * d..(i as usize + 1) * d];
        for b in 0..nblocks {
            let v = block_values(xr, pack, first + b);
            out[q * stride + b * LANES..q * stride + (b + 1) * LANES].copy_from_slice(&v);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::LANES;
    use core::arch::x86_64::*;

    macro_rules! rows_kernel {
        ($name:ident, $feat:literal, $t:ty, $v:ty, $nv:expr, $zero:ident, $load:ident,
         $set1:ident, $fmadd:ident, $store:ident) => {
            /// `R` rows against `B` consecutive blocks of 16 centers, each packed `t`-major
            /// (`panel[16 d b + 16 t + l]`): `out[r][16 b + l] = fma(acc, -2, cn[16 b + l])`
            /// with `acc = fma(x_rt, c_t, acc)` over `t` from zero, all in registers.
            ///
            /// # Safety
            #[doc = concat!("`", $feat, "` available; each `xs[r]` points to `d` readable values, `panel` to `16 d B`, `cn` to `16 B`, each `out[r]` to `16 B` writable ones.")]
            #[target_feature(enable = $feat)]
            pub unsafe fn $name<const R: usize, const B: usize>(
                xs: [*const $t; R],
                d: usize,
                panel: *const $t,
                cn: *const $t,
                out: [*mut $t; R],
            ) {
                const W: usize = LANES / $nv;
                unsafe {
                    let mut acc = [[[$zero(); $nv]; B]; R];
                    for t in 0..d {
                        let c: [[$v; $nv]; B] = core::array::from_fn(|b| {
                            core::array::from_fn(|h| $load(panel.add(b * LANES * d + t * LANES + h * W)))
                        });
                        for r in 0..R {
                            let xb = $set1(*xs[r].add(t));
                            for b in 0..B {
                                for h in 0..$nv {
                                    acc[r][b][h] = $fmadd(xb, c[b][h], acc[r][b][h]);
                                }
                            }
                        }
                    }
                    let m2 = $set1(-2.0);
                    for b in 0..B {
                        for h in 0..$nv {
                            let cv = $load(cn.add(b * LANES + h * W));
                            for r in 0..R {
                                $store(out[r].add(b * LANES + h * W), $fmadd(acc[r][b][h], m2, cv));
                            }
                        }
                    }
                }
            }
        };
    }

    rows_kernel!(
        rows_f32_avx512,
        "avx512f",
        f32,
        __m512,
        1,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_storeu_ps
    );
    rows_kernel!(
        rows_f64_avx512,
        "avx512f",
        f64,
        __m512d,
        2,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        _mm512_storeu_pd
    );
    rows_kernel!(
        rows_f32_avx2,
        "avx2,fma",
        f32,
        __m256,
        2,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_storeu_ps
    );
    rows_kernel!(
        rows_f64_avx2,
        "avx2,fma",
        f64,
        __m256d,
        4,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        _mm256_storeu_pd
    );
}

/// Runs `kernel(xs, outs)` on the listed rows `R` at a time (row `q` writes from `out[q *
/// stride]`), the last group padded by repeating its last row into a scratch output.
#[cfg(target_arch = "x86_64")]
fn by_rows<U: Copy + Default, const R: usize>(
    x: &[U],
    d: usize,
    rows: &[u32],
    out: &mut [U],
    stride: usize,
    width: usize,
    kernel: impl Fn([*const U; R], [*mut U; R]),
) {
    assert!(width <= stride && rows.len() * stride <= out.len() + stride - width);
    let mut pad = vec![U::default(); R * width];
    let mut q = 0;
    while q < rows.len() {
        let m = R.min(rows.len() - q);
        let xs: [*const U; R] = core::array::from_fn(|j| {
            let i = rows[q + j.min(m - 1)] as usize;
            assert!((i + 1) * d <= x.len(), "row {i} outside the data");
            x[i * d..].as_ptr()
        });
        let base = out.as_mut_ptr();
        let scratch = pad.as_mut_ptr();
        let outs: [*mut U; R] = core::array::from_fn(|j| {
            if j < m {
                // `(q + j) * stride + width <= out.len()` (asserted above).
                base.wrapping_add((q + j) * stride)
            } else {
                scratch.wrapping_add(j * width)
            }
        });
        kernel(xs, outs);
        q += m;
    }
}

/// The values of the `nblocks` blocks from `first` for the rows `rows` of `x` (row-major, `d`
/// columns): `out[q * stride + 16 b + l]` = `cn - 2 <x, c>` of slot `l` of block `first + b` for
/// the `q`-th listed row, the register kernels' bits. Blocks go two at a time on AVX-512 (8
/// rows of f32 or 4 of f64: 16 accumulators), one at a time otherwise (8 rows on AVX-512, 4 of
/// f32 or 2 of f64 on AVX2).
#[allow(clippy::too_many_arguments)]
pub fn rows_blocks<T: Real>(
    isa: Isa,
    x: &[T],
    d: usize,
    rows: &[u32],
    pack: &GroupPack<T>,
    first: usize,
    nblocks: usize,
    out: &mut [T],
    stride: usize,
) {
    assert_eq!(pack.d, d);
    assert!(nblocks * LANES <= stride);
    assert!(rows.is_empty() || (rows.len() - 1) * stride + nblocks * LANES <= out.len());
    assert!((first + nblocks) * LANES <= pack.cn.len());
    #[cfg(target_arch = "x86_64")]
    {
        use crate::real::{as_f32, as_f32_mut, as_f64, as_f64_mut};
        let mut b = 0;
        while b < nblocks {
            let two = isa.avx512() && nblocks - b >= 2;
            let nb = if two { 2 } else { 1 };
            let w = nb * LANES;
            let blk = first + b;
            let (pp, cp) = (pack.block(blk).as_ptr(), pack.cn[blk * LANES..].as_ptr());
            let o = &mut out[b * LANES..];
            let done = if let (Some(x), Some(o)) = (as_f32(x), as_f32_mut(o)) {
                let (pp, cp) = (pp as *const f32, cp as *const f32);
                // SAFETY (every call below): the tier is proven by `isa`; rows are checked by
                // `by_rows`, outputs hold `w` values per row (asserted there); blocks
                // `blk .. blk + nb` exist (asserted above), `16 d` values and 16 norms each.
                if two {
                    by_rows::<f32, 8>(x, d, rows, o, stride, w, |xs, os| unsafe {
                        x86::rows_f32_avx512::<8, 2>(xs, d, pp, cp, os)
                    });
                    true
                } else if isa.avx512() {
                    by_rows::<f32, 8>(x, d, rows, o, stride, w, |xs, os| unsafe {
                        x86::rows_f32_avx512::<8, 1>(xs, d, pp, cp, os)
                    });
                    true
                } else if isa.avx2() {
                    by_rows::<f32, 4>(x, d, rows, o, stride, w, |xs, os| unsafe {
                        x86::rows_f32_avx2::<4, 1>(xs, d, pp, cp, os)
                    });
                    true
                } else {
                    false
                }
            } else if let (Some(x), Some(o)) = (as_f64(x), as_f64_mut(o)) {
                let (pp, cp) = (pp as *const f64, cp as *const f64);
                if two {
                    by_rows::<f64, 4>(x, d, rows, o, stride, w, |xs, os| unsafe {
                        x86::rows_f64_avx512::<4, 2>(xs, d, pp, cp, os)
                    });
                    true
                } else if isa.avx512() {
                    by_rows::<f64, 8>(x, d, rows, o, stride, w, |xs, os| unsafe {
                        x86::rows_f64_avx512::<8, 1>(xs, d, pp, cp, os)
                    });
                    true
                } else if isa.avx2() {
                    by_rows::<f64, 2>(x, d, rows, o, stride, w, |xs, os| unsafe {
                        x86::rows_f64_avx2::<2, 1>(xs, d, pp, cp, os)
                    });
                    true
                } else {
                    false
                }
            } else {
                false
            };
            if !done {
                break;
            }
            b += nb;
        }
        if b == nblocks {
            return;
        }
    }
    rows_blocks_plain(x, d, rows, pack, first, nblocks, out, stride)
}
