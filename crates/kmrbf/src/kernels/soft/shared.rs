//! What the soft kernels of every tier share: the shapes and buffers of a call, the row
//! totals, the constants of the exponential and the thresholds, the portable threshold
//! searches, and the row blocks the fused kernels read. No instruction-set code lives here
//! (the one intrinsic is SSE's prefetch hint, part of the x86-64 baseline).

use crate::kernels::isa::Isa;
use crate::kernels::layout::aligned::AlignedF32;
use crate::kernels::layout::cross::CrossPack;
use crate::real::Real;

/// True when the fused f32 kernels ([`super::softmax::softmax_sums`],
/// [`super::sparse::sparse_sums`]) take `k` centers on `isa` (AVX-512, or AVX2 + FMA; both
/// tiers include BMI1, BMI2 and POPCNT; `1 <= k <= 64`).
pub fn available(isa: Isa, k: usize) -> bool {
    isa.avx2() && (1..=MAX_K).contains(&k)
}

/// Coefficients of `2^f` on `[0, 1)`, highest degree first (Horner with FMAs; degree 6,
/// `p(0) = 1`, relative error 6.4e-8 in f32): the exponential of the softmax kernels.
pub(crate) const EXP2_POLY: [f32; 7] = [
    2.161_380_8e-4,
    1.246_737_7e-3,
    9.675_533e-3,
    5.548_522e-2,
    2.402_293_2e-1,
    6.931_470_6e-1,
    1.0,
];

/// `1 / n` for `n = 1..=16` (correctly rounded, as a division gives it): the thresholds' table.
pub(crate) const RECIP16: [f32; 16] = {
    let mut t = [0f32; 16];
    let mut n = 0;
    while n < 16 {
        t[n] = 1.0 / (n + 1) as f32;
        n += 1;
    }
    t
};

/// Totals over the rows of one call (f64, in row order).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowTotals {
    /// `sum_i w_i Dmin_i`.
    pub j: f64,
    /// `sum_i w_i sum_k r_ik D_ik`.
    pub l: f64,
    /// `sum_i w_i (Dmin_i - temp ln sum_k e_ik)`.
    pub f: f64,
    /// `sum_i w_i`.
    pub w: f64,
    /// `sum_i |supp r_i|`.
    pub support: f64,
    /// Rows with a support of one.
    pub onehot: usize,
}

impl RowTotals {
    /// Adds the totals of later rows.
    pub fn add(&mut self, o: &RowTotals) {
        self.j += o.j;
        self.l += o.l;
        self.f += o.f;
        self.w += o.w;
        self.support += o.support;
        self.onehot += o.onehot;
    }

    /// Adds a one-hot row of weight `w` and minimum distance `dmin` (`r = 1` at the nearest
    /// center: `L = F = J = Dmin`, support 1).
    #[inline(always)]
    pub(crate) fn add_onehot<T: Real>(&mut self, w: T, dmin: T) {
        let (wf, dm) = (w.to_f64(), dmin.to_f64());
        self.j += wf * dm;
        self.l += wf * dm;
        self.f += wf * dm;
        self.w += wf;
        self.support += 1.0;
        self.onehot += 1;
    }
}

/// The moments of one entmax-1.5 / sparsemax row with several candidates, as both the tile
/// and the fused kernels compute them (in the data's precision `T`): `q = v^2` (resp. `v`)
/// with `v = z - tau > 0`, `norm = 1 / sum q`, `sqv = sum q v`, `sz = -sum q z` (`z = -(D -
/// Dmin) / scale`).
pub(crate) struct SpreadRow<T> {
    /// Row weight.
    pub w: T,
    /// `Dmin`.
    pub dmin: T,
    /// `2 temp` (entmax-1.5) or `temp` (sparsemax).
    pub scale: T,
    /// `1 / sum q`.
    pub norm: T,
    /// `sum q v`.
    pub sqv: T,
    /// `-sum q z`.
    pub sz: T,
    /// Nonzero responsibilities.
    pub support: u32,
}

impl<T: Real> SpreadRow<T> {
    /// Adds the row's `J`, `L = Dmin + scale norm sz`, `F = L - temp H` (Tsallis entropies
    /// `(4/3)(1 - sum r^1.5)` and `(1/2)(1 - sum r^2)`), weight and support to `tot`.
    #[inline(always)]
    pub(crate) fn add_to<const SPARSE: bool>(&self, tot: &mut RowTotals, temp: T) {
        let (wf, dm) = (self.w.to_f64(), self.dmin.to_f64());
        let loss = dm + (self.scale * self.norm * self.sz).to_f64();
        let n = self.norm;
        let h = if SPARSE {
            0.5 * (1.0 - (n * n * self.sqv).to_f64())
        } else {
            (4.0 / 3.0) * (1.0 - (n * n.sqrt() * self.sqv).to_f64())
        };
        tot.j += wf * dm;
        tot.l += wf * loss;
        tot.f += wf * (loss - temp.to_f64() * h);
        tot.w += wf;
        tot.support += self.support as f64;
        tot.onehot += (self.support == 1) as usize;
    }
}

/// Most centers the fused kernel takes (four 16-lane vectors per row).
pub const MAX_K: usize = 64;

/// Rows per register block.
pub(crate) const MR: usize = 6;

/// Rows whose weights are gathered (in L1) before their sums are added: eight blocks.
pub(crate) const GROUP: usize = 8 * MR;

/// Rows ahead that the kernel prefetches.
pub(crate) const PREFETCH_ROWS: usize = 192;

/// Buffers of the fused kernel, reused across calls.
#[derive(Default)]
pub struct FusedScratch {
    /// Per row: the minimum distance, the sum of the exponentials, `sum_j r_ij D_ij - Dmin`.
    pub(crate) stats: Vec<f32>,
    /// `GROUP x k` weights `w r` of the current group of rows (rows on cache lines).
    pub(crate) pbuf: AlignedF32,
    /// `d x 64` sums of the call, transposed (columns of `x` by centers).
    pub(crate) sums_t: AlignedF32,
    /// `MR x d` rows of a short last block, zero past the data.
    pub(crate) xpad: Vec<f32>,
}

/// What a fused kernel reads: the `b x d` rows `x` with squared norms `xn` and weights `w`
/// (`None`: 1), the centers packed in `pack` with squared norms `cn` (`k`), the temperature.
#[derive(Clone, Copy)]
pub struct FusedRows<'a> {
    /// `b x d` rows.
    pub x: &'a [f32],
    /// `b` squared row norms.
    pub xn: &'a [f32],
    /// `b` row weights, or `None` for 1.
    pub w: Option<&'a [f32]>,
    /// The centers (`k x d`, packed once per pass).
    pub pack: &'a CrossPack,
    /// `k` squared center norms.
    pub cn: &'a [f32],
    /// Effective temperature (the divisor of `-D`).
    pub temp: f32,
    /// The tier the kernel runs on.
    pub isa: Isa,
}

impl FusedRows<'_> {
    /// `(k, d, b)` after checking the shapes of the rows.
    pub(crate) fn shape(&self) -> (usize, usize, usize) {
        let (k, d) = (self.pack.k(), self.pack.d());
        let b = self.xn.len();
        assert!(available(self.isa, k) && self.cn.len() == k && self.x.len() == b * d);
        assert!(self.w.is_none_or(|w| w.len() == b));
        (k, d, b)
    }
}

/// Values per row slot of the candidate buffers (`k` and 16 of slack).
pub(crate) const SLOT: usize = MAX_K + 16;

/// The sparse maps of this kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparseMap {
    /// Entmax-1.5, `p = [z - tau]_+^2` with `z = -D / (2 temp)`.
    Entmax15,
    /// Sparsemax, `p = [z - tau]_+` with `z = -D / temp`.
    Sparsemax,
}

/// A row of the current group of a fused sparse kernel, between its phases.
#[derive(Clone, Copy)]
pub(crate) struct Pending<T> {
    /// The row's values (in `x`, or the padded block).
    pub x: *const T,
    pub w: T,
    pub dmin: T,
    /// One-hot: the center; otherwise `u32::MAX`.
    pub onehot: u32,
    /// Candidates.
    pub m: u32,
    /// The candidates' centers as bits.
    pub mask: u64,
    /// Threshold (spread rows, after the second phase).
    pub tau: T,
}

impl<T: Real> Pending<T> {
    pub(crate) const EMPTY: Self = Self {
        x: core::ptr::null(),
        w: T::ZERO,
        dmin: T::ZERO,
        onehot: 0,
        m: 0,
        mask: 0,
        tau: T::ZERO,
    };

    /// The row at `x` of weight `w` and minimum distance `dmin` whose candidates are the bits
    /// of `mask`.
    #[inline(always)]
    pub(crate) fn new(x: *const T, w: T, dmin: T, mask: u64) -> Self {
        let m = mask.count_ones();
        Self {
            x,
            w,
            dmin,
            onehot: if m == 1 {
                mask.trailing_zeros()
            } else {
                u32::MAX
            },
            m,
            mask,
            tau: T::ZERO,
        }
    }
}

/// Buffers of the fused sparse kernel, reused across calls.
#[derive(Default)]
pub struct SparseScratch {
    /// `MR x d` rows of a short last block, zero past the data.
    pub(crate) xpad: Vec<f32>,
    /// Per row of a group: its candidates `z` in a slot of `SLOT` values (16 of slack).
    pub(crate) cand: Vec<f32>,
    /// Per row of a group: its candidates' centers (AVX2 kernel), a slot of `SLOT` bytes.
    pub(crate) cidx: Vec<u8>,
    /// A copy of one row's candidates for the sorted scan.
    pub(crate) sorted: Vec<f32>,
    /// One row's `q` (64 values), then its nonzero weights `w r` in order (64 and 16 of slack).
    pub(crate) weight: Vec<f32>,
}

/// Per 8-bit candidate mask: the set lanes' indices in order, one byte each (the rest 0).
pub(crate) const COMPRESS: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut m = 0;
    while m < 256 {
        let (mut out, mut n, mut l) = (0u64, 0, 0);
        while l < 8 {
            if (m >> l) & 1 == 1 {
                out |= (l as u64) << (8 * n);
                n += 1;
            }
            l += 1;
        }
        t[m] = out;
        m += 1;
    }
    t
};

/// The sparsemax threshold of the candidates `c` (sorted here, descending), as in
/// `maps::sparsemax_row`: the largest support whose threshold `(sum z - 1) / n` stays
/// below its smallest member.
#[inline(always)]
pub(crate) fn threshold_sparsemax(c: &mut [f32]) -> f32 {
    sort_descending(c);
    let mut s1 = 0f32;
    let mut tau = -1f32;
    for (n, &z) in c.iter().enumerate() {
        s1 += z;
        let t = (s1 - 1.0) / (n + 1) as f32;
        if t < z {
            tau = t;
        } else {
            break;
        }
    }
    tau
}

/// The entmax-1.5 threshold of the candidates `c` (sorted here, descending): Peters et al.
/// (2019), Algorithm 2, as in `maps::entmax15_row`.
#[inline(always)]
pub(crate) fn threshold(c: &mut [f32]) -> f32 {
    sort_descending(c);
    let (mut s1, mut s2) = (0f32, 0f32);
    let mut tau = -1f32;
    for (n, &z) in c.iter().enumerate() {
        let kk = (n + 1) as f32;
        s1 += z;
        s2 += z * z;
        let mean = s1 / kk;
        let delta = (1.0 - kk * (s2 / kk - mean * mean)) / kk;
        let t = mean - delta.max(0.0).sqrt();
        if t <= z {
            tau = t;
        } else {
            break;
        }
    }
    tau
}

/// The block of rows `i .. i + real` (`real <= MR`): a pointer to `MR` rows of `d` values
/// (the data, prefetched `PREFETCH_ROWS` ahead, or for a short last block its copy in
/// `xpad`, zero past the data: such rows have weight 0 and are left out of the sums), their
/// squared norms and weights (0 past `real`).
///
/// # Safety
/// The CPU runs the AVX-512 tier; `i + real <= xn.len()`, `x` holds `xn.len() * d` values,
/// `xpad` `MR * d`.
#[inline(always)]
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn block_rows(
    x: &[f32],
    xn: &[f32],
    w: Option<&[f32]>,
    d: usize,
    i: usize,
    real: usize,
    xpad: &mut [f32],
) -> (*const f32, [f32; MR], [f32; MR]) {
    use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    unsafe {
        let mut xn6 = [0f32; MR];
        let mut w6 = [0f32; MR];
        for r in 0..real {
            xn6[r] = xn[i + r];
            w6[r] = w.map_or(1.0, |w| w[i + r]);
        }
        if real == MR {
            let xr = x.as_ptr().add(i * d);
            let ahead = (xr as *const i8).wrapping_add(PREFETCH_ROWS * d * 4);
            for l in 0..(MR * d * 4).div_ceil(64) {
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64 * l));
            }
            (xr, xn6, w6)
        } else {
            xpad.fill(0.0);
            xpad[..real * d].copy_from_slice(&x[i * d..(i + real) * d]);
            (xpad.as_ptr(), xn6, w6)
        }
    }
}

/// `cn` (`k <= 64` values), `+inf` past `k`: those lanes never win a row's minimum.
pub(crate) fn padded_cn(cn: &[f32]) -> [f32; MAX_K] {
    let mut cnp = [f32::INFINITY; MAX_K];
    cnp[..cn.len()].copy_from_slice(cn);
    cnp
}

/// Few candidates: insertion sort, descending.
#[inline(always)]
fn sort_descending(c: &mut [f32]) {
    for a in 1..c.len() {
        let v = c[a];
        let mut p = a;
        while p > 0 && c[p - 1] < v {
            c[p] = c[p - 1];
            p -= 1;
        }
        c[p] = v;
    }
}
