"""A reserve of disk space that lets deletes go through on a full disk.

Deleting an image is a database write (on SQLite: pages appended to the WAL) before its blobs
are unlinked, so on a disk with zero bytes free even a delete fails — and space can then never
be freed through the API. The service therefore keeps a small file of really allocated blocks
(``fallocate``) in its data directory. When a delete fails for lack of space, the reserve is
released and the delete retried once; the reserve is re-made, best effort, when space allows
(after deletes, at start, by ``imgpro gc``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("imgpro.storage")

RESERVE_NAME = ".space-reserve"


class SpaceReserve:
    def __init__(self, directory: Path, size: int) -> None:
        self.path = directory / RESERVE_NAME
        self.size = size
        self._lock = threading.Lock()

    def restore(self) -> bool:
        """Make sure the reserve exists at full size; False if the disk has no room."""
        if self.size <= 0:
            return False
        with self._lock:
            try:
                if self.path.exists() and self.path.stat().st_size >= self.size:
                    return True
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
                try:
                    os.posix_fallocate(fd, 0, self.size)
                finally:
                    os.close(fd)
                return True
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)  # never keep half a reserve: it would mislead
                return False

    def release(self) -> bool:
        """Give the reserved blocks back to the file system; False if there was none."""
        with self._lock:
            try:
                os.unlink(self.path)
            except OSError:
                return False
        log.warning(
            "disk full: released the %d-byte space reserve so a delete can proceed", self.size
        )
        return True
