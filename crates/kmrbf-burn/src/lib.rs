//! kmrbf's RBF clustering layer as a [burn](https://burn.dev) module, and deep clustering with it.
//!
//! [`RbfLayer`] holds `K` centers (a `Param`); [`RbfLayer::forward`] maps inputs `z` (`[n, d]`)
//! to responsibilities `r = map(-||z - c||^2 / T)` (softmax, entmax15 or sparsemax) and the
//! squared distances; [`RbfLayer::objectives`] gives the K-Means distortion J, the smooth loss L
//! and the free energy F of DESIGN.md. The maps are one backend operation
//! ([`map::RbfMapBackend`]) whose forward is written in backend operations (any backend runs
//! it) and whose backward is the exact Jacobian, written by hand; [`mod@reference`] is the same map
//! in plain tensor operations, differentiated by autodiff, for checking.
//!
//! [`deep`] trains an autoencoder jointly with the layer (deep clustering), with the centers
//! following closed-form soft-lloyd steps so that they are K-Means' in the zero-temperature
//! limit; the command line's `kmrbf deep` runs it.
//!
//! ```
//! use burn::tensor::{Device, Tensor, TensorData};
//! use kmrbf_burn::{Map, RbfLayerConfig};
//!
//! let device = Device::flex();
//! let layer = RbfLayerConfig::new(2, 2)
//!     .with_map(Map::Entmax15)
//!     .init_with(&[0.0, 0.0, 4.0, 4.0], &device)
//!     .unwrap();
//! let z = Tensor::<2>::from_data(TensorData::new(vec![0.1f32, 0.0, 3.9, 4.2], [2, 2]), &device);
//! let out = layer.forward(z, 1.0);
//! let r = out.responsibilities.into_data().try_to_vec::<f32>().unwrap();
//! assert_eq!(r, vec![1.0, 0.0, 0.0, 1.0]); // gaps far above 2 T: one-hot rows
//! ```
#![deny(missing_docs)]

pub mod deep;
pub mod error;
pub mod layer;
pub mod map;
pub mod reference;
pub mod schedule;

pub use error::{Error, Result};
pub use layer::{Kernel, RbfLayer, RbfLayerConfig, RbfObjectives, RbfOutput};
pub use map::Map;
pub use schedule::TemperatureSchedule;
