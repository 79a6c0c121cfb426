//! A progress line on a terminal for runs longer than a second; silent when piped.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Shows a spinner with a message once the run has lasted a second (stderr terminals only).
pub struct Progress {
    start: Instant,
    enabled: bool,
    bar: OnceLock<ProgressBar>,
}

impl Progress {
    /// A progress reporter; `quiet` turns it off.
    pub fn new(quiet: bool) -> Self {
        Self {
            start: Instant::now(),
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: OnceLock::new(),
        }
    }

    /// Updates the message (creates the spinner after the first second).
    pub fn set(&self, msg: String) {
        if !self.enabled || self.start.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}").expect("template"),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        bar.set_message(msg);
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        if let Some(b) = self.bar.get() {
            b.finish_and_clear();
        }
    }
}
