//! Typed errors. Every variant carries the offending value and where it was found.

use thiserror::Error;

/// Why kmrbf refused its input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// The data has no rows.
    #[error("data is empty: it has no rows")]
    EmptyData,
    /// The data has rows of length zero.
    #[error("data has {n} rows but 0 columns")]
    NoColumns {
        /// Number of rows.
        n: usize,
    },
    /// A buffer does not hold `rows * cols` values.
    #[error("{what}: expected {expected} values ({rows} x {cols}), got {got}")]
    BadLength {
        /// Which buffer.
        what: &'static str,
        /// Rows claimed.
        rows: usize,
        /// Columns claimed.
        cols: usize,
        /// `rows * cols`.
        expected: usize,
        /// Values present.
        got: usize,
    },
    /// A NaN or infinite value in data (0-based row and column).
    #[error("{what}: non-finite value {value} at row {row}, column {col}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Row, 0-based.
        row: usize,
        /// Column, 0-based.
        col: usize,
        /// The value.
        value: f64,
    },
    /// A sample weight that is negative, NaN or infinite.
    #[error(
        "sample_weight: invalid weight {value} at row {row} (weights must be finite and >= 0)"
    )]
    BadWeight {
        /// Row, 0-based.
        row: usize,
        /// The weight.
        value: f64,
    },
    /// All sample weights are zero.
    #[error("sample_weight: all weights are zero")]
    ZeroTotalWeight,
    /// Wrong number of weights.
    #[error("sample_weight: expected {expected} weights (one per row), got {got}")]
    WeightCount {
        /// Rows of the data.
        expected: usize,
        /// Weights given.
        got: usize,
    },
    /// `k` out of range.
    #[error("k = {k} is invalid: {reason}")]
    BadK {
        /// The k given.
        k: usize,
        /// Why.
        reason: String,
    },
    /// Columns of two inputs disagree.
    #[error("{what}: expected {expected} columns, got {got}")]
    ColumnMismatch {
        /// Which input.
        what: &'static str,
        /// Columns required.
        expected: usize,
        /// Columns present.
        got: usize,
    },
    /// Given initial centers have the wrong shape.
    #[error("init: expected centers of shape {expected_k} x {expected_d}, got {got_k} x {got_d}")]
    InitShape {
        /// k required.
        expected_k: usize,
        /// d required.
        expected_d: usize,
        /// Rows given.
        got_k: usize,
        /// Columns given.
        got_d: usize,
    },
    /// A parameter out of its range.
    #[error("{name} = {value} is invalid: {reason}")]
    BadParam {
        /// Parameter name as the user spells it.
        name: &'static str,
        /// The value, printed.
        value: String,
        /// The allowed range.
        reason: &'static str,
    },
    /// An effective temperature outside the range the working precision computes with.
    #[error(
        "sigma = {sigma:e} gives the effective temperature {effective:e} ({kernel} kernel), outside [{min:e}, {max:e}], the range {precision} data compute with"
    )]
    BadTemperature {
        /// The sigma given.
        sigma: f64,
        /// `temperature` (`sigma`) or `bandwidth` (`2 sigma^2`).
        kernel: &'static str,
        /// The divisor of `-D` in the logits.
        effective: f64,
        /// `f32` or `f64`.
        precision: &'static str,
        /// Smallest allowed effective temperature.
        min: f64,
        /// Largest allowed effective temperature.
        max: f64,
    },
    /// A stop flag was raised during the computation (no result was produced).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// True for [`Error::Interrupted`]: the caller asked to stop, the input was fine.
    pub fn is_interrupt(&self) -> bool {
        matches!(self, Error::Interrupted)
    }
}

/// `Result` with kmrbf's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
