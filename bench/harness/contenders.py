"""Starting the contenders on loopback: imgpro, thumbor 7.8, ipx 3 (sharp), and the bare
pyvips floor (a worker process, no HTTP)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import install
from bench.harness.common import PY, WORK, Meter, Server, free_port, log, wait_http
from bench.harness.images import IMAGES, TestImage
from bench.harness.ops import AVIF_EFFORT, AVIF_SPEED, Op, imgpro_query, ipx_path, thumbor_path

HERE = Path(__file__).resolve().parent


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PY, "-m", "imgpro.cli", *args], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


class Imgpro:
    """``python -m imgpro.cli serve`` with a fresh data dir (SQLite + local blobs, the default),
    an unlimited-plan account and key made with the CLI, and the test images uploaded."""

    name = "imgpro"

    def __init__(
        self,
        *,
        database_url: str = "",
        data_dir: Path | None = None,
        extra_env: dict[str, str] | None = None,
        argv: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data = data_dir or WORK / "imgpro-data"
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        # `python -m bench --imgpro-env K=V --imgpro-workers N` (experiments: allocator,
        # render pool, processes) reach every part through these two variables.
        tuned = dict(
            kv.split("=", 1) for kv in os.environ.get("BENCH_IMGPRO_ENV", "").split() if "=" in kv
        )
        self.env = {
            **os.environ,
            "IMGPRO_DATA_DIR": str(self.data),
            "IMGPRO_PUBLIC_BASE_URL": self.base,
            **tuned,
            **(extra_env or {}),
        }
        if database_url:
            self.env["IMGPRO_DATABASE_URL"] = database_url
        cli(self.env, "migrate")  # maintenance commands open an existing store only
        cli(
            self.env,
            "users",
            "create",
            "bench@example.com",
            "--password",
            "bench-password",
            "--plan",
            "unlimited",
        )
        self.key = cli(self.env, "keys", "create", "bench@example.com", "--name", "bench")
        workers = os.environ.get("BENCH_IMGPRO_WORKERS", "")
        self.serve_args = ["--workers", workers] if workers else []
        self.server = Server(
            "imgpro",
            argv or [PY, "-m", "imgpro.cli", "serve", "--port", str(self.port), *self.serve_args],
            env=self.env,
        )
        wait_http(f"{self.base}/openapi.json", proc=self.server.proc)
        self.ids: dict[str, tuple[str, str]] = {}  # image name -> (prefix, id)

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def blobs(self) -> Path:
        return self.data / "blobs"

    def upload(self, images: dict[str, TestImage]) -> None:
        with httpx.Client(timeout=120) as c:
            for img in images.values():
                with img.path.open("rb") as f:
                    r = c.post(
                        f"{self.base}/v1/images",
                        headers={"Authorization": f"Bearer {self.key}"},
                        files={"file": (img.name, f)},
                    )
                r.raise_for_status()
                body = r.json()
                self.ids[img.name] = (body["url"].split("/")[-2], body["id"])

    def image_url(self, img: TestImage, ext: str, query: str = "") -> str:
        prefix, image_id = self.ids[img.name]
        return f"{self.base}/i/{prefix}/{image_id}.{ext}" + (f"?{query}" if query else "")

    def url(self, img: TestImage, op: Op, target: int) -> str:
        return self.image_url(img, op.fmt, imgpro_query(op, target))

    def clear_variants(self) -> None:
        shutil.rmtree(self.blobs / "variants", ignore_errors=True)

    def transforms_live(self, img: TestImage) -> bool:
        """Does ``?w=`` resize yet? (The transform pipeline was landing while this was written.)"""
        import pyvips

        r = httpx.get(self.image_url(img, "jpg", "w=317"), timeout=60)
        if r.status_code != 200:
            return False
        im = pyvips.Image.new_from_buffer(r.content, "")
        return bool(im.width == 317)

    def stop(self) -> None:
        self.server.stop()


class Thumbor:
    """thumbor 7.8 (PIL engine) in its own venv: file loader from bench/.work/images, no result
    storage, no original storage, ``--processes 2``."""

    name = "thumbor"

    def __init__(self, exe: Path, processes: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        conf = WORK / "thumbor.conf"
        conf.write_text(
            "\n".join(
                [
                    "LOADER = 'thumbor.loaders.file_loader'",
                    f"FILE_LOADER_ROOT_PATH = {str(IMAGES)!r}",
                    "STORAGE = 'thumbor.storages.no_storage'",
                    "RESULT_STORAGE = None",
                    "ALLOW_UNSAFE_URL = True",
                    "QUALITY = 80",
                    "WEBP_QUALITY = None",
                    "AVIF_QUALITY = None",
                    f"AVIF_SPEED = {AVIF_SPEED}",  # = libvips effort 3
                    "RESPECT_ORIENTATION = True",
                    "MAX_PIXELS = 75e6",
                    "ALLOW_ANIMATED_GIFS = True",
                    "AUTO_WEBP = False",
                    "",
                ]
            )
        )
        self.server = Server(
            "thumbor",
            [
                str(exe),
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--conf",
                str(conf),
                "--processes",
                str(processes),
                "-l",
                "warning",
            ],
        )
        wait_http(f"{self.base}/healthcheck", proc=self.server.proc)

    @property
    def pid(self) -> int:
        return self.server.pid

    def url(self, img: TestImage, op: Op, target: int) -> str:
        return self.base + thumbor_path(img, op, target)

    def stop(self) -> None:
        self.server.stop()


class Ipx:
    """ipx 3 + sharp 0.34 in one node process (bench/harness/ipx_server.mjs): ipx's own
    node handler, file storage, sharp's operation cache off, AVIF effort/subsampling pinned."""

    name = "ipx"

    def __init__(self, where: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        script = where / "server.mjs"
        shutil.copyfile(HERE / "ipx_server.mjs", script)
        env = {
            **os.environ,
            "IPX_PORT": str(self.port),
            "IPX_DIR": str(IMAGES),
            "IPX_AVIF_EFFORT": str(AVIF_EFFORT),
        }
        self.server = Server("ipx", ["node", str(script)], env=env, cwd=where)
        wait_http(f"{self.base}/health", proc=self.server.proc)

    @property
    def pid(self) -> int:
        return self.server.pid

    def url(self, img: TestImage, op: Op, target: int) -> str:
        return self.base + ipx_path(img, op, target)

    def stop(self) -> None:
        self.server.stop()


def floor_run(
    img: TestImage,
    op: Op,
    *,
    count: int,
    seconds: float,
    concurrency: int,
    first_out: Path,
    run: int = 0,
) -> dict[str, Any]:
    """The bare pyvips loop, in its own process so its RSS is its own."""
    spec = {
        "image": img.name,
        "op": op.key,
        "count": count,
        "seconds": seconds,
        "threads": concurrency,
        "first_out": str(first_out),
        "run": run,
    }
    proc = subprocess.Popen(
        [PY, "-m", "bench.harness.floor_worker", json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(WORK.parent.parent),
    )
    with Meter(proc.pid) as meter:
        out, _ = proc.communicate(timeout=seconds + 600)
    if proc.returncode != 0:
        raise RuntimeError(f"floor worker failed ({proc.returncode})")
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    data["peak_rss"] = meter.peak
    data["foreign_pct"] = meter.foreign_pct
    data["steal_pct"] = meter.steal_pct
    return data


def start(name: str, *, processes: int) -> Any:
    """One contender by name, or None (with a log line) if it cannot be installed/started."""
    t = time.perf_counter()
    try:
        if name == "thumbor":
            exe = install.thumbor()
            return Thumbor(exe, processes) if exe else None
        if name == "ipx":
            where = install.ipx()
            return Ipx(where) if where else None
    except Exception as exc:
        log(f"{name} did not start: {exc}")
        return None
    finally:
        log(f"{name} ready in {time.perf_counter() - t:.1f} s")
    raise ValueError(name)
