//! `R^T X` tile producers side by side on one L2-resident tile (f32):
//! `cargo run --release --example bench_sums_tile -- ROWS D K REPS`
mod common;
use std::time::Instant;

fn main() {
    let a = common::args("ROWS D K REPS", 4);
    let isa = common::isa();
    let (b, d, k, reps) = (a[0], a[1], a[2], a[3]);
    let mut rng = kmrbf::rng::Rng::new(3);
    let x: Vec<f32> = (0..b * d).map(|_| rng.normal() as f32).collect();
    let w: Vec<f32> = (0..b * k).map(|_| rng.uniform() as f32).collect();
    let mut sums = vec![0f32; k * d];
    let flops = 2.0 * (b * d * k) as f64 * reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        use faer::{Accum, MatMut, MatRef, Par};
        let lhs = MatRef::from_row_major_slice(&w, b, k).transpose();
        let rhs = MatRef::from_row_major_slice(&x, b, d);
        let dst = MatMut::from_row_major_slice_mut(&mut sums, k, d);
        faer::linalg::matmul::matmul(dst, Accum::Add, lhs, rhs, 1.0, Par::Seq);
    }
    println!(
        "faer: {:.1} GFLOP/s",
        flops / t.elapsed().as_secs_f64() / 1e9
    );
    let t = Instant::now();
    for _ in 0..reps {
        kmrbf::kernels::soft::rows_avx512::dense_weighted_sums(isa, &mut sums, d, k, &x, &w);
    }
    println!(
        "dense_weighted_sums: {:.1} GFLOP/s",
        flops / t.elapsed().as_secs_f64() / 1e9
    );
}
