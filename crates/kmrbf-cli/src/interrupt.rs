//! Interrupts (Ctrl-C, SIGTERM, SIGHUP): the temporary outputs of a command are removed
//! before the process exits, and a new run removes those that a killed run (SIGKILL) left.
//!
//! The signals are blocked in every thread (threads inherit the mask of the thread that starts
//! them, so [`install`] runs first in `main`) and taken by one thread in `sigwait`: the
//! cleanup is ordinary code that may lock and remove files, never a signal handler.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Temporary files and directories to remove on an interrupt.
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temps() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes a temporary file or directory, ignoring one that is already gone.
pub fn remove(path: &Path) {
    if path.is_dir() {
        let _ = std::fs::remove_dir_all(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// Adds `path` to what an interrupt removes.
pub fn register(path: &Path) {
    temps().push(path.to_path_buf());
}

/// Removes `path` from what an interrupt removes (it was committed or already removed).
pub fn unregister(path: &Path) {
    temps().retain(|p| p != path);
}

/// Holds off interrupts while the guard lives: a commit (renames into place) finishes before
/// an interrupt's cleanup runs.
pub fn hold() -> MutexGuard<'static, Vec<PathBuf>> {
    temps()
}

/// Whether a process with id `pid` exists (its temporaries are not stale).
pub fn pid_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(p) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if p <= 0 {
            return false;
        }
        // SAFETY: kill with signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(p, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        pid == std::process::id()
    }
}

/// Removes the entries of `dir` named `{prefix}{pid}{rest}` whose process no longer runs:
/// temporaries of an earlier run that was killed before it could clean up.
pub fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let Ok(pid) = digits.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || !pid_alive(pid) {
            remove(&e.path());
        }
    }
}

/// Blocks SIGINT, SIGTERM and SIGHUP in this thread (and so in every thread started after)
/// and starts the thread that takes them: it removes the registered temporaries, says so,
/// and exits with `128 + signal`. Call first in `main`.
pub fn install() {
    #[cfg(unix)]
    {
        // SAFETY: plain libc calls on a zeroed, then initialized, signal set owned here.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, s);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            set
        };
        let spawned = std::thread::Builder::new()
            .name("kmrbf-signals".into())
            .spawn(move || loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: `set` is an initialized signal set; `sig` is a valid out pointer.
                if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                    continue;
                }
                let mut t = temps();
                for p in t.drain(..) {
                    remove(&p);
                }
                eprintln!("kmrbf: interrupted (signal {sig}); temporary outputs removed (checkpoints of `deep` are kept for --resume)");
                std::process::exit(128 + sig);
            });
        if spawned.is_err() {
            // No watcher thread: restore the default actions rather than ignore Ctrl-C.
            // SAFETY: as above.
            unsafe {
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            }
        }
    }
}
