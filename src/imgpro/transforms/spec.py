"""CDN query parameters (SPEC §5) → a frozen, canonical :class:`TransformSpec`. Pure: stdlib only.

``parse_query`` never raises and never rejects a request: an invalid value, an unknown name or an
overridden duplicate is *ignored* and its name listed in ``ParsedQuery.ignored`` (the
``X-Img-Ignored`` header). ``canonical`` turns a spec plus the resolved output format into the
string that names a cached variant; two requests that render the same pixels get the same string.

Decisions (each pinned by a test in tests/transforms/test_spec.py):

Syntax
- Parameter *names* are case-sensitive (``W=5`` is an unknown param). Enum and colour *values*
  are ASCII case-insensitive (``fit=Cover``, ``format=WEBP``, ``bg=FF0000``), stored lowercase.
- Values are never stripped: ``w= 500`` is invalid.
- Integers: 1-10 ASCII digits, nothing else (``500`` and ``0500`` yes; ``5e2``, ``500px``, ``-1``,
  ``+1``, ``500.0``, ``""``, non-ASCII digits no).
- Decimals (dpr and the float params): ASCII digits with an optional ``.`` and fraction, at most
  6 digits each side (``1.5``, ``2``, ``0.25``; not ``.5``, ``1.``, ``1e1``, ``-1``, ``nan``).
  The range is checked on the exact value, then it is rounded half-up to 0.01: finer steps are
  invisible and would only multiply cache variants.
- Out of range is invalid (ignored), never clamped.

Duplicates and aliases
- ``quality`` is an alias of ``q``; ``format=jpeg`` of ``jpg``; ``flip=vh`` of ``hv``.
- A repeated parameter (aliases count as the same parameter): the **last occurrence wins**, as in
  Starlette's ``request.query_params``. Earlier occurrences whose raw value differs are listed in
  ``ignored`` under the name they were sent with. If the last value is invalid the parameter is
  ignored entirely (no fall-back to an earlier value).
- Order never matters otherwise.

What ``ignored`` lists: invalid values, unknown names, overridden duplicates, and ``size`` when
``w``/``h`` is also given (explicit dimensions win over a preset). Valid values that merely have no
effect in context (``g`` without cover, ``fit``/``dpr`` without dimensions, ``bg`` where nothing is
padded or flattened, ``q`` for PNG/GIF, ``rotate=0``) are accepted silently and dropped from the
canonical form. Names are made header-safe (percent-encoded, cut to 64 chars), de-duplicated,
sorted, at most 32; empty names are not listed.

Semantics folded at parse time (the pipeline only ever sees the folded spec)
- ``dpr`` is folded into ``width``/``height`` (rounded half-up) and into ``short_side`` for
  ``size=s|m|l``. If the folded box exceeds 8192 on a side, both sides are scaled down together so
  the long side is 8192 (the output cap of §5). There is no ``dpr`` field.
- ``size=s|m|l`` → ``short_side`` = 320/640/1080 x dpr: "scale so the short side is N, never
  enlarge". It depends on the source's dimensions only at render time, so ``size=s&dpr=2`` and
  ``size=m`` are the same spec.
- ``size=social`` → ``width=1200, height=630, fit=pad`` (SPEC defines social as exactly that box,
  fitted inside and padded, which is ``fit=pad``); ``dpr`` does not apply to it.
- ``fit`` is reset to ``scale-down`` when there is no ``width``/``height``; ``gravity`` is reset to
  ``center`` unless ``fit=cover`` with both dimensions (nothing is trimmed otherwise; ``crop`` uses
  saliency, not ``g``).
- ``rotate`` and ``flip`` are folded into one of the 8 symmetries of the square, written with the
  fewest operations (``rotate=180`` ≡ ``flip=hv``; ``rotate=270&flip=h`` ≡ ``rotate=90&flip=v``).
  **Pipeline contract:** rotate clockwise first, then flip, as adjacent steps.
- ``brightness``/``contrast``/``saturation``/``gamma`` of 1, ``sharp=0`` and ``rotate=0|360`` are
  no-ops and become ``None``/``0``.

Format-dependent parts (applied by ``canonical``, and by the helpers the pipeline must use)
- ``effective_quality``: q for jpg/webp/avif, defaulting to ``DEFAULT_QUALITY``; ``None`` for the
  lossless png/gif (q has no effect there). A q equal to the default is dropped from the canonical.
  Changing ``DEFAULT_QUALITY`` changes pixels: bump ``cache.RENDER_VERSION`` with it.
- ``background``: the pad/flatten colour. JPEG has no alpha, so its background is ``bg`` or white
  (``bg=ffffff`` is a no-op there and kept otherwise, since an alpha source may be flattened). For
  formats with alpha (png webp avif gif) it is ``bg`` or ``None`` = transparent, and it only
  matters for ``fit=pad``; elsewhere ``bg`` is dropped.

Other
- ``format=auto`` (``negotiate.output_format``): only an *explicit* ``image/avif`` or ``image/webp``
  in ``Accept`` with q > 0 opts in — wildcards (``*/*``, ``image/*``) do not, because clients that
  send only wildcards (curl, old browsers) cannot be assumed to decode AVIF. The higher q wins, AVIF
  on a tie. Animated sources skip AVIF (libvips writes no animated AVIF). The fallback is GIF if
  animated, PNG if the source has alpha, else JPEG. ``vary_on_accept`` is true whenever
  ``format=auto`` decided, so ``format=auto`` resolving to webp and ``format=webp`` share a variant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import partial
from typing import Final
from urllib.parse import quote

from imgpro.transforms.marks import (
    DEFAULT_MARK_ALPHA,
    DEFAULT_MARK_G,
    DEFAULT_MARK_PAD,
    DEFAULT_MARK_W,
    MARK_GRAVITIES,
    MAX_MARK_PAD,
    SEGMENTS,
    Mark,
    mark_id,
)
from imgpro.transforms.orientation import CANON_ORIENT, FLIP_MATRICES, orient_matrix
from imgpro.transforms.sizes import NAMED_SIZES, SOCIAL_SIZE

MAX_SIDE: Final = 8192
FITS: Final = ("scale-down", "contain", "cover", "crop", "pad")
GRAVITIES: Final = ("center", "north", "south", "east", "west", "ne", "nw", "se", "sw")
# g=face (issue 15): cover/crop keep the detected faces, saliency when there are none.
FACE: Final = "face"
OUTPUT_FORMATS: Final = ("jpg", "png", "webp", "avif", "gif")
ALPHA_FORMATS: Final = frozenset({"png", "webp", "avif", "gif"})
DEFAULT_QUALITY: Final[Mapping[str, int]] = {"jpg": 80, "webp": 80, "avif": 60}
DEFAULT_BG: Final = "ffffff"
FLIPS: Final = ("h", "v", "hv")
MAX_IGNORED: Final = 32

FORMAT_ALIASES: Final = {"jpeg": "jpg"}
SOURCE_ALIASES: Final = {"jpeg": "jpg", "heic": "jpg", "heif": "jpg"}
# Float params -> inclusive range; 1 is the no-op of the multipliers, 0 of sharp; blur has none.
_FLOAT_RANGES: Final[Mapping[str, tuple[int, int]]] = {
    "brightness": (0, 10), "contrast": (0, 10), "saturation": (0, 10), "gamma": (0, 10),
    "blur": (1, 250), "sharp": (0, 10),
}  # fmt: skip
_FLOAT_NOOP: Final[Mapping[str, int]] = {
    "brightness": 1, "contrast": 1, "saturation": 1, "gamma": 1, "sharp": 0,
}  # fmt: skip
_FLOAT_FIELDS: Final = tuple(_FLOAT_RANGES)
_INT_RE: Final = re.compile(r"[0-9]{1,10}")
_DEC_RE: Final = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?")
_HEX_RE: Final = re.compile(r"#?(?:[0-9a-f]{6}|[0-9a-f]{3})")
_CENT: Final = Decimal("0.01")


# --- the spec --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransformSpec:
    """What to render, already folded and normalised (see the module docstring).

    ``width``/``height``/``short_side`` are final device pixels. Construct through
    :func:`parse_query`; direct construction is validated (``ValueError``) and normalised the
    same way, so equal specs always render the same pixels for the same output format.
    """

    width: int | None = None
    height: int | None = None
    fit: str = "scale-down"
    gravity: str = "center"
    short_side: int | None = None  # size=s|m|l: short side in px, never enlarged
    format: str | None = None  # explicit output format (never "auto")
    auto_format: bool = False  # format=auto: pick from Accept (see negotiate.output_format)
    quality: int | None = None  # as requested; use effective_quality() to encode
    brightness: float | None = None
    contrast: float | None = None
    saturation: float | None = None
    gamma: float | None = None
    blur: float | None = None  # Gaussian sigma
    sharp: float | None = None  # unsharp-mask strength
    rotate: int = 0  # clockwise degrees, applied before flip
    flip: str | None = None  # "h" | "v"
    bg: str | None = None  # "rrggbb"; use background() to pad/flatten
    segment: bool = False  # segment=foreground: background removed (marks.py)
    mark: Mark | None = None  # watermark (marks.py); the CDN checks the id

    def __post_init__(self) -> None:
        for side in (self.width, self.height):
            if side is not None and not 1 <= side <= MAX_SIDE:
                raise ValueError(f"side out of range: {side}")
        if self.short_side is not None and not 1 <= self.short_side <= MAX_SIDE:
            raise ValueError(f"short_side out of range: {self.short_side}")
        if self.short_side is not None and (self.width or self.height):
            raise ValueError("short_side excludes width/height")
        if self.fit not in FITS or self.gravity not in (*GRAVITIES, FACE):
            raise ValueError(f"bad fit/gravity: {self.fit}/{self.gravity}")
        if self.format is not None and self.format not in OUTPUT_FORMATS:
            raise ValueError(f"bad format: {self.format}")
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise ValueError(f"quality out of range: {self.quality}")
        if self.rotate % 90 or self.flip not in FLIP_MATRICES:
            raise ValueError(f"bad rotate/flip: {self.rotate}/{self.flip}")
        if self.bg is not None and not re.fullmatch(r"[0-9a-f]{6}", self.bg):
            raise ValueError(f"bad bg: {self.bg}")
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            lo, hi = _FLOAT_RANGES[name]
            if not (math.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{name} out of range: {value}")
            value = round(value, 2)
            object.__setattr__(self, name, None if value == _FLOAT_NOOP.get(name) else value)
        boxed = self.width is not None or self.height is not None
        if not boxed:
            object.__setattr__(self, "fit", "scale-down")
        both = self.width is not None and self.height is not None
        if self.gravity == FACE:  # faces steer cover and crop alike
            if not (self.fit in ("cover", "crop") and both):
                object.__setattr__(self, "gravity", "center")
        elif not (self.fit == "cover" and both):
            object.__setattr__(self, "gravity", "center")
        rotate, flip = CANON_ORIENT[orient_matrix(self.rotate % 360, self.flip)]
        object.__setattr__(self, "rotate", rotate)
        object.__setattr__(self, "flip", flip)
        if self.format is not None:
            object.__setattr__(self, "auto_format", False)


@dataclass(frozen=True)
class ParsedQuery:
    spec: TransformSpec
    ignored: tuple[str, ...] = field(default=())  # header-safe names, sorted, unique


# --- value parsers: each returns the parsed value or _INVALID ---------------------------------
class _Invalid:
    pass


_INVALID: Final = _Invalid()


def _int(raw: str, lo: int, hi: int) -> int | _Invalid:
    if not _INT_RE.fullmatch(raw):
        return _INVALID
    value = int(raw)
    return value if lo <= value <= hi else _INVALID


def _dec(raw: str, lo: int | Decimal, hi: int) -> Decimal | _Invalid:
    if not _DEC_RE.fullmatch(raw):
        return _INVALID
    value = Decimal(raw)
    if not lo <= value <= hi:
        return _INVALID
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _choice(raw: str, choices: Mapping[str, str]) -> str | _Invalid:
    if not raw.isascii():
        return _INVALID
    return choices.get(raw.lower(), _INVALID)


def _bg(raw: str) -> str | _Invalid:
    value = raw.lower() if raw.isascii() else ""
    if not _HEX_RE.fullmatch(value):
        return _INVALID
    value = value.lstrip("#")
    return value if len(value) == 6 else "".join(c * 2 for c in value)


def _rotate(raw: str) -> int | _Invalid:
    value = _int(raw, 0, 360)
    return _INVALID if isinstance(value, _Invalid) or value % 90 else value % 360


def _ident(*names: str, **aliases: str) -> Mapping[str, str]:
    return {**{n: n for n in names}, **aliases}


_PARSERS: Final[Mapping[str, Callable[[str], object]]] = {
    "size": lambda r: _choice(r, _ident("s", "m", "l", "social")),
    "w": lambda r: _int(r, 1, MAX_SIDE),
    "h": lambda r: _int(r, 1, MAX_SIDE),
    "fit": lambda r: _choice(r, _ident(*FITS)),
    "g": lambda r: _choice(r, _ident(*GRAVITIES, FACE)),
    "dpr": lambda r: _dec(r, 1, 4),
    "format": lambda r: _choice(r, _ident(*OUTPUT_FORMATS, "auto", **FORMAT_ALIASES)),
    "q": lambda r: _int(r, 1, 100),
    **{name: partial(_dec, lo=lo, hi=hi) for name, (lo, hi) in _FLOAT_RANGES.items()},
    "rotate": _rotate,
    "flip": lambda r: _choice(r, _ident(*FLIPS, vh="hv")),
    "bg": _bg,
    "segment": lambda r: _choice(r, _ident(*SEGMENTS)),
    "mark": lambda r: mark_id(r) or _INVALID,
    "mark_g": lambda r: _choice(r, _ident(*MARK_GRAVITIES)),
    "mark_w": lambda r: _dec(r, Decimal("0.01"), 1),
    "mark_alpha": lambda r: _dec(r, 0, 1),
    "mark_pad": lambda r: _int(r, 0, MAX_MARK_PAD),
}
_ALIASES: Final = {"quality": "q"}


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def _fold_box(
    width: int | None, height: int | None, dpr: Fraction
) -> tuple[int | None, int | None]:
    sides = [None if s is None else dpr * s for s in (width, height)]
    longest = max(s for s in sides if s is not None)
    scale = min(Fraction(1), Fraction(MAX_SIDE) / longest)
    w, h = (None if s is None else max(1, _round_half_up(s * scale)) for s in sides)
    return w, h


def _safe_name(name: str) -> str:
    return quote(name, safe="-_.~[]")[:64]


def parse_query(params: Sequence[tuple[str, str]]) -> ParsedQuery:
    """Parse CDN query parameters (in request order). Never raises; see the module docstring."""
    ignored: set[str] = set()
    last: dict[str, tuple[str, str]] = {}  # canonical param -> (name as sent, raw value)
    for name, raw in params:
        key = _ALIASES.get(name, name)
        if key not in _PARSERS:
            ignored.add(name)
            continue
        previous = last.get(key)
        if previous is not None and previous[1] != raw:
            ignored.add(previous[0])
        last[key] = (name, raw)

    values: dict[str, object] = {}
    for key, (name, raw) in last.items():
        value = _PARSERS[key](raw)
        if isinstance(value, _Invalid):
            ignored.add(name)
        else:
            values[key] = value

    width = _opt_int(values.get("w"))
    height = _opt_int(values.get("h"))
    size = values.get("size")
    fit = str(values.get("fit", "scale-down"))
    dpr = Fraction(_opt_dec(values.get("dpr")) or 1)
    short_side: int | None = None
    if size is not None and (width or height):
        ignored.add(last["size"][0])  # explicit dimensions win over the preset
        size = None
    if size == "social":
        width, height = SOCIAL_SIZE  # exactly this box: dpr does not apply
        fit = "pad"
    elif isinstance(size, str):
        short_side = _round_half_up(NAMED_SIZES[size] * dpr)
    elif width or height:
        width, height = _fold_box(width, height, dpr)

    fmt = values.get("format")
    floats = {name: _opt_dec(values.get(name)) for name in _FLOAT_FIELDS}
    spec = TransformSpec(
        width=width,
        height=height,
        fit=fit,
        gravity=str(values.get("g", "center")),
        short_side=short_side,
        format=None if fmt in (None, "auto") else str(fmt),
        auto_format=fmt == "auto",
        quality=_opt_int(values.get("q")),
        brightness=_opt_float(floats["brightness"]),
        contrast=_opt_float(floats["contrast"]),
        saturation=_opt_float(floats["saturation"]),
        gamma=_opt_float(floats["gamma"]),
        blur=_opt_float(floats["blur"]),
        sharp=_opt_float(floats["sharp"]),
        rotate=_opt_int(values.get("rotate")) or 0,
        flip=_opt_str(values.get("flip")),
        bg=_opt_str(values.get("bg")),
        segment=values.get("segment") == "foreground",
        mark=_mark(values),
    )
    names = sorted({_safe_name(n) for n in ignored if n})
    return ParsedQuery(spec=spec, ignored=tuple(names[:MAX_IGNORED]))


def _mark(values: Mapping[str, object]) -> Mark | None:
    image_id = _opt_str(values.get("mark"))
    if image_id is None:
        return None  # mark_* alone: valid, without effect
    width, alpha = _opt_dec(values.get("mark_w")), _opt_dec(values.get("mark_alpha"))
    pad = values.get("mark_pad")
    return Mark(
        image_id,
        gravity=_opt_str(values.get("mark_g")) or DEFAULT_MARK_G,
        width=DEFAULT_MARK_W if width is None else float(width),
        alpha=DEFAULT_MARK_ALPHA if alpha is None else float(alpha),
        pad=pad if isinstance(pad, int) else DEFAULT_MARK_PAD,
    )


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _opt_dec(value: object) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _opt_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
