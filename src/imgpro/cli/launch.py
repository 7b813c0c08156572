"""What ``imgpro serve`` becomes once it has planned the processes and migrated: uvicorn in a
fresh interpreter (``os.execv``, same PID, so signals and process managers are unaffected).

Why a fresh interpreter: the CLI imports every command's modules, and migrating imports Alembic;
none of that is needed to serve. With several processes this interpreter is uvicorn's
supervisor and needs only uvicorn: ~25 MB instead of ~115 MB (measured). With one process it
imports the app and serves, without the CLI's and Alembic's ~15 MB. And the environment
``imgpro serve`` prepared (``MALLOC_ARENA_MAX`` above all, which glibc reads only when a process
starts) applies to this process as well as to the workers it spawns.

    python -m imgpro.cli.launch HOST PORT PROCESSES ACCESS_LOG(0|1)
"""

from __future__ import annotations

import os
import sys


def argv(host: str, port: int, processes: int, access_log: bool) -> list[str]:
    """The command line ``imgpro serve`` execs."""
    return [sys.executable, "-m", "imgpro.cli.launch", host, str(port), str(processes),
            "1" if access_log else "0"]


def exec_server(host: str, port: int, processes: int, access_log: bool) -> None:
    """Replace this process with the launcher (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    command = argv(host, port, processes, access_log)
    os.execv(command[0], command)  # noqa: S606 - our own interpreter, a fixed argv


def main(args: list[str]) -> None:
    import uvicorn

    host, port, processes, access_log = args
    uvicorn.run("imgpro.app:create_app", host=host, port=int(port), workers=int(processes),
                factory=True, proxy_headers=False, log_level="info",
                access_log=access_log == "1")


if __name__ == "__main__":
    main(sys.argv[1:])
