"""``SharedMemoryArray`` with the names, signatures and behaviour of ataraxis-data-structures 7.2.0, over
:class:`seqring.SharedArray`.

Differences that make it better than the original, and the few that cannot match, are listed in the class
docstring and in the README (Python: what ``seqring.compat`` does not match). ``arr[key]`` and the common
``arr[key] = value`` run natively in the base class :class:`~seqring._seqring._CompatBase` (``python/src/compat.rs``);
every other access to the underlying :class:`seqring.SharedArray` goes through the functions ``_snapshot``,
``_set`` and ``_write`` below. Every fixed-size dtype is a native :class:`seqring.SharedArray` dtype: strings,
structured records, big-endian numbers and datetimes are records whose region records the numpy dtype.
"""

import contextlib
from multiprocessing.context import get_spawning_popen
from typing import Any, ContextManager, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

from .. import SharedArray
from .._seqring import _CompatBase, _NamedLock

__all__ = ["SharedMemoryArray"]


def _snapshot(handle: "_Handle") -> np.ndarray:
    """One consistent copy of the whole array."""
    return handle.read()


def _write(handle: "_Handle", data: np.ndarray) -> None:
    """Writes the whole array (``data`` has its dtype and shape) in one write under the writer lock."""
    handle.write(data)


def _set(handle: "_Handle", index: Any, value: Any) -> None:
    """``handle[index] = value`` in one write, atomic against every other writer (``value`` has the array's dtype)."""
    handle[index] = value


_Handle = SharedArray


def _native_scalar_type(dtype: "np.dtype[Any]") -> Optional[type]:
    """The Python scalar type that seqring converts into ``dtype`` as numpy assignment does (so that a value of it
    can be passed as is; an ``int`` only within the int64 range), or ``None``."""
    if dtype == np.float64:
        return float
    if dtype == np.bool_:
        return bool
    if dtype == np.int64:
        return int
    return None


def _changed(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """The elements whose bytes differ (so that a NaN left alone is not a change), as a mask of ``old``'s shape."""
    width = old.dtype.itemsize
    if width in (1, 2, 4, 8):
        return new.view(f"u{width}") != old.view(f"u{width}")
    a = new.reshape(-1).view(np.uint8).reshape(-1, width)
    b = old.reshape(-1).view(np.uint8).reshape(-1, width)
    return (a != b).any(axis=1).reshape(old.shape)


def _write_back(handle: "_Handle", working: np.ndarray, snapshot: np.ndarray) -> None:
    """Writes the elements of ``working`` that differ from ``snapshot`` (all of them in one whole write if every one
    changed): an ``array()`` block's exit after another write came in since its snapshot."""
    if working.tobytes() != snapshot.tobytes():
        changed = _changed(working, snapshot)
        if np.count_nonzero(changed) == changed.size:
            _write(handle, working)
        else:
            _set(handle, changed, working[changed])


class _Lock:
    """The array's lock: a :class:`~seqring._seqring._NamedLock` on the lock word of the array's own region (opened
    on first use), taken by ``arr[i] = v`` and ``array(with_lock=True)`` in every process, so that those
    read-modify-writes are serialised as ataraxis's lock serialises them. Readers never take it. It is reentrant for
    the thread that holds it through one instance (``arr[i] = v`` inside that thread's own block), where ataraxis's
    lock deadlocks; other threads wait as other processes do; a holder killed while holding it is taken over by the
    next one to take it (ataraxis's lock stays held). A forked child opens its own (the inherited one is the
    parent's). The word is part of the array: it is removed with it, and nothing is left behind."""

    __slots__ = ("native",)

    def __init__(self) -> None:
        #: The open lock, or ``None`` until first use and after :meth:`close`.
        self.native: Optional[_NamedLock] = None

    def open(self, handle: "_Handle") -> _NamedLock:
        """This process's open lock of ``handle``'s array (opened again for another handle, and in a forked child,
        whose inherited lock is the parent's)."""
        native = self.native
        if native is None or native.inherited or native.array is not handle:
            native = self.native = _NamedLock(handle)
        return native

    def close(self) -> None:
        """Drops the open lock, which releases it if this instance still holds it."""
        self.native = None


class SharedMemoryArray(_CompatBase):
    """A numpy array in shared memory that several Python processes read and write (ataraxis 7.2.0's
    ``SharedMemoryArray``, on a seqring seqlock array).

    Create it in the main process with :meth:`create_array`, hand the instance to child processes (it pickles as
    its name, shape and dtype, and reconnects in the child when ``auto_connect`` is set, as ataraxis's does), and
    read or write it with ``arr[i]``, ``arr[a:b]`` or the :meth:`array` context manager.

    Where seqring does better than ataraxis:

    - Readers never wait on a lock and never see a torn value: ``arr[i]`` and the entry of ``array()`` take a
      consistent snapshot without blocking the writer (ataraxis holds a ``multiprocessing.Lock`` for every access).
    - Every write is atomic for readers whether or not the caller asked for the lock (a write takes the seqlock's
      writer lock), and the lock is the array's, not the instance's: ``SharedMemoryArray`` objects created or
      unpickled anywhere share it (a word of the array's own region, removed with it), and a process killed while
      holding it does not block the others: the next one to take it takes it over.
    - ``arr[i]`` and ``arr[a:b]`` accept any numpy basic index (``arr[1, 2]``, ``arr[..., 0]``), not only ints and
      slices.

    Where it differs (see the README, Python: what ``seqring.compat`` does not match):

    - ``array()`` yields a private snapshot, not a view of shared memory: changes become visible to other processes
      when the ``with`` block exits (written back in one write, only if something changed), all at once rather
      than element by element. As ataraxis's view, the array yielded is the same buffer every time (the instance's
      next block reads into it again), so keep a ``.copy()`` of it to keep its values past the block. Writes made meanwhile by code that does not take the array's lock (a plain
      :class:`seqring.SharedArray`, or a block with ``with_lock=False``) are kept for every element the block did
      not change.
    - The creating instance owns the region: it is removed by :meth:`destroy`, or when the creator is
      garbage-collected or its process exits (ataraxis leaves the removal to ``destroy()`` and the OS).
    - Any fixed-size numpy dtype is shared, as in ataraxis: bool, integers, floats and complex numbers, and
      unicode and byte strings, structured records, big-endian numbers and datetimes, whose numpy dtype the region
      records (:meth:`seqring.SharedArray.create`). Object arrays raise ``TypeError``.
    """

    def __init__(
        self,
        name: str,
        shape: Tuple[int, ...],
        datatype: "np.dtype[Any]",
        buffer: "Optional[_Handle]",
        *,
        auto_connect: bool = True,
    ) -> None:
        """Wraps ``buffer`` (a :class:`seqring.SharedArray` handle that this instance then owns, or ``None``).

        Use :meth:`create_array` instead: with ``buffer=None`` and ``auto_connect`` the instance opens the existing
        array ``name`` (raising :class:`FileNotFoundError` if there is none).
        """
        self._name = str(name)
        self._shape = tuple(int(d) for d in shape)
        self._datatype = np.dtype(datatype)
        self._auto_connect = bool(auto_connect)
        # The creating handle: it keeps the region alive while this instance is disconnected.
        self._owner: "Optional[_Handle]" = buffer
        self._handle: "Optional[_Handle]" = None
        self._lock = _Lock()
        self._destroy_on_del = False
        self._cache_layout()
        if auto_connect:
            self.connect()

    def _cache_layout(self) -> None:
        """Caches what the element accesses test on every call."""
        self._scalar_type = _native_scalar_type(self._datatype)

    @classmethod
    def create_array(
        cls,
        name: str,
        prototype: npt.NDArray[Any],
        *,
        exists_ok: bool = False,
        auto_connect: bool = True,
    ) -> "SharedMemoryArray":
        """Creates the shared array ``name`` with the shape, dtype and contents of ``prototype``.

        ``exists_ok`` replaces an existing array of that name instead of raising. The returned instance is connected;
        ``auto_connect`` decides whether processes that receive it connect while unpickling it (with ``False`` each
        calls :meth:`connect` itself), as in ataraxis.

        Raises :class:`TypeError` if ``prototype`` is not a numpy array (or holds Python objects),
        :class:`IndexError` for a zero-dimensional and :class:`ValueError` for an empty prototype (as ataraxis),
        :class:`FileExistsError`
        (:class:`~seqring.errors.AlreadyExistsError`) if the name is taken and ``exists_ok`` is false,
        :class:`~seqring.errors.InvalidNameError` (a ``ValueError``) for a name seqring does not accept.
        """
        if not isinstance(prototype, np.ndarray):
            raise TypeError(
                f"Invalid 'prototype' argument type encountered when creating SharedMemoryArray object '{name}'. "
                f"Expected a NumPy array but instead encountered {type(prototype).__name__}."
            )
        if prototype.ndim == 0:
            raise IndexError(
                f"Unable to create the '{name}' SharedMemoryArray object: the prototype is a zero-dimensional array, "
                f"which cannot fill a shared array (ataraxis raises IndexError from its slice assignment)."
            )
        if prototype.size == 0:
            raise ValueError(
                f"Unable to create the '{name}' SharedMemoryArray object: the prototype is an empty array, and a shared "
                f"memory buffer cannot have a size of zero bytes."
            )
        if prototype.dtype.hasobject:
            raise TypeError(
                f"Unable to create the '{name}' SharedMemoryArray object: the prototype holds Python objects "
                f"(dtype {prototype.dtype}), which cannot be shared between processes."
            )
        handle = SharedArray.create(name, prototype.shape, prototype.dtype, exists_ok=exists_ok)
        try:
            _write(handle, prototype)
        except BaseException:
            handle.destroy()
            raise
        instance = cls(name, prototype.shape, handle.dtype, handle, auto_connect=auto_connect)
        # As in ataraxis, the creating instance is connected whatever auto_connect says: the flag only decides whether
        # processes that receive the instance connect while unpickling it.
        instance.connect()
        return instance

    def connect(self) -> None:
        """Connects this instance to the shared array (once per process; a no-op when connected).

        Raises :class:`FileNotFoundError` (:class:`~seqring.errors.NotFoundError`) if the array no longer exists,
        :class:`~seqring.errors.DTypeMismatchError` / :class:`~seqring.errors.ShapeError` if an array of that name
        has another dtype or shape.
        """
        if self._handle is not None:
            return
        if self._owner is not None and not self._owner.closed:
            self._handle = self._owner
        else:
            self._handle = SharedArray.open(self._name, dtype=self._datatype, shape=self._shape)

    def disconnect(self) -> None:
        """Disconnects this instance (a no-op when disconnected). The array stays: the creating instance keeps
        it until :meth:`destroy` or until it is garbage-collected."""
        handle, self._handle = self._handle, None
        self._lock.close()
        if handle is not None and handle is not self._owner:
            handle.close()

    def destroy(self) -> None:
        """Disconnects and removes the shared array (a no-op if it is already gone). Other processes' handles
        stay mapped until they disconnect, but the name is free at once."""
        handle = self._handle if self._handle is not None else self._owner
        self.disconnect()
        self._owner = None
        with contextlib.suppress(FileNotFoundError):
            if handle is None or handle.closed:
                handle = SharedArray.open(self._name)
            handle.destroy()

    @property
    def name(self) -> str:
        """The name of the shared array."""
        return self._name

    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape of the shared array."""
        return self._shape

    @property
    def datatype(self) -> "np.dtype[Any]":
        """The dtype of the shared array."""
        return self._datatype

    @property
    def is_connected(self) -> bool:
        """Whether this instance is connected to the shared array."""
        return self._handle is not None

    def _connected(self, action: str) -> "_Handle":
        if self._handle is None:
            raise ConnectionError(
                f"Unable to {action} the data stored in the {self._name} SharedMemoryArray instance, as the "
                f"instance is not connected to the shared memory buffer. Call the connect() method first."
            )
        return self._handle

    # ``arr[index]`` is :class:`~seqring._seqring._CompatBase`'s native ``__getitem__``: the value (a numpy scalar)
    # or a copy of the values at ``index``, from one consistent snapshot, never waiting on a lock; it raises
    # :class:`ConnectionError` when disconnected (through :meth:`_connected`) and :class:`IndexError` for an index
    # out of bounds. ``self._handle`` is that base class's slot.

    # ``arr[index] = value`` is _CompatBase's native ``__setitem__``: one element from a Python scalar under the
    # array's lock natively, every other case through :meth:`_set_slow`.

    def _set_slow(self, index: Any, value: Any) -> None:
        """Sets the value(s) at ``index`` (converted to the array's dtype, as numpy assignment does), in one
        write under the writer lock, holding the array's lock (``arr[index] = value`` when the native base class
        does not take it itself).

        Raises :class:`ConnectionError` if disconnected, :class:`IndexError` for an index out of bounds,
        :class:`ValueError` if ``value`` does not broadcast to the indexed shape.
        """
        handle = self._handle
        if handle is None:
            handle = self._connected("modify")  # raises
        scalar = self._scalar_type
        kind = type(value)
        if kind is not scalar or (scalar is int and not -(2**63) <= value < 2**63):
            # An int into a float64 array converts exactly below 2**53, as numpy's assignment does; every other value
            # takes numpy's assignment casting, as ataraxis's arr[i] = v.
            if not (kind is int and scalar is float and -(2**53) < value < 2**53):
                value = np.asarray(value, dtype=self._datatype)
        handle._set_locked(self._lock.open(handle), index, value)  # acquire, _set, release in one native call

    # ``array(with_lock=True)`` is _CompatBase's native ``array``: a :class:`~seqring._seqring._NativeBlock` for a
    # native handle, else what :meth:`_block_slow` returns (here, the disconnected instance's error).

    def _block_slow(self, with_lock: bool) -> ContextManager[npt.NDArray[Any]]:
        """``array(with_lock=...)`` when the handle is not native: raises the :class:`ConnectionError` of a
        disconnected instance (a connected one's block is native)."""
        del with_lock
        self._connected("access")
        raise ConnectionError("the array is not connected")

    #: The write-back of a native block after another write (see :func:`_write_back`).
    _write_back = staticmethod(_write_back)

    def __getstate__(self) -> Dict[str, Any]:
        """The name, shape, dtype and ``auto_connect`` flag: an instance handed to another process reconnects
        there by name (never owning the array).

        As in ataraxis, it is refused (:class:`RuntimeError`) outside the start of a process (``Process(args=…)``,
        a pool's ``initargs``): ataraxis's lock reaches a process only that way, so ataraxis programs pass it only
        that way, and a program that sends one through a ``Queue`` works on neither."""
        if get_spawning_popen() is None:
            raise RuntimeError(
                f"Unable to transfer the '{self._name}' SharedMemoryArray instance to another process, as the "
                f"transfer is not part of starting that process. Pass the instance through the 'args' argument of a "
                f"Process or the 'initargs' argument of a process pool, both of which start a process and therefore "
                f"inherit the instance's lock. A Queue or a Pipe cannot carry the instance, and it does not need to, "
                f"since every process connected to the array already shares its data through the memory buffer."
            )
        return {
            "name": self._name,
            "shape": self._shape,
            "datatype": self._datatype,
            "auto_connect": self._auto_connect,
        }

    def __setstate__(self, state: Dict[str, Any]) -> None:
        """Restores an instance from :meth:`__getstate__`, connected if ``auto_connect`` is set."""
        self._name = state["name"]
        self._shape = tuple(state["shape"])
        self._datatype = np.dtype(state["datatype"])
        self._auto_connect = bool(state["auto_connect"])
        self._owner = None
        self._handle = None
        self._lock = _Lock()
        self._destroy_on_del = False
        self._cache_layout()
        if self._auto_connect:
            self.connect()

    def enable_buffer_destruction(self) -> None:
        """Makes this instance :meth:`destroy` the array when it is garbage-collected (from ataraxis before 7.2.0,
        which documents it; the creating instance does so anyway)."""
        self._destroy_on_del = True

    def __del__(self) -> None:
        """Disconnects (or destroys, after :meth:`enable_buffer_destruction`); the creating instance's handle
        removes the array when it is collected."""
        try:
            if self._destroy_on_del:
                self.destroy()
            else:
                self.disconnect()
        except Exception:  # noqa: BLE001 (a collector must not raise)
            pass

    def __repr__(self) -> str:
        return (
            f"SharedMemoryArray(name='{self._name}', shape={self._shape}, datatype={self._datatype}, "
            f"connected={self.is_connected})"
        )
