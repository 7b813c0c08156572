"""A client generated from /openapi.json by openapi-python-client compiles and uploads."""

from __future__ import annotations

import compileall
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

import imagegen


def test_generated_client_compiles_and_uploads(server, tmp_path):
    spec = tmp_path / "openapi.json"
    spec.write_bytes(httpx.get(f"{server.url}/openapi.json").content)
    generator = shutil.which("openapi-python-client",
                             path=str(Path(sys.executable).parent)) or "openapi-python-client"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run([generator, "generate", "--path", str(spec), "--output-path",
                             str(tmp_path / "imgpro_generated"), "--meta", "none"],
                            capture_output=True, text=True, timeout=300, env=env)
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

        client = generated.AuthenticatedClient(base_url=server.url, token=server.key)
        body = models.CreateImageFilesBody(
            file=types.File(payload=imagegen.png(33, 22), file_name="gen.png",
                            mime_type="image/png"), caption="generated")
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
