//! Center updates at a fixed temperature: soft-lloyd (closed form), gradient descent, Adam.

use super::objective::{GradientKind, Objectives};
use super::pass::{soft_pass_biased, PassOutput, PassRequest, RowOut};
use crate::data::Prepared;
use crate::error::{Error, Result};
use crate::kernels::layout::tiles::Blocking;
use crate::kernels::maps::MapKind;
use crate::kernels::update::ClusterSums;
use crate::kmeans::lloyd::assign_pass;
use crate::real::Real;

/// How centers move at a fixed temperature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepKind {
    /// `c_k <- sum_i w_i r_ik x_i / N_k`: gradient descent on F with `eta_k = 1 / (2 N_k)`;
    /// Lloyd's update when the map is hard. A center with no mass stays.
    SoftLloyd,
    /// `c_k <- c_k - lr / (2 N_k) g_k` (`newton`) or `c_k - lr g_k`.
    Gd {
        /// Learning rate.
        lr: f64,
        /// Scale by `1 / (2 N_k)` (lr = 1 with stopgrad is soft-lloyd).
        newton: bool,
        /// Gradient of F (stopgrad) or L (full).
        gradient: GradientKind,
    },
    /// Adam on F (stopgrad) or L (full).
    Adam {
        /// Learning rate (in data units per step).
        lr: f64,
        /// Gradient of F (stopgrad) or L (full).
        gradient: GradientKind,
    },
}

impl StepKind {
    /// Parses `soft-lloyd`, `gd`, `adam` with the learning rate and gradient.
    pub fn parse(name: &str, lr: f64, gradient: GradientKind) -> Result<Self> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::BadParam {
                name: "lr",
                value: lr.to_string(),
                reason: "must be finite and > 0",
            });
        }
        match name {
            "soft-lloyd" => Ok(Self::SoftLloyd),
            "gd" => Ok(Self::Gd {
                lr,
                newton: true,
                gradient,
            }),
            "gd-plain" => Ok(Self::Gd {
                lr,
                newton: false,
                gradient,
            }),
            "adam" => Ok(Self::Adam { lr, gradient }),
            other => Err(Error::BadParam {
                name: "step",
                value: other.into(),
                reason: "expected soft-lloyd, gd, gd-plain or adam",
            }),
        }
    }
}

/// A stepper with its optimizer state.
#[derive(Clone, Debug)]
pub struct Stepper {
    kind: StepKind,
    /// Let the fused kernels serve the passes ([`PassRequest::fused`]).
    fused: bool,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

/// What one step saw and did.
#[derive(Clone, Debug)]
pub struct StepInfo {
    /// The objectives at the centers before the step.
    pub before: Objectives,
    /// `max_k ||c_k(new) - c_k(old)||^2`.
    pub max_move_sq: f64,
    /// `N_k = sum_i w_i r_ik` at the centers before the step (`k` values).
    pub mass: Vec<f64>,
}

impl Stepper {
    /// A fresh stepper.
    pub fn new(kind: StepKind) -> Self {
        Self {
            kind,
            fused: true,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        }
    }

    /// The same stepper with the fused kernels allowed (`true`, the default) or not (the tile
    /// pipeline: for comparisons; both agree to rounding).
    pub fn with_fused(mut self, fused: bool) -> Self {
        self.fused = fused;
        self
    }

    /// Clears the optimizer state (Adam moments), e.g. at a new temperature.
    pub fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.t = 0;
    }

    /// One step of `centers` (`k x d`) on `p` with `map` at effective temperature `temperature`.
    pub fn step<T: Real>(
        &mut self,
        p: &Prepared<'_, T>,
        centers: &mut [T],
        k: usize,
        map: MapKind,
        temperature: f64,
    ) -> StepInfo {
        self.step_biased(p, centers, k, map, temperature, None)
    }

    /// The pass a step of this stepper needs at effective temperature `temperature`: the
    /// responsibility sums, and the loss sums for the full gradient.
    pub fn request<T: Real>(&self, map: MapKind, temperature: f64) -> PassRequest<T> {
        let gradient = match self.kind {
            StepKind::SoftLloyd => GradientKind::Stopgrad,
            StepKind::Gd { gradient, .. } | StepKind::Adam { gradient, .. } => gradient,
        };
        PassRequest {
            map,
            temperature: T::from_f64(temperature),
            resp_sums: true,
            loss_sums: gradient == GradientKind::Full,
            fused: self.fused,
        }
    }

    /// True when the step after the pass `o` is Lloyd's own step (soft-lloyd at the one-hot
    /// limit: every row one-hot, or `at_limit`, the temperature below the rounding resolution
    /// of the distances, [`at_one_hot_limit`]); the caller then gives [`Self::update`]
    /// Lloyd's sums of the same centers, so the nearest center at near-ties and the rounding
    /// of the sums are Lloyd's, bit for bit, on every instruction-set tier.
    pub fn wants_lloyd(&self, o: &PassOutput, at_limit: impl FnOnce() -> bool) -> bool {
        self.kind == StepKind::SoftLloyd && o.rows > 0 && (o.onehot == o.rows || at_limit())
    }

    /// [`Self::step`] with `bias_k` added to the squared distances to center `k` (see
    /// [`super::pass::soft_pass_biased`]).
    pub fn step_biased<T: Real>(
        &mut self,
        p: &Prepared<'_, T>,
        centers: &mut [T],
        k: usize,
        map: MapKind,
        temperature: f64,
        bias: Option<&[T]>,
    ) -> StepInfo {
        let req = self.request::<T>(map, temperature);
        let o = soft_pass_biased(p, centers, k, bias, req, RowOut::None);
        let lloyd = (bias.is_none()
            && self.wants_lloyd(&o, || at_one_hot_limit(p, centers, k, map, temperature)))
        .then(|| {
            let mut labels = vec![0u32; p.n()];
            assign_pass(p, centers, k, &mut labels, true, Blocking::of::<T>(k)).expect("accumulate")
        });
        self.update(centers, k, map, temperature, &o, lloyd.as_ref())
    }

    /// Moves `centers` (`k x d`) by one step from the totals `o` of the pass
    /// [`Self::request`] asked for at these centers (over all rows: one pass, or blocks
    /// merged in order by [`super::pass::soft_pass_into`]); `lloyd`: Lloyd's sums of the same
    /// centers where [`Self::wants_lloyd`] said so.
    pub fn update<T: Real>(
        &mut self,
        centers: &mut [T],
        k: usize,
        map: MapKind,
        temperature: f64,
        o: &PassOutput,
        lloyd: Option<&ClusterSums>,
    ) -> StepInfo {
        let d = centers.len().checked_div(k).unwrap_or(0);
        let before = Objectives::from_pass(o, map, temperature, k);
        let rs = o.resp_sums.as_ref().expect("requested");
        let (sums, mass) = match lloyd {
            Some(h) => (&h.sums[..], &h.weight[..]),
            None => (&rs.sums[..], &rs.weight[..]),
        };
        let gs = o.loss_sums.as_ref().unwrap_or(rs);
        let grad = |c: usize, t: usize| {
            -2.0 * (gs.sums[c * d + t] - gs.weight[c] * centers[c * d + t].to_f64())
        };
        let mut new = vec![0.0f64; k * d];
        match self.kind {
            StepKind::SoftLloyd => {
                for c in 0..k {
                    for t in 0..d {
                        new[c * d + t] = if mass[c] > 0.0 {
                            sums[c * d + t] / mass[c]
                        } else {
                            centers[c * d + t].to_f64()
                        };
                    }
                }
            }
            StepKind::Gd { lr, newton, .. } => {
                for c in 0..k {
                    let scale = if newton {
                        if rs.weight[c] > 0.0 {
                            lr / (2.0 * rs.weight[c])
                        } else {
                            0.0
                        }
                    } else {
                        lr
                    };
                    for t in 0..d {
                        new[c * d + t] = centers[c * d + t].to_f64() - scale * grad(c, t);
                    }
                }
            }
            StepKind::Adam { lr, .. } => {
                let (b1, b2, eps): (f64, f64, f64) = (0.9, 0.999, 1e-8);
                if self.m.len() != k * d {
                    self.m = vec![0.0; k * d];
                    self.v = vec![0.0; k * d];
                    self.t = 0;
                }
                self.t += 1;
                let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
                for c in 0..k {
                    for t in 0..d {
                        let i = c * d + t;
                        let g = grad(c, t);
                        self.m[i] = b1 * self.m[i] + (1.0 - b1) * g;
                        self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g;
                        let step = lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + eps);
                        new[i] = centers[i].to_f64() - step;
                    }
                }
            }
        }
        let mut max_move_sq: f64 = 0.0;
        for c in 0..k {
            let mut m = 0.0;
            for t in 0..d {
                let nv = T::from_f64(new[c * d + t]);
                let diff = (nv - centers[c * d + t]).to_f64();
                m += diff * diff;
                centers[c * d + t] = nv;
            }
            max_move_sq = max_move_sq.max(m);
        }
        StepInfo {
            before,
            max_move_sq,
            mass: mass.to_vec(),
        }
    }
}

/// The ratio `gap / temperature` at and above which `map` gives a row whose two nearest squared
/// distances differ by `gap` exactly one-hot in precision `T` (softmax: where the exponential
/// of the runner-up underflows to 0).
pub fn one_hot_ratio<T: Real>(map: MapKind) -> f64 {
    match map {
        MapKind::Hard => 0.0,
        MapKind::Entmax15 => 2.0,
        MapKind::Sparsemax => 1.0,
        MapKind::Entmax { alpha } => 1.0 / (alpha - 1.0),
        // -ln of the smallest positive subnormal: 103.3 (f32), 744.4 (f64).
        MapKind::Softmax => -(T::MIN_POSITIVE.to_f64() * T::EPSILON.to_f64()).ln(),
    }
}

/// A bound on the rounding error of a squared distance `|x|^2 + |c|^2 - 2 x.c` computed in
/// `T` over the rows of `p` and `centers` (`k x d`): `4 (d + 2) eps (max |x|^2 + max |c|^2)`.
/// Two distances closer than this cannot be told apart by any of the kernels.
pub fn distance_resolution<T: Real>(p: &Prepared<'_, T>, centers: &[T], k: usize) -> f64 {
    let xmax = p.xn.iter().fold(0.0f64, |m, &v| m.max(v.to_f64()));
    resolution_of::<T>(xmax, centers, k, p.d)
}

/// [`distance_resolution`] from `xmax`, the largest squared norm of a row (for rows seen in
/// blocks: the largest over every block).
pub fn resolution_of<T: Real>(xmax: f64, centers: &[T], k: usize, d: usize) -> f64 {
    let cmax = (0..k).fold(0.0f64, |m, j| {
        let c = &centers[j * d..(j + 1) * d];
        m.max(c.iter().map(|&v| v.to_f64() * v.to_f64()).sum())
    });
    4.0 * (d + 2) as f64 * T::EPSILON.to_f64() * (xmax + cmax)
}

/// True when `map` at effective temperature `temperature` can only split a row whose two nearest
/// distances are within [`distance_resolution`]: the soft map is at its one-hot limit in `T`.
pub fn at_one_hot_limit<T: Real>(
    p: &Prepared<'_, T>,
    centers: &[T],
    k: usize,
    map: MapKind,
    temperature: f64,
) -> bool {
    temperature * one_hot_ratio::<T>(map) <= distance_resolution(p, centers, k)
}
