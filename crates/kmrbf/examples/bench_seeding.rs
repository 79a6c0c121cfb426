//! Greedy k-means++ on the benchmark's thin set (overlapping blobs, `N x D`, `K` centers, f32)
//! and the two-step seeding kernel alone over all rows, in one process (medians of 5).
//! `cargo run --release --example bench_seeding -- N D K THREADS` (`KMRBF_KERNEL_ONLY=1`: the
//! kernel only).
mod common;
use kmrbf::data::Prepared;
use kmrbf::init::kmeans_plus_plus;
use kmrbf::kernels::seeding::{seed_rows_pair, PairCandidates};
use kmrbf::rng::Rng;
use std::time::Instant;

use common::median;

fn main() {
    let a = common::args("N D K THREADS", 4);
    let (n, d, k, th) = (a[0], a[1], a[2], a[3]);
    let x = kmrbf::synth::bench_blobs_f32(n, d, k, 0);
    let xn = common::norms(&x, d);
    let p = Prepared::new(&x, d, &xn, None, common::isa()).expect("consistent lengths");
    let pool = common::pool(th);
    let only_kernel = std::env::var_os("KMRBF_KERNEL_ONLY").is_some();
    pool.install(|| {
        if only_kernel {
            return;
        }
        let t_pp = median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let c = kmeans_plus_plus(p, k, &mut Rng::new(0));
                    std::hint::black_box(c);
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        );
        println!("k-means++: {:.1} ms", t_pp * 1e3);
    });
    // The kernel alone, in a late state: `closest` to 62 k-means++ centers, 2 pending centers,
    // 6 trials and 8 second-step rows drawn with probability proportional to `closest`.
    let c62 = kmeans_plus_plus(p, 62, &mut Rng::new(0));
    let mut closest: Vec<f32> = (0..n)
        .map(|i| {
            (0..62)
                .map(|j| {
                    kmrbf::kernels::layout::distance::sq_dist(
                        &x[i * d..(i + 1) * d],
                        &c62[j * d..(j + 1) * d],
                    )
                })
                .fold(f32::INFINITY, f32::min)
        })
        .collect();
    let total: f64 = closest.iter().map(|&v| v as f64).sum();
    let draw = |rng: &mut Rng| -> usize {
        let r = rng.uniform() * total;
        let mut acc = 0.0;
        for (i, &v) in closest.iter().enumerate() {
            acc += v as f64;
            if acc > r {
                return i;
            }
        }
        n - 1
    };
    let mut rng = Rng::new(7);
    let idx: Vec<usize> = (0..16).map(|_| draw(&mut rng)).collect();
    let rows = |idx: &[usize]| -> Vec<f32> {
        idx.iter()
            .flat_map(|&i| x[i * d..(i + 1) * d].to_vec())
            .collect()
    };
    let pc = PairCandidates::new(
        p.isa(),
        &rows(&idx[..2]),
        &rows(&idx[2..8]),
        &rows(&idx[8..]),
        d,
    );
    let w = pc.width();
    let cr = 2048;
    // Median of 7 passes of the kernel over `n` rows in chunks of `cr`: chunk `ci` is rows
    // `chunk(ci)` of the data (all rows in order: from memory; always the first: from L2).
    let mut time = |chunk: &dyn Fn(usize) -> usize| {
        median(
            (0..7)
                .map(|_| {
                    let mut pot = vec![0f64; 6];
                    let mut pot2 = vec![0f64; 6 * w];
                    let t = Instant::now();
                    for ci in 0..n / cr {
                        let r0 = chunk(ci) * cr;
                        let r1 = r0 + cr;
                        seed_rows_pair(
                            &x[r0 * d..r1 * d],
                            &xn[r0..r1],
                            None,
                            &mut closest[r0..r1],
                            &pc,
                            &mut pot,
                            &mut pot2,
                        );
                    }
                    std::hint::black_box((&pot, &pot2));
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let rows_timed = (n / cr * cr) as f64;
    let t_k = time(&|ci| ci);
    println!(
        "pair kernel, all rows, one thread: {:.2} ms, {:.2} ns/row",
        t_k * 1e3,
        t_k * 1e9 / rows_timed
    );
    let t_l2 = time(&|_| 0);
    println!(
        "pair kernel, one chunk from L2: {:.2} ns/row",
        t_l2 * 1e9 / rows_timed
    );
}
