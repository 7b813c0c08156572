"""``imgpro upload PATH…``: upload files and folders through the SDK, in parallel, with a
progress bar. Every file gets an Idempotency-Key made from its content and the options, so a
re-run after an interruption (within the server's 24 h) replays what was already uploaded
instead of creating duplicates."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from imgpro.cli.common import err, out
from imgpro.cli.profile import load_profile

IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".avif",
    ".heic",
    ".heif",
    ".svg",
    ".bmp",
    ".ico",
}


def parse_labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected k=v, got {pair!r}", param_hint="--label")
        labels[key] = value
    return labels


def collect(paths: list[Path], recursive: bool) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            if not recursive:
                raise typer.BadParameter(f"{path} is a folder (add --recursive)")
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        elif path.is_file():
            files.append(path)
        else:
            raise typer.BadParameter(f"{path} does not exist")
    return files


def idempotency_key(path: Path, fields: dict[str, Any]) -> str:
    """Same content + same options = same key; anything else is a new request."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(path.name.encode())
    digest.update(json.dumps(fields, sort_keys=True).encode())
    return f"imgpro-cli-{digest.hexdigest()[:48]}"


def upload(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders.")],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Upload the images inside folders.")
    ] = False,
    label: Annotated[list[str] | None, typer.Option(help="k=v, repeatable.")] = None,
    public: Annotated[
        str, typer.Option(metavar="true|false", help="false hides the viewer page.")
    ] = "true",
    caption: Annotated[str | None, typer.Option()] = None,
    ttl: Annotated[str | None, typer.Option(help="Lifetime, e.g. 7d.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32)] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON results.")] = False,
) -> None:
    """Upload images (resumable: re-running skips what is already uploaded)."""
    from imgpro.client import ImgproError

    files = collect(paths, recursive)
    if public.lower() not in ("true", "false"):
        raise typer.BadParameter("true or false", param_hint="--public")
    fields = {
        "public": public.lower() == "true",
        "labels": parse_labels(label or []) or None,
        "caption": caption,
        "ttl": ttl,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    results: dict[Path, dict[str, Any]] = {}
    client = load_profile().client()
    with (
        client,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            DownloadColumn(),
            console=err,
            transient=as_json,
        ) as progress,
    ):
        n_task = progress.add_task("files", total=len(files))
        b_task = progress.add_task("bytes", total=sum(f.stat().st_size for f in files))

        def one(path: Path) -> dict[str, Any]:
            try:
                image = client.upload(path, idempotency_key=idempotency_key(path, fields), **fields)
                return {
                    "path": str(path),
                    "id": image.id,
                    "url": image.url,
                    "page_url": image.page_url,
                }
            except ImgproError as e:
                return {"path": str(path), "error": {"code": e.code, "message": e.message}}

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = {pool.submit(one, f): f for f in files}
            for future in as_completed(futures):
                path = futures[future]
                results[path] = future.result()
                progress.advance(n_task)
                progress.advance(b_task, path.stat().st_size)
    ordered = [results[f] for f in files]
    failed = [r for r in ordered if "error" in r]
    if as_json:
        typer.echo(json.dumps(ordered, indent=2))
    else:
        table = Table("file", "url")
        for r in ordered:
            table.add_row(
                r["path"],
                r.get("url") or f"[red]{r['error']['code']}[/red]: {r['error']['message']}",
            )
        out.print(table)
        out.print(f"{len(ordered) - len(failed)} uploaded, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)
