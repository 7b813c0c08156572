"""A real S3-compatible server for tests: moto's server mode, as a process on a free port.

The S3 tests talk to it over HTTP exactly as to AWS (aiobotocore, signatures, multipart,
presigned URLs). Without moto installed they skip with the reason; under
``IMGPRO_TEST_REQUIRE_SERVICES=1`` (CI) a missing moto fails the run instead.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

# moto accepts any credentials; botocore needs some. Set for this process and its children.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "imgpro-test",
    "AWS_SECRET_ACCESS_KEY": "imgpro-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def moto_available() -> bool:
    ok = (
        importlib.util.find_spec("moto") is not None
        and importlib.util.find_spec("flask") is not None
    )
    if not ok and os.environ.get("IMGPRO_TEST_REQUIRE_SERVICES") == "1":
        raise RuntimeError("moto[server] required (pip install -e '.[test]') but not installed")
    return ok


def skip_without_moto() -> None:
    if not moto_available():
        pytest.skip("S3 tests need moto[server] (pip install -e '.[test]'); not installed")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class MotoServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = _free_port(host)
        self.url = f"http://{host}:{self.port}"
        env = {**os.environ, **CREDENTIALS}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", host, "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection((host, self.port), timeout=0.5):
                    break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)

    def new_bucket(self, *, versioned: bool = False) -> str:
        import boto3  # moto depends on it; only the tests use the synchronous client

        name = f"imgpro-{uuid.uuid4().hex[:16]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
