//! The one progress helper of every long command: an indicatif bar (or a spinner for open-ended work) when stderr is
//! a terminal, and nothing at all otherwise, so that piped and CI output stays plain. Also the number formats every
//! command prints: [`grouped`] counts (`1,234,567`) and [`si`] rates (`35.2 M`).

use std::io::IsTerminal;

use indicatif::{HumanBytes, ProgressBar, ProgressState, ProgressStyle};

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
        // Until a total is known (`0/0` says nothing), a bar shows its message and a spinner only.
        let (bar, template) = match unit {
            Unit::Items => (
                ProgressBar::no_length(),
                "{spinner} {msg:>16} [{bar:40}] {count} {rate} {eta_text}",
            ),
            Unit::Bytes => (
                ProgressBar::no_length(),
                "{spinner} {msg:>16} [{bar:40}] {byte_count} {bytes_per_sec} {eta_text}",
            ),
            Unit::Spinner => (ProgressBar::new_spinner(), "{spinner} {msg}"),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            let style = style
                .with_key("count", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    if let Some(len) = s.len().filter(|&n| n > 0) {
                        let _ = write!(w, "{}/{}", grouped(s.pos()), grouped(len));
                    }
                })
                .with_key("byte_count", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    if let Some(len) = s.len().filter(|&n| n > 0) {
                        let _ = write!(w, "{}/{}", HumanBytes(s.pos()), HumanBytes(len));
                    }
                })
                .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    if s.pos() > 0 {
                        let _ = write!(w, "{}/s", si(s.per_sec()));
                    }
                })
                .with_key("eta_text", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    if s.len().is_some_and(|n| n > 0) && s.pos() > 0 {
                        let _ = write!(w, "eta {} s", s.eta().as_secs());
                    }
                });
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
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

/// `n` with its digits grouped in threes: `1234567` as `1,234,567`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x` with three significant digits and an SI prefix: `35_206_841.6` as `35.2 M`, `950.0` as `950`, `0.5` as
/// `0.5`.
pub(crate) fn si(x: f64) -> String {
    let (scaled, prefix) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, " G"),
        a if a >= 1e6 => (x / 1e6, " M"),
        a if a >= 1e3 => (x / 1e3, " k"),
        _ => (x, ""),
    };
    let decimals = match scaled.abs() {
        a if a >= 100.0 || (prefix.is_empty() && a == a.trunc()) => 0,
        a if a >= 10.0 => 1,
        _ => 2,
    };
    format!("{scaled:.decimals$}{prefix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(35_206_841), "35,206,841");
        assert_eq!(si(35_206_841.643), "35.2 M");
        assert_eq!(si(4_800_000.0), "4.80 M");
        assert_eq!(si(45_000.0), "45.0 k");
        assert_eq!(si(950.0), "950");
        assert_eq!(si(2.5), "2.50");
        assert_eq!(si(1.2e9), "1.20 G");
    }
}
