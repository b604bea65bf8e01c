"""Plate privacy: a keyed hash (`plate_key`) next to every stored plate, which lookups use
instead of the text; the plate-lookup audit log names the route of each lookup and may lose
its plate to the retention (issue 7, docs/PRIVACY.md).

Existing rows get their keys here, in batches, from Python: the key is an HMAC with the
secret PLATE_HASH_KEY, which SQL cannot compute. The key is the one of the process running
the migration (`flask --app api migrate` sets it from the config), or PARKING_PLATE_HASH_KEY.

Revision ID: 0013_plate_privacy
Revises: 0012_staff_accounts
"""

import os

import sqlalchemy as sa
from alembic import op

from parking.plates import plate_key, use_plate_hash_key

revision = "0013_plate_privacy"
down_revision = "0012_staff_accounts"
branch_labels = None
depends_on = None

_BATCH = 10_000
_WARDEN_PLATE_CHECK = "GET /api/v1/<district>/plates/<plate>/check"
# table -> its key column (the primary key the backfill walks)
_KEYED = {
    "stay": "id",
    "stay_fee": "stay_id",
    "payment": "id",
    "violation": "id",
    "citation": "id",
    "plate_check": "id",
    "curb_event": "id",
}
# (table, new index, its columns, the index on plate text it replaces and that one's columns)
_INDEXES = [
    ("stay", "ix_stay_plate_key", ["district_id", "plate_key"], "ix_stay_plate", ["district_id", "plate"]),
    (
        "stay_fee",
        "ix_stay_fee_plate_key",
        ["district_id", "plate_key", "status"],
        "ix_stay_fee_plate",
        ["district_id", "plate", "status"],
    ),
    ("payment", "ix_payment_plate_key", ["plate_key"], "ix_payment_plate", ["plate"]),
    ("violation", "ix_violation_plate_key", ["district_id", "plate_key"], None, []),
    ("citation", "ix_citation_plate_key", ["district_id", "plate_key"], None, []),
    (
        "plate_check",
        "ix_plate_check_plate_key",
        ["district_id", "plate_key"],
        "ix_plate_check_plate",
        ["district_id", "plate"],
    ),
    ("curb_event", "ix_curb_event_plate_key", ["district_id", "plate_key"], None, []),
]


def upgrade() -> None:
    secret = os.environ.get("PARKING_PLATE_HASH_KEY")
    if secret:
        use_plate_hash_key(secret)
    for table in _KEYED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("plate_key", sa.String(length=32), nullable=True))
    with op.batch_alter_table("plate_check", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.String(length=60), nullable=True))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE plate_check SET route = :route"), {"route": _WARDEN_PLATE_CHECK})
    with op.batch_alter_table("plate_check", schema=None) as batch_op:
        batch_op.alter_column("route", existing_type=sa.String(length=60), nullable=False)
        batch_op.alter_column("plate", existing_type=sa.String(length=16), nullable=True)
    for table, pk in _KEYED.items():
        _backfill(bind, table, pk)
    for table, name, columns, replaced, _ in _INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if replaced is not None:
                batch_op.drop_index(replaced)
            batch_op.create_index(name, columns, unique=False)


def _backfill(bind: sa.Connection, table: str, pk: str) -> None:
    """Key every plate of `table`, walking its primary key a batch at a time."""
    after = None
    while True:
        where = f"plate IS NOT NULL AND plate_key IS NULL{'' if after is None else f' AND {pk} > :after'}"
        rows = bind.execute(
            sa.text(f"SELECT {pk}, plate FROM {table} WHERE {where} ORDER BY {pk} LIMIT {_BATCH}"),
            {} if after is None else {"after": after},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text(f"UPDATE {table} SET plate_key = :key WHERE {pk} = :id"),
            [{"key": plate_key(plate), "id": row_id} for row_id, plate in rows],
        )
        after = rows[-1][0]


def downgrade() -> None:
    bind = op.get_bind()
    for table, name, _, replaced, replaced_columns in reversed(_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
            if replaced is not None:
                batch_op.create_index(replaced, replaced_columns, unique=False)
    # A lookup row whose plate the retention erased cannot go back to a NOT NULL plate.
    bind.execute(sa.text("DELETE FROM plate_check WHERE plate IS NULL"))
    with op.batch_alter_table("plate_check", schema=None) as batch_op:
        batch_op.alter_column("plate", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_column("route")
    for table in reversed(_KEYED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("plate_key")
