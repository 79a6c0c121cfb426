//! Soft-lloyd step vs hard Lloyd pass, same data, same process:
//! `cargo run --release --example soft_speed -- N D K THREADS`
//! (`KMRBF_OVERLAP=1`: the benchmark's recipe, centers uniform in `[-1, 1]^D` and noise 0.6,
//! where softmax rows are dense; default: separated blobs of `synth::blobs`.)
use kmrbf::init::Prepared;
use kmrbf::kernels::distance::row_sq_norms;
use kmrbf::kernels::maps::MapKind;
use kmrbf::kernels::tiles::Blocking;
use kmrbf::kmeans::lloyd::assign_pass;
use kmrbf::rbf::step::{StepKind, Stepper};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let (n, d, k, th) = (a[0], a[1], a[2], a[3]);
    let x: Vec<f32> = if std::env::var_os("KMRBF_OVERLAP").is_some() {
        let mut rng = kmrbf::rng::Rng::new(1);
        let c: Vec<f64> = (0..k * d).map(|_| 2.0 * rng.uniform() - 1.0).collect();
        (0..n)
            .flat_map(|_| {
                let j = rng.below(k);
                (0..d)
                    .map(|t| (c[j * d + t] + 0.6 * rng.normal()) as f32)
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        let ds = kmrbf::synth::blobs(n, d, k, 1.0, 1);
        ds.x.iter().map(|&v| v as f32).collect()
    };
    let mut xn = vec![0f32; n];
    row_sq_norms(&x, d, &mut xn);
    let p = Prepared {
        x: &x,
        d,
        xn: &xn,
        w: None,
    };
    let c0: Vec<f32> = x[..k * d].to_vec();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(th)
        .build()
        .unwrap();
    pool.install(|| {
        let mut labels = vec![0u32; n];
        let bl = Blocking::of::<f32>(k);
        let hard = median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    assign_pass(&p, &c0, k, &mut labels, true, bl);
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        );
        println!(
            "n={n} d={d} k={k} threads={th}: hard Lloyd pass {:.1} ms",
            hard * 1e3
        );
        let only = std::env::var("KMRBF_MAP").ok();
        for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
            if only.as_deref().is_some_and(|m| m != map.name()) {
                continue;
            }
            // A temperature where rows are genuinely soft: a tenth of the median gap scale.
            let temp: f64 = std::env::var("KMRBF_TEMP")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.5);
            let s = median(
                (0..5)
                    .map(|_| {
                        let mut c = c0.clone();
                        let mut st = Stepper::new(StepKind::SoftLloyd);
                        let t = Instant::now();
                        let info = st.step(&p, &mut c, k, map, temp);
                        let e = t.elapsed().as_secs_f64();
                        assert!(info.before.f.is_finite());
                        e
                    })
                    .collect(),
            );
            println!(
                "  soft-lloyd {:10}: {:.1} ms ({:.2}x hard)",
                map.name(),
                s * 1e3,
                s / hard
            );
        }
    });
}
