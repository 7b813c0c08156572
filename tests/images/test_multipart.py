"""The framework-free multipart reader (images/multipart.py): bounded, streaming, tidy."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

import imgpro
from imgpro.errors import BadRequest, FileTooLarge, ValidationFailed
from imgpro.images.intake import Caps
from imgpro.images.multipart import MAX_FIELD_BYTES, MAX_FIELDS, read_multipart

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(
    name: str, value: bytes, filename: str | None = None, content_type: str | None = None
) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def chunks(data: bytes, size: int = 7):
    for i in range(0, len(data), size):  # small chunks: every boundary split somewhere
        yield data[i : i + size]


CAPS = Caps(max_bytes=1000, svg_max_bytes=100)


async def test_files_are_spooled_hashed_and_fields_kept(tmp_path: Path):
    data = b"\x89PNG" + bytes(range(200))
    form = await read_multipart(
        CONTENT_TYPE,
        chunks(
            body(part("caption", "héllo".encode()), part("file", data, "../dir/a.png", "image/png"))
        ),
        tmp_path,
        CAPS,
    )
    [spooled] = form.files
    assert spooled.path.read_bytes() == data and spooled.size == len(data)
    assert spooled.sha256 == hashlib.sha256(data).hexdigest()
    assert spooled.filename == "a.png" and spooled.content_type == "image/png"
    assert form.fields == {"caption": "héllo"}
    form.discard()
    assert list(tmp_path.iterdir()) == []


async def test_bounds(tmp_path: Path):
    two = body(part("file", b"a", "a.png"), part("file", b"b", "b.png"))
    with pytest.raises(ValidationFailed, match="one file"):
        await read_multipart(CONTENT_TYPE, chunks(two), tmp_path, CAPS)
    three = body(*(part("file", bytes([i]), f"{i}.png") for i in range(3)))
    with pytest.raises(ValidationFailed, match="at most 2 files"):
        await read_multipart(CONTENT_TYPE, chunks(three), tmp_path, CAPS, max_files=2)
    form = await read_multipart(CONTENT_TYPE, chunks(two), tmp_path, CAPS, max_files=2)
    assert [f.filename for f in form.files] == ["a.png", "b.png"]
    form.discard()
    with pytest.raises(FileTooLarge):
        await read_multipart(
            CONTENT_TYPE, chunks(body(part("file", b"x" * 1001, "a.png"))), tmp_path, CAPS
        )
    svg = b'<svg xmlns="http://www.w3.org/2000/svg">' + b" " * 200 + b"</svg>"
    with pytest.raises(FileTooLarge, match="limit"):  # the SVG cap, though under max_bytes
        await read_multipart(CONTENT_TYPE, chunks(body(part("file", svg, "a.svg"))), tmp_path, CAPS)
    with pytest.raises(ValidationFailed, match="too long"):
        await read_multipart(
            CONTENT_TYPE,
            chunks(body(part("caption", b"c" * (MAX_FIELD_BYTES + 1)))),
            tmp_path,
            CAPS,
        )
    many = body(*(part(f"f{i}", b"v") for i in range(MAX_FIELDS + 5)))
    form = await read_multipart(CONTENT_TYPE, chunks(many), tmp_path, CAPS)
    assert len(form.fields) == MAX_FIELDS  # the rest are read past, not kept
    # Other file parts are never stored; an empty file input can be dropped.
    form = await read_multipart(
        CONTENT_TYPE,
        chunks(body(part("other", b"zz", "o.png"), part("file", b"", ""))),
        tmp_path,
        CAPS,
        skip_empty=True,
    )
    assert form.files == [] and form.fields == {}
    with pytest.raises(BadRequest):
        await read_multipart("multipart/form-data", chunks(two), tmp_path, CAPS)
    with pytest.raises(BadRequest):
        await read_multipart(CONTENT_TYPE, chunks(b"--nope\r\ngarbage"), tmp_path, CAPS)
    assert list(tmp_path.iterdir()) == []  # every refusal removed its temp files


FRAMEWORKS = ("fastapi", "starlette")


@pytest.mark.parametrize(
    "module", ["images/multipart.py", "images/upload.py", "images/intake.py", "jsonbody.py"]
)
def test_the_upload_path_imports_no_web_framework(module: str):
    tree = ast.parse((Path(imgpro.__file__).parent / module).read_text())
    names = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [
        n
        for n in names
        if n.split(".")[0] in FRAMEWORKS
        or n.startswith(("imgpro.api", "imgpro.web", "imgpro.delivery", "imgpro.cli"))
    ]
