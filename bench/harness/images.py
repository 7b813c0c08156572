"""The test images, generated once with pyvips into bench/.work/images (all landscape).

Photo-like content: a real photo (tests/fixtures/images/Landscape_*.jpg) upscaled, with a little
Gaussian noise added so the big ones have sensor-like high-frequency detail (an upscaled photo
alone is unrealistically smooth and compresses and resizes too easily).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyvips

from bench.harness.common import ROOT, WORK, log

FIXTURES = ROOT / "tests" / "fixtures" / "images"
IMAGES = WORK / "images"
VERSION = "v1"  # bump to regenerate


@dataclass(frozen=True)
class TestImage:
    name: str  # file name in IMAGES
    label: str  # for tables
    width: int
    height: int
    frames: int = 1

    @property
    def path(self) -> Path:
        return IMAGES / self.name

    @property
    def ext(self) -> str:
        return self.name.rsplit(".", 1)[1]


ALL = {
    "24mp": TestImage("photo-24mp.jpg", "24 MP JPEG", 6000, 4000),
    "12mp": TestImage("photo-12mp.jpg", "12 MP JPEG", 4240, 2832),
    "2mp": TestImage("photo-2mp.jpg", "2 MP JPEG", 1800, 1200),
    "png": TestImage("rgba.png", "RGBA PNG 1600x1066", 1600, 1066),
    "gif": TestImage("anim-50f.gif", "50-frame GIF 640x426", 640, 426, frames=50),
}


def _photo(src: str, width: int, height: int, noise: float) -> pyvips.Image:
    im = pyvips.Image.new_from_file(str(FIXTURES / src))
    im = im.resize(width / im.width, vscale=height / im.height, kernel="lanczos3")
    if noise:
        grain = pyvips.Image.gaussnoise(width, height, sigma=noise, mean=0)
        im = (im + grain.bandjoin([grain, grain])).cast("uchar")
    return im.copy(interpretation="srgb")


def _make(key: str) -> None:
    img = ALL[key]
    if key in ("24mp", "12mp"):
        _photo("Landscape_1.jpg", img.width, img.height, 6).jpegsave(
            str(img.path), Q=90, keep="none"
        )
    elif key == "2mp":
        _photo("Landscape_1.jpg", img.width, img.height, 0).jpegsave(
            str(img.path), Q=90, keep="none"
        )
    elif key == "png":
        rgb = _photo("Landscape_3.jpg", img.width, img.height, 0)
        # Alpha: a horizontal ramp with a fully transparent circle, so flattening matters.
        ramp = pyvips.Image.xyz(img.width, img.height)[0].linear(255 / img.width, 0)
        d = pyvips.Image.xyz(img.width, img.height) - [img.width // 2, img.height // 2]
        circle = ((d[0] ** 2 + d[1] ** 2) ** 0.5 > img.height // 4).ifthenelse(ramp, 0)
        rgb.bandjoin(circle.cast("uchar")).copy(interpretation="srgb").pngsave(
            str(img.path), compression=6, keep="none"
        )
    elif key == "gif":
        big = _photo("Landscape_6.jpg", img.width + img.frames * 8, img.height, 0)
        frames = [big.crop(i * 8, 0, img.width, img.height) for i in range(img.frames)]
        anim = pyvips.Image.arrayjoin(frames, across=1).copy()
        anim.set_type(pyvips.GValue.gint_type, "page-height", img.height)
        anim.set_type(pyvips.GValue.array_int_type, "delay", [80] * img.frames)
        anim.set_type(pyvips.GValue.gint_type, "loop", 0)
        anim.gifsave(str(img.path), effort=4, keep="none")


def ensure() -> dict[str, TestImage]:
    IMAGES.mkdir(parents=True, exist_ok=True)
    stamp = IMAGES / f".{VERSION}"
    for key, img in ALL.items():
        if not img.path.exists() or not stamp.exists():
            log(f"generating {img.name} …")
            _make(key)
    stamp.touch()
    return ALL
