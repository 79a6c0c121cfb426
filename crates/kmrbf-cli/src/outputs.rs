//! A command's output files, written all together or not at all.
//!
//! Every output path is reserved before the command does any work: the path must not be a
//! directory, its directory must exist, no two outputs may name the same file, and a temporary
//! file is created beside it (which proves the directory writable). The results go to the
//! temporaries; [`Outputs::commit`] renames them all into place while interrupts wait. A
//! failure, an early return or an interrupt removes every temporary, and no output is written.

use crate::fail::{bad_input, internal, CliResult};
use crate::interrupt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Names an output reserved with [`Outputs::reserve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutId(usize);

struct Slot {
    flag: String,
    path: PathBuf,
    /// The same file as `path` with its directory canonicalized (to detect two flags naming it).
    canonical: PathBuf,
    tmp: PathBuf,
    bytes: Option<Vec<u8>>,
    /// Already written to `tmp` by [`Outputs::write_with`].
    streamed: bool,
}

/// The outputs of one command.
#[derive(Default)]
pub struct Outputs {
    slots: Vec<Slot>,
}

/// The prefix of the temporary beside `name`; the process id and `.tmp` follow.
fn tmp_prefix(name: &str) -> String {
    format!(".{name}.kmrbf-")
}

impl Outputs {
    /// No outputs yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks that `path` (given with `flag`) can be written and creates its temporary.
    /// Errors (exit 2) name the flag and the path.
    pub fn reserve(&mut self, flag: &str, path: &Path) -> CliResult<OutId> {
        let p = path.display();
        if path.is_dir() {
            return Err(bad_input(format!(
                "{flag} {p}: is a directory (expected a file to write)"
            )));
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| bad_input(format!("{flag} {p}: not a file name")))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            let what = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return Err(bad_input(format!("{flag} {p}: {} {what}", dir.display())));
        }
        let canonical = dir
            .canonicalize()
            .map_err(|e| bad_input(format!("{flag} {p}: cannot write there: {e}")))?
            .join(name);
        if let Some(other) = self.slots.iter().find(|s| s.canonical == canonical) {
            return Err(bad_input(format!(
                "{flag} {p}: the same file as {} {}; give each output its own path",
                other.flag,
                other.path.display()
            )));
        }
        let prefix = tmp_prefix(name);
        interrupt::remove_stale(&dir, &prefix);
        let tmp = dir.join(format!("{prefix}{}.tmp", std::process::id()));
        interrupt::register(&tmp);
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            interrupt::unregister(&tmp);
            return Err(bad_input(format!("{flag} {p}: cannot write there: {e}")));
        }
        self.slots.push(Slot {
            flag: flag.to_string(),
            path: path.to_path_buf(),
            canonical,
            tmp,
            bytes: None,
            streamed: false,
        });
        Ok(OutId(self.slots.len() - 1))
    }

    /// Reserves `path` when it is given.
    pub fn reserve_opt(&mut self, flag: &str, path: Option<&Path>) -> CliResult<Option<OutId>> {
        path.map(|p| self.reserve(flag, p)).transpose()
    }

    /// The contents of output `id`.
    pub fn put(&mut self, id: OutId, bytes: Vec<u8>) {
        self.slots[id.0].bytes = Some(bytes);
    }

    /// Writes output `id` through `f` straight into its temporary (for outputs too large to
    /// hold in memory); it is still renamed into place only by [`Outputs::commit`].
    pub fn write_with(
        &mut self,
        id: OutId,
        f: impl FnOnce(&mut dyn std::io::Write) -> CliResult<()>,
    ) -> CliResult<()> {
        let s = &mut self.slots[id.0];
        let cannot = |e: std::io::Error| {
            bad_input(format!(
                "{} {}: cannot write: {e}",
                s.flag,
                s.path.display()
            ))
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&s.tmp)
            .map_err(cannot)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        f(&mut w)?;
        w.flush().map_err(cannot)?;
        s.bytes = Some(Vec::new());
        s.streamed = true;
        Ok(())
    }

    /// Writes every output to its temporary, then renames them all into place, with
    /// interrupts held off. Returns the paths written.
    pub fn commit(mut self) -> CliResult<Vec<PathBuf>> {
        for s in &self.slots {
            let Some(bytes) = &s.bytes else {
                return Err(internal(format!(
                    "{} {}: no contents to write (a bug)",
                    s.flag,
                    s.path.display()
                )));
            };
            if s.streamed {
                continue;
            }
            std::fs::write(&s.tmp, bytes).map_err(|e| {
                bad_input(format!(
                    "{} {}: cannot write: {e}",
                    s.flag,
                    s.path.display()
                ))
            })?;
        }
        let mut guard = interrupt::hold();
        let slots = std::mem::take(&mut self.slots);
        let mut written = Vec::with_capacity(slots.len());
        for (i, s) in slots.iter().enumerate() {
            if let Err(e) = std::fs::rename(&s.tmp, &s.path) {
                for rest in &slots[i..] {
                    let _ = std::fs::remove_file(&rest.tmp);
                    guard.retain(|p| p != &rest.tmp);
                }
                return Err(internal(format!(
                    "{} {}: cannot move into place: {e}",
                    s.flag,
                    s.path.display()
                )));
            }
            guard.retain(|p| p != &s.tmp);
            written.push(s.path.clone());
        }
        Ok(written)
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for s in &self.slots {
            let _ = std::fs::remove_file(&s.tmp);
            interrupt::unregister(&s.tmp);
        }
    }
}

/// `a, b and c` for messages.
pub fn list(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}
