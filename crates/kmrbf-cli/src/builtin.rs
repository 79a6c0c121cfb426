//! Data sets shipped inside the binary: `builtin:iris`, `builtin:digits`.

use crate::fail::{bad_input, CliResult};
use std::path::Path;

/// The CSV text of a built-in data set named by `builtin:NAME`, or `None` for a normal path.
pub fn lookup(path: &Path) -> CliResult<Option<&'static str>> {
    let Some(name) = path.to_str().and_then(|s| s.strip_prefix("builtin:")) else {
        return Ok(None);
    };
    match name {
        "iris" => Ok(Some(include_str!("../../../data/iris.csv"))),
        "digits" => Ok(Some(include_str!("../../../data/digits.csv"))),
        other => Err(bad_input(format!(
            "builtin:{other}: no such built-in data set (available: builtin:iris, builtin:digits)"
        ))),
    }
}

/// True labels of a built-in data set (empty when unknown).
pub fn labels(name: &str) -> Vec<u32> {
    let text = match name {
        "iris" => include_str!("../../../data/iris_labels.csv"),
        "digits" => include_str!("../../../data/digits_labels.csv"),
        _ => "",
    };
    text.lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .map(|v| v as u32)
        .collect()
}
