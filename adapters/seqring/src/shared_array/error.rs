//! The typed error of shared-array operations; every variant names the array's region.

use seqring_core::seqlock::{ArrayError, DescrError};
use seqring_core::DType;
use seqring_platform::RegionError;

/// Why a shared-array operation failed.
///
/// # Examples
/// ```
/// use seqring::shared_array::{SharedArray, SharedArrayError};
/// let name = format!("doc-error-{}", std::process::id());
/// let a = SharedArray::<u8>::create(&name, &[2])?;
/// match a.write(&[1, 2, 3]) {
///     Err(SharedArrayError::LengthMismatch { expected, given, .. }) => assert_eq!((expected, given), (2, 3)),
///     other => panic!("{other:?}"),
/// }
/// let e = a.get(&[2]).unwrap_err();
/// assert_eq!(e.to_string(), format!("array {name}: index [2] is outside shape [2]"));
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SharedArrayError {
    /// The contents are a partial write recovered from a dead writer (`recover`): suspect until the next whole
    /// write. The element and slice reads refuse them; `read_whole`, `read_at` and `snapshot` return them with
    /// [`Snapshot::suspect`](super::Snapshot::suspect) set, for callers that accept them.
    #[error("array {name} holds a partial write recovered from a dead writer (version {version}): its contents are suspect until the next whole write; read them with read_whole() to accept them")]
    Suspect {
        /// The array.
        name: String,
        /// The version read.
        version: u64,
    },
    /// Creating, opening or validating the region failed (missing, existing, denied, wrong kind, bad layout, too
    /// new, bad name).
    #[error(transparent)]
    Region(#[from] RegionError),
    /// The array holds another element type.
    #[error("array {name} holds {} elements, not {}", spell(*found), spell(*expected))]
    DTypeMismatch {
        /// The array.
        name: String,
        /// The element type asked for.
        expected: DType,
        /// The element type it holds.
        found: DType,
    },
    /// The array has another shape than the caller expects.
    #[error("array {name} has shape {found:?}, not {expected:?}")]
    ShapeMismatch {
        /// The array.
        name: String,
        /// The shape asked for.
        expected: Vec<u64>,
        /// The shape it has.
        found: Vec<u64>,
    },
    /// A writer has held the array's write section beyond the timeout: it is slow or dead.
    #[error("array {name}: {} has held the write section {}{}", writer(*.pid), held_for(*.since_ns),
        liveness(*.alive))]
    WriterStalled {
        /// The array.
        name: String,
        /// The stalled writer's process id; 0 if it died right after taking the lock, before recording itself.
        pid: u32,
        /// Whether that process is still alive (`None` when the pid is unknown).
        alive: Option<bool>,
        /// When its write started, in ns since the UNIX epoch (0 when unknown).
        since_ns: u64,
        /// The odd sequence it holds: what [`recover`](super::SharedArray::recover) takes, to clear this stall
        /// and no later one.
        sequence: u64,
    },
    /// Writers kept completing writes while a reader retried, beyond its timeout.
    #[error("array {name}: writers kept it busy beyond the timeout")]
    Busy {
        /// The array.
        name: String,
    },
    /// An n-d index has the wrong number of dimensions or lies outside the shape.
    #[error("array {name}: index {index:?} is outside shape {shape:?}")]
    IndexOutOfBounds {
        /// The array.
        name: String,
        /// The index given.
        index: Vec<u64>,
        /// The array's shape.
        shape: Vec<u64>,
    },
    /// A range of elements runs past the end of the data.
    #[error("array {name}: the range ends at element {end}, past its {available} elements")]
    OutOfBounds {
        /// The array.
        name: String,
        /// The range's end (exclusive), in elements.
        end: u64,
        /// The elements available.
        available: u64,
    },
    /// A whole-array write has another number of elements than the array.
    #[error("array {name}: {given} elements given for an array of {expected}")]
    LengthMismatch {
        /// The array.
        name: String,
        /// The array's element count.
        expected: u64,
        /// The elements given.
        given: u64,
    },
    /// A shape has more than 8 dimensions or its element count overflows.
    #[error("array {name}: shape {shape:?} has more than 8 dimensions or too many elements")]
    BadShape {
        /// The array.
        name: String,
        /// The shape.
        shape: Vec<u64>,
    },
    /// The array lock ([`SharedArray::lock`](super::SharedArray::lock)) stayed held by a live process beyond the
    /// timeout.
    #[error("array {name}: its lock stayed held by pid {holder_pid} beyond the timeout")]
    LockTimeout {
        /// The array.
        name: String,
        /// The process holding the lock.
        holder_pid: u32,
    },
    /// A record dtype's descriptor is refused at creation (too long, not printable ASCII, missing), or the one
    /// found in a region is corrupt.
    #[error("array {name}: {reason}")]
    Descr {
        /// The array.
        name: String,
        /// What is wrong with it.
        reason: DescrError,
    },
    /// A shape needs more bytes than the array's capacity.
    #[error("array {name}: the shape needs {needed} bytes but the capacity is {capacity}")]
    CapacityExceeded {
        /// The array.
        name: String,
        /// Bytes the shape needs.
        needed: u64,
        /// The capacity in bytes.
        capacity: u64,
    },
}

/// A dtype as error messages name it: its numpy descr, or a record's size (its description is in the region).
fn spell(dtype: DType) -> String {
    match dtype {
        DType::Record { itemsize } => format!("record ({itemsize}-byte)"),
        plain => plain.descr().to_string(),
    }
}

fn writer(pid: u32) -> String {
    if pid == 0 {
        "an unknown writer".into()
    } else {
        format!("writer pid {pid}")
    }
}

fn held_for(since_ns: u64) -> String {
    if since_ns == 0 {
        "since an unknown time".into()
    } else {
        format!("for {:.3} s", seqring_platform::clock::since_ns(since_ns).as_secs_f64())
    }
}

fn liveness(alive: Option<bool>) -> &'static str {
    match alive {
        Some(true) => " (the process is alive: slow, or stopped)",
        Some(false) => " (the process is dead: call recover(sequence))",
        None => " (call recover(sequence) if no writer is running)",
    }
}

/// Packs a process id into a seqlock writer token (the pid in the high 32 bits; never 0).
pub(crate) fn token_of(pid: u32) -> u64 {
    (u64::from(pid) << 32) | 1
}

/// The process id packed in a writer token by [`token_of`].
pub(crate) fn pid_of(token: u64) -> u32 {
    (token >> 32) as u32
}

impl SharedArrayError {
    /// The error for the core's `e` on array `name` of elements of `itemsize` bytes.
    #[cold]
    pub(crate) fn from_core(name: &str, e: ArrayError, itemsize: usize) -> Self {
        let name = name.to_string();
        match e {
            ArrayError::Region(reason) => RegionError::from_layout(&name, reason).into(),
            ArrayError::WriterStalled { token, since, sequence } => {
                let pid = pid_of(token);
                SharedArrayError::WriterStalled {
                    name,
                    pid,
                    alive: (pid != 0).then(|| seqring_platform::pid_alive(u64::from(pid))),
                    since_ns: since,
                    sequence,
                }
            }
            ArrayError::Busy => SharedArrayError::Busy { name },
            ArrayError::Suspect { version } => SharedArrayError::Suspect { name, version },
            ArrayError::DTypeMismatch { array, requested } => SharedArrayError::DTypeMismatch {
                name,
                expected: requested,
                found: array,
            },
            ArrayError::OutOfBounds { end, len } => {
                let size = itemsize.max(1) as u64;
                SharedArrayError::OutOfBounds {
                    name,
                    end: end.div_ceil(size),
                    available: len / size,
                }
            }
            ArrayError::CapacityExceeded { needed, capacity } => {
                SharedArrayError::CapacityExceeded { name, needed, capacity }
            }
            ArrayError::Descr(reason) => SharedArrayError::Descr { name, reason },
            ArrayError::LengthMismatch { len, given } => {
                let size = itemsize.max(1) as u64;
                SharedArrayError::LengthMismatch {
                    name,
                    expected: len / size,
                    given: given / size,
                }
            }
            _ => SharedArrayError::BadShape {
                name,
                shape: Vec::new(),
            },
        }
    }

    /// Whether this is a stall of the writer lock (the error [`recover`](super::SharedArray::recover) is for).
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-stall-{}", std::process::id());
    /// let a = SharedArray::<u64>::create(&name, &[2])?;
    /// # let (held, is_held) = std::sync::mpsc::channel();
    /// # let writer = SharedArray::<u64>::open(&name)?;
    /// # std::thread::spawn(move || writer.hold_write_section_forever(&[1], || held.send(()).unwrap()));
    /// # is_held.recv().unwrap();
    /// // another writer of this process is inside its write section, and stays there
    /// let e = a.write_timeout(&[7, 7], Duration::from_millis(20)).unwrap_err();
    /// assert!(e.is_stall());
    /// assert!(!SharedArray::<u64>::open("doc-no-such-array").unwrap_err().is_stall());
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn is_stall(&self) -> bool {
        matches!(self, SharedArrayError::WriterStalled { .. })
    }

    /// The stall this error reports, for [`recover`](super::SharedArray::recover): `None` for other errors.
    ///
    /// # Examples
    /// ```
    /// use seqring::shared_array::SharedArray;
    /// use std::time::Duration;
    /// let name = format!("doc-stall-{}", std::process::id());
    /// let a = SharedArray::<u64>::create(&name, &[2])?;
    /// # let (held, is_held) = std::sync::mpsc::channel();
    /// # let writer = SharedArray::<u64>::open(&name)?;
    /// # std::thread::spawn(move || writer.hold_write_section_forever(&[1], || held.send(()).unwrap()));
    /// # is_held.recv().unwrap();
    /// // another writer of this process is inside its write section, and stays there
    /// let e = a.write_timeout(&[7, 7], Duration::from_millis(20)).unwrap_err();
    /// let stall = e.stall().expect("a stall");
    /// assert_eq!((stall.pid, stall.alive, stall.sequence % 2), (std::process::id(), Some(true), 1));
    /// assert_eq!(a.stall(), Some(stall));
    /// // the writer is alive: do not recover (see SharedArray::recover)
    /// # Ok::<(), seqring::shared_array::SharedArrayError>(())
    /// ```
    pub fn stall(&self) -> Option<WriterStall> {
        match *self {
            SharedArrayError::WriterStalled {
                pid,
                alive,
                since_ns,
                sequence,
                ..
            } => Some(WriterStall {
                sequence,
                pid,
                alive,
                since_ns,
            }),
            _ => None,
        }
    }
}

/// A writer holding an array's write section: what [`SharedArray::stall`](super::SharedArray::stall) and
/// [`SharedArrayError::stall`] report, and what [`SharedArray::recover`](super::SharedArray::recover) takes.
///
/// # Examples
/// ```
/// use seqring::shared_array::SharedArray;
/// let name = format!("doc-writer-stall-{}", std::process::id());
/// let a = SharedArray::<u64>::create(&name, &[2])?;
/// # let (held, is_held) = std::sync::mpsc::channel();
/// # let writer = SharedArray::<u64>::open(&name)?;
/// # std::thread::spawn(move || writer.hold_write_section_forever(&[1], || held.send(()).unwrap()));
/// # is_held.recv().unwrap();
/// // another writer of this process is inside its write section, and stays there
/// let stall = a.stall().expect("a writer in its write section");
/// assert_eq!((stall.pid, stall.alive), (std::process::id(), Some(true)));
/// assert!(stall.sequence % 2 == 1 && stall.since_ns > 0);
/// // alive: leave it be; recover(stall.sequence) is for a writer that died
/// # Ok::<(), seqring::shared_array::SharedArrayError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterStall {
    /// The odd sequence the writer holds.
    pub sequence: u64,
    /// Its process id (0: it had not recorded itself yet).
    pub pid: u32,
    /// Whether that process is alive (`None` when the pid is unknown).
    pub alive: Option<bool>,
    /// When its write started, in ns since the UNIX epoch (0 when unknown).
    pub since_ns: u64,
}

impl WriterStall {
    /// The stall the core reports, with the writer's liveness looked up.
    pub(crate) fn from_core(stall: seqring_core::seqlock::Stall) -> Self {
        let pid = pid_of(stall.token);
        WriterStall {
            sequence: stall.sequence,
            pid,
            alive: (pid != 0).then(|| seqring_platform::pid_alive(u64::from(pid))),
            since_ns: stall.since,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_pid_and_stalls_name_it() {
        assert_eq!(pid_of(token_of(4242)), 4242);
        assert_ne!(token_of(0), 0, "a token is never the 'unknown writer' 0");
        let me = std::process::id();
        let e = SharedArrayError::from_core(
            "a1",
            ArrayError::WriterStalled {
                token: token_of(me),
                since: seqring_platform::clock::now_ns(),
                sequence: 3,
            },
            8,
        );
        assert!(matches!(e, SharedArrayError::WriterStalled { pid, alive: Some(true), .. } if pid == me));
        let text = e.to_string();
        assert!(
            text.contains("array a1") && text.contains(&format!("pid {me}")),
            "{text}"
        );
        let e = SharedArrayError::from_core(
            "a1",
            ArrayError::WriterStalled {
                token: 0,
                since: 0,
                sequence: 1,
            },
            8,
        );
        assert!(e.to_string().contains("unknown writer"), "{e}");
    }
}
