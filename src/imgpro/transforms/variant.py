"""What the renderer hands around: a planned :class:`Variant`, the :class:`Blob` that answers it,
and the small helpers that open stored variants."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgpro.imaging.probe import MIME, Probe
from imgpro.transforms import pipeline
from imgpro.transforms.spec import TransformSpec


@dataclass(frozen=True)
class Variant:
    key: str
    etag: str
    format: str
    plan: pipeline.RenderPlan
    ignored: str | None = None  # X-Img-Ignored
    vary_accept: bool = False
    # The watermark: the mark image's row and its own variant at the planned size (PNG).
    mark_row: Any = None
    mark: Variant | None = None

    @property
    def canonical(self) -> str:
        return self.plan.canonical

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}  # names in lower case, as ASGI sends them
        if self.ignored:
            out["x-img-ignored"] = self.ignored
        if self.vary_accept:
            out["vary"] = "Accept"
        return out


@dataclass
class Blob:
    """A variant's bytes: in memory (small or just rendered) or an open file to stream."""

    size: int
    data: bytes | None = None
    file: Any = None  # an open binary file positioned at 0, when data is None
    chunks: Any = None  # or an async iterator of chunks (object storage), when both are None


def probe_of(row: Any) -> Probe:
    return Probe(
        source_format=row.source_format,
        format=row.format,
        mime=MIME.get(row.format, ""),
        width=row.width,
        height=row.height,
        frames=row.frames,
        transformable=row.transformable,
    )


def _mark_source(spec: TransformSpec, mark_row: Any) -> pipeline.MarkSource | None:
    if spec.mark is None or mark_row is None or mark_row.id != spec.mark.image_id:
        return None
    return pipeline.MarkSource(mark_row.id, mark_row.sha256, mark_row.width, mark_row.height)


def _open_local(path: Path) -> Any:
    """The open variant file, or None. On the event loop: a missing file (every cold render
    asks) answers in ~3 us, a thread hop to find that out costs ~30-60 us (measured)."""
    try:
        return path.open("rb")
    except FileNotFoundError:
        return None


def _read_all(f: Any) -> bytes:
    with f:
        data: bytes = f.read()
        return data


@dataclass
class _Flight:
    """One render in progress: its bytes for the waiters as soon as they exist, and the task
    that renders, stores and re-checks the image (``done``)."""

    result: asyncio.Future[bytes]
    done: asyncio.Task[None]
