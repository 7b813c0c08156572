"""Validation of the optional fields an image carries, whichever form they arrive in.

Multipart uploads send strings (``public=false``, ``metadata={"a":"b"}``); JSON imports and
PATCH send typed values. Both end here, so the rules and their error details are one set.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from imgpro.errors import ValidationFailed

MAX_CAPTION = 2000
MAX_METADATA_KEYS = 50
MAX_KEY_LEN = 128
MAX_METADATA_VALUE = 1000
MAX_LABEL_VALUE = 128
MAX_LABELS = 50
MIN_TTL = 300
MAX_TTL = 90 * 86400
_TTL_RE = re.compile(r"^(\d{1,9})([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid value for '{field}': {message}.", details=[{"field": field, "message": message}]
    )


def parse_ttl(value: Any) -> int:
    """Seconds from ``600``, ``"600"`` or ``"5m"`` … ``"90d"``; within 5 minutes and 90 days."""
    if isinstance(value, bool):
        raise invalid("ttl", "seconds (>= 300) or a duration like 5m, 12h, 90d")
    if isinstance(value, int):
        seconds = value
    else:
        m = _TTL_RE.match(str(value).strip().lower())
        if not m:
            raise invalid("ttl", "seconds (>= 300) or a duration like 5m, 12h, 90d")
        seconds = int(m.group(1)) * _UNIT[m.group(2)]
    if not MIN_TTL <= seconds <= MAX_TTL:
        raise invalid("ttl", "must be between 5 minutes and 90 days")
    return seconds


def parse_bool(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise invalid(field, "true or false")


def _json_object(field: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            raise invalid(field, "a JSON object") from None
    if not isinstance(value, dict):
        raise invalid(field, "a JSON object")
    return value


def parse_metadata(value: Any) -> dict[str, str]:
    obj = _json_object("metadata", value)
    if len(obj) > MAX_METADATA_KEYS:
        raise invalid("metadata", f"at most {MAX_METADATA_KEYS} keys")
    for k, v in obj.items():
        if not isinstance(v, str):
            raise invalid("metadata", f"value of '{k}' must be a string")
        if not k or len(k) > MAX_KEY_LEN:
            raise invalid("metadata", f"keys are 1-{MAX_KEY_LEN} characters")
        if len(v) > MAX_METADATA_VALUE:
            raise invalid("metadata", f"values are at most {MAX_METADATA_VALUE} characters")
    return dict(obj)


def parse_labels(value: Any) -> dict[str, str]:
    obj = _json_object("labels", value)
    if len(obj) > MAX_LABELS:
        raise invalid("labels", f"at most {MAX_LABELS} labels")
    for k, v in obj.items():
        if not isinstance(v, str):
            raise invalid("labels", f"value of '{k}' must be a string")
        if not k or len(k) > MAX_KEY_LEN or "," in k:
            raise invalid("labels", f"keys are 1-{MAX_KEY_LEN} characters without commas")
        if len(v) > MAX_LABEL_VALUE or "," in v:
            raise invalid("labels", f"values are at most {MAX_LABEL_VALUE} characters, no commas")
    return dict(obj)


def parse_caption(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("caption", "a string")
    if len(value) > MAX_CAPTION:
        raise invalid("caption", f"at most {MAX_CAPTION} characters")
    return value


def parse_time(field: str, value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise invalid(field, "an ISO-8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


@dataclass
class UploadOptions:
    caption: str | None = None
    public: bool = True
    ttl: int | None = None
    metadata: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    filename: str | None = None


UPLOAD_FIELDS = ("caption", "public", "ttl", "metadata", "labels", "filename")


def upload_options(raw: dict[str, Any]) -> UploadOptions:
    """Validate the optional fields of a create request (form strings or JSON values)."""
    unknown = sorted(set(raw) - set(UPLOAD_FIELDS))
    if unknown:
        raise ValidationFailed(
            f"Unknown field '{unknown[0]}'.",
            details=[{"field": f, "message": "unknown field"} for f in unknown],
        )
    opts = UploadOptions()
    if raw.get("caption") is not None:
        opts.caption = parse_caption(raw["caption"]) or None
    if raw.get("public") is not None:
        opts.public = parse_bool("public", raw["public"])
    if raw.get("ttl") not in (None, ""):
        opts.ttl = parse_ttl(raw["ttl"])
    if raw.get("metadata") is not None:
        opts.metadata = parse_metadata(raw["metadata"])
    if raw.get("labels") is not None:
        opts.labels = parse_labels(raw["labels"])
    if raw.get("filename"):
        opts.filename = str(raw["filename"])[:255]
    return opts


def changes_from(fields: dict[str, Any], *, anonymous: bool) -> dict[str, Any]:
    """Validated column values from a PATCH body (only the fields that were sent)."""
    changes: dict[str, Any] = {}
    if "caption" in fields:
        changes["caption"] = parse_caption(fields["caption"])
    if "public" in fields:
        if not isinstance(fields["public"], bool):
            raise invalid("public", "true or false")
        changes["public"] = fields["public"]
    if "metadata" in fields:
        changes["metadata"] = parse_metadata(fields["metadata"] or {})
    if "labels" in fields:
        changes["labels"] = parse_labels(fields["labels"] or {})
    if "published_at" in fields:
        changes["published_at"] = parse_time("published_at", fields["published_at"])
    if "expires_at" in fields:
        expires = parse_time("expires_at", fields["expires_at"])
        if expires is None and anonymous:
            raise invalid("expires_at", "anonymous images cannot be made permanent")
        changes["expires_at"] = expires
    return changes
