"""The import boundaries of the house (docs/architecture.md), enforced.

Domain packages hold the rules and never depend on how they are served: no FastAPI/Starlette,
no edge (``api``, ``web``, ``delivery``, ``cli``, ``http``). Only the libvips wrapper imports
pyvips. Imports are read with ``ast``, so function-local imports count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "imgpro"

DOMAIN_PACKAGES = (
    "accounts",
    "apps",
    "billing",
    "images",
    "keys",
    "transforms",
    "storage",
    "imaging",
    "models",
    "mail",
    "db",
)
DOMAIN_MODULES = ("errors.py",)  # the envelope's classes, framework-free
FRAMEWORKS = ("fastapi", "starlette")
EDGES = ("imgpro.api", "imgpro.web", "imgpro.delivery", "imgpro.cli", "imgpro.http")
# pyvips belongs to the libvips wrapper alone: a module imaging/vips.py, or (once split) the
# package imaging/vips/.
VIPS_HOME = ("imaging/vips.py", "imaging/vips/")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str | None = None) -> set[str]:
    """Every module ``path`` imports, anywhere in it (top level or inside a function),
    relative imports resolved to absolute names (``module``: its dotted name, when the file
    does not sit in the source tree)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = (module or _module_name(path)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def _domain_files() -> list[Path]:
    files = [SRC / name for name in DOMAIN_MODULES]
    for package in DOMAIN_PACKAGES:
        files.extend(sorted((SRC / package).rglob("*.py")))
    return files


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def test_the_scanner_sees_local_and_relative_imports(tmp_path: Path) -> None:
    # The rule is only as good as the scanner: a function-local import must count.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f():\n    import starlette.requests\n    from ..web import pages\n"
        "    from . import repository\n"
    )
    found = imports_of(probe, "imgpro.images.probe")
    assert "starlette.requests" in found
    assert "imgpro.web.pages" in found
    assert "imgpro.images.repository" in found


@pytest.mark.parametrize("path", _domain_files(), ids=_rel)
def test_domain_never_imports_frameworks_or_edges(path: Path) -> None:
    bad = sorted(name for name in imports_of(path) if _within(name, FRAMEWORKS + EDGES))
    assert not bad, f"{_rel(path)} (a domain module) imports {bad}"


def test_only_the_vips_wrapper_imports_pyvips() -> None:
    importers = sorted(
        _rel(path)
        for path in SRC.rglob("*.py")
        if any(_within(name, ("pyvips",)) for name in imports_of(path))
    )
    strays = [
        p for p in importers if not any(p == home or p.startswith(home) for home in VIPS_HOME)
    ]
    assert importers, "nothing imports pyvips: the scanner is broken"
    assert not strays, f"only {VIPS_HOME} may import pyvips; also imported by {strays}"


# The domains whose SQL lives in their repository module(s) alone: every other module of the
# package keeps policy (checks, order, errors) and reaches the tables through a repository.
# Typing a passed connection (``sqlalchemy.ext.asyncio``) is allowed; building a statement
# (``sqlalchemy`` itself, ``imgpro.db.tables``) is not.
SQL_IN_REPOSITORIES = ("apps", "billing", "mail")
SQL_BUILDERS = ("sqlalchemy", "imgpro.db.tables")
SQL_TYPING = ("sqlalchemy.ext.asyncio",)


def _is_repository(path: Path) -> bool:
    return path.stem == "repository" or path.stem.startswith("repository_")


def _policy_modules() -> list[Path]:
    return [
        path
        for package in SQL_IN_REPOSITORIES
        for path in sorted((SRC / package).rglob("*.py"))
        if not _is_repository(path)
    ]


@pytest.mark.parametrize("package", SQL_IN_REPOSITORIES)
def test_each_of_these_domains_has_a_repository(package: str) -> None:
    assert [p for p in (SRC / package).rglob("*.py") if _is_repository(p)], package


@pytest.mark.parametrize("path", _policy_modules(), ids=_rel)
def test_apps_billing_and_mail_build_sql_only_in_their_repositories(path: Path) -> None:
    bad = sorted(
        name
        for name in imports_of(path)
        if _within(name, SQL_BUILDERS) and not _within(name, SQL_TYPING)
    )
    assert not bad, f"{_rel(path)} builds SQL ({bad}); move the statement to a repository module"
