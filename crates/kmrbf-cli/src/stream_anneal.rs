//! `anneal` on a `.npy` read from disk in blocks of rows, for data larger than memory.
//!
//! Every step is one pass over the blocks: each adds its soft-pass terms and sums to running
//! totals (`kmrbf::rbf::shard`), and the stepper moves the centers from the totals. The blocks
//! are whole multiples of the kernel's chunk of rows, so the steps, the stage records, the
//! reference K-Means run, the polish and `sigma0 = auto` (the gaps along Lloyd's path) have
//! the in-memory annealing's bits from the same initial centers. `sigma0 = median` and
//! `critical` (a median over rows, the growing codebook) need the data in memory and are
//! refused. Memory: a few blocks, the labels of a Lloyd run or the final labels (4 bytes a
//! row, one array at a time) and `k x d` statistics.

use crate::fail::{bad_input, lib_error, CliResult};
use crate::progress::Progress;
use crate::stream::{lloyd, start, visit, visit_labelled, RowStream, Start, StreamSettings};
use kmrbf::kmeans::predict;
use kmrbf::kmeans::shard::{shard_pass_into, update, ShardStats};
use kmrbf::kmeans::step::InertiaSum;
use kmrbf::metrics::{center_discrepancy, Contingency};
use kmrbf::rbf::anneal::{
    auto_sigma0, listed_start, scale_fallback, stage_sigmas, AnnealParams, AnnealResult, Reference,
    Sigma0, StageRecord, GAP_ITERATIONS,
};
use kmrbf::rbf::objective::Objectives;
use kmrbf::rbf::shard::{gap_shard_into, soft_shard_into, GapStats};
use kmrbf::rbf::step::{one_hot_ratio, resolution_of, Stepper};
use kmrbf::rbf::{PassOutput, PassRequest, Temperature};
use kmrbf::{Isa, Real};

/// The iteration cap of the reference K-Means run and of the polish (as in memory).
const LLOYD_CAP: usize = 10_000;

/// Anneals on the streamed file with the in-memory annealing's semantics; `observer` sees each
/// stage. Returns the stream's start (shift, blocks, init) and the result in working
/// coordinates (the reference's labels are not kept).
pub fn anneal<T: Real>(
    s: &mut RowStream,
    st: &StreamSettings<'_>,
    params: &AnnealParams,
    progress: &Progress,
    observer: &mut dyn FnMut(&StageRecord),
) -> CliResult<(Start<T>, AnnealResult<T>)> {
    params.check().map_err(|e| lib_error("anneal", e))?;
    let listed = listed_start(params);
    if listed.is_none() && matches!(params.sigma0, Sigma0::Median | Sigma0::Critical) {
        return Err(bad_input(
            "--sigma0 median / critical need the data in memory: a streamed anneal (--block-rows, or a file larger than half the available memory) takes auto or a number",
        ));
    }
    let start = start::<T>(s, st, progress)?;
    let (d, k, isa, map) = (s.d, st.k, params.isa, params.map);
    let temp_err = |e| lib_error("--sigma0 / --sigma-min / --sigmas", e);
    let sigma0 = match (listed, params.sigma0) {
        (Some(first), _) => first,
        (None, Sigma0::Value(v)) => Temperature::new(v, params.kernel).map_err(temp_err)?.sigma,
        (None, _) => {
            let g = if k >= 2 {
                lloyd_min_gap(s, &start, isa, k, progress)?
            } else {
                0.0
            };
            auto_sigma0(params, g, scale_fallback(start.scale))
        }
    };
    let sigmas = stage_sigmas::<T>(params, sigma0).map_err(temp_err)?;
    let tol_abs = params.tol * start.scale;

    let reference = match params.reference {
        true => {
            let r = lloyd(s, &start, isa, k, &start.init, LLOYD_CAP, 0.0, progress)?;
            Some(Reference {
                centers: r.centers.iter().map(|v| v.to_f64()).collect(),
                labels: Vec::new(),
                inertia: r.inertia,
                n_iter: r.n_iter,
            })
        }
        false => None,
    };
    let ref_working: Option<Vec<T>> = reference
        .as_ref()
        .map(|r| r.centers.iter().map(|&v| T::from_f64(v)).collect());

    let mut stepper = Stepper::new(params.step);
    let mut centers = start.init.clone();
    let mut stages = Vec::with_capacity(sigmas.len());
    let mut total_steps = 0;
    for (si, &sigma) in sigmas.iter().enumerate() {
        let temp = Temperature::new(sigma, params.kernel)
            .map_err(temp_err)?
            .effective();
        if !params.warm_start {
            centers.copy_from_slice(&start.init);
        }
        stepper.reset();
        let mut steps = 0;
        let mut last_move_sq = f64::INFINITY;
        let t0 = std::time::Instant::now();
        while steps < params.stage_cap {
            let what = format!("stage {si}, step {}", steps + 1);
            let req = stepper.request::<T>(map, temp);
            let (o, xmax) = soft_totals(s, &start, isa, k, &centers, req, &what, progress)?;
            let at_limit = || temp * one_hot_ratio::<T>(map) <= resolution_of(xmax, &centers, k, d);
            let lloyd_sums = if stepper.wants_lloyd(&o, at_limit) {
                // Lloyd's sums of the same centers; the labels are not kept (a block's
                // worth of scratch instead of 4 bytes a row).
                let mut h = ShardStats::empty(k, d);
                let mut scratch: Vec<u32> = Vec::new();
                visit(s, &start, &what, progress, |r0, v, w| {
                    scratch.clear();
                    scratch.resize(v.n(), u32::MAX);
                    let at = r0 as u64;
                    shard_pass_into(isa, v, w, &centers, k, at, &mut scratch, &mut h, false)
                        .map_err(|e| lib_error("--data", e))
                })?;
                Some(h.sums)
            } else {
                None
            };
            let info = stepper.update(&mut centers, k, map, temp, &o, lloyd_sums.as_ref());
            steps += 1;
            last_move_sq = info.max_move_sq;
            if last_move_sq <= tol_abs {
                break;
            }
        }
        let seconds = t0.elapsed().as_secs_f64();
        total_steps += steps;
        // The record: the objectives at the stage's centers, and the agreement of their hard
        // labels with the reference's (both assigned block by block into one table).
        let req = PassRequest {
            map,
            temperature: T::from_f64(temp),
            resp_sums: false,
            loss_sums: false,
            fused: true,
        };
        let mut o = PassOutput::empty(k, d, &req);
        let mut table = Contingency::new(k, k);
        visit(
            s,
            &start,
            &format!("stage {si}: record"),
            progress,
            |r0, v, w| {
                soft_shard_into(isa, v, w, &centers, k, r0 as u64, req, &mut o)
                    .map_err(|e| lib_error("--data", e))?;
                if let Some(rc) = &ref_working {
                    let a = predict(isa, &centers, k, v).map_err(|e| lib_error("--data", e))?;
                    let b = predict(isa, rc, k, v).map_err(|e| lib_error("--data", e))?;
                    table.add(&a, &b);
                }
                Ok(())
            },
        )?;
        let c64: Vec<f64> = centers.iter().map(|v| v.to_f64()).collect();
        let (discrepancy, ari, nmi) = match &reference {
            Some(r) => (
                Some(center_discrepancy(&c64, &r.centers, k, d)),
                Some(table.ari()),
                Some(table.nmi()),
            ),
            None => (None, None, None),
        };
        let rec = StageRecord {
            stage: si,
            sigma,
            temperature: temp,
            steps,
            seconds,
            objectives: Objectives::from_pass(&o, map, temp, k),
            last_move_sq,
            discrepancy,
            ari,
            nmi,
            centers: c64,
        };
        observer(&rec);
        stages.push(rec);
    }
    let mut polish_iters = 0;
    if params.polish {
        let r = lloyd(s, &start, isa, k, &centers, LLOYD_CAP, 0.0, progress)?;
        polish_iters = r.n_iter;
        centers = r.centers;
    }
    // The final labels and J, as in memory (`inertia` in chunks of 8192 rows).
    let mut labels = vec![0u32; s.n];
    let mut j = InertiaSum::new(8192);
    visit(s, &start, "final labels", progress, |r0, v, w| {
        let l = predict(isa, &centers, k, v).map_err(|e| lib_error("--data", e))?;
        j.add(v.data(), d, w, &l, &centers);
        labels[r0..r0 + l.len()].copy_from_slice(&l);
        Ok(())
    })?;
    let result = AnnealResult {
        centers,
        labels,
        stages,
        reference,
        sigma0,
        total_steps,
        polish_iters,
        inertia: j.total(),
    };
    Ok((start, result))
}

/// The totals of one soft pass of `req` at `centers` over every block, and the largest
/// squared row norm.
#[allow(clippy::too_many_arguments)]
fn soft_totals<T: Real>(
    s: &RowStream,
    start: &Start<T>,
    isa: Isa,
    k: usize,
    centers: &[T],
    req: PassRequest<T>,
    what: &str,
    progress: &Progress,
) -> CliResult<(PassOutput, f64)> {
    let mut o = PassOutput::empty(k, s.d, &req);
    let mut xmax = 0.0f64;
    visit(s, start, what, progress, |r0, v, w| {
        let m = soft_shard_into(isa, v, w, centers, k, r0 as u64, req, &mut o)
            .map_err(|e| lib_error("--data", e))?;
        xmax = xmax.max(m);
        Ok(())
    })?;
    Ok((o, xmax))
}

/// `kmrbf::rbf::anneal::lloyd_min_gap` on the stream: the smallest positive two-nearest gap
/// over every row and every iteration of Lloyd from the init, one pass per iteration (two
/// when a cluster comes out empty).
fn lloyd_min_gap<T: Real>(
    s: &RowStream,
    start: &Start<T>,
    isa: Isa,
    k: usize,
    progress: &Progress,
) -> CliResult<f64> {
    let d = s.d;
    let mut labels = vec![u32::MAX; s.n];
    let mut centers = start.init.clone();
    let mut next = centers.clone();
    let mut gmin = f64::INFINITY;
    let pass = |centers: &[T], labels: &mut [u32], extras: bool, what: &str| {
        let mut g = GapStats::empty(k, d);
        visit_labelled(s, start, labels, what, progress, |at, v, w, lab| {
            gap_shard_into(isa, v, w, centers, k, at, lab, &mut g, extras)
        })?;
        CliResult::Ok(g)
    };
    for it in 0..GAP_ITERATIONS {
        let what = format!("sigma0 = auto: Lloyd iteration {}", it + 1);
        let mut g = pass(&centers, &mut labels, false, &what)?;
        gmin = gmin.min(g.gap);
        if g.stats.changed == 0 {
            break;
        }
        if g.stats.sums.weight.contains(&0.0) {
            // Empty clusters take the farthest rows: the same labels again, with them.
            g = pass(&centers, &mut labels, true, &what)?;
        }
        update(&g.stats, &centers, &mut next);
        std::mem::swap(&mut centers, &mut next);
    }
    Ok(gmin)
}
