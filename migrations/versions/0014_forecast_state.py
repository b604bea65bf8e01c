"""Forecast: per road, the dwell survival curve the short-horizon forecast carries the
road's current stays forward with (issue 5).

Revision ID: 0014_forecast_state
Revises: 0013_plate_privacy
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0014_forecast_state"
down_revision = "0013_plate_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "road_dwell",
        sa.Column("road_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("stays", sa.Integer(), nullable=False),
        sa.Column("survival", sa.JSON(), nullable=False),
        sa.Column("fitted_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_road_dwell_district_id_district")
        ),
        sa.ForeignKeyConstraint(["road_id"], ["road.id"], name=op.f("fk_road_dwell_road_id_road")),
        sa.PrimaryKeyConstraint("road_id", name=op.f("pk_road_dwell")),
    )
    with op.batch_alter_table("road_dwell", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_road_dwell_district_id"), ["district_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("road_dwell", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_road_dwell_district_id"))
    op.drop_table("road_dwell")
