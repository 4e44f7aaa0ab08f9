"""Claims on lifecycle steps: one holder of a step key at a time, across threads and processes.

:class:`payplan.bookings.Bookings` reserves a step in the store (a row
unique on its key) and then *claims* it while it runs, so a second caller
of the same step (a double submit served by another process) waits for the
first and then reads what it did, instead of calling the provider too.
The claim is held by something the operating system or the database takes
back when its holder dies, so a crash never leaves a step claimed:

* SQLite: a POSIX record lock (``fcntl.lockf``) on one byte of a lock file
  beside the database (``<database>.steps-lock``), at an offset taken from
  the key's SHA-256; the kernel drops it when the process ends. POSIX locks
  belong to a process, so threads of one process take turns on a
  process-wide lock per key first.
* PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) held on
  a connection of its own for the step's length; the server drops it when
  the session ends (see :mod:`payplan.store.sql`).
* The memory store: a lock per key in the process.

A caller that cannot take the claim within its *wait* gets
:class:`~payplan.exceptions.StepInProgressError`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
import time
import weakref
from collections.abc import Iterator

from ..exceptions import StepInProgressError, StoreError

__all__ = ["LocalClaims", "file_claim", "in_progress", "key_offset"]

_POLL = 0.02  # how often a waiting caller asks again, in seconds (doubling up to 0.2)


def in_progress(key: str, plan_id: str, wait: float) -> StepInProgressError:
    """The error for a step another holder did not release within *wait* seconds."""
    return StepInProgressError(
        f"plan {plan_id!r}: step {key!r} is in progress in another process or thread and was not finished "
        f"within {wait:g}s; nothing of this call was done: call again once it is finished",
        key=key, plan_id=plan_id,
    )


def key_offset(key: str, bits: int) -> int:
    """A number of *bits* bits taken from the SHA-256 of *key* (where its lock sits)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> (64 - bits)


def poll(deadline: float, attempt: int) -> bool:
    """Sleep before the next try; False once *deadline* (a monotonic time) has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    time.sleep(min(left, _POLL * 2 ** min(attempt, 3)))
    return True


class _Held:
    """A lock that can be weakly referenced (a bare ``threading.Lock`` cannot)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


class LocalClaims:
    """One holder per key among the threads of this process (forgotten once nobody holds or waits)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, _Held] = weakref.WeakValueDictionary()

    @contextlib.contextmanager
    def claim(self, key: str, plan_id: str, wait: float) -> Iterator[None]:
        """Hold *key* for the body; :class:`StepInProgressError` after *wait* seconds."""
        with self._guard:
            held = self._locks.get(key)
            if held is None:
                held = self._locks[key] = _Held()
        if not held.lock.acquire(timeout=max(wait, 0.0)):
            raise in_progress(key, plan_id, wait)
        try:
            yield
        finally:
            held.lock.release()


# Per lock file, in this process: the threads' turns, and one descriptor shared by every claim held
# on it (closing any descriptor of a file drops every POSIX lock the process holds on it, so it is
# closed only once no claim on that file is held or being taken).
_LOCAL: dict[str, LocalClaims] = {}
_FDS: dict[tuple[str, int], list[int]] = {}  # (path, pid) -> [descriptor, claims using it]
_FILES = threading.Lock()


def _open(path: str) -> int:
    with _FILES:
        pid = os.getpid()  # a forked child opens its own (POSIX locks are not inherited)
        entry = _FDS.get((path, pid))
        if entry is None:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as exc:
                raise StoreError(
                    f"cannot claim a lifecycle step: the lock file {path!r} beside the database cannot be "
                    f"opened ({exc.strerror}); the database's folder must be writable"
                ) from exc
            entry = _FDS[(path, pid)] = [fd, 0]
        entry[1] += 1
        return entry[0]


def _close(path: str) -> None:
    with _FILES:
        key = (path, os.getpid())
        entry = _FDS[key]
        entry[1] -= 1
        if entry[1] == 0:
            del _FDS[key]
            os.close(entry[0])


def _local(path: str) -> LocalClaims:
    with _FILES:
        return _LOCAL.setdefault(path, LocalClaims())


@contextlib.contextmanager
def file_claim(path: str, key: str, plan_id: str, wait: float) -> Iterator[None]:
    """Hold *key* through a POSIX lock on one byte of the lock file at *path* (see the module)."""
    real = os.path.realpath(path)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no POSIX locks, one process only
        with _local(real).claim(key, plan_id, wait):
            yield
        return
    deadline = time.monotonic() + max(wait, 0.0)
    offset = key_offset(key, 56)
    with _local(real).claim(key, plan_id, wait):
        fd = _open(real)
        try:
            attempt = 0
            while True:
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EACCES, errno.EAGAIN):
                        raise StoreError(f"cannot claim a lifecycle step on {path!r}: {exc.strerror}") from exc
                if not poll(deadline, attempt):
                    raise in_progress(key, plan_id, wait)
                attempt += 1
            try:
                yield
            finally:
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
        finally:
            _close(real)
