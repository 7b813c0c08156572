"""The operations every contender performs, and how each one spells them.

Cold requests: request *i* of a cell asks for target size ``base + i`` (500, 501, 502, …) at the
first concurrency level and ``base - 1 - i`` (499, 498, …) at the second — the same sequences for
every contender — so no request can be answered from any result cache (imgpro's variant
directory is also emptied between cells), and the work stays within ±10 % of the nominal
size's output pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from bench.harness.images import TestImage


@dataclass(frozen=True)
class Op:
    key: str
    label: str
    kind: str  # "fit": inside a T x T box; "short": short side T (height: all images are landscape)
    base: int
    fmt: str  # jpg | webp | avif
    q: int
    animated: bool = False

    def target(self, i: int, run: int = 0) -> int:
        """Request i of a cell: base, base+1, … in even runs (the first concurrency level),
        base-1, base-2, … in odd ones, so no two cells of a pair ever share a size (imgpro keeps
        hot variants in memory, where emptying its variant directory does not reach)."""
        return self.base + i if run % 2 == 0 else self.base - 1 - i

    @property
    def warmup(self) -> int:
        return self.base + 300  # outside every cell's sequence


OPS = {
    "fit500-jpg": Op("fit500-jpg", "fit 500 px, JPEG q80", "fit", 500, "jpg", 80),
    "m-webp": Op("m-webp", "short side 640 (size=m), WebP q80", "short", 640, "webp", 80),
    "fit500-avif": Op("fit500-avif", "fit 500 px, AVIF q60 effort 3", "fit", 500, "avif", 60),
    "fit2000-jpg": Op(
        "fit2000-jpg", "fit 2000 px, JPEG q80 (thumbor's row)", "fit", 2000, "jpg", 80
    ),
    "anim-webp": Op(
        "anim-webp", "fit 500 px, animated WebP q80", "fit", 500, "webp", 80, animated=True
    ),
}

# (image, op) pairs measured in a full run; --quick keeps the first three.
MATRIX = [
    ("12mp", "fit500-jpg"),
    ("12mp", "m-webp"),
    ("2mp", "fit500-jpg"),
    ("24mp", "fit500-jpg"),
    ("2mp", "m-webp"),
    ("12mp", "fit500-avif"),
    ("2mp", "fit500-avif"),
    ("24mp", "fit2000-jpg"),
    ("12mp", "fit2000-jpg"),
    ("png", "fit500-jpg"),
    ("png", "m-webp"),
    ("gif", "fit500-jpg"),
    ("gif", "anim-webp"),
]
QUICK_MATRIX = MATRIX[:3]

AVIF_EFFORT = 3  # libvips effort 0-9 (imgpro's choice); = aom/libavif speed 6 for the others
AVIF_SPEED = 9 - AVIF_EFFORT


# --- the floor: bare pyvips doing the same work (also the similarity reference) ---------------


def floor_render(img: TestImage, op: Op, target: int) -> bytes:
    """thumbnail (shrink-on-load) + save, nothing else: what any libvips server must at least do."""
    opts = "[n=-1]" if op.animated and img.frames > 1 else ""
    if op.kind == "fit":
        im = pyvips.Image.thumbnail(str(img.path) + opts, target, height=target, size="down")
    else:
        im = pyvips.Image.thumbnail(str(img.path) + opts, 100_000, height=target, size="down")
    if op.fmt == "jpg":
        if im.hasalpha():
            im = im.flatten(background=[255, 255, 255])
        return bytes(im.jpegsave_buffer(Q=op.q, optimize_coding=True, keep="none"))
    if op.fmt == "webp":
        return bytes(im.webpsave_buffer(Q=op.q, effort=4, keep="none"))
    return bytes(im.heifsave_buffer(compression="av1", Q=op.q, effort=AVIF_EFFORT, keep="none"))


# --- URL spellings ------------------------------------------------------------------------------


def imgpro_query(op: Op, target: int) -> str:
    if op.kind == "fit":
        return f"w={target}&h={target}&q={op.q}"
    return f"h={target}&q={op.q}"


_THUMBOR_FMT = {"jpg": "jpeg", "webp": "webp", "avif": "avif"}


def thumbor_path(img: TestImage, op: Op, target: int) -> str:
    box = f"fit-in/{target}x{target}" if op.kind == "fit" else f"0x{target}"
    return f"/unsafe/{box}/filters:quality({op.q}):format({_THUMBOR_FMT[op.fmt]})/{img.name}"


_IPX_FMT = {"jpg": "jpeg", "webp": "webp", "avif": "avif"}


def ipx_path(img: TestImage, op: Op, target: int) -> str:
    size = f"s_{target}x{target},fit_inside" if op.kind == "fit" else f"h_{target}"
    anim = ",a" if op.animated else ""
    return f"/{size},f_{_IPX_FMT[op.fmt]},q_{op.q}{anim}/{img.name}"
