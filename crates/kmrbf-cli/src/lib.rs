//! The `kmrbf` command line as a library: the file readers and writers, the commands, and the
//! report. The binary (`main.rs`) parses the arguments and calls the entry points
//! of the command modules; tests call the readers directly (`tests/fuzz.rs`).

pub mod args;
pub mod builtin;
pub mod csvfile;
#[cfg(feature = "deep")]
pub mod deep;
pub mod fail;
pub mod files;
pub mod fit;
pub mod interrupt;
pub mod matrix;
pub mod model_file;
pub mod npy;
pub mod outputs;
pub mod progress;
pub mod reproduce;
pub mod soft;
pub mod stream;
pub mod stream_anneal;
pub mod stream_minibatch;
