"""Forecast: per road, day class and 15-minute slot, the chance of a free bay (issue 5).

Revision ID: 0007_forecast
Revises: 0006_drivers
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0007_forecast"
down_revision = "0006_drivers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "road_forecast",
        sa.Column("road_id", sa.Integer(), nullable=False),
        sa.Column("day_class", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Double(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("free_samples", sa.Integer(), nullable=False),
        sa.Column("fitted_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_road_forecast_district_id_district")
        ),
        sa.ForeignKeyConstraint(["road_id"], ["road.id"], name=op.f("fk_road_forecast_road_id_road")),
        sa.PrimaryKeyConstraint("road_id", "day_class", "slot", name=op.f("pk_road_forecast")),
    )
    with op.batch_alter_table("road_forecast", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_road_forecast_district_id"), ["district_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("road_forecast", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_road_forecast_district_id"))
    op.drop_table("road_forecast")
