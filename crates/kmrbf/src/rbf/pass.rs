//! The fused soft pass: distance tile (GEMM) -> row map -> weighted sums, over fixed chunks
//! combined in order (deterministic for any thread count). Never holds an `n x k` matrix
//! unless the caller asks for the responsibilities themselves. For f32 with AVX-512 or AVX2 +
//! FMA, `k <= 64` and no per-row output, softmax / entmax-1.5 / sparsemax passes skip the tile altogether
//! (`kernels::soft::softmax`, `kernels::soft::sparse`).

use crate::data::Prepared;
use crate::kernels::dispatch::simd_dispatch;
use crate::kernels::layout::aligned::{Aligned, AlignedF32};
use crate::kernels::layout::cross::CrossPack;
use crate::kernels::layout::distance::row_sq_norms;
use crate::kernels::layout::tiles::{fold_tiles, Blocking, Tile};
use crate::kernels::maps::{map_row, MapKind};
use crate::kernels::soft::rows_avx512::{self, SoftMap};
use crate::kernels::soft::shared::RowTotals;
use crate::kernels::soft::shared::{FusedRows, FusedScratch, MAX_K};
use crate::kernels::soft::shared::{SparseMap, SparseScratch};
use crate::kernels::soft::softmax;
use crate::kernels::soft::sparse;
use crate::kernels::soft::sparse_f64::{self, Rows64, Scratch64};
use crate::kernels::update::{ClusterSums, TileSums};
use crate::real::{as_f32, as_f32_mut, as_f64, Real};

/// What one pass computes besides the objective terms.
#[derive(Clone, Copy, Debug)]
pub struct PassRequest<T> {
    /// The row map.
    pub map: MapKind,
    /// Effective temperature: the divisor of `-D` in the logits.
    pub temperature: T,
    /// Accumulate `sum_i w_i r_ik x_i` and `N_k = sum_i w_i r_ik` (soft-lloyd, stopgrad).
    pub resp_sums: bool,
    /// Accumulate the same with the weights `q_ik` of the exact gradient of L.
    pub loss_sums: bool,
    /// Let the fused kernels serve the pass where they apply (f32 or f64 rows, `k <= 64`, no
    /// loss sums). `false` runs the tile pipeline, for comparisons: both agree to rounding.
    pub fused: bool,
}

/// Per-row output a pass may write.
pub enum RowOut<'a, T> {
    /// Nothing per row.
    None,
    /// The responsibilities, `n x k`.
    Resp(&'a mut [T]),
    /// The gradient of F (`Free`) or L (`Loss`) with respect to each row, `n x d`.
    InputGrad {
        /// `n x d` output.
        out: &'a mut [T],
        /// True: gradient of L (weights `q`); false: of F (weights `r`).
        loss: bool,
    },
}

/// The totals of a pass (sums over rows, weighted by the sample weights).
#[derive(Clone, Debug)]
pub struct PassOutput {
    /// `J = sum_i w_i min_k D_ik`.
    pub j: f64,
    /// `L = sum_i w_i sum_k r_ik D_ik`.
    pub l: f64,
    /// `F = sum_i w_i (<r_i, D_i> - temp H(r_i))`.
    pub f: f64,
    /// `W = sum_i w_i`.
    pub weight: f64,
    /// `sum_i |supp r_i|` (unweighted).
    pub support: f64,
    /// Rows whose responsibilities are exactly one-hot.
    pub onehot: usize,
    /// Rows.
    pub rows: usize,
    /// `k x d` sums with weights `w r`, and `N_k`, when requested.
    pub resp_sums: Option<ClusterSums>,
    /// `k x d` sums with weights `w q`, and `sum_i w_i q_ik`, when requested.
    pub loss_sums: Option<ClusterSums>,
}

impl PassOutput {
    /// The totals of no rows for a pass of `req` with `k` centers of `d` columns: where
    /// [`soft_pass_into`] starts.
    pub fn empty<T>(k: usize, d: usize, req: &PassRequest<T>) -> Self {
        Self::zeros(0, k, d, req.resp_sums, req.loss_sums)
    }

    /// Adds the totals of `other` (a later block's, for the same request) to `self`: the
    /// merge of two shards' passes.
    pub fn merge(&mut self, other: &Self) {
        self.j += other.j;
        self.l += other.l;
        self.f += other.f;
        self.weight += other.weight;
        self.support += other.support;
        self.onehot += other.onehot;
        self.rows += other.rows;
        self.add_sums(other.resp_sums.as_ref(), other.loss_sums.as_ref());
    }

    /// Adds a chunk's sums (in order: the caller's order is the reduction's).
    fn add_sums(&mut self, rs: Option<&ClusterSums>, ls: Option<&ClusterSums>) {
        if let (Some(s), Some(a)) = (self.resp_sums.as_mut(), rs) {
            s.merge(a);
        }
        if let (Some(s), Some(a)) = (self.loss_sums.as_mut(), ls) {
            s.merge(a);
        }
    }

    /// Adds a kernel's row totals (in order: the caller's order is the reduction's).
    fn add_totals(&mut self, t: &RowTotals) {
        self.j += t.j;
        self.l += t.l;
        self.f += t.f;
        self.weight += t.w;
        self.support += t.support;
        self.onehot += t.onehot;
    }

    /// Zero totals over `rows` rows, with zeroed `k x d` sums where asked.
    fn zeros(rows: usize, k: usize, d: usize, resp_sums: bool, loss_sums: bool) -> Self {
        Self {
            j: 0.0,
            l: 0.0,
            f: 0.0,
            weight: 0.0,
            support: 0.0,
            onehot: 0,
            rows,
            resp_sums: resp_sums.then(|| ClusterSums::zeros(k, d)),
            loss_sums: loss_sums.then(|| ClusterSums::zeros(k, d)),
        }
    }
}

struct Acc<T: Real> {
    j: f64,
    l: f64,
    f: f64,
    w: f64,
    support: f64,
    onehot: usize,
    rs: ClusterSums,
    rs_tile: TileSums<T>,
    ls: ClusterSums,
    ls_tile: TileSums<T>,
    resp: Vec<T>,
    /// `b x k` weights `w_i r_ik` of the tile's rows (for the sums).
    rbuf: Vec<T>,
    /// `b x k` weights `w_i q_ik`.
    qbuf: Vec<T>,
    jac: Vec<T>,
    q: Vec<T>,
    scratch: Vec<T>,
    /// `k` column sums of `rbuf` (f32 tile kernels).
    col: Vec<T>,
    /// Support size summed over the tile's rows (f32 tile kernels).
    tile_support: usize,
}

/// `q_k = r_k - s_k (D_k - Dbar) / temp`, `Dbar = <s, D> / sum(s)`: the weights for which
/// `dL/dc_k = -2 sum_i w_i q_ik (x_i - c_k)` (the chain rule through the map's Jacobian).
#[inline(always)]
fn loss_weights<T: Real>(dist: &[T], resp: &[T], jac: &[T], temp: T, q: &mut [T]) {
    let mut dmin = dist[0];
    for &d in dist {
        dmin = dmin.min_of(d);
    }
    let (mut ss, mut sd) = (T::ZERO, T::ZERO);
    for ((&s, &d), _) in jac.iter().zip(dist).zip(resp) {
        if s > T::ZERO {
            ss += s;
            sd += s * (d - dmin);
        }
    }
    let dbar = if ss > T::ZERO { sd / ss } else { T::ZERO };
    let inv = T::ONE / temp;
    for (((qk, &r), &s), &d) in q.iter_mut().zip(resp).zip(jac).zip(dist) {
        *qk = if s > T::ZERO {
            r - s * ((d - dmin) - dbar) * inv
        } else {
            r
        };
    }
}

/// Adds `sum_i a_ik x_i` and `sum_i a_ik` to the tile sums, for the `b x k` weights `a` of
/// the `b x d` rows `x`: one GEMM `a^T x` when the rows are dense (mean support above 6),
/// a loop over the nonzeros otherwise. The choice depends on the data only (deterministic).
#[inline(always)]
fn add_weighted_rows<T: Real>(tile: &mut TileSums<T>, d: usize, k: usize, x: &[T], a: &[T]) {
    let nonzero = a.iter().filter(|&&v| v != T::ZERO).count();
    // Column sums in T over the tile (vectorizes), then once into f64.
    let mut col = vec![T::ZERO; k];
    for ar in a.chunks_exact(k) {
        for (c, &v) in col.iter_mut().zip(ar) {
            *c += v;
        }
    }
    add_weighted_sums(tile, d, k, x, a, &col, nonzero);
}

/// [`add_weighted_rows`] given the column sums `col` (`k`) of `a` and a count `nonzero` of
/// its nonzeros (only chooses dense or sparse: exact or an upper bound, from the data alone).
#[inline(always)]
fn add_weighted_sums<T: Real>(
    tile: &mut TileSums<T>,
    d: usize,
    k: usize,
    x: &[T],
    a: &[T],
    col: &[T],
    nonzero: usize,
) {
    let b = a.len() / k.max(1);
    for (w, &c) in tile.weight.iter_mut().zip(col) {
        *w += c.to_f64();
    }
    if d == 0 {
        return;
    }
    let dense = nonzero > 6 * b;
    let isa = tile.isa;
    let fast = rows_avx512::available(isa) && as_f32(x).is_some();
    if let (true, true, Some(sums), Some(x32), Some(a32)) = (
        dense,
        fast,
        as_f32_mut(&mut tile.sums),
        as_f32(x),
        as_f32(a),
    ) {
        rows_avx512::dense_weighted_sums(isa, sums, d, k, x32, a32);
    } else if dense {
        use faer::{Accum, MatMut, MatRef, Par};
        let lhs = MatRef::from_row_major_slice(a, b, k).transpose();
        let rhs = MatRef::from_row_major_slice(x, b, d);
        let dst = MatMut::from_row_major_slice_mut(&mut tile.sums, k, d);
        faer::linalg::matmul::matmul(dst, Accum::Add, lhs, rhs, T::ONE, Par::Seq);
    } else if let (true, Some(sums), Some(x32), Some(a32)) = (
        rows_avx512::available(isa),
        as_f32_mut(&mut tile.sums),
        as_f32(x),
        as_f32(a),
    ) {
        rows_avx512::sparse_weighted_sums(isa, sums, d, k, x32, a32);
    } else {
        for (row, ar) in x.chunks_exact(d).zip(a.chunks_exact(k)) {
            // Nonzero positions 16 at a time as a bit mask (one vector compare), then only
            // those: a scalar test per entry mispredicts on every sparse row.
            for (base, chunk) in (0..k).step_by(16).zip(ar.chunks(16)) {
                let mut mask = 0u32;
                for (l, &c) in chunk.iter().enumerate() {
                    mask |= ((c != T::ZERO) as u32) << l;
                }
                while mask != 0 {
                    let kk = base + mask.trailing_zeros() as usize;
                    mask &= mask - 1;
                    let c = ar[kk];
                    for (s, &v) in tile.sums[kk * d..(kk + 1) * d].iter_mut().zip(row) {
                        *s += c * v;
                    }
                }
            }
        }
    }
}

/// Everything a tile epilogue needs besides the tile.
struct TileJob<'a, T> {
    req: PassRequest<T>,
    cn: &'a [T],
    centers: &'a [T],
    k: usize,
    d: usize,
    stride: usize,
    grad_loss: Option<bool>,
    need_jac: bool,
}

simd_dispatch! {
    /// The soft epilogue of one tile: distances, row map, objective terms, weighted sums.
    fn soft_tile<T: Real>(job: &TileJob<'_, T>, acc: &mut Acc<T>, t: Tile<'_, T>, o: &mut [T]) => soft_tile_body
}

#[inline(always)]
fn soft_tile_body<T: Real>(
    job: &TileJob<'_, T>,
    acc: &mut Acc<T>,
    mut t: Tile<'_, T>,
    o: &mut [T],
) {
    let TileJob {
        req,
        cn,
        centers,
        k,
        d,
        stride,
        grad_loss,
        need_jac,
    } = *job;
    let fast = match req.map {
        MapKind::Softmax => Some(SoftMap::Softmax),
        MapKind::Entmax15 => Some(SoftMap::Entmax15),
        MapKind::Sparsemax => Some(SoftMap::Sparsemax),
        _ => None,
    }
    .filter(|_| rows_avx512::available(t.isa) && !need_jac && grad_loss.is_none());
    if fast.is_some_and(|map| soft_f32_tile(map, job, acc, &mut t, o)) {
        let b = t.rows();
        if req.resp_sums {
            // The kernel counted the support and summed the columns.
            let nonzero = acc.tile_support;
            add_weighted_sums(
                &mut acc.rs_tile,
                d,
                k,
                t.x,
                &acc.rbuf[..b * k],
                &acc.col,
                nonzero,
            );
            acc.rs_tile.flush_into(&mut acc.rs);
        }
        return;
    }
    for i in 0..t.rows() {
        let wi = t.weight(i);
        // `xn_i` in a local: read through the tile, LLVM reloaded it after every store to the
        // row and left the loop scalar (~20% of the portable soft step).
        let xi = t.xn[i];
        let row = &mut t.cross[i * k..(i + 1) * k];
        for (v, &c) in row.iter_mut().zip(cn) {
            *v = (xi + c + *v).max_of(T::ZERO);
        }
        let resp = &mut acc.resp[..];
        let jac = if need_jac {
            Some(&mut acc.jac[..])
        } else {
            None
        };
        let terms = map_row(req.map, row, req.temperature, resp, jac, &mut acc.scratch);
        if stride == k && grad_loss.is_none() {
            o[i * k..(i + 1) * k].copy_from_slice(resp);
        }
        let wf = wi.to_f64();
        acc.j += wf * terms.dmin;
        acc.l += wf * terms.loss;
        acc.f += wf * terms.free;
        acc.w += wf;
        acc.support += terms.support as f64;
        acc.onehot += (terms.support == 1) as usize;
        let x = &t.x[i * d..(i + 1) * d];
        let row = &t.cross[i * k..(i + 1) * k];
        if need_jac {
            loss_weights(row, resp, &acc.jac, req.temperature, &mut acc.q);
        }
        if req.resp_sums {
            for (b, &r) in acc.rbuf[i * k..(i + 1) * k].iter_mut().zip(resp.iter()) {
                *b = wi * r;
            }
        }
        if req.loss_sums {
            for (b, &q) in acc.qbuf[i * k..(i + 1) * k].iter_mut().zip(acc.q.iter()) {
                *b = wi * q;
            }
        }
        if let Some(loss) = grad_loss {
            // dF/dx_i = 2 w_i (x_i - sum_k r_ik c_k); dL/dx_i the same with q.
            let a: &[T] = if loss { &acc.q } else { resp };
            let g = &mut o[i * d..(i + 1) * d];
            g.copy_from_slice(x);
            for (kk, &ak) in a.iter().enumerate() {
                if ak != T::ZERO {
                    for (gv, &cv) in g.iter_mut().zip(&centers[kk * d..(kk + 1) * d]) {
                        *gv -= ak * cv;
                    }
                }
            }
            let two_w = wi + wi;
            for gv in g.iter_mut() {
                *gv *= two_w;
            }
        }
    }
    let b = t.rows();
    if req.resp_sums {
        add_weighted_rows(&mut acc.rs_tile, d, k, t.x, &acc.rbuf[..b * k]);
        acc.rs_tile.flush_into(&mut acc.rs);
    }
    if req.loss_sums {
        add_weighted_rows(&mut acc.ls_tile, d, k, t.x, &acc.qbuf[..b * k]);
        acc.ls_tile.flush_into(&mut acc.ls);
    }
}

/// The rows of an f32 tile through [`rows_avx512::soft_rows`]; false (nothing done) when
/// `T` is not f32.
fn soft_f32_tile<T: Real>(
    map: SoftMap,
    job: &TileJob<'_, T>,
    acc: &mut Acc<T>,
    t: &mut Tile<'_, T>,
    o: &mut [T],
) -> bool {
    let (k, b) = (job.k, t.rows());
    let (Some(xn), Some(cn)) = (as_f32(t.xn), as_f32(job.cn)) else {
        return false;
    };
    let Some(cross) = as_f32_mut(t.cross) else {
        return false;
    };
    let w = t.w.and_then(as_f32);
    let weighted = if job.req.resp_sums {
        as_f32_mut(&mut acc.rbuf[..b * k])
    } else {
        None
    };
    let resp = if job.stride == k {
        as_f32_mut(&mut o[..b * k])
    } else {
        None
    };
    let temp = job.req.temperature.to_f64() as f32;
    acc.col.fill(T::ZERO);
    let colsum = if weighted.is_some() {
        as_f32_mut(&mut acc.col)
    } else {
        None
    };
    let tot = rows_avx512::soft_rows(
        t.isa,
        map,
        &mut cross[..b * k],
        xn,
        cn,
        w,
        temp,
        weighted,
        resp,
        colsum,
    );
    acc.tile_support = tot.support as usize;
    acc.j += tot.j;
    acc.l += tot.l;
    acc.f += tot.f;
    acc.w += tot.w;
    acc.support += tot.support;
    acc.onehot += tot.onehot;
    true
}

/// One fused pass of `req` over the rows of `p` against `centers` (`k x d`).
pub fn soft_pass<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    req: PassRequest<T>,
    out: RowOut<'_, T>,
) -> PassOutput {
    soft_pass_biased(p, centers, k, None, req, out)
}

/// [`soft_pass`] with `bias_k >= 0` (`k` values) added to every squared distance to center
/// `k`: the logits become `-(D_ik + bias_k) / temp`, i.e. a prior `p_k` enters as `bias_k =
/// -temp ln p_k` (mass-constrained deterministic annealing). The objectives are those of the
/// shifted distances.
pub fn soft_pass_biased<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    bias: Option<&[T]>,
    req: PassRequest<T>,
    out: RowOut<'_, T>,
) -> PassOutput {
    let mut total = PassOutput::empty(k, p.d, &req);
    soft_pass_core(p, centers, k, bias, req, out, &mut total);
    total
}

/// [`soft_pass`] continuing the totals `into` of the rows before `p`'s (no per-row output):
/// each chunk's terms and sums are added to the running totals in order, so blocks read one
/// after another in sizes that are multiples of the kernel's chunk (`Blocking::chunk_rows`)
/// give exactly one pass's totals over all their rows (the same bits). `into` starts as
/// [`PassOutput::empty`] for the same request.
pub fn soft_pass_into<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    req: PassRequest<T>,
    into: &mut PassOutput,
) {
    assert_eq!(
        (into.resp_sums.is_some(), into.loss_sums.is_some()),
        (req.resp_sums, req.loss_sums),
        "running totals made for another request"
    );
    soft_pass_core(p, centers, k, None, req, RowOut::None, into);
}

fn soft_pass_core<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    bias: Option<&[T]>,
    req: PassRequest<T>,
    out: RowOut<'_, T>,
    total: &mut PassOutput,
) {
    let d = p.d;
    total.rows += p.n();
    let mut cn = vec![T::ZERO; k];
    row_sq_norms(centers, d, &mut cn);
    if let Some(b) = bias {
        assert_eq!(b.len(), k, "one bias per center");
        // ||x - c||^2 + b = xn + (cn + b) - 2 x . c: every kernel reads cn.
        for (c, &v) in cn.iter_mut().zip(b) {
            *c += v;
        }
    }
    let mut out = out;
    if fused_pass(p, centers, k, req, &cn, &mut out, total).is_some()
        || (matches!(out, RowOut::None) && fused_pass_f64(p, centers, k, req, &cn, total).is_some())
    {
        return;
    }
    let blocking = Blocking::of::<T>(k);
    let need_jac = req.loss_sums || matches!(out, RowOut::InputGrad { loss: true, .. });
    let (buf, stride, grad_loss): (&mut [T], usize, Option<bool>) = match out {
        RowOut::None => (&mut [], 0, None),
        RowOut::Resp(r) => (r, k, None),
        RowOut::InputGrad { out, loss } => (out, d, Some(loss)),
    };
    let zk = |on: bool| if on { k } else { 0 };
    let parts = fold_tiles(
        p.against(centers, k),
        buf,
        stride,
        blocking,
        true,
        || Acc {
            j: 0.0,
            l: 0.0,
            f: 0.0,
            w: 0.0,
            support: 0.0,
            onehot: 0,
            rs: ClusterSums::zeros(zk(req.resp_sums), d),
            rs_tile: TileSums::zeros(p.isa, zk(req.resp_sums), d),
            ls: ClusterSums::zeros(zk(req.loss_sums), d),
            ls_tile: TileSums::zeros(p.isa, zk(req.loss_sums), d),
            resp: vec![T::ZERO; k],
            rbuf: vec![
                T::ZERO;
                if req.resp_sums {
                    blocking.tile_rows * k
                } else {
                    0
                }
            ],
            qbuf: vec![
                T::ZERO;
                if req.loss_sums {
                    blocking.tile_rows * k
                } else {
                    0
                }
            ],
            jac: vec![T::ZERO; if need_jac { k } else { 0 }],
            q: vec![T::ZERO; if need_jac { k } else { 0 }],
            scratch: vec![T::ZERO; k],
            col: vec![T::ZERO; k],
            tile_support: 0,
        },
        |acc, t, o| {
            let job = TileJob {
                req,
                cn: &cn,
                centers,
                k,
                d,
                stride,
                grad_loss,
                need_jac,
            };
            soft_tile(t.isa, &job, acc, t, o);
        },
    );
    for a in &parts {
        total.j += a.j;
        total.l += a.l;
        total.f += a.f;
        total.weight += a.w;
        total.support += a.support;
        total.onehot += a.onehot;
        total.add_sums(Some(&a.rs), Some(&a.ls));
    }
}

/// Partial results of one chunk of the fused softmax pass.
struct FusedAcc {
    tot: RowTotals,
    rs: ClusterSums,
    rs_tile: TileSums<f32>,
    /// Softmax: the chunk's sums transposed (`d x 64`, f64), as the kernel adds them.
    rs_t: Aligned<f64>,
    /// Column sums of the call (cache-line aligned: updated by vectors).
    col: AlignedF32,
    scratch: FusedScratch,
    sparse: SparseScratch,
}

/// A softmax, entmax-1.5 or sparsemax pass without the loss sums, f32 with AVX-512 or AVX2 +
/// FMA and `k <= 64`: through [`softmax_fused_f32`] or [`sparse_fused_f32`] (no distance
/// tile), its totals added to `total`. Per-row output: none, or the responsibilities for
/// softmax. `None` (and `out`, `total` untouched) when it does not apply.
fn fused_pass<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    req: PassRequest<T>,
    cn: &[T],
    out: &mut RowOut<'_, T>,
    total: &mut PassOutput,
) -> Option<()> {
    let sparse = match req.map {
        MapKind::Softmax => None,
        MapKind::Entmax15 => Some(SparseMap::Entmax15),
        MapKind::Sparsemax => Some(SparseMap::Sparsemax),
        _ => return None,
    };
    if req.loss_sums || !req.fused {
        return None;
    }
    let (buf, stride): (&mut [T], usize) = match out {
        RowOut::None => (&mut [], 0),
        RowOut::Resp(r) if sparse.is_none() => (&mut **r, k),
        _ => return None,
    };
    let here = match sparse {
        None => softmax::available(p.isa, k),
        Some(_) => sparse::available(p.isa, k),
    };
    if !here || p.d == 0 {
        return None;
    }
    let (c32, cn32) = (as_f32(centers)?, as_f32(cn)?);
    as_f32(p.x)?;
    let d = p.d;
    let pack = CrossPack::packed(c32, k, d);
    let temp = req.temperature.to_f64() as f32;
    let zk = if req.resp_sums { k } else { 0 };
    // Softmax adds its sums transposed into f64 (`d x 64`); the sparse maps add rows of
    // `k x d` f32 sums, flushed into f64 after every call.
    let zt = if req.resp_sums && sparse.is_none() {
        d * MAX_K
    } else {
        0
    };
    let zs = if sparse.is_some() { zk } else { 0 };
    let mut parts = fold_tiles(
        p.against(centers, k),
        buf,
        stride,
        Blocking::of::<T>(k),
        false,
        || FusedAcc {
            tot: RowTotals::default(),
            rs: ClusterSums::zeros(zk, d),
            rs_tile: TileSums::zeros(p.isa, zs, d),
            rs_t: Aligned::zeroed(zt),
            col: AlignedF32::zeroed(k),
            scratch: FusedScratch::default(),
            sparse: SparseScratch::default(),
        },
        |acc, t, o| {
            let (x, xn) = (as_f32(t.x).expect("f32"), as_f32(t.xn).expect("f32"));
            let resp = (stride > 0).then(|| as_f32_mut(o).expect("f32"));
            let w = t.w.and_then(as_f32);
            if req.resp_sums {
                acc.col.fill(0.0);
            }
            let rows = FusedRows {
                x,
                xn,
                w,
                pack: &pack,
                cn: cn32,
                temp,
                isa: t.isa,
            };
            let tot = match sparse {
                None => {
                    let sums = req
                        .resp_sums
                        .then_some((&mut acc.rs_t[..], &mut acc.col[..]));
                    softmax::softmax_sums(&rows, sums, resp, &mut acc.scratch)
                }
                Some(map) => {
                    let sums = req
                        .resp_sums
                        .then_some((&mut acc.rs_tile.sums[..], &mut acc.col[..]));
                    sparse::sparse_sums(map, &rows, sums, &mut acc.sparse)
                }
            };
            acc.tot.add(&tot);
            if req.resp_sums {
                if sparse.is_some() {
                    for (w, &c) in acc.rs_tile.weight.iter_mut().zip(&acc.col) {
                        *w += c as f64;
                    }
                    acc.rs_tile.flush_into(&mut acc.rs);
                } else {
                    // The same f64 adds as the tile flush (from zero: exact).
                    for (w, &c) in acc.rs.weight.iter_mut().zip(&acc.col) {
                        *w += c as f64;
                    }
                }
            }
        },
    );
    for a in &mut parts {
        if !a.rs_t.is_empty() {
            // The chunk's sums back to `k x d` (into zeros: exact).
            for j in 0..k {
                for t in 0..d {
                    a.rs.sums[j * d + t] = a.rs_t[t * MAX_K + j];
                }
            }
        }
        total.add_totals(&a.tot);
        total.add_sums(Some(&a.rs), None);
    }
    Some(())
}

/// Buffers of one chunk of [`fused_pass_f64`].
struct FusedAcc64 {
    tot: RowTotals,
    rs: ClusterSums,
    scratch: Scratch64,
}

/// An entmax-1.5 or sparsemax pass without per-row output and without the loss sums, f64
/// with AVX-512 and `k <= 64`: through [`sparse_fused_f64`] (no distance tile), its totals
/// added to `total`; `None` (and `total` untouched) when it does not apply.
fn fused_pass_f64<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    req: PassRequest<T>,
    cn: &[T],
    total: &mut PassOutput,
) -> Option<()> {
    let map = match req.map {
        MapKind::Entmax15 => SparseMap::Entmax15,
        MapKind::Sparsemax => SparseMap::Sparsemax,
        _ => return None,
    };
    if req.loss_sums || !req.fused || !sparse_f64::available(p.isa, k) || p.d == 0 {
        return None;
    }
    let (c64, cn64) = (as_f64(centers)?, as_f64(cn)?);
    as_f64(p.x)?;
    let d = p.d;
    let panel = sparse_f64::pack_centers(c64, k, d);
    let temp = req.temperature.to_f64();
    let zk = if req.resp_sums { k } else { 0 };
    let parts = fold_tiles(
        p.against(centers, k),
        &mut [] as &mut [T],
        0,
        Blocking::of::<T>(k),
        false,
        || FusedAcc64 {
            tot: RowTotals::default(),
            rs: ClusterSums::zeros(zk, d),
            scratch: Scratch64::default(),
        },
        |acc, t, _| {
            let (x, xn) = (as_f64(t.x).expect("f64"), as_f64(t.xn).expect("f64"));
            let rows = Rows64 {
                x,
                xn,
                w: t.w.and_then(as_f64),
                panel: &panel,
                cn: cn64,
                temp,
                isa: t.isa,
            };
            let sums = req
                .resp_sums
                .then_some((&mut acc.rs.sums[..], &mut acc.rs.weight[..]));
            let tot = sparse_f64::sparse_sums_f64(map, &rows, sums, &mut acc.scratch);
            acc.tot.add(&tot);
        },
    );
    for a in &parts {
        total.add_totals(&a.tot);
        total.add_sums(Some(&a.rs), None);
    }
    Some(())
}
