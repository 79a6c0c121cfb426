//! Errors of the burn layer and the deep-clustering trainer.

/// What went wrong, naming the parameter or file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter outside its domain.
    #[error("{name} = {value}: {reason}")]
    BadParam {
        /// The parameter's name as the user spells it.
        name: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        reason: String,
    },
    /// An error of the core library (data checks, K-Means).
    #[error(transparent)]
    Core(#[from] kmrbf::Error),
    /// A checkpoint or record that cannot be read or written.
    #[error("{path}: {reason}")]
    Checkpoint {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Stopped by the caller's stop flag.
    #[error("interrupted")]
    Interrupted,
}

/// The crate's result.
pub type Result<T> = std::result::Result<T, Error>;
