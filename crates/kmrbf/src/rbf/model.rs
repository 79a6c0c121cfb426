//! The RBF model as params -> fitted model: [`AnnealParams::fit`] anneals from an init and
//! returns an [`RbfModel`] (centers, the map, the last temperature, the stage records and
//! the reference K-Means run when asked for), and [`RbfModel::new`] makes one from given
//! centers. The model then computes on new data at its temperature: responsibilities,
//! objectives, gradients and hard labels, on its instruction-set tier.

use super::anneal::{anneal, AnnealParams, AnnealResult, Reference, StageRecord};
use super::objective::{
    center_gradient, input_gradient, objectives, responsibilities, GradientKind, Objectives,
};
use super::params::Temperature;
use crate::data::MatView;
use crate::error::{Error, Result};
use crate::kernels::isa::Isa;
use crate::kernels::maps::MapKind;
use crate::real::Real;

/// An RBF layer: `k x d` centers, a row map and a temperature, and how it was fitted when it
/// was ([`RbfModel::fit_record`]).
#[derive(Clone, Debug)]
pub struct RbfModel<T> {
    centers: Vec<T>,
    k: usize,
    d: usize,
    map: MapKind,
    temperature: Temperature,
    isa: Isa,
    threads: Option<usize>,
    fit: Option<AnnealResult<T>>,
}

impl<T: Real> RbfModel<T> {
    /// The model with the `k x d` row-major `centers` (finite), `map` and `temperature`, on
    /// the widest tier here ([`RbfModel::with_isa`] picks another).
    pub fn new(centers: Vec<T>, k: usize, map: MapKind, temperature: Temperature) -> Result<Self> {
        if k == 0 {
            return Err(Error::BadK {
                k,
                reason: "need at least one center".into(),
            });
        }
        let d = centers.len() / k;
        if centers.len() != k * d {
            return Err(Error::BadLength {
                what: "centers",
                rows: k,
                cols: d,
                expected: k * d,
                got: centers.len(),
            });
        }
        MatView::new(&centers, k, d)?.validate("centers")?;
        temperature.working::<T>()?;
        Ok(Self {
            centers,
            k,
            d,
            map,
            temperature,
            isa: Isa::detect(),
            threads: None,
            fit: None,
        })
    }

    /// The same model, computing on tier `isa`.
    pub fn with_isa(mut self, isa: Isa) -> Self {
        self.isa = isa;
        self
    }

    /// The same model, computing on `threads` threads (`None`: the caller's rayon pool).
    pub fn with_threads(mut self, threads: Option<usize>) -> Self {
        self.threads = threads;
        self
    }

    /// `k x d` centers, row-major.
    pub fn centers(&self) -> &[T] {
        &self.centers
    }
    /// Number of centers.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Columns.
    pub fn d(&self) -> usize {
        self.d
    }
    /// The row map.
    pub fn map(&self) -> MapKind {
        self.map
    }
    /// The temperature the model computes at (after [`AnnealParams::fit`]: the last stage's).
    pub fn temperature(&self) -> Temperature {
        self.temperature
    }
    /// The instruction-set tier it computes on.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// The annealing that fitted it (`None` for [`RbfModel::new`]).
    pub fn fit_record(&self) -> Option<&AnnealResult<T>> {
        self.fit.as_ref()
    }
    /// One record per temperature of the fit (empty for [`RbfModel::new`]).
    pub fn stages(&self) -> &[StageRecord] {
        self.fit.as_ref().map_or(&[], |f| &f.stages)
    }
    /// The reference K-Means run of the fit and its distance to the centers: the equivalence
    /// certificate (`None` unless the fit asked for it, [`AnnealParams::reference`]).
    pub fn reference(&self) -> Option<&Reference> {
        self.fit.as_ref().and_then(|f| f.reference.as_ref())
    }

    /// The `n x k` responsibilities of the rows of `x` (`n x d`).
    pub fn responsibilities(&self, x: MatView<'_, T>) -> Result<Vec<T>> {
        crate::par::run(self.threads, || {
            responsibilities(
                self.isa,
                x,
                &self.centers,
                self.k,
                self.map,
                self.temperature,
            )
        })?
    }

    /// `J`, `L` and `F` on `x` with optional sample weights.
    pub fn objectives(&self, x: MatView<'_, T>, sample_weight: Option<&[T]>) -> Result<Objectives> {
        crate::par::run(self.threads, || {
            objectives(
                self.isa,
                x,
                sample_weight,
                &self.centers,
                self.k,
                self.map,
                self.temperature,
            )
        })?
    }

    /// The objectives and the `k x d` gradient (f64) of F (`Stopgrad`) or L (`Full`) with
    /// respect to the centers.
    pub fn center_gradient(
        &self,
        x: MatView<'_, T>,
        sample_weight: Option<&[T]>,
        kind: GradientKind,
    ) -> Result<(Objectives, Vec<f64>)> {
        crate::par::run(self.threads, || {
            center_gradient(
                self.isa,
                x,
                sample_weight,
                &self.centers,
                self.k,
                self.map,
                self.temperature,
                kind,
            )
        })?
    }

    /// The `n x d` gradient of F (`Stopgrad`) or L (`Full`) with respect to the rows.
    pub fn input_gradient(
        &self,
        x: MatView<'_, T>,
        sample_weight: Option<&[T]>,
        kind: GradientKind,
    ) -> Result<Vec<T>> {
        crate::par::run(self.threads, || {
            input_gradient(
                self.isa,
                x,
                sample_weight,
                &self.centers,
                self.k,
                self.map,
                self.temperature,
                kind,
            )
        })?
    }

    /// The nearest center of each row of `x` (the zero-temperature labels).
    pub fn predict(&self, x: MatView<'_, T>) -> Result<Vec<u32>> {
        crate::par::run(self.threads, || {
            crate::kmeans::predict(self.isa, &self.centers, self.k, x)
        })?
    }
}

impl AnnealParams {
    /// Anneals `init` (`k x d`) on `x` (optionally weighted) as [`anneal`] does, and returns
    /// the fitted model at the last stage's temperature. `observer` sees each stage.
    pub fn fit<T: Real>(
        &self,
        x: MatView<'_, T>,
        sample_weight: Option<&[T]>,
        init: &[T],
        k: usize,
        observer: &mut (dyn FnMut(&StageRecord) + Send),
    ) -> Result<RbfModel<T>> {
        let r = anneal(x, sample_weight, init, k, self, observer)?;
        let last = r.stages.last().map_or(r.sigma0, |s| s.sigma);
        let temperature = Temperature::new(last, self.kernel)?;
        Ok(RbfModel {
            centers: r.centers.clone(),
            k,
            d: x.d(),
            map: self.map,
            temperature,
            isa: self.isa,
            threads: self.threads,
            fit: Some(r),
        })
    }
}
