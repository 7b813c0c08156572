"""`imgpro mcp`, driven by the official MCP client over stdio, against a real server."""

from __future__ import annotations

import json
import sys

import imagegen


async def test_mcp_tools_over_stdio(server, tmp_path):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    path = tmp_path / "agent.png"
    path.write_bytes(imagegen.png(60, 40))
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "imgpro.cli", "mcp"], env=server.env
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name for t in (await session.list_tools()).tools}
        assert {
            "upload_image",
            "list_images",
            "get_image",
            "update_image",
            "delete_image",
            "build_transform_url",
        } <= tools

        async def call(name: str, **arguments: object) -> dict:
            result = await session.call_tool(name, arguments)
            assert not result.is_error, result
            if result.structured_content is not None:
                return dict(result.structured_content)
            return json.loads(result.content[0].text)

        image = await call("upload_image", source=str(path), labels={"by": "agent"})
        assert (image["width"], image["height"]) == (60, 40)
        imported = await call("upload_image", source=image["url"], caption="copy")
        assert imported["caption"] == "copy"
        listed = await call("list_images", labels={"by": "agent"})
        assert [i["id"] for i in listed["images"]] == [image["id"]]
        assert (await call("get_image", image_id=image["id"]))["id"] == image["id"]
        updated = await call("update_image", image_id=image["id"], caption="hello")
        assert updated["caption"] == "hello"
        url = await call("build_transform_url", image=image["id"], w=30, format="webp")
        assert url["url"] == f"{image['url']}?w=30&format=webp"
        assert (await call("delete_image", image_id=image["id"]))["deleted"] is True
        missing = await call("get_image", image_id=image["id"])
        assert missing["error"]["code"] == "not_found"
