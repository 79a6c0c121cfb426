//! Temperature conventions and validated soft-model parameters.

use crate::error::{Error, Result};
use crate::kernels::maps::MapKind;
use crate::real::Real;

/// How `sigma` enters the logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Kernel {
    /// `z = -D / sigma` (the default "temperature" convention).
    #[default]
    Temperature,
    /// `z = -D / (2 sigma^2)` (classical RBF width).
    Bandwidth,
}

impl std::str::FromStr for Kernel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "temperature" => Ok(Self::Temperature),
            "bandwidth" => Ok(Self::Bandwidth),
            other => Err(Error::BadParam {
                name: "kernel",
                value: other.into(),
                reason: "expected temperature or bandwidth",
            }),
        }
    }
}

/// A validated `sigma` with its convention.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Temperature {
    /// The sigma the user gave.
    pub sigma: f64,
    /// The convention.
    pub kernel: Kernel,
}

impl Temperature {
    /// Checks `sigma > 0` and finite.
    pub fn new(sigma: f64, kernel: Kernel) -> Result<Self> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(Error::BadParam {
                name: "sigma",
                value: sigma.to_string(),
                reason: "must be finite and > 0",
            });
        }
        Ok(Self { sigma, kernel })
    }

    /// The divisor of `-D` in the logits: `sigma` or `2 sigma^2` (may under- or overflow to
    /// `0` or `inf` for extreme `sigma`; [`Temperature::working`] checks it).
    pub fn effective(self) -> f64 {
        match self.kernel {
            Kernel::Temperature => self.sigma,
            Kernel::Bandwidth => 2.0 * self.sigma * self.sigma,
        }
    }

    /// The effective temperature in the working precision `T`, checked to lie in
    /// [`temperature_range`]`::<T>()`: every map then gives finite rows on the simplex and
    /// finite objectives for finite distances. Errors name `sigma`, the kernel, the
    /// effective temperature and the range.
    pub fn working<T: Real>(self) -> Result<T> {
        let te = self.effective();
        let (lo, hi) = temperature_range::<T>();
        if !(te >= lo && te <= hi) {
            return Err(Error::BadTemperature {
                sigma: self.sigma,
                kernel: self.kernel.name(),
                effective: te,
                precision: T::NAME,
                min: lo,
                max: hi,
            });
        }
        Ok(T::from_f64(te))
    }
}

impl Kernel {
    /// The name the command line uses (`temperature`, `bandwidth`).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Temperature => "temperature",
            Kernel::Bandwidth => "bandwidth",
        }
    }
}

/// The effective temperatures precision `T` computes with, `[T::MIN_POSITIVE, T::MAX *
/// T::EPSILON]` as f64 (f32: about `[1.2e-38, 4.1e31]`; f64: `[2.2e-308, 4.0e292]`).
///
/// Below, `1 / temp` is subnormal-reciprocal or infinite and `0 * inf` appears in the
/// shifted logits; above, `temp` times an entropy and a total weight leaves the range of
/// the objectives' arithmetic.
pub fn temperature_range<T: Real>() -> (f64, f64) {
    (
        T::MIN_POSITIVE.to_f64(),
        T::MAX.to_f64() * T::EPSILON.to_f64(),
    )
}

/// Parses a map name (`hard`, `softmax`, `entmax15`, `sparsemax`, `entmax`). `alpha` is
/// required by the general `entmax` (checked to lie in (1, 2]) and refused by every other map,
/// so that no value given is silently ignored.
pub fn parse_map(name: &str, alpha: Option<f64>) -> Result<MapKind> {
    let kind = match name {
        "hard" => MapKind::Hard,
        "softmax" => MapKind::Softmax,
        "entmax15" => MapKind::Entmax15,
        "sparsemax" => MapKind::Sparsemax,
        "entmax" => {
            let Some(a) = alpha else {
                return Err(Error::BadParam {
                    name: "alpha",
                    value: "(missing)".into(),
                    reason: "map entmax needs alpha in (1, 2] (entmax15 is alpha = 1.5, sparsemax alpha = 2)",
                });
            };
            if !(a > 1.0 && a <= 2.0) {
                return Err(Error::BadParam {
                    name: "alpha",
                    value: a.to_string(),
                    reason: "must lie in (1, 2]",
                });
            }
            return Ok(MapKind::Entmax { alpha: a });
        }
        other => {
            return Err(Error::BadParam {
                name: "map",
                value: other.into(),
                reason: "expected hard, softmax, entmax15, sparsemax or entmax",
            })
        }
    };
    if let Some(a) = alpha {
        return Err(Error::BadParam {
            name: "alpha",
            value: a.to_string(),
            reason: "applies only to map entmax (entmax15 and sparsemax fix alpha at 1.5 and 2)",
        });
    }
    Ok(kind)
}
