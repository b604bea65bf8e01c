"""Running Alembic from the app: `flask --app api migrate`, and the test harness."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config

from api.config import PROJECT_ROOT

# Tables other software owns in the same database; autogenerate must leave them alone.
IGNORED_TABLES = {"apscheduler_jobs"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name in IGNORED_TABLES)


def alembic_config(url: str | None = None, connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str | None = None, connection: Any = None) -> None:
    command.upgrade(alembic_config(url, connection), "heads")
