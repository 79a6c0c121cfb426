//! One fused Lloyd pass (assign + sums), the assignment alone, and faer's bare tile GEMM, on
//! a synthetic f32 set, in one process (medians of 7 / 5 runs).
//! `cargo run --release --example speed -- N D K THREADS` (`KMRBF_OVERLAP=1`: the benchmark's
//! recipe, centers uniform in `[-1, 1]^D` and noise 0.6; default: separated blobs.)
use kmrbf::init::Prepared;
use kmrbf::kernels::distance::row_sq_norms;
use kmrbf::kernels::tiles::Blocking;
use kmrbf::kmeans::lloyd::assign_pass;
use std::time::Instant;

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let (n, d, k, th) = (a[0], a[1], a[2], a[3]);
    let x: Vec<f32> = if std::env::var_os("KMRBF_OVERLAP").is_some() {
        let mut rng = kmrbf::rng::Rng::new(0);
        let centers: Vec<f32> = (0..k * d)
            .map(|_| (rng.uniform() * 2.0 - 1.0) as f32)
            .collect();
        let mut x = Vec::with_capacity(n * d);
        for _ in 0..n {
            let c = rng.below(k);
            for t in 0..d {
                x.push(centers[c * d + t] + (0.6 * rng.normal()) as f32);
            }
        }
        x
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
    let c: Vec<f32> = x[..k * d].to_vec();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(th)
        .build()
        .unwrap();
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
                kmrbf::kernels::distance::neg2_cross_tile(tile, d, &c, k, &mut buf[..b * k]);
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
