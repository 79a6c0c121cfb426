//! Experiment: from which starting temperature does warm-started annealing land on the fixed
//! point Lloyd reaches from the same init? For 4 data sets x 8 inits and softmax / entmax15 /
//! sparsemax (groups of 5 letters), Y = lands within 1e-6, for sigma0 = min positive gap / 2,
//! 1% gap quantile / 2, median gap / n, median gap * 1e-3, median gap * 1e-4.
//! `cargo run --release --example study_sigma0_basins` (run from the repository root).
use kmrbf::kernels::maps::MapKind;
use kmrbf::rbf::anneal::{anneal, median_gap, AnnealParams, Sigma0};
use kmrbf::MatView;
fn main() {
    let mut sets = vec![];
    let ds = kmrbf::synth::blobs(600, 2, 5, 1.5, 7);
    sets.push(("blobs2", ds.x, 600, 2, 5));
    let ds = kmrbf::synth::blobs(800, 16, 8, 3.0, 9);
    sets.push(("blobs16", ds.x, 800, 16, 8));
    let text = std::fs::read_to_string("data/iris.csv").unwrap();
    let iris: Vec<f64> = text
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    sets.push(("iris", iris, 150, 4, 3));
    let text = std::fs::read_to_string("data/digits.csv").unwrap();
    let dg: Vec<f64> = text
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    sets.push(("digits", dg, 1797, 64, 10));
    for (name, x, n, d, k) in &sets {
        for seed in 0..8u64 {
            let mut rng = kmrbf::rng::Rng::new(seed);
            let mut idx = vec![];
            while idx.len() < *k {
                let i = rng.below(*n);
                if !idx.contains(&i) {
                    idx.push(i);
                }
            }
            let init: Vec<f64> = idx
                .iter()
                .flat_map(|&i| x[i * d..(i + 1) * d].to_vec())
                .collect();
            let v = MatView::new(x, *n, *d).unwrap();
            let mut xn = vec![0.0; *n];
            kmrbf::kernels::layout::distance::row_sq_norms(x, *d, &mut xn);
            let p = kmrbf::data::Prepared::new(x, *d, &xn, None, kmrbf::Isa::detect())
                .expect("consistent lengths");
            let g = median_gap(&p, &init, *k);
            let mut gaps: Vec<f64> = (0..*n)
                .map(|i| {
                    let mut ds: Vec<f64> = (0..*k)
                        .map(|j| {
                            (0..*d)
                                .map(|t| (x[i * d + t] - init[j * d + t]).powi(2))
                                .sum::<f64>()
                        })
                        .collect();
                    ds.sort_by(f64::total_cmp);
                    ds[1] - ds[0]
                })
                .collect();
            gaps.sort_by(f64::total_cmp);
            let minpos = gaps.iter().copied().find(|&v| v > 1e-12 * g).unwrap_or(g);
            let q01 = gaps[(*n as f64 * 0.01) as usize];
            let reloc = std::sync::atomic::AtomicUsize::new(0);
            let m = kmrbf::KMeansParams::new(*k)
                .init(kmrbf::Init::Centers(init.clone()))
                .tol(0.0)
                .algorithm(kmrbf::Algorithm::Lloyd)
                .fit_observed(v, None, &|i| {
                    reloc.fetch_add(i.relocated, std::sync::atomic::Ordering::Relaxed);
                })
                .unwrap();
            let mut line = format!(
                "{name:8} seed {seed} (lloyd iters {:3}, relocations {}): ",
                m.n_iter(),
                reloc.into_inner()
            );
            for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
                for sig in [minpos / 2.0, q01 / 2.0, g / *n as f64, g * 1e-3, g * 1e-4] {
                    let mut prm = AnnealParams::new(map);
                    prm.sigma0 = Sigma0::Value(sig);
                    let r = anneal(v, None, &init, *k, &prm, &mut |_| {}).unwrap();
                    let last = r.stages.last().unwrap().discrepancy.unwrap();
                    line.push(if last < 1e-6 { 'Y' } else { '.' });
                }
                line.push(' ');
            }
            println!("{line}");
        }
    }
}
