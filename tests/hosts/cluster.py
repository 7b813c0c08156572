"""Several imgpro hosts behind nginx, sharing PostgreSQL, S3 (moto) and Redis, on one machine.

Each host is ``imgpro serve`` in a network namespace of its own, reached over a veth pair
(host side 10.X.i.1, namespace side 10.X.i.2): its own address, its own network stack, as a
separate machine would be. The shared services listen on 127.0.0.1 in the root namespace, which
a namespace cannot reach, so a small TCP relay on each host-side address forwards PostgreSQL,
Redis and S3 to them. Where namespaces cannot be made (not root, no ``ip``), the hosts listen
on loopback addresses 127.0.0.2, 127.0.0.3… instead, and talk to the services directly.

Used by tests/hosts/test_many_hosts.py and by scripts/hosts_bench.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

NGINX_CONF = """
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  client_max_body_size 100m;
  upstream imgpro {{
{servers}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://imgpro;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def namespaces_possible() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"imgp-probe-{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


class Relay:
    """TCP forwarding from (listen address, port) to 127.0.0.1:target, on a thread's loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[asyncio.base_events.Server] = []
        self.connections: set[asyncio.StreamWriter] = set()  # both ends of each relayed one

    def add(self, listen: str, target_port: int) -> int:
        port = free_port(listen)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    writer.close()
                self.connections.discard(writer)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)
            except OSError:
                writer.close()
                return
            self.connections.update((writer, up_w))
            await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

        async def start() -> None:
            self.servers.append(await asyncio.start_server(handle, listen, port))

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        return port

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
            # A server's close() leaves its accepted connections open (until Python 3.13's
            # close_clients): close both ends of each, so every pipe sees the end and returns.
            for writer in list(self.connections):
                writer.close()
            pending = asyncio.all_tasks() - {asyncio.current_task()}
            if pending:
                await asyncio.wait(pending, timeout=5)
            for server in self.servers:
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Host:
    index: int
    address: str  # where nginx and the tests reach it
    service_address: str  # where it reaches the shared services
    netns: str | None
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def kill9(self) -> None:
        """SIGKILL to the host's whole process group: the launcher and its server process."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def pids(self) -> list[int]:
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]


class Cluster:
    """``count`` hosts (started by :meth:`start`) and nginx in front of them."""

    def __init__(
        self,
        count: int,
        *,
        database_url: str,
        redis_url: str,
        s3_url: str,
        bucket: str,
        env: dict[str, str] | None = None,
        use_namespaces: bool | None = None,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="imgpro-hosts-"))
        self.use_namespaces = namespaces_possible() if use_namespaces is None else use_namespaces
        self.relay = Relay() if self.use_namespaces else None
        self.tag = f"{os.getpid() % 10000}"
        net = 100 + os.getpid() % 100
        self.hosts: list[Host] = []
        self.nginx: subprocess.Popen[bytes] | None = None
        self.nginx_port = free_port()
        self.url = f"http://127.0.0.1:{self.nginx_port}"
        self.database_url, self.redis_url, self.s3_url = database_url, redis_url, s3_url
        self.bucket = bucket
        self.extra_env = env or {}
        for i in range(count):
            if self.use_namespaces:
                ns = f"imgp{self.tag}h{i}"
                outer, inner = f"10.{net}.{i}.1", f"10.{net}.{i}.2"
                self._make_namespace(ns, f"ip{self.tag}h{i}", outer, inner)
                self.hosts.append(Host(i, inner, outer, ns, 8000))
            else:
                address = f"127.0.0.{i + 2}"
                self.hosts.append(Host(i, address, "127.0.0.1", None, free_port(address)))

    def _make_namespace(self, ns: str, veth: str, outer: str, inner: str) -> None:
        def ip(*args: str) -> None:
            subprocess.run(["ip", *args], check=True, capture_output=True)

        ip("netns", "add", ns)
        ip("link", "add", veth + "a", "type", "veth", "peer", "name", veth + "b")
        ip("link", "set", veth + "b", "netns", ns)
        ip("addr", "add", f"{outer}/24", "dev", veth + "a")
        ip("link", "set", veth + "a", "up")
        ip("-n", ns, "addr", "add", f"{inner}/24", "dev", veth + "b")
        ip("-n", ns, "link", "set", veth + "b", "up")
        ip("-n", ns, "link", "set", "lo", "up")

    def _service_urls(self, host: Host) -> dict[str, str]:
        from urllib.parse import urlparse

        def moved(url: str) -> str:
            parsed = urlparse(url)
            port = parsed.port or 0
            if self.relay is None:
                return url
            relayed = self.relay.add(host.service_address, port)
            netloc = parsed.netloc.replace(
                f"{parsed.hostname}:{port}", f"{host.service_address}:{relayed}"
            )
            return parsed._replace(netloc=netloc).geturl()

        return {
            "IMGPRO_DATABASE_URL": moved(self.database_url),
            "IMGPRO_REDIS_URL": moved(self.redis_url),
            "IMGPRO_S3__ENDPOINT_URL": moved(self.s3_url),
        }

    def start(self, *, timeout: float = 60) -> None:
        for host in self.hosts:
            self.start_host(host)
        self.wait_ready(timeout=timeout)
        self._start_nginx()

    def start_host(self, host: Host) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
        env.update(
            {
                "IMGPRO_DATA_DIR": str(self.root / f"host{host.index}"),
                "IMGPRO_STORAGE": "s3",
                "IMGPRO_S3__BUCKET": self.bucket,
                "IMGPRO_S3__REGION": "us-east-1",
                "IMGPRO_AUTO_MIGRATE": "false",
                "IMGPRO_SECRET_KEY": "many-hosts-secret",
                "IMGPRO_PUBLIC_BASE_URL": self.url,
                # nginx's address as each host sees it: its X-Forwarded-For is believed.
                "IMGPRO_TRUSTED_PROXIES": '["127.0.0.0/8", "10.0.0.0/8"]',
            }
        )
        env.update(self._service_urls(host))
        env.update(self.extra_env)
        host.log = self.root / f"host{host.index}.log"
        cmd = [
            sys.executable,
            "-m",
            "imgpro.cli",
            "serve",
            "--host",
            host.address,
            "--port",
            str(host.port),
            "--workers",
            "1",
        ]
        if host.netns:
            cmd = ["ip", "netns", "exec", host.netns, *cmd]
        with open(host.log, "ab") as log:
            host.proc = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, *, timeout: float = 60, hosts: list[Host] | None = None) -> None:
        import httpx

        deadline = time.time() + timeout
        for host in hosts or self.hosts:
            while True:
                try:
                    if httpx.get(host.url + "/docs/api", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert host.proc is not None
                if host.proc.poll() is not None or time.time() > deadline:
                    log = host.log.read_text() if host.log else ""
                    raise RuntimeError(f"host {host.index} did not start:\n{log[-3000:]}")
                time.sleep(0.2)

    def _start_nginx(self) -> None:
        for name in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
            (self.root / name).mkdir(exist_ok=True)
        servers = "\n".join(
            f"    server {h.address}:{h.port} max_fails=1 fail_timeout=5s;" for h in self.hosts
        )
        conf = self.root / "nginx.conf"
        conf.write_text(NGINX_CONF.format(root=self.root, servers=servers, port=self.nginx_port))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = subprocess.Popen(
            [nginx, "-c", str(conf), "-p", str(self.root), "-g", "daemon off; user root;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.nginx_port), timeout=0.5):
                    return
            except OSError:
                if self.nginx.poll() is not None or time.time() > deadline:
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.nginx.wait(10)
        for host in self.hosts:
            if host.proc is not None and host.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(host.proc.pid, signal.SIGTERM)
                try:
                    host.proc.wait(15)
                except subprocess.TimeoutExpired:
                    host.kill9()
            if host.netns:
                subprocess.run(["ip", "netns", "del", host.netns], capture_output=True)
                # Deleting the namespace removes its veth end, and with it the pair.
        if self.relay is not None:
            self.relay.close()
        shutil.rmtree(self.root, ignore_errors=True)


def nginx_available() -> str | None:
    """None if nginx can be run here, else the reason."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return "nginx is not installed (Debian package `nginx`; .ci/run installs it)"
    return None
