//! Intel AMX screening for the f32 assignment: exact labels at tile-unit speed.
//!
//! The f32 register kernel ([`crate::kernels::assign::packed`]) spends two FMA ports on `2 n k d` flops. AMX
//! tiles (Sapphire Rapids and later) multiply bf16 pairs at ~15x that rate, but bf16 keeps
//! only 8 significant bits. So the tiles only *screen*: each value is split in two bf16 parts,
//! `v = v1 + v2 + e` with `|e| <= 2^-16 |v|`, and `x1.c1 + x1.c2 + x2.c1` (three tile
//! products, f32 accumulation) approximates `<x, c>` within a proven bound `delta` (see
//! `AmxCenters::slack`). A center is a candidate when its approximate `cn - 2 <x, c>` is
//! within `2 delta` of the row's approximate minimum; the exact minimum is always a candidate.
//! A row with one candidate gets that label; otherwise the candidates are re-scored with the
//! same FMA chain as the register kernel. The labels are therefore *bit for bit* those of
//! [`crate::kernels::assign::packed::argmin_rows_packed`], only faster.
//!
//! Two orders of the tile work, the same sums: while the bf16 centers fit in L2 (up to 1 MiB),
//! a software pipeline runs panel by panel over all centers, overlapping the scoring of the
//! previous panel; past that, groups of panels are split once and meet ranges of centers that
//! stay in L2, two panels against two blocks at a time (four accumulators in flight: one
//! block's chain alone waits on the multiply's latency). The grouped order streamed the centers
//! once per group instead of once per panel: 1.9x faster at d = 1536, k = 1024 (Xeon with AMX).
//!
//! Only labels come out (Lloyd does not need the distances). Linux on x86-64 only: the
//! process must ask the kernel for the tile state once (`arch_prctl`), which
//! [`crate::kernels::isa::Isa::detect`] does; an [`Isa`] of tier AMX is the proof this path needs.

use crate::kernels::isa::Isa;
pub use crate::real::{as_f32, as_f32_mut};

/// One cache line. Tile rows must not straddle lines: unaligned tile loads measured ~6x slower.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// A zeroed, 64-byte aligned buffer of plain values (`u16` or `f32`).
#[derive(Default)]
struct AlignedBuf(Vec<Line>);

impl AlignedBuf {
    fn zeroed(bytes: usize) -> Self {
        Self(vec![Line([0; 64]); bytes.div_ceil(64)])
    }
    fn ensure(&mut self, bytes: usize) {
        if self.0.len() * 64 < bytes {
            *self = Self::zeroed(bytes);
        }
    }
    fn ptr<T>(&self) -> *const T {
        self.0.as_ptr() as *const T
    }
    fn ptr_mut<T>(&mut self) -> *mut T {
        self.0.as_mut_ptr() as *mut T
    }
    /// The first `n` values as `u16` (for packing).
    fn u16s_mut(&mut self, n: usize) -> &mut [u16] {
        assert!(n * 2 <= self.0.len() * 64);
        // SAFETY: the buffer holds at least `n` u16 values, any bit pattern is valid.
        unsafe { std::slice::from_raw_parts_mut(self.ptr_mut::<u16>(), n) }
    }
}

/// Centers prepared for the tiles: bf16 parts in the VNNI layout, exact rows and norms.
pub struct AmxCenters {
    /// Per 16-center block and 32-column block: a 16 x 32 bf16 tile of `c1` pairs.
    b1: AlignedBuf,
    /// The same for `c2`.
    b2: AlignedBuf,
    /// `kpad` squared norms (`+inf` for padding).
    cn: Vec<f32>,
    /// `k x d` exact centers (for re-scoring).
    c: Vec<f32>,
    /// Largest center norm `max_j ||c_j||`.
    cmax: f32,
    k: usize,
    kpad: usize,
    d: usize,
    dpad: usize,
}

/// Round to nearest even bf16 (finite inputs below ~3.39e38).
#[inline(always)]
fn bf16(v: f32) -> u16 {
    let b = v.to_bits();
    (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

#[inline(always)]
fn widen(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// `v = hi + lo + e`, `|e| <= 2^-16 |v|`.
#[inline(always)]
fn split(v: f32) -> (u16, u16) {
    let hi = bf16(v);
    (hi, bf16(v - widen(hi)))
}

/// Panels in flight in the software pipeline of the AMX assignment (ring buffers).
const RING: usize = 4;
/// The pipeline splits this many panels ahead of the tiles (`< RING`).
const SPLIT_AHEAD: usize = 2;

/// Past this many bytes of bf16 center tiles (both parts), the centers no longer stay in L2
/// while panels pass, and the assignment runs in groups of panels against ranges of centers
/// (`imp::argmin_rows_grouped`).
const GROUP_ABOVE_BYTES: usize = 1 << 20;
/// Bytes of A panels a group keeps in L2 (every range of centers meets them again).
const GROUP_A_BYTES: usize = 768 << 10;
/// Bytes of center tiles in one range (they stay in L2 while the group's panels pass).
const RANGE_B_BYTES: usize = 512 << 10;
/// Most panels in one group.
const MAX_GROUP: usize = 16;

/// The screen pays from this many columns on: below, a tile's 32-column step is mostly
/// padding and the register kernel is faster (Sapphire Rapids, one thread, marginal ms per
/// iteration, AMX vs `--isa avx512`: d = 8 58 vs 24, d = 16 43-121 vs 26-74 at k = 16-4096,
/// d = 24 49 vs 48, d = 32 40-50 vs 42-57, d = 64 38 vs 58).
pub const MIN_D: usize = 25;

/// Magnitudes the bound of `AmxCenters::slack` covers comfortably (no overflow of the f32
/// products, negligible flush-to-zero of tiny ones); outside, the register kernel runs.
pub const MAX_SQ_NORM: f32 = 1e30;

impl AmxCenters {
    /// Prepares `k x d` row-major `centers` with squared norms `cn` (as the register kernel).
    pub fn new(centers: &[f32], cn: &[f32], k: usize, d: usize) -> Self {
        let kpad = k.div_ceil(16) * 16;
        let dpad = d.div_ceil(32).max(1) * 32;
        let (nkb, njb) = (dpad / 32, kpad / 16);
        let mut b1 = AlignedBuf::zeroed(njb * nkb * 1024);
        let mut b2 = AlignedBuf::zeroed(njb * nkb * 1024);
        let (p1, p2) = (b1.u16s_mut(njb * nkb * 512), b2.u16s_mut(njb * nkb * 512));
        for j in 0..k {
            let (jb, jj) = (j / 16, j % 16);
            for t in 0..d {
                let (kb, tt) = (t / 32, t % 32);
                let at = ((jb * nkb + kb) * 16 + tt / 2) * 32 + jj * 2 + tt % 2;
                let (h, l) = split(centers[j * d + t]);
                p1[at] = h;
                p2[at] = l;
            }
        }
        let mut pcn = vec![f32::INFINITY; kpad];
        pcn[..k].copy_from_slice(&cn[..k]);
        let cmax = cn[..k].iter().fold(0f32, |m, &v| m.max(v)).sqrt();
        Self {
            b1,
            b2,
            cn: pcn,
            c: centers[..k * d].to_vec(),
            cmax,
            k,
            kpad,
            d,
            dpad,
        }
    }

    /// Panels per group and 16-center blocks per range of the grouped assignment, or `None`
    /// when the center tiles fit in L2 and the pipelined one runs. A panel of A (16 rows) and
    /// a block of B (16 centers) both take `64 dpad` bytes (two bf16 parts).
    fn grouping(&self) -> Option<(usize, usize)> {
        let unit = 64 * self.dpad;
        let njb = self.kpad / 16;
        (njb * unit > GROUP_ABOVE_BYTES).then(|| {
            // Even counts: the panels and blocks go in pairs (`imp::tile_quad`).
            (
                (GROUP_A_BYTES / unit).clamp(2, MAX_GROUP) & !1,
                ((RANGE_B_BYTES / unit).max(2) & !1).min(njb),
            )
        })
    }

    /// True when the centers outgrow L2 and a call without sums runs the grouped order, which
    /// gains with many rows per call (a caller can label whole chunks, then sum).
    pub fn grouped(&self) -> bool {
        self.grouping().is_some()
    }

    /// True when the centers are in the range the bound covers.
    pub fn in_range(&self) -> bool {
        self.cmax * self.cmax <= MAX_SQ_NORM
    }

    /// A bound `delta` on `|approx - exact|` of `cn_j - 2 <x, c_j>` for a row of norm `xnorm`,
    /// valid for every center, returned as `(a, b)` with `delta = a xnorm + b`. With
    /// `S = ||x|| max ||c||` (Cauchy-Schwarz bounds `sum_t |x_t c_t|`): dropped bf16 terms
    /// `<= 3.1 * 2^-16 S`; f32 accumulation of the `3 dpad` exact bf16 products
    /// `<= 3 dpad u S` and of the register kernel's FMA chain `<= d u S` (`u = 2^-24`); the
    /// final FMA with `cn` rounds both by `u (cn + 2 S)`; values or products below `2^-126`
    /// flush to zero, `<= 2^-126 (1 + |x_t| + |c_t|)` per term. The sum is doubled for safety.
    fn slack(&self) -> (f32, f32) {
        const U: f32 = 1.0 / 16_777_216.0;
        let rel = 3.1 / 65536.0 + (3 * self.dpad + self.d + 4) as f32 * U;
        let tiny = (4 * self.dpad) as f32 * f32::MIN_POSITIVE;
        let c = self.cmax;
        // delta = 2 (2 dot + 2 u (cmax^2 + 2 S)), dot = rel S + tiny (1 + ||x|| + cmax).
        let a = 4.0 * rel * c + 4.0 * tiny + 8.0 * U * c;
        let b = 4.0 * tiny * (1.0 + c) + 4.0 * U * c * c;
        (a, b)
    }

    /// The register kernel's value `cn_j - 2 <x, c_j>` for one row, bit for bit (one FMA
    /// chain over `t`, then one FMA with the norm).
    #[inline(always)]
    fn exact(&self, row: &[f32], j: usize) -> f32 {
        let c = &self.c[j * self.d..(j + 1) * self.d];
        let mut acc = 0f32;
        for t in 0..self.d {
            acc = row[t].mul_add(c[t], acc);
        }
        acc.mul_add(-2.0, self.cn[j])
    }
}

/// Per-thread buffers of [`argmin_rows_amx`].
#[derive(Default)]
pub struct AmxScratch {
    a1: AlignedBuf,
    a2: AlignedBuf,
    dots: AlignedBuf,
}

/// Per-cluster sums fed by [`argmin_rows_amx`] while the rows are in L1: `sums` (`k x d`)
/// gets `w_i x_i` (or `x_i`) and `weight` (`k`) gets `w_i` (or 1), row by row in order, with
/// the same f32 operations as [`crate::kernels::update::accumulate_hard`].
pub struct AmxSums<'a> {
    /// `k x d` sums in f32 (one tile's worth).
    pub sums: &'a mut [f32],
    /// `k` weights.
    pub weight: &'a mut [f64],
    /// Row weights of the tile, or `None` for 1.
    pub w: Option<&'a [f32]>,
}

/// Labels of the `b x d` rows `x` (squared norms `xn`), lowest index on ties, equal to the
/// register kernel's; with `sums`, also the M-step sums of the rows. Call only when
/// `isa` has AMX, with `max(xn) <= MAX_SQ_NORM` and centers [`AmxCenters::in_range`].
pub fn argmin_rows_amx(
    isa: Isa,
    x: &[f32],
    xn: &[f32],
    ac: &AmxCenters,
    labels: &mut [u32],
    mut sums: Option<AmxSums<'_>>,
    scratch: &mut AmxScratch,
) {
    if let Some(s) = &sums {
        assert!(s.sums.len() == ac.k * ac.d && s.weight.len() == ac.k);
        assert!(s.w.is_none_or(|w| w.len() == labels.len()));
    }
    assert!(isa.amx(), "the AMX path needs the AMX tier");
    let b = labels.len();
    assert!(x.len() == b * ac.d && xn.len() == b);
    // The grouped order has no M-step epilogue: with sums, the pipelined one runs.
    let grouping = ac.grouping().filter(|_| sums.is_none());
    let panels = grouping.map_or(RING, |(g, _)| g);
    scratch.a1.ensure(panels * 16 * ac.dpad * 2);
    scratch.a2.ensure(panels * 16 * ac.dpad * 2);
    scratch.dots.ensure(panels * 16 * ac.kpad * 4);
    // SAFETY: the `Isa` proves the CPU features, AVX-512 and the OS permission; shapes
    // asserted; the scratch holds `panels` panels.
    unsafe {
        match grouping {
            Some((g, r)) => imp::argmin_rows_grouped(x, xn, ac, labels, g, r, scratch),
            None => imp::argmin_rows(x, xn, ac, labels, sums.as_mut(), scratch),
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod imp {
    use super::{AmxCenters, AmxScratch, AmxSums, RING, SPLIT_AHEAD};
    use core::arch::asm;
    use core::arch::x86_64::*;

    /// Palette 1, all eight tiles 16 rows x 64 bytes.
    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    const CONFIG: TileConfig = {
        let mut b = [0u8; 64];
        b[0] = 1;
        let mut i = 0;
        while i < 8 {
            b[16 + 2 * i] = 64;
            b[48 + i] = 16;
            i += 1;
        }
        TileConfig(b)
    };

    macro_rules! block {
        ($c:literal, $b1:expr, $b2:expr) => {
            asm!(
                "tileloadd tmm6, [{b1} + {s64}*1]",
                "tileloadd tmm7, [{b2} + {s64}*1]",
                concat!("tdpbf16ps ", $c, ", tmm4, tmm6"),
                concat!("tdpbf16ps ", $c, ", tmm4, tmm7"),
                concat!("tdpbf16ps ", $c, ", tmm5, tmm6"),
                b1 = in(reg) $b1,
                b2 = in(reg) $b2,
                s64 = in(reg) 64usize,
                options(nostack, readonly),
            );
        };
    }

    macro_rules! store {
        ($c:literal, $dst:expr, $stride:expr) => {
            asm!(
                concat!("tilestored [{d} + {s}*1], ", $c),
                d = in(reg) $dst,
                s = in(reg) $stride,
                options(nostack),
            );
        };
    }

    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `x` holds `labels.len() * ac.d` values and `xn` `labels.len()`; `sums`, when given, holds
    /// `ac.k * ac.d` sums, `ac.k` weights and one weight per row; `s` holds the buffers
    /// `argmin_rows_amx` sizes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,popcnt,bmi1")]
    pub unsafe fn argmin_rows(
        x: &[f32],
        xn: &[f32],
        ac: &AmxCenters,
        labels: &mut [u32],
        mut sums: Option<&mut AmxSums<'_>>,
        s: &mut AmxScratch,
    ) {
        unsafe {
            let (dpad, kpad) = (ac.dpad, ac.kpad);
            let b = labels.len();
            let panels = b.div_ceil(16);
            if panels == 0 {
                return;
            }
            asm!("ldtilecfg [{}]", in(reg) CONFIG.0.as_ptr(), options(nostack, readonly));
            let slack = ac.slack();
            // Software pipeline over 16-row panels (ring buffers of RING panels), interleaved at
            // the grain of one 16-center block: the tile work of panel p goes out block by block,
            // each block followed by a slice of the vector work (scoring rows of panel p - 1,
            // splitting rows of panel p + 2). Tile instructions run in order on their own unit
            // and retire late, so small slices let the out-of-order core overlap the two; tile
            // loads cannot take data from the store buffer, so the A buffers are written two
            // panels ahead.
            let a_len = 16 * dpad;
            let d_len = 16 * kpad;
            let njb = kpad / 16;
            let one_kb = dpad == 32;
            // Blocks go in pairs: two accumulators in turn hide part of the latency of the tile
            // multiply (a block alone is one dependent chain).
            let steps = njb.div_ceil(2);
            let slice = 16usize.div_ceil(steps);
            for p in 0..SPLIT_AHEAD.min(panels) {
                let (a1, a2) = (s.a1.ptr_mut::<u16>(), s.a2.ptr_mut::<u16>());
                split_panel(
                    x,
                    ac,
                    p * 16,
                    b,
                    a1.add((p % RING) * a_len),
                    a2.add((p % RING) * a_len),
                );
            }
            for p in 0..=panels {
                let (a1, a2) = (
                    s.a1.ptr::<u16>().add((p % RING) * a_len),
                    s.a2.ptr::<u16>().add((p % RING) * a_len),
                );
                let dots_p = s.dots.ptr_mut::<f32>().add((p % RING) * d_len);
                if p < panels && one_kb {
                    load_a(a1, a2, 0);
                }
                for st in 0..steps {
                    let jb = 2 * st;
                    if p < panels {
                        if jb + 1 < njb {
                            tile_pair(ac, a1, a2, dots_p, jb, one_kb);
                        } else {
                            tile_block(ac, a1, a2, dots_p, jb, one_kb);
                        }
                    }
                    let lo = (st * slice).min(16);
                    let hi = ((st + 1) * slice).min(16);
                    if p >= 1 {
                        let q = p - 1;
                        let rows = 16.min(b - q * 16);
                        if lo < rows {
                            let hi = hi.min(rows);
                            let dots = s.dots.ptr::<f32>().add((q % RING) * d_len + lo * kpad);
                            score_panel(x, xn, labels, ac, q * 16 + lo, hi - lo, dots, slack);
                            if let Some(acc) = sums.as_deref_mut() {
                                let r0 = q * 16 + lo;
                                accumulate(x, ac.d, &labels[r0..q * 16 + hi], r0, acc);
                            }
                        }
                    }
                    if p + SPLIT_AHEAD < panels {
                        let r = ((p + SPLIT_AHEAD) % RING) * a_len;
                        let (a1w, a2w) = (s.a1.ptr_mut::<u16>(), s.a2.ptr_mut::<u16>());
                        split_rows(
                            x,
                            ac,
                            (p + SPLIT_AHEAD) * 16,
                            lo..hi,
                            b,
                            a1w.add(r),
                            a2w.add(r),
                        );
                    }
                }
            }
            asm!("tilerelease", options(nostack, nomem));
        }
    }

    /// [`argmin_rows`] without sums, for centers too large for L2: groups of `g` panels are
    /// split once, then every range of `r` center blocks meets each panel of the group while
    /// the range stays in L2 (the pipelined order streams all centers per panel), and the
    /// group is scored. The dots are the same sums in the same order, so the labels are too.
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `x` holds `labels.len() * ac.d` values and `xn` `labels.len()`; `s` holds `g` panels of
    /// A and of dots; `g, r >= 1`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,popcnt,bmi1")]
    pub unsafe fn argmin_rows_grouped(
        x: &[f32],
        xn: &[f32],
        ac: &AmxCenters,
        labels: &mut [u32],
        g: usize,
        r: usize,
        s: &mut AmxScratch,
    ) {
        unsafe {
            let (dpad, kpad) = (ac.dpad, ac.kpad);
            let b = labels.len();
            let panels = b.div_ceil(16);
            if panels == 0 {
                return;
            }
            debug_assert!(g >= 1 && r >= 1);
            asm!("ldtilecfg [{}]", in(reg) CONFIG.0.as_ptr(), options(nostack, readonly));
            let slack = ac.slack();
            let (a_len, d_len) = (16 * dpad, 16 * kpad);
            let njb = kpad / 16;
            let one_kb = dpad == 32;
            for g0 in (0..panels).step_by(g) {
                let gp = g.min(panels - g0);
                for q in 0..gp {
                    let (a1, a2) = (s.a1.ptr_mut::<u16>(), s.a2.ptr_mut::<u16>());
                    split_panel(
                        x,
                        ac,
                        (g0 + q) * 16,
                        b,
                        a1.add(q * a_len),
                        a2.add(q * a_len),
                    );
                }
                for j0 in (0..njb).step_by(r) {
                    let j1 = (j0 + r).min(njb);
                    // Pairs of panels against pairs of blocks: four independent accumulators
                    // hide the latency of the tile multiply; the odd panel or block left over
                    // runs one by one.
                    let mut q = 0;
                    while q < gp {
                        let pair = q + 1 < gp;
                        let a1 = s.a1.ptr::<u16>().add(q * a_len);
                        let a2 = s.a2.ptr::<u16>().add(q * a_len);
                        let dots = s.dots.ptr_mut::<f32>().add(q * d_len);
                        let mut jb = j0;
                        if pair {
                            while jb + 1 < j1 {
                                tile_quad(ac, a1, a2, a_len, dots, d_len, jb);
                                jb += 2;
                            }
                        }
                        for q in q..(q + 1 + pair as usize) {
                            let a1 = s.a1.ptr::<u16>().add(q * a_len);
                            let a2 = s.a2.ptr::<u16>().add(q * a_len);
                            let dots = s.dots.ptr_mut::<f32>().add(q * d_len);
                            if one_kb && jb < j1 {
                                load_a(a1, a2, 0);
                            }
                            for jb in jb..j1 {
                                tile_block(ac, a1, a2, dots, jb, one_kb);
                            }
                        }
                        q += 2;
                    }
                }
                for q in 0..gp {
                    let r0 = (g0 + q) * 16;
                    let dots = s.dots.ptr::<f32>().add(q * d_len);
                    score_panel(x, xn, labels, ac, r0, 16.min(b - r0), dots, slack);
                }
            }
            asm!("tilerelease", options(nostack, nomem));
        }
    }

    /// Splits the 16 rows from `r0` (zero rows past `b`) into the A buffers `a1`, `a2`
    /// (`16 x dpad` bf16 each), prefetching the rows two panels ahead on the way (a burst of
    /// prefetches stalls on the fill buffers; a hint past the end is harmless on x86).
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `x` holds `b * ac.d` values with `r0 < b`; `a1` and `a2` are writable for `16 * ac.dpad`
    /// values.
    #[inline(always)]
    unsafe fn split_panel(
        x: &[f32],
        ac: &AmxCenters,
        r0: usize,
        b: usize,
        a1: *mut u16,
        a2: *mut u16,
    ) {
        unsafe {
            split_rows(x, ac, r0, 0..16, b, a1, a2);
        }
    }

    /// [`split_panel`] for the rows `range` of the panel at `r0` only.
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `x` holds `b * ac.d` values with `r0 < b`; `range` lies in `0..16`; `a1` and `a2` are
    /// writable for `16 * ac.dpad` values.
    #[inline(always)]
    unsafe fn split_rows(
        x: &[f32],
        ac: &AmxCenters,
        r0: usize,
        range: core::ops::Range<usize>,
        b: usize,
        a1: *mut u16,
        a2: *mut u16,
    ) {
        unsafe {
            let (d, dpad) = (ac.d, ac.dpad);
            let rows = 16.min(b - r0);
            let ahead = (x.as_ptr() as *const i8).wrapping_add((r0 + 32) * d * 4);
            let row_lines = (d * 4).div_ceil(64);
            for r in range {
                let (h, l) = (a1.add(r * 32), a2.add(r * 32));
                for line in 0..row_lines {
                    _mm_prefetch::<_MM_HINT_T1>(ahead.wrapping_add(r * d * 4 + line * 64));
                }
                if r < rows {
                    split_row(x.as_ptr().add((r0 + r) * d), d, h, l);
                } else {
                    for kb in 0..dpad / 32 {
                        core::ptr::write_bytes(h.add(kb * 512), 0, 32);
                        core::ptr::write_bytes(l.add(kb * 512), 0, 32);
                    }
                }
            }
        }
    }

    /// Loads the panel's A tiles for column block `kb` into tmm4 (`x1`) and tmm5 (`x2`).
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// the tile configuration is loaded; `a1` and `a2` hold a panel each in the tile layout of
    /// `split_row` (`kb` tiles of 512 values, one after the other) and `kb < dpad / 32`.
    #[inline(always)]
    unsafe fn load_a(a1: *const u16, a2: *const u16, kb: usize) {
        unsafe {
            asm!(
                "tileloadd tmm4, [{a1} + {sa}*1]",
                "tileloadd tmm5, [{a2} + {sa}*1]",
                a1 = in(reg) a1.add(kb * 512),
                a2 = in(reg) a2.add(kb * 512),
                sa = in(reg) 64usize,
                options(nostack, readonly),
            );
        }
    }

    /// One panel against the 16 centers of block `jb`, into columns `16 jb ..` of `dots`
    /// (row stride `kpad`), accumulating in `tmm(jb % 4)`. With one column block the caller
    /// has loaded the A tiles already (`a_loaded`); otherwise they are loaded per block.
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// the tile configuration is loaded (and the A tiles, with `a_loaded`); `a1`, `a2` hold a `16
    /// x ac.dpad` panel each; `jb < ac.kpad / 16`; `dots` is writable for `16 * ac.kpad` values.
    #[inline(always)]
    unsafe fn tile_block(
        ac: &AmxCenters,
        a1: *const u16,
        a2: *const u16,
        dots: *mut f32,
        jb: usize,
        a_loaded: bool,
    ) {
        unsafe {
            let nkb = ac.dpad / 32;
            let sd = ac.kpad * 4;
            let (p1, p2) = (ac.b1.ptr::<u16>(), ac.b2.ptr::<u16>());
            let dst = dots.add(jb * 16);
            macro_rules! one {
                ($c:literal) => {{
                    asm!(concat!("tilezero ", $c), options(nostack, nomem));
                    for kb in 0..nkb {
                        if !a_loaded {
                            load_a(a1, a2, kb);
                        }
                        let at = (jb * nkb + kb) * 512;
                        block!($c, p1.add(at), p2.add(at));
                    }
                    store!($c, dst, sd);
                }};
            }
            match jb % 4 {
                0 => one!("tmm0"),
                1 => one!("tmm1"),
                2 => one!("tmm2"),
                _ => one!("tmm3"),
            }
        }
    }

    /// One panel against blocks `jb` and `jb + 1` (accumulators tmm0 / tmm1 for even `jb / 2`,
    /// tmm2 / tmm3 for odd, so a pair's stores overlap the next pair's work), into columns `16
    /// jb ..` of `dots` (row stride `kpad`). With one column block the caller has loaded the A
    /// tiles already (`a_loaded`).
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// the tile configuration is loaded (and the A tiles, with `a_loaded`); `a1`, `a2` hold a `16
    /// x ac.dpad` panel each; `jb + 1 < ac.kpad / 16`; `dots` is writable for `16 * ac.kpad`
    /// values.
    #[inline(always)]
    unsafe fn tile_pair(
        ac: &AmxCenters,
        a1: *const u16,
        a2: *const u16,
        dots: *mut f32,
        jb: usize,
        a_loaded: bool,
    ) {
        unsafe {
            let nkb = ac.dpad / 32;
            let sd = ac.kpad * 4;
            let (p1, p2) = (ac.b1.ptr::<u16>(), ac.b2.ptr::<u16>());
            let dst = dots.add(jb * 16);
            macro_rules! pair {
                ($c0:literal, $c1:literal) => {{
                    asm!(
                        concat!("tilezero ", $c0),
                        concat!("tilezero ", $c1),
                        options(nostack, nomem)
                    );
                    for kb in 0..nkb {
                        if !a_loaded {
                            load_a(a1, a2, kb);
                        }
                        let (b0, b1) = ((jb * nkb + kb) * 512, ((jb + 1) * nkb + kb) * 512);
                        asm!(
                            "tileloadd tmm6, [{c10} + {s64}*1]",
                            "tileloadd tmm7, [{c11} + {s64}*1]",
                            concat!("tdpbf16ps ", $c0, ", tmm4, tmm6"),
                            concat!("tdpbf16ps ", $c1, ", tmm4, tmm7"),
                            concat!("tdpbf16ps ", $c0, ", tmm5, tmm6"),
                            concat!("tdpbf16ps ", $c1, ", tmm5, tmm7"),
                            "tileloadd tmm6, [{c20} + {s64}*1]",
                            "tileloadd tmm7, [{c21} + {s64}*1]",
                            concat!("tdpbf16ps ", $c0, ", tmm4, tmm6"),
                            concat!("tdpbf16ps ", $c1, ", tmm4, tmm7"),
                            c10 = in(reg) p1.add(b0),
                            c11 = in(reg) p1.add(b1),
                            c20 = in(reg) p2.add(b0),
                            c21 = in(reg) p2.add(b1),
                            s64 = in(reg) 64usize,
                            options(nostack, readonly),
                        );
                    }
                    store!($c0, dst, sd);
                    store!($c1, dst.add(16), sd);
                }};
            }
            if (jb / 2).is_multiple_of(2) {
                pair!("tmm0", "tmm1");
            } else {
                pair!("tmm2", "tmm3");
            }
        }
    }

    /// Two panels (the one at `a1`, `a2` and the next, `a_len` values on) against blocks `jb`
    /// and `jb + 1`, into columns `16 jb ..` of the two panels' dots (`d_len` values apart, row
    /// stride `kpad`). Per 32-column step the four accumulators take `x2 c1`, `x1 c1`, `x1 c2`
    /// in turn, each from an operand pair loaded once for all four.
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// the tile configuration is loaded; `a1`, `a2` hold two `16 x ac.dpad` panels each,
    /// `a_len` apart; `jb + 1 < ac.kpad / 16`; `dots` is writable for `d_len + 16 * ac.kpad`
    /// values.
    #[inline(always)]
    unsafe fn tile_quad(
        ac: &AmxCenters,
        a1: *const u16,
        a2: *const u16,
        a_len: usize,
        dots: *mut f32,
        d_len: usize,
        jb: usize,
    ) {
        unsafe {
            let nkb = ac.dpad / 32;
            let (sa, sd) = (64usize, ac.kpad * 4);
            let (p1, p2) = (ac.b1.ptr::<u16>(), ac.b2.ptr::<u16>());
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            );
            for kb in 0..nkb {
                let (b0, b1) = ((jb * nkb + kb) * 512, ((jb + 1) * nkb + kb) * 512);
                asm!(
                    "tileloadd tmm4, [{x20} + {sa}*1]",
                    "tileloadd tmm5, [{x21} + {sa}*1]",
                    "tileloadd tmm6, [{c10} + {s64}*1]",
                    "tileloadd tmm7, [{c11} + {s64}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    "tileloadd tmm4, [{x10} + {sa}*1]",
                    "tileloadd tmm5, [{x11} + {sa}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    "tileloadd tmm6, [{c20} + {s64}*1]",
                    "tileloadd tmm7, [{c21} + {s64}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    x10 = in(reg) a1.add(kb * 512),
                    x11 = in(reg) a1.add(a_len + kb * 512),
                    x20 = in(reg) a2.add(kb * 512),
                    x21 = in(reg) a2.add(a_len + kb * 512),
                    c10 = in(reg) p1.add(b0),
                    c11 = in(reg) p1.add(b1),
                    c20 = in(reg) p2.add(b0),
                    c21 = in(reg) p2.add(b1),
                    sa = in(reg) sa,
                    s64 = in(reg) 64usize,
                    options(nostack, readonly),
                );
            }
            let dst = dots.add(jb * 16);
            store!("tmm0", dst, sd);
            store!("tmm1", dst.add(16), sd);
            store!("tmm2", dst.add(d_len), sd);
            store!("tmm3", dst.add(d_len + 16), sd);
        }
    }

    /// Adds the rows from `r0` (`labels.len()` of them) to their clusters' sums.
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `x` holds the rows `r0 .. r0 + labels.len()` of `d` values; every label is below
    /// `acc.weight.len()`, and `acc.sums` holds `d` values per label; `acc.w`, when given, covers
    /// the same rows.
    #[inline(always)]
    unsafe fn accumulate(x: &[f32], d: usize, labels: &[u32], r0: usize, acc: &mut AmxSums<'_>) {
        unsafe {
            for (r, &l) in labels.iter().enumerate() {
                let i = r0 + r;
                let l = l as usize;
                let src = x.as_ptr().add(i * d);
                let dst = acc.sums.as_mut_ptr().add(l * d);
                match acc.w {
                    None => {
                        acc.weight[l] += 1.0;
                        // Full-width stores where possible: a masked store cannot forward to the
                        // next load of the same cluster's sums.
                        let mut t = 0;
                        while t + 16 <= d {
                            let v = _mm512_loadu_ps(src.add(t));
                            let a = _mm512_loadu_ps(dst.add(t));
                            _mm512_storeu_ps(dst.add(t), _mm512_add_ps(a, v));
                            t += 16;
                        }
                        if t < d {
                            let m = lanes(d - t);
                            let v = _mm512_maskz_loadu_ps(m, src.add(t));
                            let a = _mm512_maskz_loadu_ps(m, dst.add(t));
                            _mm512_mask_storeu_ps(dst.add(t), m, _mm512_add_ps(a, v));
                        }
                    }
                    Some(w) => {
                        let wi = w[i];
                        acc.weight[l] += wi as f64;
                        let wv = _mm512_set1_ps(wi);
                        let mut t = 0;
                        while t + 16 <= d {
                            let v = _mm512_mul_ps(wv, _mm512_loadu_ps(src.add(t)));
                            let a = _mm512_loadu_ps(dst.add(t));
                            _mm512_storeu_ps(dst.add(t), _mm512_add_ps(a, v));
                            t += 16;
                        }
                        if t < d {
                            let m = lanes(d - t);
                            let v = _mm512_mul_ps(wv, _mm512_maskz_loadu_ps(m, src.add(t)));
                            let a = _mm512_maskz_loadu_ps(m, dst.add(t));
                            _mm512_mask_storeu_ps(dst.add(t), m, _mm512_add_ps(a, v));
                        }
                    }
                }
            }
        }
    }

    /// Labels of the `rows` rows from `r0` given their approximate dots.
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `x` and `xn` hold the rows `r0 .. r0 + rows`, `labels` covers them; `dots` holds `rows *
    /// ac.kpad` values, 64-byte aligned.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn score_panel(
        x: &[f32],
        xn: &[f32],
        labels: &mut [u32],
        ac: &AmxCenters,
        r0: usize,
        rows: usize,
        dots: *const f32,
        slack: (f32, f32),
    ) {
        unsafe {
            let (d, kpad) = (ac.d, ac.kpad);
            match kpad {
                16 => labels_fixed::<1>(x, xn, labels, ac, r0, rows, dots, slack),
                32 => labels_fixed::<2>(x, xn, labels, ac, r0, rows, dots, slack),
                48 => labels_fixed::<3>(x, xn, labels, ac, r0, rows, dots, slack),
                64 => labels_fixed::<4>(x, xn, labels, ac, r0, rows, dots, slack),
                _ => {
                    for r in 0..rows {
                        let i = r0 + r;
                        let dr = core::slice::from_raw_parts(dots.add(r * kpad), kpad);
                        let tol = 2.0 * (slack.0 * xn[i].sqrt() + slack.1);
                        labels[i] = row_label(&x[i * d..(i + 1) * d], tol, ac, dr);
                    }
                }
            }
        }
    }

    /// Splits the `d` values at `row` into bf16 parts `h`, `l` (`dpad` values each, zero
    /// padded): `h = bf16(v)`, `l = bf16(v - h)`, round to nearest even (denormals flush to
    /// zero; `AmxCenters::slack` accounts for it). Each 32-value chunk goes 512 values after
    /// the previous one: the row's line in every tile of a panel stored tile after tile (a
    /// panel's tiles are contiguous 1 KiB blocks, which the prefetchers follow; tiles read
    /// with a row stride of `2 dpad` bytes measured slower at large `d`).
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `row` is readable for `d` values; `h` and `l` are writable for `16 dpad` values (a
    /// panel from this row on), `dpad >= d` a multiple of 32.
    #[inline(always)]
    unsafe fn split_row(row: *const f32, d: usize, h: *mut u16, l: *mut u16) {
        unsafe {
            let mut t = 0;
            while t < d {
                let m0 = lanes(d - t);
                let m1 = lanes(d.saturating_sub(t + 16));
                let v0 = _mm512_maskz_loadu_ps(m0, row.add(t));
                let v1 = _mm512_maskz_loadu_ps(m1, row.add(t + 16));
                let hv = _mm512_cvtne2ps_pbh(v1, v0);
                let h0 = _mm512_cvtpbh_ps(
                    _mm512_castsi512_si256(core::mem::transmute::<__m512bh, __m512i>(hv)).into_bh(),
                );
                let h1 = _mm512_cvtpbh_ps(
                    _mm512_extracti64x4_epi64::<1>(core::mem::transmute::<__m512bh, __m512i>(hv))
                        .into_bh(),
                );
                let lv = _mm512_cvtne2ps_pbh(_mm512_sub_ps(v1, h1), _mm512_sub_ps(v0, h0));
                _mm512_storeu_si512(
                    h.add(t * 16) as *mut _,
                    core::mem::transmute::<__m512bh, __m512i>(hv),
                );
                _mm512_storeu_si512(
                    l.add(t * 16) as *mut _,
                    core::mem::transmute::<__m512bh, __m512i>(lv),
                );
                t += 32;
            }
        }
    }

    use crate::kernels::dispatch::lanes16 as lanes;

    trait IntoBh {
        fn into_bh(self) -> __m256bh;
    }
    impl IntoBh for __m256i {
        #[inline(always)]
        fn into_bh(self) -> __m256bh {
            // SAFETY: both are 256-bit vectors of plain bits.
            unsafe { core::mem::transmute::<__m256i, __m256bh>(self) }
        }
    }

    /// Labels of the panel's `rows` rows (from `r0`) for `kpad = 16 NV <= 64`: the approximate
    /// values stay in registers and the candidates form one 64-bit mask.
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `ac.kpad == 16 * NV`; `x` and `xn` hold the rows `r0 .. r0 + rows`, `labels` covers them;
    /// `dots` holds `rows * ac.kpad` values, 64-byte aligned.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn labels_fixed<const NV: usize>(
        x: &[f32],
        xn: &[f32],
        labels: &mut [u32],
        ac: &AmxCenters,
        r0: usize,
        rows: usize,
        dots: *const f32,
        slack: (f32, f32),
    ) {
        unsafe {
            let d = ac.d;
            let m2 = _mm512_set1_ps(-2.0);
            let cnv: [__m512; NV] =
                core::array::from_fn(|q| _mm512_loadu_ps(ac.cn.as_ptr().add(16 * q)));
            for r in 0..rows {
                let i = r0 + r;
                let mut v = [_mm512_setzero_ps(); NV];
                let mut vmin = _mm512_set1_ps(f32::INFINITY);
                for q in 0..NV {
                    v[q] =
                        _mm512_fmadd_ps(_mm512_load_ps(dots.add(r * 16 * NV + 16 * q)), m2, cnv[q]);
                    vmin = _mm512_min_ps(vmin, v[q]);
                }
                let tol = 2.0 * (slack.0 * xn[i].sqrt() + slack.1);
                let thr = _mm512_set1_ps(_mm512_reduce_min_ps(vmin) + tol);
                let mut mask = 0u64;
                for q in 0..NV {
                    mask |= (_mm512_cmp_ps_mask::<_CMP_LE_OQ>(v[q], thr) as u64) << (16 * q);
                }
                labels[i] = if mask.count_ones() == 1 {
                    mask.trailing_zeros()
                } else {
                    let dr = core::slice::from_raw_parts(dots.add(r * 16 * NV), 16 * NV);
                    rescore(&x[i * d..(i + 1) * d], tol, ac, dr)
                };
            }
        }
    }

    /// The label of one row from its `kpad` approximate dots, any `kpad`.
    ///
    /// # Safety
    /// The CPU runs the AMX tier (AVX-512 with BF16, AMX tiles, the OS permission; `Isa::amx`);
    /// `row` holds `ac.d` values and `dots` `ac.kpad`.
    #[inline(always)]
    unsafe fn row_label(row: &[f32], tol: f32, ac: &AmxCenters, dots: &[f32]) -> u32 {
        unsafe {
            let kpad = ac.kpad;
            let m2 = _mm512_set1_ps(-2.0);
            let mut vmin = _mm512_set1_ps(f32::INFINITY);
            for j in (0..kpad).step_by(16) {
                let v = _mm512_fmadd_ps(
                    _mm512_loadu_ps(dots.as_ptr().add(j)),
                    m2,
                    _mm512_loadu_ps(ac.cn.as_ptr().add(j)),
                );
                vmin = _mm512_min_ps(vmin, v);
            }
            let thr = _mm512_reduce_min_ps(vmin) + tol;
            let thr_v = _mm512_set1_ps(thr);
            let mut count = 0u32;
            let mut first = u32::MAX;
            for j in (0..kpad).step_by(16) {
                let v = _mm512_fmadd_ps(
                    _mm512_loadu_ps(dots.as_ptr().add(j)),
                    m2,
                    _mm512_loadu_ps(ac.cn.as_ptr().add(j)),
                );
                let m = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(v, thr_v) as u32;
                if m != 0 && first == u32::MAX {
                    first = j as u32 + m.trailing_zeros();
                }
                count += m.count_ones();
            }
            if count == 1 {
                first
            } else {
                rescore(row, tol, ac, dots)
            }
        }
    }

    /// Near-tie (or a non-finite threshold): the candidates within `tol` of the approximate
    /// minimum, re-scored exactly, in index order (all centers when none qualifies). Compiled
    /// with FMA so the exact chain is the instruction, not a call to `fmaf` per step.
    ///
    /// # Safety
    /// The CPU has FMA (every AMX-tier CPU does; `Isa::amx`).
    #[cold]
    #[target_feature(enable = "fma")]
    unsafe fn rescore(row: &[f32], tol: f32, ac: &AmxCenters, dots: &[f32]) -> u32 {
        let approx = |j: usize| dots[j].mul_add(-2.0, ac.cn[j]);
        let vmin = (0..ac.k).map(approx).fold(f32::INFINITY, f32::min);
        let thr = vmin + tol;
        let any = (0..ac.k).any(|j| approx(j) <= thr);
        let mut best = f32::INFINITY;
        let mut label = 0u32;
        for j in 0..ac.k {
            let candidate = approx(j) <= thr;
            if any && !candidate {
                continue;
            }
            let v = ac.exact(row, j);
            if v < best {
                best = v;
                label = j as u32;
            }
        }
        label
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
mod imp {
    use super::{AmxCenters, AmxScratch, AmxSums};
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    pub unsafe fn argmin_rows(
        _: &[f32],
        _: &[f32],
        _: &AmxCenters,
        _: &mut [u32],
        _: Option<&mut AmxSums<'_>>,
        _: &mut AmxScratch,
    ) {
        unreachable!("AMX is x86-64 Linux only")
    }
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    pub unsafe fn argmin_rows_grouped(
        _: &[f32],
        _: &[f32],
        _: &AmxCenters,
        _: &mut [u32],
        _: usize,
        _: usize,
        _: &mut AmxScratch,
    ) {
        unreachable!("AMX is x86-64 Linux only")
    }
}
