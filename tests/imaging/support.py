"""Helpers for the imaging tests: find fixtures, probe a file as the upload path does."""

from __future__ import annotations

from pathlib import Path

from imgpro.imaging.probe import SNIFF_BYTES, Probe, probe_file, sniff

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "images"
MAX_PIXELS = 50_000_000
MAX_FRAMES = 1000


def fixture(name: str) -> Path:
    return FIXTURES / name


def probe_path(path: Path, *, max_pixels: int = MAX_PIXELS, max_frames: int = MAX_FRAMES) -> Probe:
    """sniff + probe_file, as the upload path does."""
    with path.open("rb") as f:
        source_format = sniff(f.read(SNIFF_BYTES))
    assert source_format is not None, f"{path.name} was not recognised"
    return probe_file(path, source_format, max_pixels=max_pixels, max_frames=max_frames)
