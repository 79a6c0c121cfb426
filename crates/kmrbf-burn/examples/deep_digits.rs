//! Deep clustering of scikit-learn's 8x8 digits (the repository's `data/digits.csv`).
//!
//! `cargo run --release -p kmrbf-burn --example deep_digits -- [seed] [key=value ...]`
//! with keys `lambda`, `pretrain`, `epochs`, `map` (softmax / entmax15 / sparsemax), `loss`
//! (f / l), `batch`, `lr`, `ninit` (K-Means restarts), `balanced` (1: Sinkhorn
//! center steps), `threads`.

use kmrbf_burn::deep::{DeepParams, HeadLoss, Trainer};
use kmrbf_burn::Map;

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/");
    let text = std::fs::read_to_string(format!("{root}digits.csv")).expect("digits.csv");
    let x: Vec<f32> = text
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.split(',')
                .map(|v| v.parse::<f32>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let truth: Vec<u32> = std::fs::read_to_string(format!("{root}digits_labels.csv"))
        .expect("labels")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let (n, d) = (truth.len(), 64);
    let mut args = std::env::args().skip(1);
    let mut p = DeepParams::new(10);
    p.seed = args.next().map(|s| s.parse().unwrap()).unwrap_or(0);
    for kv in args {
        let (key, value) = kv.split_once('=').expect("key=value");
        match key {
            "lambda" => p.lambda = value.parse().unwrap(),
            "pretrain" => p.pretrain_epochs = value.parse().unwrap(),
            "epochs" => p.epochs = value.parse().unwrap(),
            "map" => p.map = Map::parse(value).unwrap(),
            "loss" => {
                p.head_loss = if value == "l" {
                    HeadLoss::L
                } else {
                    HeadLoss::F
                }
            }
            "batch" => p.batch_size = value.parse().unwrap(),
            "lr" => p.lr = value.parse().unwrap(),
            "drop" => p.input_dropout = value.parse().unwrap(),
            "hidden" => p.hidden = value.split(',').map(|v| v.parse().unwrap()).collect(),
            "nb" => p.neighbors = value.parse().unwrap(),
            "mu" => p.mu = value.parse().unwrap(),
            "ninit" => p.n_init = value.parse().unwrap(),
            "balanced" => p.balanced = value == "1",
            "q" => p.sigma0_quantile = value.parse().unwrap(),
            "shift" => {
                p.augment = Some(kmrbf_burn::deep::params::Augment {
                    side: 8,
                    max_shift: value.parse().unwrap(),
                    clean_target: false,
                })
            }
            "cshift" => {
                p.augment = Some(kmrbf_burn::deep::params::Augment {
                    side: 8,
                    max_shift: value.parse().unwrap(),
                    clean_target: true,
                })
            }
            "threads" => p.threads = Some(value.parse().unwrap()),
            other => panic!("unknown key {other}"),
        }
    }
    let km = kmrbf::KMeansParams::new(10)
        .n_init(10)
        .seed(p.seed)
        .fit(kmrbf::MatView::new(&x, n, d).unwrap(), None)
        .unwrap();
    let pix = kmrbf_burn::deep::Scores::of(&truth, km.labels());
    println!(
        "kmeans on pixels: acc {:.3} nmi {:.3} ari {:.3}",
        pix.acc, pix.nmi, pix.ari
    );
    let trainer = Trainer::new(p, &x, n, d, Some(&truth)).unwrap();
    let t0 = std::time::Instant::now();
    let fit = trainer
        .run(None, &mut |r| {
            if r.epoch % 10 == 9 || r.acc.is_some() && r.epoch % 5 == 0 {
                println!(
                    "epoch {:3} {:8} sigma {:9.3e} recon {:.5} head {:9.4} acc {:?} nmi {:?} support {:?} {:.2}s",
                    r.epoch,
                    r.phase,
                    r.sigma.unwrap_or(0.0),
                    r.reconstruction,
                    r.head.unwrap_or(0.0),
                    r.acc.map(|v| (v * 1000.0).round() / 1000.0),
                    r.nmi.map(|v| (v * 1000.0).round() / 1000.0),
                    r.mean_support.map(|v| (v * 100.0).round() / 100.0),
                    r.seconds
                );
            }
        })
        .unwrap();
    let two = fit.state.two_stage.flatten().unwrap();
    let fin = kmrbf_burn::deep::Scores::of(&truth, &fit.labels);
    println!(
        "two-stage (ae + kmeans): acc {:.3} nmi {:.3} ari {:.3}",
        two.acc, two.nmi, two.ari
    );
    println!(
        "deep: acc {:.3} nmi {:.3} ari {:.3}  ({:.1}s)",
        fin.acc,
        fin.nmi,
        fin.ari,
        t0.elapsed().as_secs_f64()
    );
}
