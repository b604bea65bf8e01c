"""Districts: their plate rule (GA 36 for the Chinese ones) and their default locale (issue 14).

Revision ID: 0020_district_locale_plates
Revises: 0021 (field work)
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_district_locale_plates"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("plate_rule", sa.String(length=32), server_default="alphanumeric", nullable=False)
        )
        batch_op.add_column(
            sa.Column("default_locale", sa.String(length=16), server_default="en", nullable=False)
        )
    # Districts priced in yuan are Chinese: their plates follow GA 36 and their people read Chinese.
    op.execute(
        "UPDATE district SET plate_rule = 'cn_ga36', default_locale = 'zh_Hans_CN' WHERE currency = 'CNY'"
    )


def downgrade() -> None:
    with op.batch_alter_table("district", schema=None) as batch_op:
        batch_op.drop_column("default_locale")
        batch_op.drop_column("plate_rule")
