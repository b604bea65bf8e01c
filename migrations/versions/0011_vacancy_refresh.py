"""Vacancy refresh indexes: the bays changed since a moment, by events received or inventory
edits, for the vacancy cache's incremental refresh (issue 5).

Revision ID: 0011_vacancy_refresh
Revises: 0009_sweep_keys
"""

from alembic import op

revision = "0011_vacancy_refresh"
down_revision = "0009_sweep_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("curb_event", schema=None) as batch_op:
        batch_op.create_index("ix_curb_event_district_received", ["district_id", "received_at"], unique=False)
    with op.batch_alter_table("bay", schema=None) as batch_op:
        batch_op.create_index("ix_bay_district_updated", ["district_id", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bay", schema=None) as batch_op:
        batch_op.drop_index("ix_bay_district_updated")
    with op.batch_alter_table("curb_event", schema=None) as batch_op:
        batch_op.drop_index("ix_curb_event_district_received")
