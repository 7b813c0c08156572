"""The user CLI (`imgpro upload`, `imgpro images …`, `imgpro login`) against a real server."""

from __future__ import annotations

import json
import stat

import imagegen


def test_upload_folder_resumes_and_summarises(server, tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(imagegen.png(30, 20))
    (folder / "sub" / "b.jpg").write_bytes(imagegen.jpeg(40, 30))
    (folder / "notes.txt").write_text("not an image")
    args = (
        "upload",
        str(folder),
        "--recursive",
        "--label",
        "batch=cli",
        "--public",
        "false",
        "--concurrency",
        "2",
        "--json",
    )
    first = json.loads(server.cli(*args).stdout)
    assert [r["path"].rsplit("/", 1)[1] for r in first] == ["a.png", "b.jpg"]
    assert all(r["url"].startswith(server.url + "/i/") for r in first)
    again = json.loads(server.cli(*args).stdout)  # resumable: the same images, no duplicates
    assert [r["id"] for r in again] == [r["id"] for r in first]
    listed = json.loads(server.cli("images", "list", "--label", "batch=cli", "--json").stdout)
    assert sorted(i["id"] for i in listed) == sorted(r["id"] for r in first)
    assert all(i["public"] is False and i["labels"] == {"batch": "cli"} for i in listed)
    table = server.cli("upload", str(folder / "a.png")).stdout  # human summary
    assert "1 uploaded, 0 failed" in table and "/i/" in table


def test_upload_reports_a_file_that_failed(server, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"definitely not a png")
    result = server.cli("upload", str(bad), "--json", check=False)
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["error"]["code"] in ("unsupported_format", "invalid_image")


def test_get_delete_export_import(server, tmp_path):
    src = tmp_path / "one.png"
    src.write_bytes(imagegen.png(50, 40))
    image = json.loads(server.cli("upload", str(src), "--label", "set=export", "--json").stdout)[0]
    got = json.loads(server.cli("images", "get", image["id"]).stdout)
    assert got["labels"] == {"set": "export"}
    backup = tmp_path / "backup"
    out = server.cli("images", "export", str(backup)).stdout
    assert "exported" in out
    meta = json.loads((backup / f"{image['id']}.json").read_text())
    assert (backup / meta["original"]["file"]).read_bytes() == src.read_bytes()  # the original
    again = server.cli("images", "export", str(backup)).stdout  # resumable: all verified
    assert "0 exported" in again
    (backup / meta["original"]["file"]).write_bytes(b"corrupt")  # a damaged copy is redone
    assert "1 exported" in server.cli("images", "export", str(backup)).stdout
    assert (backup / meta["original"]["file"]).read_bytes() == src.read_bytes()
    server.cli("images", "delete", image["id"])
    assert server.cli("images", "get", image["id"], check=False).returncode == 1
    imported = server.cli("images", "import", str(backup)).stdout
    assert f"{image['id']} →" in imported and "0 failed" in imported


def test_login_writes_a_private_profile(server, tmp_path):
    env = {k: v for k, v in server.env.items() if k not in ("IMGPRO_SERVER", "IMGPRO_API_KEY")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "cfg")
    server.cli("login", "--server", server.url, "--key", server.key, env=env)
    config = tmp_path / "cfg" / "imgpro" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"server": server.url, "key": server.key}
    assert server.cli("images", "list", "--json", env=env).returncode == 0  # uses the profile
    bad = server.cli(
        "login",
        "--server",
        server.url,
        "--key",
        "img_live_wrong",
        env={**env, "XDG_CONFIG_HOME": str(tmp_path / "other")},
        check=False,
    )
    assert bad.returncode == 1 and not (tmp_path / "other" / "imgpro").exists()
