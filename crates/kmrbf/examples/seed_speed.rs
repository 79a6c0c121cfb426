//! Greedy k-means++ on the benchmark's thin set (overlapping blobs, `N x D`, `K` centers, f32)
//! and the two-step seeding kernel alone over all rows, in one process (medians of 5).
//! `cargo run --release --example seed_speed -- N D K THREADS` (`KMRBF_KERNEL_ONLY=1`: the
//! kernel only).
use kmrbf::init::{kmeans_plus_plus, Prepared};
use kmrbf::kernels::distance::row_sq_norms;
use kmrbf::kernels::seeding::{seed_rows_pair, PairCandidates};
use kmrbf::rng::Rng;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let (n, d, k, th) = (a[0], a[1], a[2], a[3]);
    // As bench/compare.py: centers uniform in [-1, 1], noise 0.6 per coordinate.
    let mut rng = Rng::new(0);
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
    let mut xn = vec![0f32; n];
    row_sq_norms(&x, d, &mut xn);
    let p = Prepared {
        x: &x,
        d,
        xn: &xn,
        w: None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(th)
        .build()
        .unwrap();
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
                    kmrbf::kernels::distance::sq_dist(
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
    let pc = PairCandidates::new(&rows(&idx[..2]), &rows(&idx[2..8]), &rows(&idx[8..]), d);
    let w = pc.width();
    let cr = 2048;
    let t_k = median(
        (0..7)
            .map(|_| {
                let mut pot = vec![0f64; 6];
                let mut pot2 = vec![0f64; 6 * w];
                let t = Instant::now();
                for (ci, cl) in closest.chunks_mut(cr).enumerate() {
                    let r0 = ci * cr;
                    let r1 = r0 + cl.len();
                    seed_rows_pair(
                        &x[r0 * d..r1 * d],
                        &xn[r0..r1],
                        None,
                        cl,
                        &pc,
                        &mut pot,
                        &mut pot2,
                    );
                }
                std::hint::black_box((&pot, &pot2));
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    println!(
        "pair kernel, all rows, one thread: {:.2} ms, {:.2} ns/row",
        t_k * 1e3,
        t_k * 1e9 / n as f64
    );
    // The same from L2: one chunk, again and again.
    let reps = n / cr;
    let t_l2 = median(
        (0..7)
            .map(|_| {
                let mut pot = vec![0f64; 6];
                let mut pot2 = vec![0f64; 6 * w];
                let t = Instant::now();
                for _ in 0..reps {
                    seed_rows_pair(
                        &x[..cr * d],
                        &xn[..cr],
                        None,
                        &mut closest[..cr],
                        &pc,
                        &mut pot,
                        &mut pot2,
                    );
                }
                std::hint::black_box((&pot, &pot2));
                t.elapsed().as_secs_f64()
            })
            .collect(),
    );
    println!(
        "pair kernel, one chunk from L2: {:.2} ns/row",
        t_l2 * 1e9 / (reps * cr) as f64
    );
}
