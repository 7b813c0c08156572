"""``imgpro mcp``: an MCP server on stdio (the official ``mcp`` package) whose tools call an
imgpro server through the SDK — upload (a path or a URL), list, get, update, delete, and build
transform URLs. Server and key come from IMGPRO_SERVER / IMGPRO_API_KEY or ``imgpro login``.

Imported only when the command runs: the MCP SDK is never on an imgpro server's import path."""

from __future__ import annotations

from typing import Any

from imgpro.cli.profile import Profile, load_profile

INSTRUCTIONS = (
    "imgpro hosts images. upload_image takes a local file path or an http(s) URL and returns the "
    "Image object; its `url` is a direct, embeddable link. transform_url adds resize/crop/format "
    "parameters to that link (an invalid value is ignored, never an error). Errors carry a code "
    "and, for quotas, an upgrade link to show the user."
)


def build_server(profile: Profile) -> Any:
    from mcp.server.mcpserver import MCPServer

    from imgpro import __version__
    from imgpro.client import Client, ImgproError, transform_url

    server = MCPServer("imgpro", instructions=INSTRUCTIONS, version=__version__)

    def call(work: Any) -> dict[str, Any]:
        with Client(profile.server, api_key=profile.key, user=profile.user) as client:
            try:
                result: dict[str, Any] = work(client)
                return result
            except ImgproError as e:
                # An answer the agent can act on, not a stack trace.
                return {
                    "error": {
                        "code": e.code,
                        "message": e.message,
                        "action": e.action,
                        "usage": e.usage,
                    }
                }

    @server.tool()
    def upload_image(
        source: str,
        caption: str | None = None,
        public: bool = True,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Upload a local image file (a path) or import one from an http(s) URL. Returns the
        Image object (id, url, page_url, sizes, width, height, …)."""
        fields = {"caption": caption, "public": public, "labels": labels or None}
        return call(
            lambda c: c.upload(source, **{k: v for k, v in fields.items() if v is not None}).raw
        )

    @server.tool()
    def list_images(labels: dict[str, str] | None = None, limit: int = 20) -> dict[str, Any]:
        """Images, newest first; `labels` filters (every pair must match)."""

        def work(c: Any) -> dict[str, Any]:
            images = []
            for image in c.list(labels=labels or None, limit=min(limit, 100)):
                images.append(image.raw)
                if len(images) >= limit:
                    break
            return {"images": images}

        return call(work)

    @server.tool()
    def get_image(image_id: str) -> dict[str, Any]:
        """One Image object by id."""
        return call(lambda c: c.get(image_id).raw)

    @server.tool()
    def update_image(
        image_id: str,
        caption: str | None = None,
        public: bool | None = None,
        labels: dict[str, str] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Change caption, public, labels or metadata (labels/metadata replace the whole
        object). Fields left out are unchanged."""
        fields = {"caption": caption, "public": public, "labels": labels, "metadata": metadata}
        return call(
            lambda c: c.update(image_id, **{k: v for k, v in fields.items() if v is not None}).raw
        )

    @server.tool()
    def delete_image(image_id: str) -> dict[str, Any]:
        """Delete an image: its URL and viewer page stop working at once."""
        return call(lambda c: {"id": image_id, "deleted": c.delete(image_id)})

    @server.tool()
    def build_transform_url(
        image: str,
        w: int | None = None,
        h: int | None = None,
        fit: str | None = None,
        format: str | None = None,
        q: int | None = None,
        size: str | None = None,
        g: str | None = None,
        blur: float | None = None,
    ) -> dict[str, Any]:
        """A CDN URL for an image id or URL with transforms: w/h (px), fit (scale-down,
        contain, cover, crop, pad), format (jpg, png, webp, avif, gif, auto), q (1-100),
        size (s, m, l, social), g (gravity), blur."""
        params = {
            "w": w,
            "h": h,
            "fit": fit,
            "format": format,
            "q": q,
            "size": size,
            "g": g,
            "blur": blur,
        }
        if image.startswith(("http://", "https://")):
            return {"url": transform_url(image, **params)}
        return call(lambda c: {"url": c.url(image, **params)})

    return server


def mcp() -> None:
    """Run an MCP server on stdio for AI agents (tools: upload, list, get, update, delete,
    transform URLs)."""
    build_server(load_profile()).run()
