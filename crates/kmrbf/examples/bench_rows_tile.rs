//! The f32 softmax row kernel alone on one L2-resident tile (distances near those of the
//! benchmark's data): `cargo run --release --example bench_rows_tile -- ROWS K REPS`
mod common;
use kmrbf::kernels::soft::rows_avx512::{soft_rows, SoftMap};
use std::time::Instant;

fn main() {
    let a = common::args("ROWS K REPS", 3);
    let isa = common::isa();
    let (b, k, reps) = (a[0], a[1], a[2]);
    let mut rng = kmrbf::rng::Rng::new(3);
    let xn: Vec<f32> = (0..b).map(|_| 30.0 + rng.uniform() as f32).collect();
    let cn: Vec<f32> = (0..k).map(|_| 30.0 + rng.uniform() as f32).collect();
    let cross0: Vec<f32> = (0..b * k)
        .map(|_| -60.0 + 4.0 * rng.uniform() as f32)
        .collect();
    let mut cross = cross0.clone();
    let mut weighted = vec![0f32; b * k];
    let mut col = vec![0f32; k];
    let mut f = 0.0;
    let t = Instant::now();
    for _ in 0..reps {
        cross.copy_from_slice(&cross0);
        let tot = soft_rows(
            isa,
            SoftMap::Softmax,
            &mut cross,
            &xn,
            &cn,
            None,
            2.0,
            Some(&mut weighted),
            None,
            Some(&mut col),
        );
        f += tot.f;
    }
    let e = t.elapsed().as_secs_f64();
    println!(
        "{:.3} ns per element, tile copy included (F sum {f:.6e})",
        e / (reps * b * k) as f64 * 1e9
    );
}
