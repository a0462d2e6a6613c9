//! Progress of long runs over a data set: images done, images/s and ETA on
//! a terminal (stderr), nothing when stderr is not a terminal (CI logs,
//! pipes) or when `FPEC_PROGRESS=0`. The engine calls [`Progress::inc`] per
//! batch; the bar is thread-safe (clone it into workers).

use std::io::IsTerminal;

/// A progress line for `total` images (hidden when not on a terminal).
#[derive(Debug, Clone)]
pub struct Progress {
    bar: indicatif::ProgressBar,
}

/// True when a progress line would be drawn: stderr is a terminal and
/// `FPEC_PROGRESS` is not `0`.
pub fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var("FPEC_PROGRESS").map_or(true, |v| v != "0")
}

impl Progress {
    /// Starts a progress line "`what` done/total images, rate, ETA".
    pub fn new(total: u64, what: &str) -> Self {
        let bar = if enabled() {
            let b = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} images, {per_sec}, ETA {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            b.set_style(style);
            b.set_message(what.to_string());
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        Progress { bar }
    }
    /// A progress that never draws (library calls, tests).
    pub fn hidden() -> Self {
        Progress {
            bar: indicatif::ProgressBar::hidden(),
        }
    }
    /// `n` more images done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }
    /// True when nothing is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }
    /// Removes the line (the caller prints its own summary).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
