//! J, L, F and their gradients on validated inputs (DESIGN.md section 1).

use super::params::Temperature;
use super::pass::{soft_pass, PassOutput, PassRequest, RowOut};
use crate::data::Prepared;
use crate::data::{check_finite, check_weights, MatView};
use crate::error::{Error, Result};
use crate::kernels::isa::Isa;
use crate::kernels::layout::distance::row_sq_norms;
use crate::kernels::maps::MapKind;
use crate::real::Real;

/// Which gradient of the centers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradientKind {
    /// `g_k = -2 sum_i w_i r_ik (x_i - c_k)`: the exact gradient of F for every map (Danskin),
    /// the EM / envelope gradient.
    Stopgrad,
    /// The exact gradient of L, through the responsibilities' Jacobian.
    Full,
}

impl std::str::FromStr for GradientKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "stopgrad" => Ok(Self::Stopgrad),
            "full" => Ok(Self::Full),
            other => Err(Error::BadParam {
                name: "gradient",
                value: other.into(),
                reason: "expected stopgrad or full",
            }),
        }
    }
}

/// The objectives of one configuration, with what the bounds of DESIGN.md need.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objectives {
    /// K-Means distortion `J`.
    pub j: f64,
    /// Smooth RBF loss `L`.
    pub l: f64,
    /// Regularized free energy `F`.
    pub f: f64,
    /// Total weight `W`.
    pub weight: f64,
    /// `temperature * W * Hmax`: the width of the bounds `0 <= L - J <= b`, `-b <= F - J <= 0`.
    pub bound: f64,
    /// Mean number of nonzero responsibilities per row.
    pub mean_support: f64,
    /// Fraction of rows whose responsibilities are one-hot.
    pub onehot_fraction: f64,
}

impl Objectives {
    /// From a pass at effective temperature `temperature` with `k` centers.
    pub fn from_pass(o: &PassOutput, map: MapKind, temperature: f64, k: usize) -> Self {
        Self {
            j: o.j,
            l: o.l,
            f: o.f,
            weight: o.weight,
            bound: temperature * o.weight * map.entropy_max(k),
            mean_support: o.support / o.rows.max(1) as f64,
            onehot_fraction: o.onehot as f64 / o.rows.max(1) as f64,
        }
    }
}

/// Checks data, weights and centers; returns the squared row norms.
pub(crate) fn validate<T: Real>(
    x: MatView<'_, T>,
    w: Option<&[T]>,
    centers: &[T],
    k: usize,
) -> Result<Vec<T>> {
    x.validate("data")?;
    if let Some(w) = w {
        check_weights(w, x.n())?;
    }
    if k == 0 {
        return Err(Error::BadK {
            k,
            reason: "need at least one center".into(),
        });
    }
    if centers.len() != k * x.d() {
        return Err(Error::InitShape {
            expected_k: k,
            expected_d: x.d(),
            got_k: centers.len() / x.d().max(1),
            got_d: x.d(),
        });
    }
    check_finite("centers", centers, x.d())?;
    let mut xn = vec![T::ZERO; x.n()];
    row_sq_norms(x.data(), x.d(), &mut xn);
    Ok(xn)
}

/// One evaluation of the RBF model on checked inputs: the data with its row norms, the centers,
/// the map and the temperature. Each public function below is one pass of it.
struct Evaluation<'a, T: Real> {
    isa: Isa,
    x: MatView<'a, T>,
    xn: Vec<T>,
    sample_weight: Option<&'a [T]>,
    centers: &'a [T],
    k: usize,
    map: MapKind,
    temperature: Temperature,
}

impl<'a, T: Real> Evaluation<'a, T> {
    /// Checks the inputs (see [`validate`]) and computes the row norms.
    #[allow(clippy::too_many_arguments)]
    fn new(
        isa: Isa,
        x: MatView<'a, T>,
        sample_weight: Option<&'a [T]>,
        centers: &'a [T],
        k: usize,
        map: MapKind,
        temperature: Temperature,
    ) -> Result<Self> {
        let xn = validate(x, sample_weight, centers, k)?;
        temperature.working::<T>()?;
        Ok(Self {
            isa,
            x,
            xn,
            sample_weight,
            centers,
            k,
            map,
            temperature,
        })
    }

    /// One soft pass with the requested sums, writing `out` per row.
    fn pass(&self, resp_sums: bool, loss_sums: bool, out: RowOut<'_, T>) -> PassOutput {
        let p = Prepared {
            x: self.x.data(),
            d: self.x.d(),
            xn: &self.xn,
            w: self.sample_weight,
            isa: self.isa,
        };
        let req = PassRequest {
            map: self.map,
            temperature: self
                .temperature
                .working::<T>()
                .expect("checked in Evaluation::new"),
            resp_sums,
            loss_sums,
            fused: true,
        };
        soft_pass(&p, self.centers, self.k, req, out)
    }

    /// The objectives of a pass of this evaluation.
    fn objectives(&self, o: &PassOutput) -> Objectives {
        Objectives::from_pass(o, self.map, self.temperature.effective(), self.k)
    }
}

/// J, L and F of `centers` (`k x d`) on `x` with `map` at temperature `temperature`, computed on
/// tier `isa` (as every function here).
pub fn objectives<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    map: MapKind,
    temperature: Temperature,
) -> Result<Objectives> {
    let e = Evaluation::new(isa, x, sample_weight, centers, k, map, temperature)?;
    Ok(e.objectives(&e.pass(false, false, RowOut::None)))
}

/// The objectives and the `k x d` gradient (f64) of F (`Stopgrad`) or L (`Full`) with
/// respect to the centers: `g_k = -2 (sum_i w_i a_ik x_i - (sum_i w_i a_ik) c_k)` with
/// `a = r` or the Jacobian-corrected weights `q` (see `pass::loss_weights`).
#[allow(clippy::too_many_arguments)]
pub fn center_gradient<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    map: MapKind,
    temperature: Temperature,
    kind: GradientKind,
) -> Result<(Objectives, Vec<f64>)> {
    let e = Evaluation::new(isa, x, sample_weight, centers, k, map, temperature)?;
    let o = e.pass(
        kind == GradientKind::Stopgrad,
        kind == GradientKind::Full,
        RowOut::None,
    );
    let s = o
        .resp_sums
        .as_ref()
        .or(o.loss_sums.as_ref())
        .expect("requested");
    let d = x.d();
    let mut g = vec![0.0; k * d];
    for c in 0..k {
        for t in 0..d {
            g[c * d + t] = -2.0 * (s.sums[c * d + t] - s.weight[c] * centers[c * d + t].to_f64());
        }
    }
    Ok((e.objectives(&o), g))
}

/// The `n x d` gradient of F (`Stopgrad`) or L (`Full`) with respect to the inputs:
/// `2 w_i (x_i - sum_k a_ik c_k)` (for use inside networks).
#[allow(clippy::too_many_arguments)]
pub fn input_gradient<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    sample_weight: Option<&[T]>,
    centers: &[T],
    k: usize,
    map: MapKind,
    temperature: Temperature,
    kind: GradientKind,
) -> Result<Vec<T>> {
    let e = Evaluation::new(isa, x, sample_weight, centers, k, map, temperature)?;
    let mut out = vec![T::ZERO; x.n() * x.d()];
    e.pass(
        false,
        false,
        RowOut::InputGrad {
            out: &mut out,
            loss: kind == GradientKind::Full,
        },
    );
    Ok(out)
}

/// The `n x k` responsibilities of `x` under `centers` (the `transform` of DESIGN.md).
pub fn responsibilities<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    centers: &[T],
    k: usize,
    map: MapKind,
    temperature: Temperature,
) -> Result<Vec<T>> {
    let e = Evaluation::new(isa, x, None, centers, k, map, temperature)?;
    let mut out = vec![T::ZERO; x.n() * k];
    e.pass(false, false, RowOut::Resp(&mut out));
    Ok(out)
}
