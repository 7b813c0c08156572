"""Fixtures for the imaging tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(data, name="upload")`` -> a real file holding ``data`` (names carry no type)."""
    counter = iter(range(1_000_000))

    def _write(data: bytes, name: str | None = None) -> Path:
        path = tmp_path / (name or f"upload-{next(counter)}")
        path.write_bytes(data)
        return path

    return _write
