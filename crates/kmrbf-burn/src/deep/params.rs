//! What a deep-clustering run is asked to do, and the checks on it.

use crate::error::{Error, Result};
use crate::map::Map;
use crate::schedule::TemperatureSchedule;

/// Which objective of the RBF head joins the reconstruction loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadLoss {
    /// The free energy F (its gradient is `r`: the encoder pulls each row toward its soft
    /// centroid; the paper's objective).
    F,
    /// The smooth loss L (Deep k-Means' loss; its gradient goes through the Jacobian).
    L,
}

/// How the inputs are scaled before training (the same factor for the whole run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Divide by the largest `|x|` (pixels to `[0, 1]`).
    MaxAbs,
    /// Subtract each column's mean and divide by its standard deviation (constant columns are
    /// only centered).
    Standard,
    /// Use the values as given.
    None,
}

/// Random translations of square images (rows of `side * side` pixels, row-major) fed to the
/// encoder during training: each row is shifted by up to `max_shift` pixels along each axis,
/// zeros shifted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Augment {
    /// The image side.
    pub side: usize,
    /// The largest shift, in pixels.
    pub max_shift: usize,
    /// Reconstruct the unshifted image (`true`) or the shifted one.
    pub clean_target: bool,
}

/// A deep-clustering run: an autoencoder pretrained on reconstruction, K-Means on its
/// embedding for the initial centers, then joint training of the encoder with the RBF head
/// while the centers follow closed-form soft-lloyd steps and the temperature anneals.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeepParams {
    /// Number of clusters.
    pub k: usize,
    /// Hidden widths of the encoder (the decoder mirrors them).
    pub hidden: Vec<usize>,
    /// Embedding width.
    pub embedding: usize,
    /// The head's responsibility map.
    pub map: Map,
    /// The head's objective.
    pub head_loss: HeadLoss,
    /// Weight of the head's objective (per row) against the reconstruction error (per entry).
    pub lambda: f64,
    /// Epochs of reconstruction only.
    pub pretrain_epochs: usize,
    /// Epochs of joint training.
    pub epochs: usize,
    /// Rows per batch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Temperatures of the joint epochs; `None`: geometric from the median gap of the
    /// pretrained embedding at the initial centers down to 1e-3 of it at the last epoch.
    pub schedule: Option<TemperatureSchedule>,
    /// Where the automatic schedule starts: this quantile over rows of the gap between the two
    /// nearest squared distances at the initial centers.
    pub sigma0_quantile: f64,
    /// Restarts of the K-Means that initializes the centers.
    pub n_init: usize,
    /// Input scaling.
    pub scale: Scale,
    /// Masking noise: each input entry fed to the encoder is zeroed with this probability
    /// during training (denoising autoencoder; the target stays clean).
    pub input_dropout: f64,
    /// Neighbors per row for the neighborhood term (`0`: none): each batch row is paired with
    /// one of its `neighbors` nearest rows of the (scaled) input, and
    /// `mu * mean ||z_i - z_j||^2 / (2 mean ||z_i - mean z||^2)` joins the loss: neighbors stay
    /// close in the embedding, relative to its spread (scale-free).
    pub neighbors: usize,
    /// Weight of the neighborhood term.
    pub mu: f64,
    /// After each joint epoch, step the centers with responsibilities balanced by Sinkhorn
    /// iterations to equal cluster masses `n / K` (at that epoch's temperature) instead of the
    /// soft-lloyd step: a prior of equal cluster sizes. As sigma -> 0 the centers then follow a
    /// partition into equal sizes, not Lloyd's fixed point. Labels stay the nearest center.
    #[serde(default)]
    pub balanced: bool,
    /// Augmentation of the encoder's inputs (`None`: the rows as given).
    pub augment: Option<Augment>,
    /// Seed of the initialization, the batch order and the K-Means.
    pub seed: u64,
    /// Threads (`None`: the caller's pool).
    pub threads: Option<usize>,
}

impl DeepParams {
    /// Defaults measured on scikit-learn's digits (see docs/NOTES.md, "Deep clustering").
    pub fn new(k: usize) -> Self {
        Self {
            k,
            hidden: vec![500, 500, 2000],
            embedding: 10,
            map: Map::Entmax15,
            head_loss: HeadLoss::F,
            lambda: 0.01,
            pretrain_epochs: 200,
            epochs: 60,
            batch_size: 256,
            lr: 1e-3,
            schedule: None,
            sigma0_quantile: 0.05,
            n_init: 10,
            scale: Scale::MaxAbs,
            augment: None,
            input_dropout: 0.0,
            neighbors: 0,
            mu: 0.0,
            balanced: false,
            seed: 0,
            threads: None,
        }
    }

    /// Checks every parameter against `n` rows of `d` columns.
    pub fn validate(&self, n: usize, d: usize) -> Result<()> {
        let bad = |name: &'static str, value: String, reason: &str| Error::BadParam {
            name,
            value,
            reason: reason.into(),
        };
        if self.k == 0 || self.k > n {
            return Err(bad(
                "k",
                self.k.to_string(),
                &format!("must lie in [1, n] with n = {n} rows"),
            ));
        }
        if d == 0 {
            return Err(bad("data", "0 columns".into(), "need at least one column"));
        }
        if self.embedding == 0 || self.hidden.contains(&0) {
            return Err(bad(
                "hidden / embedding",
                format!("{:?} / {}", self.hidden, self.embedding),
                "every width must be >= 1",
            ));
        }
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(bad(
                "lambda",
                self.lambda.to_string(),
                "must be finite and >= 0",
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(bad("lr", self.lr.to_string(), "must be finite and > 0"));
        }
        if !(0.0..1.0).contains(&self.input_dropout) {
            return Err(bad(
                "input-dropout",
                self.input_dropout.to_string(),
                "must lie in [0, 1)",
            ));
        }
        if self.batch_size == 0 {
            return Err(bad("batch-size", "0".into(), "must be >= 1"));
        }
        if self.n_init == 0 {
            return Err(bad("n-init", "0".into(), "must be >= 1"));
        }
        if self.threads == Some(0) {
            return Err(bad("threads", "0".into(), "must be >= 1"));
        }
        if let Some(a) = &self.augment {
            if a.side * a.side != d {
                return Err(bad(
                    "augment",
                    format!("side {}", a.side),
                    &format!("images of side * side pixels need d = side^2; d = {d}"),
                ));
            }
        }
        if let Some(s) = &self.schedule {
            s.validate()?;
        }
        Ok(())
    }

    /// The encoder's widths `[d, hidden..., embedding]`.
    pub fn widths(&self, d: usize) -> Vec<usize> {
        let mut w = vec![d];
        w.extend(&self.hidden);
        w.push(self.embedding);
        w
    }
}
