//! Kernel benchmarks (divan): one fused Lloyd pass (assign + cluster sums) in f32 and f64,
//! the k-means++ init, and one full fit. Quality numbers are printed by `bench/compare.py`,
//! which runs the peers on the same data; this file tracks our own kernel over time.
//!
//! `cargo bench -p kmrbf --bench kernel`

use divan::Bencher;
use kmrbf::data::Prepared;
use kmrbf::init::kmeans_plus_plus;
use kmrbf::kernels::layout::distance::row_sq_norms;
use kmrbf::kernels::layout::tiles::Blocking;
use kmrbf::kmeans::lloyd::assign_pass;
use kmrbf::rng::Rng;
use kmrbf::Real;

fn main() {
    divan::main();
}

/// (n, d, k): the benchmark's thin shape, scaled to 1/4 to keep the bench quick, and a wide one.
const SHAPES: [(usize, usize, usize); 3] =
    [(250_000, 32, 64), (50_000, 128, 256), (100_000, 8, 16)];

fn data<T: Real>(n: usize, d: usize, k: usize) -> (Vec<T>, Vec<T>) {
    let ds = kmrbf::synth::blobs(n, d, k, 1.0, 1);
    let x: Vec<T> = ds.x.iter().map(|&v| T::from_f64(v)).collect();
    let mut xn = vec![T::ZERO; n];
    row_sq_norms(&x, d, &mut xn);
    (x, xn)
}

fn lloyd_pass<T: Real>(bencher: Bencher, (n, d, k): (usize, usize, usize)) {
    let (x, xn) = data::<T>(n, d, k);
    let p = Prepared::new(&x, d, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    let c = x[..k * d].to_vec();
    let mut labels = vec![0u32; n];
    let bl = Blocking::of::<T>(k);
    bencher
        .counter(divan::counter::ItemsCount::new(2 * n * d * k)) // flops of the distance GEMM
        .bench_local(|| assign_pass(&p, &c, k, &mut labels, true, bl));
}

#[divan::bench(args = SHAPES, sample_count = 10)]
fn lloyd_pass_f32(bencher: Bencher, shape: (usize, usize, usize)) {
    lloyd_pass::<f32>(bencher, shape);
}

#[divan::bench(args = SHAPES, sample_count = 10)]
fn lloyd_pass_f64(bencher: Bencher, shape: (usize, usize, usize)) {
    lloyd_pass::<f64>(bencher, shape);
}

#[divan::bench(args = [(250_000, 32, 64)], sample_count = 3)]
fn kmeans_plus_plus_f32(bencher: Bencher, (n, d, k): (usize, usize, usize)) {
    let (x, xn) = data::<f32>(n, d, k);
    let p = Prepared::new(&x, d, &xn, None, kmrbf::Isa::detect()).expect("consistent lengths");
    bencher.bench_local(|| kmeans_plus_plus(p, k, &mut Rng::new(0)));
}
