"""Schema migrations (Alembic), driven from code so `imgpro migrate` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imgpro.private_files import on_read_only_fs, private_dir, private_file, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only when a migration runs: a serving process that finds the schema
# current never needs it, and importing it costs every worker ~11 MB of RSS (measured).

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision``. Blocking: call it from a thread."""
    db_file = sqlite_path(url)
    if db_file is not None and db_file.exists() and on_read_only_fs(db_file.parent):
        return  # a read-only store serves reads as it is; nothing can be migrated there
    if db_file is not None:
        # The SQLite file's folder must exist before the first connection, and the file is
        # created owner-only before SQLite would create it world-readable.
        private_dir(db_file.parent)
        private_file(db_file)
    from alembic import command

    command.upgrade(alembic_config(url), revision)
