"""Image understanding and pixel work.

- :mod:`.probe` — sniff the type from magic bytes, read dimensions from headers and enforce the
  pixel limit before decoding, prove a file decodes. (Pillow here for BMP/ICO only.)
- :mod:`.vips` — everything that touches pixels through libvips: placeholders and re-encodes.
  The only package in imgpro that imports pyvips.
- :mod:`.heif` — HEVC-coded HEIC decoding through pillow-heif, which libvips' bundle lacks.

Deliberately empty of imports: importing ``imgpro.imaging.probe`` should not cost more than it
needs to.
"""
