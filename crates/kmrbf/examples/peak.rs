//! Dev: faer GEMM peak on PERF.md's shape, (100000 x 64) . (64 x 256), f32, 1 thread.
use faer::{Accum, MatMut, MatRef, Par};
use std::time::Instant;
fn main() {
    let (m, k, n) = (100_000usize, 64usize, 256usize);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0f32; m * n];
    for par in [Par::Seq, Par::rayon(2)] {
        let mut ts = vec![];
        for _ in 0..5 {
            let t = Instant::now();
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut c, m, n),
                Accum::Replace,
                MatRef::from_row_major_slice(&a, m, k),
                MatRef::from_row_major_slice(&b, k, n),
                1.0f32,
                par,
            );
            ts.push(t.elapsed().as_secs_f64());
        }
        ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{par:?}: {:.2} ms, {:.0} GFLOP/s",
            ts[2] * 1e3,
            2.0 * (m * k * n) as f64 / ts[2] / 1e9
        );
    }
}
