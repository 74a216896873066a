//! Maps seqring's typed errors onto the `seqring.errors` exception classes (defined in Python, so that they can
//! derive from both `SeqringError` and a builtin such as `FileNotFoundError`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use seqring::archive::{ArchiveError, AssembleError};
use seqring::logger::{LogError, LoggerError, OpenError, RecoverError, StartError, StopError, WriteError};
use seqring::shared_array::SharedArrayError;
use seqring_platform::RegionError;
use seqring_state::config::ConfigError;
use seqring_state::processing::{ChecksumError, DeleteError, FileError, InterpolateError, MarkerError, TransferError};
use seqring_state::tracker::TrackerError;
use std::io::ErrorKind;

/// The `seqring.errors` class an error maps to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// `SeqringError` itself.
    Base,
    /// `NotFoundError` (a `FileNotFoundError`).
    NotFound,
    /// `AlreadyExistsError` (a `FileExistsError`).
    AlreadyExists,
    /// `PermissionDeniedError` (a `PermissionError`).
    PermissionDenied,
    /// `SeqringTimeoutError` (a `TimeoutError`).
    Timeout,
    /// `InvalidNameError` (a `ValueError`).
    InvalidName,
    /// `DTypeMismatchError` (a `TypeError`).
    DTypeMismatch,
    /// `ShapeError` (a `ValueError`).
    Shape,
    /// `CorruptArchiveError` (a `ValueError`).
    Corrupt,
    /// `ClosedError` (a `ValueError`): the handle was closed or destroyed.
    Closed,
    /// `TrackerError` (a `ValueError`): a tracker has no such job, a job, request or query is invalid, or its file
    /// is not a `.yaml`/`.yml` tracker.
    Tracker,
    /// `InvalidOptionError` (a `ValueError`): an option or argument out of range.
    InvalidOption,
    /// `PayloadTooLargeError` (a `ValueError`): a message longer than the logger's largest payload.
    PayloadTooLarge,
    /// `EmptyDirectoryError` (a `ValueError`): a directory checksum over no file.
    EmptyDirectory,
    /// `NotAFileError` (an `IsADirectoryError`): a directory where a file is needed.
    NotAFile,
    /// `NotAFolderError` (a `NotADirectoryError`): a file where a directory is needed.
    NotAFolder,
    /// `SeqringOSError` (an `OSError`): a file operation failed for another reason.
    Io,
    /// `TransferError` (a `RuntimeError`): a directory transfer was refused or failed verification.
    Transfer,
    /// `ConfigError` (a `ValueError`): a YAML file's path or text is unusable.
    Config,
    /// `InterpolateError` (a `ValueError`): interpolation inputs are unusable.
    Interpolate,
    /// `SchemaError` (a `ValueError`): a source's schema cannot change, a payload disagrees with it, or a schema
    /// side file is malformed.
    Schema,
    /// `RingFullError`: the logger's ring was full; the message was dropped and counted.
    RingFull,
    // Keep `RingFull` last, or move `KINDS` to the new last kind: it sizes the class cache.
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Base => "SeqringError",
            Kind::NotFound => "NotFoundError",
            Kind::AlreadyExists => "AlreadyExistsError",
            Kind::PermissionDenied => "PermissionDeniedError",
            Kind::Timeout => "SeqringTimeoutError",
            Kind::InvalidName => "InvalidNameError",
            Kind::DTypeMismatch => "DTypeMismatchError",
            Kind::Shape => "ShapeError",
            Kind::Corrupt => "CorruptArchiveError",
            Kind::Closed => "ClosedError",
            Kind::Tracker => "TrackerError",
            Kind::InvalidOption => "InvalidOptionError",
            Kind::PayloadTooLarge => "PayloadTooLargeError",
            Kind::EmptyDirectory => "EmptyDirectoryError",
            Kind::NotAFile => "NotAFileError",
            Kind::NotAFolder => "NotAFolderError",
            Kind::Io => "SeqringOSError",
            Kind::Transfer => "TransferError",
            Kind::Config => "ConfigError",
            Kind::Interpolate => "InterpolateError",
            Kind::Schema => "SchemaError",
            Kind::RingFull => "RingFullError",
        }
    }
}

/// The number of [`Kind`]s (the length of the class cache).
const KINDS: usize = Kind::RingFull as usize + 1;

/// The Python exception of `kind` with `message`.
pub(crate) fn raise(kind: Kind, message: impl Into<String>) -> PyErr {
    // Each class is looked up once per interpreter: a full ring raises on a producer's hot path.
    static CLASSES: [PyOnceLock<Py<PyType>>; KINDS] = [const { PyOnceLock::new() }; KINDS];
    let message = message.into();
    Python::attach(
        |py| match CLASSES[kind as usize].import(py, "seqring.errors", kind.class_name()) {
            Ok(class) => PyErr::from_type(class.clone(), message),
            // Only when the package is broken: still an exception, never a panic.
            Err(e) => e,
        },
    )
}

/// The name of `obj`'s type, for messages.
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

fn io_kind(e: &std::io::Error) -> Kind {
    match e.kind() {
        ErrorKind::NotFound => Kind::NotFound,
        ErrorKind::AlreadyExists => Kind::AlreadyExists,
        ErrorKind::PermissionDenied => Kind::PermissionDenied,
        ErrorKind::IsADirectory => Kind::NotAFile,
        ErrorKind::NotADirectory => Kind::NotAFolder,
        _ => Kind::Base,
    }
}

fn region_kind(e: &RegionError) -> Kind {
    match e {
        RegionError::NotFound { .. } => Kind::NotFound,
        RegionError::AlreadyExists { .. } => Kind::AlreadyExists,
        RegionError::PermissionDenied { .. } => Kind::PermissionDenied,
        RegionError::InvalidName { .. } => Kind::InvalidName,
        RegionError::NotReady { .. } => Kind::Timeout,
        _ => Kind::Base,
    }
}

/// A shared-array error as its Python exception.
pub(crate) fn array_error(e: SharedArrayError) -> PyErr {
    let kind = match &e {
        SharedArrayError::Region(r) => region_kind(r),
        SharedArrayError::DTypeMismatch { .. } | SharedArrayError::Descr { .. } => Kind::DTypeMismatch,
        SharedArrayError::WriterStalled { .. } | SharedArrayError::Busy { .. } => Kind::Timeout,
        SharedArrayError::ShapeMismatch { .. }
        | SharedArrayError::IndexOutOfBounds { .. }
        | SharedArrayError::OutOfBounds { .. }
        | SharedArrayError::LengthMismatch { .. }
        | SharedArrayError::BadShape { .. }
        | SharedArrayError::CapacityExceeded { .. } => Kind::Shape,
        _ => Kind::Base,
    };
    raise(kind, e.to_string())
}

/// An archive-reading error as its Python exception.
pub(crate) fn archive_error(e: ArchiveError) -> PyErr {
    let kind = match &e {
        ArchiveError::Io { source, .. } => io_kind(source),
        ArchiveError::NotADirectory { .. } | ArchiveError::NoArchive { .. } => Kind::NotFound,
        _ => Kind::Corrupt,
    };
    raise(kind, e.to_string())
}

/// An assembly error as its Python exception.
pub(crate) fn assemble_error(e: AssembleError) -> PyErr {
    let kind = match &e {
        AssembleError::Io { source, .. } => io_kind(source),
        AssembleError::NotADirectory { .. } => Kind::NotFound,
        AssembleError::BadEntryName { .. } | AssembleError::BadEntry { .. } => Kind::Corrupt,
        AssembleError::Segment(seqring::format::segment::SegmentError::Io { source, .. }) => io_kind(source),
        AssembleError::Segment(_) => Kind::Corrupt,
        _ => Kind::Base,
    };
    raise(kind, e.to_string())
}

/// A tracker error as its Python exception (ataraxis raises `ValueError` for an unknown job and `TimeoutError` for
/// the lock; `TrackerError` and `SeqringTimeoutError` derive from those).
pub(crate) fn tracker_error(e: TrackerError) -> PyErr {
    let kind = match &e {
        TrackerError::File(ConfigError::Read { source, .. } | ConfigError::CreateDir { source, .. }) => io_kind(source),
        TrackerError::File(ConfigError::Write(w)) => io_kind(&w.source),
        TrackerError::File(ConfigError::Parse { .. } | ConfigError::Extension { .. }) => Kind::Tracker,
        TrackerError::LockTimeout { .. } => Kind::Timeout,
        TrackerError::Lock { source, .. } | TrackerError::Discover { source, .. } => io_kind(source),
        TrackerError::UnknownJob { .. }
        | TrackerError::InvalidJob { .. }
        | TrackerError::EmptyRequest { .. }
        | TrackerError::OutsideUniverse { .. }
        | TrackerError::NotInUniverse { .. } => Kind::Tracker,
        _ => Kind::Base,
    };
    raise(kind, e.to_string())
}

/// A directory-checksum error as its Python exception.
pub(crate) fn checksum_error(e: ChecksumError) -> PyErr {
    let kind = match &e {
        ChecksumError::Walk(w) => io_kind(&w.source),
        ChecksumError::Read { source, .. } => io_kind(source),
        ChecksumError::Save(w) => io_kind(&w.source),
        ChecksumError::Empty { .. } => Kind::EmptyDirectory,
        _ => Kind::Base,
    };
    raise(kind, e.to_string())
}

/// A logger error (of any operation) as its Python exception; a failed stop carries its report as the exception's
/// `report` dict.
pub(crate) fn logger_error(py: Python<'_>, e: impl Into<LoggerError>) -> PyErr {
    let e = e.into();
    let kind = match &e {
        LoggerError::Start(e) => match e {
            StartError::InvalidName { .. } => Kind::InvalidName,
            StartError::InvalidOption(_) => Kind::InvalidOption,
            StartError::NameInUse { .. } => Kind::AlreadyExists,
            StartError::Region { source, .. } => region_kind(source),
            StartError::Io { source, .. }
            | StartError::Write {
                source: WriteError::Io { source, .. },
                ..
            } => io_kind(source),
            _ => Kind::Base,
        },
        LoggerError::Open(e) => match e {
            OpenError::InvalidName { .. } => Kind::InvalidName,
            OpenError::OnsetTaken { .. } => Kind::AlreadyExists,
            OpenError::NotRunning { .. } => Kind::NotFound,
            OpenError::Region { source, .. } => region_kind(source),
            OpenError::Onset { error, .. } => log_kind(*error),
            _ => Kind::Base,
        },
        LoggerError::Stop(StopError::Disk { source, .. }) => match &**source {
            WriteError::Io { source, .. } => io_kind(source),
            _ => Kind::Base,
        },
        LoggerError::Recover(RecoverError { source, .. }) => io_kind(source),
        _ => Kind::Base,
    };
    let err = raise(kind, e.to_string());
    let report = match &e {
        LoggerError::Stop(StopError::Disk { report, .. } | StopError::Drain { report, .. }) => Some(report),
        _ => None,
    };
    if let Some(report) = report {
        // The exception stays raisable without its report if the dict cannot be built.
        if let Ok(d) = crate::logger::report_dict(py, report) {
            let _ = err.value(py).setattr("report", d);
        }
    }
    err
}

fn log_kind(e: LogError) -> Kind {
    match e {
        LogError::Full => Kind::RingFull,
        LogError::TooLarge { .. } => Kind::PayloadTooLarge,
        LogError::Stopped | LogError::TakenOver => Kind::Closed,
        LogError::OnsetTimestamp => Kind::InvalidOption,
        _ => Kind::Base,
    }
}

/// A failed log call of source `source_id` of logger `name` as its Python exception.
#[cold]
pub(crate) fn log_error(name: &str, source_id: u8, e: LogError) -> PyErr {
    raise(log_kind(e), format!("logger {name:?}, source {source_id}: {e}"))
}

/// An I/O error's kind, with `SeqringOSError` (an `OSError`) where no more specific class applies.
pub(crate) fn os_kind(e: &std::io::Error) -> Kind {
    match io_kind(e) {
        Kind::Base => Kind::Io,
        k => k,
    }
}

/// A YAML file error as its Python exception: a wrong extension or unparsable text is a `ConfigError` (a
/// `ValueError`, as ataraxis raises for the extension); I/O errors by their kind (a missing file:
/// `NotFoundError`).
pub(crate) fn config_error(e: ConfigError) -> PyErr {
    let kind = match &e {
        ConfigError::Read { source, .. } | ConfigError::CreateDir { source, .. } => os_kind(source),
        ConfigError::Write(w) => os_kind(&w.source),
        _ => Kind::Config,
    };
    raise(kind, e.to_string())
}

/// A failed file write as its Python exception (an `OSError` of the matching class).
pub(crate) fn file_write_error(e: FileError) -> PyErr {
    raise(os_kind(&e.source), e.to_string())
}

fn delete_kind(e: &DeleteError) -> Kind {
    match e {
        DeleteError::Io { source, .. } => os_kind(source),
        DeleteError::NotADirectory { .. } => Kind::NotAFolder,
        _ => Kind::Io,
    }
}

/// A failed directory deletion as its Python exception (an `OSError` of the matching class).
pub(crate) fn delete_error(e: DeleteError) -> PyErr {
    raise(delete_kind(&e), e.to_string())
}

/// A failed transfer as its Python exception: a missing source is a `NotFoundError`, a refused or unverified
/// transfer (nested, dirty destination, nothing to verify, checksum mismatch) a `TransferError` (a `RuntimeError`,
/// as ataraxis raises), a failed copy or read an `OSError` of the matching class.
pub(crate) fn transfer_error(e: TransferError) -> PyErr {
    let kind = match &e {
        TransferError::Walk(w) => os_kind(&w.source),
        TransferError::Clear { error, .. }
        | TransferError::Copy { error, .. }
        | TransferError::ReadChecksum { error, .. } => os_kind(error),
        TransferError::Checksum(ChecksumError::Walk(w)) => os_kind(&w.source),
        TransferError::Checksum(ChecksumError::Read { source, .. }) => os_kind(source),
        TransferError::Checksum(ChecksumError::Save(w)) => os_kind(&w.source),
        TransferError::RemoveSource(d) => delete_kind(d),
        _ => Kind::Transfer,
    };
    let reason = match &e {
        TransferError::Nested { .. } => "nested",
        TransferError::DirtyDestination { .. } => "dirty_destination",
        TransferError::Checksum(ChecksumError::Empty { .. }) => "nothing_to_verify",
        TransferError::Mismatch { .. } => "mismatch",
        TransferError::Links { .. } => "links",
        _ => "io",
    };
    let links = match &e {
        TransferError::Links { links, .. } => links.clone(),
        _ => Vec::new(),
    };
    let err = raise(kind, e.to_string());
    // Which refusal this is (and the links refused), for callers that word it their own way (seqring.compat).
    Python::attach(|py| {
        let _ = err.value(py).setattr("reason", reason);
        let _ = err.value(py).setattr("links", links);
    });
    err
}

/// A failed marker search as its Python exception: an unreadable tree by its I/O kind, a marker without the asked
/// ancestor or paths without a unique component an `InvalidOptionError` (a `ValueError`, as ataraxis raises).
pub(crate) fn marker_error(e: MarkerError) -> PyErr {
    let kind = match &e {
        MarkerError::Walk(w) => os_kind(&w.source),
        _ => Kind::InvalidOption,
    };
    raise(kind, e.to_string())
}

/// A refused interpolation as its Python exception (`InterpolateError`, a `ValueError`).
pub(crate) fn interpolate_error(e: InterpolateError) -> PyErr {
    raise(Kind::Interpolate, e.to_string())
}
