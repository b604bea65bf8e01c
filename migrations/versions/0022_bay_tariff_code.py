"""Bays: a tariff of their own, when the signs at a bay differ from its block face's
(issue 16: a real city's restrictions are per bay); stays by the time they were written,
for the overstay sweep's look-back.

Revision ID: 0022_bay_tariff_code
Revises: 0016_identity
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_bay_tariff_code"
down_revision = "0016_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bay") as batch:
        batch.add_column(sa.Column("tariff_code", sa.String(length=40), nullable=True))
    # The overstay sweep reads the stays written within its look-back.
    op.create_index("ix_stay_district_updated", "stay", ["district_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_stay_district_updated", table_name="stay")
    with op.batch_alter_table("bay") as batch:
        batch.drop_column("tariff_code")
