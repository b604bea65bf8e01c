"""Alembic environment. The URL comes from the caller (the `migrate` command) or
PARKING_DATABASE_URL; APScheduler's own table is never touched."""

from __future__ import annotations

import os
from typing import Any

from alembic import context

import billing.credits  # noqa: F401
import billing.models  # noqa: F401  (register every table on the metadata)
import billing.notification_models  # noqa: F401
import billing.provider_records  # noqa: F401
import enforcement.models  # noqa: F401
import enforcement.models_warden  # noqa: F401
import identity.models  # noqa: F401
import parking.forecast_models  # noqa: F401
import parking.models  # noqa: F401
import sensors.models  # noqa: F401
from api.config import defaults
from api.database import make_engine
from api.migrations import include_object
from parking.db import Base

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "PARKING_DATABASE_URL", defaults()["DATABASE_URL"]
    )
    engine = make_engine(url)
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


def _migrate(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
