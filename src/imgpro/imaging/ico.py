"""ICO files keep no metadata: PNG-coded entries lose their ancillary chunks at upload.

ICO is served as stored (SPEC §5), so the stored bytes are what must be clean. An icon entry is
either a BMP (DIB: pixels and masks only, nothing to strip) or a whole PNG file, which can carry
``tEXt``/``zTXt``/``iTXt`` (author, software, comments), ``eXIf``, ``tIME``, ``iCCP`` ...
Rewriting those entries with only the chunks that make the picture (IHDR, PLTE, tRNS, the
colour-space hints gAMA/cHRM/sRGB, IDAT, IEND) changes no pixel; the directory's sizes and
offsets are recomputed. The closest right thing to "served as stored, metadata stripped".
"""

from __future__ import annotations

import struct

from imgpro.errors import InvalidImage

_PNG = b"\x89PNG\r\n\x1a\n"
_KEEP = frozenset({b"IHDR", b"PLTE", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"IDAT", b"IEND"})


def _clean_png(png: bytes) -> bytes:
    out, pos = [_PNG], 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        end = pos + 12 + length
        if end > len(png):
            raise InvalidImage()
        if kind in _KEEP:
            out.append(png[pos:end])
        pos = end
        if kind == b"IEND":
            break
    return b"".join(out)


def strip_metadata(data: bytes) -> bytes | None:
    """The ICO with its PNG entries cleaned, or None when nothing had to change."""
    count = struct.unpack("<H", data[4:6])[0]
    entries = []
    for i in range(count):
        entry = data[6 + 16 * i : 22 + 16 * i]
        if len(entry) < 16:
            raise InvalidImage()
        size, offset = struct.unpack("<II", entry[8:16])
        body = data[offset : offset + size]
        if len(body) != size:
            raise InvalidImage()
        if body.startswith(_PNG):
            body = _clean_png(body)
        entries.append((entry[:8], body))
    directory_end = 6 + 16 * count
    cleaned = sum(len(body) for _, body in entries)
    original = sum(struct.unpack("<I", data[14 + 16 * i : 18 + 16 * i])[0] for i in range(count))
    if cleaned == original:
        return None
    head, bodies, offset = [data[:6]], [], directory_end
    for prefix, body in entries:
        head.append(prefix + struct.pack("<II", len(body), offset))
        bodies.append(body)
        offset += len(body)
    return b"".join(head + bodies)
