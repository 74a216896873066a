//! How a shared-array operation waits on a writer in its write section: spin, then yield, then sleep, and tell a
//! stalled writer from a live one that is merely preempted.
//!
//! On a machine with more runnable threads than cores, a writer is often preempted inside its write section. Readers
//! that spin or yield in a loop then take the CPU it needs to finish, and a reader whose deadline passes while the
//! sequence happens to be odd would report a live writer as stalled. [`Wait`] therefore:
//! - spins up to [`SPINS`] times (no clock, no syscall: a writer on another core finishes within nanoseconds), fewer
//!   for a large read, whose every failed attempt is a whole copy ([`Wait::copying`]: about [`SPIN_BYTES`] copied
//!   in all before the first yield);
//! - then yields [`YIELDS`] times, reading the clock;
//! - then sleeps, from [`FIRST_SLEEP`] doubling to [`MAX_SLEEP`] (capped by what remains of the timeout), so that
//!   waiting readers leave the cores to the writer while it is stuck (preempted inside its write section). When
//!   the sequence moved since the last look (writes are completing), the wait starts over from spinning: sleeping
//!   then only slows a reader down, as a reader that sleeps through a busy writer's stream of writes does.
//! - watches the sequence word between attempts. If it moved since the wait began, the writer is alive and
//!   finishing writes, so a wait that runs out is [`ArrayError::Busy`] (writers kept the array busy), never
//!   [`ArrayError::WriterStalled`]: a stall is one write section that outlasted the whole timeout.
//!
//! [`wait_changed`] is the other kind of wait: for a *new version*, however long the writer takes to write one. It
//! blocks on the sequence word ([`SharedWord::wait`](seqring_platform::address_wait::SharedWord::wait): a futex on
//! Linux, a ulock on macOS, a named event on Windows; no CPU until a writer publishes), through the core's waiter
//! protocol
//! ([`SeqArray::wait_changed`]), and only naps with the backoff above while a writer is inside its write section,
//! which is when the protocol cannot promise a wake. It blocks at most [`BLOCK`] at a time and renews a lease of
//! [`LEASE`] before each block (on the coarse wall clock writers stamp their writes with), so that if this process
//! is killed while it blocks, writers stop issuing wake calls for it within [`LEASE`] (see the core's module
//! documentation); a write without a time still wakes it.
//!
//! Invariant: the first [`SPINS`] attempts read no clock; every wait ends within its timeout plus one sleep of at most
//! [`MAX_SLEEP`] (sleeps are capped by the time left, and the kernel may oversleep by its timer slack).

use seqring_core::seqlock::{ArrayError, Park, SeqArray, SEQUENCE_WORD};
use seqring_core::Patience;
use seqring_platform::{clock, Region};
use std::time::{Duration, Instant};

/// How long a waiter's lease runs past the moment it renews it: far longer than one [`BLOCK`], so that a waiter
/// descheduled or a clock adjusted by less than the difference still holds a valid lease while it blocks.
pub(crate) const LEASE: Duration = Duration::from_secs(2);
/// The longest a waiter blocks before it looks again and renews its lease.
pub(crate) const BLOCK: Duration = Duration::from_millis(250);

/// Attempts that spin before the first clock read (at most).
pub(crate) const SPINS: u32 = 128;
/// The bytes a read may copy in failed attempts before it stops spinning.
pub(crate) const SPIN_BYTES: usize = 64 << 10;
/// Attempts that yield after the spins, before the first sleep.
pub(crate) const YIELDS: u32 = 8;
/// The first sleep.
pub(crate) const FIRST_SLEEP: Duration = Duration::from_micros(20);
/// The longest sleep.
pub(crate) const MAX_SLEEP: Duration = Duration::from_millis(1);

/// A [`Patience`] over one array's sequence word: see the module documentation.
#[derive(Debug)]
pub(crate) struct Wait<'a> {
    array: &'a SeqArray<Region>,
    timeout: Duration,
    attempts: u32,
    spins: u32,
    /// The sequence when the wait began (loaded at the first attempt), and whether it has moved since.
    first_sequence: Option<u64>,
    last_sequence: u64,
    progressed: bool,
    /// When the clock phase began; the wait ends `timeout` after it.
    until: Option<Instant>,
    sleep: Duration,
}

impl<'a> Wait<'a> {
    /// A wait of at most `timeout` (after the spin phase) on `array`'s writers.
    #[inline]
    pub(crate) fn new(array: &'a SeqArray<Region>, timeout: Duration) -> Self {
        Wait {
            array,
            timeout,
            attempts: 0,
            spins: SPINS,
            first_sequence: None,
            last_sequence: 0,
            progressed: false,
            until: None,
            sleep: FIRST_SLEEP,
        }
    }

    /// The wait of a read that copies `bytes` per attempt: it spins fewer times the more each attempt copies.
    #[inline]
    pub(crate) fn copying(mut self, bytes: usize) -> Self {
        self.copy_size(bytes);
        self
    }

    /// Sets the bytes each further attempt copies (see [`Wait::copying`]).
    #[inline]
    pub(crate) fn copy_size(&mut self, bytes: usize) {
        self.spins = (SPIN_BYTES / bytes.max(1)).clamp(2, SPINS as usize) as u32;
    }

    /// `e`, the error of a wait that ran out, as the caller should report it: a stall only if no writer made
    /// progress during the wait (a live, preempted writer is busy, not stalled).
    #[cold]
    pub(crate) fn judge(&self, e: ArrayError) -> ArrayError {
        match e {
            ArrayError::WriterStalled { .. } if self.progressed => ArrayError::Busy,
            other => other,
        }
    }

    /// Notes the sequence now; returns whether it moved since the last look.
    fn look(&mut self) -> bool {
        let s = self.array.sequence();
        match self.first_sequence {
            None => {
                self.first_sequence = Some(s);
                self.last_sequence = s;
                false
            }
            Some(_) if s != self.last_sequence => {
                self.last_sequence = s;
                self.progressed = true;
                true
            }
            Some(_) => false,
        }
    }
}

impl Patience for Wait<'_> {
    fn keep_waiting(&mut self) -> bool {
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts == 1 {
            self.look();
        }
        if self.attempts <= self.spins {
            std::hint::spin_loop();
            return true;
        }
        let moved = self.look();
        let now = Instant::now();
        let until = *self.until.get_or_insert_with(|| now + self.timeout);
        let Some(left) = until.checked_duration_since(now).filter(|d| !d.is_zero()) else {
            return false;
        };
        if moved {
            // Writes completed since the last look: the writer is running, so the next attempt is likely to find a
            // quiet moment. Start over from spinning instead of sleeping through it (the deadline still holds: it
            // is checked above, every `spins` attempts).
            self.attempts = 1;
            self.sleep = FIRST_SLEEP;
            return true;
        }
        if self.attempts <= self.spins + YIELDS {
            std::thread::yield_now();
            return true;
        }
        std::thread::sleep(self.sleep.min(left));
        self.sleep = (self.sleep * 2).min(MAX_SLEEP);
        true
    }
}

/// One wait out of a longer operation's [`Wait`] (a snapshot, then a read, then perhaps a retry): the phases and the
/// timeout carry over from one to the next.
impl Patience for &mut Wait<'_> {
    #[inline]
    fn keep_waiting(&mut self) -> bool {
        Wait::keep_waiting(self)
    }
}

/// Waits until `array`'s version differs from `last_version` and returns it, or `None` when `timeout` passes
/// first (`Duration::MAX`: no bound). See the module documentation.
///
/// # Errors
/// [`ArrayError::WriterStalled`] when the timeout passes while one writer has held its write section (the same odd
/// sequence) since this wait first saw it: a stall, as a read would report it.
pub(crate) fn wait_changed(
    array: &SeqArray<Region>,
    last_version: u64,
    timeout: Duration,
) -> Result<Option<u64>, ArrayError> {
    let word = array.memory().shared_word(SEQUENCE_WORD);
    let deadline = Instant::now().checked_add(timeout);
    // The odd sequence seen since the last even one, and the naps spent on it.
    let mut writing: Option<u64> = None;
    let mut stalled = None;
    let mut naps = 0u32;
    let mut nap = FIRST_SLEEP;
    let lease = || clock::now_ns_coarse().saturating_add(LEASE.as_nanos() as u64);
    let found = array.wait_changed(last_version, lease, |park| {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            if let Park::Writing(s) = park {
                stalled = (writing == Some(s)).then_some(s);
            }
            return false;
        }
        match park {
            Park::Unchanged(s) => {
                writing = None;
                word.wait(s, Some(left.map_or(BLOCK, |l| l.min(BLOCK))));
            }
            Park::Writing(s) => {
                if writing != Some(s) {
                    writing = Some(s);
                    naps = 0;
                    nap = FIRST_SLEEP;
                }
                naps += 1;
                if naps <= YIELDS {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(left.map_or(nap, |l| nap.min(l)));
                    nap = (nap * 2).min(MAX_SLEEP);
                }
            }
        }
        true
    });
    match (found, stalled) {
        (Some(v), _) => Ok(Some(v)),
        (None, Some(s)) => match array.stall() {
            Some(stall) if stall.sequence == s => Err(ArrayError::WriterStalled {
                token: stall.token,
                since: stall.since,
                sequence: s,
            }),
            _ => Ok(None),
        },
        (None, None) => Ok(None),
    }
}
