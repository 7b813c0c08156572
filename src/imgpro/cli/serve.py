"""How ``imgpro serve`` uses the machine: processes, render threads, malloc arenas.

- Processes: one per CPU core by default (``--workers`` / ``IMGPRO_WORKERS`` override). One
  process serves cached hits on one core, so more cores need more processes.
- Render threads: one per core in every process (``IMGPRO_RENDER__WORKERS`` overrides), and
  one host-wide token per core (``IMGPRO_RENDER__HOST_RENDERS``; lock files in the data
  directory, transforms/hostslots.py) that a render must hold: the host runs at most one
  render per core, and whichever process the kernel gave the connections can use every core.
  (Sharing the cores out, ``cores ÷ processes`` threads each, left cores idle while the
  process with the connections refused renders: issue 17.)
- Migrations run once, here, before any server process starts; the processes are told not to
  (``IMGPRO_AUTO_MIGRATE=false``), so they never race each other through Alembic.
- ``MALLOC_ARENA_MAX=2`` unless already set: glibc otherwise keeps up to 8 malloc arenas per
  core, which render threads fill (−10 to −20 % peak RSS measured, same CPU; sharp does the
  same). glibc reads it when a process starts: ``imgpro serve`` then execs the server
  (cli/launch.py), so it applies to that process and to every worker it spawns.

Everything reaches the server processes through the environment, as ``Settings()`` in each
one reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from imgpro.cli.common import describe_database
from imgpro.settings import Settings

MALLOC_ARENAS = 2


class ServeError(Exception):
    pass


@dataclass(frozen=True)
class ServerPlan:
    processes: int
    render_threads: int  # per process
    host_renders: int  # at once on the host, whatever the processes
    env: dict[str, str] = field(default_factory=dict)  # set before uvicorn starts


def single_process_only(settings: Settings) -> bool:
    """Backends that live in one process's memory cannot be shared by several."""
    return settings.storage == "memory" or ":memory:" in settings.resolved_database_url


def plan_server(
    settings: Settings, workers: int | None, cpus: int, environ: Mapping[str, str]
) -> ServerPlan:
    if single_process_only(settings):
        if (workers or settings.workers) > 1:
            raise ServeError("the in-memory backends live in one process: use --workers 1")
        processes = 1
    else:
        processes = workers or settings.workers or cpus
    render_threads = settings.render.workers or cpus
    host_renders = settings.render.host_renders or cpus
    env = {"IMGPRO_AUTO_MIGRATE": "false"}  # done once, before the processes start
    if not settings.render.host_renders:  # every process must count the same tokens
        env["IMGPRO_RENDER__HOST_RENDERS"] = str(host_renders)
    if "MALLOC_ARENA_MAX" not in environ:  # set by the operator: theirs wins
        env["MALLOC_ARENA_MAX"] = str(MALLOC_ARENAS)
    return ServerPlan(processes, render_threads, host_renders, env)


def banner_lines(settings: Settings, plan: ServerPlan, host: str) -> list[str]:
    """What the ready banner says under ``imgpro is ready on …``: the store, the processes,
    and only the warnings that are true of this configuration."""
    banner = [
        f"  database: {describe_database(settings.resolved_database_url)}",
        f"  blobs:    {settings.storage} {settings.resolved_storage_dir.resolve()}",
        f"  processes: {plan.processes} × {plan.render_threads} render threads, "
        f"{plan.host_renders} renders at once on the host",
    ]
    # Without Redis the limits are shared through a file in the data directory
    # (ratelimits.db, ratelimit/host.py); only `rate_limits.store = memory` splits them.
    if plan.processes > 1 and not settings.redis_url and settings.rate_limit_file is None:
        banner.append(
            "  rate limits are counted per process (IMGPRO_RATE_LIMITS__STORE="
            "memory; unset it, or set IMGPRO_REDIS_URL, to share them)"
        )
    if not settings.public_base_url and host in ("0.0.0.0", "::"):  # noqa: S104
        banner.append(
            "  listening on every interface: links name loopback; set "
            "IMGPRO_PUBLIC_BASE_URL to the address clients use"
        )
    return banner
