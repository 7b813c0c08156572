"""Which JPEG DCT scale to decode at: pure arithmetic, kept apart from libvips so the policy
can be read and tested on its own (``vips.load`` applies it)."""

from __future__ import annotations


def jpeg_draft_shrink(source: tuple[int, int], size: tuple[int, int], margin: float) -> int:
    """The JPEG DCT scale (1, 2, 4 or 8) to decode at: the largest that leaves the decoded image
    at least ``margin`` times ``size`` on both axes.

    libvips' ``thumbnail`` keeps a margin of 2 for its own resampler (a 12 MP photo → 500 px
    decodes at 1/4, a 2 MP one at full size); Pillow's draft mode (thumbor), sharp's
    ``fastShrinkOnLoad`` and imgproxy use 1. The smaller the margin the less work, and the more
    the DCT's box-like downscale shows: against a full-quality resize, after q80 encoding, a
    margin of 1.0-1.2 lost 0.5-1.1 dB, 1.5 and above ≤ 0.3 dB (bench images, measured).
    1 means "let thumbnail choose": it would pick this scale itself (or there is none)."""
    ratio = min(source[0] / max(size[0], 1), source[1] / max(size[1], 1))

    def scale(margin: float) -> int:
        return next((n for n in (8, 4, 2) if ratio >= n * margin), 1)

    draft = scale(margin)
    return draft if draft > scale(2.0) else 1
