//! Lloyd over shards: a pass over one block of rows returns sufficient statistics, statistics
//! of blocks add up (`merge`, in a fixed order), and the update turns them into new centers
//! with the semantics of the in-memory fit (empty clusters take the farthest rows). Engines
//! that split the data (streams from disk, Dask) run `shard_pass` on each block and `update`
//! once per iteration; with the blocks and the merge order fixed, the result does not depend
//! on how many workers ran the blocks.

use super::lloyd::assign_pass_into;
use crate::data::Prepared;
use crate::data::{check_finite, MatView};
use crate::error::{Error, Result};
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::{row_sq_norms, sq_dist};
use crate::kernels::layout::tiles::Blocking;
use crate::kernels::update::ClusterSums;
use crate::real::Real;
use rayon::prelude::*;

/// A row far from its center: a candidate to restart an empty cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct FarRow {
    /// Squared distance to its assigned center.
    pub dist: f64,
    /// Global row index (the shard's offset plus the row within it).
    pub index: u64,
    /// Its assigned center.
    pub label: u32,
    /// Its weight.
    pub weight: f64,
    /// Its `d` values.
    pub row: Vec<f64>,
}

/// What one block contributes to a Lloyd iteration (all sums in f64).
#[derive(Clone, Debug, PartialEq)]
pub struct ShardStats {
    /// Per-center weighted sums of the rows (`k x d`) and masses (`k`).
    pub sums: ClusterSums,
    /// `sum_i w_i ||x_i - c_{label_i}||^2`.
    pub inertia: f64,
    /// Rows whose label differs from the one given to the pass.
    pub changed: u64,
    /// Rows.
    pub rows: u64,
    /// Up to `k` rows farthest from their centers, farthest first, lowest index on ties.
    pub far: Vec<FarRow>,
}

fn by_far(a: &FarRow, b: &FarRow) -> std::cmp::Ordering {
    b.dist.total_cmp(&a.dist).then(a.index.cmp(&b.index))
}

impl ShardStats {
    /// The statistics of no rows, for `k` centers of `d` columns.
    pub fn empty(k: usize, d: usize) -> Self {
        Self {
            sums: ClusterSums::zeros(k, d),
            inertia: 0.0,
            changed: 0,
            rows: 0,
            far: Vec::new(),
        }
    }

    /// Adds `other` (a later block) to `self`.
    pub fn merge(&mut self, other: &Self) {
        self.sums.merge(&other.sums);
        self.inertia += other.inertia;
        self.changed += other.changed;
        self.rows += other.rows;
        let k = self.sums.weight.len();
        self.far.extend(other.far.iter().cloned());
        self.far.sort_by(by_far);
        self.far.truncate(k);
    }
}

/// Assigns the rows of `x` (`n x d`, global rows `offset..offset + n`) to `centers` (`k x d`)
/// and returns the block's statistics. `labels` (`n`) holds the previous labels on entry
/// (`u32::MAX` where there are none) and the new ones on return. The kernels run on `isa`.
pub fn shard_pass<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    offset: u64,
    labels: &mut [u32],
) -> Result<ShardStats> {
    let mut s = ShardStats::empty(k, x.d());
    shard_pass_into(
        isa,
        x,
        sample_weight,
        centers,
        k,
        offset,
        labels,
        &mut s,
        true,
    )?;
    Ok(s)
}

/// [`shard_pass`] continuing the statistics `into` of the blocks before it: the sums and the
/// inertia of each chunk of rows are added to the running totals in order, so blocks read one
/// after another in sizes that are multiples of the kernel's chunk (`Blocking::chunk_rows`)
/// give exactly the in-memory fit's sums (the same bits). Without `extras` the second sweep
/// over the rows (inertia and farthest rows) is skipped and those fields stay as they are: a
/// caller that needs them only at the end, or only when a cluster comes out empty, saves a
/// pass over the data.
#[allow(clippy::too_many_arguments)]
pub fn shard_pass_into<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    offset: u64,
    labels: &mut [u32],
    into: &mut ShardStats,
    extras: bool,
) -> Result<()> {
    let xn = labelled_block(x, sample_weight, centers, k, offset, labels)?;
    let p = Prepared::new(x.data(), x.d(), &xn, sample_weight, isa)?;
    prepared_pass_into(&p, centers, k, offset, labels, into, extras)
}

/// A block made ready for every pass of a fit: its rows moved by the data's shift, checked
/// finite, with their squared norms.
#[derive(Clone, Debug)]
pub struct PreparedBlock<T> {
    /// `n x d` rows, moved by the shift.
    pub rows: Vec<T>,
    /// `n` squared norms of the moved rows.
    pub norms: Vec<T>,
    /// `d` column sums of the squared moved values (f64): the tolerance's scale, summed over
    /// blocks and divided by `n d`.
    pub sq_sums: Vec<f64>,
}

/// Prepares the block `x` (global rows `offset..`) for [`prepared_pass_into`]: moved by
/// `shift` (the in-memory centering's arithmetic), then checked as [`shard_pass_into`] checks
/// a block (finite after the move; the weights' count and values).
pub fn prepare_block<T: Real>(
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    shift: &crate::center::Shift,
    offset: u64,
) -> Result<PreparedBlock<T>> {
    let (n, d) = (x.n(), x.d());
    let mut rows = Vec::new();
    shift.applied_into(x.data(), &mut rows);
    check_rows(MatView::new(&rows, n, d)?, sample_weight, offset)?;
    let mut norms = vec![T::ZERO; n];
    row_sq_norms(&rows, d, &mut norms);
    let sq_sums = rows
        .par_chunks(8192 * d.max(1))
        .map(|c| {
            let mut s = vec![0.0f64; d];
            for r in c.chunks_exact(d) {
                for (a, v) in s.iter_mut().zip(r) {
                    *a += v.to_f64() * v.to_f64();
                }
            }
            s
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold(vec![0.0f64; d], |mut acc, s| {
            acc.iter_mut().zip(&s).for_each(|(a, v)| *a += v);
            acc
        });
    Ok(PreparedBlock {
        rows,
        norms,
        sq_sums,
    })
}

/// [`shard_pass_into`] on a block already checked, with its squared norms: `p` kept between
/// the iterations of a fit (its rows checked finite and its weights checked once), so a pass
/// is the kernel and the sums only. Checks the centers and the labels' count.
pub fn prepared_pass_into<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    offset: u64,
    labels: &mut [u32],
    into: &mut ShardStats,
    extras: bool,
) -> Result<()> {
    let (n, d) = (p.n(), p.d());
    if labels.len() != n {
        return Err(Error::BadLength {
            what: "labels",
            rows: n,
            cols: 1,
            expected: n,
            got: labels.len(),
        });
    }
    check_centers(centers, k, d)?;
    let blocking = Blocking::of::<T>(k);
    if into.sums.weight.len() != k || into.sums.d != d {
        return Err(Error::InitShape {
            expected_k: into.sums.weight.len(),
            expected_d: into.sums.d,
            got_k: k,
            got_d: d,
        });
    }
    let changed = assign_pass_into(p, centers, k, labels, true, blocking, &mut into.sums) as u64;
    into.changed += changed;
    into.rows += n as u64;
    if extras {
        add_extras(p, labels, centers, k, offset, blocking, into);
    }
    Ok(())
}

/// Adds the block's inertia under `labels` and its farthest rows to `into` (the second sweep
/// of [`shard_pass_into`]).
pub(crate) fn add_extras<T: Real>(
    p: &Prepared<'_, T>,
    labels: &[u32],
    centers: &[T],
    k: usize,
    offset: u64,
    blocking: Blocking,
    into: &mut ShardStats,
) {
    let d = p.d;
    let cr = blocking.chunk_rows;
    let parts: Vec<(f64, Vec<FarRow>)> = labels
        .par_chunks(cr)
        .enumerate()
        .map(|(ci, lc)| {
            let mut s = 0.0;
            let mut far: Vec<FarRow> = Vec::new();
            for (j, &l) in lc.iter().enumerate() {
                let i = ci * cr + j;
                let c = &centers[l as usize * d..(l as usize + 1) * d];
                let dist = sq_dist(p.x.get(i * d..(i + 1) * d).unwrap_or(&[]), c).to_f64();
                let wi = p.weight(i);
                s += wi * dist;
                let cand = FarRow {
                    dist,
                    index: offset + i as u64,
                    label: l,
                    weight: wi,
                    row: Vec::new(),
                };
                if far.len() < k || by_far(&cand, far.last().expect("k >= 1")).is_lt() {
                    let at = far.partition_point(|f| by_far(f, &cand).is_lt());
                    far.insert(at, cand);
                    far.truncate(k);
                }
            }
            (s, far)
        })
        .collect();
    let mut far: Vec<FarRow> = Vec::new();
    for (s, f) in parts {
        into.inertia += s;
        far.extend(f);
    }
    far.sort_by(by_far);
    far.truncate(k);
    for f in &mut far {
        let i = (f.index - offset) as usize;
        f.row = p.row(i).iter().map(|v| v.to_f64()).collect();
    }
    into.far.extend(far);
    into.far.sort_by(by_far);
    into.far.truncate(k);
}

/// Checks one block before a pass: finite rows, `n` finite non-negative weights (errors name
/// the global row, `offset` plus the row within the block), `k x d` finite centers.
pub(crate) fn check_block<T: Real>(
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    offset: u64,
) -> Result<()> {
    check_rows(x, sample_weight, offset)?;
    let d = x.d();
    check_centers(centers, k, d)?;
    Ok(())
}

/// `k x d` centers: the shape, and every value finite.
pub(crate) fn check_centers<T: Real>(centers: &[T], k: usize, d: usize) -> Result<()> {
    if k == 0 || centers.len() != k * d {
        return Err(Error::InitShape {
            expected_k: k,
            expected_d: d,
            got_k: centers.len() / d.max(1),
            got_d: d,
        });
    }
    check_finite("centers", centers, d)
}

/// The rows of a block (finite; an error names the row within the block) and its weights
/// (count, finite, `>= 0`; an error names the global row).
fn check_rows<T: Real>(x: MatView<'_, T>, sample_weight: Option<&[T]>, offset: u64) -> Result<()> {
    x.validate("data")?;
    let n = x.n();
    if let Some(sample_weight) = sample_weight {
        if sample_weight.len() != n {
            return Err(Error::WeightCount {
                expected: n,
                got: sample_weight.len(),
            });
        }
        if let Some((i, v)) = sample_weight
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v >= T::ZERO))
        {
            return Err(Error::BadWeight {
                row: offset as usize + i,
                value: v.to_f64(),
            });
        }
    }
    Ok(())
}

/// [`check_block`], then the rows' squared norms.
pub(crate) fn checked_norms<T: Real>(
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    offset: u64,
) -> Result<Vec<T>> {
    check_block(x, sample_weight, centers, k, offset)?;
    let mut xn = vec![T::ZERO; x.n()];
    row_sq_norms(x.data(), x.d(), &mut xn);
    Ok(xn)
}

/// [`checked_norms`] for a pass that also takes `n` labels for the block's `n` rows.
pub(crate) fn labelled_block<T: Real>(
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    offset: u64,
    labels: &[u32],
) -> Result<Vec<T>> {
    let n = x.n();
    if labels.len() != n {
        return Err(Error::BadLength {
            what: "labels",
            rows: n,
            cols: 1,
            expected: n,
            got: labels.len(),
        });
    }
    checked_norms(x, sample_weight, centers, k, offset)
}

/// The update of one Lloyd iteration from the merged statistics of all blocks: empty
/// clusters take the farthest rows (in order), then each center is its rows' weighted mean.
/// Writes `new_centers` (`k x d`); returns `sum_k ||new_k - old_k||^2` and the number of
/// relocated clusters. The same arithmetic as the in-memory M-step.
pub fn update<T: Real>(
    stats: &ShardStats,
    old_centers: &[T],
    new_centers: &mut [T],
) -> (f64, usize) {
    let mut sums = stats.sums.clone();
    let d = sums.d;
    let k = sums.weight.len();
    let empty: Vec<usize> = (0..k).filter(|&c| sums.weight[c] == 0.0).collect();
    for (&e, f) in empty.iter().zip(&stats.far) {
        let old = f.label as usize;
        for (t, &v) in f.row.iter().enumerate() {
            sums.sums[old * d + t] -= v * f.weight;
            sums.sums[e * d + t] = v * f.weight;
        }
        sums.weight[e] = f.weight;
        sums.weight[old] -= f.weight;
    }
    let shift = super::step::write_means(&sums, old_centers, new_centers);
    (shift, empty.len().min(stats.far.len()))
}
