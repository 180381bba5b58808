"""Atomic file writes: the final path holds either the old content or the complete new one.

The data goes to a temporary file in the same folder (so the rename stays on one file
system), is flushed and fsynced, then `os.replace` swaps it onto the final name in one step.
On an exception the temporary file is removed and the final path is left untouched; a process
killed mid-write leaves at worst a stray temporary file, never a half-written final file. An
OSError (a full disk, a missing folder) names the final path, not the temporary one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

__all__ = ["BackgroundWriter", "atomic_write", "atomic_write_bytes", "atomic_write_text"]

_MODES = ("wb", "w")


def _new_file_mode(path: str) -> int:
    """Permissions for the final file: the old file's, or what open() would have given."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); folders cannot be opened on Windows."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None):
    """Open a temporary file to write; on success it replaces `path` atomically.

    `mode` is "wb" (bytes) or "w" (text, UTF-8 unless `encoding` says otherwise).
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write: mode must be one of {_MODES}, got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temp_path = tempfile.mkstemp(
            dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
        )
    except OSError as error:  # it names the temporary file it tried to create
        raise _naming(error, path, error.filename) from None
    handle: IO[Any]
    try:
        if mode == "w":
            handle = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline="")
        else:
            handle = os.fdopen(fd, "wb")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_path, _new_file_mode(path))
        os.replace(temp_path, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        if isinstance(error, OSError):
            raise _naming(error, path, temp_path) from None
        raise
    _fsync_folder(folder)


def _naming(error: OSError, path: str, temp_path) -> OSError:
    """The error as one about `path` ("[Errno 28] No space left on device: 'model.bin'"),
    unless it is about another file (one the caller's own code opened)."""
    if error.errno is None or error.filename not in (None, temp_path, path):
        return error
    return OSError(error.errno, error.strerror, path)  # OSError picks the errno's subclass


def atomic_write_bytes(path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically (newlines are written as given)."""
    with atomic_write(path, "w", encoding=encoding) as handle:
        handle.write(text)


class BackgroundWriter:
    """Runs file writes on a thread of its own, one at a time and in order, so the caller goes
    on while the bytes are written and fsynced (training need not wait for the disk).

    `submit(job)` first waits for the previous job; `wait()` returns once the last one is done.
    Both raise the exception a finished job ended with, once. The thread starts with the
    writer, not at the first job: a thread starting runs ahead of its starter and holds the
    interpreter while it encodes, and that pause would land in training. A process that
    exits waits for a running job, so an atomic write is never cut short by it. `close()`
    waits and ends the thread (a writer no longer referenced ends it too).
    """

    def __init__(self):
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="chainrule-writer")
        self._job: Future | None = self._pool.submit(lambda: None)

    def submit(self, job: Callable[[], None]) -> None:
        self.wait()
        self._job = self._pool.submit(job)

    def wait(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.result()  # the job's exception, raised here once

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown()
