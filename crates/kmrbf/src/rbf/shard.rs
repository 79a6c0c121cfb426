//! The RBF model over shards, the soft counterpart of [`crate::kmeans::shard`]: a pass over
//! one block of rows adds its terms and sums to running totals, in the order the blocks come,
//! so an engine that reads the data in blocks (a file larger than memory) runs the annealing's
//! steps, objectives and `sigma0 = auto` with the in-memory bits when the blocks are whole
//! multiples of the kernel's chunk of rows (`Blocking::chunk_rows`).

use super::anneal::gap_labels;
use super::pass::{soft_pass_into, PassOutput, PassRequest};
use crate::data::{MatView, Prepared};
use crate::error::{Error, Result};
use crate::kernels::isa::Isa;
use crate::kernels::layout::tiles::Blocking;
use crate::kmeans::shard::{add_extras, check_centers, checked_norms, labelled_block, ShardStats};
use crate::kmeans::step::cluster_sums_into;
use crate::real::Real;

/// Adds the block `x` (`n x d`, global rows `offset..offset + n`) to the totals `into` of a
/// soft pass of `req` at `centers` (`k x d`); `into` starts as [`PassOutput::empty`]. Returns
/// the block's largest squared row norm (the one-hot test of a step,
/// [`super::step::resolution_of`], needs the largest over all rows).
#[allow(clippy::too_many_arguments)]
pub fn soft_shard_into<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    offset: u64,
    req: PassRequest<T>,
    into: &mut PassOutput,
) -> Result<f64> {
    let xn = checked_norms(x, sample_weight, centers, k, offset)?;
    let p = Prepared::new(x.data(), x.d(), &xn, sample_weight, isa)?;
    prepared_soft_into(&p, centers, k, req, into)
}

/// [`soft_shard_into`] on a block already checked, with its squared norms (a block prepared
/// once per fit, [`crate::kmeans::shard::prepare_block`]): checks the centers and the totals.
pub fn prepared_soft_into<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    req: PassRequest<T>,
    into: &mut PassOutput,
) -> Result<f64> {
    let d = p.d();
    check_centers(centers, k, d)?;
    check_totals(into, &req, k, d)?;
    soft_pass_into(p, centers, k, req, into);
    Ok(p.xn().iter().fold(0.0f64, |m, &v| m.max(v.to_f64())))
}

fn check_totals<T>(into: &PassOutput, req: &PassRequest<T>, k: usize, d: usize) -> Result<()> {
    let fits = |s: &Option<crate::kmeans::ClusterSums>, on: bool| match s {
        Some(s) => on && s.weight.len() == k && s.d == d,
        None => !on,
    };
    if fits(&into.resp_sums, req.resp_sums) && fits(&into.loss_sums, req.loss_sums) {
        Ok(())
    } else {
        Err(Error::BadParam {
            name: "into",
            value: format!("totals for k = {k}, d = {d}"),
            reason: "the running totals were made for another request or shape",
        })
    }
}

/// The running statistics of one iteration of the Lloyd run behind `sigma0 = auto`
/// ([`super::anneal::lloyd_gaps`]) over blocks.
#[derive(Clone, Debug)]
pub struct GapStats {
    /// Smallest positive two-nearest gap so far (infinite: none).
    pub gap: f64,
    /// Exact ties so far.
    pub ties: usize,
    /// The labelled rows' sums, changed labels and (with extras) farthest rows.
    pub stats: ShardStats,
}

impl GapStats {
    /// The statistics of no rows, for `k` centers of `d` columns.
    pub fn empty(k: usize, d: usize) -> Self {
        Self {
            gap: f64::INFINITY,
            ties: 0,
            stats: ShardStats::empty(k, d),
        }
    }
}

/// One block of an iteration of [`super::anneal::lloyd_gaps`]: labels the rows of `x` (`n x
/// d`, global rows `offset..`) by [`gap_labels`], counts those that differ from `labels` on
/// entry, and adds the gaps, ties and the rows' sums to `into`; with `extras` also the
/// inertia and farthest rows (for an iteration that leaves a cluster empty). With the blocks
/// in order, [`crate::kmeans::shard::update`] on the merged statistics takes the in-memory
/// run's step.
#[allow(clippy::too_many_arguments)]
pub fn gap_shard_into<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    offset: u64,
    labels: &mut [u32],
    into: &mut GapStats,
    extras: bool,
) -> Result<()> {
    let xn = labelled_block(x, sample_weight, centers, k, offset, labels)?;
    let (n, d) = (x.n(), x.d());
    let p = Prepared::new(x.data(), d, &xn, sample_weight, isa)?;
    let old = labels.to_vec();
    let (g, t) = gap_labels(&p, centers, k, labels);
    into.gap = into.gap.min(g);
    into.ties += t;
    into.stats.changed += old.iter().zip(&*labels).filter(|(a, b)| a != b).count() as u64;
    into.stats.rows += n as u64;
    let blocking = Blocking::of::<T>(k);
    cluster_sums_into(&p, labels, k, blocking, &mut into.stats.sums);
    if extras {
        add_extras(&p, labels, centers, k, offset, blocking, &mut into.stats);
    }
    Ok(())
}
