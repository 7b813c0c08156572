"""Variant blob keys and ETags."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from imgpro.transforms import cache
from imgpro.transforms.cache import RENDER_VERSION, etag_for, variant_key, variant_prefix

SHA = "a" * 64


def test_variant_key_shape() -> None:
    key = variant_key("ab12cd34", "w=500,f=webp", "webp")
    assert re.fullmatch(r"variants/ab12cd34/[0-9a-f]{32}\.webp", key)
    assert key.startswith(variant_prefix("ab12cd34"))
    assert variant_prefix("ab12cd34") == "variants/ab12cd34/"


def test_variant_key_is_stable_and_distinct() -> None:
    assert variant_key("img1", "w=5,f=jpg", "jpg") == variant_key("img1", "w=5,f=jpg", "jpg")
    keys = {
        variant_key("img1", "w=5,f=jpg", "jpg"),
        variant_key("img1", "w=6,f=jpg", "jpg"),
        variant_key("img2", "w=5,f=jpg", "jpg"),
        variant_key("img1", "w=5,f=jpg", "png"),
    }
    assert len(keys) == 4


def test_prefix_of_one_image_never_covers_another() -> None:
    assert not variant_key("abc", "f=jpg", "jpg").startswith(variant_prefix("ab"))


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "a b", "ab.cd", "x" * 65, "é"])
def test_bad_image_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        variant_prefix(bad)
    with pytest.raises(ValueError):
        variant_key(bad, "f=jpg", "jpg")


@pytest.mark.parametrize("bad", ["jpeg", "auto", "svg", "", "../jpg"])
def test_bad_formats_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        variant_key("img1", "f=jpg", bad)


def test_etag_is_strong_quoted_and_stable() -> None:
    tag = etag_for(SHA, "w=5,f=jpg")
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    assert etag_for(SHA, "w=5,f=jpg") == tag
    assert etag_for(SHA, "w=6,f=jpg") != tag
    assert etag_for("b" * 64, "w=5,f=jpg") != tag


def test_etag_has_no_concatenation_ambiguity() -> None:
    assert etag_for("ab", "c") != etag_for("a", "bc")


def test_etag_and_key_are_the_same_in_another_process() -> None:
    code = (
        "from imgpro.transforms.cache import etag_for, variant_key;"
        f"print(etag_for({SHA!r}, 'w=5,f=jpg'));"
        "print(variant_key('img1', 'w=5,f=jpg', 'jpg'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "123"},
    ).stdout.split()  # fmt: skip
    assert out == [etag_for(SHA, "w=5,f=jpg"), variant_key("img1", "w=5,f=jpg", "jpg")]


def test_render_version_invalidates(monkeypatch: pytest.MonkeyPatch) -> None:
    assert RENDER_VERSION == 2  # 2: resolved-plan canonical names, spec default qualities
    before = (etag_for(SHA, "f=jpg"), variant_key("img1", "f=jpg", "jpg"))
    monkeypatch.setattr(cache, "RENDER_VERSION", RENDER_VERSION + 1)
    after = (etag_for(SHA, "f=jpg"), variant_key("img1", "f=jpg", "jpg"))
    assert before[0] != after[0] and before[1] != after[1]
    assert after[1].startswith("variants/img1/")
