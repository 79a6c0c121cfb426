//! The equivalence on a user's whole data set, in the precision of its file: from each seed's
//! k-means++ init, Lloyd to its fixed point and, for every map, the annealing from
//! `sigma0 = auto`, with the distance between the two results.

use crate::matrix::{Centered, Values};
use kmrbf::data::row_sq_norms;
use kmrbf::kmeans::lloyd::lloyd_run;
use kmrbf::metrics::{adjusted_rand_index, center_discrepancy};
use kmrbf::rbf::anneal::{anneal, auto_factor, lloyd_gaps, AnnealParams, Sigma0};
use kmrbf::rbf::MapKind;
use kmrbf::{Isa, KMeansParams, MatView, Real};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One map from one seed's init on the whole data.
#[derive(Clone, Debug, Serialize)]
pub struct Certificate {
    pub seed: u64,
    pub map: String,
    /// Precision the data were read and computed in ("f32" / "f64").
    pub dtype: String,
    pub n: usize,
    pub d: usize,
    pub k: usize,
    /// Rows whose two nearest centers came out at exactly the same distance along Lloyd's
    /// path (in the tile kernel's rounding: true ties, which the soft maps split at every
    /// temperature, or rounding ties, which the step at the one-hot limit decides with Lloyd's
    /// kernel), and clusters Lloyd relocated (the soft step keeps a center without mass, so
    /// there the limit is not Lloyd's path).
    pub exact_ties: usize,
    pub relocated: usize,
    /// Smallest positive two-nearest gap along Lloyd's path, and the `auto` start from it.
    pub gap_min: f64,
    pub sigma0: f64,
    pub stages: usize,
    pub steps: usize,
    pub kmeans_j: f64,
    pub kmeans_iters: usize,
    pub annealed_j: f64,
    /// Largest distance between matched centers (data units), and divided by the largest
    /// |coordinate| of the K-Means centers (the report's scale).
    pub discrepancy: f64,
    pub discrepancy_rel: f64,
    pub ari: f64,
    pub seconds: f64,
}

/// Certificates of every map of `maps` from the init of `seed` on all of `cd`'s rows, the
/// kernels on tier `isa`.
pub fn certify(
    isa: Isa,
    cd: &Centered,
    k: usize,
    seed: u64,
    maps: &[MapKind],
) -> Result<Vec<Certificate>, kmrbf::Error> {
    match &cd.m.values {
        Values::F32(x) => certify_typed(isa, cd, x, k, seed, maps),
        Values::F64(x) => certify_typed(isa, cd, x, k, seed, maps),
    }
}

fn certify_typed<T: Real>(
    isa: Isa,
    cd: &Centered,
    x: &[T],
    k: usize,
    seed: u64,
    maps: &[MapKind],
) -> Result<Vec<Certificate>, kmrbf::Error> {
    let (n, d) = (cd.m.n, cd.m.d);
    let v = MatView::new(x, n, d)?;
    let init = KMeansParams::<T>::new(k)
        .isa(isa)
        .seed(seed)
        .initial_centers(v, None)?;
    let mut xn = vec![T::ZERO; n];
    row_sq_norms(x, d, &mut xn);
    let p = kmrbf::data::Prepared::new(x, d, &xn, None, isa)?;
    let relocated = AtomicUsize::new(0);
    let km = lloyd_run(
        &p,
        &init,
        k,
        10_000,
        0.0,
        &|it| {
            relocated.fetch_add(it.relocated, Ordering::Relaxed);
        },
        None,
    );
    let (gap_min, exact_ties) = lloyd_gaps(&p, &init, k);
    let kc: Vec<f64> = km.centers.iter().map(|v| v.to_f64()).collect();
    let scale = cd
        .user(&kc)
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let mut out = Vec::new();
    for &map in maps {
        let t0 = std::time::Instant::now();
        let mut prm = AnnealParams::new(map);
        prm.isa = isa;
        prm.reference = false;
        prm.sigma0 = if gap_min > 0.0 && gap_min.is_finite() {
            Sigma0::Value(auto_factor(map) * gap_min)
        } else {
            Sigma0::Auto
        };
        let r = anneal(v, None, &init, k, &prm, &mut |_| {})?;
        let c: Vec<f64> = r.centers.iter().map(|v| v.to_f64()).collect();
        let disc = center_discrepancy(&c, &kc, k, d);
        out.push(Certificate {
            seed,
            map: map.name(),
            dtype: T::NAME.into(),
            n,
            d,
            k,
            exact_ties,
            relocated: relocated.load(Ordering::Relaxed),
            gap_min,
            sigma0: r.sigma0,
            stages: r.stages.len(),
            steps: r.total_steps,
            kmeans_j: km.inertia,
            kmeans_iters: km.n_iter,
            annealed_j: r.inertia,
            discrepancy: disc,
            discrepancy_rel: disc / scale,
            ari: adjusted_rand_index(&r.labels, &km.labels),
            seconds: t0.elapsed().as_secs_f64(),
        });
    }
    Ok(out)
}

/// The certificates as a markdown table.
pub fn table(certs: &[Certificate]) -> String {
    let mut s = String::from("| seed | map | precision | ties in rounding or exact / relocations on Lloyd's path | sigma0 (auto) | stages / steps | J K-Means | J annealed | discrepancy (data units) | discrepancy / scale | ARI | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for c in certs {
        s.push_str(&format!(
            "| {} | {} | {} | {} / {} | {:.3e} | {} / {} | {:.6e} | {:.6e} | {:.3e} | {:.3e} | {:.6} | {:.1} |\n",
            c.seed,
            c.map,
            c.dtype,
            c.exact_ties,
            c.relocated,
            c.sigma0,
            c.stages,
            c.steps,
            c.kmeans_j,
            c.annealed_j,
            c.discrepancy,
            c.discrepancy_rel,
            c.ari,
            c.seconds
        ));
    }
    s
}
