"""Districts: the map tiles their driver page draws on (issue 14, item 5): an XYZ URL
template, its attribution, and the datum its tiles are drawn in (wgs84, or gcj02 for a
Chinese provider). No tiles by default: the page draws the roads on a plain background.

Revision ID: 0024_district_tiles
Revises: 0020_district_locale_plates
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_district_tiles"
down_revision = "0020_district_locale_plates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tile_url", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("tile_attribution", sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column("tile_crs", sa.String(length=8), server_default="wgs84", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.drop_column("tile_crs")
        batch_op.drop_column("tile_attribution")
        batch_op.drop_column("tile_url")
