"""Patrol cars: a plate lookup on the audit log is a person's (staff token) or a patrol car's
read (device), so plate_check names one or the other (issue 17).

Revision ID: 0023_patrol_reads
Revises: 0014_forecast_state
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_patrol_reads"
down_revision = "0014_forecast_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plate_check") as batch:
        batch.alter_column("staff_token_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_plate_check_device_id_device"), "device", ["device_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("plate_check") as batch:
        batch.drop_constraint(op.f("fk_plate_check_device_id_device"), type_="foreignkey")
        batch.drop_column("device_id")
        batch.alter_column("staff_token_id", existing_type=sa.Integer(), nullable=False)
