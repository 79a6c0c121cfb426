//! The library in one page: K-Means (fit, predict), mini-batch K-Means and its annealed RBF
//! twin, and the RBF model annealed onto the K-Means fixed point from the same start.
//!
//! `cargo run --release -p kmrbf --example quickstart`

use kmrbf::kmeans::MiniBatchParams;
use kmrbf::rbf::anneal::AnnealParams;
use kmrbf::rbf::{MapKind, MiniBatchAnnealParams};
use kmrbf::{KMeansParams, MatView, Shift};

fn main() -> kmrbf::Result<()> {
    // 20,000 rows around 8 centers in 5-D (row-major n x d), far from the origin.
    let (n, d, k) = (20_000, 5, 8);
    let mut x = kmrbf::synth::blobs(n, d, k, 1.0, 7).x;
    x.iter_mut().for_each(|v| *v += 100.0);
    // Center the data (what the CLI and the Python package do): distances do not change, the
    // `|x|^2 - 2 x.c + |c|^2` expansion stays accurate; results go back through the shift.
    let shift = Shift::of_rows(&x, d);
    shift.apply(&mut x);
    let view = MatView::new(&x, n, d)?;

    let params = KMeansParams::new(k).seed(3);
    let km = params.fit(view, None)?;
    println!(
        "K-Means: {} iterations, inertia {:.1}",
        km.n_iter(),
        km.inertia()
    );
    let user_centers = shift.to_user(km.centers());
    println!(
        "first center (your coordinates): {:.3?}",
        &user_centers[..d]
    );
    let new_rows = &x[..3 * d];
    println!(
        "labels of 3 rows: {:?}",
        km.predict(MatView::new(new_rows, 3, d)?)?
    );

    let mut mb = MiniBatchParams::new(k);
    mb.seed = 3;
    mb.batch_size = 1024;
    let fit = mb.fit(view, None)?;
    println!(
        "mini-batch: {} batches, inertia {:.1} ({:+.2}% of K-Means)",
        fit.n_steps,
        fit.inertia,
        100.0 * (fit.inertia / km.inertia() - 1.0)
    );

    // The same batches training the RBF model: entmax-1.5 responsibilities from a soft start
    // (sigma0 = the median two-nearest gap) cooled to the one-hot limit, then a polish.
    let mut mba = MiniBatchAnnealParams::new(k, MapKind::Entmax15);
    mba.batches = mb.clone();
    mba.polish = true;
    let soft = mba.fit(view, None)?;
    println!(
        "mini-batch annealing: {} stages, {} batches, inertia {:.1} ({:+.2}% of K-Means)",
        soft.stages.len(),
        soft.total_steps + soft.polish_iters,
        soft.inertia,
        100.0 * (soft.inertia / km.inertia() - 1.0)
    );

    // The RBF model from K-Means' initial centers, annealed with entmax-1.5 responsibilities.
    // The fitted model computes at its last temperature: responsibilities, objectives, labels.
    let init = params.initial_centers(view, None)?;
    let rbf = AnnealParams::new(MapKind::Entmax15).fit(view, None, &init, k, &mut |_| {})?;
    let last = rbf.stages().last().expect("at least one stage");
    println!(
        "annealing: {} stages down to sigma {:.3e}; distance to the K-Means fixed point {:.1e}",
        rbf.stages().len(),
        rbf.temperature().sigma,
        last.discrepancy.unwrap_or(f64::NAN)
    );
    let r = rbf.responsibilities(view)?;
    let one_hot = r.chunks(k).filter(|row| row.contains(&1.0)).count();
    let agree = rbf.predict(view)? == km.labels();
    println!(
        "responsibilities at that temperature: {one_hot} of {n} rows one-hot; labels agree with \
         K-Means: {agree}"
    );
    // What the README promises of this data; `scripts/test-all` runs this example.
    assert!(agree, "the annealed model's labels differ from K-Means'");
    Ok(())
}
