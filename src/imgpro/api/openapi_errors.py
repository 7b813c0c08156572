"""The error side of the OpenAPI document: the envelope schemas and the responses per code."""

from __future__ import annotations

from typing import Any

from imgpro.docs.catalog import ERROR_CODES, ERROR_TYPES, ERRORS, errors_for


def error_responses(codes: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, entries in errors_for(*dict.fromkeys(codes)).items():
        response: dict[str, Any] = {
            "description": "; ".join(f"`{e.code}`: {e.when}" for e in entries),
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ErrorEnvelope"},
                    "examples": {
                        e.code: {"$ref": f"#/components/examples/error_{e.code}"} for e in entries
                    },
                }
            },
        }
        if status in (429, 503):
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
        out[str(status)] = response
    return out


def error_schemas() -> dict[str, Any]:
    return {
        "ErrorEnvelope": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"$ref": "#/components/schemas/Error"}},
            "example": ERRORS[2].example(),
        },
        "Error": {
            "type": "object",
            "required": ["type", "code", "message"],
            "properties": {
                "type": {"type": "string", "enum": list(ERROR_TYPES)},
                "code": {"type": "string", "enum": list(ERROR_CODES)},
                "message": {"type": "string"},
                "action": {"$ref": "#/components/schemas/ErrorAction"},
                "usage": {"$ref": "#/components/schemas/ErrorUsage"},
                "details": {"description": "validation_error: `[{field, message}]`."},
            },
        },
        "ErrorAction": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": ["upgrade", "signup", "wait"]},
                "url": {"type": "string"},
                "label": {"type": "string"},
                "retry_after": {"type": "integer", "description": "`wait`: seconds."},
            },
        },
        "ErrorUsage": {
            "type": "object",
            "properties": {
                "plan": {"type": "string"},
                **{
                    k: {"type": ["integer", "null"]}
                    for k in (
                        "uploads_used",
                        "uploads_limit",
                        "storage_used_bytes",
                        "storage_limit_bytes",
                    )
                },
            },
        },
    }
