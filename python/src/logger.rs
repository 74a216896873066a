//! `DataLogger` and `Producer` for Python: a [`seqring::logger::DataLogger`] started and stopped from Python, and
//! producers that copy any contiguous buffer straight into its ring.
//!
//! Invariants:
//! - A `DataLogger` is ready (options checked, nothing created), running, or stopped; the state lock is never held
//!   while the GIL is released, so a second thread calling into the same logger cannot deadlock against it.
//! - `Producer.log`/`log_at` under the drop policy run with the GIL held (a ~100 ns ring write; releasing the GIL
//!   would cost more); under the wait policy they release it, since the producer may wait for the drain. The
//!   payload is borrowed in place from the caller's object, never copied into a Python `bytes`: `bytes` (immutable),
//!   `bytearray` (held exported through a memoryview while the GIL is released, so it cannot be resized), a
//!   C-contiguous ndarray (its data kept alive by the reference the call holds), and anything else with the buffer
//!   protocol through a zero-copy `numpy.frombuffer` view of it.
//! - Schemas: the first ndarray (or numpy scalar) a `Producer` logs declares its dtype and shape as the source's
//!   schema (`seqring::format::schema`; a file read, and the first time written, once per producer); every later
//!   one is compared with it before anything is logged, and a different dtype or shape raises `SchemaError` with
//!   nothing logged. `bytes`-like payloads, and 1-D `uint8` ndarrays (ataraxis's serialized payloads, what
//!   `seqring.compat` logs), are raw bytes: never declared, never checked.

use crate::errors::{logger_error, raise, Kind};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyByteArrayMethods, PyBytes, PyDict, PyMemoryView, PyTuple};
use seqring::logger::{DataLogger, Format, FullPolicy, LogError, LoggerBuilder, Producer, StopReport};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Where a [`PyDataLogger`] is in its life.
enum State {
    /// Constructed: the options are checked, nothing is created yet.
    Ready(LoggerBuilder),
    /// Another thread is starting or stopping it.
    Busy,
    /// Running.
    Running(DataLogger),
    /// Stopped: every further use raises `ClosedError`.
    Stopped,
}

/// A data logger: producers in any process (:class:`Producer`) log byte messages through a shared-memory ring, and
/// its drain thread writes them under ``{output_dir}/{name}_data_log/`` without blocking them.
///
/// The constructor only checks the options; :meth:`start` creates the directory and the ring and starts the drain
/// (ataraxis's ``DataLogger`` also starts separately). As a context manager it starts on entry and stops on exit.
/// ``name`` is machine-wide (``[A-Za-z0-9._-]``, 1 to 188 characters): producers connect by it, and one running
/// logger holds it at a time.
///
/// Options (the defaults are ``seqring::logger::LoggerBuilder``'s):
///
/// - ``capacity``: the ring's data area in bytes, rounded up to a power of two, 64 B to 1 GiB (default 32 MiB).
/// - ``max_payload``: the largest message in bytes (default a quarter of the capacity less 16; at most about half).
/// - ``format``: ``"segments"`` (checksummed append-only segment files) or ``"npy"`` (one ataraxis ``.npy`` file per
///   message, written by ``writers`` threads, default 5). Either is assembled by :func:`assemble_log_archives`.
/// - ``segment_size``: bytes at which a segment file is closed and the next begun (default 256 MiB).
/// - ``fsync_interval``: seconds between syncs while running, or ``None`` to sync only at stop.
/// - ``flush_interval``: the longest the logger lets a committed message wait (idle, or gathering messages into
///   one write) before it writes it, where a :class:`LogTail` can read it (seconds, 10 µs to 1 s; default 0.001).
/// - ``on_full``: ``"drop"`` (a full ring refuses the message at once) or ``"wait"`` (the producer waits up to
///   ``wait_timeout`` seconds for room). Either way a message given up on raises :class:`RingFullError` and is
///   counted as dropped.
/// - ``abandon_timeout``: seconds a claim left uncommitted by a producer that died may block the drain.
/// - ``dir_name``: the log directory is ``{output_dir}/{dir_name}_data_log`` (default: the logger's name), so that
///   loggers with machine-wide different names can share a directory name in different output directories.
///
/// Raises :class:`InvalidOptionError` for a bad option here; :meth:`start` raises for a bad name or size.
#[pyclass(module = "seqring._seqring", name = "DataLogger", frozen)]
pub(crate) struct PyDataLogger {
    name: String,
    log_dir: PathBuf,
    state: Mutex<State>,
    /// The report of the stop, once stopped (also when a `with` block stopped it).
    report: Mutex<Option<Py<PyDict>>>,
}

impl Drop for PyDataLogger {
    /// A logger collected while it runs stops as `stop()` would (drain, write, sync), with the GIL released for
    /// that time, as every wait of this module is.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let State::Running(logger) = std::mem::replace(state, State::Stopped) {
            // Best effort, as any drop: a collector has no caller to raise to.
            Python::attach(|py| py.detach(|| drop(logger.stop())));
        }
    }
}

fn seconds(option: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        raise(
            Kind::InvalidOption,
            format!("{option} must be a finite number of seconds >= 0, not {value}"),
        )
    })
}

fn invalid(message: String) -> PyErr {
    raise(Kind::InvalidOption, message)
}

/// `value` as an unsigned integer, or `InvalidOptionError` naming `what`.
#[inline]
fn int<'py, T: FromPyObjectOwned<'py>>(what: &str, value: &Bound<'py, PyAny>) -> PyResult<T> {
    value.extract::<T>().map_err(|_| {
        invalid(format!(
            "{what} must be an int >= 0 that fits {}, not {value}",
            std::any::type_name::<T>()
        ))
    })
}

impl PyDataLogger {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave `State` half-written: every update is one assignment.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `f` of the running logger (with the state lock held: `f` must not wait).
    fn running<R>(&self, f: impl FnOnce(&DataLogger) -> R) -> PyResult<R> {
        match &*self.state() {
            State::Running(logger) => Ok(f(logger)),
            other => Err(self.not_usable(other)),
        }
    }

    fn not_usable(&self, state: &State) -> PyErr {
        match state {
            State::Ready(_) => raise(
                Kind::Base,
                format!("logger {:?} is not started: call start() first", self.name),
            ),
            State::Busy => raise(
                Kind::Base,
                format!("logger {:?} is being started or stopped by another thread", self.name),
            ),
            _ => raise(Kind::Closed, format!("logger {:?} is stopped", self.name)),
        }
    }
}

#[pymethods]
impl PyDataLogger {
    /// Checks the options; nothing is created until ``start()``.
    #[new]
    #[pyo3(signature = (
        output_dir, name, *, capacity = None, max_payload = None, format = "segments", writers = None,
        segment_size = None, fsync_interval = Some(1.0), flush_interval = 0.001, on_full = "drop",
        wait_timeout = 1.0, abandon_timeout = 1.0, dir_name = None
    ),
    text_signature = "(output_dir, name, *, capacity=None, max_payload=None, format='segments', writers=None, \
                      segment_size=None, fsync_interval=1.0, flush_interval=0.001, on_full='drop', wait_timeout=1.0, \
                      abandon_timeout=1.0, dir_name=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        output_dir: PathBuf,
        name: String,
        capacity: Option<&Bound<'_, PyAny>>,
        max_payload: Option<&Bound<'_, PyAny>>,
        format: &str,
        writers: Option<&Bound<'_, PyAny>>,
        segment_size: Option<&Bound<'_, PyAny>>,
        fsync_interval: Option<f64>,
        flush_interval: f64,
        on_full: &str,
        wait_timeout: f64,
        abandon_timeout: f64,
        dir_name: Option<&str>,
    ) -> PyResult<Self> {
        let mut builder = DataLogger::builder(&output_dir, &name);
        if let Some(stem) = dir_name {
            builder = builder.dir_name(stem);
        }
        // ataraxis writes with 5 threads.
        let writers: usize = writers.map_or(Ok(5), |w| int("writers", w))?;
        builder = builder.format(match format {
            "segments" => Format::Segments,
            "npy" if writers > 0 => Format::NpyEntries { writers },
            "npy" => return Err(invalid("writers must be at least 1".into())),
            other => return Err(invalid(format!("format must be 'segments' or 'npy', not {other:?}"))),
        });
        builder = builder.on_full(match on_full {
            "drop" => FullPolicy::Drop,
            "wait" => FullPolicy::Wait(seconds("wait_timeout", wait_timeout)?),
            other => return Err(invalid(format!("on_full must be 'drop' or 'wait', not {other:?}"))),
        });
        builder = builder
            .fsync_interval(fsync_interval.map(|s| seconds("fsync_interval", s)).transpose()?)
            .flush_interval(seconds("flush_interval", flush_interval)?)
            .abandon_timeout(seconds("abandon_timeout", abandon_timeout)?);
        if let Some(c) = capacity {
            builder = builder.capacity(int("capacity", c)?);
        }
        if let Some(p) = max_payload {
            builder = builder.max_payload(int("max_payload", p)?);
        }
        if let Some(s) = segment_size {
            builder = builder.segment_size(int("segment_size", s)?);
        }
        builder.check().map_err(|e| Python::attach(|py| logger_error(py, e)))?;
        let log_dir = builder.log_dir();
        Ok(PyDataLogger {
            name,
            log_dir,
            state: Mutex::new(State::Ready(builder)),
            report: Mutex::new(None),
        })
    }

    /// Creates the log directory and the ring and starts the drain thread. Does nothing if it is running already.
    ///
    /// Raises :class:`InvalidNameError`, :class:`InvalidOptionError` (capacity, max_payload, segment_size),
    /// :class:`AlreadyExistsError` if a live logger runs under the name, an OS error's class if the directory cannot
    /// be created, :class:`ClosedError` once stopped. A failed start leaves nothing behind and may be retried.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let builder = {
            let mut state = self.state();
            match &*state {
                State::Ready(b) => {
                    let b = b.clone();
                    *state = State::Busy;
                    b
                }
                State::Running(_) => return Ok(()),
                other => return Err(self.not_usable(other)),
            }
        };
        let started = py.detach(|| builder.clone().start());
        let mut state = self.state();
        match started {
            Ok(logger) => {
                *state = State::Running(logger);
                Ok(())
            }
            Err(e) => {
                // Nothing was left behind (the builder checks everything before it creates the region), so the
                // logger may be started again, e.g. once another logger of the name has stopped.
                *state = State::Ready(builder);
                Err(logger_error(py, e))
            }
        }
    }

    /// Stops the logger: refuses new messages, drains every committed one, syncs the files, removes the ring, and
    /// returns the account of the run as a dict:
    ///
    /// ``log_dir`` (Path), ``records`` and ``bytes`` written (each source's onset record included), ``dropped``
    /// (refused by a full ring or a stopped logger), ``abandoned`` (claims of producers that died), ``unwritten_records``
    /// and ``unwritten_bytes`` (a disk error), ``taken_over`` (drained from a dead logger's ring of the same name),
    /// ``torn_bytes_cut``, ``files`` (segment files), ``npy_entries``, and ``sources``: ``{source_id: {"records",
    /// "bytes", "dropped", "unwritten_records", "unwritten_bytes"}}`` for every source with any message.
    ///
    /// If a write failed, raises a :class:`SeqringError` (its OS error's subclass where one fits) whose ``report``
    /// attribute is that dict, exact about what is on disk. Raises :class:`ClosedError` once stopped, and
    /// :class:`SeqringError` if never started. The logger is stopped afterwards either way.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let logger = {
            let mut state = self.state();
            match std::mem::replace(&mut *state, State::Stopped) {
                State::Running(logger) => logger,
                other => {
                    let err = self.not_usable(&other);
                    *state = other;
                    return Err(err);
                }
            }
        };
        let report = py.detach(|| logger.stop()).map_err(|e| logger_error(py, e))?;
        let report = report_dict(py, &report)?;
        *self.report.lock().unwrap_or_else(|p| p.into_inner()) = Some(report.clone().unbind());
        Ok(report)
    }

    /// The report of the stop, as :meth:`stop` returned it (``None`` until stopped): how a ``with`` block's run
    /// is accounted for, since the block's exit stops the logger.
    #[getter]
    fn report(&self, py: Python<'_>) -> Option<Py<PyDict>> {
        let report = self.report.lock().unwrap_or_else(|p| p.into_inner());
        report.as_ref().map(|r| r.clone_ref(py))
    }

    /// Progress while running, as a dict: ``records`` drained, ``written`` (handed to the OS), ``bytes``,
    /// ``pending_bytes`` (in the ring, not yet drained), ``dropped``, ``abandoned``, ``error`` (the first disk error
    /// as a string, or None).
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let health = self.running(DataLogger::health)?;
        let d = PyDict::new(py);
        d.set_item("records", health.records)?;
        d.set_item("written", health.written)?;
        d.set_item("bytes", health.bytes)?;
        d.set_item("pending_bytes", health.pending_bytes)?;
        d.set_item("dropped", health.dropped)?;
        d.set_item("abandoned", health.abandoned)?;
        d.set_item("error", health.error.map(|e| e.to_string()))?;
        Ok(d)
    }

    /// Holds disk writes: messages accumulate in the ring (then drop or wait, by ``on_full``) until
    /// :meth:`resume_writing`. For keeping the disk quiet during a critical phase, and for tests.
    fn pause_writing(&self) -> PyResult<()> {
        self.running(DataLogger::pause_writing)
    }

    /// Resumes disk writes after :meth:`pause_writing`.
    fn resume_writing(&self) -> PyResult<()> {
        self.running(DataLogger::resume_writing)
    }

    /// The logger's name (machine-wide: producers connect by it).
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The log directory, `{output_dir}/{name}_data_log`.
    #[getter]
    fn log_dir(&self) -> PathBuf {
        self.log_dir.clone()
    }

    /// Whether the logger is running (started and not stopped).
    #[getter]
    fn alive(&self) -> bool {
        matches!(&*self.state(), State::Running(_))
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().start(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        if self.alive() {
            self.stop(py)?;
        }
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let state = match &*self.state() {
            State::Ready(_) => "ready",
            State::Busy => "busy",
            State::Running(_) => "running",
            State::Stopped => "stopped",
        };
        format!(
            "DataLogger(name={:?}, log_dir={:?}, state={state})",
            self.name, self.log_dir
        )
    }
}

/// A stop report as a dict (also attached as `report` to the error of a stop that failed).
pub(crate) fn report_dict<'py>(py: Python<'py>, report: &StopReport) -> PyResult<Bound<'py, PyDict>> {
    let sources = PyDict::new(py);
    for s in &report.sources {
        let d = PyDict::new(py);
        d.set_item("records", s.records)?;
        d.set_item("bytes", s.bytes)?;
        d.set_item("dropped", s.dropped)?;
        d.set_item("unwritten_records", s.unwritten_records)?;
        d.set_item("unwritten_bytes", s.unwritten_bytes)?;
        sources.set_item(s.source_id, d)?;
    }
    let d = PyDict::new(py);
    d.set_item("log_dir", &report.log_dir)?;
    d.set_item("sources", sources)?;
    d.set_item("records", report.records)?;
    d.set_item("bytes", report.bytes)?;
    d.set_item("dropped", report.dropped)?;
    d.set_item("abandoned", report.abandoned)?;
    d.set_item("unwritten_records", report.unwritten_records)?;
    d.set_item("unwritten_bytes", report.unwritten_bytes)?;
    d.set_item("taken_over", report.taken_over)?;
    d.set_item("torn_bytes_cut", report.torn_bytes_cut)?;
    d.set_item("files", &report.files)?;
    d.set_item("npy_entries", report.npy_entries)?;
    Ok(d)
}

/// A producer of one source (0..=255) of a running :class:`DataLogger`, in this process or any other: get one with
/// :meth:`Producer.connect`.
///
/// :meth:`log` and :meth:`log_at` take any object with the buffer protocol (bytes, bytearray, memoryview, a
/// C-contiguous ndarray of any dtype, array.array) and copy its raw bytes straight into the ring: no system call,
/// no intermediate object. Under ``on_full="drop"`` a call holds the GIL (it takes about 100 ns); under
/// ``on_full="wait"`` it releases the GIL, since it may wait for room. A producer object is not picklable: connect
/// one in each process. Each source's first producer logs its onset record; later messages are stamped in µs since
/// that onset.
#[pyclass(module = "seqring._seqring", name = "Producer", frozen)]
pub(crate) struct PyProducer {
    inner: Producer,
    /// The dtype and shape of the source's schema, once this producer declared or checked it (ndarrays are
    /// compared with it before they are logged).
    declared: std::sync::OnceLock<(Py<PyAny>, Vec<usize>)>,
    /// Whether the logger's policy is to wait when the ring is full (then calls release the GIL).
    waits: bool,
    logger_name: String,
}

/// `numpy.frombuffer`, for payloads that are neither bytes, bytearray nor ndarray.
static FROMBUFFER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn not_bytes_like(data: &Bound<'_, PyAny>) -> PyErr {
    let type_name = crate::errors::type_name(data);
    raise(
        Kind::DTypeMismatch,
        format!("data must be bytes-like (bytes, bytearray, memoryview, a contiguous ndarray), not {type_name}"),
    )
}

/// A check of an ndarray payload before it is logged (the source's schema).
type ArrayCheck<'a> = dyn Fn(&Bound<'_, PyUntypedArray>, &Bound<'_, PyArrayDescr>) -> PyResult<()> + 'a;

/// Runs `f` over the bytes of `data`, borrowed in place. With `release`, `f` may release the GIL: the bytes then
/// stay valid and in place without it (see the module invariants).
///
/// `check`, if given, sees every typed ndarray but a 1-D `uint8` one (raw bytes) with its dtype before its bytes are
/// borrowed (and a numpy scalar as its 0-d array): an error from it is returned and nothing is logged.
fn with_payload<R>(
    data: &Bound<'_, PyAny>,
    release: bool,
    check: Option<&ArrayCheck<'_>>,
    f: impl FnOnce(&[u8]) -> R,
) -> PyResult<R> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        // While the memoryview exists the bytearray is exported and refuses to resize (BufferError), so its
        // storage stays in place even if another thread runs while `f` has the GIL released.
        let _export = if release { Some(PyMemoryView::from(data)?) } else { None };
        // SAFETY: with the GIL held no Python code runs during `f`, so nothing can resize or free the storage; with
        // it released, the export above keeps it from being resized, and `data` keeps it alive. Concurrent writes of
        // its contents by another thread can only change the bytes logged, which the caller owns.
        return Ok(f(unsafe { b.as_bytes() }));
    }
    if let Ok(a) = data.cast::<PyUntypedArray>() {
        if !a.is_c_contiguous() {
            return Err(raise(
                Kind::Shape,
                "the ndarray is not C-contiguous: pass np.ascontiguousarray(data)",
            ));
        }
        let dtype = a.dtype();
        if dtype.has_object() {
            return Err(raise(
                Kind::DTypeMismatch,
                "an ndarray of Python objects has no raw bytes to log",
            ));
        }
        if let Some(check) = check {
            // A 1-D uint8 array is raw bytes: ataraxis's serialized payloads (what `seqring.compat` logs).
            if a.ndim() != 1 || dtype.num() != numpy::npyffi::NPY_TYPES::NPY_UBYTE as std::ffi::c_int {
                check(a, &dtype)?;
            }
        }
        // C-contiguous (checked above); `data` keeps the array alive for the call, and numpy refuses to resize an
        // array referenced beyond its owner, so its storage stays in place even while `f` has the GIL released.
        let bytes = crate::ndarray::bytes(a).ok_or_else(|| raise(Kind::Shape, "the ndarray is not C-contiguous"))?;
        return Ok(f(bytes));
    }
    // Anything else with the buffer protocol: a zero-copy uint8 view, which holds the exporter's buffer.
    let py = data.py();
    if let Some(check) = check {
        // A numpy scalar (a structured array's row is a `numpy.void`): its buffer holds its 0-d array's bytes.
        static GENERIC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        if data.is_instance(GENERIC.import(py, "numpy", "generic")?)? {
            let array = py.import("numpy")?.getattr("asarray")?.call1((data,))?;
            if let Ok(array) = array.cast::<PyUntypedArray>() {
                check(array, &array.dtype())?;
            }
        }
    }
    let frombuffer = FROMBUFFER.import(py, "numpy", "frombuffer")?;
    let view = frombuffer.call1((data, "u1")).map_err(|e| {
        if e.is_instance_of::<pyo3::exceptions::PyTypeError>(py) {
            not_bytes_like(data)
        } else {
            raise(
                Kind::Shape,
                format!("the buffer cannot be read as contiguous bytes: {e}"),
            )
        }
    })?;
    with_payload(&view, release, None, f)
}

fn source_id(value: &Bound<'_, PyAny>) -> PyResult<u8> {
    value
        .extract::<i64>()
        .ok()
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| invalid(format!("source_id must be an int in 0..=255, not {value}")))
}

/// A shape as Python writes it: `()`, `(3,)`, `(2, 3)`.
fn tuple(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

impl PyProducer {
    /// Checks a typed ndarray payload (C-contiguous, not of objects) against the source's schema, declaring it from
    /// the ndarray on the first one.
    #[inline(never)]
    fn check_schema(
        &self,
        py: Python<'_>,
        array: &Bound<'_, PyUntypedArray>,
        dtype: &Bound<'_, PyArrayDescr>,
    ) -> PyResult<()> {
        if let Some((declared, shape)) = self.declared.get() {
            let declared = declared.bind(py);
            if array.shape() == shape.as_slice() && (dtype.is(declared) || dtype.as_any().eq(declared)?) {
                return Ok(());
            }
            return Err(raise(
                Kind::Schema,
                format!(
                    "source {} of logger {:?} logs ndarrays of dtype {declared} and shape {}; an ndarray of dtype \
                     {dtype} and shape {} was not logged",
                    self.inner.source_id(),
                    self.logger_name,
                    tuple(shape),
                    tuple(array.shape())
                ),
            ));
        }
        let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
        let schema = crate::schema::dtype_schema(dtype.as_any(), shape, String::new())?;
        match py.detach(|| self.inner.declare_schema(&schema)) {
            // A logger whose directory producers cannot find (a path beyond 408 bytes): nothing is recorded, but
            // this producer still holds its ndarrays to the first one's dtype and shape.
            Ok(()) | Err(seqring::format::schema::SchemaError::NoLogDir { .. }) => {}
            Err(e) => return Err(crate::schema::schema_error(e)),
        }
        let _ = self
            .declared
            .set((dtype.clone().into_any().unbind(), array.shape().to_vec()));
        Ok(())
    }

    #[inline]
    fn log_with(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        log: impl FnOnce(&[u8]) -> Result<(), LogError> + Send,
    ) -> PyResult<()> {
        let result = if let Ok(b) = data.cast::<PyBytes>() {
            // `bytes`, the common payload, on the shortest path (raw bytes: no schema check).
            let bytes = b.as_bytes();
            if self.waits {
                py.detach(|| log(bytes))
            } else {
                log(bytes)
            }
        } else {
            let check = &|a: &Bound<'_, PyUntypedArray>, d: &Bound<'_, PyArrayDescr>| self.check_schema(py, a, d);
            if self.waits {
                with_payload(data, true, Some(check), |bytes| py.detach(|| log(bytes)))?
            } else {
                with_payload(data, false, Some(check), log)?
            }
        };
        result.map_err(|e| crate::errors::log_error(&self.logger_name, self.inner.source_id(), e))
    }
}

#[pymethods]
impl PyProducer {
    /// Connects a producer for ``source_id`` (0..=255) to the running logger ``name``, from any process.
    ///
    /// With ``onset_us`` (µs since the UNIX epoch), the source's onset is that instead of now: for a source whose
    /// clock started earlier, such as an ataraxis onset package. A source has one onset per logger: the first
    /// producer to connect sets it, and ``onset_us`` for a source that has one raises :class:`AlreadyExistsError`.
    ///
    /// Raises :class:`NotFoundError` if no logger of that name runs, :class:`InvalidNameError`,
    /// :class:`InvalidOptionError` for a source id outside 0..=255 or an onset that is not an int >= 0.
    #[staticmethod]
    #[pyo3(signature = (name, source_id, *, onset_us = None))]
    fn connect(
        py: Python<'_>,
        name: String,
        source_id: &Bound<'_, PyAny>,
        onset_us: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let id = self::source_id(source_id)?;
        let onset_us: Option<u64> = onset_us.map(|o| int("onset_us", o)).transpose()?;
        let inner = py
            .detach(|| match onset_us {
                None => Producer::connect(&name, id),
                Some(onset) => Producer::connect_with_onset(&name, id, onset),
            })
            .map_err(|e| logger_error(py, e))?;
        Ok(PyProducer {
            declared: std::sync::OnceLock::new(),
            waits: matches!(inner.full_policy(), FullPolicy::Wait(_)),
            inner,
            logger_name: name,
        })
    }

    /// Logs the raw bytes of ``data`` (see the class), stamped with the µs elapsed since the source's onset.
    ///
    /// Raises :class:`RingFullError` if the ring was full (under ``on_full="wait"``, for the whole wait timeout):
    /// the message is dropped and counted in its source's ``dropped`` (stop report and ``health()``).
    /// :class:`PayloadTooLargeError` beyond ``max_payload`` (not logged, not counted); :class:`ClosedError` once
    /// the logger has stopped (counted as dropped); :class:`DTypeMismatchError` (a TypeError) if ``data`` has no
    /// raw bytes; :class:`ShapeError` if it is not contiguous. An ndarray (or numpy scalar) declares its dtype and
    /// shape as the source's schema on the first call (see :meth:`declare_schema`); a later one of another dtype or
    /// shape raises :class:`SchemaError` and is not logged. A 1-D ``uint8`` ndarray is raw bytes, as ``bytes``
    /// (ataraxis's serialized payloads): log variable-shaped arrays as ``memoryview(a)`` or ``a.view(np.uint8)``.
    fn log(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let producer = &self.inner;
        self.log_with(py, data, |bytes| producer.log_now(bytes))
    }

    /// Logs ``data`` stamped ``timestamp_us`` µs after the source's onset (``onset_us``); 0 is the onset record's
    /// and raises :class:`InvalidOptionError`. Archives order a source's messages by timestamp, keeping duplicates
    /// in the order logged. Raises as :meth:`log`.
    fn log_at(&self, py: Python<'_>, timestamp_us: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let timestamp_us: u64 = int("timestamp_us", timestamp_us)?;
        let producer = &self.inner;
        self.log_with(py, data, |bytes| producer.log_at(timestamp_us, bytes))
    }

    /// Declares the source's schema: what its payloads are. Either ``dtype`` (anything ``numpy.dtype`` accepts,
    /// structured dtypes included) with the payload's ``shape`` (``()``: one element per message), or an opaque
    /// ``format`` name with its ``version``; and a free-text ``description``.
    ///
    /// The schema is recorded once per log, beside it, and carried beside the source's archive (the ``.npz``
    /// itself stays ataraxis's), where :meth:`LogArchive.read_typed` uses it. Declaring the recorded schema again
    /// is a no-op (an empty description agrees with any); another raises :class:`SchemaError` and changes nothing.
    /// ``log(ndarray)`` declares the ndarray's dtype and shape by itself on its first call.
    #[pyo3(signature = (dtype = None, shape = None, *, format = None, version = None, description = String::new()))]
    fn declare_schema(
        &self,
        py: Python<'_>,
        dtype: Option<&Bound<'_, PyAny>>,
        shape: Option<Vec<u64>>,
        format: Option<String>,
        version: Option<String>,
        description: String,
    ) -> PyResult<()> {
        let schema = match (dtype, format) {
            (Some(dtype), None) => crate::schema::dtype_schema(dtype, shape.unwrap_or_default(), description)?,
            (None, Some(format)) if shape.is_none() => seqring::format::schema::Schema::opaque(
                &format,
                &version.ok_or_else(|| invalid("an opaque format needs its version".into()))?,
            )
            .described(description),
            _ => {
                return Err(invalid(
                    "declare either dtype (with an optional shape) or format and version".into(),
                ))
            }
        };
        py.detach(|| self.inner.declare_schema(&schema))
            .map_err(crate::schema::schema_error)?;
        if let seqring::format::schema::Layout::Dtype { descr, shape } = &schema.layout {
            let dtype = crate::schema::dtype_of(py, descr)?;
            let shape = shape.iter().map(|&d| d as usize).collect();
            let _ = self.declared.set((dtype.unbind(), shape));
        }
        Ok(())
    }

    /// The source's schema, if one was declared: ``{"dtype": numpy.dtype, "shape": tuple, "description": str}``
    /// or ``{"format": str, "version": str, "description": str}``; ``None`` otherwise.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let schema = py.detach(|| self.inner.schema()).map_err(crate::schema::schema_error)?;
        schema.map(|s| crate::schema::schema_dict(py, &s)).transpose()
    }

    /// The µs elapsed since the source's onset, by the monotonic clock (what `log` stamps).
    fn elapsed_us(&self) -> u64 {
        self.inner.elapsed_us()
    }

    /// The source this producer logs for.
    #[getter]
    fn source_id(&self) -> u8 {
        self.inner.source_id()
    }

    /// The source's onset: µs since the UNIX epoch.
    #[getter]
    fn onset_us(&self) -> u64 {
        self.inner.onset_us()
    }

    /// The largest payload one message can carry, in bytes.
    #[getter]
    fn max_payload(&self) -> usize {
        self.inner.max_payload()
    }

    /// The name of the logger it logs to.
    #[getter]
    fn logger_name(&self) -> &str {
        &self.logger_name
    }

    fn __repr__(&self) -> String {
        format!(
            "Producer(logger={:?}, source_id={}, onset_us={})",
            self.logger_name,
            self.inner.source_id(),
            self.inner.onset_us()
        )
    }
}
