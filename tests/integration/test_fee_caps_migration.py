"""Migration 0026_fee_caps: the caps of the decisions taken before it are copied from their
disputes into billing's own `stay_fee_cap`, so re-pricing keeps them after the upgrade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.database import make_engine
from api.migrations import alembic_config
from billing.models import StayFeeCap
from enforcement.models import Dispute
from fixtures.builders import build_small_district
from tests.integration.own_database import own_database

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
CAPS = "0026_fee_caps"


def dispute(
    district_id: int, uuid: str, stay_id: int | None, status: str, outcome: str | None
) -> dict[str, Any]:
    decided = status == "decided"
    return {
        "uuid": uuid,
        "district_id": district_id,
        "stay_id": stay_id,
        "reason": "too long",
        "status": status,
        "amount_before": 900,
        "currency": "CNY",
        "outcome": outcome,
        "amount_after": (0 if outcome == "cancelled" else 500) if decided and outcome != "upheld" else None,
        "refunded": 0,
        "created_at": NOW - timedelta(days=2),
        "decided_at": NOW - timedelta(days=1) if decided else None,
    }


def test_the_caps_already_decided_are_copied_into_billings_table_and_nothing_else(
    database_url: str, tmp_path: Path
) -> None:
    with own_database(database_url, tmp_path) as url:
        config = alembic_config(url)
        before = ScriptDirectory.from_config(config).get_revision(CAPS).down_revision
        assert isinstance(before, str)
        command.downgrade(config, before)
        engine = make_engine(url)
        try:
            with Session(engine) as db:
                d = build_small_district(db, NOW).district.id
                rows = [
                    dispute(d, "a" * 36, 11, "decided", "adjusted"),
                    dispute(d, "b" * 36, 12, "decided", "cancelled"),
                    dispute(d, "c" * 36, 13, "decided", "upheld"),
                    dispute(d, "d" * 36, 14, "open", None),
                    dispute(d, "e" * 36, None, "decided", "adjusted"),  # a citation's
                ]
                db.execute(insert(Dispute.__table__), rows)
                db.commit()
            command.upgrade(config, "heads")
            with Session(engine) as db:
                caps = db.execute(
                    select(StayFeeCap.stay_id, StayFeeCap.decision, StayFeeCap.amount).order_by(
                        StayFeeCap.stay_id
                    )
                ).all()
        finally:
            engine.dispose()
    assert [tuple(cap) for cap in caps] == [(11, "a" * 36, 500), (12, "b" * 36, 0)]
