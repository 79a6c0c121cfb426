//! The floor of a streaming pass on this machine: one thread summing `N` f32 values
//! (`cargo run --release --example bench_stream_read -- N`, e.g. 32000000 = the 128 MB of the
//! 1M x 32 benchmark). k-means++ reads `x` once per greedy step, so `k` times this is its floor.
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(32_000_000, |s| s.parse().unwrap());
    let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 1e-3).collect();
    for _ in 0..5 {
        let t = Instant::now();
        // Eight independent partial sums per 16-lane block: the loop vectorizes and is bound
        // by the memory system, not by the add latency.
        let mut acc = [0f32; 128];
        for block in x.chunks_exact(128) {
            for (a, &v) in acc.iter_mut().zip(block) {
                *a += v;
            }
        }
        let s: f32 = acc.iter().sum();
        let e = t.elapsed().as_secs_f64();
        println!(
            "{:.2} ms, {:.1} GB/s (sum {s:.3e})",
            e * 1e3,
            (n * 4) as f64 / e / 1e9
        );
    }
}
