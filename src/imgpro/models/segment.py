"""Background removal: a foreground mask from U²-Netp, on the CPU with onnxruntime.

The model sees a 320×320 RGB copy (the caller makes it with libvips, so the full-size image never
enters numpy); its saliency map is min-max normalised and returned at 320×320 as 8-bit alpha that
the caller resizes back to the output size. One inference costs the same whatever the source
size (~0.1–0.5 s of one core), which is why segmentation is budgeted like a render.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from imgpro.models.weights import U2NETP

INPUT_SIZE = 320
# ImageNet statistics the model was trained with.
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

_session: Any = None
_session_lock = threading.Lock()


def _load_session() -> Any:
    """One onnxruntime session per process, built on first use (import costs ~30 MB)."""
    global _session
    with _session_lock:
        if _session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            # One thread per inference: the render pool already runs one render per core, so
            # letting onnxruntime spawn its own pool per call would oversubscribe the CPU.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # No memory arena: it keeps the peak of every inference reserved for the life of the
            # process (measured: 542 MB max RSS with it, 357 MB without, ~10 % more CPU).
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
            _session = ort.InferenceSession(
                str(U2NETP.locate()), options, providers=["CPUExecutionProvider"]
            )
        return _session


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """The foreground's alpha (uint8, INPUT_SIZE×INPUT_SIZE) of a INPUT_SIZE² RGB uint8 array."""
    if rgb.shape != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"expected {INPUT_SIZE}×{INPUT_SIZE}×3 RGB, got {rgb.shape}")
    session = _load_session()
    pixels = rgb.astype(np.float32)
    pixels /= max(float(pixels.max()), 1.0)
    tensor = ((pixels - _MEAN) / _STD).transpose(2, 0, 1)[np.newaxis].astype(np.float32)
    out = session.run([session.get_outputs()[0].name], {session.get_inputs()[0].name: tensor})[0][
        0, 0
    ]
    low, high = float(out.min()), float(out.max())
    if high - low < 1e-6:
        # A flat map means the model found nothing salient: keep everything rather than
        # returning a fully transparent image.
        return np.full((INPUT_SIZE, INPUT_SIZE), 255, dtype=np.uint8)
    normalised = (out - low) / (high - low)
    return np.asarray(np.clip(normalised * 255.0 + 0.5, 0, 255), dtype=np.uint8)
