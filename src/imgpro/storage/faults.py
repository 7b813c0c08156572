"""Telling "the disk is full or read-only" apart from a bug, for the blob store and the DB.

Such failures surface as an ``OSError`` from the blob store or a temp file, as SQLite's
``OperationalError`` ("database or disk is full", "attempt to write a readonly database"),
or as a PostgreSQL error with SQLSTATE class 53 (insufficient resources: ``disk_full``) or
``25006`` (read-only transaction, a standby or ``default_transaction_read_only``). They all
answer ``503 storage_unavailable`` (SPEC §6) instead of a 500.
"""

from __future__ import annotations

import errno

# ENOSPC: no space; EDQUOT: over quota; EROFS: read-only mount; EACCES/EPERM: not writable
# (chmod, chattr +i); EFBIG: past RLIMIT_FSIZE or the filesystem's file size limit.
STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
)
_SQLITE_MESSAGES = (
    "database or disk is full",
    "readonly database",
    "disk i/o error",
    "unable to open database file",
)
_PG_SQLSTATES = ("53100", "53000", "25006")


def is_storage_fault(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says the storage cannot take a write."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in STORAGE_ERRNOS:
            return True
        text = str(current).lower()
        if any(m in text for m in _SQLITE_MESSAGES):
            return True
        sqlstate = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate in _PG_SQLSTATES:
            return True
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
        if isinstance(orig, BaseException) and id(orig) not in seen:
            current = orig
            continue
        current = current.__cause__ or current.__context__
    return False
