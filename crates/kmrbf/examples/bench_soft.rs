//! Soft-lloyd step vs hard Lloyd pass, same data, same process:
//! `cargo run --release --example bench_soft -- N D K THREADS`
//! (`KMRBF_OVERLAP=1`: the benchmark's recipe, centers uniform in `[-1, 1]^D` and noise 0.6,
//! where softmax rows are dense; default: separated blobs of `synth::blobs`. `KMRBF_MAP`
//! runs one map, `KMRBF_TEMP` sets the temperature, `KMRBF_ISA` the tier, and
//! `KMRBF_TILE_PIPELINE=1` keeps the fused kernels out, to time the tile pipeline.)
mod common;
use kmrbf::data::Prepared;
use kmrbf::kernels::layout::tiles::Blocking;
use kmrbf::kernels::maps::MapKind;
use kmrbf::kmeans::lloyd::assign_pass;
use kmrbf::rbf::step::{StepKind, Stepper};
use std::time::Instant;

use common::median;

fn main() {
    let a = common::args("N D K THREADS", 4);
    let (n, d, k, th) = (a[0], a[1], a[2], a[3]);
    let x: Vec<f32> = if std::env::var_os("KMRBF_OVERLAP").is_some() {
        kmrbf::synth::bench_blobs_f32(n, d, k, 1)
    } else {
        let ds = kmrbf::synth::blobs(n, d, k, 1.0, 1);
        ds.x.iter().map(|&v| v as f32).collect()
    };
    let xn = common::norms(&x, d);
    let p = Prepared::new(&x, d, &xn, None, common::isa()).expect("consistent lengths");
    let c0: Vec<f32> = x[..k * d].to_vec();
    let pool = common::pool(th);
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
        let fused = std::env::var_os("KMRBF_TILE_PIPELINE").is_none();
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
                        let mut st = Stepper::new(StepKind::SoftLloyd).with_fused(fused);
                        let t = Instant::now();
                        let info = st.step(&p, &mut c, k, map, temp);
                        let e = t.elapsed().as_secs_f64();
                        assert!(info.before.f.is_finite());
                        e
                    })
                    .collect(),
            );
            let info = Stepper::new(StepKind::SoftLloyd).step(&p, &mut c0.clone(), k, map, temp);
            println!(
                "  soft-lloyd {:10}: {:.1} ms ({:.2}x hard); mean support {:.2}, one-hot rows {:.1}%",
                map.name(),
                s * 1e3,
                s / hard,
                info.before.mean_support,
                100.0 * info.before.onehot_fraction
            );
        }
    });
}
