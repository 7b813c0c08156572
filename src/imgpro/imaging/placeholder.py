"""The placeholder of an image (BlurHash + average colour) from its tiny RGB thumbnail.

``vips.make_placeholder`` decodes the <=32 px thumbnail; this part is plain bytes arithmetic.
"""

from __future__ import annotations

import blurhash

from imgpro.errors import InvalidImage


def placeholder_of(rgb: bytes, width: int, height: int) -> tuple[str, str]:
    """(blurhash with 4x3 components, ``#rrggbb`` average colour) of packed RGB rows."""
    n = width * height
    average = "#" + "".join(f"{sum(rgb[band::3]) // n:02x}" for band in range(3))
    return _blurhash(rgb, width, height), average


def _blurhash(rgb: bytes, width: int, height: int) -> str:
    # blurhash-python's encode() only accepts Pillow images and reads them through
    # Image.getdata(), deprecated in Pillow 12 and gone in Pillow 14. Its C function takes the
    # packed RGB rows we already have, so we call it directly through the package's cffi binding.
    ffi, lib = blurhash._ffi, blurhash._lib
    pixels = ffi.from_buffer("uint8_t[]", rgb)
    out = ffi.new("char[]", 2 + 4 + (9 * 9 - 1) * 2 + 1)
    result = lib.create_hash_from_pixels(4, 3, width, height, pixels, width * 3, out)
    if result == ffi.NULL:
        raise InvalidImage()
    return str(ffi.string(result).decode())
