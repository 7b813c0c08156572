"""Reading JSON request bodies by hand: bounded, after authentication, one error shape."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel

from imgpro.jsonbody import parse_json


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A JSON request body for the OpenAPI document. Nested models are referenced in
    ``#/components/schemas``; api/openapi.py moves the ``$defs`` there."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")
                }
            },
        }
    }


async def read_json(
    request: Request, model: type[BaseModel] | None = None, digest: Any = None
) -> Any:
    """Read a bounded JSON body; validate it against ``model`` if given."""
    return await parse_json(request.headers.get("content-length"), request.stream(), model, digest)
