"""Load the Markdown guides (package data), fill in this server's URLs and the shared tables,
and render them: HTML for ``/docs/{slug}``, plain text for ``/llms.txt`` and ``/llms-full.txt``.

The sources are trusted package files, but raw HTML in them is still off: a guide is Markdown."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgpro.docs.catalog import ERRORS, TRANSFORM_PARAMS

CONTENT_DIR = Path(__file__).parent / "content"


@dataclass(frozen=True)
class Guide:
    slug: str
    title: str
    summary: str


GUIDES: tuple[Guide, ...] = (
    Guide("quickstart", "Quick start", "Upload, list and transform an image with curl."),
    Guide("authentication", "Authentication", "The three modes: anonymous, API key, app."),
    Guide(
        "images",
        "The Image object",
        "Every field of the JSON every endpoint returns; list, filter, update, delete, batches.",
    ),
    Guide(
        "transforms", "Transforms", "Resize, crop and convert on the CDN URL, with a live preview."
    ),
    Guide("errors", "Errors", "The error envelope, every code, and what a client should do."),
    Guide("apps", "The App guide", "Hosted login, the code exchange, acting for your users."),
    Guide("sdk", "Python SDK", "imgpro.client: Client and AsyncClient."),
    Guide("cli", "Command line", "imgpro upload, images list/get/delete/export/import."),
    Guide(
        "agents",
        "AI agents (MCP)",
        "imgpro mcp: tools for AI agents over the Model Context Protocol.",
    ),
    Guide(
        "self-hosting",
        "Self-hosting and operations",
        "Install, configure, scale out, back up, operate.",
    ),
)
BY_SLUG = {g.slug: g for g in GUIDES}


@dataclass(frozen=True)
class Bases:
    api: str  # e.g. http://127.0.0.1:8000
    web: str
    cdn: str  # …/i


@functools.lru_cache(maxsize=len(GUIDES))
def _source(slug: str) -> str:
    return (CONTENT_DIR / f"{slug}.md").read_text(encoding="utf-8")


def markdown(slug: str, bases: Bases) -> str:
    """A guide's Markdown with this server's URLs and the generated tables filled in."""
    text = _source(slug)
    return (
        text.replace("{{API}}", bases.api)
        .replace("{{WEB}}", bases.web)
        .replace("{{CDN}}", bases.cdn)
        .replace("{{ERRORS_TABLE}}", errors_table())
        .replace("{{TRANSFORMS_TABLE}}", transforms_table())
    )


@functools.cache
def _renderer() -> Any:
    # Imported on the first docs page, not by every server process (see d21dbcf).
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def html(slug: str, bases: Bases) -> str:
    return _renderer().render(markdown(slug, bases))


def errors_table() -> str:
    rows = ["| status | type | code | when | what to do |", "|---|---|---|---|---|"]
    rows += [f"| {e.status} | `{e.type}` | `{e.code}` | {e.when} | {e.do} |" for e in ERRORS]
    return "\n".join(rows)


def transforms_table() -> str:
    rows = ["| parameter | values | meaning |", "|---|---|---|"]
    rows += [f"| `{p.name}` | {p.values} | {p.meaning} |" for p in TRANSFORM_PARAMS]
    return "\n".join(rows)


def llms_txt(bases: Bases) -> str:
    """The llms.txt index (llmstxt.org): a title, a summary, links to each guide's Markdown."""
    lines = [
        "# imgpro",
        "",
        "> Self-hostable image hosting and delivery that speaks the img.pro REST API: "
        "upload or import an image, get one JSON Image object whose `url` is a direct, "
        "transformable CDN link.",
        "",
        f"The whole documentation in one file: {bases.web}/llms-full.txt",
        "",
        "## Guides",
        "",
    ]
    lines += [f"- [{g.title}]({bases.web}/docs/{g.slug}.md): {g.summary}" for g in GUIDES]
    lines += [
        "",
        "## Reference",
        "",
        f"- [OpenAPI 3.1 document]({bases.api}/openapi.json): every endpoint, parameter, "
        "header, error code and example.",
        f"- [Interactive reference]({bases.web}/docs/api)",
        "",
    ]
    return "\n".join(lines)


def llms_full_txt(bases: Bases) -> str:
    parts = [llms_txt(bases)]
    parts += [markdown(g.slug, bases) for g in GUIDES]
    return "\n\n---\n\n".join(parts)
