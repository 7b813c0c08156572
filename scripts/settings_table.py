"""Print the README's configuration table from settings.py (the single source of truth).

python scripts/settings_table.py            # print the table
python scripts/settings_table.py --check    # exit 1 if README.md's table is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from imgpro.settings import Settings

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"


def rows(model: type[BaseModel], prefix: str = "IMGPRO_") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += rows(annotation, f"{prefix}{name.upper()}__")
            continue
        default = field.default if field.default_factory is None else field.default_factory()
        default_text = f"`{default}`" if default not in ("", None, []) else "(empty)"
        description = (field.description or "").replace("|", "\\|")
        out.append(f"| `{prefix}{name.upper()}` | {default_text} | {description} |")
    return out


def table() -> str:
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows(Settings)])


def main() -> int:
    text = table()
    if "--check" not in sys.argv:
        print(text)
        return 0
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    current = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip() if BEGIN in readme else ""
    if current != text:
        print(
            "README.md's configuration table is stale: run scripts/settings_table.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
