from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

import billing.credits  # noqa: F401
import billing.models  # noqa: F401  (every table on the metadata, as migrations/env.py has them)
import billing.notification_models  # noqa: F401
import billing.provider_records  # noqa: F401
import enforcement.models  # noqa: F401
import enforcement.models_warden  # noqa: F401
import identity.models  # noqa: F401
import parking.forecast_models  # noqa: F401
import sensors.models  # noqa: F401
from api.migrations import include_object
from parking.db import Base


def test_the_migrations_build_exactly_the_schema_the_models_describe(connection: Connection) -> None:
    context = MigrationContext.configure(
        connection, opts={"include_object": include_object, "compare_type": True}
    )
    assert compare_metadata(context, Base.metadata) == []
