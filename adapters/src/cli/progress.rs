//! The one progress helper of every long command: an indicatif bar (or a spinner for open-ended work) when stderr is
//! a terminal, and nothing at all otherwise, so that piped and CI output stays plain.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// What a bar counts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unit {
    /// Items (entries, files, records), with a rate.
    Items,
    /// Bytes, shown human-readable.
    Bytes,
    /// Open-ended work: a spinner and a message.
    Spinner,
}

/// A progress display on stderr, hidden when stderr is not a terminal.
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A display of `unit`s under `message`.
    pub(crate) fn new(unit: Unit, message: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        let (bar, template) = match unit {
            Unit::Items => (
                ProgressBar::new(0),
                "{msg:>16} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}",
            ),
            Unit::Bytes => (
                ProgressBar::new(0),
                "{msg:>16} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ),
            Unit::Spinner => (ProgressBar::new_spinner(), "{spinner} {msg}"),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        if matches!(unit, Unit::Spinner) {
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
        }
        bar.set_message(message.to_owned());
        Progress { bar }
    }

    /// Starts a new phase of `total` units under `message`.
    pub(crate) fn phase(&self, message: &str, total: u64) {
        self.bar.reset();
        self.bar.set_message(message.to_owned());
        self.bar.set_length(total);
    }

    /// Moves to `done` units (never backwards: workers may report out of order).
    pub(crate) fn advance_to(&self, done: u64) {
        self.bar.set_position(self.bar.position().max(done));
    }

    /// Sets the total.
    pub(crate) fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// Replaces the message.
    pub(crate) fn message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Removes the display.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
