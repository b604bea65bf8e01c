"""Warden handheld: staff positions, the plate-check audit log, task photos (issue 4).

Revision ID: 0005_warden
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0005_warden"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_position",
        sa.Column("staff_token_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lng", sa.Double(), nullable=False),
        sa.Column("reported_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_staff_position_district_id_district")
        ),
        sa.ForeignKeyConstraint(
            ["staff_token_id"], ["staff_token.id"], name=op.f("fk_staff_position_staff_token_id_staff_token")
        ),
        sa.PrimaryKeyConstraint("staff_token_id", name=op.f("pk_staff_position")),
    )
    op.create_table(
        "plate_check",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("staff_token_id", sa.Integer(), nullable=False),
        sa.Column("staff_name", sa.String(length=100), nullable=False),
        sa.Column("staff_role", sa.String(length=16), nullable=False),
        sa.Column("checked_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("bay_id", sa.Integer(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lng", sa.Double(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["bay_id"], ["bay.id"], name=op.f("fk_plate_check_bay_id_bay")),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_plate_check_district_id_district")
        ),
        sa.ForeignKeyConstraint(
            ["staff_token_id"], ["staff_token.id"], name=op.f("fk_plate_check_staff_token_id_staff_token")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_check")),
        sa.UniqueConstraint("uuid", name=op.f("uq_plate_check_uuid")),
    )
    with op.batch_alter_table("plate_check", schema=None) as batch_op:
        batch_op.create_index("ix_plate_check_district_checked", ["district_id", "checked_at"], unique=False)
        batch_op.create_index("ix_plate_check_plate", ["district_id", "plate"], unique=False)

    op.create_table(
        "task_photo",
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_task_photo_district_id_district")
        ),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_task_photo_task_id_task")),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_photo")),
    )


def downgrade() -> None:
    op.drop_table("task_photo")
    with op.batch_alter_table("plate_check", schema=None) as batch_op:
        batch_op.drop_index("ix_plate_check_plate")
        batch_op.drop_index("ix_plate_check_district_checked")

    op.drop_table("plate_check")
    op.drop_table("staff_position")
