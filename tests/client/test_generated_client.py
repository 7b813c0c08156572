"""A client generated from /openapi.json by openapi-python-client compiles and uploads."""

from __future__ import annotations

import compileall
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

import imagegen

# The generator lives in a virtualenv of its own: it pins typer<0.28, and imgpro's CLI needs a
# newer typer (its help rendering). Only the generated code is imported here; it needs httpx,
# attrs and python-dateutil, which the test extras carry.
GENERATOR = "openapi-python-client==0.29.1"
GENERATOR_VENV = Path(tempfile.gettempdir()) / "imgpro-tests-openapi-python-client-0.29.1"


@pytest.fixture(scope="session")
def generator() -> Path:
    exe = GENERATOR_VENV / "bin" / "openapi-python-client"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(GENERATOR_VENV)], check=True)
        installed = subprocess.run(
            [str(GENERATOR_VENV / "bin" / "pip"), "install", "-q", GENERATOR],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if installed.returncode != 0:
            if os.environ.get("IMGPRO_TEST_REQUIRE_SERVICES") == "1":
                raise RuntimeError(f"could not install {GENERATOR}: {installed.stderr}")
            pytest.skip(f"could not install {GENERATOR} (no package registry?)")
    return exe


def test_generated_client_compiles_and_uploads(server, tmp_path, generator):
    spec = tmp_path / "openapi.json"
    spec.write_bytes(httpx.get(f"{server.url}/openapi.json").content)
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(tmp_path / "imgpro_generated"),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert compileall.compile_dir(tmp_path / "imgpro_generated", quiet=1)

    sys.path.insert(0, str(tmp_path))
    try:
        generated = importlib.import_module("imgpro_generated")
        create = importlib.import_module("imgpro_generated.api.images.create_image")
        get = importlib.import_module("imgpro_generated.api.images.get_image")
        list_images = importlib.import_module("imgpro_generated.api.images.list_images")
        models = importlib.import_module("imgpro_generated.models")
        types = importlib.import_module("imgpro_generated.types")

        # As a context manager the generated client closes the httpx client it opens.
        with generated.AuthenticatedClient(base_url=server.url, token=server.key) as client:
            body = models.CreateImageFilesBody(
                file=types.File(
                    payload=imagegen.png(33, 22), file_name="gen.png", mime_type="image/png"
                ),
                caption="generated",
            )
            image = create.sync(client=client, body=body, idempotency_key="generated-1")
            assert isinstance(image, models.ImageOut), image
            assert (image.width, image.height, image.caption) == (33, 22, "generated")
            assert get.sync(client=client, image_id=image.id).filename == "gen.png"
            page = list_images.sync(client=client, limit=1)
            assert page.data[0].id == image.id and isinstance(page.pagination.has_more, bool)
            missing = get.sync(client=client, image_id="zz9zz9zz")
            assert isinstance(missing, models.ErrorEnvelope)
            assert missing.error.code.value == "not_found"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("imgpro_generated")]:
            del sys.modules[name]
