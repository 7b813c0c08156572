"""Reading JSON request bodies by hand: bounded, after authentication, one error shape."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from imgpro.errors import BadRequest, FileTooLarge, ValidationFailed, validation_details

MAX_JSON_BODY = 256 * 1024


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A JSON request body for the OpenAPI document. Nested models are referenced in
    ``#/components/schemas``; api/openapi.py moves the ``$defs`` there."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


async def read_json(request: Request, model: type[BaseModel] | None = None,
                    digest: Any = None) -> Any:
    """Read a bounded JSON body; validate it against ``model`` if given."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_JSON_BODY:
        raise FileTooLarge("JSON body too large.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise FileTooLarge("JSON body too large.")
    if digest is not None:
        digest.update(body)
    try:
        data = json.loads(body) if body else None
    except ValueError:
        raise BadRequest("Malformed JSON body.") from None
    if model is None:
        return data
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.",
                               details=[{"field": None, "message": "expected an object"}])
    try:
        model.model_validate(data)
    except ValidationError as e:
        raise ValidationFailed(details=validation_details(list(e.errors()))) from None
    return data


