"""Host-wide render tokens and a board of waiting renders, shared by every server process.

``imgpro serve`` runs one process per core so that cache hits scale, but the kernel hands
connections to processes unevenly: with a pool per process, a busy process queued (and refused)
renders while its neighbours' threads sat idle (issue 17: 0.47-0.72x the bare-pyvips floor on
16 cores). Here every process has a thread per core, and a render may start only while it holds
one of ``count`` host-wide tokens — so any process may use any free core.

Why ``flock`` on files in the data directory (``data_dir/run/render/``):
- the kernel releases a lock when its holder dies (``kill -9`` included): no token leaks, no
  lease to expire, no cleanup — POSIX semaphores and counters in SQLite would leak a token per
  crashed render;
- a non-blocking attempt is one syscall (~1-2 us), cheap enough to poll;
- flock locks belong to the open file description, so two stores opened in one process (tests
  run several apps at once) exclude each other exactly like two processes do.

The board is a tiny shared-memory array (one ``mmap``-ed file): each process owns one row (held
by an ``flock`` on the row's lock file for its lifetime) and writes into it how many renders it
has waiting. Readers learn how many processes compete for tokens, which the wait estimate
needs. A row whose owner died is found by taking its lock, and zeroed.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import random
import struct
import tempfile
from pathlib import Path

BOARD_ROWS = 256  # server processes one host may run; more simply share no board row
_ROW = struct.Struct("<q")


def writable_run_dir(run_dir: Path) -> Path:
    """``run_dir``, or — when the data directory is read-only (a store kept readable while its
    disk is remounted read-only) — a directory in the system's temp space named after it, so
    every process of the host still finds the same tokens and reads keep working."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = run_dir / ".writable"
        os.close(os.open(probe, os.O_RDWR | os.O_CREAT, 0o600))
        return run_dir
    except OSError:
        digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:16]
        fallback = Path(tempfile.gettempdir()) / f"imgpro-run-{digest}"
        fallback.mkdir(parents=True, exist_ok=True, mode=0o700)
        return fallback


def _open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class HostSlots:
    """``count`` render tokens for the whole host. ``try_acquire`` never blocks."""

    def __init__(self, run_dir: Path, count: int) -> None:
        self.count = count
        run_dir = writable_run_dir(run_dir)
        self._fds = [_open_lock(run_dir / f"slot-{i}") for i in range(count)]
        self._held: set[int] = set()
        self._board = _Board(run_dir)

    def try_acquire(self) -> int | None:
        """A free token's index, or None when every token on the host is held."""
        if not self._fds:
            return None  # closed
        start = random.randrange(self.count)  # noqa: S311 - spreads load, not a secret
        for n in range(self.count):
            i = (start + n) % self.count
            # A fd of ours that holds its lock would "succeed" again: flock converts in place.
            if i not in self._held and _try_lock(self._fds[i]):
                self._held.add(i)
                return i
        return None

    def release(self, slot: int) -> None:
        if slot not in self._held:
            return  # closed meanwhile (shutdown): closing released every lock
        self._held.discard(slot)
        fcntl.flock(self._fds[slot], fcntl.LOCK_UN)

    @property
    def held(self) -> int:
        return len(self._held)

    def publish_waiting(self, waiting: int) -> None:
        if self._fds:
            self._board.write(waiting)

    def competitors(self, *, sweep: bool = False) -> int:
        """Other processes with renders waiting for a token (``sweep``: first zero the rows of
        processes that died, which costs a lock attempt per row — done only before refusing)."""
        if sweep:
            self._board.sweep()
        return self._board.others_waiting()

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)  # closing releases any lock still held
        self._fds, self._held = [], set()
        self._board.close()


class _Board:
    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        path = run_dir / "board"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < BOARD_ROWS * _ROW.size:
                os.ftruncate(fd, BOARD_ROWS * _ROW.size)  # zero-filled; growing never races
            self.map = mmap.mmap(fd, BOARD_ROWS * _ROW.size)
        finally:
            os.close(fd)
        self.row: int | None = None
        self._row_fd: int | None = None
        for i in range(BOARD_ROWS):
            fd = _open_lock(run_dir / f"row-{i}")
            if _try_lock(fd):
                self.row, self._row_fd = i, fd
                self.write(0)  # a previous owner may have died with renders waiting
                break
            os.close(fd)

    def write(self, waiting: int) -> None:
        if self.row is not None:
            _ROW.pack_into(self.map, self.row * _ROW.size, waiting)

    def others_waiting(self) -> int:
        if self.map.closed:
            return 0
        rows = memoryview(self.map).cast("q")
        try:
            return sum(1 for i, n in enumerate(rows) if n > 0 and i != self.row)
        finally:
            rows.release()

    def sweep(self) -> None:
        if self.map.closed:
            return
        rows = memoryview(self.map).cast("q")
        try:
            for i, n in enumerate(rows):
                if n <= 0 or i == self.row:
                    continue
                fd = _open_lock(self.dir / f"row-{i}")
                try:
                    if _try_lock(fd):  # nobody holds the row: its process is gone
                        rows[i] = 0
                finally:
                    os.close(fd)
        finally:
            rows.release()

    def close(self) -> None:
        if self.map.closed:
            return
        self.write(0)
        if self._row_fd is not None:
            os.close(self._row_fd)
            self._row_fd, self.row = None, None
        self.map.close()
