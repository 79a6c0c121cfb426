//! `fit --mini-batch` on a `.npy` larger than memory: the batches' rows read where they lie.
//!
//! One pass over the file gives the shift (and checks every value); with `--tol`, two more
//! the tolerance's scale. The fit then draws its batches exactly as in memory
//! (`MiniBatchParams::fit_rows`): each batch's rows are read by one positioned read per row
//! (from the page cache, or the disk) and centered as in memory. A last pass labels every row
//! and sums J in the in-memory chunks. So the model and labels are the in-memory
//! `fit --mini-batch`'s, byte for byte. Memory: a batch, the labels (4 bytes a row) and the
//! weights.

use crate::fail::{bad_input, lib_error, CliError, CliResult};
use crate::progress::Progress;
use crate::stream::{block_rows, scan, visit, RowStream, Start, StreamSettings, Streamed};
use kmrbf::kmeans::minibatch::{RowSource, INERTIA_CHUNK_ROWS};
use kmrbf::kmeans::step::InertiaSum;
use kmrbf::kmeans::{predict, MiniBatchParams};
use kmrbf::{Init, Real, Shift};

/// The rows of the stream read where they lie, centered by the shift.
struct FileRows<'a> {
    s: &'a RowStream,
    shift: &'a Shift,
    raw: Vec<u8>,
}

/// An error of the fit over the file: the library's, or a read's.
enum ReadError {
    Lib(kmrbf::Error),
    Read(CliError),
}

impl From<kmrbf::Error> for ReadError {
    fn from(e: kmrbf::Error) -> Self {
        Self::Lib(e)
    }
}

impl<T: Real> RowSource<T> for FileRows<'_> {
    type Error = ReadError;
    fn n(&self) -> usize {
        self.s.n
    }
    fn d(&self) -> usize {
        self.s.d
    }
    fn gather(&mut self, idx: &[usize], out: &mut Vec<T>) -> Result<(), ReadError> {
        self.s
            .read_rows_at(idx, self.shift, &mut self.raw, out)
            .map_err(ReadError::Read)
    }
}

/// A streamed mini-batch fit.
pub struct MiniBatchStreamed<T> {
    /// Centers, labels, J; `n_iter` the passes the batches amount to.
    pub fit: Streamed<T>,
    /// Batches run.
    pub n_steps: usize,
}

/// Mini-batch K-Means (`p`: its settings but the init) on the streamed file with the in-memory
/// fit's draws; `lib` names a library error's flag or file.
pub fn fit<T: Real>(
    s: &RowStream,
    st: &StreamSettings<'_>,
    mut p: MiniBatchParams<T>,
    lib: impl Fn(kmrbf::Error) -> CliError,
    progress: &Progress,
) -> CliResult<MiniBatchStreamed<T>> {
    let (n, d, k) = (s.n, s.d, st.k);
    if k == 0 || k > n {
        return Err(bad_input(format!(
            "--k = {k} is invalid: need 1 <= k <= rows (n = {n})"
        )));
    }
    if let Some(w) = st.weights {
        kmrbf::data::check_weights(w, n).map_err(&lib)?;
    }
    let b = block_rows::<T>(st.block_rows, d, k);
    let (shift, scale) = scan::<T>(s, b, p.tol > 0.0, progress)?;
    p.init = match st.given {
        Some(c) => Init::Centers(c.shifted(&shift)),
        None if st.random => Init::Random,
        None => Init::KMeansPlusPlus,
    };
    let weights: Option<Vec<T>> = st
        .weights
        .map(|w| w.iter().map(|&v| T::from_f64(v)).collect());
    progress.set(format!(
        "mini-batch K-Means, batches of {} rows read from the file",
        p.batch_size.min(n)
    ));
    let mut rows = FileRows {
        s,
        shift: &shift,
        raw: Vec::new(),
    };
    let run = p
        .fit_rows(&mut rows, weights.as_deref(), scale)
        .map_err(|e| match e {
            ReadError::Lib(e) => lib(e),
            ReadError::Read(e) => e,
        })?;
    let start = Start {
        shift,
        block_rows: b,
        scale,
        init: Vec::new(),
        sample_rows: 0,
        weights,
    };
    // Every row's label and J, as in memory (`inertia` in chunks of INERTIA_CHUNK_ROWS rows).
    let centers = &run.state.centers;
    let mut labels = vec![0u32; n];
    let mut j = InertiaSum::new(INERTIA_CHUNK_ROWS);
    visit(s, &start, "final labels", progress, |r0, v, w| {
        let l = predict(p.isa, centers, k, v).map_err(|e| lib_error("--data", e))?;
        j.add(v.data(), d, w, &l, centers);
        labels[r0..r0 + l.len()].copy_from_slice(&l);
        Ok(())
    })?;
    Ok(MiniBatchStreamed {
        fit: Streamed {
            centers: start.shift.to_user(centers),
            working: run.state.centers,
            labels,
            inertia: j.total(),
            n_iter: run.n_iter,
            block_rows: b,
            sample_rows: 0,
        },
        n_steps: run.n_steps,
    })
}
