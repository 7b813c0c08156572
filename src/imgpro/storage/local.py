"""Blobs as files under one directory. Writes go to a temp file and are renamed into place.

Failure leaves nothing half-written: a temp file whose write failed (disk full, quota,
read-only) is removed before the error propagates, and ``sweep_temp`` (run by ``imgpro gc``)
removes what a killed process left in ``.tmp/``. Deleting never allocates (``unlink`` and
``rmtree`` only), so space can be freed on a full disk. Folders are owner-only (0700) and
files 0600 (``mkstemp``), whatever the umask.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from imgpro.private_files import DIR_MODE, private_dir
from imgpro.storage.base import BlobNotFound, check_key, check_prefix


def _discard(path: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = private_dir(root.resolve())
        self._tmp = private_dir(self.root / ".tmp")

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def _put_file_sync(self, key: str, src: Path) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        try:
            os.replace(src, dest)  # same filesystem: atomic rename, no copy
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        # Across filesystems: copy to a temp file beside the target, then rename.
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        except BaseException:
            _discard(tmp)  # a full disk must not leave a partial copy behind
            raise
        src.unlink(missing_ok=True)

    async def put_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(self._put_file_sync, key, path)

    def _put_bytes_sync(self, key: str, data: bytes) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        fd, tmp = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, dest)
        except BaseException:
            _discard(tmp)
            raise

    async def put_bytes(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put_bytes_sync, key, data)

    async def get_bytes(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def stream(
        self, key: str, chunk_size: int = 256 * 1024, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        try:
            f = await asyncio.to_thread(open, self._path(key), "rb")
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        try:
            if start:
                f.seek(start)
            left = None if end is None else max(0, end - start)
            while left is None or left > 0:
                want = chunk_size if left is None else min(chunk_size, left)
                chunk = await asyncio.to_thread(f.read, want)
                if not chunk:
                    break
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            f.close()

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def modified(self, key: str) -> float | None:
        try:
            return self._path(key).stat().st_mtime
        except FileNotFoundError:
            return None

    async def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        return None

    async def aclose(self) -> None:
        return None

    async def delete(self, key: str) -> bool:
        try:  # unlink is a metadata call: cheaper inline than a thread hop
            self._path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def _delete_prefix_sync(self, prefix: str) -> int:
        # ``originals/ab/`` names a folder; ``variants/abc`` every entry of ``variants/`` whose
        # name starts with ``abc``. Only entries strictly inside the root are ever touched:
        # check_prefix refuses "" and "..", and the folder we list is resolved and re-checked.
        folder_part, _, name_part = check_prefix(prefix).rpartition("/")
        folder = (self.root / folder_part).resolve() if folder_part else self.root
        if folder != self.root and self.root not in folder.parents:
            raise ValueError(f"invalid blob prefix: {prefix!r}")
        if not folder.is_dir():
            return 0
        if not name_part:  # the whole folder (never the root: the prefix is not empty)
            count = sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            return count
        count = 0
        for p in folder.iterdir():
            if not p.name.startswith(name_part) or (folder == self.root and p == self._tmp):
                continue
            if p.is_dir() and not p.is_symlink():
                count += sum(1 for q in p.rglob("*") if q.is_file())
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
                count += 1
        return count

    async def delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_prefix_sync, prefix)

    def _sweep_temp_sync(self, older_than: float) -> int:
        removed = 0
        for path in self._tmp.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < older_than:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    async def sweep_temp(self, older_than: float) -> int:
        """Remove temp files (partial writes of a killed process) last modified before
        ``older_than`` (a UNIX time); returns how many."""
        return await asyncio.to_thread(self._sweep_temp_sync, older_than)

    async def iter_keys(self, prefix: str = "") -> AsyncIterator[str]:
        def walk() -> list[str]:
            out = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                if Path(dirpath) == self.root and ".tmp" in dirnames:
                    dirnames.remove(".tmp")
                for name in filenames:
                    key = os.path.relpath(os.path.join(dirpath, name), self.root)
                    key = key.replace(os.sep, "/")
                    if key.startswith(prefix):
                        out.append(key)
            return sorted(out)

        for key in await asyncio.to_thread(walk):
            yield key
