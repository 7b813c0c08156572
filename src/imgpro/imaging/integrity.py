"""Is the pixel data all there? Cheap structural checks for the truncations a tiny decode misses.

The upload placeholder decodes a <=32 px thumbnail of the first frame with
``fail_on="truncated"`` (imaging/vips.py), which refuses most cut files. Three kinds pass it:

- an animated GIF cut after its first frame: the thumbnail never reads the later ones, and
  libvips' GIF loader does not report a missing end even when every frame is read;
- an HEIF/AVIF file cut inside ``mdat``: grid images (every phone HEIC is a grid of 512 px tiles)
  decode with the missing tiles grey and no error;
- a JPEG whose scan ends early at a marker (a header claiming 7000x7000, then EOI): libjpeg calls
  that "premature end of data segment", a *warning*, which ``fail_on="truncated"`` ignores —
  vips.py decodes JPEG placeholders with warnings fatal and refuses exactly that one.

Each check reads structure only (box and block lengths), never pixels: linear in the file size,
no allocation beyond a small buffer. Pure Python: no pyvips.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from imgpro.errors import InvalidImage


def check_complete(path: Path, source_format: str) -> None:
    """Raise :class:`InvalidImage` if the file ends before its own structure says it does."""
    if source_format == "gif":
        _check_gif(path)
    elif source_format in ("heic", "avif"):
        _check_bmff(path)


# --- GIF: walk the blocks ----------------------------------------------------------------------


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise InvalidImage()  # EOF inside a block: truncated
    return data


def _skip_sub_blocks(f: BinaryIO, size: int) -> None:
    """Data sub-blocks: a length byte, that many bytes, ...; a zero length ends them."""
    while True:
        length = _read(f, 1)[0]
        if length == 0:
            return
        f.seek(length, 1)
        if f.tell() > size:
            raise InvalidImage()


def _check_gif(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as f:
        header = _read(f, 13)  # signature + logical screen descriptor
        if header[10] & 0x80:
            f.seek(3 << ((header[10] & 7) + 1), 1)  # global colour table
        images = 0
        while True:
            block = f.read(1)
            if not block or block == b"\x3b":
                # The trailer, or a clean end between blocks (some encoders omit the trailer;
                # browsers show such files whole): complete if there was a picture at all.
                if images == 0:
                    raise InvalidImage()
                return
            if block == b"\x21":  # extension: label, then sub-blocks
                _read(f, 1)
                _skip_sub_blocks(f, size)
            elif block == b"\x2c":  # image descriptor, local colour table, LZW code size, data
                packed = _read(f, 9)[8]
                if packed & 0x80:
                    f.seek(3 << ((packed & 7) + 1), 1)
                _read(f, 1)
                _skip_sub_blocks(f, size)
                images += 1
            else:
                # Junk after the last frame: decoders stop at it, as we do.
                if images == 0:
                    raise InvalidImage()
                return


# --- HEIF / AVIF: top-level ISO BMFF boxes ---------------------------------------------------


def _check_bmff(path: Path) -> None:
    """Every top-level box (ftyp, meta, mdat, ...) must fit in the file: a file cut anywhere in
    its last box (phones write ``mdat`` last) claims more bytes than there are."""
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as f:
        while offset < size:
            f.seek(offset)
            head = f.read(16)
            if len(head) < 8:
                raise InvalidImage()
            length = struct.unpack(">I", head[:4])[0]
            if length == 1:  # 64-bit size follows the type
                if len(head) < 16:
                    raise InvalidImage()
                length = struct.unpack(">Q", head[8:16])[0]
            elif length == 0:  # "to the end of the file"
                return
            if length < 8 or offset + length > size:
                raise InvalidImage()
            offset += length
