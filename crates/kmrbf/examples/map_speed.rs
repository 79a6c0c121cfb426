//! Dev: ns per row of each map on 64-wide rows (baseline build, no AVX-512 dispatch).
use kmrbf::kernels::maps::{map_row, MapKind};
use std::time::Instant;
fn main() {
    let k = 64;
    let rows = 200_000;
    let mut rng = kmrbf::rng::Rng::new(1);
    let dist: Vec<f32> = (0..rows * k)
        .map(|_| (rng.uniform() * 400.0) as f32)
        .collect();
    let mut r = vec![0f32; k];
    let mut s = vec![0f32; k];
    for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
        let t = Instant::now();
        let mut acc = 0.0;
        for row in dist.chunks(k) {
            acc += map_row(map, row, 0.5f32, &mut r, None, &mut s).loss;
        }
        println!(
            "{:10} {:.1} ns/row ({acc:.3e})",
            map.name(),
            t.elapsed().as_secs_f64() / rows as f64 * 1e9
        );
    }
}
