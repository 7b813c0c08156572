"""ThumbHash (Evan Wallace, MIT): a ~25-byte placeholder that keeps aspect ratio and alpha.

A port of the reference encoder ``rgbaToThumbHash`` with the DCT done by numpy matrix products
instead of the reference's nested loops (same arithmetic, same bytes). Input is a ≤100×100 RGBA
thumbnail that ``vips.make_placeholder`` already decodes for the BlurHash.
"""

from __future__ import annotations

import base64
import math

import numpy as np

MAX_SIDE = 100


def thumbhash_of(rgba: bytes, width: int, height: int) -> str:
    """The base64 ThumbHash of packed RGBA rows (width, height ≤ 100)."""
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"{width}x{height} does not fit in {MAX_SIDE}x{MAX_SIDE}")
    pixels = np.frombuffer(rgba, dtype=np.uint8).reshape(height * width, 4).astype(np.float64)
    alpha = pixels[:, 3] / 255
    total_alpha = float(alpha.sum())
    average = (pixels[:, :3] * (alpha / 255)[:, None]).sum(axis=0)
    if total_alpha:
        average /= total_alpha

    has_alpha = total_alpha < width * height
    l_limit = 5 if has_alpha else 7  # fewer luminance bits when alpha needs room
    lx = max(1, round_half_up(l_limit * width / max(width, height)))
    ly = max(1, round_half_up(l_limit * height / max(width, height)))

    # RGBA → LPQA, composited over the average colour.
    rgb = average[None, :] * (1 - alpha)[:, None] + pixels[:, :3] * (alpha / 255)[:, None]
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    channels = {
        "l": ((r + g + b) / 3).reshape(height, width),
        "p": ((r + g) / 2 - b).reshape(height, width),
        "q": (r - g).reshape(height, width),
        "a": alpha.reshape(height, width),
    }

    l_dc, l_ac, l_scale = _encode_channel(channels["l"], max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel(channels["p"], 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(channels["q"], 3, 3)

    landscape = width > height
    header24 = (
        round_half_up(63 * l_dc)
        | (round_half_up(31.5 + 31.5 * p_dc) << 6)
        | (round_half_up(31.5 + 31.5 * q_dc) << 12)
        | (round_half_up(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if landscape else lx)
        | (round_half_up(63 * p_scale) << 3)
        | (round_half_up(63 * q_scale) << 9)
        | (int(landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    acs = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _encode_channel(channels["a"], 5, 5)
        out.append(round_half_up(15 * a_dc) | (round_half_up(15 * a_scale) << 4))
        acs.append(a_ac)
    start = len(out)
    index = 0
    for ac in acs:
        for factor in ac:
            slot = start + (index >> 1)
            if slot >= len(out):
                out.append(0)
            out[slot] |= round_half_up(15 * factor) << ((index & 1) << 2)
            index += 1
    return base64.b64encode(bytes(out)).decode("ascii")


def _encode_channel(channel: np.ndarray, nx: int, ny: int) -> tuple[float, list[float], float]:
    height, width = channel.shape
    xs = np.arange(width) + 0.5
    ys = np.arange(height) + 0.5
    dc = 0.0
    ac: list[float] = []
    scale = 0.0
    for cy in range(ny):
        fy = np.cos(math.pi / height * cy * ys)
        cx = 0
        while cx * ny < nx * (ny - cy):
            fx = np.cos(math.pi / width * cx * xs)
            f = float(fy @ channel @ fx) / (width * height)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


def round_half_up(value: float) -> int:
    """JavaScript's Math.round (halves go up), which the reference uses; Python rounds to even."""
    return math.floor(value + 0.5)
