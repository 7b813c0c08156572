"""Part ``listing``: ``GET /v1/images?limit=100`` at 10,000 and 1,000,000 images in one
workspace, on SQLite and PostgreSQL. The cost must not grow with the collection.

The workspace is made with the CLI (unlimited plan + key); its images are bulk-inserted straight
into ``images`` (blobs need not exist for listing). Measured with sequential requests (c=1):
the first page, a walk of the next pages by ``next_cursor``, and a walk starting from a cursor in
the middle of the collection (half a million rows deep at 1M). PostgreSQL gets ANALYZE after the
bulk load (as autovacuum would soon do); SQLite gets nothing (it never analyses by itself).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx

from bench.harness import contenders as cont
from bench.harness.common import WORK, log, percentile
from imgpro.images.repository import OBJECT_FIELDS

PG_DB = "imgpro_bench"
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q", "-c"]
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _rows(workspace: str, prefix: str, start: int, count: int) -> Iterator[tuple[Any, ...]]:
    for n in range(start, start + count):
        image_id = f"L{n:07d}"
        yield (
            image_id,
            workspace,
            prefix,
            f"photo-{n}.jpg",
            "jpeg",
            "jpg",
            1800,
            1200,
            1,
            123_456,
            f"{n:064x}",
            f"{n:064x}",
            True,
            "ready",
            True,
            "{}",
            "{}",
            False,
            T0 + dt.timedelta(seconds=n),
        )


COLUMNS = [
    "id",
    "workspace_id",
    "prefix",
    "filename",
    "source_format",
    "format",
    "width",
    "height",
    "frames",
    "bytes",
    "sha256",
    "blob_key",
    "transformable",
    "status",
    "public",
    "metadata",
    "labels",
    "nsfw",
    "created_at",
]


def _seed_sqlite(path: str, workspace: str, prefix: str, start: int, count: int) -> None:
    con = sqlite3.connect(path, timeout=60)
    con.execute("PRAGMA journal_mode=WAL")
    marks = ",".join("?" * len(COLUMNS))
    sql = f"INSERT INTO images ({','.join(COLUMNS)}) VALUES ({marks})"
    with con:
        con.executemany(
            sql,
            (
                (*r[:-1], r[-1].replace(tzinfo=None).isoformat(" "))
                for r in _rows(workspace, prefix, start, count)
            ),
        )
    con.close()


async def _seed_pg(workspace: str, prefix: str, start: int, count: int) -> None:
    import asyncpg

    con = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{PG_DB}")
    try:
        batch = 100_000
        for s in range(start, start + count, batch):
            await con.copy_records_to_table(
                "images",
                columns=COLUMNS,
                records=list(_rows(workspace, prefix, s, min(batch, start + count - s))),
            )
        await con.execute("ANALYZE images")
    finally:
        await con.close()


def _workspace_sqlite(path: str) -> tuple[str, str]:
    con = sqlite3.connect(path)
    try:
        row = con.execute(
            "SELECT w.id, w.prefix FROM workspaces w JOIN users u "
            "ON w.user_id = u.id WHERE u.email = 'bench@example.com'"
        ).fetchone()
    finally:
        con.close()
    return str(row[0]), str(row[1])


def _workspace_pg() -> tuple[str, str]:
    out = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            PG_DB,
            "-At",
            "-c",
            "SELECT w.id || '|' || w.prefix FROM workspaces w JOIN users u "
            "ON w.user_id = u.id WHERE u.email = 'bench@example.com'",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ws, prefix = out.split("|")
    return ws, prefix


# The columns the API selects (the Image object's), as repository.select_visible does.
_LIST_SQL = (
    "SELECT " + ", ".join([*OBJECT_FIELDS, "seq"]) + " FROM images "
    "WHERE workspace_id = {p1} AND (expires_at IS NULL OR "
    "expires_at > {p2}) {deep}ORDER BY seq DESC LIMIT 101"
)


def _sql_timings(db: str, sqlite_path: str, ws: str, mid_seq: int, n: int) -> list[dict[str, Any]]:
    """The listing query alone (what repository.select_visible sends), straight to the database:
    separates the database's share of a page from the HTTP/serialisation share."""
    now = dt.datetime.now(dt.UTC)
    out = []
    for what, deep in (
        ("SQL only: first page", ""),
        ("SQL only: from the middle", f"AND seq < {mid_seq} "),
    ):
        lat = []
        if db == "sqlite":
            con = sqlite3.connect(sqlite_path)
            sql = _LIST_SQL.format(p1="?", p2="?", deep=deep)
            args = (ws, now.replace(tzinfo=None).isoformat(" "))
            try:
                con.execute(sql, args).fetchall()
                for _ in range(n):
                    t = time.perf_counter()
                    con.execute(sql, args).fetchall()
                    lat.append(time.perf_counter() - t)
            finally:
                con.close()
        else:
            lat = asyncio.run(_pg_sql(_LIST_SQL.format(p1="$1", p2="$2", deep=deep), ws, now, n))
        s = sorted(lat)
        out.append(
            {
                "what": what,
                "n": n,
                "p50_ms": round(percentile(s, 50) * 1000, 3),
                "p95_ms": round(percentile(s, 95) * 1000, 3),
                "p99_ms": round(percentile(s, 99) * 1000, 3),
            }
        )
    return out


async def _pg_sql(sql: str, ws: str, now: dt.datetime, n: int) -> list[float]:
    import asyncpg

    con = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{PG_DB}")
    try:
        stmt = await con.prepare(sql)
        await stmt.fetch(ws, now)
        lat = []
        for _ in range(n):
            t = time.perf_counter()
            await stmt.fetch(ws, now)
            lat.append(time.perf_counter() - t)
        return lat
    finally:
        await con.close()


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def _measure(
    base: str, key: str, db: str, size: int, n_first: int, n_walk: int, mid_seq: int
) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"}
    rows = []
    with httpx.Client(timeout=60, headers=headers) as c:

        def get(url: str) -> tuple[float, dict[str, Any]]:
            t = time.perf_counter()
            r = c.get(url)
            elapsed = time.perf_counter() - t
            if r.status_code != 200:
                raise RuntimeError(f"{url} answered {r.status_code}: {r.text[:200]}")
            body: dict[str, Any] = r.json()
            if len(body["data"]) != 100:
                raise RuntimeError(f"{url} gave {len(body['data'])} items, not 100")
            return elapsed, body

        for _ in range(5):
            get(f"{base}/v1/images?limit=100")  # warm-up
        first = [get(f"{base}/v1/images?limit=100")[0] for _ in range(n_first)]
        walk, cursor = [], None
        _, body = get(f"{base}/v1/images?limit=100")
        for _ in range(n_walk):
            cursor = body["pagination"]["next_cursor"]
            elapsed, body = get(f"{base}/v1/images?limit=100&cursor={cursor}")
            walk.append(elapsed)
        deep = []
        cursor = _cursor(mid_seq)
        for _ in range(n_walk):
            elapsed, body = get(f"{base}/v1/images?limit=100&cursor={cursor}")
            deep.append(elapsed)
            cursor = body["pagination"]["next_cursor"]
    for what, lat in (
        ("first page", first),
        ("next pages by cursor", walk),
        ("from the middle by cursor", deep),
    ):
        s = sorted(lat)
        rows.append(
            {
                "database": db,
                "images": size,
                "what": what,
                "n": len(s),
                "p50_ms": round(percentile(s, 50) * 1000, 2),
                "p95_ms": round(percentile(s, 95) * 1000, 2),
                "p99_ms": round(percentile(s, 99) * 1000, 2),
            }
        )
        log(
            f"  {db:<10} {size:>9,} {what:<26} p50 {rows[-1]['p50_ms']:>7} ms  "
            f"p95 {rows[-1]['p95_ms']:>7} ms  (n={len(s)})"
        )
    return rows


def _pg_available() -> bool:
    try:
        return (
            subprocess.run(
                [*PG_ADMIN, "SELECT 1"], capture_output=True, timeout=10, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def run(quick: bool) -> dict[str, Any]:
    sizes = [10_000, 100_000] if quick else [10_000, 1_000_000]
    n_first, n_walk = (40, 10) if quick else (200, 40)
    result: dict[str, Any] = {"sizes": sizes, "rows": [], "ratios": [], "notes": []}
    if quick:
        result["notes"].append("--quick: 100,000 instead of 1,000,000 images")
    for db in ("sqlite", "postgresql"):
        if db == "postgresql" and not _pg_available():
            result["notes"].append("PostgreSQL at 127.0.0.1:5432 not reachable: skipped")
            continue
        data_dir = WORK / f"listing-{db}"
        url = ""
        if db == "postgresql":
            subprocess.run(
                [*PG_ADMIN, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"],
                check=True,
                capture_output=True,
            )
            subprocess.run([*PG_ADMIN, f"CREATE DATABASE {PG_DB}"], check=True, capture_output=True)
            url = PG_URL
        imgpro = cont.Imgpro(database_url=url, data_dir=data_dir)
        try:
            sqlite_path = str(data_dir / "imgpro.db")  # settings.resolved_database_url
            if db == "sqlite":
                ws, prefix = _workspace_sqlite(sqlite_path)
            else:
                ws, prefix = _workspace_pg()
            have = 0
            for size in sizes:
                t = time.perf_counter()
                if db == "sqlite":
                    _seed_sqlite(sqlite_path, ws, prefix, have, size - have)
                else:
                    asyncio.run(_seed_pg(ws, prefix, have, size - have))
                log(f"{db}: seeded {size:,} images in {time.perf_counter() - t:.1f} s")
                have = size
                # seq starts at 1 and grows by one per row (fresh table): the middle is size/2.
                result["rows"] += _measure(
                    imgpro.base, imgpro.key, db, size, n_first, n_walk, mid_seq=size // 2
                )
                for r in _sql_timings(db, sqlite_path, ws, size // 2, n_first):
                    result["rows"].append({"database": db, "images": size, **r})
                    log(
                        f"  {db:<10} {size:>9,} {r['what']:<26} p50 {r['p50_ms']:>7} ms  "
                        f"p95 {r['p95_ms']:>7} ms"
                    )
        finally:
            imgpro.stop()
            if db == "postgresql":
                subprocess.run(
                    [*PG_ADMIN, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"],
                    check=False,
                    capture_output=True,
                )
            shutil.rmtree(data_dir, ignore_errors=True)
    small, large = sizes
    for r in result["rows"]:
        if r["images"] == large:
            base = next(
                x
                for x in result["rows"]
                if x["database"] == r["database"]
                and x["what"] == r["what"]
                and x["images"] == small
            )
            result["ratios"].append(
                {
                    "database": r["database"],
                    "what": r["what"],
                    "p95_small": base["p95_ms"],
                    "p95_large": r["p95_ms"],
                    "ratio": r["p95_ms"] / base["p95_ms"],
                }
            )
    return result
