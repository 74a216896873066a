//! `seqring.LogTail`: follows a running logger's log directory from any process (Rust's `seqring::logger::LogTail`).
//!
//! Iteration yields `(source_id, timestamp_us, payload)` tuples (payload as `bytes`), each message once, in each
//! source's order, and ends when the logger stops; every wait releases the GIL. The Rust tail is behind a mutex, so
//! one tail may be shared by threads (each message goes to one of them).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use seqring::logger::{LogTail, TailError, TailFrom, TailMessage};

use crate::errors::{raise, Kind};

/// Follows a running logger's log directory (segment format) from any process.
///
/// ``LogTail(log_dir, *, from_start=False)``: with ``from_start`` every message already in the directory comes
/// first. Iterate it for ``(source_id, timestamp_us, payload)`` tuples until the logger stops, or call
/// :meth:`next` with a timeout.
#[pyclass(module = "seqring._seqring", name = "LogTail", frozen)]
pub(crate) struct PyLogTail {
    tail: Mutex<LogTail>,
}

fn tail_error(e: TailError) -> PyErr {
    let kind = match &e {
        TailError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Kind::NotFound,
        TailError::Segment(_) => Kind::Corrupt,
        _ => Kind::Base,
    };
    raise(kind, e.to_string())
}

fn message<'py>(py: Python<'py>, m: TailMessage) -> (u8, u64, Bound<'py, PyBytes>) {
    (m.source_id, m.timestamp_us, PyBytes::new(py, &m.payload))
}

impl PyLogTail {
    /// The next message within `timeout`, waiting without the GIL.
    fn wait(&self, py: Python<'_>, timeout: Duration) -> PyResult<(Option<TailMessage>, bool)> {
        py.detach(|| {
            let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
            let next = tail.next_timeout(timeout);
            next.map(|m| (m, tail.is_finished()))
        })
        .map_err(tail_error)
    }
}

#[pymethods]
impl PyLogTail {
    #[new]
    #[pyo3(signature = (log_dir, *, from_start = false))]
    fn new(py: Python<'_>, log_dir: PathBuf, from_start: bool) -> PyResult<Self> {
        if !log_dir.is_dir() {
            return Err(raise(
                Kind::NotFound,
                format!("{} is not a log directory", log_dir.display()),
            ));
        }
        let from = if from_start { TailFrom::Start } else { TailFrom::Now };
        let tail = py.detach(|| LogTail::open(&log_dir, from)).map_err(tail_error)?;
        Ok(PyLogTail { tail: Mutex::new(tail) })
    }

    /// The next message as ``(source_id, timestamp_us, payload)``, waiting up to ``timeout`` seconds (``None``:
    /// until one comes); ``None`` if none came in time or the logger stopped (see :attr:`finished`).
    #[pyo3(signature = (timeout = None))]
    fn next<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Option<(u8, u64, Bound<'py, PyBytes>)>> {
        let timeout = match timeout {
            None => Duration::MAX,
            Some(t) => Duration::try_from_secs_f64(t)
                .map_err(|_| raise(Kind::InvalidOption, format!("timeout must be >= 0 seconds, not {t}")))?,
        };
        loop {
            // Waits in slices, so that Ctrl-C reaches Python between them.
            let slice = timeout.min(Duration::from_millis(200));
            let (m, finished) = self.wait(py, slice)?;
            if let Some(m) = m {
                return Ok(Some(message(py, m)));
            }
            if finished || timeout <= slice {
                return Ok(None);
            }
            py.check_signals()?;
        }
    }

    /// Whether the logger stopped and every message it wrote was handed out.
    #[getter]
    fn finished(&self) -> bool {
        self.tail.lock().unwrap_or_else(|p| p.into_inner()).is_finished()
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<(u8, u64, Bound<'py, PyBytes>)>> {
        // Without a timeout, `next` returns None only once the logger stopped: the end of the iteration.
        self.next(py, None)
    }
}
