//! Temperature conventions and validated soft-model parameters.

use crate::error::{Error, Result};
use crate::kernels::maps::MapKind;

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

    /// The divisor of `-D` in the logits: `sigma` or `2 sigma^2`.
    pub fn effective(self) -> f64 {
        match self.kernel {
            Kernel::Temperature => self.sigma,
            Kernel::Bandwidth => 2.0 * self.sigma * self.sigma,
        }
    }
}

/// Parses a map name (`hard`, `softmax`, `entmax15`, `sparsemax`, `entmax`), with `alpha` for
/// the general `entmax` (checked to lie in (1, 2]).
pub fn parse_map(name: &str, alpha: Option<f64>) -> Result<MapKind> {
    let check_alpha = |a: f64| {
        if a > 1.0 && a <= 2.0 {
            Ok(a)
        } else {
            Err(Error::BadParam {
                name: "alpha",
                value: a.to_string(),
                reason: "must lie in (1, 2]",
            })
        }
    };
    match name {
        "hard" => Ok(MapKind::Hard),
        "softmax" => Ok(MapKind::Softmax),
        "entmax15" => Ok(MapKind::Entmax15),
        "sparsemax" => Ok(MapKind::Sparsemax),
        "entmax" => {
            let a = check_alpha(alpha.unwrap_or(1.5))?;
            Ok(MapKind::Entmax { alpha: a })
        }
        other => Err(Error::BadParam {
            name: "map",
            value: other.into(),
            reason: "expected hard, softmax, entmax15, sparsemax or entmax",
        }),
    }
}
