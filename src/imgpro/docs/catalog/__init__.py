"""Facts the reference and the guides share: every error code (SPEC §6, ``errors.py``) and
every CDN transform parameter (SPEC §5, ``transforms.py``). One table each, so /openapi.json,
/docs/errors and /docs/transforms agree."""

from imgpro.docs.catalog.errors import ERROR_CODES, ERROR_TYPES, ERRORS, ErrorCode, errors_for
from imgpro.docs.catalog.transforms import TRANSFORM_PARAMS, TransformParam

__all__ = [
    "ERRORS",
    "ERROR_CODES",
    "ERROR_TYPES",
    "TRANSFORM_PARAMS",
    "ErrorCode",
    "TransformParam",
    "errors_for",
]
