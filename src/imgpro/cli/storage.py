"""``imgpro storage migrate --to s3``: copy the local blob store into the configured bucket."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from imgpro.cli.common import Cli, err, out
from imgpro.settings import Settings

storage_app = Cli(help="Blob storage.", no_args_is_help=True)


@storage_app.command("migrate")
def storage_migrate(
    to: Annotated[str, typer.Option("--to", help="Destination backend (only `s3`).")],
    source: Annotated[
        Path | None,
        typer.Option(
            "--from-dir", help="The local blob directory; default the configured storage_dir."
        ),
    ] = None,
    verify: Annotated[bool, typer.Option(help="Read each copy back and compare hashes.")] = True,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 8,
) -> None:
    """Copy every original and variant from the local store to the bucket named by
    IMGPRO_S3__* (resumable: objects already there with the same size and SHA-256 are
    skipped). The server may keep serving from the local store meanwhile; switch
    IMGPRO_STORAGE=s3 afterwards and run this once more (docs/deployment.md)."""
    if to != "s3":
        err.print("[red]error:[/red] only --to s3 is supported")
        raise typer.Exit(2)
    from imgpro.storage.local import LocalBlobStore
    from imgpro.storage.migrate import migrate, plan
    from imgpro.storage.s3 import S3BlobStore

    settings = Settings()
    if not settings.s3.bucket:
        err.print(
            "[red]error:[/red] set IMGPRO_S3__BUCKET (and IMGPRO_S3__ENDPOINT_URL, "
            "IMGPRO_S3__REGION as needed) first"
        )
        raise typer.Exit(2)
    folder = source or settings.resolved_storage_dir
    if not folder.is_dir():
        err.print(f"[red]error:[/red] no blob directory at {folder}")
        raise typer.Exit(2)

    async def main() -> int:
        local = LocalBlobStore(folder)
        bucket = S3BlobStore(settings.s3)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[files]} files"),
            TimeRemainingColumn(),
        )
        try:
            with Progress(*columns, console=out) as bar:
                task = bar.add_task(
                    f"{folder} → s3://{settings.s3.bucket}/{settings.s3.prefix}",
                    total=None,
                    files=0,
                )
                done = 0

                def step(_key: str, size: int) -> None:
                    nonlocal done
                    done += 1
                    bar.update(task, advance=size, files=done)

                todo = await plan(local)
                bar.update(task, total=sum(size for _, size in todo))
                report = await migrate(
                    local, bucket, verify=verify, concurrency=concurrency, progress=step, todo=todo
                )
        finally:
            await bucket.aclose()
        out.print(f"copied: {report.copied} ({report.bytes_copied:,} bytes)")
        out.print(f"already there (same size and SHA-256): {report.skipped}")
        for line in report.failed:
            err.print(f"[red]failed:[/red] {line}")
        if report.failed:
            out.print(f"failed: {len(report.failed)} — run the command again to retry them")
            return 1
        return 0

    raise typer.Exit(asyncio.run(main()))
