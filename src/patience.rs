//! Bounding a wait without a clock.
//!
//! `no_std` code has no clock, so every wait (a reader against a stalled seqlock writer, an opener waiting for a
//! region to become ready) asks a caller-supplied [`Patience`] whether to keep going. The std layer passes a
//! deadline; `no_std` callers pass a spin budget ([`Spins`]) or any `FnMut() -> bool`.

/// Decides whether a bounded wait goes on.
///
/// # Examples
/// ```
/// use seqring_core::Patience;
/// /// Gives up after `n` attempts and counts them.
/// struct Budget {
///     left: u32,
///     asked: u32,
/// }
/// impl Patience for Budget {
///     fn keep_waiting(&mut self) -> bool {
///         self.asked += 1;
///         self.left = self.left.saturating_sub(1);
///         self.left > 0
///     }
/// }
/// let mut b = Budget { left: 2, asked: 0 };
/// assert!(b.keep_waiting());
/// assert!(!b.keep_waiting());
/// assert_eq!(b.asked, 2);
/// // Any `FnMut() -> bool` is a patience too, e.g. a deadline:
/// let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1);
/// let mut until = || std::time::Instant::now() < deadline;
/// while until.keep_waiting() {}
/// assert!(std::time::Instant::now() >= deadline);
/// ```
pub trait Patience {
    /// Called once per failed attempt; returns `false` to give up. May spin, yield or sleep before returning.
    ///
    /// # Examples
    /// ```
    /// use seqring_core::{Patience, Spins};
    /// let mut spins = Spins(3);
    /// let mut attempts = 0;
    /// while spins.keep_waiting() {
    ///     attempts += 1;
    /// }
    /// assert_eq!(attempts, 3);
    /// assert_eq!(spins.0, 0);
    /// ```
    fn keep_waiting(&mut self) -> bool;
}

/// Gives up after a fixed number of attempts, hinting the CPU to spin between them.
///
/// # Examples
/// ```
/// use seqring_core::{Patience, Spins};
/// let mut p = Spins(2);
/// assert!(p.keep_waiting());
/// assert!(p.keep_waiting());
/// assert!(!p.keep_waiting());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Spins(pub u32);

impl Patience for Spins {
    fn keep_waiting(&mut self) -> bool {
        if self.0 == 0 {
            return false;
        }
        self.0 -= 1;
        #[cfg(loom)]
        loom::thread::yield_now();
        #[cfg(not(loom))]
        core::hint::spin_loop();
        true
    }
}

impl<F: FnMut() -> bool> Patience for F {
    fn keep_waiting(&mut self) -> bool {
        self()
    }
}
