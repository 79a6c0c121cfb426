//! The fused soft passes (f32 softmax, entmax-1.5, sparsemax; f64 entmax-1.5, sparsemax;
//! `k <= 64`) against the tile pipeline they replace, through the public pass: same
//! objectives, support and soft-lloyd sums to f32 (f64) rounding. Its own test binary: it switches the fused kernels off and on for
//! the whole process.

use kmrbf::init::Prepared;
use kmrbf::kernels::maps::MapKind;
use kmrbf::kernels::softmax_fused_f32::available;
use kmrbf::rbf::pass::{set_fused_kernels, soft_pass, PassOutput, PassRequest, RowOut};

/// Both tests flip the process-wide switch: one at a time.
static SWITCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn pass(p: &Prepared<'_, f32>, c: &[f32], k: usize, map: MapKind, temp: f32) -> PassOutput {
    let req = PassRequest {
        map,
        temp,
        resp_sums: true,
        loss_sums: false,
    };
    soft_pass(p, c, k, req, RowOut::None)
}

#[test]
fn fused_passes_agree_with_the_tile_pipeline() {
    let _one = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    if !available(64) {
        eprintln!("fused passes: no fused kernels on this CPU");
        return;
    }
    let mut compared = 0;
    // Shapes with tail lanes, a short last block, several chunks (threads) and d past 32.
    for &(n, d, k) in &[
        (20_011usize, 32usize, 64usize),
        (3_001, 7, 17),
        (9_000, 40, 33),
    ] {
        let x = kmrbf::synth::bench_blobs_f32(n, d, k, 3);
        let xn: Vec<f32> = x.chunks(d).map(|r| r.iter().map(|v| v * v).sum()).collect();
        let w: Vec<f32> = (0..n).map(|i| 0.5 + (i % 7) as f32 / 7.0).collect();
        let c: Vec<f32> = x[..k * d].to_vec();
        for weights in [None, Some(&w[..])] {
            let p = Prepared {
                x: &x,
                d,
                xn: &xn,
                w: weights,
            };
            for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
                for temp in [8.0f32, 2.0, 0.2] {
                    set_fused_kernels(false);
                    let tile = pass(&p, &c, k, map, temp);
                    set_fused_kernels(true);
                    let fused = pass(&p, &c, k, map, temp);
                    let ctx = format!("{map:?} n {n} d {d} k {k} temp {temp}");
                    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1.0);
                    assert!(
                        rel(fused.j, tile.j) < 1e-5,
                        "J {} {} {ctx}",
                        fused.j,
                        tile.j
                    );
                    assert!(
                        rel(fused.l, tile.l) < 1e-5,
                        "L {} {} {ctx}",
                        fused.l,
                        tile.l
                    );
                    assert!(
                        rel(fused.f, tile.f) < 1e-5,
                        "F {} {} {ctx}",
                        fused.f,
                        tile.f
                    );
                    assert_eq!(fused.weight, tile.weight, "{ctx}");
                    // The support may differ only on rows at its boundary (f32 logits). The
                    // portable row map (the tile pipeline without AVX-512) keeps exponentials
                    // down to e^-87 ~ 2^-125.5, the kernels down to 2^-125: at low temperature
                    // that band holds ~1% of the entries.
                    let ds = (fused.support - tile.support).abs();
                    let band = if kmrbf::kernels::soft_rows_f32::available() {
                        1e-4 * n as f64
                    } else {
                        1e-2 * tile.support
                    };
                    assert!(
                        ds <= 2.0 + band,
                        "support {} {} {ctx}",
                        fused.support,
                        tile.support
                    );
                    let (fs, ts) = (fused.resp_sums.unwrap(), tile.resp_sums.unwrap());
                    let wsum: f64 = ts.weight.iter().sum();
                    for j in 0..k {
                        let dw = (fs.weight[j] - ts.weight[j]).abs();
                        assert!(
                            dw <= 1e-5 * wsum / k as f64 + 1e-5 * ts.weight[j],
                            "N_{j} {ctx}"
                        );
                        for t in 0..d {
                            let (a, b) = (fs.sums[j * d + t], ts.sums[j * d + t]);
                            // Against the cluster's mass times the data's scale (~3 here).
                            let tol = 1e-5 * (3.0 * ts.weight[j] + wsum / k as f64);
                            assert!((a - b).abs() <= tol, "S_{j},{t} {a} {b} {ctx}");
                        }
                    }
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 3 * 2 * 3 * 3);
}

/// The fused softmax pass writing the responsibilities (`RowOut::Resp`, f32, `k <= 64`)
/// against the tile pipeline's rows: every entry within f32 rounding of the exponent, rows on
/// the simplex, and the same objectives.
#[test]
fn fused_softmax_rows_agree_with_the_tile_pipeline() {
    let _one = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    if !available(64) {
        eprintln!("fused passes: no fused kernels on this CPU");
        return;
    }
    let mut compared = 0;
    for &(n, d, k) in &[
        (20_011usize, 32usize, 64usize),
        (3_001, 7, 17),
        (999, 40, 1),
    ] {
        let x = kmrbf::synth::bench_blobs_f32(n, d, k.max(2), 5);
        let xn: Vec<f32> = x.chunks(d).map(|r| r.iter().map(|v| v * v).sum()).collect();
        let c: Vec<f32> = x[..k * d].to_vec();
        let p = Prepared {
            x: &x,
            d,
            xn: &xn,
            w: None,
        };
        for temp in [8.0f32, 2.0, 0.2, 1e-3] {
            let req = PassRequest {
                map: MapKind::Softmax,
                temp,
                resp_sums: false,
                loss_sums: false,
            };
            let mut tile_r = vec![f32::NAN; n * k];
            let mut fused_r = vec![f32::NAN; n * k];
            set_fused_kernels(false);
            let tile = soft_pass(&p, &c, k, req, RowOut::Resp(&mut tile_r));
            set_fused_kernels(true);
            let fused = soft_pass(&p, &c, k, req, RowOut::Resp(&mut fused_r));
            let ctx = format!("n {n} d {d} k {k} temp {temp}");
            let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1.0);
            assert!(rel(fused.j, tile.j) < 1e-5, "J {ctx}");
            assert!(rel(fused.l, tile.l) < 1e-5, "L {ctx}");
            let cmax = c
                .chunks(d)
                .map(|r| r.iter().map(|v| v * v).sum::<f32>())
                .fold(0f32, f32::max) as f64;
            for i in 0..n {
                let (fr, tr) = (&fused_r[i * k..(i + 1) * k], &tile_r[i * k..(i + 1) * k]);
                // The tile pipeline rounds D = xn + cn - 2 x.c in f32 before dividing by temp:
                // an exponent error of a few ulps of the norms over temp.
                let dscale = 8.0 * f32::EPSILON as f64 * (xn[i] as f64 + cmax) / temp as f64;
                let total: f64 = fr.iter().map(|&v| v as f64).sum();
                assert!(
                    (total - 1.0).abs() < 1e-5,
                    "row {i} sums to {total} ({ctx})"
                );
                for j in 0..k {
                    let (a, b) = (fr[j] as f64, tr[j] as f64);
                    // The exponent's f32 rounding scales with it; entries the two cut at
                    // different points below 2^-125 differ by less than 1e-36.
                    let tol = b * (1e-5 + dscale + 1e-6 * b.max(1e-300).log2().abs()) + 1e-36;
                    assert!(
                        a.is_finite() && (a - b).abs() <= tol,
                        "r[{i}][{j}] {a} {b} ({ctx})"
                    );
                }
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 3 * 4);
}

/// The fused f64 sparse passes (entmax-1.5, sparsemax; AVX-512, `k <= 64`) against the tile
/// pipeline's f64 path: objectives, support, one-hot rows and soft-lloyd sums to f64 rounding
/// (relative 1e-10; the two compute `D - Dmin` by other roundings).
#[test]
fn fused_f64_sparse_passes_agree_with_the_tile_pipeline() {
    let _one = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    if !kmrbf::kernels::sparse_fused_f64::available(64) {
        eprintln!("fused f64 passes: no AVX-512 on this CPU");
        return;
    }
    let mut compared = 0;
    let mut spread_rows = 0.0;
    for &(n, d, k) in &[
        (20_011usize, 32usize, 64usize),
        (3_001, 7, 17),
        (9_000, 40, 33),
        (1_000, 3, 5),
    ] {
        let x: Vec<f64> = kmrbf::synth::bench_blobs_f32(n, d, k, 4)
            .iter()
            .map(|&v| v as f64 * 1.1)
            .collect();
        let xn: Vec<f64> = x.chunks(d).map(|r| r.iter().map(|v| v * v).sum()).collect();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 / 7.0).collect();
        let c: Vec<f64> = x[..k * d].to_vec();
        for weights in [None, Some(&w[..])] {
            let p = Prepared {
                x: &x,
                d,
                xn: &xn,
                w: weights,
            };
            for map in [MapKind::Entmax15, MapKind::Sparsemax] {
                for temp in [30.0f64, 8.0, 2.0, 0.2] {
                    let req = PassRequest {
                        map,
                        temp,
                        resp_sums: true,
                        loss_sums: false,
                    };
                    set_fused_kernels(false);
                    let tile = soft_pass(&p, &c, k, req, RowOut::None);
                    set_fused_kernels(true);
                    let fused = soft_pass(&p, &c, k, req, RowOut::None);
                    let ctx = format!("{map:?} n {n} d {d} k {k} temp {temp}");
                    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1.0);
                    for (name, a, b) in [
                        ("J", fused.j, tile.j),
                        ("L", fused.l, tile.l),
                        ("F", fused.f, tile.f),
                        ("W", fused.weight, tile.weight),
                    ] {
                        assert!(rel(a, b) < 1e-10, "{name} {a} {b} {ctx}");
                    }
                    assert_eq!(fused.support, tile.support, "{ctx}");
                    assert_eq!(fused.onehot, tile.onehot, "{ctx}");
                    spread_rows += (n - tile.onehot) as f64;
                    let (fs, ts) = (fused.resp_sums.unwrap(), tile.resp_sums.unwrap());
                    let wsum: f64 = ts.weight.iter().sum();
                    for j in 0..k {
                        let dw = (fs.weight[j] - ts.weight[j]).abs();
                        assert!(dw <= 1e-10 * wsum, "N_{j} {ctx}");
                        for t in 0..d {
                            let (a, b) = (fs.sums[j * d + t], ts.sums[j * d + t]);
                            assert!(
                                (a - b).abs() <= 1e-10 * 4.0 * wsum,
                                "S_{j},{t} {a} {b} {ctx}"
                            );
                        }
                    }
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 4 * 2 * 2 * 4);
    assert!(spread_rows > 1e4, "the temperatures give spread rows");
}
