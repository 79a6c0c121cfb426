//! `fit` on a `.npy` read from disk in blocks of rows, for data larger than memory.
//!
//! Three passes give the shift (column means), the scale of the tolerance (the mean variance
//! of the centered data) and, per Lloyd iteration, the statistics of the blocks
//! (`kmrbf::kmeans::shard`). Blocks are whole multiples of the kernel's chunk of rows and their
//! statistics continue one running total, so a streamed fit gives the in-memory fit's bits
//! from the same initial centers. Memory: one block, the labels (4 bytes a row) and the
//! k-means++ sample.

use crate::fail::{bad_input, lib_error, CliResult};
use crate::matrix::UserCenters;
use crate::npy::{element_count, read_header, Dtype, Header};
use crate::progress::Progress;
use kmrbf::kmeans::shard::{shard_pass_into, update, ShardStats};
use kmrbf::kmeans::Blocking;
use kmrbf::{Init, Isa, KMeansParams, MatView, Real, Shift};
use rayon::prelude::*;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Default bytes of one block per thread when the block size is chosen automatically: about
/// an L2 cache, so a block decoded from the file is still in cache when the kernels read it.
/// Measured on 2M x 32 float32, k = 64, two threads (Intel Xeon, 2 MiB L2 per core): Lloyd
/// 105 ms per iteration with 4 MB blocks against 255 ms with 64 MiB blocks (in memory: 44).
pub const AUTO_BLOCK_BYTES_PER_THREAD: usize = 3 << 19;

/// A 2-D C-order `.npy` opened for reading rows in order (or at given positions).
pub struct RowStream {
    file: BufReader<std::fs::File>,
    header: Header,
    name: String,
    path: std::path::PathBuf,
    /// Rows.
    pub n: usize,
    /// Columns.
    pub d: usize,
    buf: Vec<u8>,
}

impl RowStream {
    /// Opens `path`, checks its header, shape, order and length.
    pub fn open(path: &Path) -> CliResult<Self> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path)
            .map_err(|e| bad_input(format!("{name}: cannot read: {e}")))?;
        let len = file
            .metadata()
            .map_err(|e| bad_input(format!("{name}: cannot read: {e}")))?
            .len();
        let mut file = BufReader::with_capacity(1 << 20, file);
        let header = read_header(&mut file, len, &name)?;
        let &[n, d] = header.shape.as_slice() else {
            return Err(bad_input(format!(
                "{name}: expected a 2-D array (rows x columns), got shape {:?}",
                header.shape
            )));
        };
        if header.fortran {
            return Err(bad_input(format!(
                "{name}: streaming reads rows in order and needs C order; this file is Fortran-ordered (rewrite it with numpy.ascontiguousarray, or load it without --block-rows)"
            )));
        }
        element_count(&header, len - header.data_offset as u64, &name)?;
        if n == 0 || d == 0 {
            return Err(bad_input(format!("{name}: no data (shape {n} x {d})")));
        }
        Ok(Self {
            file,
            header,
            name,
            path: path.to_path_buf(),
            n,
            d,
            buf: Vec::new(),
        })
    }

    /// True when the file holds float32 (computed in f32); every other dtype computes in f64.
    pub fn is_f32(&self) -> bool {
        self.header.dtype == Dtype::F32
    }

    /// Bytes of the data.
    pub fn data_bytes(&self) -> u64 {
        (self.n * self.d * self.header.dtype.size()) as u64
    }

    fn seek_row(&mut self, row: usize) -> CliResult<()> {
        let at = self.header.data_offset as u64 + (row * self.d * self.header.dtype.size()) as u64;
        self.file
            .seek(SeekFrom::Start(at))
            .map_err(|e| bad_input(format!("{}: cannot read: {e}", self.name)))?;
        Ok(())
    }

    /// Reads `rows` rows starting at `row` into `out` (replaced), moved by `shift` when given
    /// (`T::from_f64(x - mean)`, the in-memory centering's arithmetic), checking every value is
    /// finite (the error names the file, row and column). Decoding runs in parallel over rows.
    pub fn read<T: Real>(
        &mut self,
        row: usize,
        rows: usize,
        shift: Option<&Shift>,
        out: &mut Vec<T>,
    ) -> CliResult<()> {
        self.seek_row(row)?;
        let (d, size) = (self.d, self.header.dtype.size());
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(rows * d * size, 0);
        let r = self.file.read_exact(&mut buf).map_err(|e| {
            bad_input(format!(
                "{}: cannot read rows {row}..{}: {e}",
                self.name,
                row + rows
            ))
        });
        let r = r.and_then(|_| self.decode(row, rows, &buf, shift, out));
        self.buf = buf;
        r
    }

    /// Calls `f(first_row, rows, bytes)` for the blocks of `b` rows in order; a reader thread
    /// (its own handle on the file) reads the next block while `f` works on this one.
    pub fn for_each_block(
        &self,
        b: usize,
        mut f: impl FnMut(usize, usize, &[u8]) -> CliResult<()>,
    ) -> CliResult<()> {
        let (n, d, size) = (self.n, self.d, self.header.dtype.size());
        let offset = self.header.data_offset as u64;
        let (path, name) = (&self.path, &self.name);
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<CliResult<(usize, usize, Vec<u8>)>>(1);
            let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
            scope.spawn(move || {
                let io = |e: std::io::Error| bad_input(format!("{name}: cannot read: {e}"));
                let mut file = match std::fs::File::open(path) {
                    Ok(f) => f,
                    Err(e) => {
                        let _ = tx.send(Err(io(e)));
                        return;
                    }
                };
                for r0 in (0..n).step_by(b) {
                    let m = b.min(n - r0);
                    let mut buf = spare.try_recv().unwrap_or_default();
                    buf.resize(m * d * size, 0);
                    let got = file
                        .seek(SeekFrom::Start(offset + (r0 * d * size) as u64))
                        .and_then(|_| file.read_exact(&mut buf))
                        .map(|_| (r0, m, buf))
                        .map_err(io);
                    let failed = got.is_err();
                    if tx.send(got).is_err() || failed {
                        return;
                    }
                }
            });
            for got in rx {
                let (r0, m, buf) = got?;
                f(r0, m, &buf)?;
                let _ = back.send(buf);
            }
            Ok(())
        })
    }

    /// Decodes `rows` rows (starting at file row `row`) from `bytes` into `out` (replaced),
    /// moved by `shift` when given (`T::from_f64(x - mean)`, the in-memory centering's
    /// arithmetic), checking every value is finite (the error names the file, row and
    /// column). Runs in parallel over rows.
    pub fn decode<T: Real>(
        &self,
        row: usize,
        rows: usize,
        bytes: &[u8],
        shift: Option<&Shift>,
        out: &mut Vec<T>,
    ) -> CliResult<()> {
        debug_assert_eq!(bytes.len(), rows * self.d * self.header.dtype.size());
        out.resize(rows * self.d, T::ZERO);
        match self.decode_into(bytes, shift, out) {
            Some((i, v)) => Err(self.non_finite(row + i / self.d, i % self.d, v)),
            None => Ok(()),
        }
    }

    /// The error of a non-finite value at file row `row`, column `col`.
    fn non_finite(&self, row: usize, col: usize, v: f64) -> crate::fail::CliError {
        bad_input(format!(
            "{}: non-finite value {v} at row {row}, column {col}",
            self.name
        ))
    }

    /// Reads the file rows `idx` (in that order, repeats allowed) where they lie, one
    /// positioned read per row (the threads share them), and appends them to `out` moved by
    /// `shift`, checked finite (the error names the file row): the rows a mini-batch draws.
    pub fn read_rows_at<T: Real>(
        &self,
        idx: &[usize],
        shift: &Shift,
        raw: &mut Vec<u8>,
        out: &mut Vec<T>,
    ) -> CliResult<()> {
        use std::os::unix::fs::FileExt;
        let (d, size) = (self.d, self.header.dtype.size());
        let row_bytes = d * size;
        raw.resize(idx.len() * row_bytes, 0);
        let file = self.file.get_ref();
        let offset = self.header.data_offset as u64;
        raw.par_chunks_mut(row_bytes)
            .zip(idx.par_iter())
            .with_min_len(64)
            .try_for_each(|(dst, &i)| {
                file.read_exact_at(dst, offset + (i * row_bytes) as u64)
                    .map_err(|e| bad_input(format!("{}: cannot read row {i}: {e}", self.name)))
            })?;
        let start = out.len();
        out.resize(start + idx.len() * d, T::ZERO);
        match self.decode_into(raw, Some(shift), &mut out[start..]) {
            Some((f, v)) => Err(self.non_finite(idx[f / d], f % d, v)),
            None => Ok(()),
        }
    }

    /// Decodes whole rows from `bytes` into `out` (the same number of values), moved by `shift`;
    /// the first non-finite raw value as (index in `out`, value). Parallel over rows.
    fn decode_into<T: Real>(
        &self,
        bytes: &[u8],
        shift: Option<&Shift>,
        out: &mut [T],
    ) -> Option<(usize, f64)> {
        let (d, size) = (self.d, self.header.dtype.size());
        let zero = vec![0.0; d];
        let mean = shift.map_or(&zero[..], |s| s.mean());
        let (dtype, big) = (self.header.dtype, self.header.big_endian);
        let bad = out
            .par_chunks_mut(DECODE_ROWS * d)
            .zip(bytes.par_chunks(DECODE_ROWS * d * size))
            .enumerate()
            .filter_map(|(ci, (o, b))| {
                let at = match (dtype, big) {
                    (Dtype::F32, false) => decode(o, b, mean, |c| f32::from_le_bytes(c) as f64),
                    (Dtype::F32, true) => decode(o, b, mean, |c| f32::from_be_bytes(c) as f64),
                    (Dtype::F64, false) => decode(o, b, mean, f64::from_le_bytes),
                    (Dtype::F64, true) => decode(o, b, mean, f64::from_be_bytes),
                    (Dtype::I32, false) => decode(o, b, mean, |c| i32::from_le_bytes(c) as f64),
                    (Dtype::I32, true) => decode(o, b, mean, |c| i32::from_be_bytes(c) as f64),
                    (Dtype::I64, false) => decode(o, b, mean, |c| i64::from_le_bytes(c) as f64),
                    (Dtype::I64, true) => decode(o, b, mean, |c| i64::from_be_bytes(c) as f64),
                };
                at.map(|(i, v)| (ci * DECODE_ROWS * d + i, v))
            })
            .min_by_key(|(i, _)| *i);
        bad
    }
}

/// Rows per parallel decoding task.
const DECODE_ROWS: usize = 4096;

/// Decodes the elements of `bytes` (`S` bytes each) into `out` minus the column means `mean`
/// (row-major, `mean.len()` columns); the first non-finite raw value, if any, as (index, value).
#[inline]
fn decode<T: Real, const S: usize>(
    out: &mut [T],
    bytes: &[u8],
    mean: &[f64],
    conv: impl Fn([u8; S]) -> f64,
) -> Option<(usize, f64)> {
    let d = mean.len();
    // Branch-free (the compiler vectorizes it): every value converted, finiteness folded;
    // only a block with a bad value is searched for the first one.
    let mut finite = true;
    for (orow, brow) in out.chunks_exact_mut(d).zip(bytes.chunks_exact(d * S)) {
        for ((o, c), &m) in orow.iter_mut().zip(brow.chunks_exact(S)).zip(mean) {
            let v = conv(c.try_into().expect("S bytes"));
            finite &= v.is_finite();
            *o = T::from_f64(v - m);
        }
    }
    if finite {
        return None;
    }
    bytes
        .chunks_exact(S)
        .map(|c| conv(c.try_into().expect("S bytes")))
        .enumerate()
        .find(|(_, v)| !v.is_finite())
}

/// `--block-rows`: a number of rows, or `auto` (stream in blocks of the automatic size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockRows {
    /// The automatic size ([`block_rows`]).
    Auto,
    /// About this many rows (rounded up to whole chunks).
    Rows(usize),
}

impl BlockRows {
    /// The requested rows, `None` for `auto`.
    pub fn rows(self) -> Option<usize> {
        match self {
            Self::Auto => None,
            Self::Rows(n) => Some(n),
        }
    }
}

impl std::str::FromStr for BlockRows {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        s.parse::<usize>()
            .map(Self::Rows)
            .map_err(|_| format!("expected a number of rows or auto, got {s}"))
    }
}

/// The stream to fit from, when `data` is to be streamed: always with `--block-rows` (which
/// then needs a `.npy`), otherwise when the file's data exceed half the available memory.
pub fn should_stream(data: &Path, block_rows: Option<BlockRows>) -> CliResult<Option<RowStream>> {
    let is_npy = data
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if block_rows == Some(BlockRows::Rows(0)) {
        return Err(bad_input("--block-rows = 0 is invalid: must be >= 1"));
    }
    if !is_npy {
        return match block_rows {
            Some(_) => Err(bad_input(format!(
                "--block-rows: {} is not a .npy file (only .npy files are streamed)",
                data.display()
            ))),
            None => Ok(None),
        };
    }
    // Without --block-rows only the file's size decides (the in-memory readers give their
    // own errors for everything else, Fortran order included).
    let big = || {
        let len = std::fs::metadata(data).map(|m| m.len()).unwrap_or(0);
        available_memory().is_some_and(|m| len > m / 2)
    };
    if block_rows.is_some() || big() {
        RowStream::open(data).map(Some)
    } else {
        Ok(None)
    }
}

/// `MemAvailable` of `/proc/meminfo` in bytes (Linux), else None.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Rows per block: `requested` rounded up to a whole number of the kernel's chunks, so the
/// streamed sums are the in-memory ones; by default about [`AUTO_BLOCK_BYTES_PER_THREAD`] per
/// thread and at least two chunks per thread (the kernels split a block by chunks).
pub fn block_rows<T: Real>(requested: Option<usize>, d: usize, k: usize) -> usize {
    let chunk = Blocking::of::<T>(k).chunk_rows.max(1);
    let threads = rayon::current_num_threads().max(1);
    let want = requested.unwrap_or_else(|| {
        let row = (d * std::mem::size_of::<T>()).max(1);
        (threads * AUTO_BLOCK_BYTES_PER_THREAD / row).max(2 * threads * chunk)
    });
    want.max(1).div_ceil(chunk) * chunk
}

/// What a streamed fit returns.
pub struct Streamed<T> {
    /// `k x d` centers in the user's coordinates (f64).
    pub centers: Vec<f64>,
    /// The centers in the working precision (for the record).
    pub working: Vec<T>,
    /// Labels of every row.
    pub labels: Vec<u32>,
    /// J of the final centers.
    pub inertia: f64,
    /// Lloyd iterations.
    pub n_iter: usize,
    /// Rows per block.
    pub block_rows: usize,
    /// Rows of the k-means++ / random sample (0 with given centers).
    pub sample_rows: usize,
}

/// Settings of a streamed fit.
pub struct StreamSettings<'a> {
    /// Clusters.
    pub k: usize,
    /// Given initial centers (user coordinates); `None`: k-means++ or random on a sample.
    pub given: Option<&'a UserCenters>,
    /// Random rows instead of k-means++ on the sample.
    pub random: bool,
    /// Seed of the sample and the seeding.
    pub seed: u64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Relative tolerance.
    pub tol: f64,
    /// Per-row weights.
    pub weights: Option<&'a [f64]>,
    /// Requested rows per block.
    pub block_rows: Option<usize>,
    /// Rows of the initialization sample.
    pub sample_rows: usize,
    /// The instruction-set tier of the kernels.
    pub isa: Isa,
}

/// The column means of the streamed file, summed in f64 in row order from the values in `T`
/// (one pass in blocks of `b` rows): the in-memory shift's bits.
fn column_shift<T: Real>(s: &RowStream, b: usize, progress: &Progress) -> CliResult<Shift> {
    let (n, d) = (s.n, s.d);
    let mut block: Vec<T> = Vec::new();
    let mut mean = vec![0.0f64; d];
    s.for_each_block(b, |r0, m, bytes| {
        s.decode::<T>(r0, m, bytes, None, &mut block)?;
        for r in block.chunks_exact(d) {
            for (a, v) in mean.iter_mut().zip(r) {
                *a += v.to_f64();
            }
        }
        progress.set(format!("means: rows {}", r0 + m));
        Ok(())
    })?;
    mean.iter_mut().for_each(|m| *m /= n as f64);
    Ok(Shift::from_mean(mean))
}

/// Streams the file through `f` and writes what it makes to `out` after `header`: one pass for
/// the shift, then per block of rows `f(rows, centers, bytes)` with the rows centered as in
/// memory and the model's `centers` moved by the same shift (`T`, `k x d`), appending the
/// block's output to `bytes`. One block of rows and its output are in memory at a time.
#[allow(clippy::too_many_arguments)]
pub fn write_blocks<T: Real>(
    s: &RowStream,
    centers: &crate::matrix::UserCenters,
    k: usize,
    block_rows: Option<usize>,
    header: &[u8],
    out: &mut dyn std::io::Write,
    progress: &Progress,
    mut f: impl FnMut(MatView<'_, T>, &[T], &mut Vec<u8>) -> CliResult<()>,
) -> CliResult<()> {
    let d = s.d;
    let b = self::block_rows::<T>(block_rows, d, k);
    let shift = column_shift::<T>(s, b, progress)?;
    let cw: Vec<T> = centers.shifted(&shift);
    let name = s.path.display().to_string();
    let write = |out: &mut dyn std::io::Write, bytes: &[u8]| {
        out.write_all(bytes)
            .map_err(|e| bad_input(format!("--out: cannot write: {e}")))
    };
    write(out, header)?;
    let mut block: Vec<T> = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    s.for_each_block(b, |r0, m, raw| {
        s.decode::<T>(r0, m, raw, Some(&shift), &mut block)?;
        let view = MatView::new(&block, m, d).map_err(|e| lib_error(&name, e))?;
        bytes.clear();
        f(view, &cw, &mut bytes)?;
        write(out, &bytes)?;
        progress.set(format!("rows {}", r0 + m));
        Ok(())
    })
}

/// The nearest of the `k` model `centers` for every row of the streamed file, written to `out`
/// as an int64 `.npy` block by block: the in-memory `predict`'s labels.
pub fn predict<T: Real>(
    isa: Isa,
    s: &RowStream,
    centers: &crate::matrix::UserCenters,
    k: usize,
    block_rows: Option<usize>,
    out: &mut dyn std::io::Write,
    progress: &Progress,
) -> CliResult<()> {
    let name = s.path.display().to_string();
    let header = crate::npy::labels_header(s.n);
    write_blocks::<T>(
        s,
        centers,
        k,
        block_rows,
        &header,
        out,
        progress,
        |x, cw, bytes| {
            let labels = kmrbf::kmeans::predict(isa, cw, k, x).map_err(|e| lib_error(&name, e))?;
            for l in labels {
                bytes.extend_from_slice(&(l as i64).to_le_bytes());
            }
            Ok(())
        },
    )
}

/// What every streamed fit starts from: the shift, the blocks, the tolerance's scale and the
/// initial centers.
pub struct Start<T> {
    /// The column means (the in-memory centering).
    pub shift: Shift,
    /// Rows per block (a whole number of the kernel's chunks).
    pub block_rows: usize,
    /// The mean variance of the centered columns (scikit-learn's tolerance scale).
    pub scale: f64,
    /// `k x d` initial centers (working coordinates).
    pub init: Vec<T>,
    /// Rows of the k-means++ / random sample (0 with given centers).
    pub sample_rows: usize,
    /// The per-row weights in `T`.
    pub weights: Option<Vec<T>>,
}

/// Checks `k` and the weights, then three passes: the shift (column means), the mean
/// variance of the centered data, and the initial centers (given, or the method on a
/// stratified uniform sample of rows).
pub fn start<T: Real>(
    s: &mut RowStream,
    st: &StreamSettings<'_>,
    progress: &Progress,
) -> CliResult<Start<T>> {
    let (n, d, k) = (s.n, s.d, st.k);
    if k == 0 || k > n {
        return Err(bad_input(format!(
            "--k = {k} is invalid: need 1 <= k <= rows (n = {n})"
        )));
    }
    if let Some(w) = st.weights {
        kmrbf::data::check_weights(w, n).map_err(|e| lib_error("--weights", e))?;
    }
    let b = block_rows::<T>(st.block_rows, d, k);
    let (shift, scale) = scan::<T>(s, b, true, progress)?;
    // Initial centers: given, or the method on a stratified uniform sample of rows.
    let (init, sample_rows): (Vec<T>, usize) = match st.given {
        Some(c) => (c.shifted(&shift), 0),
        None => {
            let m = st.sample_rows.clamp(k, n);
            let mut rng = kmrbf::rng::Rng::new(st.seed ^ 0x5a4d_504c_4520_524f);
            let mut rows: Vec<T> = Vec::with_capacity(m * d);
            let mut w: Vec<T> = Vec::with_capacity(m);
            let mut one: Vec<T> = Vec::new();
            for j in 0..m {
                let (lo, hi) = (j * n / m, (j + 1) * n / m);
                let i = lo + rng.below(hi - lo);
                s.read::<T>(i, 1, Some(&shift), &mut one)?;
                rows.extend_from_slice(&one);
                w.push(T::from_f64(st.weights.map_or(1.0, |w| w[i])));
            }
            let init = if st.random {
                Init::Random
            } else {
                Init::KMeansPlusPlus
            };
            let c = KMeansParams::<T>::new(k)
                .isa(st.isa)
                .init(init)
                .seed(st.seed)
                .initial_centers(
                    MatView::new(&rows, m, d).map_err(|e| lib_error("--data", e))?,
                    st.weights.map(|_| &w[..]),
                )
                .map_err(|e| lib_error("--init", e))?;
            (c, m)
        }
    };
    let weights = st
        .weights
        .map(|w| w.iter().map(|&v| T::from_f64(v)).collect());
    Ok(Start {
        shift,
        block_rows: b,
        scale,
        init,
        sample_rows,
        weights,
    })
}

/// The first passes over the stream in blocks of `b` rows: the shift (column means, which also
/// checks every value is finite) and, with `variance`, two more for the mean variance of the
/// centered data (scikit-learn's tolerance scale; 0 without). The in-memory values' bits.
pub fn scan<T: Real>(
    s: &RowStream,
    b: usize,
    variance: bool,
    progress: &Progress,
) -> CliResult<(Shift, f64)> {
    let (n, d) = (s.n, s.d);
    let shift = column_shift::<T>(s, b, progress)?;
    if !variance {
        return Ok((shift, 0.0));
    }
    let mut block: Vec<T> = Vec::new();
    let mut cmean = vec![0.0f64; d];
    let mut var = vec![0.0f64; d];
    for pass in 0..2 {
        s.for_each_block(b, |r0, m, bytes| {
            s.decode::<T>(r0, m, bytes, Some(&shift), &mut block)?;
            for r in block.chunks_exact(d) {
                for t in 0..d {
                    if pass == 0 {
                        cmean[t] += r[t].to_f64();
                    } else {
                        let v = r[t].to_f64() - cmean[t];
                        var[t] += v * v;
                    }
                }
            }
            Ok(())
        })?;
        if pass == 0 {
            cmean.iter_mut().for_each(|m| *m /= n as f64);
        }
        progress.set(format!("variance: pass {} of 2", pass + 1));
    }
    Ok((shift, var.iter().sum::<f64>() / (n as f64 * d as f64)))
}

/// One pass of the Lloyd statistics over the stream at `centers` (`labels`: `n`, the
/// previous labels in, the new ones out); `extras`: also the inertia and the farthest rows.
#[allow(clippy::too_many_arguments)]
pub fn lloyd_pass<T: Real>(
    s: &RowStream,
    start: &Start<T>,
    isa: Isa,
    k: usize,
    centers: &[T],
    labels: &mut [u32],
    extras: bool,
    what: &str,
    progress: &Progress,
) -> CliResult<ShardStats> {
    let mut stats = ShardStats::empty(k, s.d);
    visit_labelled(s, start, labels, what, progress, |at, v, w, lab| {
        shard_pass_into(isa, v, w, centers, k, at, lab, &mut stats, extras)
    })?;
    Ok(stats)
}

/// [`visit`] for a pass that labels rows: `f(global offset, rows, weights, the block's slice
/// of labels)`, the library's errors named as the data's.
pub fn visit_labelled<T: Real>(
    s: &RowStream,
    start: &Start<T>,
    labels: &mut [u32],
    what: &str,
    progress: &Progress,
    mut f: impl FnMut(u64, MatView<'_, T>, Option<&[T]>, &mut [u32]) -> kmrbf::Result<()>,
) -> CliResult<()> {
    visit(s, start, what, progress, |r0, v, w| {
        let lab = &mut labels[r0..r0 + v.n()];
        f(r0 as u64, v, w, lab).map_err(|e| lib_error("--data", e))
    })
}

/// Calls `f(first_row, rows, weights)` on every block of the stream in order, the rows
/// centered by `start.shift` as in memory; `what` names the pass in the progress line.
pub fn visit<T: Real>(
    s: &RowStream,
    start: &Start<T>,
    what: &str,
    progress: &Progress,
    mut f: impl FnMut(usize, MatView<'_, T>, Option<&[T]>) -> CliResult<()>,
) -> CliResult<()> {
    let (n, d) = (s.n, s.d);
    let mut block: Vec<T> = Vec::new();
    s.for_each_block(start.block_rows, |r0, m, bytes| {
        s.decode::<T>(r0, m, bytes, Some(&start.shift), &mut block)?;
        let v = MatView::new(&block, m, d).map_err(|e| lib_error("--data", e))?;
        let w = start.weights.as_deref().map(|w| &w[r0..r0 + m]);
        f(r0, v, w)?;
        progress.set(format!("{what}: rows {} of {n}", r0 + m));
        Ok(())
    })
}

/// What a streamed Lloyd run ends with (working coordinates).
pub struct LloydEnd<T> {
    /// `k x d` centers.
    pub centers: Vec<T>,
    /// Labels of every row under them.
    pub labels: Vec<u32>,
    /// J of the centers.
    pub inertia: f64,
    /// Iterations.
    pub n_iter: usize,
}

/// Lloyd from `init` with scikit-learn's stopping rules (labels unchanged, `sum_k
/// ||dc_k||^2 <= tol_abs`, or `max_iter`) and the final assignment pass: the in-memory
/// run's bits.
#[allow(clippy::too_many_arguments)]
pub fn lloyd<T: Real>(
    s: &RowStream,
    start: &Start<T>,
    isa: Isa,
    k: usize,
    init: &[T],
    max_iter: usize,
    tol_abs: f64,
    progress: &Progress,
) -> CliResult<LloydEnd<T>> {
    let mut labels = vec![u32::MAX; s.n];
    let mut centers = init.to_vec();
    let mut next = centers.clone();
    let mut n_iter = 0;
    for it in 0..max_iter {
        n_iter = it + 1;
        let what = format!("iteration {n_iter}");
        let mut stats = lloyd_pass(
            s,
            start,
            isa,
            k,
            &centers,
            &mut labels,
            false,
            &what,
            progress,
        )?;
        if stats.sums.weight.contains(&0.0) {
            // Empty clusters take the farthest rows: pass again to find them (the same
            // labels, counted against themselves: keep the first pass's change count).
            let changed = stats.changed;
            stats = lloyd_pass(
                s,
                start,
                isa,
                k,
                &centers,
                &mut labels,
                true,
                &what,
                progress,
            )?;
            stats.changed = changed;
        }
        let (moved, _) = update(&stats, &centers, &mut next);
        std::mem::swap(&mut centers, &mut next);
        if stats.changed == 0 || moved <= tol_abs {
            break;
        }
    }
    let fin = lloyd_pass(
        s,
        start,
        isa,
        k,
        &centers,
        &mut labels,
        true,
        "final assignment",
        progress,
    )?;
    Ok(LloydEnd {
        centers,
        labels,
        inertia: fin.inertia,
        n_iter,
    })
}

/// Lloyd on the streamed file with the in-memory fit's semantics.
pub fn fit<T: Real>(
    s: &mut RowStream,
    st: &StreamSettings<'_>,
    progress: &Progress,
) -> CliResult<Streamed<T>> {
    let start = start::<T>(s, st, progress)?;
    let tol_abs = st.tol * start.scale;
    let end = lloyd(
        s,
        &start,
        st.isa,
        st.k,
        &start.init,
        st.max_iter,
        tol_abs,
        progress,
    )?;
    Ok(Streamed {
        centers: start.shift.to_user(&end.centers),
        working: end.centers,
        labels: end.labels,
        inertia: end.inertia,
        n_iter: end.n_iter,
        block_rows: start.block_rows,
        sample_rows: start.sample_rows,
    })
}
