//! The computations of the reproduction for one data set and one seed.

use kmrbf::data::row_sq_norms;
use kmrbf::metrics::{adjusted_rand_index, center_discrepancy};
use kmrbf::rbf::anneal::{
    anneal, lloyd_gaps, lloyd_min_gap, median_gap, AnnealParams, Schedule, Sigma0,
};
use kmrbf::rbf::step::{StepKind, Stepper};
use kmrbf::rbf::MapKind;
use kmrbf::synth::Dataset;
use kmrbf::{Algorithm, Init, Isa, KMeansParams, MatView};
use serde::Serialize;

/// The maps the reproduction compares.
pub const MAPS: [MapKind; 3] = [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax];

/// One point of a curve over sigma.
#[derive(Clone, Debug, Serialize)]
pub struct SigmaPoint {
    pub sigma: f64,
    pub discrepancy: f64,
    pub j: f64,
    pub l_minus_j: f64,
    pub f_minus_j: f64,
    pub bound: f64,
    pub onehot_fraction: f64,
    pub mean_support: f64,
    pub steps: usize,
}

/// Everything measured for one map.
#[derive(Clone, Debug, Serialize)]
pub struct MapRun {
    pub map: String,
    /// Every sigma trained from the init on its own.
    pub sweep: Vec<SigmaPoint>,
    /// Warm-started annealing over the same grid (soft start).
    pub anneal: Vec<SigmaPoint>,
    /// Centers after each annealing stage (for the path figure).
    pub anneal_path: Vec<Vec<f64>>,
    /// Annealing from `sigma0 = auto` (the default): final discrepancy.
    pub auto_final_discrepancy: f64,
    /// Max over the first T steps of the distance between soft-lloyd and Lloyd iterates.
    pub trajectory: Vec<(f64, f64)>,
    pub final_discrepancy: f64,
    pub j_gap: f64,
    pub ari: f64,
    pub stages: usize,
    pub steps: usize,
    /// Discrepancy non-increasing over the last third of the annealing grid.
    pub monotone_tail: bool,
    pub seconds: f64,
}

/// One data set x seed.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub dataset: String,
    pub seed: u64,
    /// k-means++ inits passed over because Lloyd's trajectory from them met an exact tie or
    /// an empty cluster (the init used is the draw of seed `seed + 1000 * inits_skipped`).
    pub inits_skipped: usize,
    pub n: usize,
    pub d: usize,
    pub k: usize,
    pub kmeans_centers: Vec<f64>,
    pub kmeans_labels: Vec<u32>,
    pub kmeans_j: f64,
    pub kmeans_iters: usize,
    pub gap_min: f64,
    pub gap_median: f64,
    pub grid: Vec<f64>,
    pub maps: Vec<MapRun>,
    /// Deterministic annealing from the critical temperature (softmax, polished): J.
    pub da_j: f64,
    /// Per sigma: fraction of rows where a naive float32 softmax `exp(-D/s) / sum` gives NaN,
    /// and where kmrbf's float32 softmax and entmax15 give a non-finite value.
    pub naive_nan: Vec<(f64, f64, f64, f64)>,
}

/// k-means++ inits tried at most per data set and seed for one whose Lloyd trajectory has no
/// exact tie and no empty cluster.
pub const MAX_INIT_DRAWS: usize = 20;

/// Steps compared in the trajectory experiment.
pub const TRAJECTORY_STEPS: usize = 10;

fn point(rec: &kmrbf::rbf::anneal::StageRecord, disc: f64) -> SigmaPoint {
    let o = &rec.objectives;
    SigmaPoint {
        sigma: rec.sigma,
        discrepancy: disc,
        j: o.j,
        l_minus_j: o.l - o.j,
        f_minus_j: o.f - o.j,
        bound: o.bound,
        onehot_fraction: o.onehot_fraction,
        mean_support: o.mean_support,
        steps: rec.steps,
    }
}

/// The grid: from the median gap (a soft start) down to a hundredth of the smallest gap along
/// Lloyd's trajectory (every row one-hot for entmax15 / sparsemax), `points` geometric steps.
pub fn grid(gap_min: f64, gap_median: f64, points: usize) -> Vec<f64> {
    let hi = gap_median.max(10.0 * gap_min);
    let lo = gap_min / 100.0;
    let r = (lo / hi).powf(1.0 / (points - 1) as f64);
    (0..points).map(|i| hi * r.powi(i as i32)).collect()
}

/// Runs the whole experiment on `ds` from the k-means++ init of `seed`.
pub fn run(isa: Isa, ds: &Dataset, seed: u64, points: usize) -> Run {
    let (n, d, k) = (ds.n, ds.d, ds.k);
    let x = &ds.x;
    let v = MatView::new(x, n, d).expect("shape");
    // The zero-temperature equivalence holds along Lloyd trajectories where every row has a
    // unique nearest center and no cluster empties. At an exact tie the soft maps split the
    // row for every sigma while Lloyd gives it to the lower index (digits, integer-valued, has
    // such ties from some inits); an empty cluster Lloyd relocates to the farthest row
    // (scikit-learn's rule) while the soft step `1 / (2 N_k)` leaves a center without mass
    // where it is. So the experiment takes the first k-means++ init (draws `seed`,
    // `seed + 1000`, ...) whose Lloyd trajectory has neither, and records how many it passed
    // over.
    let mut xn = vec![0.0; n];
    row_sq_norms(x, d, &mut xn);
    let p = kmrbf::data::Prepared::new(x, d, &xn, None, isa).expect("shape");
    let mut skipped = 0;
    let (init, km) = loop {
        let draw = seed + 1000 * skipped as u64;
        let init = KMeansParams::<f64>::new(k)
            .isa(isa)
            .seed(draw)
            .initial_centers(v, None)
            .expect("valid");
        let relocated = std::sync::atomic::AtomicUsize::new(0);
        let km = KMeansParams::new(k)
            .isa(isa)
            .init(Init::Centers(init.clone()))
            .tol(0.0)
            .max_iter(10_000)
            .algorithm(Algorithm::Lloyd)
            .fit_observed(v, None, &|it| {
                relocated.fetch_add(it.relocated, std::sync::atomic::Ordering::Relaxed);
            })
            .expect("valid");
        let (_, ties) = lloyd_gaps(&p, &init, k);
        if (relocated.into_inner() == 0 && ties == 0) || skipped + 1 >= MAX_INIT_DRAWS {
            break (init, km);
        }
        skipped += 1;
    };
    let kc = km.centers().to_vec();
    let gap_min = lloyd_min_gap(&p, &init, k);
    let gap_median = median_gap(&p, &init, k);
    let grid = grid(gap_min, gap_median, points);
    let disc = |c: &[f64]| center_discrepancy(c, &kc, k, d);
    let mut maps = Vec::new();
    for map in MAPS {
        let t0 = std::time::Instant::now();
        let mut base = AnnealParams::new(map);
        base.isa = isa;
        base.reference = false;
        base.stage_cap = 500;
        base.tol = 1e-14;
        let mut sweep = Vec::new();
        for &s in &grid {
            let mut prm = base.clone();
            prm.schedule = Schedule::List(vec![s]);
            let r = anneal(v, None, &init, k, &prm, &mut |_| {}).expect("valid");
            let rec = &r.stages[0];
            sweep.push(point(rec, disc(&rec.centers)));
        }
        let mut prm = base.clone();
        prm.schedule = Schedule::List(grid.clone());
        let r = anneal(v, None, &init, k, &prm, &mut |_| {}).expect("valid");
        let anneal_pts: Vec<SigmaPoint> = r
            .stages
            .iter()
            .map(|s| point(s, disc(&s.centers)))
            .collect();
        let anneal_path = r.stages.iter().map(|s| s.centers.clone()).collect();
        let final_discrepancy = anneal_pts.last().map_or(f64::NAN, |p| p.discrepancy);
        let tail = &anneal_pts[anneal_pts.len() * 2 / 3..];
        let monotone_tail = tail
            .windows(2)
            .all(|w| w[1].discrepancy <= w[0].discrepancy * (1.0 + 1e-9) + 1e-12);
        let auto = {
            let mut prm = base.clone();
            prm.sigma0 = Sigma0::Auto;
            let r = anneal(v, None, &init, k, &prm, &mut |_| {}).expect("valid");
            disc(&r.stages.last().expect("stages").centers)
        };
        // Trajectory: T soft-lloyd steps vs T Lloyd steps from the same init.
        let mut trajectory = Vec::new();
        for &s in &grid {
            let mut soft = init.clone();
            let mut hard = init.clone();
            let mut st_s = Stepper::new(StepKind::SoftLloyd);
            let mut st_h = Stepper::new(StepKind::SoftLloyd);
            let mut worst: f64 = 0.0;
            for _ in 0..TRAJECTORY_STEPS {
                st_s.step(&p, &mut soft, k, map, s);
                st_h.step(&p, &mut hard, k, MapKind::Hard, s);
                for c in 0..k {
                    let dd: f64 = (0..d)
                        .map(|t| (soft[c * d + t] - hard[c * d + t]).powi(2))
                        .sum();
                    worst = worst.max(dd.sqrt());
                }
            }
            trajectory.push((s, worst));
        }
        let labels = kmrbf::kmeans::predict(isa, &r.centers, k, v).expect("valid");
        maps.push(MapRun {
            map: map.name(),
            sweep,
            anneal: anneal_pts,
            anneal_path,
            auto_final_discrepancy: auto,
            trajectory,
            final_discrepancy,
            j_gap: r.inertia - km.inertia(),
            ari: adjusted_rand_index(&labels, km.labels()),
            stages: r.stages.len(),
            steps: r.total_steps,
            monotone_tail,
            seconds: t0.elapsed().as_secs_f64(),
        });
    }
    let da_j = {
        let mut prm = AnnealParams::new(MapKind::Softmax);
        prm.isa = isa;
        prm.sigma0 = Sigma0::Critical;
        prm.schedule = Schedule::Geometric { gamma: 0.8 };
        prm.polish = true;
        prm.reference = false;
        prm.stage_cap = 200;
        prm.tol = 1e-10;
        prm.seed = seed;
        anneal(v, None, &init, k, &prm, &mut |_| {})
            .expect("valid")
            .inertia
    };
    let naive_nan = naive_softmax_nan(x, d, &kc, k, &grid);
    Run {
        dataset: ds.name.clone(),
        seed,
        inits_skipped: skipped,
        n,
        d,
        k,
        kmeans_centers: kc,
        kmeans_labels: km.labels().to_vec(),
        kmeans_j: km.inertia(),
        kmeans_iters: km.n_iter(),
        gap_min,
        gap_median,
        grid,
        maps,
        da_j,
        naive_nan,
    }
}

/// Fraction of rows whose naive (unshifted) float32 softmax `exp(-D/s) / sum exp(-D/s)` is
/// NaN (every term underflows: 0 / 0), at each sigma of `grid` and below it.
pub fn naive_softmax_nan(
    x: &[f64],
    d: usize,
    centers: &[f64],
    k: usize,
    grid: &[f64],
) -> Vec<(f64, f64, f64, f64)> {
    let n = x.len() / d;
    let lo = grid.last().copied().unwrap_or(1.0);
    let mut sigmas: Vec<f64> = grid.to_vec();
    let mut s = lo;
    for _ in 0..6 {
        s /= 10.0;
        sigmas.push(s);
    }
    sigmas
        .into_iter()
        .map(|s| {
            let (mut nan, mut bad_soft, mut bad_ent) = (0usize, 0usize, 0usize);
            let mut e = vec![0f32; k];
            let mut dist = vec![0f32; k];
            let mut r = vec![0f32; k];
            let mut scratch = vec![0f32; k];
            for i in 0..n {
                for j in 0..k {
                    let dd: f64 = (0..d)
                        .map(|t| (x[i * d + t] - centers[j * d + t]).powi(2))
                        .sum();
                    dist[j] = dd as f32;
                    e[j] = (-(dist[j]) / s as f32).exp();
                }
                let sum: f32 = e.iter().sum();
                if e.iter().any(|v| (v / sum).is_nan()) {
                    nan += 1;
                }
                for (map, bad) in [
                    (MapKind::Softmax, &mut bad_soft),
                    (MapKind::Entmax15, &mut bad_ent),
                ] {
                    kmrbf::rbf::map_row(map, &dist, s as f32, &mut r, None, &mut scratch);
                    if r.iter().any(|v| !v.is_finite()) {
                        *bad += 1;
                    }
                }
            }
            let f = |c: usize| c as f64 / n as f64;
            (s, f(nan), f(bad_soft), f(bad_ent))
        })
        .collect()
}
