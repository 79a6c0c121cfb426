//! The training loop: pretraining, the K-Means initialization, joint epochs, checkpoints.
//!
//! Epochs are numbered over the whole run (`0 .. pretrain_epochs + epochs`). After every epoch
//! the run writes its checkpoint (the model record, Adam's moments, and `state.json`
//! with the parameters, the centers, the resolved schedule and the history) into the
//! checkpoint folder, each file through a temporary and a rename. A run resumed from it
//! continues with the next epoch and ends with the same numbers as an uninterrupted one: the
//! batch order of epoch `e` comes from `(seed, e)` alone.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use super::adam::Adam;
use super::autoencoder::{Autoencoder, AutoencoderConfig};
use super::params::{DeepParams, HeadLoss, Scale};
use crate::error::{Error, Result};
use crate::layer::{RbfLayer, RbfLayerConfig};
use crate::schedule::TemperatureSchedule;

/// The autoencoder and the RBF head, saved together as the run's model record.
#[derive(Module, Debug)]
pub struct DeepModel {
    /// The autoencoder.
    pub autoencoder: Autoencoder,
    /// The RBF head (its centers follow closed-form steps, not the optimizer).
    pub head: RbfLayer,
}

impl DeepModel {
    /// Writes the model record (burnpack) to `path` through a temporary and a rename.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, |tmp| {
            self.clone().save_file(tmp).map_err(|e| Error::Checkpoint {
                path: tmp.display().to_string(),
                reason: e.to_string(),
            })
        })
    }
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRecord {
    /// 0-based over the whole run.
    pub epoch: usize,
    /// `pretrain` or `cluster`.
    pub phase: String,
    /// The sigma of a joint epoch (`None` in pretraining).
    pub sigma: Option<f64>,
    /// Mean squared reconstruction error over the epoch's batches (scaled inputs).
    pub reconstruction: f64,
    /// Mean over batches of the head's objective per row (`None` in pretraining).
    pub head: Option<f64>,
    /// J, L, F of the whole embedding at this epoch's sigma after the center step (sums).
    pub j: Option<f64>,
    /// See `j`.
    pub l: Option<f64>,
    /// See `j`.
    pub f: Option<f64>,
    /// Mean number of nonzero responsibilities per row.
    pub mean_support: Option<f64>,
    /// Clustering accuracy (Hungarian matching) when true labels were given.
    pub acc: Option<f64>,
    /// Normalized mutual information when true labels were given.
    pub nmi: Option<f64>,
    /// Adjusted Rand index when true labels were given.
    pub ari: Option<f64>,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
}

/// Scores of a labelling against the truth.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    /// Clustering accuracy.
    pub acc: f64,
    /// Normalized mutual information.
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
}

impl Scores {
    /// ACC, NMI, ARI of `pred` against `truth`.
    pub fn of(truth: &[u32], pred: &[u32]) -> Self {
        Self {
            acc: kmrbf::metrics::matched_accuracy(truth, pred),
            nmi: kmrbf::metrics::normalized_mutual_info(truth, pred),
            ari: kmrbf::metrics::adjusted_rand_index(truth, pred),
        }
    }
}

/// Everything a checkpoint holds besides the model record and Adam's moments.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainState {
    /// The run's parameters.
    pub params: DeepParams,
    /// Rows, columns and an FNV-1a hash of the input bytes: a resume on other data fails.
    pub data: (usize, usize, u64),
    /// Epochs completed.
    pub epochs_done: usize,
    /// The centers (`k * embedding`), once the pretraining is done.
    pub centers: Option<Vec<f32>>,
    /// The schedule of the joint epochs, once resolved.
    pub schedule: Option<TemperatureSchedule>,
    /// The two-stage baseline: K-Means on the pretrained embedding (the initial centers).
    pub two_stage: Option<Option<Scores>>,
    /// Per-epoch records.
    pub history: Vec<EpochRecord>,
    /// The model record of this state, in the checkpoint folder (`model-<epochs>.bpk`).
    pub model_file: String,
    /// Adam's moments of this state (`optimizer-<epochs>.adam`, see [`Adam::save`]).
    pub optimizer_file: String,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct DeepFit {
    /// Cluster of each row (argmin of the distances to the final centers).
    pub labels: Vec<u32>,
    /// The final embedding, `n x embedding`, row-major.
    pub embedding: Vec<f32>,
    /// The final centers, `k x embedding`.
    pub centers: Vec<f32>,
    /// The state the last checkpoint holds (history, schedule, two-stage baseline).
    pub state: TrainState,
    /// The trained model.
    pub model: DeepModel,
}

fn fnv1a(values: &[f32]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// The inputs after [`Scale`].
pub fn scaled(x: &[f32], n: usize, d: usize, scale: Scale) -> Vec<f32> {
    match scale {
        Scale::None => x.to_vec(),
        Scale::MaxAbs => {
            let m = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            let f = if m > 0.0 { 1.0 / m } else { 1.0 };
            x.iter().map(|v| v * f).collect()
        }
        Scale::Standard => {
            let mut out = x.to_vec();
            for j in 0..d {
                let mean = (0..n).map(|i| x[i * d + j] as f64).sum::<f64>() / n as f64;
                let var = (0..n)
                    .map(|i| (x[i * d + j] as f64 - mean).powi(2))
                    .sum::<f64>()
                    / n as f64;
                let sd = if var > 0.0 { var.sqrt() } else { 1.0 };
                for i in 0..n {
                    out[i * d + j] = ((x[i * d + j] as f64 - mean) / sd) as f32;
                }
            }
            out
        }
    }
}

fn to_tensor(v: &[f32], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [rows, cols]), device)
}

fn to_vec(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

/// The embedding of every row, `n x e`, in chunks, without autodiff.
fn embed(ae: &Autoencoder, x: &[f32], n: usize, d: usize, device: &Device) -> Vec<f32> {
    let chunk = 4096;
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + chunk).min(n);
        let xb = to_tensor(&x[start * d..end * d], end - start, d, device);
        out.extend(to_vec(ae.encode(xb)));
        start = end;
    }
    out
}

/// The row order of epoch `epoch`: a Fisher-Yates shuffle from `(seed, epoch)`.
fn batch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = kmrbf::rng::Rng::fork(seed, 0x6465_6570_0000_0000 ^ epoch as u64);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        order.swap(i, j);
    }
    order
}

/// The `q`-quantile over rows of the gap between the two smallest squared distances (`q = 0.5`:
/// the soft start of DESIGN.md's `sigma0 = median`); 1 when there is none.
fn gap_quantile(z: &[f32], centers: &[f32], n: usize, e: usize, k: usize, q: f64) -> f64 {
    if k < 2 {
        return 1.0;
    }
    let mut gaps: Vec<f64> = (0..n)
        .map(|i| {
            let (mut a, mut b) = (f64::INFINITY, f64::INFINITY);
            for c in 0..k {
                let dist: f64 = (0..e)
                    .map(|t| (z[i * e + t] as f64 - centers[c * e + t] as f64).powi(2))
                    .sum();
                if dist < a {
                    b = a;
                    a = dist;
                } else if dist < b {
                    b = dist;
                }
            }
            b - a
        })
        .filter(|g| *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[((gaps.len() - 1) as f64 * q).round() as usize]
}

/// Each of the `b` images of `x` shifted by a random `(dy, dx)` in `[-s, s]^2`, zeros shifted in.
fn shift_images(
    x: &[f32],
    b: usize,
    a: &super::params::Augment,
    rng: &mut kmrbf::rng::Rng,
) -> Vec<f32> {
    let side = a.side as isize;
    let span = 2 * a.max_shift + 1;
    let mut out = vec![0f32; x.len()];
    for i in 0..b {
        let dy = rng.below(span) as isize - a.max_shift as isize;
        let dx = rng.below(span) as isize - a.max_shift as isize;
        let src = &x[i * a.side * a.side..(i + 1) * a.side * a.side];
        let dst = &mut out[i * a.side * a.side..(i + 1) * a.side * a.side];
        for r in 0..side {
            let sr = r - dy;
            if !(0..side).contains(&sr) {
                continue;
            }
            for c in 0..side {
                let sc = c - dx;
                if (0..side).contains(&sc) {
                    dst[(r * side + c) as usize] = src[(sr * side + sc) as usize];
                }
            }
        }
    }
    out
}

/// The `q` nearest other rows of each row (squared Euclidean, f64, brute force: O(n^2 d)),
/// `n * q` indices.
fn nearest_rows(x: &[f32], n: usize, d: usize, q: usize) -> Vec<usize> {
    use rayon::prelude::*;
    let q = q.min(n.saturating_sub(1)).max(1);
    (0..n)
        .into_par_iter()
        .flat_map_iter(|i| {
            let xi = &x[i * d..(i + 1) * d];
            let mut dist: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let s: f64 = xi
                        .iter()
                        .zip(&x[j * d..(j + 1) * d])
                        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                        .sum();
                    (s, j)
                })
                .collect();
            dist.select_nth_unstable_by(q - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut best: Vec<(f64, usize)> = dist[..q].to_vec();
            best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            best.into_iter().map(|(_, j)| j)
        })
        .collect()
}

/// Nearest center of each row (lowest index on ties): the core's K-Means labels.
fn nearest(z: &[f32], centers: &[f32], n: usize, e: usize, k: usize) -> Result<Vec<u32>> {
    Ok(kmrbf::kmeans::predict(
        kmrbf::Isa::detect(),
        centers,
        k,
        kmrbf::MatView::new(z, n, e)?,
    )?)
}

/// A training run over `x` (`n x d`, row-major), optionally scored against `truth`.
pub struct Trainer<'a> {
    params: DeepParams,
    x: Vec<f32>,
    n: usize,
    d: usize,
    truth: Option<&'a [u32]>,
    checkpoint: Option<PathBuf>,
    stop: Option<Arc<AtomicBool>>,
    /// Rows, columns and the FNV-1a hash of the input as given (before scaling).
    data_key: (usize, usize, u64),
}

const STATE_FILE: &str = "state.json";

impl<'a> Trainer<'a> {
    /// A run of `params` on `x`; checks the parameters and the data (finite values).
    pub fn new(
        params: DeepParams,
        x: &[f32],
        n: usize,
        d: usize,
        truth: Option<&'a [u32]>,
    ) -> Result<Self> {
        kmrbf::MatView::new(x, n, d)?;
        params.validate(n, d)?;
        if let Some((row, col)) = (0..n * d)
            .find(|&i| !x[i].is_finite())
            .map(|i| (i / d, i % d))
        {
            return Err(Error::BadParam {
                name: "data",
                value: format!("row {row}, column {col}"),
                reason: "NaN or Inf".into(),
            });
        }
        if let Some(t) = truth {
            if t.len() != n {
                return Err(Error::BadParam {
                    name: "true-labels",
                    value: format!("{} labels", t.len()),
                    reason: format!("expected one per row, {n}"),
                });
            }
        }
        Ok(Self {
            data_key: (n, d, fnv1a(x)),
            x: scaled(x, n, d, params.scale),
            params,
            n,
            d,
            truth,
            checkpoint: None,
            stop: None,
        })
    }

    /// Write a checkpoint into `dir` after every epoch.
    pub fn checkpoint_into(mut self, dir: &Path) -> Self {
        self.checkpoint = Some(dir.to_path_buf());
        self
    }

    /// Stop (with [`Error::Interrupted`]) at the next batch once `flag` is raised.
    pub fn stop_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    /// The run's parameters.
    pub fn params(&self) -> &DeepParams {
        &self.params
    }

    /// Checks that the checkpoint in `dir` can continue this run (readable records, same
    /// parameters, same data) without training.
    pub fn check_resume(&self, dir: &Path) -> Result<()> {
        let device = Device::flex().autodiff();
        let p = &self.params;
        let model = DeepModel {
            autoencoder: AutoencoderConfig::new(p.widths(self.d)).init(&device, p.seed),
            head: RbfLayerConfig::new(p.k, p.embedding)
                .with_map(p.map)
                .init_with(&vec![0.0; p.k * p.embedding], &device)?,
        };
        let (_, _, s) = load_checkpoint(dir, model)?;
        self.check_state(&s, dir)
    }

    fn check_state(&self, s: &TrainState, dir: &Path) -> Result<()> {
        let key = self.data_key;
        if s.data != key {
            return Err(Error::Checkpoint {
                path: dir.join(STATE_FILE).display().to_string(),
                reason: format!(
                    "written for other data ({} x {}, hash {:016x}); this is {} x {}, hash {:016x}",
                    s.data.0, s.data.1, s.data.2, key.0, key.1, key.2
                ),
            });
        }
        let same = |p: &DeepParams| DeepParams {
            threads: None,
            ..p.clone()
        };
        if same(&s.params) != same(&self.params) {
            return Err(Error::Checkpoint {
                path: dir.join(STATE_FILE).display().to_string(),
                reason: "written with other parameters".into(),
            });
        }
        Ok(())
    }

    /// Trains from scratch (or, with `resume_from`, from the checkpoint there), calling
    /// `observer` after every epoch.
    pub fn run(
        &self,
        resume_from: Option<&Path>,
        observer: &mut (dyn FnMut(&EpochRecord) + Send),
    ) -> Result<DeepFit> {
        kmrbf::par::run(self.params.threads, || {
            self.run_inner(resume_from, observer)
        })?
    }

    fn run_inner(
        &self,
        resume_from: Option<&Path>,
        observer: &mut (dyn FnMut(&EpochRecord) + Send),
    ) -> Result<DeepFit> {
        let p = &self.params;
        let (n, d, k, e) = (self.n, self.d, p.k, p.embedding);
        let device = Device::flex().autodiff();
        let ae_config = AutoencoderConfig::new(p.widths(d));
        let head_config = RbfLayerConfig::new(k, e).with_map(p.map);
        let mut model = DeepModel {
            autoencoder: ae_config.init(&device, p.seed),
            head: head_config.init_with(&vec![0.0; k * e], &device)?,
        };
        let mut optim = Adam::new();
        let mut state = TrainState {
            params: p.clone(),
            data: self.data_key,
            epochs_done: 0,
            centers: None,
            schedule: p.schedule.clone(),
            two_stage: None,
            history: Vec::new(),
            model_file: String::new(),
            optimizer_file: String::new(),
        };
        if let Some(dir) = resume_from {
            let (m, o, s) = load_checkpoint(dir, model)?;
            self.check_state(&s, dir)?;
            model = m;
            optim = o;
            state = s;
        }
        let total = p.pretrain_epochs + p.epochs;
        let knn = if p.neighbors > 0 && p.mu > 0.0 {
            nearest_rows(&self.x, n, d, p.neighbors)
        } else {
            Vec::new()
        };
        let mut centers: Option<Vec<f32>> = state.centers.clone();
        for epoch in state.epochs_done..total {
            let started = Instant::now();
            let clustering = epoch >= p.pretrain_epochs;
            if clustering && centers.is_none() {
                let (c, sched, two) = self.initialize(&model.autoencoder.valid(), &device)?;
                centers = Some(c);
                state.schedule = Some(sched);
                state.two_stage = Some(two);
            }
            let sigma = if clustering {
                Some(
                    state
                        .schedule
                        .as_ref()
                        .expect("resolved")
                        .sigma(epoch - p.pretrain_epochs),
                )
            } else {
                None
            };
            let head = centers.as_ref().map(|c| {
                head_config
                    .init_with(c, &device)
                    .expect("checked centers")
                    .no_grad()
            });
            let order = batch_order(n, p.seed, epoch);
            let mut aug_rng = kmrbf::rng::Rng::fork(p.seed, 0x6175_6700_0000_0000 ^ epoch as u64);
            let (mut recon_sum, mut head_sum, mut batches) = (0f64, 0f64, 0usize);
            for rows in order.chunks(p.batch_size) {
                if self
                    .stop
                    .as_ref()
                    .is_some_and(|s| s.load(Ordering::Relaxed))
                {
                    return Err(Error::Interrupted);
                }
                let b = rows.len();
                let mut xb = Vec::with_capacity(b * d);
                for &r in rows {
                    xb.extend_from_slice(&self.x[r * d..(r + 1) * d]);
                }
                let (input, target) = match &p.augment {
                    Some(a) => {
                        let shifted = shift_images(&xb, b, a, &mut aug_rng);
                        let target = if a.clean_target { xb } else { shifted.clone() };
                        (
                            to_tensor(&shifted, b, d, &device),
                            to_tensor(&target, b, d, &device),
                        )
                    }
                    None => {
                        let t = to_tensor(&xb, b, d, &device);
                        (t.clone(), t)
                    }
                };
                let input = if p.input_dropout > 0.0 {
                    let keep: Vec<f32> = (0..b * d)
                        .map(|_| (aug_rng.uniform() >= p.input_dropout) as u8 as f32)
                        .collect();
                    input * to_tensor(&keep, b, d, &device)
                } else {
                    input
                };
                let z = model.autoencoder.encode(input);
                let xr = model.autoencoder.decode(z.clone());
                // Row sums, then their mean: a fixed order for any thread count (see
                // `layer::total`); the mean over entries as a scalar.
                let mut recon = (xr - target).powi_scalar(2).sum_dim(1).mean() / d as f64;
                recon_sum += recon.clone().into_scalar::<f32>() as f64;
                if !knn.is_empty() {
                    let q = p.neighbors;
                    let mut xn = Vec::with_capacity(b * d);
                    for &r in rows {
                        let j = knn[r * q + aug_rng.below(q)];
                        xn.extend_from_slice(&self.x[j * d..(j + 1) * d]);
                    }
                    let zn = model.autoencoder.encode(to_tensor(&xn, b, d, &device));
                    let pull = (z.clone() - zn).powi_scalar(2).sum_dim(1).mean();
                    let centered = z.clone() - z.clone().mean_dim(0);
                    let spread = centered.powi_scalar(2).sum_dim(1).mean() * 2.0;
                    recon = recon + (pull / spread) * p.mu;
                }
                let loss = match (&head, sigma) {
                    (Some(h), Some(s)) if p.lambda > 0.0 => {
                        let out = h.forward(z, s);
                        let obj = h.objectives(&out);
                        let term = match p.head_loss {
                            HeadLoss::F => obj.f,
                            HeadLoss::L => obj.l,
                        } / b as f64;
                        head_sum += term.clone().into_scalar::<f32>() as f64;
                        recon + term * p.lambda
                    }
                    _ => recon,
                };
                let grads = GradientsParams::from_grads(loss.backward(), &model.autoencoder);
                model.autoencoder = optim.step(p.lr, model.autoencoder, grads);
                batches += 1;
            }
            let mut record = EpochRecord {
                epoch,
                phase: if clustering { "cluster" } else { "pretrain" }.into(),
                sigma,
                reconstruction: recon_sum / batches as f64,
                head: sigma.map(|_| head_sum / batches as f64),
                j: None,
                l: None,
                f: None,
                mean_support: None,
                acc: None,
                nmi: None,
                ari: None,
                seconds: 0.0,
            };
            if let (Some(c), Some(s)) = (centers.as_mut(), sigma) {
                let z = embed(
                    &model.autoencoder.valid(),
                    &self.x,
                    n,
                    d,
                    &device.clone().inner(),
                );
                *c = if p.balanced {
                    balanced_center_step(&z, c, n, e, k, s)
                } else {
                    let layer = head_config.init_with(c, &device.clone().inner())?;
                    let zt = to_tensor(&z, n, e, &device.clone().inner());
                    to_vec(layer.soft_lloyd_step(zt, s))
                };
                let obj = kmrbf::rbf::objectives(
                    kmrbf::Isa::detect(),
                    kmrbf::MatView::new(&z, n, e)?,
                    None,
                    c,
                    k,
                    p.map.core(),
                    kmrbf::rbf::Temperature::new(s, kmrbf::rbf::Kernel::Temperature)?,
                )?;
                record.j = Some(obj.j);
                record.l = Some(obj.l);
                record.f = Some(obj.f);
                record.mean_support = Some(obj.mean_support);
                if let Some(t) = self.truth {
                    let sc = Scores::of(t, &nearest(&z, c, n, e, k)?);
                    record.acc = Some(sc.acc);
                    record.nmi = Some(sc.nmi);
                    record.ari = Some(sc.ari);
                }
            }
            record.seconds = started.elapsed().as_secs_f64();
            state.epochs_done = epoch + 1;
            state.centers = centers.clone();
            state.history.push(record.clone());
            if let Some(dir) = &self.checkpoint {
                model.head = match &centers {
                    Some(c) => head_config.init_with(c, &device)?,
                    None => model.head,
                };
                save_checkpoint(dir, &model, &optim, &mut state)?;
            }
            observer(&record);
        }
        // A run with no joint epoch still ends with centers: those of the initialization.
        if centers.is_none() {
            let (c, sched, two) = self.initialize(&model.autoencoder.valid(), &device)?;
            centers = Some(c);
            state.schedule = Some(sched);
            state.two_stage = Some(two);
            state.centers = centers.clone();
        }
        let centers = centers.expect("set above");
        let z = embed(
            &model.autoencoder.valid(),
            &self.x,
            n,
            d,
            &device.clone().inner(),
        );
        let labels = nearest(&z, &centers, n, e, k)?;
        model.head = head_config.init_with(&centers, &device)?;
        Ok(DeepFit {
            labels,
            embedding: z,
            centers,
            state,
            model,
        })
    }

    /// K-Means (k-means++, `n_init` restarts) on the pretrained embedding: the initial centers,
    /// the resolved schedule, and the two-stage baseline's scores.
    #[allow(clippy::type_complexity)]
    fn initialize(
        &self,
        ae: &Autoencoder,
        device: &Device,
    ) -> Result<(Vec<f32>, TemperatureSchedule, Option<Scores>)> {
        let p = &self.params;
        let (n, d, k, e) = (self.n, self.d, p.k, p.embedding);
        let z = embed(ae, &self.x, n, d, &device.clone().inner());
        let km = kmrbf::KMeansParams::new(k)
            .n_init(p.n_init)
            .seed(p.seed)
            .fit(kmrbf::MatView::new(&z, n, e)?, None)?;
        let centers = km.centers().to_vec();
        let schedule = match &p.schedule {
            Some(s) => s.clone(),
            None => {
                let sigma0 = gap_quantile(&z, &centers, n, e, k, p.sigma0_quantile);
                let steps = p.epochs.max(2) - 1;
                TemperatureSchedule::Geometric {
                    sigma0,
                    gamma: 1e-3f64.powf(1.0 / steps as f64),
                    sigma_min: sigma0 * 1e-3,
                }
            }
        };
        let two = self.truth.map(|t| Scores::of(t, km.labels()));
        Ok((centers, schedule, two))
    }
}

fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = path.with_extension("tmp");
    write(&tmp)?;
    std::fs::rename(&tmp, path).map_err(|e| Error::Checkpoint {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Writes the records of `state.epochs_done` under names of their own, then `state.json`
/// naming them (through a temporary and a rename), then removes the previous epoch's records:
/// whenever the run stops, `state.json` names complete records of its own epoch.
fn save_checkpoint(
    dir: &Path,
    model: &DeepModel,
    optim: &Adam,
    state: &mut TrainState,
) -> Result<()> {
    let io = |path: &Path, e: String| Error::Checkpoint {
        path: path.display().to_string(),
        reason: e,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e.to_string()))?;
    let previous = (state.model_file.clone(), state.optimizer_file.clone());
    state.model_file = format!("model-{:06}.bpk", state.epochs_done);
    state.optimizer_file = format!("optimizer-{:06}.adam", state.epochs_done);
    write_atomic(&dir.join(&state.model_file), |tmp| {
        model
            .clone()
            .save_file(tmp)
            .map_err(|e| io(tmp, e.to_string()))
    })?;
    write_atomic(&dir.join(&state.optimizer_file), |tmp| optim.save(tmp))?;
    write_atomic(&dir.join(STATE_FILE), |tmp| {
        let json = serde_json::to_string_pretty(&*state).map_err(|e| io(tmp, e.to_string()))?;
        std::fs::write(tmp, json).map_err(|e| io(tmp, e.to_string()))
    })?;
    for old in [previous.0, previous.1] {
        if !old.is_empty() && old != state.model_file && old != state.optimizer_file {
            let _ = std::fs::remove_file(dir.join(old));
        }
    }
    Ok(())
}

/// Reads a checkpoint written by a run: the model record applied to `model`, Adam's moments,
/// and the state. Any unreadable or inconsistent file is an [`Error::Checkpoint`]
/// naming it.
pub fn load_checkpoint(dir: &Path, model: DeepModel) -> Result<(DeepModel, Adam, TrainState)> {
    let io = |path: &Path, e: String| Error::Checkpoint {
        path: path.display().to_string(),
        reason: e,
    };
    let state_path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| io(&state_path, e.to_string()))?;
    let state: TrainState = serde_json::from_str(&text)
        .map_err(|e| io(&state_path, format!("not a checkpoint state: {e}")))?;
    let named = |f: &str| -> Result<PathBuf> {
        let ok = !f.is_empty() && Path::new(f).file_name().is_some_and(|n| n == f);
        if ok {
            Ok(dir.join(f))
        } else {
            Err(io(
                &state_path,
                format!("names no record file in this folder: {f:?}"),
            ))
        }
    };
    let model_path = named(&state.model_file)?;
    let model = model
        .try_load_file(&model_path)
        .map_err(|e| io(&model_path, e.to_string()))?;
    let optim_path = named(&state.optimizer_file)?;
    let optim = Adam::load(&optim_path)?;
    if !optim.fits(&model.autoencoder) {
        return Err(io(
            &optim_path,
            "optimizer moments of another network (parameter count or sizes differ)".into(),
        ));
    }
    if let Some(c) = &state.centers {
        if c.len() != state.params.k * state.params.embedding || c.iter().any(|v| !v.is_finite()) {
            return Err(io(
                &state_path,
                "centers of the wrong length or not finite".into(),
            ));
        }
    }
    Ok((model, optim, state))
}

/// Sinkhorn iterations of the balanced center step (enough for the masses to settle within
/// 1e-6 of `n / K` on the data measured).
const SINKHORN_ITERS: usize = 200;

/// One center step with balanced responsibilities: `r_ik = exp(-(D_ik - min_j D_ij) / sigma +
/// u_i + v_k)` with rows summing to 1 and columns to `n / K` (alternating updates of `u` and
/// `v` in the log domain, f64), then `c_k = sum_i r_ik z_i / sum_i r_ik`. `z`: `n x e`,
/// `centers`: `k x e`; returns the new `k x e` centers.
fn balanced_center_step(
    z: &[f32],
    centers: &[f32],
    n: usize,
    e: usize,
    k: usize,
    sigma: f64,
) -> Vec<f32> {
    let mut logits = vec![0.0f64; n * k];
    for i in 0..n {
        let row = &mut logits[i * k..(i + 1) * k];
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..e)
                .map(|t| (z[i * e + t] as f64 - centers[j * e + t] as f64).powi(2))
                .sum();
        }
        let least = row.iter().copied().fold(f64::INFINITY, f64::min);
        for v in row.iter_mut() {
            *v = -(*v - least) / sigma;
        }
    }
    fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
        let top = values.clone().fold(f64::NEG_INFINITY, f64::max);
        top + values.map(|v| (v - top).exp()).sum::<f64>().ln()
    }
    let (mut u, mut v) = (vec![0.0f64; n], vec![0.0f64; k]);
    let mass = (n as f64 / k as f64).ln();
    for _ in 0..SINKHORN_ITERS {
        for j in 0..k {
            v[j] = mass - log_sum_exp((0..n).map(|i| logits[i * k + j] + u[i]));
        }
        for i in 0..n {
            u[i] = -log_sum_exp((0..k).map(|j| logits[i * k + j] + v[j]));
        }
    }
    let mut out = centers.to_vec();
    for j in 0..k {
        let mut weight = 0.0;
        let mut sum = vec![0.0f64; e];
        for i in 0..n {
            let r = (logits[i * k + j] + u[i] + v[j]).exp();
            weight += r;
            for t in 0..e {
                sum[t] += r * z[i * e + t] as f64;
            }
        }
        if weight > 0.0 {
            for t in 0..e {
                out[j * e + t] = (sum[t] / weight) as f32;
            }
        }
    }
    out
}
