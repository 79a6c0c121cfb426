//! The f32 cross kernel vs faer on one L2-resident tile:
//! `cargo run --release --example bench_cross_tile -- ROWS D K REPS`
mod common;
use std::time::Instant;

fn main() {
    let a = common::args("ROWS D K REPS", 4);
    let isa = common::isa();
    let (b, d, k, reps) = (a[0], a[1], a[2], a[3]);
    let mut rng = kmrbf::rng::Rng::new(3);
    let x: Vec<f32> = (0..b * d).map(|_| rng.normal() as f32).collect();
    let c: Vec<f32> = (0..k * d).map(|_| rng.normal() as f32).collect();
    let mut out = vec![0f32; b * k];
    let flops = 2.0 * (b * d * k) as f64 * reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        kmrbf::kernels::layout::distance::neg2_cross_tile(&x, d, &c, k, &mut out);
    }
    let s0: f32 = out.iter().sum();
    println!(
        "faer: {:.1} GFLOP/s",
        flops / t.elapsed().as_secs_f64() / 1e9
    );
    let pk = kmrbf::kernels::layout::cross::CrossPack::new(isa, &c, k, d).expect("AVX-512");
    let t = Instant::now();
    for _ in 0..reps {
        kmrbf::kernels::layout::cross::cross_tile(isa, &x, &pk, &mut out);
    }
    let s1: f32 = out.iter().sum();
    println!(
        "cross_tile: {:.1} GFLOP/s (sums {s0:.4e} {s1:.4e})",
        flops / t.elapsed().as_secs_f64() / 1e9
    );
}
