"""Two real ``imgpro serve`` processes, no Redis: one address gets exactly 20 anonymous uploads
an hour, not 20 per process (SPEC §7; before the host-wide store it was ~37)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import imagegen

from . import serving


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_two_processes_admit_exactly_20_anonymous_uploads(tmp_path):
    port = serving.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
    env.update(
        {
            "IMGPRO_DATA_DIR": str(tmp_path / "data"),
            "IMGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    proc = serving.start(port, env, "--workers", "2")
    try:
        first = serving.first_upload(port)  # waits until the server listens; takes slot 1
        assert first.status_code == 201, first.text
        png = imagegen.png(24, 16)

        def post(_: int) -> httpx.Response:
            # A fresh connection each: the kernel spreads them over both processes.
            return httpx.post(
                f"http://127.0.0.1:{port}/v1/images",
                timeout=60,
                files={"file": ("p.png", png, "image/png")},
            )

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(post, range(29)))
        codes = sorted(r.status_code for r in answers)
        assert codes.count(201) == 19 and codes.count(429) == 10, codes
        refused = next(r for r in answers if r.status_code == 429)
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["ratelimit-remaining"] == "0"
        assert (tmp_path / "data" / "ratelimits.db").exists()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "processes: 2" in out, out
