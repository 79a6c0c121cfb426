//! The layer against the core library's kernels, the autodiff reference and finite differences.

use burn::tensor::{DType, Device, Tensor, TensorData};
use kmrbf::rbf::{Kernel as CoreKernel, Temperature};
use kmrbf::{Isa, MatView};
use kmrbf_burn::layer::{objectives_from, responsibilities_from};
use kmrbf_burn::{reference, Kernel, Map, RbfLayerConfig, TemperatureSchedule};
use proptest::prelude::*;

const MAPS: [Map; 3] = [Map::Softmax, Map::Entmax15, Map::Sparsemax];

/// A small LCG so the tests need no random crate.
fn values(seed: u64, len: usize, scale: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((s >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0) as f32 * scale
        })
        .collect()
}

fn tensor(v: &[f32], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [rows, cols]), device)
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn host64(t: Tensor<2>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

/// `max |a - b| / max(1, max |b|)`.
fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1f64, |m, v| m.max(v.abs() as f64));
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .fold(0.0, f64::max)
        / scale
}

/// A layer of `k` centers `c` (row-major, dimension `d`) with `map`.
fn layer(map: Map, c: &[f32], k: usize, d: usize, device: &Device) -> kmrbf_burn::RbfLayer {
    RbfLayerConfig::new(k, d)
        .with_map(map)
        .init_with(c, device)
        .unwrap()
}

/// The core library's temperature for `sigma`.
fn temp(sigma: f64) -> Temperature {
    Temperature::new(sigma, CoreKernel::Temperature).unwrap()
}

#[test]
fn forward_equals_the_core_kernels() {
    let device = Device::flex();
    let (n, d, k) = (96, 5, 7);
    let x = values(1, n * d, 2.0);
    let c = values(2, k * d, 2.0);
    for map in MAPS {
        for sigma in [0.05, 0.7, 6.0] {
            let layer = layer(map, &c, k, d, &device);
            let out = layer.forward(tensor(&x, n, d, &device), sigma);
            let r = host(out.responsibilities.clone());
            let core = kmrbf::rbf::objective::responsibilities(
                Isa::detect(),
                MatView::new(&x, n, d).unwrap(),
                &c,
                k,
                map.core(),
                temp(sigma),
            )
            .unwrap();
            let e = rel_err(&r, &core);
            assert!(
                e <= 1e-5,
                "{map:?} sigma {sigma}: responsibilities differ by {e:e}"
            );
            // Distances against a naive f64 loop.
            let d2 = host(out.sq_distances);
            let mut naive = vec![0f32; n * k];
            for i in 0..n {
                for j in 0..k {
                    let s: f64 = (0..d)
                        .map(|t| (x[i * d + t] as f64 - c[j * d + t] as f64).powi(2))
                        .sum();
                    naive[i * k + j] = s as f32;
                }
            }
            let e = rel_err(&d2, &naive);
            assert!(e <= 1e-5, "distances differ by {e:e}");
            // Rows on the simplex; argmax = argmin D.
            for i in 0..n {
                let row = &r[i * k..(i + 1) * k];
                let total: f64 = row.iter().map(|v| *v as f64).sum();
                assert!((total - 1.0).abs() <= 1e-5, "row {i} sums to {total}");
                assert!(row.iter().all(|v| *v >= 0.0));
            }
        }
    }
}

/// Gradients of `sum(R * G)` with respect to the inputs and the centers, through the layer.
fn layer_grads(
    map: Map,
    x: &[f32],
    c: &[f32],
    g: &[f32],
    (n, d, k): (usize, usize, usize),
    sigma: f64,
    use_reference: bool,
) -> (Vec<f32>, Vec<f32>) {
    let device = Device::flex().autodiff();
    let layer = layer(map, c, k, d, &device);
    let z = tensor(x, n, d, &device).require_grad();
    let r = if use_reference {
        let d2 = layer.sq_distances(z.clone());
        let m = d2.clone().detach().min_dim(1);
        reference::map(-((d2 - m) / sigma), map)
    } else {
        layer.forward(z.clone(), sigma).responsibilities
    };
    let loss = (r * tensor(g, n, k, &device)).sum();
    let grads = loss.backward();
    let gz = host(z.grad(&grads).unwrap());
    let gc = host(layer.centers.val().grad(&grads).unwrap());
    (gz, gc)
}

#[test]
fn gradients_equal_the_autodiff_reference_and_the_core_backward() {
    let (n, d, k) = (80, 4, 6);
    let x = values(3, n * d, 1.5);
    let c = values(4, k * d, 1.5);
    let g = values(5, n * k, 1.0);
    for map in MAPS {
        for sigma in [0.1, 1.0] {
            let (gz, gc) = layer_grads(map, &x, &c, &g, (n, d, k), sigma, false);
            let (rz, rc) = layer_grads(map, &x, &c, &g, (n, d, k), sigma, true);
            let ez = rel_err(&gz, &rz);
            let ec = rel_err(&gc, &rc);
            assert!(
                ez <= 1e-5 && ec <= 1e-5,
                "{map:?} {sigma}: vs reference {ez:e} {ec:e}"
            );
            let resp = kmrbf::rbf::objective::responsibilities(
                Isa::detect(),
                MatView::new(&x, n, d).unwrap(),
                &c,
                k,
                map.core(),
                temp(sigma),
            )
            .unwrap();
            let core = kmrbf::rbf::responsibilities_backward(
                Isa::detect(),
                MatView::new(&x, n, d).unwrap(),
                &c,
                k,
                map.core(),
                temp(sigma),
                &resp,
                &g,
            )
            .unwrap();
            let ez = rel_err(&gz, &core.rows);
            let ec = rel_err(&gc, &core.centers);
            assert!(
                ez <= 1e-5 && ec <= 1e-5,
                "{map:?} {sigma}: vs core {ez:e} {ec:e}"
            );
        }
    }
}

#[test]
fn gradients_equal_central_differences_in_f64() {
    let (n, d, k) = (12, 3, 4);
    let x: Vec<f64> = values(6, n * d, 1.0).iter().map(|v| *v as f64).collect();
    let c: Vec<f64> = values(7, k * d, 1.0).iter().map(|v| *v as f64).collect();
    let g: Vec<f64> = values(8, n * k, 1.0).iter().map(|v| *v as f64).collect();
    let sigma = 0.6;
    let device = Device::flex();
    let t64 = |v: &[f64], r: usize, cc: usize, dev: &Device| {
        Tensor::<2>::from_data(TensorData::new(v.to_vec(), [r, cc]), (dev, DType::F64))
    };
    for map in MAPS {
        let loss = |xv: &[f64], cv: &[f64]| -> f64 {
            let layer = RbfLayerConfig::new(k, d).with_map(map).init(&device);
            let layer = layer.with_centers(t64(cv, k, d, &device));
            let r = layer
                .forward(t64(xv, n, d, &device), sigma)
                .responsibilities;
            host64(r).iter().zip(&g).map(|(a, b)| a * b).sum()
        };
        // Analytic, through the custom backward, in f64.
        let ad = Device::flex().autodiff();
        let layer = RbfLayerConfig::new(k, d).with_map(map).init(&ad);
        let layer = layer.with_centers(t64(&c, k, d, &ad).require_grad());
        let z = t64(&x, n, d, &ad).require_grad();
        let r = layer.forward(z.clone(), sigma).responsibilities;
        assert_eq!(r.dtype(), DType::F64);
        let grads = (r * t64(&g, n, k, &ad)).sum().backward();
        let gz = host64(z.grad(&grads).unwrap());
        let gc = host64(layer.centers.val().grad(&grads).unwrap());
        let h = 1e-6;
        let mut worst = 0f64;
        for idx in 0..n * d {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[idx] += h;
            b[idx] -= h;
            let fd = (loss(&a, &c) - loss(&b, &c)) / (2.0 * h);
            worst = worst.max((fd - gz[idx]).abs() / fd.abs().max(1.0));
        }
        for idx in 0..k * d {
            let (mut a, mut b) = (c.clone(), c.clone());
            a[idx] += h;
            b[idx] -= h;
            let fd = (loss(&x, &a) - loss(&x, &b)) / (2.0 * h);
            worst = worst.max((fd - gc[idx]).abs() / fd.abs().max(1.0));
        }
        assert!(
            worst <= 1e-6,
            "{map:?}: finite differences off by {worst:e}"
        );
    }
}

#[test]
fn extreme_temperatures_and_distances_give_no_nan() {
    let device = Device::flex().autodiff();
    let (n, d, k) = (4, 2, 3);
    // Distances up to ~1e30 (coordinates ~1e15), and small ones with a row exactly halfway
    // between two centers (split responsibilities at every temperature).
    let far: (Vec<f32>, Vec<f32>) = (
        vec![0.0, 0.0, 1e15, 0.0, 0.0, -1e15, 1e14, 1e14],
        vec![0.0, 0.0, 1.0, 0.0, -1e15, 0.0],
    );
    let near: (Vec<f32>, Vec<f32>) = (
        vec![0.0, 0.0, 0.5, 0.0, 3.0, 3.0, -2.0, 0.5],
        vec![0.0, 0.0, 1.0, 0.0, -1.0, 0.0],
    );
    for (name, (x, c)) in [("far", far), ("near", near)] {
        for map in MAPS {
            for sigma in [1e-30, 1e-8, 1.0, 1e30] {
                let layer = layer(map, &c, k, d, &device);
                let z = tensor(&x, n, d, &device).require_grad();
                let out = layer.forward(z.clone(), sigma);
                let r = host(out.responsibilities.clone());
                let what = format!("{name} {map:?} {sigma}");
                assert!(
                    r.iter().all(|v| v.is_finite() && *v >= 0.0),
                    "{what}: {r:?}"
                );
                for i in 0..n {
                    let s: f32 = r[i * k..(i + 1) * k].iter().sum();
                    assert!((s - 1.0).abs() < 1e-5, "{what}: row {i} sums to {s}");
                }
                let obj = layer.objectives(&out);
                let (j, l, f): (f32, f32, f32) = (
                    obj.j.clone().into_scalar(),
                    obj.l.clone().into_scalar(),
                    obj.f.clone().into_scalar(),
                );
                assert!(j.is_finite() && l.is_finite() && f.is_finite(), "{what}");
                // F's gradient is r (Danskin): finite everywhere.
                let gz = host(z.grad(&obj.f.backward()).unwrap());
                assert!(gz.iter().all(|v| v.is_finite()), "{what}: dF/dz {gz:?}");
                // L's gradient goes through the Jacobian, of order (D-rounding) / T: finite for
                // moderate distances at every temperature. With distances ~1e30 an f32 sum
                // cannot tell a gap of 2e15 from a tie, so only a large T keeps it finite.
                if name == "near" || sigma >= 1e30 {
                    let z = tensor(&x, n, d, &device).require_grad();
                    let out = layer.forward(z.clone(), sigma);
                    let gz = host(z.grad(&layer.objectives(&out).l.backward()).unwrap());
                    assert!(gz.iter().all(|v| v.is_finite()), "{what}: dL/dz {gz:?}");
                }
            }
        }
    }
}

#[test]
fn objectives_keep_the_bounds_and_match_the_core() {
    let device = Device::flex();
    let (n, d, k) = (200, 3, 5);
    let x = values(9, n * d, 2.0);
    let c = values(10, k * d, 2.0);
    for map in MAPS {
        for sigma in [0.05, 0.5, 5.0] {
            let layer = layer(map, &c, k, d, &device);
            let out = layer.forward(tensor(&x, n, d, &device), sigma);
            let o = objectives_from(&out, map);
            let (j, l, f): (f32, f32, f32) =
                (o.j.into_scalar(), o.l.into_scalar(), o.f.into_scalar());
            let core = kmrbf::rbf::objectives(
                Isa::detect(),
                MatView::new(&x, n, d).unwrap(),
                None,
                &c,
                k,
                map.core(),
                temp(sigma),
            )
            .unwrap();
            for (name, ours, theirs) in [("J", j, core.j), ("L", l, core.l), ("F", f, core.f)] {
                let e = (ours as f64 - theirs).abs() / theirs.abs().max(1.0);
                assert!(e <= 1e-4, "{map:?} {sigma} {name}: {ours} vs {theirs}");
            }
            let slack = 1e-4 * (j as f64).max(1.0);
            assert!(l as f64 >= j as f64 - slack && (l - j) as f64 <= core.bound + slack);
            assert!(f as f64 <= j as f64 + slack && (j - f) as f64 <= core.bound + slack);
        }
    }
}

#[test]
fn closed_form_step_is_lloyd_at_zero_temperature() {
    let device = Device::flex();
    let (n, d, k) = (150, 3, 4);
    let x = values(11, n * d, 3.0);
    let c: Vec<f32> = x[..k * d].to_vec();
    // Lloyd's step, naively.
    let mut sums = vec![0f64; k * d];
    let mut counts = vec![0f64; k];
    for i in 0..n {
        let best = (0..k)
            .min_by(|&a, &b| {
                let da: f64 = (0..d)
                    .map(|t| (x[i * d + t] - c[a * d + t]).powi(2) as f64)
                    .sum();
                let db: f64 = (0..d)
                    .map(|t| (x[i * d + t] - c[b * d + t]).powi(2) as f64)
                    .sum();
                da.total_cmp(&db)
            })
            .unwrap();
        counts[best] += 1.0;
        for t in 0..d {
            sums[best * d + t] += x[i * d + t] as f64;
        }
    }
    let lloyd: Vec<f32> = (0..k * d)
        .map(|idx| {
            if counts[idx / d] > 0.0 {
                (sums[idx] / counts[idx / d]) as f32
            } else {
                c[idx]
            }
        })
        .collect();
    for map in MAPS {
        let layer = layer(map, &c, k, d, &device);
        let stepped = host(layer.soft_lloyd_step(tensor(&x, n, d, &device), 1e-6));
        let e = rel_err(&stepped, &lloyd);
        assert!(e <= 1e-5, "{map:?}: closed-form step vs Lloyd {e:e}");
    }
}

#[test]
fn responsibilities_of_distances_do_not_depend_on_a_common_shift() {
    let device = Device::flex();
    let d2 = tensor(&[0.0, 1.0, 4.0, 2.0, 2.5, 9.0], 2, 3, &device);
    for map in MAPS {
        let a = host(responsibilities_from(d2.clone(), 0.8, map));
        let b = host(responsibilities_from(d2.clone() + 1000.0, 0.8, map));
        assert!(rel_err(&a, &b) <= 1e-5);
    }
}

#[test]
fn schedules_serialize_and_produce_their_sigmas() {
    let s = TemperatureSchedule::Geometric {
        sigma0: 2.0,
        gamma: 0.5,
        sigma_min: 0.1,
    };
    assert_eq!(s.sigma(0), 2.0);
    assert_eq!(s.sigma(2), 0.5);
    assert_eq!(s.sigma(50), 0.1);
    let json = serde_json::to_string(&s).unwrap();
    let back: TemperatureSchedule = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    let dkm = TemperatureSchedule::Dkm { sigma0: 1.0 };
    assert_eq!(dkm.sigma(0), 1.0);
    let expected = 1.0 / 2f64.powf(1.0 / 2f64.ln().powi(2));
    assert!((dkm.sigma(1) - expected).abs() < 1e-12);
    assert!(dkm.sigma(5) < dkm.sigma(4));
    let list = TemperatureSchedule::List {
        sigmas: vec![3.0, 1.0],
    };
    assert_eq!(list.sigma(7), 1.0);
    assert!(TemperatureSchedule::List {
        sigmas: vec![1.0, -1.0]
    }
    .validate()
    .is_err());
    assert!(TemperatureSchedule::Geometric {
        sigma0: 1.0,
        gamma: 1.5,
        sigma_min: 0.1
    }
    .validate()
    .is_err());
}

#[test]
fn bad_parameters_are_refused() {
    let device = Device::flex();
    assert!(RbfLayerConfig::new(3, 2)
        .init_with(&[0.0; 5], &device)
        .is_err());
    assert!(RbfLayerConfig::new(1, 2)
        .init_with(&[f32::NAN, 0.0], &device)
        .is_err());
    for sigma in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-60] {
        let e = kmrbf_burn::layer::checked_temperature(sigma, Kernel::Temperature);
        assert!(e.is_err(), "{sigma} accepted");
        assert!(e.unwrap_err().to_string().contains("temperature"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn rows_are_on_the_simplex_and_keep_the_order(
        seed in 0u64..1000,
        log_sigma in -6f64..3.0,
        map_idx in 0usize..3,
    ) {
        let device = Device::flex();
        let (n, d, k) = (20, 3, 5);
        let x = values(seed, n * d, 3.0);
        let c = values(seed + 7, k * d, 3.0);
        let map = MAPS[map_idx];
        let layer = layer(map, &c, k, d, &device);
        let out = layer.forward(tensor(&x, n, d, &device), 10f64.powf(log_sigma));
        let r = host(out.responsibilities);
        let d2 = host(out.sq_distances);
        for i in 0..n {
            let row = &r[i * k..(i + 1) * k];
            let s: f32 = row.iter().sum();
            prop_assert!((s - 1.0).abs() < 1e-5);
            let dr = &d2[i * k..(i + 1) * k];
            let nearest = (0..k).min_by(|&a, &b| dr[a].total_cmp(&dr[b])).unwrap();
            let top = (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            prop_assert!(row[nearest] >= row[top] - 1e-6);
        }
    }
}

#[test]
fn objectives_of_large_inputs_give_the_same_bits_for_any_thread_count() {
    // 420,000 x 10 = 4.2M responsibilities: above the size from which burn-flex splits a
    // whole-tensor sum over threads.
    let (n, d, k) = (420_000, 2, 10);
    let z = values(3, n * d, 4.0);
    let c = values(4, k * d, 4.0);
    let run = |threads: usize| {
        kmrbf::par::run(Some(threads), || {
            let device = Device::flex();
            let l = layer(Map::Entmax15, &c, k, d, &device);
            let out = l.forward(tensor(&z, n, d, &device), 0.5);
            let o = l.objectives(&out);
            [o.j, o.l, o.f].map(|t| t.into_scalar::<f32>().to_bits())
        })
        .unwrap()
    };
    assert_eq!(run(1), run(2));
}
