"""``python -m bench [PART …] [--quick]`` — the peer benchmark harness.

Parts: transforms, hits, uploads, listing, profile, all (= transforms hits uploads listing).
Installs what it needs under bench/.work (thumbor venv, ipx node_modules; nginx and wrk with
apt-get when missing), starts every server on loopback, stops them all when done, prints one
table per part and writes bench/results/peers.json (parts run earlier are kept in the file).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness.common import RESULTS, log, machine

PARTS = ("transforms", "hits", "uploads", "listing", "profile")
ALL = ("transforms", "hits", "uploads", "listing")


def _run_part(
    name: str, quick: bool, checkpoint: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    if name == "transforms":
        from bench.harness import transforms

        return transforms.run(quick, checkpoint)
    if name == "hits":
        from bench.harness import hits

        return hits.run(quick)
    if name == "uploads":
        from bench.harness import uploads

        return uploads.run(quick)
    if name == "listing":
        from bench.harness import listing

        return listing.run(quick)
    if name == "profile":
        from bench.harness import profile

        return profile.run(quick)
    raise ValueError(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "parts",
        nargs="*",
        default=["all"],
        choices=[*PARTS, "all"],
        metavar="PART",
        help=f"one or more of {', '.join(PARTS)}, all",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: fewer images, requests and rows (about 3 minutes)",
    )
    parser.add_argument("--out", default=str(RESULTS / "peers.json"), help="results file")
    parser.add_argument(
        "--imgpro-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every imgpro server (repeatable), e.g. "
        "MALLOC_ARENA_MAX=2 or IMGPRO_RENDER__WORKERS=1",
    )
    parser.add_argument(
        "--imgpro-workers",
        type=int,
        default=0,
        help="`imgpro serve --workers N` (default: serve's own default)",
    )
    args = parser.parse_args(argv)
    # `kill <pid>` ends the run like Ctrl-C: the parts' finally blocks stop every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.imgpro_env:
        os.environ["BENCH_IMGPRO_ENV"] = " ".join(args.imgpro_env)
    if args.imgpro_workers:
        os.environ["BENCH_IMGPRO_WORKERS"] = str(args.imgpro_workers)
    parts: list[str] = []
    for p in args.parts:
        parts.extend(ALL if p == "all" else [p])

    from pathlib import Path

    from bench.harness import report

    out = Path(args.out)
    results: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    results["machine"] = machine()
    failed = []
    for part in dict.fromkeys(parts):
        t = time.perf_counter()
        log(f"=== {part}{' (quick)' if args.quick else ''} ===")

        def checkpoint(partial: dict[str, Any], part: str = part) -> None:
            results[part] = {**partial, "partial": True, "quick": args.quick}
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=1))

        try:
            data = _run_part(part, args.quick, checkpoint)
        except Exception as exc:
            import traceback

            log(f"part {part} failed: {exc!r}")
            traceback.print_exc()
            failed.append(part)
            continue
        data["quick"] = args.quick
        data["imgpro_tuning"] = {"env": args.imgpro_env, "workers": args.imgpro_workers or None}
        data["run_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        data["wall_seconds"] = round(time.perf_counter() - t, 1)
        results[part] = data
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        log(f"=== {part} done in {data['wall_seconds']} s ===")
    print()
    print(report.markdown(results, [p for p in dict.fromkeys(parts) if p in results]))
    (out.with_suffix(".md")).write_text(
        report.markdown(results, [p for p in PARTS if p in results])
    )
    log(f"results: {out} (and {out.with_suffix('.md')})")
    return 1 if failed else 0
