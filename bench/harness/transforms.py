"""Part ``transforms``: cold renders, imgpro vs thumbor vs ipx vs the bare-pyvips floor.

For every (image, operation) of ops.MATRIX and every concurrency (cores, then 4x cores), each
contender gets the same closed-loop load: request i asks for target size base+i (see ops.py), so
every request is a cold render everywhere. One warm-up request per cell (target base-7, outside
the sequence) checks the URL answers 200 first. Reported per cell: req/s, p50/p95/p99, peak RSS
of the server's process tree, output bytes/dimensions/frames of request 0, and its PSNR against
the floor's request 0 and against a full-quality reference (similarity.py).

imgpro-only rows: the literal ``?size=m`` and the no-parameter original, which cannot vary a size
parameter; there each request goes to a *different uploaded copy* of the same file, so every
request is cold too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import contenders as cont
from bench.harness import images as imgs
from bench.harness.common import WORK, LoadResult, Meter, log
from bench.harness.load import http_load
from bench.harness.ops import MATRIX, OPS, QUICK_MATRIX, Op
from bench.harness.similarity import describe, psnr, psnr_vs_reference

OUT = WORK / "outputs"


def _record(
    name: str,
    img: imgs.TestImage,
    op: Op,
    conc: int,
    summary: dict[str, Any],
    meter: dict[str, Any],
    body: bytes | None,
    floor_ref: Path | None,
) -> dict[str, Any]:
    ok = summary["ok"] or 1
    row: dict[str, Any] = {
        "contender": name,
        "image": img.label,
        "image_key": img.name,
        "op": op.key,
        "concurrency": conc,
        **summary,
        "peak_rss_mb": round(meter["peak"] / 2**20, 1),
        "cpu_ms_per_req": round(meter["cpu"] / ok * 1000, 1),
        "foreign_cpu_pct": meter["foreign_pct"],
        "steal_pct": meter["steal_pct"],
    }
    if body:
        out = OUT / name / f"{img.name}-{op.key}-c{conc}.{op.fmt}"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(body)
        try:
            row["output"] = describe(body)
            if floor_ref is not None and floor_ref.exists():
                row["psnr_vs_floor"] = psnr(body, floor_ref.read_bytes())
            row["psnr_vs_reference"] = psnr_vs_reference(body, str(img.path))
        except Exception as exc:  # an undecodable output is a result, not a crash
            row["output"] = {"error": str(exc)[:200], "bytes": len(body)}
    return row


def _print(row: dict[str, Any]) -> None:
    out = row.get("output", {})
    log(
        f"  {row['contender']:>8} c={row['concurrency']}: {row['req_per_s']:>7} req/s  "
        f"p50 {row['p50_ms']:>7} p95 {row['p95_ms']:>7} p99 {row['p99_ms']:>7} ms  "
        f"RSS {row['peak_rss_mb']:>6} MB  CPU {row['cpu_ms_per_req']:>6} ms/req  "
        f"other {row['foreign_cpu_pct']:>4}%  n={row['ok']} err={row['errors']}  "
        f"out {out.get('width')}x{out.get('height')}x{out.get('frames')} "
        f"{out.get('bytes')} B  PSNR {row.get('psnr_vs_floor')} "
        f"(vs reference {row.get('psnr_vs_reference')})"
    )


# A contender whose warm-up request alone takes longer than this is not loaded at all for that
# cell (8 such requests in flight would hold the whole run for minutes): reported as skipped,
# with that one request's time and output.
SLOW_WARMUP_S = 10.0


def run(quick: bool, checkpoint: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    images = imgs.ensure()
    cores = os.cpu_count() or 2
    levels = [cores, 4 * cores]
    count, seconds = (12, 2.0) if quick else (120, 6.0)
    matrix = QUICK_MATRIX if quick else MATRIX
    result: dict[str, Any] = {
        "method": "distinct target per request: base+i for request i "
        "(same sequence for every contender)",
        "count_cap": count,
        "seconds_cap": seconds,
        "levels": levels,
        "rows": [],
        "notes": [],
    }

    imgpro = cont.Imgpro()
    peers: list[Any] = []
    try:
        imgpro.upload(images)
        live = imgpro.transforms_live(images["2mp"])
        result["imgpro_transforms_live"] = live
        if not live:
            note = "imgpro's w/h/q parameters were not live yet: imgpro skipped in matrix rows"
            result["notes"].append(note)
            log(note)
        for name in ("thumbor", "ipx"):
            p = cont.start(name, processes=cores)
            if p is None:
                result["notes"].append(f"{name} could not be installed/started: skipped")
            else:
                peers.append(p)
        servers = ([imgpro] if live else []) + peers

        for image_key, op_key in matrix:
            img, op = images[image_key], OPS[op_key]
            log(f"{img.label} — {op.label}")
            try:
                _cells(result, servers, img, op, levels, count, seconds)
            except Exception as exc:  # one broken cell must not lose the others
                import traceback

                traceback.print_exc()
                result["notes"].append(f"{img.label} / {op.key}: failed: {exc!r}")
            if checkpoint is not None:
                checkpoint(result)

        result["imgpro_literal"] = _imgpro_literal(imgpro, images, levels, count, seconds)
    finally:
        imgpro.stop()
        for p in peers:
            p.stop()
    return result


def _cells(
    result: dict[str, Any],
    servers: list[Any],
    img: imgs.TestImage,
    op: Op,
    levels: list[int],
    count: int,
    seconds: float,
) -> None:
    for run, conc in enumerate(levels):
        ref = OUT / "floor" / f"{img.name}-{op.key}-c{conc}.{op.fmt}"
        ref.parent.mkdir(parents=True, exist_ok=True)
        fl = cont.floor_run(
            img, op, count=count, seconds=seconds, concurrency=conc, first_out=ref, run=run
        )
        lr = LoadResult(
            fl["requests"],
            0,
            fl["seconds"],
            fl["latencies"],
            fl["bytes"],
            {200: len(fl["latencies"])},
        )
        row = _record(
            "floor",
            img,
            op,
            conc,
            lr.summary(),
            {
                "peak": fl["peak_rss"],
                "cpu": fl["cpu_seconds"],
                "foreign_pct": fl["foreign_pct"],
                "steal_pct": fl["steal_pct"],
            },
            ref.read_bytes(),
            None,
        )
        result["rows"].append(row)
        _print(row)
        for srv in servers:
            if isinstance(srv, cont.Imgpro):
                srv.clear_variants()
            warm = http_load(
                lambda i, s=srv, im=img, o=op: s.url(im, o, o.warmup),
                count=1,
                seconds=120,
                concurrency=1,
            )
            warm_s = warm.result.seconds
            if warm.first_status != 200 or warm_s > SLOW_WARMUP_S:
                why = (
                    f"HTTP {warm.first_status}"
                    if warm.first_status != 200
                    else f"too slow: one request took {warm_s:.1f} s"
                )
                log(f"  {srv.name}: warm-up {why}: skipped ({(warm.first_body or b'')[:80]!r})")
                skipped: dict[str, Any] = {
                    "contender": srv.name,
                    "image": img.label,
                    "image_key": img.name,
                    "op": op.key,
                    "concurrency": conc,
                    "skipped": why,
                    "warmup_seconds": round(warm_s, 2),
                }
                if warm.first_status == 200 and warm.first_body:
                    skipped["output"] = describe(warm.first_body)
                result["rows"].append(skipped)
                continue

            if isinstance(srv, cont.Imgpro):
                srv.clear_variants()
            with Meter(srv.pid) as m:
                hr = http_load(
                    lambda i, s=srv, im=img, o=op, r=run: s.url(im, o, o.target(i, r)),
                    count=count,
                    seconds=seconds,
                    concurrency=conc,
                )
            row = _record(
                srv.name,
                img,
                op,
                conc,
                hr.result.summary(),
                vars(m),
                hr.first_body if hr.first_status == 200 else None,
                ref,
            )
            result["rows"].append(row)
            _print(row)


def _imgpro_literal(
    imgpro: cont.Imgpro,
    images: dict[str, imgs.TestImage],
    levels: list[int],
    count: int,
    seconds: float,
) -> list[dict[str, Any]]:
    """imgpro's own URL forms with no size to vary: each request hits another uploaded copy."""
    import httpx

    rows: list[dict[str, Any]] = []
    cases = [
        ("2mp", "jpg", "", "fit500-jpg"),
        ("2mp", "webp", "size=m", "m-webp"),
        ("12mp", "webp", "size=m", "m-webp"),
    ]
    copies_of: dict[str, list[tuple[str, str]]] = {}
    with httpx.Client(timeout=120) as c:
        for key in ("2mp", "12mp"):
            img = images[key]
            data = img.path.read_bytes()
            ids = []
            for n in range(count * len(levels)):  # every cell gets copies of its own
                r = c.post(
                    f"{imgpro.base}/v1/images",
                    headers={"Authorization": f"Bearer {imgpro.key}"},
                    files={"file": (f"copy{n}-{img.name}", data)},
                )
                r.raise_for_status()
                body = r.json()
                ids.append((body["url"].split("/")[-2], body["id"]))
            copies_of[key] = ids
    for key, ext, query, ref_op in cases:
        img = images[key]
        label = f"?{query}" if query else "no parameters (re-encoded original)"
        for run, conc in enumerate(levels):
            imgpro.clear_variants()
            ids = copies_of[key][run * count : (run + 1) * count]

            def url(
                i: int, ids: list[tuple[str, str]] = ids, ext: str = ext, query: str = query
            ) -> str:
                prefix, image_id = ids[i % len(ids)]
                return f"{imgpro.base}/i/{prefix}/{image_id}.{ext}" + (f"?{query}" if query else "")

            with Meter(imgpro.pid) as m:
                hr = http_load(url, count=count, seconds=seconds, concurrency=conc)
            ref = OUT / "floor" / f"{img.name}-{ref_op}-c{conc}.{OPS[ref_op].fmt}"
            op = Op(f"literal:{query or 'original'}", label, "fit", 0, ext, 80)
            row = _record(
                "imgpro",
                img,
                op,
                conc,
                hr.result.summary(),
                vars(m),
                hr.first_body if hr.first_status == 200 else None,
                ref if query else None,
            )
            row["url_form"] = label
            if hr.first_status != 200:
                row["first_status"] = hr.first_status
            rows.append(row)
            _print(row)
    return rows
