"""``imgpro images list|get|delete|export|import``: your images, through the SDK.

``export DIR`` is a real backup: each image's original, byte for byte, plus one JSON file
(the Image object and the original's SHA-256). It resumes: an image whose files are already
there and verify is skipped. ``import DIR`` uploads such a folder (to this or another server),
resumable through deterministic Idempotency-Keys."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from imgpro.cli.common import Cli, err, out
from imgpro.cli.profile import load_profile
from imgpro.cli.upload import idempotency_key, parse_labels

images_app = Cli(
    help="Your images on the server (IMGPRO_SERVER, IMGPRO_API_KEY or `imgpro login`).",
    no_args_is_help=True,
)


def _fail(e: Any) -> typer.Exit:
    err.print(f"[red]error:[/red] {e}")
    return typer.Exit(1)


@images_app.command("list")
def list_images(
    label: Annotated[list[str] | None, typer.Option(help="k=v filter, repeatable (AND).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List images, newest first (every page)."""
    from imgpro.client import ImgproError

    rows = []
    try:
        with load_profile().client() as client:
            for image in client.list(labels=parse_labels(label or []) or None):
                rows.append(image)
                if limit is not None and len(rows) >= limit:
                    break
    except ImgproError as e:
        raise _fail(e) from None
    if as_json:
        typer.echo(json.dumps([i.raw for i in rows], indent=2))
        return
    table = Table("id", "filename", "format", "size", "created", "url")
    for i in rows:
        table.add_row(
            i.id, i.filename, i.format, f"{i.width}×{i.height}", i.created_at or "", i.url
        )
    out.print(table)


@images_app.command("get")
def get_image(image_id: str) -> None:
    """Print one Image object as JSON."""
    from imgpro.client import ImgproError

    try:
        with load_profile().client() as client:
            typer.echo(json.dumps(client.get(image_id).raw, indent=2))
    except ImgproError as e:
        raise _fail(e) from None


@images_app.command("delete")
def delete_images(image_ids: Annotated[list[str], typer.Argument()]) -> None:
    """Delete images (their variants and viewer pages go too)."""
    from imgpro.client import ImgproError

    try:
        with load_profile().client() as client:
            result = client.delete_many(image_ids)
    except ImgproError as e:
        raise _fail(e) from None
    for image_id in result.ids:
        out.print(f"deleted {image_id}")
    for image_id, error in result.errors.items():
        err.print(f"[red]{image_id}[/red]: {error.get('code')} {error.get('message')}")
    if result.errors:
        raise typer.Exit(1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _verified(directory: Path, image: Any) -> bool:
    """The backup of ``image`` is complete: its JSON names an original that is there, has the
    server's byte count and the recorded SHA-256."""
    meta_path = directory / f"{image.id}.json"
    if not meta_path.exists():
        return False
    try:
        original = json.loads(meta_path.read_text())["original"]
        path = directory / original["file"]
        return (
            path.is_file()
            and path.stat().st_size == image.bytes
            and _sha256(path) == original["sha256"]
        )
    except (ValueError, KeyError, TypeError):
        return False


@images_app.command("export")
def export_images(directory: Path) -> None:
    """Back up every image: DIR/ID.EXT (the original) + DIR/ID.json. Resumable."""
    from imgpro.client import ImgproError

    directory.mkdir(parents=True, exist_ok=True)
    saved = skipped = 0
    try:
        with (
            load_profile().client() as client,
            Progress(TextColumn("export"), BarColumn(), MofNCompleteColumn(), console=err) as bar,
        ):
            images = list(client.list())
            task = bar.add_task("export", total=len(images))
            for image in images:
                if _verified(directory, image):
                    skipped += 1
                else:
                    data = client.original(image.id)
                    ext = _ext(image.filename, image.format)
                    name = f"{image.id}.{ext}"
                    _write_atomic(directory / name, data)
                    meta = {
                        **image.raw,
                        "original": {
                            "file": name,
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "bytes": len(data),
                        },
                    }
                    # The JSON last: its presence means the original is complete.
                    _write_atomic(
                        directory / f"{image.id}.json", json.dumps(meta, indent=2).encode()
                    )
                    saved += 1
                bar.advance(task)
    except ImgproError as e:
        raise _fail(e) from None
    out.print(f"{saved} exported, {skipped} already there and verified → {directory}")


def _ext(filename: str, fmt: str) -> str:
    suffix = Path(filename).suffix.lstrip(".").lower()
    return suffix if suffix and suffix.isalnum() and len(suffix) <= 5 else fmt


@images_app.command("import")
def import_images(directory: Path) -> None:
    """Upload a folder written by `images export` (resumable; prints old id → new URL)."""
    from imgpro.client import ImgproError

    metas = sorted(directory.glob("*.json"))
    failed = 0
    with load_profile().client() as client:
        for meta_path in metas:
            meta = json.loads(meta_path.read_text())
            path = directory / meta["original"]["file"]
            fields = {
                "caption": meta.get("caption"),
                "public": meta.get("public", True),
                "metadata": meta.get("metadata") or None,
                "labels": meta.get("labels") or None,
                "filename": meta.get("filename"),
            }
            fields = {k: v for k, v in fields.items() if v is not None}
            try:
                image = client.upload(path, idempotency_key=idempotency_key(path, fields), **fields)
                out.print(f"{meta['id']} → {image.url}")
            except ImgproError as e:
                failed += 1
                err.print(f"[red]{meta['id']}[/red]: {e.code} {e.message}")
    out.print(f"{len(metas) - failed} imported, {failed} failed")
    if failed:
        raise typer.Exit(1)
