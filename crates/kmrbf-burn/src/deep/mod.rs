//! Deep clustering: an autoencoder trained jointly with the RBF head.
//!
//! 1. Pretraining: the autoencoder on the reconstruction error alone.
//! 2. Initialization: K-Means (kmrbf's, k-means++ with restarts) on the pretrained embedding;
//!    scored on its own, this is the two-stage baseline (autoencoder + K-Means).
//! 3. Joint epochs at a decreasing temperature: the encoder trains by gradient on
//!    `reconstruction + lambda * F_sigma / batch` (or L), the centers stay fixed during the
//!    epoch and then take one closed-form soft-lloyd step `c_k = sum_i r_ik z_i / N_k` on the
//!    whole embedding (the paper's step `1 / (2 N_k)` on F), so that in the zero-temperature
//!    limit they follow Lloyd exactly while the representation moves.
//! 4. Labels: the nearest final center.

pub mod adam;
pub mod autoencoder;
pub mod params;
pub mod train;

pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use params::{DeepParams, HeadLoss, Scale};
pub use train::{load_checkpoint, DeepFit, DeepModel, EpochRecord, Scores, TrainState, Trainer};
