"""What makes two create requests "the same request" for ``Idempotency-Key`` (SPEC §3.1).

A retry is recognised by its parsed request, never by raw bytes: every real HTTP client
(curl, httpx, requests, browsers) draws a new multipart boundary on each attempt, and JSON may
be re-serialised with other spacing or key order. The fingerprint is the SHA-256 of a
canonical JSON document holding:

- an upload: the file's content hash, its filename and part content type as sent, and every
  other field's value (sorted by name);
- an import: the request's JSON body in canonical form (sorted keys, no insignificant space).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _digest(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upload_fingerprint(
    *, file_sha256: str, filename: str | None, content_type: str | None, fields: dict[str, str]
) -> str:
    return _digest(
        {
            "kind": "upload",
            "file": {
                "sha256": file_sha256,
                "filename": filename,
                "content_type": (content_type or "").strip().lower() or None,
            },
            "fields": dict(sorted(fields.items())),
        }
    )


def import_fingerprint(body: dict[str, Any]) -> str:
    return _digest({"kind": "import", "body": body})
