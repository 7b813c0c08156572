"""A *benchmark-only prototype* of imgpro's nginx fast path, patched in at run time (src/ is
not touched): for a cached variant in a local blob store, answer ``GET`` with headers only plus
``X-Accel-Redirect: /_imgpro_blobs/<variant key>``; nginx then sends the file itself from an
``internal`` location (sendfile, no Python in the byte path).

    python -m bench.harness.accel_proto --port 8123      # env as for `imgpro serve`

What it changes, exactly (what the real implementation in delivery/ would do):
- ``Renderer.read`` for a local blob: one ``stat`` instead of open+read or the in-memory hot
  cache (marks the request);
- ``delivery.routes._send`` for GET of such a blob: ``200`` with the usual headers (ETag,
  Cache-Control, Content-Type, nosniff, X-Img-Ignored/Vary) + ``X-Accel-Redirect`` and no body.
Cold renders, HEAD, 304 and everything else are unchanged.
"""

from __future__ import annotations

import argparse
import contextvars
import os
from typing import Any

import uvicorn
from fastapi.responses import Response

from imgpro.delivery import routes
from imgpro.transforms import render as render_mod

PREFIX = os.environ.get("IMGPRO_BENCH_ACCEL_PREFIX", "/_imgpro_blobs/")
_accel_key: contextvars.ContextVar[str | None] = contextvars.ContextVar("accel_key", default=None)
_orig_read = render_mod.Renderer.read
_orig_send = routes._send


async def _read(self: Any, variant: Any) -> Any:
    key = getattr(variant, "key", variant)  # Renderer.read took a key, now takes the Variant
    local = self.blobs.local_path(key)
    if local is None:
        return await _orig_read(self, variant)
    try:
        size = os.stat(local).st_size
    except FileNotFoundError:
        return None
    _accel_key.set(key)  # same task as the route: visible to _send below
    return render_mod.Blob(size=size)


def _send(request: Any, blob: Any, headers: dict[str, str]) -> Response:
    key = _accel_key.get()
    if key is not None and blob.data is None and blob.file is None:
        if request.method == "GET":
            return Response(status_code=200, headers={**headers, "X-Accel-Redirect": PREFIX + key})
        headers["Content-Length"] = str(blob.size)
        return Response(status_code=200, headers=headers)
    return _orig_send(request, blob, headers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    render_mod.Renderer.read = _read  # type: ignore[method-assign]
    routes._send = _send
    uvicorn.run("imgpro.app:create_app", host="127.0.0.1", port=args.port, factory=True,
                proxy_headers=False, log_level="info")  # as `imgpro serve`


if __name__ == "__main__":
    main()
