"""SVG, the one text format imgpro accepts: recognising it, its intrinsic size, and proof that
the whole document is well-formed. Parsing is expat with external entities and DTDs refused
(XXE); librsvg (libvips' svgload) only ever measures documents whose layout is cheap."""

from __future__ import annotations

import math
import re
from pathlib import Path
from xml.parsers import expat

from imgpro.errors import InvalidImage
from imgpro.imaging import vips

_SVG_ROOT = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?svg[\s/>]")
# CSS px per unit (96 dpi; em/ex at the browser default 16px font).
_PX_PER_UNIT = {
    "": 1.0,
    "px": 1.0,
    "pt": 96 / 72,
    "pc": 16.0,
    "mm": 96 / 25.4,
    "cm": 96 / 2.54,
    "in": 96.0,
    "em": 16.0,
    "ex": 8.0,
}
_LENGTH = re.compile(r"\s*(\+?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-z]*)\s*\Z")
# What a browser gives a replaced element with no intrinsic size (CSS 2.1 §10.3.2).
SVG_DEFAULT_SIZE = (300, 150)


def _head_text(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    return head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="ignore")


def looks_like_svg(head: bytes) -> bool:
    """Whitespace, an XML declaration, processing instructions, comments and a doctype may come
    before the root; the root must be an ``<svg>`` element. A plain loop, not one big regex, so
    hostile input cannot make it backtrack."""
    text, pos = _head_text(head), 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith("<?", pos):
            pos = _after(text, "?>", pos + 2)
        elif text.startswith("<!--", pos):
            pos = _after(text, "-->", pos + 4)
        elif text.startswith("<!DOCTYPE", pos):
            bracket, close = text.find("[", pos), text.find(">", pos)
            if 0 <= bracket < close:  # an internal subset may contain '>'
                pos = _after(text, "]", bracket)
            pos = _after(text, ">", pos)
        else:
            return bool(_SVG_ROOT.match(text, pos))
        if pos < 0:
            return False


def _after(text: str, token: str, start: int) -> int:
    """Index just past the next ``token`` at or after ``start``; -1 if there is none."""
    found = text.find(token, start) if start >= 0 else -1
    return found + len(token) if found >= 0 else -1


class _StopParsing(Exception):
    pass


def _svg_parser() -> expat.XMLParserType:
    parser = expat.ParserCreate()
    # Never resolve external entities or DTDs (XXE); expat >= 2.4 also caps entity expansion
    # (billion laughs). Internal entities stay legal: old Illustrator exports use them.
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.ExternalEntityRefHandler = lambda *_: False  # refuse, as an XML error
    return parser


def _svg_root(path: Path, *, whole_file: bool = False) -> tuple[str, dict[str, str]]:
    """The root element's name and attributes. Parses only up to the root start tag unless
    ``whole_file``, which proves the entire document is well-formed."""
    parser = _svg_parser()
    roots: list[tuple[str, dict[str, str]]] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if not roots:
            roots.append((name, attrs))
        if not whole_file:
            raise _StopParsing

    parser.StartElementHandler = start
    try:
        _feed(parser, path)
    except _StopParsing:
        pass
    except expat.ExpatError as exc:
        raise InvalidImage() from exc
    if not roots:
        raise InvalidImage()
    return roots[0]


def _length(value: str | None) -> float | None:
    match = _LENGTH.match((value or "").lower())
    if not match or match[2] not in _PX_PER_UNIT:
        return None  # missing, percentages, garbage: no intrinsic size from this attribute
    px = float(match[1]) * _PX_PER_UNIT[match[2]]
    return px if math.isfinite(px) and px > 0 else None


def _viewbox(value: str | None) -> tuple[float, float] | None:
    parts = re.split(r"[\s,]+", (value or "").strip())
    try:
        width, height = float(parts[2]), float(parts[3])
    except (IndexError, ValueError):
        return None
    ok = len(parts) == 4 and all(math.isfinite(v) and v > 0 for v in (width, height))
    return (width, height) if ok else None


def svg_size(path: Path) -> tuple[int, int]:
    """Intrinsic size as a browser computes it: width/height attributes (CSS units to px), the
    missing one from the viewBox aspect ratio, else the viewBox itself; failing that whatever
    librsvg (libvips' svgload) reports, and finally :data:`SVG_DEFAULT_SIZE`."""
    _, attrs = _svg_root(path)
    width, height = _length(attrs.get("width")), _length(attrs.get("height"))
    box = _viewbox(attrs.get("viewBox"))
    if box:
        if width and not height:
            height = width * box[1] / box[0]
        elif height and not width:
            width = height * box[0] / box[1]
        elif not width and not height:
            width, height = box
    if width and height:
        return max(round(width), 1), max(round(height), 1)
    if not _svg_is_simple(path):
        # librsvg measures a size-less SVG by laying out all of it: a 1.6 KB document whose
        # <use> elements reference groups of <use> costs it seconds of CPU (exponential). Such
        # a file gets what a browser gives any SVG without an intrinsic size.
        return SVG_DEFAULT_SIZE
    try:
        header = vips.read_header(path, "svg")
    except InvalidImage:
        return SVG_DEFAULT_SIZE
    return header.width, header.height


# Up to this many elements and no <use>, librsvg's layout of the whole document is cheap.
SVG_MEASURABLE_ELEMENTS = 2000


def _svg_is_simple(path: Path) -> bool:
    """Whether librsvg may lay out the document to measure it (bounded work): no ``<use>``
    (references multiply the work), at most :data:`SVG_MEASURABLE_ELEMENTS` elements."""
    parser = _svg_parser()
    count = 0

    def start(name: str, _: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if name.rpartition(":")[2] == "use" or count > SVG_MEASURABLE_ELEMENTS:
            raise _StopParsing

    parser.StartElementHandler = start
    try:
        _feed(parser, path)
    except (_StopParsing, expat.ExpatError):
        return False
    return True


def check_svg(path: Path) -> None:
    """The whole file must be well-formed XML whose root element is ``svg``."""
    name, _ = _svg_root(path, whole_file=True)
    if name.rpartition(":")[2] != "svg":
        raise InvalidImage()


def _feed(parser: expat.XMLParserType, path: Path) -> None:
    """The whole file through ``parser`` in 64 KiB chunks (never all in memory at once)."""
    with path.open("rb") as f:
        while chunk := f.read(64 * 1024):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)
