"""Money: overpayments (money beyond what a stay owes, kept apart from it and refunded or
listed), and saved cards the payment provider no longer knows.

Revision ID: 0015_overpayments
Revises: 0018_provider_records
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0015_overpayments"
down_revision = "0018_provider_records"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "overpayment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", _BIG, nullable=False),
        sa.Column("stay_id", _BIG, nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_overpayment_district_id_district")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_overpayment_payment_id_payment")
        ),
        sa.ForeignKeyConstraint(["refund_id"], ["refund.id"], name=op.f("fk_overpayment_refund_id_refund")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overpayment")),
        sa.UniqueConstraint("uuid", name=op.f("uq_overpayment_uuid")),
    )
    with op.batch_alter_table("overpayment", schema=None) as batch_op:
        batch_op.create_index("ix_overpayment_district_created", ["district_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_overpayment_payment_id"), ["payment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_overpayment_status"), ["status"], unique=False)
    with op.batch_alter_table("driver_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("card_unusable_at", parking.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("driver_account", schema=None) as batch_op:
        batch_op.drop_column("card_unusable_at")
    with op.batch_alter_table("overpayment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overpayment_status"))
        batch_op.drop_index(batch_op.f("ix_overpayment_payment_id"))
        batch_op.drop_index("ix_overpayment_district_created")
    op.drop_table("overpayment")
