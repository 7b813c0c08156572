"""Reading a JSON request body: bounded, one error shape, no web framework.

The edges pass the declared ``Content-Length`` and an async iterator of body chunks; the API's
``read_json`` and the upload use case's URL imports both read through here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ValidationError

from imgpro.errors import BadRequest, FileTooLarge, ValidationFailed, validation_details

MAX_JSON_BODY = 256 * 1024


def is_json(content_type: str) -> bool:
    return content_type.strip().lower().startswith("application/json")


async def parse_json(
    declared: str | None,
    body: AsyncIterator[bytes],
    model: type[BaseModel] | None = None,
    digest: Any = None,
) -> Any:
    """Read a bounded JSON body; validate it against ``model`` if given."""
    if declared and declared.isdigit() and int(declared) > MAX_JSON_BODY:
        raise FileTooLarge("JSON body too large.")
    data = bytearray()
    async for chunk in body:
        data += chunk
        if len(data) > MAX_JSON_BODY:
            raise FileTooLarge("JSON body too large.")
    if digest is not None:
        digest.update(data)
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        raise BadRequest("Malformed JSON body.") from None
    if model is None:
        return parsed
    if not isinstance(parsed, dict):
        raise ValidationFailed(
            "The body must be a JSON object.",
            details=[{"field": None, "message": "expected an object"}],
        )
    try:
        model.model_validate(parsed)
    except ValidationError as e:
        raise ValidationFailed(details=validation_details(list(e.errors()))) from None
    return parsed
