//! The backward pass of the responsibilities (what an autograd layer calls): against the
//! explicit Jacobian of every map, against finite differences of the forward pass, the same
//! bits for any thread count, and typed errors for bad shapes and temperatures.

mod common;
use common::with_threads;
use kmrbf::kernels::maps::MapKind;
use kmrbf::rbf::objective::responsibilities;
use kmrbf::rbf::{responsibilities_backward, Kernel, ResponsibilityGrads, Temperature};
use kmrbf::rng::Rng;
use kmrbf::{Error, MatView};

const MAPS: [MapKind; 4] = [
    MapKind::Softmax,
    MapKind::Entmax15,
    MapKind::Sparsemax,
    MapKind::Entmax { alpha: 1.3 },
];

fn temp(t: f64) -> Temperature {
    Temperature::new(t, Kernel::Temperature).unwrap()
}

fn resp(x: &[f64], d: usize, c: &[f64], k: usize, map: MapKind, t: f64) -> Vec<f64> {
    responsibilities(
        kmrbf::Isa::detect(),
        MatView::new(x, x.len() / d, d).unwrap(),
        c,
        k,
        map,
        temp(t),
    )
    .unwrap()
}

#[allow(clippy::too_many_arguments)]
fn backward(
    x: &[f64],
    d: usize,
    c: &[f64],
    k: usize,
    map: MapKind,
    t: f64,
    r: &[f64],
    g: &[f64],
) -> ResponsibilityGrads<f64> {
    let v = MatView::new(x, x.len() / d, d).unwrap();
    responsibilities_backward(kmrbf::Isa::detect(), v, c, k, map, temp(t), r, g).unwrap()
}

/// Rows around `k` centers, the centers, and an upstream gradient, all offset by `offset`.
fn problem(n: usize, d: usize, k: usize, offset: f64, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let c: Vec<f64> = (0..k * d).map(|_| offset + 2.0 * rng.normal()).collect();
    let x: Vec<f64> = (0..n * d)
        .map(|e| c[(e / d % k) * d + e % d] + rng.normal())
        .collect();
    let g: Vec<f64> = (0..n * k).map(|_| rng.normal()).collect();
    (x, c, g)
}

/// The naive backward: per row the full `k x k` Jacobian of the map (from its weights `s`),
/// `dD = -J^T g / temp`, then the two sums over rows and centers directly.
#[allow(clippy::too_many_arguments)]
fn naive(
    x: &[f64],
    d: usize,
    c: &[f64],
    k: usize,
    map: MapKind,
    t: f64,
    r: &[f64],
    g: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let n = x.len() / d;
    let mut dx = vec![0.0; n * d];
    let mut dc = vec![0.0; k * d];
    for i in 0..n {
        let ri = &r[i * k..(i + 1) * k];
        let s: Vec<f64> = ri
            .iter()
            .map(|&v| match map {
                MapKind::Softmax => v,
                MapKind::Entmax15 => v.sqrt(),
                MapKind::Sparsemax => f64::from(v > 0.0),
                MapKind::Entmax { alpha } => {
                    if v > 0.0 {
                        v.powf(2.0 - alpha)
                    } else {
                        0.0
                    }
                }
                MapKind::Hard => 0.0,
            })
            .collect();
        let ss: f64 = s.iter().sum();
        for a in 0..k {
            // (J^T g)_a = sum_b (diag(s) - s s^T / ss)_ba g_b
            let mut v = s[a] * g[i * k + a];
            for b in 0..k {
                v -= s[b] * s[a] / ss * g[i * k + b];
            }
            let dd = -v / t;
            for e in 0..d {
                let diff = x[i * d + e] - c[a * d + e];
                dx[i * d + e] += 2.0 * dd * diff;
                dc[a * d + e] -= 2.0 * dd * diff;
            }
        }
    }
    (dx, dc)
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-300);
    a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn backward_matches_the_explicit_jacobian_for_every_map() {
    // 9,000 rows: two chunks of blocks and a short last block; far from the origin too.
    for &(n, d, k, offset) in &[
        (9_000usize, 5usize, 7usize, 0.0f64),
        (700, 3, 17, 1e3),
        (64, 2, 1, 0.0),
    ] {
        let (x, c, g) = problem(n, d, k, offset, 3);
        for map in MAPS {
            for t in [0.3, 4.0] {
                let r = resp(&x, d, &c, k, map, t);
                let got = backward(&x, d, &c, k, map, t, &r, &g);
                let (dx, dc) = naive(&x, d, &c, k, map, t, &r, &g);
                let ctx = format!("{map:?} n {n} d {d} k {k} offset {offset} temp {t}");
                assert!(
                    max_rel(&got.rows, &dx) < 1e-9,
                    "dx {} ({ctx})",
                    max_rel(&got.rows, &dx)
                );
                assert!(
                    max_rel(&got.centers, &dc) < 1e-9,
                    "dc {} ({ctx})",
                    max_rel(&got.centers, &dc)
                );
            }
        }
    }
}

#[test]
fn backward_matches_finite_differences_of_the_forward_pass() {
    let (n, d, k, t) = (30usize, 3usize, 4usize, 2.0);
    let (x, c, g) = problem(n, d, k, 0.0, 5);
    let loss = |x: &[f64], c: &[f64], map| -> f64 {
        resp(x, d, c, k, map, t)
            .iter()
            .zip(&g)
            .map(|(r, g)| r * g)
            .sum()
    };
    for map in MAPS {
        let r = resp(&x, d, &c, k, map, t);
        let got = backward(&x, d, &c, k, map, t, &r, &g);
        let h = 1e-6;
        for (what, base, grad) in [("x", &x, &got.rows), ("c", &c, &got.centers)] {
            for e in 0..base.len() {
                let (mut up, mut down) = (base.clone(), base.clone());
                up[e] += h;
                down[e] -= h;
                let fd = if what == "x" {
                    (loss(&up, &c, map) - loss(&down, &c, map)) / (2.0 * h)
                } else {
                    (loss(&x, &up, map) - loss(&x, &down, map)) / (2.0 * h)
                };
                assert!(
                    (fd - grad[e]).abs() <= 1e-5 * (1.0 + fd.abs()),
                    "{map:?} d{what}[{e}]: {} vs finite difference {fd}",
                    grad[e]
                );
            }
        }
    }
}

#[test]
fn backward_gives_the_same_bits_for_any_thread_count() {
    let (n, d, k) = (20_000usize, 8usize, 9usize);
    let (x, c, g) = problem(n, d, k, 10.0, 7);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
    let g32: Vec<f32> = g.iter().map(|&v| v as f32).collect();
    for map in MAPS {
        let r = resp(&x, d, &c, k, map, 1.0);
        let r32: Vec<f32> = r.iter().map(|&v| v as f32).collect();
        let run = |threads| {
            with_threads(threads, || {
                let v = MatView::new(&x32, n, d).unwrap();
                let a = responsibilities_backward(
                    kmrbf::Isa::detect(),
                    v,
                    &c32,
                    k,
                    map,
                    temp(1.0),
                    &r32,
                    &g32,
                )
                .unwrap();
                let b = backward(&x, d, &c, k, map, 1.0, &r, &g);
                (a.rows, a.centers, b.rows, b.centers)
            })
        };
        let one = run(1);
        for threads in [2, 3] {
            assert!(
                one == run(threads),
                "{map:?}: {threads} threads differ from 1"
            );
        }
    }
}

#[test]
fn bad_shapes_and_temperatures_are_typed_errors() {
    let (x, c, g) = problem(10, 2, 3, 0.0, 1);
    let r = resp(&x, 2, &c, 3, MapKind::Softmax, 1.0);
    let v = MatView::new(&x, 10, 2).unwrap();
    let call = |c: &[f64], k, r: &[f64], g: &[f64]| {
        responsibilities_backward(
            kmrbf::Isa::detect(),
            v,
            c,
            k,
            MapKind::Softmax,
            temp(1.0),
            r,
            g,
        )
    };
    assert!(matches!(
        call(&c[..4], 3, &r, &g),
        Err(Error::BadLength {
            what: "centers",
            ..
        })
    ));
    assert!(matches!(
        call(&c, 3, &r[1..], &g),
        Err(Error::BadLength {
            what: "responsibilities",
            ..
        })
    ));
    assert!(matches!(
        call(&c, 3, &r, &g[..29]),
        Err(Error::BadLength { what: "grad", .. })
    ));
    assert!(matches!(
        call(&[], 0, &[], &[]),
        Err(Error::BadK { k: 0, .. })
    ));
    let tiny = Temperature::new(1e-320, Kernel::Temperature).unwrap();
    let e = responsibilities_backward(
        kmrbf::Isa::detect(),
        v,
        &c,
        3,
        MapKind::Softmax,
        tiny,
        &r,
        &g,
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadTemperature { .. }), "{e}");
    assert!(Temperature::new(0.0, Kernel::Temperature).is_err());
}
