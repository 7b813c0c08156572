"""The signing docs' worked example is what the code computes (guide and design notes)."""

from __future__ import annotations

import re
from pathlib import Path

import imgpro
from imgpro.transforms.signing import canonical_message, sign

ROOT = Path(__file__).resolve().parents[2]
GUIDE = Path(imgpro.__file__).parent / "docs" / "content" / "transforms.md"
NOTES = ROOT / "docs" / "transforms.md"
SECRET, PATH = "img_sig_example-secret", "/i/k3x/a8f2k4q1.jpg"
PARAMS = [("w", "400"), ("h", "300"), ("fit", "cover")]


def test_the_worked_example_is_computed_not_copied() -> None:
    message = canonical_message(PATH, PARAMS)
    signature = sign(SECRET, PATH, PARAMS)
    assert message == "/i/k3x/a8f2k4q1.jpg?fit=cover&h=300&w=400"
    guide = GUIDE.read_text()
    assert f"message   = {message}\n" in guide
    assert f"signature = {signature}\n" in guide
    assert f"?w=400&h=300&fit=cover&s={signature}\n" in guide
    assert f'msg = b"{message}"' in guide and f'.update("{message}")' in guide
    notes = NOTES.read_text()
    assert f"message `{message}`" in notes and f"`s={signature}`" in notes
    # Every signature-looking string in the docs is this one (no stale copies).
    for text in (guide, notes):
        assert set(re.findall(r"s=([A-Za-z0-9_-]{32})\b", text)) <= {signature}


async def test_the_guide_page_shows_it(client) -> None:
    r = await client.get("/docs/transforms")
    assert r.status_code == 200
    assert sign(SECRET, PATH, PARAMS) in r.text and "Signed transforms" in r.text
    assert "<code>preset</code>" in r.text and "<code>s</code>" in r.text
