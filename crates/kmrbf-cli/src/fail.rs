//! CLI errors: exit status 2 for bad input or usage, 1 for internal failures.

use std::fmt;

/// An error the CLI reports as one line, with its exit status.
#[derive(Debug)]
pub struct CliError {
    /// Exit status: 2 (bad input) or 1 (internal).
    pub code: i32,
    /// The message, naming the file, row, column or parameter.
    pub msg: String,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for CliError {}

/// `Result` of the CLI.
pub type CliResult<T> = Result<T, CliError>;

/// Bad input or usage (exit 2).
pub fn bad_input(msg: impl Into<String>) -> CliError {
    CliError {
        code: 2,
        msg: msg.into(),
    }
}

/// Internal failure (exit 1).
pub fn internal(msg: impl Into<String>) -> CliError {
    CliError {
        code: 1,
        msg: msg.into(),
    }
}

/// A library error about the input named `context` (exit 2).
pub fn lib_error(context: &str, e: kmrbf::Error) -> CliError {
    bad_input(format!("{context}: {e}"))
}

/// True for the library errors about sample weights (count, values, all zero).
pub fn about_weights(e: &kmrbf::Error) -> bool {
    matches!(
        e,
        kmrbf::Error::BadWeight { .. }
            | kmrbf::Error::WeightCount { .. }
            | kmrbf::Error::ZeroTotalWeight
    )
}

/// `--weights PATH`, the context of a weights error.
pub fn weights_flag(path: Option<&std::path::Path>) -> String {
    format!(
        "--weights {}",
        path.map(|p| p.display().to_string()).unwrap_or_default()
    )
}
