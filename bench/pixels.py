"""Issue 15 bench rows: CPU ms per request and peak RSS of ``segment``, ``g=face`` and ``mark``
beside a plain resize of the same image, through the render pipeline (no HTTP, no cache: every
row is a cold render). Each row runs in a fresh process so its peak RSS is its own.

    .venv/bin/python -m bench.pixels [image] [repeats]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROWS = {
    "plain w=800": [("w", "800")],
    "segment w=800": [("w", "800"), ("segment", "foreground")],
    "g=face 600x600 cover": [("w", "600"), ("h", "600"), ("fit", "cover"), ("g", "face")],
    "crop 600x600 (saliency)": [("w", "600"), ("h", "600"), ("fit", "crop")],
    "mark w=800": [("w", "800"), ("mark", "m")],
}


def _row(image: Path, name: str, repeats: int) -> dict[str, float]:
    import pyvips

    from imgpro.imaging.probe import probe_file
    from imgpro.transforms import pipeline
    from imgpro.transforms.spec import parse_query

    probe = probe_file(image, "jpeg", max_pixels=100_000_000, max_frames=100)
    limits = pipeline.Limits(100_000_000, 100)
    pipeline.configure(1)
    spec = parse_query(ROWS[name]).spec
    mark_source = pipeline.MarkSource("m", "0" * 64, 200, 100)
    logo = pyvips.Image.black(160, 80).new_from_image([255, 0, 0]).copy(interpretation="srgb")
    plan = pipeline.plan(
        spec,
        source=(probe.width, probe.height),
        frames=1,
        source_format="jpeg",
        out_format="jpg",
        limits=limits,
        mark=mark_source,
    )
    mark = None
    if plan.mark is not None:
        mark = bytes(
            logo.cast("uchar")
            .thumbnail_image(plan.mark.size[0], height=plan.mark.size[1], size="force")
            .pngsave_buffer()
        )
    pipeline.render(image, probe, plan, limits, mark=mark)  # warm: model load, imports
    started = time.process_time()
    for _ in range(repeats):
        pipeline.render(image, probe, plan, limits, mark=mark)
    cpu_ms = (time.process_time() - started) * 1000 / repeats
    megapixels = probe.width * probe.height / 1e6
    return {
        "cpu_ms_per_req": round(cpu_ms, 1),
        "cpu_ms_per_mp": round(cpu_ms / megapixels, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "source_mp": round(megapixels, 2),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--row":
        print(json.dumps(_row(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
        return
    image = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/images/DSCN0010_gps.jpg")
    repeats = sys.argv[2] if len(sys.argv) > 2 else "5"
    print(f"{'row':26} {'CPU ms/req':>10} {'ms/MP':>8} {'peak RSS MB':>12}  ({image.name})")
    for name in ROWS:
        out = subprocess.run(
            [sys.executable, "-m", "bench.pixels", "--row", str(image), name, repeats],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        row = json.loads(out)
        print(
            f"{name:26} {row['cpu_ms_per_req']:>10} {row['cpu_ms_per_mp']:>8} "
            f"{row['peak_rss_mb']:>12}"
        )


if __name__ == "__main__":
    main()
