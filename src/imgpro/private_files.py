"""Files and folders that hold user data are private to the service's own user.

Images (including "private" ones), the SQLite database with its key hashes and sessions, and
upload temp files must not be readable by other local users. Modes are set explicitly with
chmod after creation, so a permissive umask (0000 in some containers) cannot widen them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make the folder itself owner-only."""
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # read-only store: leave it as it is
        if path.stat().st_mode & 0o777 != DIR_MODE:
            os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Create an empty owner-only file if it does not exist (e.g. the SQLite database before
    SQLite creates it with 0644; SQLite then gives its -wal and -shm files the same mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        with contextlib.suppress(OSError):
            if path.stat().st_mode & 0o077:
                os.chmod(path, FILE_MODE)
        return
    except OSError:
        return  # read-only or missing folder: whoever opens it next reports that
    os.fchmod(fd, FILE_MODE)
    os.close(fd)


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or None (PostgreSQL, in-memory, URI forms)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:" or path.startswith("file:") or "?" in path:
        return None
    return Path(path)


def on_read_only_fs(path: Path) -> bool:
    """True when ``path`` lives on a read-only mount (``statvfs`` says so even for root,
    for whom permission bits never refuse a write)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
