//! The RBF clustering layer: `K` centers, each an RBF unit, normalized into responsibilities.

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::map::{rbf_map, Map};

/// How `sigma` enters the scores (DESIGN.md section 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    /// `z = -D / sigma`.
    #[default]
    Temperature,
    /// `z = -D / (2 sigma^2)` (classical RBF width).
    Bandwidth,
}

impl Kernel {
    /// The effective temperature `T` for `sigma`.
    pub fn effective(self, sigma: f64) -> f64 {
        match self {
            Kernel::Temperature => sigma,
            Kernel::Bandwidth => 2.0 * sigma * sigma,
        }
    }
}

/// The admissible effective temperatures in f32: `[MIN_POSITIVE, MAX * EPSILON]`, as in the core.
pub const TEMPERATURE_RANGE_F32: (f64, f64) = (
    f32::MIN_POSITIVE as f64,
    f32::MAX as f64 * f32::EPSILON as f64,
);

/// Checks `sigma` (finite, > 0) and that its effective temperature lies in
/// [`TEMPERATURE_RANGE_F32`]; returns `T`.
pub fn checked_temperature(sigma: f64, kernel: Kernel) -> Result<f64> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(Error::BadParam {
            name: "temperature",
            value: sigma.to_string(),
            reason: "must be finite and > 0".into(),
        });
    }
    let t = kernel.effective(sigma);
    let (lo, hi) = TEMPERATURE_RANGE_F32;
    if !(t >= lo && t <= hi) {
        return Err(Error::BadParam {
            name: "temperature",
            value: sigma.to_string(),
            reason: format!("the effective temperature {t:e} lies outside [{lo:e}, {hi:e}]"),
        });
    }
    Ok(t)
}

/// The layer's shape and maps.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RbfLayerConfig {
    /// `K`, the number of centers.
    pub n_clusters: usize,
    /// `d`, the dimension of the inputs.
    pub dim: usize,
    /// The responsibility map.
    pub map: Map,
    /// How `sigma` becomes the temperature.
    pub kernel: Kernel,
}

impl RbfLayerConfig {
    /// `K` centers in dimension `dim`, entmax15, the temperature convention.
    pub fn new(n_clusters: usize, dim: usize) -> Self {
        Self {
            n_clusters,
            dim,
            map: Map::Entmax15,
            kernel: Kernel::Temperature,
        }
    }

    /// The same with another map.
    pub fn with_map(mut self, map: Map) -> Self {
        self.map = map;
        self
    }

    /// The same with another kernel convention.
    pub fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// A layer whose centers are drawn from the standard normal (seed it with
    /// `device.seed(..)`); replace them with [`RbfLayer::with_centers`] after a K-Means.
    pub fn init(&self, device: &Device) -> RbfLayer {
        let centers = Tensor::random(
            [self.n_clusters, self.dim],
            Distribution::Normal(0.0, 1.0),
            device,
        );
        RbfLayer {
            centers: Param::from_tensor(centers),
            map: self.map,
            kernel: self.kernel,
        }
    }

    /// A layer with the given centers (`n_clusters * dim` values, row-major).
    pub fn init_with(&self, centers: &[f32], device: &Device) -> Result<RbfLayer> {
        if self.n_clusters == 0 || centers.len() != self.n_clusters * self.dim {
            return Err(Error::BadParam {
                name: "centers",
                value: centers.len().to_string(),
                reason: format!(
                    "expected n_clusters * dim = {} * {} values",
                    self.n_clusters, self.dim
                ),
            });
        }
        if centers.iter().any(|v| !v.is_finite()) {
            return Err(Error::BadParam {
                name: "centers",
                value: "non-finite".into(),
                reason: "every center coordinate must be finite".into(),
            });
        }
        let t = Tensor::from_data(
            TensorData::new(centers.to_vec(), [self.n_clusters, self.dim]),
            device,
        );
        Ok(RbfLayer {
            centers: Param::from_tensor(t),
            map: self.map,
            kernel: self.kernel,
        })
    }
}

/// `K` RBF units over `d`-dimensional inputs; the centers are the module's only parameter.
#[derive(Module, Debug)]
pub struct RbfLayer {
    /// `[K, d]`.
    pub centers: Param<Tensor<2>>,
    #[module(skip)]
    map: Map,
    #[module(skip)]
    kernel: Kernel,
}

/// What a forward pass returns.
#[derive(Clone, Debug)]
pub struct RbfOutput {
    /// `r = map(-D / T)`, `[n, K]`, rows on the simplex.
    pub responsibilities: Tensor<2>,
    /// `D_ik = ||z_i - c_k||^2`, `[n, K]`.
    pub sq_distances: Tensor<2>,
    /// The effective temperature `T` used.
    pub temperature: f64,
}

/// The objectives of DESIGN.md section 1 over a batch (sums over rows, scalars as `[1]`).
#[derive(Clone, Debug)]
pub struct RbfObjectives {
    /// K-Means distortion `J = sum_i min_k D_ik`.
    pub j: Tensor<1>,
    /// Smooth loss `L = sum_i sum_k r_ik D_ik`; its gradient goes through the responsibilities'
    /// Jacobian.
    pub l: Tensor<1>,
    /// Free energy `F = sum_i min_p [<p, D_i> - T H(p)]`; its gradient is `r` (Danskin).
    pub f: Tensor<1>,
}

impl RbfLayer {
    /// The map.
    pub fn map(&self) -> Map {
        self.map
    }

    /// The kernel convention.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// `K`.
    pub fn n_clusters(&self) -> usize {
        self.centers.val().dims()[0]
    }

    /// The same layer with other centers (`[K, d]`).
    pub fn with_centers(mut self, centers: Tensor<2>) -> Self {
        self.centers = Param::from_tensor(centers);
        self
    }

    /// The same layer with centers that take no gradient (a head whose centers move by
    /// closed-form steps instead of an optimizer).
    pub fn no_grad(mut self) -> Self {
        self.centers = self.centers.set_require_grad(false);
        self
    }

    /// The centers as row-major f32 values, `K * d`.
    pub fn centers_vec(&self) -> Vec<f32> {
        self.centers
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 centers")
    }

    /// `D_ik = ||z_i - c_k||^2` (expanded as `|z|^2 - 2 z.c + |c|^2`, clamped at 0).
    ///
    /// # Shapes
    /// `z`: `[n, d]` -> `[n, K]`.
    pub fn sq_distances(&self, z: Tensor<2>) -> Tensor<2> {
        let c = self.centers.val();
        let zn = z.clone().powi_scalar(2).sum_dim(1); // [n, 1]
        let cn = c.clone().powi_scalar(2).sum_dim(1).transpose(); // [1, K]
        let cross = z.matmul(c.transpose()); // [n, K]
        (zn - cross * 2.0 + cn).clamp_min(0.0)
    }

    /// Responsibilities and squared distances at `sigma` (temperature `T = sigma`, or
    /// `2 sigma^2` with [`Kernel::Bandwidth`]). Panics if `sigma` is not admissible (see
    /// [`checked_temperature`]; check it there first to get an error instead).
    ///
    /// # Shapes
    /// `z`: `[n, d]` -> `responsibilities`, `sq_distances`: `[n, K]`.
    pub fn forward(&self, z: Tensor<2>, sigma: f64) -> RbfOutput {
        let t = checked_temperature(sigma, self.kernel).unwrap_or_else(|e| panic!("{e}"));
        let d2 = self.sq_distances(z);
        RbfOutput {
            responsibilities: responsibilities_from(d2.clone(), t, self.map),
            sq_distances: d2,
            temperature: t,
        }
    }

    /// J, L and F of a forward pass's output (sums over the rows).
    ///
    /// # Shapes
    /// `out`: `[n, K]` tensors -> three `[1]` tensors.
    pub fn objectives(&self, out: &RbfOutput) -> RbfObjectives {
        objectives_from(out, self.map)
    }

    /// One closed-form soft-lloyd step on `z` (`[n, d]`, all rows): `c_k = sum_i r_ik z_i / N_k`
    /// with `N_k = sum_i r_ik`, the gradient step `1 / (2 N_k)` on F; a center with `N_k = 0`
    /// stays. No gradient flows through it.
    ///
    /// # Shapes
    /// `z`: `[n, d]` -> the new centers `[K, d]`.
    pub fn soft_lloyd_step(&self, z: Tensor<2>, sigma: f64) -> Tensor<2> {
        let z = z.detach();
        let r = self.forward(z.clone(), sigma).responsibilities.detach(); // [n, K]
        let mass = r.clone().sum_dim(0).transpose(); // [K, 1]
        let sums = r.transpose().matmul(z); // [K, d]
        let old = self.centers.val().detach();
        let empty = mass.clone().equal_elem(0.0);
        let safe = mass.mask_fill(empty.clone(), 1.0);
        let moved = sums / safe;
        let k = old.dims()[1];
        moved.mask_where(empty.repeat_dim(1, k), old)
    }
}

/// `r = map(-(D - min D) / T)`: `d2` `[n, K]` -> `[n, K]`. The shift is detached (every map is
/// shift-invariant, so the gradient is exact without it).
pub fn responsibilities_from(d2: Tensor<2>, temperature: f64, map: Map) -> Tensor<2> {
    let m = d2.clone().detach().min_dim(1);
    let u = (d2 - m) / temperature;
    rbf_map(-u, map)
}

/// The sum of every entry of `[n, m]`, as `[1]`: by rows, then down the column. A backend's
/// whole-tensor sum may split a large tensor over threads in an order that depends on their
/// number (burn-flex does from 4M entries); these two reductions keep one order.
fn total(t: Tensor<2>) -> Tensor<1> {
    t.sum_dim(1).sum_dim(0).reshape([1])
}

/// J, L, F of an output (the map is the one that produced it).
pub fn objectives_from(out: &RbfOutput, map: Map) -> RbfObjectives {
    let d2 = out.sq_distances.clone();
    let r = out.responsibilities.clone();
    let t = out.temperature;
    let j = total(d2.clone().min_dim(1));
    let l = total(r.clone() * d2.clone());
    let m = d2.clone().detach().min_dim(1); // [n, 1]
    let f = match map {
        Map::Softmax => {
            let u = (d2 - m.clone()) / t;
            let lse = (-u).exp().sum_dim(1).log();
            total(m - lse * t)
        }
        Map::Entmax15 | Map::Sparsemax => {
            let p = r.detach();
            let h = match map {
                Map::Entmax15 => {
                    (p.clone().sqrt() * p.clone())
                        .sum_dim(1)
                        .neg()
                        .add_scalar(1.0)
                        * (4.0 / 3.0)
                }
                _ => (p.clone() * p.clone()).sum_dim(1).neg().add_scalar(1.0) * 0.5,
            };
            total((p * d2).sum_dim(1) - h * t)
        }
    };
    RbfObjectives { j, l, f }
}
