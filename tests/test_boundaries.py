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
    "ratelimit",
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


# -- SQL lives in repositories -----------------------------------------------------------------
# A domain's use cases hold the rules (what to check, in which order, which error); its
# repository module(s) hold every SQL statement on its tables. Enforced for every domain that owns
# tables. (The CDN's fast lookup, delivery/lookup.py, is compiled from images/repository.py's
# rule of a live image at start-up; it is an edge, not a use case.)
SQL_HOMES = {
    "accounts": (
        "accounts/repository.py",
        "accounts/tokens_repository.py",
        "accounts/deletion_repository.py",
    ),
    "keys": ("keys/repository.py",),
    "apps": ("apps/repository.py", "apps/connect_repository.py"),
    "billing": ("billing/repository.py",),
    "mail": ("mail/repository.py",),
    "images": ("images/repository.py", "images/idempotency_repository.py"),
    "transforms": ("transforms/repository.py", "transforms/variants_repository.py"),
}
# What a use case may still take from SQLAlchemy: the errors a repository's statements raise,
# the connection it passes through (one transaction across repository calls) and the row type
# a repository returns. Anything else (``sqlalchemy`` itself: select, insert, and_, func…)
# builds SQL.
SQL_TYPES_ONLY = ("sqlalchemy.exc", "sqlalchemy.ext.asyncio", "sqlalchemy.Row")
TABLES = ("imgpro.db.tables",)
# Calls that run a statement, on a connection or on the Database: a call of one of RUNS_SQL
# whose receiver's last name is one of SQL_RUNNERS (``conn.execute``, ``self.db.fetch``,
# ``self._db.fetch_first``). The same names mean other things on other objects — a blob store's
# ``stream()``, the variant budget's ``touch()`` — and those run no SQL.
RUNS_SQL = ("execute", "scalar", "scalars", "stream", "fetch", "fetch_first", "touch")
SQL_RUNNERS = ("conn", "connection", "cur", "cursor", "db", "_db", "database")


def _use_case_files() -> list[Path]:
    files = []
    for package, homes in SQL_HOMES.items():
        files.extend(p for p in sorted((SRC / package).rglob("*.py")) if _rel(p) not in homes)
    return files


def _sqlalchemy_imports(tree: ast.AST) -> list[str]:
    """The SQLAlchemy imports that build SQL: any ``import sqlalchemy…`` (it binds the whole
    package: ``sqlalchemy.select`` is one attribute away), and ``from sqlalchemy… import x``
    unless ``x`` is one of SQL_TYPES_ONLY."""
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad.extend(f"import {a.name}" for a in node.names if _within(a.name, ("sqlalchemy",)))
        elif isinstance(node, ast.ImportFrom) and _within(node.module or "", ("sqlalchemy",)):
            bad.extend(
                f"from {node.module} import {a.name}"
                for a in node.names
                if not _within(f"{node.module}.{a.name}", SQL_TYPES_ONLY)
            )
    return bad


def _runs_sql(call: ast.Attribute) -> bool:
    """``.execute()`` or its kin called on a database or a connection (by the receiver's last
    name: ``conn``, ``self.db``, ``services.db``…)."""
    receiver = call.value
    if isinstance(receiver, ast.Name):
        name = receiver.id
    elif isinstance(receiver, ast.Attribute):
        name = receiver.attr
    else:  # ``(await conn.execute(...)).scalar()``: the execute inside is what counts
        return False
    return call.attr in RUNS_SQL and name in SQL_RUNNERS


def sql_built_in(path: Path, module: str | None = None) -> list[str]:
    """What in ``path`` builds or runs SQL: imports of the tables, or of SQLAlchemy beyond its
    types and errors, and calls of ``.execute()`` and its kin on a database or connection."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = sorted(name for name in imports_of(path, module) if _within(name, TABLES))
    found.extend(_sqlalchemy_imports(tree))
    found.extend(
        f".{node.func.attr}() at line {node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and _runs_sql(node.func)
    )
    return found


def test_the_sql_scanner_sees_tables_sqlalchemy_and_execute(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from sqlalchemy.exc import IntegrityError\n"
        "from sqlalchemy.ext.asyncio import AsyncConnection\n"
        "from sqlalchemy import Row\n"
        "async def f(conn):\n"
        "    import sqlalchemy as sa\n"
        "    from sqlalchemy import and_\n"
        "    from ..db import tables\n"
        "    await conn.execute(sa.select(tables.users))\n"
        "class S:\n"
        "    async def g(self):\n"
        "        self.blobs.stream('key', 65536)\n"
        "        self.budget.touch('key')\n"
        "        await self.db.fetch(statement)\n"
        "        await self._db.fetch_first(statement)\n"
    )
    found = sql_built_in(probe, "imgpro.accounts.probe")
    assert "import sqlalchemy" in found
    assert "from sqlalchemy import and_" in found
    assert "imgpro.db.tables" in found
    assert ".execute() at line 8" in found
    # A database's fetch runs SQL; a blob store's stream() or the budget's touch() does not.
    assert ".fetch() at line 13" in found
    assert ".fetch_first() at line 14" in found
    assert not [f for f in found if f.startswith((".stream()", ".touch()"))], found
    # The errors, the connection and Row types are no SQL.
    assert len(found) == 6, found


@pytest.mark.parametrize("path", _use_case_files(), ids=_rel)
def test_use_cases_leave_sql_to_their_repository(path: Path) -> None:
    found = sql_built_in(path)
    assert not found, (
        f"{_rel(path)} builds or runs SQL ({found}); "
        f"put the statement in {' or '.join(SQL_HOMES[_rel(path).split('/')[0]])}"
    )


def test_the_sql_homes_exist() -> None:
    # A renamed repository must not silently exempt nothing (or everything).
    for homes in SQL_HOMES.values():
        for home in homes:
            assert (SRC / home).is_file(), home
            assert sql_built_in(SRC / home), f"{home} holds no SQL: is it still the home?"


# Planning is arithmetic over values (docs/architecture.md): these modules, and every imgpro
# module they import in turn, use only the pure part of the standard library — no pyvips or
# Pillow, no files or sockets, no database, no settings read from the environment.
PLANNING = (
    "transforms/planning.py",
    "transforms/plan_types.py",
    "transforms/spec.py",
    "transforms/canonical.py",
)
PURE_STDLIB = (
    "__future__",
    "collections",
    "dataclasses",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "itertools",
    "math",
    "re",
    "typing",
    "urllib.parse",
)


def _source_of(name: str) -> Path | None:
    """The file of the imgpro module ``name``; None for a name imported from a module."""
    base = SRC.parent.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def impure_imports(roots: tuple[str, ...]) -> dict[str, list[str]]:
    """What the modules ``roots`` (paths under src/imgpro), and every imgpro module they reach,
    import beyond :data:`PURE_STDLIB`: {module path: [names]}."""
    todo = [SRC / root for root in roots]
    seen: set[Path] = set()
    found: dict[str, list[str]] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in sorted(imports_of(path)):
            if _within(name, ("imgpro",)):
                source = _source_of(name)
                if source is not None:
                    todo.append(source)
            elif not _within(name, PURE_STDLIB):
                found.setdefault(_rel(path), []).append(name)
    return found


def test_planning_is_pure() -> None:
    # The scanner follows imgpro imports: the pipeline (which runs plans on libvips) is not pure.
    assert "imaging/vips/__init__.py" in impure_imports(("transforms/pipeline.py",))
    assert impure_imports(PLANNING) == {}
