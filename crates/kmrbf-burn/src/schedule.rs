//! Temperature schedules: which `sigma` each epoch trains at. They serialize (JSON) with a
//! training checkpoint, so a resumed run continues on the same schedule.

use crate::error::{Error, Result};

/// A schedule of `sigma` over epochs `0, 1, 2, ...`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TemperatureSchedule {
    /// `sigma_e = max(sigma0 gamma^e, sigma_min)`.
    Geometric {
        /// The first sigma.
        sigma0: f64,
        /// The factor per epoch, in (0, 1].
        gamma: f64,
        /// The floor.
        sigma_min: f64,
    },
    /// Deep k-Means' schedule on `alpha = 1 / sigma`: `alpha_{n+1} = 2^(1 / ln(n)^2) alpha_n`
    /// for `n >= 2`; epoch 0 trains at `sigma0`, epoch `e` after `e` such steps.
    Dkm {
        /// The first sigma.
        sigma0: f64,
    },
    /// An explicit list; epochs past its end keep the last value.
    List {
        /// The sigmas, each finite and > 0.
        sigmas: Vec<f64>,
    },
}

impl TemperatureSchedule {
    /// Checks every sigma the schedule can produce is finite and > 0 and the parameters are in
    /// their domains.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, v: f64, reason: &str| Error::BadParam {
            name,
            value: v.to_string(),
            reason: reason.into(),
        };
        let pos = |v: f64| v.is_finite() && v > 0.0;
        match self {
            TemperatureSchedule::Geometric {
                sigma0,
                gamma,
                sigma_min,
            } => {
                if !pos(*sigma0) {
                    return Err(bad("temperature", *sigma0, "must be finite and > 0"));
                }
                if !(*gamma > 0.0 && *gamma <= 1.0) {
                    return Err(bad("gamma", *gamma, "must lie in (0, 1]"));
                }
                if !pos(*sigma_min) {
                    return Err(bad("temperature-min", *sigma_min, "must be finite and > 0"));
                }
            }
            TemperatureSchedule::Dkm { sigma0 } => {
                if !pos(*sigma0) {
                    return Err(bad("temperature", *sigma0, "must be finite and > 0"));
                }
            }
            TemperatureSchedule::List { sigmas } => {
                if sigmas.is_empty() {
                    return Err(Error::BadParam {
                        name: "temperatures",
                        value: String::new(),
                        reason: "the list is empty".into(),
                    });
                }
                if let Some(v) = sigmas.iter().find(|v| !pos(**v)) {
                    return Err(bad(
                        "temperatures",
                        *v,
                        "every value must be finite and > 0",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The sigma of epoch `epoch` (0-based).
    pub fn sigma(&self, epoch: usize) -> f64 {
        match self {
            TemperatureSchedule::Geometric {
                sigma0,
                gamma,
                sigma_min,
            } => (sigma0 * gamma.powi(epoch as i32)).max(*sigma_min),
            TemperatureSchedule::Dkm { sigma0 } => {
                let mut alpha = 1.0 / sigma0;
                for n in 2..epoch + 2 {
                    let ln = (n as f64).ln();
                    alpha *= 2f64.powf(1.0 / (ln * ln));
                }
                1.0 / alpha
            }
            TemperatureSchedule::List { sigmas } => sigmas[epoch.min(sigmas.len() - 1)],
        }
    }
}
