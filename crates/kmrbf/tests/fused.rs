//! The fused soft passes (f32 softmax, entmax-1.5, sparsemax; f64 entmax-1.5, sparsemax;
//! `k <= 64`) against the tile pipeline they replace, through the public pass: same
//! objectives, support and soft-lloyd sums to f32 (f64) rounding, on every tier with a fused
//! kernel (`PassRequest::fused` chooses the path).

mod common;
use kmrbf::data::Prepared;
use kmrbf::kernels::maps::MapKind;
use kmrbf::kernels::soft::softmax::available;
use kmrbf::rbf::pass::{soft_pass, PassOutput, PassRequest, RowOut};
use kmrbf::Isa;

fn pass(
    p: &Prepared<'_, f32>,
    c: &[f32],
    k: usize,
    map: MapKind,
    temp: f32,
    fused: bool,
) -> PassOutput {
    let req = PassRequest {
        map,
        temperature: temp,
        resp_sums: true,
        loss_sums: false,
        fused,
    };
    soft_pass(p, c, k, req, RowOut::None)
}

/// The tiers of this CPU with a fused f32 kernel (AVX2 and wider).
fn fused_tiers(test: &str) -> Vec<Isa> {
    let t: Vec<Isa> = common::tiers(test)
        .into_iter()
        .filter(|&i| available(i, 64))
        .collect();
    assert!(
        !t.is_empty() || !Isa::detect().avx2(),
        "a tier with AVX2 runs the fused kernels"
    );
    t
}

#[test]
fn fused_passes_agree_with_the_tile_pipeline() {
    for isa in fused_tiers("fused_passes_agree_with_the_tile_pipeline") {
        fused_passes_agree_on(isa);
    }
}

fn fused_passes_agree_on(isa: Isa) {
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
            let p = Prepared::new(&x, d, &xn, weights, isa).expect("consistent lengths");
            for map in [MapKind::Softmax, MapKind::Entmax15, MapKind::Sparsemax] {
                for temp in [8.0f32, 2.0, 0.2] {
                    let tile = pass(&p, &c, k, map, temp, false);
                    let fused = pass(&p, &c, k, map, temp, true);
                    let ctx = format!("{map:?} n {n} d {d} k {k} temp {temp} {isa}");
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
                    let band = if kmrbf::kernels::soft::rows_avx512::available(isa) {
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
    for isa in fused_tiers("fused_softmax_rows_agree_with_the_tile_pipeline") {
        fused_softmax_rows_agree_on(isa);
    }
}

fn fused_softmax_rows_agree_on(isa: Isa) {
    let mut compared = 0;
    for &(n, d, k) in &[
        (20_011usize, 32usize, 64usize),
        (3_001, 7, 17),
        (999, 40, 1),
    ] {
        let x = kmrbf::synth::bench_blobs_f32(n, d, k.max(2), 5);
        let xn: Vec<f32> = x.chunks(d).map(|r| r.iter().map(|v| v * v).sum()).collect();
        let c: Vec<f32> = x[..k * d].to_vec();
        let p = Prepared::new(&x, d, &xn, None, isa).expect("consistent lengths");
        for temp in [8.0f32, 2.0, 0.2, 1e-3] {
            let req = PassRequest {
                map: MapKind::Softmax,
                temperature: temp,
                resp_sums: false,
                loss_sums: false,
                fused: false,
            };
            let mut tile_r = vec![f32::NAN; n * k];
            let mut fused_r = vec![f32::NAN; n * k];
            let tile = soft_pass(&p, &c, k, req, RowOut::Resp(&mut tile_r));
            let req = PassRequest { fused: true, ..req };
            let fused = soft_pass(&p, &c, k, req, RowOut::Resp(&mut fused_r));
            let ctx = format!("n {n} d {d} k {k} temp {temp} {isa}");
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
    let tiers = common::tiers("fused_f64_sparse_passes_agree_with_the_tile_pipeline");
    // The f64 kernel runs on the AVX-512 tiers (those missing here are printed).
    for isa in tiers
        .into_iter()
        .filter(|&i| kmrbf::kernels::soft::sparse_f64::available(i, 64))
    {
        fused_f64_sparse_passes_agree_on(isa);
    }
}

fn fused_f64_sparse_passes_agree_on(isa: Isa) {
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
            let p = Prepared::new(&x, d, &xn, weights, isa).expect("consistent lengths");
            for map in [MapKind::Entmax15, MapKind::Sparsemax] {
                for temp in [30.0f64, 8.0, 2.0, 0.2] {
                    let req = PassRequest {
                        map,
                        temperature: temp,
                        resp_sums: true,
                        loss_sums: false,
                        fused: false,
                    };
                    let tile = soft_pass(&p, &c, k, req, RowOut::None);
                    let req = PassRequest { fused: true, ..req };
                    let fused = soft_pass(&p, &c, k, req, RowOut::None);
                    let ctx = format!("{map:?} n {n} d {d} k {k} temp {temp} {isa}");
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
