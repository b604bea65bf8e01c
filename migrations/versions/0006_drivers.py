"""Drivers: the notification outbox and callbacks (issue 5).

Revision ID: 0006_drivers
Revises: 0005_warden
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0006_drivers"
down_revision = "0005_warden"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=36), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["driver_account.id"], name=op.f("fk_notification_account_id_driver_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint(
            "account_id", "kind", "subject", name=op.f("uq_notification_account_id_kind_subject")
        ),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_account_id_id", ["account_id", "id"], unique=False)

    op.create_table(
        "notification_callback",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["driver_account.id"],
            name=op.f("fk_notification_callback_account_id_driver_account"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_notification_callback")),
    )


def downgrade() -> None:
    op.drop_table("notification_callback")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_account_id_id")
    op.drop_table("notification")
