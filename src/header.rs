//! The fixed header at offset 0 of every shared region.
//!
//! ```text
//! offset  size  field
//!      0     8  magic  b"SEQRING\0"
//!      8     4  layout version (2; version 1 is read, see below)
//!     12     4  region kind (1 = seqlock array, 2 = log ring)
//!     16     8  total region length in bytes
//!     24     8  state (atomic): 0 initialising, 1 ready, 2 closed
//!     32     8  creator pid (informational)
//!     40     8  creation time, ns since the UNIX epoch (informational)
//!     48    16  reserved, zero
//! ```
//!
//! Protocol: the creator writes every field (and its kind-specific layout) while `state` is 0, then stores
//! `ready` with Release ([`publish_ready`]). An opener first checks that its mapping can hold the header, then
//! loads `state` with Acquire, which pairs with that Release store, so every field it reads next is complete. It
//! validates magic, version, kind and length against its own mapping length before touching anything else.
//! A region whose magic is neither ours nor zero is foreign and rejected at once; a zero magic means the creator
//! is still initialising, and the opener waits for it within its [`Patience`].
//!
//! Versions: 2 (this release) gave the log ring a checked release watermark, claimant tags in claim markers, the
//! closed bit of the tail and the SPSC producer epoch; the seqlock array's layout is unchanged. Version 1 regions
//! are still opened ([`RegionInfo::version`] says which one it is), and the ring reads a version 1 layout by its
//! rules (see the ring module).

use crate::memory::Memory;
use crate::patience::Patience;
use crate::sync::Ordering;

/// The magic at offset 0.
///
/// # Examples
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use seqring_core::header::{self, RegionKind, HEADER_LEN, MAGIC, VERSION};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..HEADER_LEN / 8).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Array, 1, 2).unwrap();
/// let mut head = [0u8; 16];
/// mem.copy_out(0, &mut head);
/// assert_eq!(&head[..8], b"SEQRING\0");
/// assert_eq!(mem.load(0, Ordering::Relaxed), MAGIC);
/// assert_eq!(u32::from_le_bytes(head[8..12].try_into().unwrap()), VERSION);
/// assert_eq!(u32::from_le_bytes(head[12..16].try_into().unwrap()), RegionKind::Array as u32);
/// ```
pub const MAGIC: u64 = u64::from_le_bytes(*b"SEQRING\0");
/// The layout version this crate writes.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, RegionKind, VERSION};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..8).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Ring, 1, 0).unwrap();
/// header::publish_ready(&mem);
/// assert_eq!(header::validate(&mem, RegionKind::Ring).unwrap().version, VERSION);
/// ```
pub const VERSION: u32 = 2;
/// The oldest layout version this crate reads.
///
/// # Examples
/// ```
/// use seqring_core::header::{MIN_VERSION, VERSION};
/// assert!((MIN_VERSION..=VERSION).contains(&1));
/// assert!(!(MIN_VERSION..=VERSION).contains(&(VERSION + 1)));
/// ```
pub const MIN_VERSION: u32 = 1;
/// The size of the region header in bytes; kind-specific layouts start here.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind, HEADER_LEN};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..HEADER_LEN / 8 - 1).map(|_| AtomicU64::new(0)).collect();
/// assert_eq!(
///     header::init_header(&RawRegion::new(&words), RegionKind::Ring, 1, 0),
///     Err(HeaderError::TooShort { needed: 64, mapped: 56 })
/// );
/// ```
pub const HEADER_LEN: usize = 64;

const MAGIC_AT: usize = 0;
const VERSION_KIND_AT: usize = 8;
const LENGTH_AT: usize = 16;
const STATE_AT: usize = 24;
const PID_AT: usize = 32;
const CREATED_AT: usize = 40;

/// What a region holds.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind, RegionState};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Array, 1, 0).unwrap();
/// header::publish_ready(&mem);
/// assert_eq!(header::validate(&mem, RegionKind::Array).unwrap().kind, RegionKind::Array);
/// assert_eq!(
///     header::validate(&mem, RegionKind::Ring),
///     Err(HeaderError::WrongKind { expected: RegionKind::Ring, found: 1 })
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RegionKind {
    /// A seqlock array ([`crate::seqlock`]).
    Array = 1,
    /// A log ring ([`crate::ring`]).
    Ring = 2,
}

impl RegionKind {
    fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(RegionKind::Array),
            2 => Some(RegionKind::Ring),
            _ => None,
        }
    }
}

/// The lifecycle state of a region.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind, RegionState};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Ring, 1, 0).unwrap();
/// assert_eq!(header::validate(&mem, RegionKind::Ring).unwrap().state, RegionState::Initialising);
/// header::publish_ready(&mem);
/// assert_eq!(header::validate(&mem, RegionKind::Ring).unwrap().state, RegionState::Ready);
/// header::close(&mem);
/// assert_eq!(header::validate(&mem, RegionKind::Ring).unwrap().state, RegionState::Closed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionState {
    /// The creator has not published the region yet.
    Initialising,
    /// Open for use.
    Ready,
    /// The owner closed it; no new users should attach.
    Closed,
}

const INITIALISING: u64 = 0;
const READY: u64 = 1;
const CLOSED: u64 = 2;

/// The validated contents of a region header.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind, RegionState};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Array, 4242, 1_700_000_000_000_000_000).unwrap();
/// header::publish_ready(&mem);
/// let info = header::validate(&mem, RegionKind::Array).unwrap();
/// assert_eq!(info.version, header::VERSION);
/// assert_eq!(info.len, 128);
/// assert_eq!(info.state, RegionState::Ready);
/// assert_eq!((info.creator_pid, info.created_ns), (4242, 1_700_000_000_000_000_000));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The layout version ([`MIN_VERSION`] ..= [`VERSION`]).
    pub version: u32,
    /// What the region holds.
    pub kind: RegionKind,
    /// The total region length in bytes.
    pub len: u64,
    /// The state when the header was read.
    pub state: RegionState,
    /// The creator's process id.
    pub creator_pid: u64,
    /// When the region was created, in ns since the UNIX epoch.
    pub created_ns: u64,
}

/// Why a region header was rejected.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Ring, 1, 0).unwrap();
/// header::publish_ready(&mem);
/// // An opener that maps fewer bytes than the creator wrote is refused before it reads anything else.
/// let err = header::validate(&RawRegion::new(&words[..12]), RegionKind::Ring).unwrap_err();
/// assert_eq!(err, HeaderError::LengthMismatch { header: 128, mapped: 96 });
/// assert_eq!(err.to_string(), "region header says 128 bytes but 96 are mapped");
/// // Someone else's bytes.
/// mem.copy_in(0, b"NOTOURS!");
/// assert_eq!(header::validate(&mem, RegionKind::Ring), Err(HeaderError::Foreign));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The mapping is shorter than the header or than the layout needs.
    TooShort {
        /// Bytes needed.
        needed: u64,
        /// Bytes mapped.
        mapped: u64,
    },
    /// The magic is not seqring's: the region belongs to something else.
    Foreign,
    /// The region was written by a newer (or unknown) layout version.
    UnsupportedVersion(u32),
    /// The region holds a different kind of object (or an unknown kind code).
    WrongKind {
        /// The kind the caller asked for.
        expected: RegionKind,
        /// The kind code found.
        found: u32,
    },
    /// The header's length disagrees with the mapping.
    LengthMismatch {
        /// The length in the header.
        header: u64,
        /// The length of the caller's mapping.
        mapped: u64,
    },
    /// The state word holds no known state.
    BadState(u64),
    /// The region was closed by its owner.
    Closed,
    /// The creator did not publish the region within the caller's patience.
    NotReady,
    /// A kind-specific field is invalid; the string names it.
    Corrupt(&'static str),
}

impl core::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HeaderError::TooShort { needed, mapped } => {
                write!(f, "region too short: {mapped} bytes mapped, {needed} needed")
            }
            HeaderError::Foreign => f.write_str("not a seqring region (bad magic)"),
            HeaderError::UnsupportedVersion(v) => write!(f, "unsupported region layout version {v}"),
            HeaderError::WrongKind { expected, found } => {
                write!(f, "region holds kind {found}, expected {expected:?}")
            }
            HeaderError::LengthMismatch { header, mapped } => {
                write!(f, "region header says {header} bytes but {mapped} are mapped")
            }
            HeaderError::BadState(s) => write!(f, "region state word holds unknown value {s}"),
            HeaderError::Closed => f.write_str("region was closed by its owner"),
            HeaderError::NotReady => f.write_str("region was not published in time"),
            HeaderError::Corrupt(what) => write!(f, "corrupt region layout: {what}"),
        }
    }
}

impl core::error::Error for HeaderError {}

/// Writes the header of a new region of `kind` covering all of `mem`, in the initialising state.
///
/// The caller then writes its kind-specific layout and calls [`publish_ready`].
///
/// # Errors
/// [`HeaderError::TooShort`] if `mem` cannot hold the header.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind, RegionState};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Array, 77, 99).unwrap();
/// // Written but not yet published: an opener sees it initialising, and a bounded wait gives up.
/// assert_eq!(header::validate(&mem, RegionKind::Array).unwrap().state, RegionState::Initialising);
/// assert_eq!(header::wait_ready(&mem, RegionKind::Array, seqring_core::Spins(3)), Err(HeaderError::NotReady));
/// header::publish_ready(&mem);
/// let info = header::validate(&mem, RegionKind::Array).unwrap();
/// assert_eq!((info.len, info.creator_pid, info.created_ns), (128, 77, 99));
/// ```
pub fn init_header<M: Memory>(mem: &M, kind: RegionKind, creator_pid: u64, created_ns: u64) -> Result<(), HeaderError> {
    check_len(mem, HEADER_LEN)?;
    // Relaxed: nobody may read these until the Release store in `publish_ready`.
    mem.store(STATE_AT, INITIALISING, Ordering::Relaxed);
    mem.store(
        VERSION_KIND_AT,
        u64::from(VERSION) | (u64::from(kind as u32) << 32),
        Ordering::Relaxed,
    );
    mem.store(LENGTH_AT, mem.len() as u64, Ordering::Relaxed);
    mem.store(PID_AT, creator_pid, Ordering::Relaxed);
    mem.store(CREATED_AT, created_ns, Ordering::Relaxed);
    mem.store(48, 0, Ordering::Relaxed);
    mem.store(56, 0, Ordering::Relaxed);
    mem.store(MAGIC_AT, MAGIC, Ordering::Relaxed);
    Ok(())
}

/// Publishes a fully initialised region.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind, RegionState};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Ring, 1, 0).unwrap();
/// header::publish_ready(&mem);
/// assert_eq!(header::wait_ready(&mem, RegionKind::Ring, seqring_core::Spins(0)).unwrap().state, RegionState::Ready);
/// ```
pub fn publish_ready<M: Memory>(mem: &M) {
    // Release: pairs with the Acquire load of `state` in `validate`, publishing every field written before.
    mem.store(STATE_AT, READY, Ordering::Release);
}

/// Marks the region closed, so that new openers are refused.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind, RegionState};
/// use seqring_core::{Memory, RawRegion};
/// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// header::init_header(&mem, RegionKind::Ring, 1, 0).unwrap();
/// header::publish_ready(&mem);
/// header::close(&mem);
/// assert_eq!(header::wait_ready(&mem, RegionKind::Ring, seqring_core::Spins(10)), Err(HeaderError::Closed));
/// ```
pub fn close<M: Memory>(mem: &M) {
    // Release: pairs with the Acquire load in `validate`; closing publishes nothing new but keeps the state word's
    // accesses uniformly ordered.
    mem.store(STATE_AT, CLOSED, Ordering::Release);
}

/// Checks that `mem` is at least `needed` bytes long.
///
/// # Errors
/// [`HeaderError::TooShort`] otherwise.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// assert_eq!(header::check_len(&mem, 32), Ok(()));
/// assert_eq!(header::check_len(&mem, 33), Err(HeaderError::TooShort { needed: 33, mapped: 32 }));
/// ```
pub fn check_len<M: Memory>(mem: &M, needed: usize) -> Result<(), HeaderError> {
    if mem.len() < needed {
        return Err(HeaderError::TooShort {
            needed: needed as u64,
            mapped: mem.len() as u64,
        });
    }
    Ok(())
}

/// Validates the header against `kind` and the length of `mem`, without waiting.
///
/// A region still initialising is reported with `state: Initialising` once its header is complete, or as
/// [`HeaderError::NotReady`] while the magic has not been written.
///
/// # Errors
/// Every [`HeaderError`] but `Closed` and `Corrupt`.
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, RegionKind, HeaderError};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..8).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// assert_eq!(header::validate(&mem, RegionKind::Ring), Err(HeaderError::NotReady));
/// header::init_header(&mem, RegionKind::Ring, 1, 2).unwrap();
/// header::publish_ready(&mem);
/// assert_eq!(header::validate(&mem, RegionKind::Ring).unwrap().len, 64);
/// assert!(matches!(header::validate(&mem, RegionKind::Array), Err(HeaderError::WrongKind { .. })));
/// ```
pub fn validate<M: Memory>(mem: &M, kind: RegionKind) -> Result<RegionInfo, HeaderError> {
    check_len(mem, HEADER_LEN)?;
    // Acquire: pairs with the Release store in `publish_ready`.
    let state = match mem.load(STATE_AT, Ordering::Acquire) {
        INITIALISING => RegionState::Initialising,
        READY => RegionState::Ready,
        CLOSED => RegionState::Closed,
        other => {
            return Err(if mem.load(MAGIC_AT, Ordering::Relaxed) == MAGIC {
                HeaderError::BadState(other)
            } else {
                HeaderError::Foreign
            })
        }
    };
    match mem.load(MAGIC_AT, Ordering::Relaxed) {
        MAGIC => {}
        0 if state == RegionState::Initialising => return Err(HeaderError::NotReady),
        _ => return Err(HeaderError::Foreign),
    }
    let vk = mem.load(VERSION_KIND_AT, Ordering::Relaxed);
    let version = vk as u32;
    if !(MIN_VERSION..=VERSION).contains(&version) {
        return Err(HeaderError::UnsupportedVersion(version));
    }
    let found = (vk >> 32) as u32;
    match RegionKind::from_code(found) {
        Some(k) if k == kind => {}
        _ => return Err(HeaderError::WrongKind { expected: kind, found }),
    }
    let len = mem.load(LENGTH_AT, Ordering::Relaxed);
    if len != mem.len() as u64 {
        return Err(HeaderError::LengthMismatch {
            header: len,
            mapped: mem.len() as u64,
        });
    }
    Ok(RegionInfo {
        version,
        kind,
        len,
        state,
        creator_pid: mem.load(PID_AT, Ordering::Relaxed),
        created_ns: mem.load(CREATED_AT, Ordering::Relaxed),
    })
}

/// Validates the header and waits, within `patience`, for the region to be ready.
///
/// # Errors
/// [`HeaderError::NotReady`] if the creator did not publish it in time, [`HeaderError::Closed`] if it was closed,
/// and every error of [`validate`].
///
/// # Examples
/// ```
/// use core::sync::atomic::AtomicU64;
/// use seqring_core::header::{self, HeaderError, RegionKind};
/// use seqring_core::RawRegion;
/// let words: Vec<AtomicU64> = (0..16).map(|_| AtomicU64::new(0)).collect();
/// let mem = RawRegion::new(&words);
/// // Nobody has created the region yet: the opener's patience runs out.
/// let mut tries = 0;
/// let patience = || {
///     tries += 1;
///     tries < 5
/// };
/// assert_eq!(header::wait_ready(&mem, RegionKind::Array, patience), Err(HeaderError::NotReady));
/// assert_eq!(tries, 5);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         header::init_header(&mem, RegionKind::Array, 1, 0).unwrap();
///         header::publish_ready(&mem);
///     });
///     let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
///     let info = header::wait_ready(&mem, RegionKind::Array, || std::time::Instant::now() < deadline).unwrap();
///     assert_eq!(info.len, 128);
/// });
/// ```
pub fn wait_ready<M: Memory>(
    mem: &M,
    kind: RegionKind,
    mut patience: impl Patience,
) -> Result<RegionInfo, HeaderError> {
    loop {
        match validate(mem, kind) {
            Ok(info) if info.state == RegionState::Ready => return Ok(info),
            Ok(info) if info.state == RegionState::Closed => return Err(HeaderError::Closed),
            Ok(_) | Err(HeaderError::NotReady) => {
                if !patience.keep_waiting() {
                    return Err(HeaderError::NotReady);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::memory::RawRegion;
    use crate::patience::Spins;
    use crate::sync::AtomicU64;
    use std::vec::Vec;

    fn words(n: usize) -> Vec<AtomicU64> {
        crate::memory::test_words(n * 8)
    }

    #[test]
    fn lifecycle() {
        let w = words(16);
        let mem = RawRegion::new(&w);
        assert_eq!(
            wait_ready(&mem, RegionKind::Array, Spins(3)),
            Err(HeaderError::NotReady)
        );
        init_header(&mem, RegionKind::Array, 77, 99).unwrap();
        assert_eq!(
            validate(&mem, RegionKind::Array).unwrap().state,
            RegionState::Initialising
        );
        publish_ready(&mem);
        let info = wait_ready(&mem, RegionKind::Array, Spins(0)).unwrap();
        assert_eq!((info.len, info.creator_pid, info.created_ns), (128, 77, 99));
        close(&mem);
        assert_eq!(wait_ready(&mem, RegionKind::Array, Spins(0)), Err(HeaderError::Closed));
    }

    #[test]
    fn rejects_bad_headers() {
        let w = words(16);
        let mem = RawRegion::new(&w);
        init_header(&mem, RegionKind::Ring, 1, 1).unwrap();
        publish_ready(&mem);
        let short = RawRegion::new(&w[..4]);
        assert_eq!(
            validate(&short, RegionKind::Ring),
            Err(HeaderError::TooShort { needed: 64, mapped: 32 })
        );
        let trimmed = RawRegion::new(&w[..12]);
        assert_eq!(
            validate(&trimmed, RegionKind::Ring),
            Err(HeaderError::LengthMismatch {
                header: 128,
                mapped: 96
            })
        );
        mem.store(VERSION_KIND_AT, 3 | (2 << 32), Ordering::Relaxed);
        assert_eq!(
            validate(&mem, RegionKind::Ring),
            Err(HeaderError::UnsupportedVersion(3))
        );
        mem.store(VERSION_KIND_AT, 1 | (2 << 32), Ordering::Relaxed);
        assert_eq!(
            validate(&mem, RegionKind::Ring).unwrap().version,
            1,
            "version 1 is read"
        );
        mem.store(VERSION_KIND_AT, 1 | (9 << 32), Ordering::Relaxed);
        assert_eq!(
            validate(&mem, RegionKind::Ring),
            Err(HeaderError::WrongKind {
                expected: RegionKind::Ring,
                found: 9
            })
        );
        mem.store(STATE_AT, 7, Ordering::Relaxed);
        assert_eq!(validate(&mem, RegionKind::Ring), Err(HeaderError::BadState(7)));
        mem.store(MAGIC_AT, 12345, Ordering::Relaxed);
        assert_eq!(validate(&mem, RegionKind::Ring), Err(HeaderError::Foreign));
        mem.store(STATE_AT, 0, Ordering::Relaxed);
        assert_eq!(validate(&mem, RegionKind::Ring), Err(HeaderError::Foreign));
    }
}
