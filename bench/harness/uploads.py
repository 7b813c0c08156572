"""Part ``uploads``: runs bench/upload.py as it is (its numbers, its JSON) and keeps them."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from bench.harness.common import BENCH, PY, RESULTS, ROOT, log


def run(quick: bool) -> dict[str, Any]:
    argv = [PY, str(BENCH / "upload.py"), *(["--quick"] if quick else [])]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    for line in proc.stdout.splitlines():
        log(f"  upload.py: {line}")
    out = RESULTS / "upload.json"
    if not out.exists():
        raise RuntimeError(
            f"bench/upload.py wrote no results ({proc.returncode}): {proc.stderr[-800:]}"
        )
    return {"exit_code": proc.returncode, "upload_json": json.loads(out.read_text())}
