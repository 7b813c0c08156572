"""The OpenAPI 3.1 document at ``/openapi.json``: FastAPI's schema of the routes, completed with
what a client generator and a person need — security schemes, headers and query parameters that
the routes read by hand, the real error envelope with an example per code, body examples, the
CDN URL with its transform parameters, descriptions and ``servers``.

Built once per app (``app.openapi()`` caches it); ``servers`` is filled per request so the
document names the address it was fetched from when no API base URL is configured.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from imgpro.api import openapi_examples as ex
from imgpro.api.openapi_cdn import document_cdn
from imgpro.api.openapi_errors import error_responses, error_schemas
from imgpro.docs.catalog import ERRORS

DESCRIPTION = """\
imgpro speaks the img.pro REST API. Upload an image (or import one from a URL) and get back one
**Image object** whose `url` is a direct, embeddable, transformable CDN link.

**Three modes**, same endpoints, same Image object:
- *Anonymous* — no credential; only `POST /v1/images`; images expire after 30 days; rate-limited.
- *API key* — `Authorization: Bearer img_live_…`; acts on your own workspace (`read`/`write`).
- *App* — `Authorization: Bearer img_sk_live_…` plus `X-Img-User: <user id>` acts on that
  user's workspace inside your app; without `X-Img-User`, on the app's own storage.

Every error has one envelope: `{"error": {"type", "code", "message", "action"?, "usage"?,
"details"?}}`. Guides: `/docs`. For agents: `/llms.txt`.
"""

AUTHED_ERRORS = (
    "unauthorized",
    "forbidden",
    "workspace_unavailable",
    "app_suspended",
    "app_blocked",
    "internal_error",
    "busy",
    "storage_unavailable",
)
BODY_ERRORS = ("bad_request", "unsupported_media_type", "validation_error", "file_too_large")

# operationId -> (security, error codes, extra parameters, description)
_OPERATIONS: dict[str, dict[str, Any]] = {
    "create_image": {
        "security": [{}, {"ApiKey": []}, {"AppSecret": [], "AppUser": []}, {"AppSecret": []}],
        "errors": (
            *AUTHED_ERRORS,
            *BODY_ERRORS,
            "quota_exceeded",
            "idempotency_key_conflict",
            "idempotency_key_in_progress",
            "unsupported_format",
            "invalid_image",
            "image_too_large",
            "fetch_failed",
            "import_failed",
            "rate_limited",
        ),
        "params": ("IdempotencyKey", "ImgUser"),
        "description": "Upload a file (`multipart/form-data`) or import from a URL "
        "(`application/json` with `url`). Anonymous callers may call this one "
        "endpoint. Send an `Idempotency-Key` to make retries safe: a retry of "
        "the same request replays the first answer with "
        "`Idempotent-Replayed: true`.",
        "request_examples": ex.CREATE_BODIES,
        "response": ex.IMAGE,
    },
    "list_images": {
        "errors": (*AUTHED_ERRORS, "bad_request", "validation_error"),
        "params": ("Limit", "Cursor", "Labels", "Ids", "ImgUser"),
        "description": "Newest first, keyset-paginated: pass `pagination.next_cursor` as "
        "`cursor` until `has_more` is false.",
        "response": ex.IMAGE_LIST,
    },
    "get_image": {
        "errors": (*AUTHED_ERRORS, "not_found"),
        "params": ("ImgUser",),
        "response": ex.IMAGE,
    },
    "update_image": {
        "errors": (*AUTHED_ERRORS, *BODY_ERRORS, "not_found"),
        "params": ("ImgUser",),
        "description": "Every field is optional; `metadata` and `labels` replace the whole "
        "object. Unknown fields are a `validation_error`.",
        "request_examples": ex.UPDATE_BODIES,
        "response": ex.IMAGE,
    },
    "delete_image": {
        "errors": (*AUTHED_ERRORS, "not_found"),
        "params": ("ImgUser",),
        "description": "The original, every cached variant and the viewer page are gone at once.",
        "response": ex.DELETED,
    },
    "batch_delete": {
        "errors": (*AUTHED_ERRORS, *BODY_ERRORS),
        "params": ("ImgUser",),
        "description": "Ids already gone count as deleted; ids of another "
        "workspace report `not_found` in `errors`.",
        "request_examples": ex.BATCH_DELETE_BODIES,
        "response": ex.BATCH_DELETED,
    },
    "batch_update": {
        "errors": (*AUTHED_ERRORS, *BODY_ERRORS),
        "params": ("ImgUser",),
        "request_examples": ex.BATCH_UPDATE_BODIES,
        "response": ex.BATCH_UPDATED,
    },
    "download_original": {
        "errors": (*AUTHED_ERRORS, "not_found"),
        "params": ("ImgUser",),
        "description": "The uploaded file byte for byte (the CDN serves "
        "re-encoded copies). An addition to the img.pro API, "
        "for backups.",
    },
    "get_usage": {
        "errors": AUTHED_ERRORS,
        "params": ("ImgUser",),
        "description": "`limit: null` means unlimited. Monthly counters reset at the "
        "start of each calendar month (UTC).",
        "response": ex.USAGE,
    },
    "list_presets": {
        "description": "The workspace's presets, by name.",
        "response": ex.PRESET_LIST,
    },
    "get_preset": {"errors": (*AUTHED_ERRORS, "not_found"), "response": ex.PRESET},
    "put_preset": {
        "errors": (*AUTHED_ERRORS, *BODY_ERRORS),
        "description": "Create (201) or replace (200) a named set of CDN transform parameters "
        "(a JSON object, validated with the CDN's own parser: an invalid "
        "parameter is a `validation_error` here, never silently saved; `preset` "
        "and `s` are not allowed). `?preset={name}` on any of the workspace's "
        "image URLs applies it; the URL's own parameters override it name by "
        "name. Presets stay open when signed transforms are on. A server process "
        "sees a change made through another within "
        "`IMGPRO_RENDER__PRESET_CACHE_SECONDS` (default 5).",
        "request_examples": ex.PRESET_BODIES,
        "response": ex.PRESET,
    },
    "delete_preset": {
        "errors": (*AUTHED_ERRORS, "not_found"),
        "description": "URLs naming it load without it (`X-Img-Ignored: preset`).",
        "response": ex.PRESET_DELETED,
    },
    "get_settings": {
        "description": "Delivery settings of the workspace: whether transform URLs must be signed.",
        "response": ex.SETTINGS,
    },
    "patch_settings": {
        "errors": (*AUTHED_ERRORS, *BODY_ERRORS),
        "description": "Turn signed transforms on or off. When on, the plain URL, "
        "`size=s|m|l|social` and presets stay open; any other parameter set "
        "needs `s=` (HMAC-SHA256 of the path and the sorted parameters with the "
        "signing secret: /docs/transforms) or answers 403 "
        "`signature_required`. Turning it on the first time creates the signing "
        "secret and returns it in `signing_secret` — this one answer only; "
        "rotate it in the dashboard (/settings).",
        "request_examples": ex.SETTINGS_BODIES,
        "response": ex.SETTINGS,
    },
    "exchange": {
        "security": [{"AppSecret": []}],
        "errors": (
            "unauthorized",
            "app_suspended",
            "app_blocked",
            "invalid_code",
            *BODY_ERRORS,
            "internal_error",
        ),
        "description": "Step 2 of the hosted login: the app's backend trades the one-time "
        "`code` (single use, 10 minutes, bound to the app and `redirect_uri`) "
        "for the user. The first exchange creates the user's workspace.",
        "request_examples": ex.EXCHANGE_BODIES,
        "response": ex.CONNECTED_USER,
    },
}

_DEFAULT_SECURITY: list[dict[str, list[str]]] = [
    {"ApiKey": []},
    {"AppSecret": [], "AppUser": []},
    {"AppSecret": []},
]


SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "img_live_…",
        "description": "An API key (`img_live_…`) from /keys: acts on your own "
        "workspace with its `read`/`write` abilities.",
    },
    "AppSecret": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "img_sk_live_…",
        "description": "An app's machine secret (`img_sk_live_…`) from /apps. With "
        "`X-Img-User` it acts on that user's workspace; alone, on the "
        "app's own storage.",
    },
    "AppUser": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Img-User",
        "description": "App mode: the user id returned by `/v1/connect/exchange`.",
    },
}

PARAMETERS: dict[str, Any] = {
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "example": 20,
        "description": "Page size.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    "Cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "Opaque: the previous page's `pagination.next_cursor`.",
        "schema": {"type": "string"},
    },
    "Labels": {
        "name": "label",
        "in": "query",
        "required": False,
        "style": "deepObject",
        "explode": True,
        "example": {"album": "trip"},
        "description": "`label[key]=value`, repeatable; every pair must match (AND).",
        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "Ids": {
        "name": "ids",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "description": "Only these images: `ids=a,b,c` (at most 100).",
        "example": ["k3xa8f2q"],
        "schema": {"type": "array", "maxItems": 100, "items": {"type": "string"}},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Makes retries safe (≤ 255 chars, kept 24 h, scoped to the caller): a "
        "retry of the same request replays the first answer; a different "
        "request with the same key answers 409.",
        "schema": {"type": "string", "maxLength": 255},
    },
    "ImgUser": {
        "name": "X-Img-User",
        "in": "header",
        "required": False,
        "description": "App mode only: the user to act for (from the code exchange). "
        "Without it an app secret acts on the app's own storage.",
        "schema": {"type": "string"},
    },
}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=DESCRIPTION,
        routes=app.routes,
        tags=[
            {"name": "images", "description": "Upload, read, update, delete."},
            {"name": "usage", "description": "Plan, quotas, counters."},
            {"name": "connect", "description": "App mode: hosted login."},
            {"name": "presets", "description": "Named transform parameter sets (`?preset=`)."},
            {"name": "settings", "description": "Delivery settings: signed transforms."},
            {"name": "delivery", "description": "The CDN URL and transforms."},
        ],
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _hoist_defs(doc, schemas)
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's, never what we answer
        schemas.pop(name, None)
    schemas.update(error_schemas())
    components["securitySchemes"] = SECURITY_SCHEMES
    components["parameters"] = PARAMETERS
    components["examples"] = {
        f"error_{e.code}": {
            "summary": f"{e.status} {e.code}",
            "description": e.when,
            "value": e.example(),
        }
        for e in ERRORS
    }
    components["headers"] = {
        "RetryAfter": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    }
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path.startswith("/i/"):
                document_cdn(op, method)
            else:
                _complete(op)
    return doc


def with_servers(doc: dict[str, Any], api_base: str) -> dict[str, Any]:
    out = copy.copy(doc)
    out["servers"] = [{"url": api_base, "description": "This imgpro server"}]
    return out


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> None:
    """Request bodies built from pydantic models carry their nested models under ``$defs``
    with references into ``#/components/schemas`` (api/bodies.py): move them there, so every
    ``$ref`` of the document resolves."""
    if isinstance(node, dict):
        defs = node.pop("$defs", None)
        if defs:
            for name, schema in defs.items():
                schemas.setdefault(name, schema)
                _hoist_defs(schema, schemas)
        for value in node.values():
            _hoist_defs(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, schemas)


def _complete(op: dict[str, Any]) -> None:
    spec = _OPERATIONS.get(op.get("operationId", ""), {})
    op["security"] = spec.get("security", _DEFAULT_SECURITY)
    if spec.get("description"):
        op["description"] = spec["description"]
    op["parameters"] = [p for p in op.get("parameters", []) if "$ref" in p or p.get("in") == "path"]
    for p in op["parameters"]:
        if p.get("in") == "path" and p["name"] == "name":  # /v1/presets/{name}
            p["description"] = "The preset name: 1–64 of a-z, 0-9, `-`, `_`."
            p["example"] = ex.PRESET["name"]
        elif p.get("in") == "path":
            p["description"] = "The image id (8 characters of a-z0-9)."
            p["example"] = ex.IMAGE["id"]
    op["parameters"] += [
        {"$ref": f"#/components/parameters/{name}"} for name in spec.get("params", ())
    ]
    if not op["parameters"]:
        del op["parameters"]
    examples = spec.get("request_examples")
    if examples and "requestBody" in op:
        for media, named in examples.items():
            op["requestBody"]["content"][media]["examples"] = named
    responses = op.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's HTTPValidationError; ours is added below
    for status, content in responses.items():
        if status.startswith("2") and "response" in spec:
            content.setdefault("content", {}).setdefault("application/json", {})["example"] = spec[
                "response"
            ]
    responses.update(error_responses(spec.get("errors", AUTHED_ERRORS)))


def openapi_route() -> APIRouter:
    """``GET /openapi.json``: the cached document, with ``servers`` naming the configured API
    base or, when there is none, the address this request reached."""
    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi_json(request: Request) -> JSONResponse:
        settings = request.app.state.settings
        base = settings.api_base_url or str(request.base_url).rstrip("/")
        return JSONResponse(with_servers(request.app.openapi(), base))

    return router
