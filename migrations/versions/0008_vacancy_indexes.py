"""Vacancy indexes: a road's outline box, for the search near a point (issue 5).

Revision ID: 0008_vacancy_indexes
Revises: 0007_forecast
"""

from alembic import op

revision = "0008_vacancy_indexes"
down_revision = "0007_forecast"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("road", schema=None) as batch_op:
        batch_op.create_index(
            "ix_road_box", ["district_id", "min_lat", "max_lat", "min_lng", "max_lng"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("road", schema=None) as batch_op:
        batch_op.drop_index("ix_road_box")
