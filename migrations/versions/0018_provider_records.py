"""Reconciliation from the database: the provider's charges as the sync-provider job copied
them, and a log of its runs (issue 12 item 7).

Revision ID: 0018_provider_records
Revises: 0023_patrol_reads
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0018_provider_records"
down_revision = "0023_patrol_reads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_charge",
        sa.Column("charge_id", sa.String(length=100), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_refunded", sa.Integer(), nullable=False),
        sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("charge_id", name=op.f("pk_provider_charge")),
    )
    with op.batch_alter_table("provider_charge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_charge_payment_intent_id"), ["payment_intent_id"], unique=False
        )
    op.create_table(
        "provider_sync",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("charges", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_sync")),
    )


def downgrade() -> None:
    op.drop_table("provider_sync")
    with op.batch_alter_table("provider_charge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_charge_payment_intent_id"))
    op.drop_table("provider_charge")
