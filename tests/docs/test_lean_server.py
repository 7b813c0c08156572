"""The developer-side tools stay out of the server processes (see d21dbcf: every MB of import
is paid once per process): importing the app must not load the SDK, MCP, the OpenAPI tools or
the Markdown renderer (loaded on the first docs page)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "mcp",
    "markdown_it",
    "imgpro.client",
    "openapi_spec_validator",
    "openapi_python_client",
    "httpx",
    "rich",
)


def test_importing_the_app_loads_none_of_the_developer_tools() -> None:
    code = (
        f"import sys, imgpro.app; heavy = {HEAVY!r}; "
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
