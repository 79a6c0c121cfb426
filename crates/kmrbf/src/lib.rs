//! kmrbf: exact, fast K-Means and its differentiable RBF-network form.
//!
//! ```
//! use kmrbf::{KMeansParams, MatView, Init};
//! // Two obvious groups in 1-D.
//! let x = [0.0f64, 0.1, 0.2, 10.0, 10.1, 10.2];
//! let view = MatView::new(&x, 6, 1).unwrap();
//! let model = KMeansParams::new(2).init(Init::Centers(vec![0.0, 5.0])).fit(view, None).unwrap();
//! assert_eq!(model.labels(), &[0, 0, 0, 1, 1, 1]);
//! assert!((model.centers()[1] - 10.1).abs() < 1e-12);
//! ```
//!
//! The RBF model: anneal the temperature from the same start down to the K-Means limit, then
//! compute on new data at the last temperature.
//!
//! ```
//! use kmrbf::rbf::{anneal::AnnealParams, MapKind};
//! use kmrbf::MatView;
//! let x = [0.0f64, 0.1, 0.2, 10.0, 10.1, 10.2];
//! let view = MatView::new(&x, 6, 1).unwrap();
//! let rbf = AnnealParams::new(MapKind::Entmax15)
//!     .fit(view, None, &[0.0, 5.0], 2, &mut |_| {})
//!     .unwrap();
//! // The annealed centers are K-Means' fixed point, and the rows are one-hot at the end.
//! assert!((rbf.centers()[1] - 10.1).abs() < 1e-9);
//! assert_eq!(rbf.responsibilities(view).unwrap()[..2], [1.0, 0.0]);
//! assert_eq!(rbf.predict(view).unwrap(), [0, 0, 0, 1, 1, 1]);
//! ```
//!
//! Layers: `kernels` (public with the `unstable-kernels` feature) are pure numerics over slices, one folder per operation (naive twins
//! in [`mod@reference`]); [`kmeans`] and [`rbf`] are the model API with validated params and
//! typed [`Error`]s. Every kernel runs on an explicit instruction-set tier, an [`Isa`]: the
//! params carry one (default [`Isa::detect`], the widest this CPU runs; every tier fits the
//! same K-Means model), and the library reads no environment variable.
//! Every number is defined in `docs/DESIGN.md`; same inputs and seed give the same bits for any
//! thread count. `examples/quickstart.rs` fits and predicts K-Means, runs mini-batch K-Means
//! and anneals the RBF model onto the K-Means fixed point
//! (`cargo run --release -p kmrbf --example quickstart`).

#![deny(unsafe_op_in_unsafe_fn)]

pub mod center;
pub mod data;
pub mod error;
pub mod init;
#[cfg(feature = "unstable-kernels")]
pub mod kernels;
#[cfg(not(feature = "unstable-kernels"))]
pub(crate) mod kernels;
pub mod kmeans;
pub mod memory;
pub mod metrics;
pub mod par;
pub mod rbf;
pub mod real;
pub mod reference;
pub mod rng;
pub mod synth;

pub use center::Shift;
pub use data::MatView;
pub use error::{Error, Result};
pub use kernels::isa::{Isa, Tier};
pub use kmeans::{Algorithm, Init, IterInfo, KMeans, KMeansParams, RunResult};
pub use real::Real;
