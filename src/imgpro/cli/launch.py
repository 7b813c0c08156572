"""What ``imgpro serve`` becomes once it has planned the processes and migrated: uvicorn in a
fresh interpreter (``os.execv``, same PID, so signals and process managers are unaffected).

Why a fresh interpreter: the CLI imports every command's modules, and migrating imports Alembic;
none of that is needed to serve. With several processes this interpreter is uvicorn's
supervisor and needs only uvicorn: ~25 MB instead of ~115 MB (measured). With one process it
imports the app and serves, without the CLI's and Alembic's ~15 MB. And the environment
``imgpro serve`` prepared (``MALLOC_ARENA_MAX`` above all, which glibc reads only when a process
starts) applies to this process as well as to the workers it spawns.

The launcher binds the listening socket itself, before any server process starts: a port that
is taken fails here, with uvicorn's message and no banner, and ``--port 0`` (any free port)
works because the processes learn the real port (``IMGPRO_PORT``) before they build their
links. The banner naming the base URL is printed only once the server has answered a request
on that socket — a newcomer who copies it never meets "connection refused".

    python -m imgpro.cli.launch HOST PORT PROCESSES ACCESS_LOG(0|1) PUBLIC_BASE_URL BANNER
"""

from __future__ import annotations

import http.client
import os
import sys
import threading
import time

from imgpro.origins import served_origin

READY_PATH = "/favicon.ico"  # the cheapest answer the app gives: a small static file


def argv(
    host: str,
    port: int,
    processes: int,
    access_log: bool,
    public_base_url: str = "",
    banner: str = "",
) -> list[str]:
    """The command line ``imgpro serve`` execs."""
    return [
        sys.executable,
        "-m",
        "imgpro.cli.launch",
        host,
        str(port),
        str(processes),
        "1" if access_log else "0",
        public_base_url,
        banner,
    ]


def exec_server(
    host: str,
    port: int,
    processes: int,
    access_log: bool,
    public_base_url: str = "",
    banner: str = "",
) -> None:
    """Replace this process with the launcher (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    command = argv(host, port, processes, access_log, public_base_url, banner)
    os.execv(command[0], command)  # noqa: S606 - our own interpreter, a fixed argv


def wait_until_answering(host: str, port: int, *, timeout: float = 600) -> bool:
    """Poll the server on its own socket until it answers any HTTP request."""
    target = served_origin(host, port).removeprefix("http://").rsplit(":", 1)[0].strip("[]")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(target, port, timeout=2)
        try:
            conn.request("GET", READY_PATH)
            conn.getresponse().read()
            return True
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    return False


def announce(host: str, port: int, base_url: str, banner: str) -> None:
    if not wait_until_answering(host, port):  # pragma: no cover - the server never came up
        return
    lines = [
        f"imgpro is ready on {base_url}",
        *[line for line in banner.splitlines() if line],
        f"  API docs: {base_url}/docs/api",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def main(args: list[str]) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    host, port_text, processes_text, access_log, public_base_url, banner = [*args, "", ""][:6]
    processes = int(processes_text)
    config = uvicorn.Config(
        "imgpro.app:create_app",
        host=host,
        port=int(port_text),
        workers=processes,
        factory=True,
        proxy_headers=False,
        log_level="info",
        access_log=access_log == "1",
    )
    sock = config.bind_socket()  # exits with uvicorn's message when the port is taken
    port = int(sock.getsockname()[1])
    os.environ["IMGPRO_PORT"] = str(port)  # the processes' Settings() build links from it
    base_url = public_base_url or served_origin(host, port)
    threading.Thread(
        target=announce, args=(host, port, base_url, banner), daemon=True, name="imgpro-banner"
    ).start()
    if processes > 1:
        Multiprocess(config, sockets=[sock]).run()
        return
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run would


if __name__ == "__main__":
    main(sys.argv[1:])
