//! One fused Lloyd pass (assign + sums), the assignment alone, and faer's bare tile GEMM, on
//! a synthetic f32 set, in one process (medians of 7 / 5 runs).
//! `cargo run --release --example bench_lloyd -- N D K THREADS` (`KMRBF_OVERLAP=1`: the benchmark's
//! recipe, centers uniform in `[-1, 1]^D` and noise 0.6; default: separated blobs.)
mod common;
use kmrbf::data::Prepared;
use kmrbf::kernels::layout::tiles::Blocking;
use kmrbf::kmeans::lloyd::assign_pass;
use std::time::Instant;

fn main() {
    let a = common::args("N D K THREADS", 4);
    let (n, d, k, th) = (a[0], a[1], a[2], a[3]);
    let x: Vec<f32> = if std::env::var_os("KMRBF_OVERLAP").is_some() {
        kmrbf::synth::bench_blobs_f32(n, d, k, 0)
    } else {
        let ds = kmrbf::synth::blobs(n, d, k, 1.0, 1);
        ds.x.iter().map(|&v| v as f32).collect()
    };
    let xn = common::norms(&x, d);
    let p = Prepared::new(&x, d, &xn, None, common::isa()).expect("consistent lengths");
    let c: Vec<f32> = x[..k * d].to_vec();
    let pool = common::pool(th);
    let mut labels = vec![0u32; n];
    let bl = Blocking::of::<f32>(k);
    pool.install(|| {
        let mut times = vec![];
        for _ in 0..7 {
            let t = Instant::now();
            assign_pass(&p, &c, k, &mut labels, true, bl);
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let med = times[3];
        let gf = 2.0 * n as f64 * d as f64 * k as f64 / med / 1e9;
        let mut t2 = vec![];
        for _ in 0..5 {
            let t = Instant::now();
            assign_pass(&p, &c, k, &mut labels, false, bl);
            t2.push(t.elapsed().as_secs_f64());
        }
        t2.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mut t3 = vec![];
        let mut buf = vec![0f32; bl.tile_rows * k];
        for _ in 0..5 {
            let t = Instant::now();
            for tile in x.chunks(bl.tile_rows * d) {
                let b = tile.len() / d;
                kmrbf::kernels::layout::distance::neg2_cross_tile(
                    tile,
                    d,
                    &c,
                    k,
                    &mut buf[..b * k],
                );
            }
            t3.push(t.elapsed().as_secs_f64());
        }
        t3.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "assign only {:.2} ms, bare gemm 1 thread {:.2} ms",
            t2[2] * 1e3,
            t3[2] * 1e3
        );
        println!(
            "n={n} d={d} k={k} threads={th} blocking={bl:?} median {:.2} ms  {:.0} GFLOP/s",
            med * 1e3,
            gf
        );
    });
}
