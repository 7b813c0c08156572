"""Redirect URIs: a strict grammar at registration, and nothing unchecked in the CSP header."""

from __future__ import annotations

import os
import stat

import pytest

from imgpro.apps.redirect_uris import csp_origin, is_well_formed
from imgpro.apps.service import validate_redirect_uri
from imgpro.errors import ValidationFailed


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example;frame-ancestors evil.example;x/cb",
        "https://app.example/cb;script-src *",
        "https://app.example/c b",
        "https://app.example,evil.example/cb",
        "https://app.example'/cb",
        'https://app.example"/cb',
        "https://app.example:99999/cb",
        "https://app.example:x/cb",
        "https://app_example.com/cb",
        "https://app.example/\u00e9",
        "https://app.example/cb\r\nSet-Cookie: a=b",
        "https://app.example/%zz",
    ],
)
def test_hostile_redirect_uris_are_refused(uri):
    assert not is_well_formed(uri)
    assert csp_origin(uri) is None
    with pytest.raises(ValidationFailed):
        validate_redirect_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/cb",
        "https://app.example:8443/oauth/cb?x=1&y=%20",
        "http://localhost:3000/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "https://xn--bcher-kva.example/cb",
    ],
)
def test_ordinary_redirect_uris_pass(uri):
    assert validate_redirect_uri(uri) == uri
    assert csp_origin(uri) == uri.split("/cb")[0].split("/oauth")[0]


def test_data_is_private(tmp_path, settings, app):
    data = settings.data_dir
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(data / "blobs").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(data / "tmp").st_mode) == 0o700


def test_sqlite_file_is_private_whatever_the_umask(tmp_path):
    from imgpro.db import migrate

    old = os.umask(0)
    try:
        migrate.upgrade(f"sqlite+aiosqlite:///{tmp_path / 'd' / 'imgpro.db'}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "d" / "imgpro.db").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "d").st_mode) == 0o700
