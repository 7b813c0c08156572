"""Receiving the dashboard's uploads: one file per XHR request, or several from a plain form.

The bytes go through the API's own intake (``images.intake``): streamed to temp files while
hashed, with the same per-file caps enforced as they arrive. The only difference from the API
is that a form without JavaScript may carry several ``file`` parts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from imgpro.errors import BadRequest, ValidationFailed
from imgpro.images.intake import Caps, FileSink, SpooledFile, _MultipartCollector

MAX_FILES = 20


class _ManyFiles(_MultipartCollector):
    """The intake's collector, taking each ``file`` part in turn instead of refusing a second."""

    sink: FileSink | None

    def __init__(self, dest_dir: Path, caps: Caps, max_files: int) -> None:
        super().__init__(dest_dir, caps)
        self.done: list[SpooledFile] = []
        self.max_files = max_files

    def _take_current(self) -> None:
        sink: FileSink | None = self.sink
        if sink is None:
            return
        self.sink = None
        spooled = sink.finish()
        if spooled.size == 0 and not spooled.filename:
            spooled.discard()  # the empty part a browser sends for "no file chosen"
            return
        self.done.append(spooled)
        if len(self.done) > self.max_files:
            raise ValidationFailed(f"Upload at most {self.max_files} files at a time.")

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        if params.get(b"name") == b"file":
            self._take_current()
        super()._headers_finished()

    def discard_all(self) -> None:
        if self.sink is not None:
            self.sink.abort()
            self.sink = None
        for spooled in self.done:
            spooled.discard()


async def receive_files(content_type: str, body: AsyncIterator[bytes], dest_dir: Path,
                        caps: Caps, max_files: int = MAX_FILES
                        ) -> tuple[list[SpooledFile], dict[str, str]]:
    """Every ``file`` part on disk (each within ``caps``), and the small fields."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not content_type.startswith("multipart/form-data") or not boundary:
        raise BadRequest("Send the files as multipart/form-data.")
    collector = _ManyFiles(dest_dir, caps, max_files)
    # python-multipart types its callbacks as a TypedDict; ours is the same mapping, built by name.
    parser = MultipartParser(boundary, cast(Any, collector.callbacks()))
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
        collector._take_current()
    except MultipartParseError:
        collector.discard_all()
        raise BadRequest("Malformed multipart body.") from None
    except BaseException:
        collector.discard_all()
        raise
    return collector.done, collector.fields
