//! How the drain waits when the ring gives it little: the idle ladder, and gathering.
//!
//! - **The ladder.** After an empty poll the drain spins ([`SPINS`] polls), then yields ([`YIELDS`] polls), then
//!   parks for the flush interval at a time (a stop or resume unparks it at once). A burst after a pause is met at
//!   once, and an idle logger costs no CPU.
//! - **Gathering.** A drain that takes each record as soon as it is committed makes every log call wait for lines
//!   that the drain, on the other core, has just read or released: the tail, the record's own line and the release
//!   watermark, which the MPSC claim's locked read-modify-writes must own before they complete. On the 2-vCPU
//!   Intel guest a 64 B call at 1 M records/s cost p50 ~300 ns that way, against ~70 ns flat out, where the drain
//!   lags the producer by whole batches (docs/BENCHMARKS.md, "Issue 24, stop 33"). So after a batch that leaves the ring
//!   under no pressure, the drain parks at once instead of polling again.
//!   - *Under no pressure* means: smaller than half the batch cap; not cut short by the ring's end; and, from
//!     [`BUSY_CHECKED`] bytes up, written in under a quarter of the time it took to come in. A drain busier than
//!     that is what limits the rate, and a park would only cut it. Smaller batches are not judged so, because their
//!     fixed cost (a system call) would make a drain that chases small batches look busy and keep it chasing.
//!   - *The park* lasts as long as the ring, filling at the rate that batch came in at, takes to fill an eighth of
//!     its capacity, at most the flush interval. There is none when that is under [`MIN_GATHER`]: a shorter park
//!     costs its wake-up and saves little, and a flush interval under it (a user asking for the lowest latency to
//!     the kernel) turns gathering off.
//!
//! Invariants: a record reaches the kernel within about the flush interval of its commit whenever the drain keeps
//! up, as on the ladder; meanwhile a committed record waits in the shared ring, where a crash of the logger loses
//! nothing (the takeover drains it). A batch under pressure never starts a park.

use std::time::{Duration, Instant};

/// Empty polls that spin before the drain yields.
const SPINS: u32 = 128;
/// Empty polls that yield before the drain parks.
const YIELDS: u32 = 64;
/// The shortest park that gathering makes.
const MIN_GATHER: Duration = Duration::from_micros(100);
/// The smallest batch whose writing time can stop gathering.
const BUSY_CHECKED: usize = 256 << 10;

/// The drain's waiting state between polls.
#[derive(Debug)]
pub(super) struct Idle {
    /// Empty polls since the last batch, or since a gathering batch skipped the ladder.
    polls: u32,
    /// Whether no wait came since the last batch (or since the start).
    fresh: bool,
    /// How long the next park lasts.
    park: Duration,
    flush_interval: Duration,
    /// The ring's capacity in bytes.
    capacity: usize,
    /// The most bytes a batch holds.
    max_batch: usize,
    /// When the last batch was drained: the next batch came in over the time since.
    last_batch: Instant,
}

impl Idle {
    /// Waiting that parks for at most `flush_interval` at a time, for a drain of a ring of `capacity` bytes whose
    /// batches hold at most `max_batch` bytes.
    pub(super) fn new(flush_interval: Duration, capacity: usize, max_batch: usize) -> Self {
        Idle {
            polls: 0,
            fresh: true,
            park: flush_interval,
            flush_interval,
            capacity,
            max_batch,
            last_batch: Instant::now(),
        }
    }

    /// Notes a drained batch of `len` bytes that ended at ring position `end`, whose writing began at `writing`.
    /// Returns whether the drain gathers: then its next [`wait`](Self::wait) parks at once, before it polls again;
    /// otherwise it polls again at once and climbs the ladder when a poll finds nothing.
    pub(super) fn drained(&mut self, len: usize, end: u64, writing: Instant) -> bool {
        let now = Instant::now();
        let over = now.saturating_duration_since(self.last_batch);
        let busy = now.saturating_duration_since(writing);
        self.last_batch = now;
        self.fresh = true;
        let drain_bound = len >= BUSY_CHECKED && busy * 4 >= over;
        let pressure = len >= self.max_batch / 2 || end.is_multiple_of(self.capacity as u64) || drain_bound;
        match gather_park(len, over, self.capacity, self.flush_interval) {
            Some(park) if !pressure => {
                self.polls = SPINS + YIELDS;
                self.park = park;
                true
            }
            _ => {
                self.polls = 0;
                self.park = self.flush_interval;
                false
            }
        }
    }

    /// Whether this is the first wait since the last batch (the drain publishes its counts then). Clears it.
    pub(super) fn first_wait(&mut self) -> bool {
        std::mem::take(&mut self.fresh)
    }

    /// Waits after an empty poll or a gathering batch: one step of the ladder, or a park.
    pub(super) fn wait(&mut self) {
        if self.polls < SPINS {
            std::hint::spin_loop();
        } else if self.polls < SPINS + YIELDS {
            std::thread::yield_now();
        } else {
            std::thread::park_timeout(self.park);
            self.park = self.flush_interval;
        }
        self.polls = self.polls.saturating_add(1);
    }
}

/// How long the drain may park after `len` bytes came in over `over`: the time a ring of `capacity` bytes takes
/// to fill an eighth at that rate, at most `flush_interval`; `None` when that is under [`MIN_GATHER`].
fn gather_park(len: usize, over: Duration, capacity: usize, flush_interval: Duration) -> Option<Duration> {
    let eighth = (capacity / 8) as f64;
    let fill = Duration::try_from_secs_f64(over.as_secs_f64() * eighth / len.max(1) as f64).unwrap_or(flush_interval);
    let park = fill.min(flush_interval);
    (park >= MIN_GATHER).then_some(park)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_slow_trickle_parks_for_the_flush_interval() {
        // 1 000 records of 80 B in 1 ms: an eighth of 32 MiB takes 52 ms at that rate.
        assert_eq!(gather_park(80_000, MS, 32 << 20, MS), Some(MS));
    }

    #[test]
    fn the_park_is_cut_to_the_time_an_eighth_of_the_ring_takes() {
        // 64 KiB in 1 ms into a 1 MiB ring: an eighth (128 KiB) fills in 2 ms, so a 5 ms interval is cut to 2 ms.
        let park = gather_park(64 << 10, MS, 1 << 20, 5 * MS).unwrap();
        assert!(
            park > Duration::from_micros(1_999) && park < Duration::from_micros(2_001),
            "{park:?}"
        );
    }

    #[test]
    fn a_fast_stream_is_chased_without_parking() {
        // 1 MiB in 100 µs into a 4 MiB ring: an eighth fills in 50 µs, under the shortest park.
        assert_eq!(gather_park(1 << 20, Duration::from_micros(100), 4 << 20, MS), None);
        // A flush interval under the shortest park (a user who asked for low latency) never gathers.
        assert_eq!(gather_park(80, MS, 32 << 20, Duration::from_micros(50)), None);
    }

    #[test]
    fn an_empty_or_idle_history_does_not_overflow() {
        assert_eq!(gather_park(0, Duration::MAX, 1 << 30, MS), Some(MS));
        assert_eq!(gather_park(usize::MAX, Duration::ZERO, 64, MS), None);
    }

    #[test]
    fn a_gathering_batch_parks_at_once_and_one_under_pressure_climbs_the_ladder() {
        let mut idle = Idle::new(MS, 32 << 20, 4 << 20);
        let now = Instant::now;
        idle.last_batch = now() - MS;
        assert!(idle.drained(80_000, 80_000, now()));
        assert!(idle.first_wait() && !idle.first_wait());
        assert_eq!((idle.polls, idle.park), (SPINS + YIELDS, MS));
        // Half the cap: the ring may hold more, so the drain polls again at once.
        assert!(!idle.drained(2 << 20, 4 << 20, now()));
        assert_eq!(idle.polls, 0);
        // A small batch cut short by the ring's end: the rest waits at the ring's start.
        idle.last_batch = now() - MS;
        assert!(!idle.drained(4096, 32 << 20, now()));
        assert_eq!(idle.polls, 0);
        // A batch that took the drain half the time it came in over: the drain is what limits the rate.
        idle.last_batch = now() - 2 * MS;
        assert!(!idle.drained(1 << 20, 1 << 20, now() - MS));
        assert_eq!(idle.polls, 0);
        // The same time for a small batch is its fixed cost: it gathers.
        idle.last_batch = now() - 2 * MS;
        assert!(idle.drained(4096, 4096, now() - MS));
    }
}
