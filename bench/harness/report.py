"""Markdown tables from the results dict (printed, and written beside peers.json)."""

from __future__ import annotations

from typing import Any


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.2f}×"


def transforms_summary(data: dict[str, Any]) -> str:
    """One row per (image, op, c): every contender's CPU ms/req, req/s, p95 and peak RSS."""
    names = ("imgpro", "thumbor", "ipx", "floor")
    cells: dict[tuple[str, str, int], dict[str, dict[str, Any]]] = {}
    for r in data["rows"]:
        cells.setdefault((r["image"], r["op"], r["concurrency"]), {})[r["contender"]] = r

    def get(by: dict[str, dict[str, Any]], name: str, field: str) -> Any:
        r = by.get(name)
        if r is None:
            return None
        if "skipped" in r:
            return "skip"
        return r.get(field)

    rows = []
    for (image, op, c), by in cells.items():
        rows.append(
            [
                image,
                op,
                c,
                *["/".join(_fmt(get(by, n, "cpu_ms_per_req")) for n in names)],
                *["/".join(_fmt(get(by, n, "req_per_s")) for n in names)],
                *["/".join(_fmt(get(by, n, "p95_ms")) for n in names)],
                *["/".join(_fmt(get(by, n, "peak_rss_mb")) for n in names)],
                "/".join(_fmt(get(by, n, "psnr_vs_floor")) for n in names[:3]),
                "/".join(_fmt(get(by, n, "psnr_vs_reference")) for n in names),
            ]
        )
    return _table(
        [
            "image",
            "op",
            "c",
            "CPU ms/req imgpro/thumbor/ipx/floor",
            "req/s imgpro/thumbor/ipx/floor",
            "p95 ms imgpro/thumbor/ipx/floor",
            "peak RSS MB imgpro/thumbor/ipx/floor",
            "PSNR vs floor dB imgpro/thumbor/ipx",
            "PSNR vs reference dB imgpro/thumbor/ipx/floor",
        ],
        rows,
    )


def transforms(data: dict[str, Any]) -> str:
    rows = [r for r in data["rows"]]
    out = [
        f"Cold renders ({data['method']}; at most {data['count_cap']} requests or "
        f"{data['seconds_cap']} s per cell; concurrency {data['levels']}).",
        "",
        "Summary (one cell per line; values for imgpro/thumbor/ipx/floor):",
        "",
        transforms_summary(data),
        "",
        "All measurements:",
        "",
    ]
    table = []
    for r in rows:
        if "skipped" in r:
            o = r.get("output", {})
            dims = (
                (
                    f"{o.get('width')}×{o.get('height')}"
                    + (f"×{o['frames']}f" if o.get("frames", 1) > 1 else "")
                )
                if o
                else None
            )
            table.append(
                [
                    r["image"],
                    r["op"],
                    r["concurrency"],
                    r["contender"],
                    f"skipped: {r['skipped']}",
                    None,
                    None,
                    None,
                    None,
                    None,
                    o.get("bytes"),
                    dims,
                    None,
                    None,
                    None,
                    None,
                ]
            )
            continue
        o = r.get("output", {})
        dims = f"{o.get('width')}×{o.get('height')}" + (
            f"×{o['frames']}f" if o.get("frames", 1) > 1 else ""
        )
        table.append(
            [
                r["image"],
                r["op"],
                r["concurrency"],
                r["contender"],
                r["req_per_s"],
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
                r.get("cpu_ms_per_req"),
                r["peak_rss_mb"],
                o.get("bytes"),
                dims,
                r.get("psnr_vs_floor"),
                r.get("psnr_vs_reference"),
                f"{r['ok']}/{r['errors']}",
                r.get("foreign_cpu_pct"),
            ]
        )
    out.append(
        _table(
            [
                "image",
                "op",
                "c",
                "contender",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "CPU ms/req",
                "peak RSS MB",
                "out bytes",
                "out dims",
                "PSNR vs floor dB",
                "PSNR vs reference dB",
                "n ok/err",
                "other load %",
            ],
            table,
        )
    )
    # ratios
    cells: dict[tuple[str, str, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        if "req_per_s" in r:
            cells.setdefault((r["image"], r["op"], r["concurrency"]), {})[r["contender"]] = r
    ratio_rows = []
    for (image, op, c), by in cells.items():
        rps = {k: v["req_per_s"] for k, v in by.items()}
        cpu = {k: v.get("cpu_ms_per_req") for k, v in by.items()}
        me = rps.get("imgpro")
        ratio_rows.append(
            [
                image,
                op,
                c,
                me,
                rps.get("thumbor"),
                rps.get("ipx"),
                rps.get("floor"),
                _ratio(me, rps.get("thumbor")),
                _ratio(me, rps.get("ipx")),
                _ratio(me, rps.get("floor")),
                _ratio(cpu.get("thumbor"), cpu.get("imgpro")),
                _ratio(cpu.get("ipx"), cpu.get("imgpro")),
                _ratio(cpu.get("floor"), cpu.get("imgpro")),
            ]
        )
    out += [
        "",
        "Ratios. req/s: > 1× means imgpro served more. CPU: the other's CPU per request "
        "÷ imgpro's, > 1× means imgpro spent less CPU per image (robust to other load on "
        "the machine):",
        "",
        _table(
            [
                "image",
                "op",
                "c",
                "imgpro req/s",
                "thumbor",
                "ipx",
                "floor",
                "req/s ÷thumbor",
                "÷ipx",
                "÷floor",
                "CPU thumbor/imgpro",
                "ipx/imgpro",
                "floor/imgpro",
            ],
            ratio_rows,
        ),
    ]
    lit = data.get("imgpro_literal") or []
    if lit:
        out += ["", "imgpro's own URL forms (each request on another uploaded copy: cold):", ""]
        out.append(
            _table(
                [
                    "image",
                    "URL",
                    "c",
                    "req/s",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "CPU ms/req",
                    "peak RSS MB",
                    "out bytes",
                    "out dims",
                    "PSNR vs floor dB",
                ],
                [
                    [
                        r["image"],
                        r["url_form"],
                        r["concurrency"],
                        r["req_per_s"],
                        r["p50_ms"],
                        r["p95_ms"],
                        r["p99_ms"],
                        r.get("cpu_ms_per_req"),
                        r["peak_rss_mb"],
                        r.get("output", {}).get("bytes"),
                        f"{r.get('output', {}).get('width')}×{r.get('output', {}).get('height')}",
                        r.get("psnr_vs_floor"),
                    ]
                    for r in lit
                ],
            )
        )
    for n in data.get("notes", []):
        out.append(f"\nNote: {n}")
    return "\n".join(out)


def hits(data: dict[str, Any]) -> str:
    out = [
        f"Warm hits, one URL repeated; load generator: {data['loadgen']}; "
        f"{data['seconds']} s per row.",
        "",
    ]
    out.append(
        _table(
            [
                "what",
                "path",
                "c",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "server CPU ms/req",
                "peak RSS MB",
                "bytes/resp",
                "errors",
                "other load %",
            ],
            [
                [
                    r["what"],
                    r["path"],
                    r["concurrency"],
                    r.get("req_per_s"),
                    r.get("p50_ms"),
                    r.get("p95_ms"),
                    r.get("p99_ms"),
                    r.get("cpu_ms_per_req"),
                    r.get("peak_rss_mb"),
                    r.get("bytes_per_response"),
                    r.get("errors"),
                    r.get("foreign_cpu_pct"),
                ]
                for r in data["rows"]
            ],
        )
    )
    for n in data.get("notes", []):
        out.append(f"\nNote: {n}")
    return "\n".join(out)


def listing(data: dict[str, Any]) -> str:
    out = ["`GET /v1/images?limit=100`, one workspace, sequential requests (c=1).", ""]
    rows = []
    for r in data["rows"]:
        rows.append(
            [
                r["database"],
                f"{r['images']:,}",
                r["what"],
                r["n"],
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
            ]
        )
    out.append(_table(["database", "images", "page", "n", "p50 ms", "p95 ms", "p99 ms"], rows))
    ratios = data.get("ratios") or []
    if ratios:
        out += [
            "",
            _table(
                ["database", "page", "p95 small", "p95 large", "large/small"],
                [
                    [r["database"], r["what"], r["p95_small"], r["p95_large"], f"{r['ratio']:.2f}×"]
                    for r in ratios
                ],
            ),
        ]
    for n in data.get("notes", []):
        out.append(f"\nNote: {n}")
    return "\n".join(out)


def uploads(data: dict[str, Any]) -> str:
    u = data.get("upload_json") or {}
    rows = [
        [
            r["file"],
            r["concurrency"],
            r["uploads_per_s"],
            r["p50_ms"],
            r["p95_ms"],
            r["peak_rss_mb"],
        ]
        for r in u.get("uploads", [])
    ]
    out = [
        "From `bench/upload.py` (run by the harness):",
        "",
        _table(["file", "c", "uploads/s", "p50 ms", "p95 ms", "peak RSS MB"], rows),
    ]
    s = u.get("stream_70mb")
    if s:
        out.append(
            f"\n70 MB streamed upload: {s['seconds']} s, RSS growth "
            f"{s['rss_growth_mb']} MB (target < {s['target_growth_mb']} MB)."
        )
    return "\n".join(out)


def profile(data: dict[str, Any]) -> str:
    out = []
    for phase in data.get("phases", []):
        out += [
            f"py-spy, {phase['name']} ({phase['samples']} samples; {phase.get('load', '')}):",
            "",
        ]
        out.append(
            _table(
                ["share %", "where (leaf-most package)"],
                [[f"{p:.1f}", f] for f, p in phase.get("by_package", [])],
            )
        )
        out += ["", _table(["self %", "frame"], [[f"{p:.1f}", f] for f, p in phase["self"]])]
        out += [
            "",
            _table(
                ["inclusive %", "imgpro frame"], [[f"{p:.1f}", f] for f, p in phase["inclusive"]]
            ),
            "",
        ]
    for n in data.get("notes", []):
        out.append(f"Note: {n}")
    return "\n".join(out)


def markdown(results: dict[str, Any], parts: list[str]) -> str:
    m = results.get("machine", {})
    out = [
        f"Machine: {m.get('cpus')} cores ({m.get('cpu', '?')}), {m.get('memory_gb')} GB, "
        f"Python {m.get('python')}, libvips {m.get('libvips')}; {m.get('date')}.",
        "",
    ]
    for part in parts:
        fn = {
            "transforms": transforms,
            "hits": hits,
            "listing": listing,
            "uploads": uploads,
            "profile": profile,
        }[part]
        tuning = results[part].get("imgpro_tuning") or {}
        extra = " ".join(tuning.get("env") or []) + (
            f" --workers {tuning['workers']}" if tuning.get("workers") else ""
        )
        out += [
            f"## {part}{' (quick)' if results[part].get('quick') else ''}"
            + (f" — imgpro with {extra.strip()}" if extra.strip() else ""),
            "",
            fn(results[part]),
            "",
        ]
    return "\n".join(out)
