"""Architecture pins: which modules may import which imaging libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "imgpro"
ALLOWED = {
    # The imaging.vips package (load, ops, encode, models) is the one home of libvips.
    "pyvips": {
        "imaging/vips/__init__.py",
        "imaging/vips/encode.py",
        "imaging/vips/load.py",
        "imaging/vips/models.py",
        "imaging/vips/ops.py",
    },
    "PIL": {"imaging/heif.py", "imaging/probe.py"},
    "pillow_heif": {"imaging/heif.py"},
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("library", sorted(ALLOWED))
def test_only_the_allowed_modules_import(library: str) -> None:
    importers = {
        str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if library in _imports(path)
    }
    assert importers <= ALLOWED[library]


def test_unaccepted_loaders_are_blocked(tmp_path: Path) -> None:
    import pyvips

    from imgpro.imaging import vips  # noqa: F401  (importing it installs the block)

    tiff = tmp_path / "x.tif"
    tiff.write_bytes(pyvips.Image.black(4, 4).tiffsave_buffer())
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_file(str(tiff)).avg()
