"""Fee caps in billing's own table: a dispute's decision that adjusts or cancels a stay's fee
writes the decided amount to `stay_fee_cap`, which pricing reads when it re-derives the
stay, instead of billing reading enforcement's `dispute` table by name (issue 13). The caps
of the decisions already taken are copied from their disputes.

Revision ID: 0026_fee_caps
Revises: 0025_lean_events
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0026_fee_caps"
down_revision = "0025_lean_events"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stay_fee_cap",
        sa.Column("id", _BIG, nullable=False),
        sa.Column("stay_id", _BIG, nullable=False),
        sa.Column("decision", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("decided_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stay_fee_cap")),
    )
    with op.batch_alter_table("stay_fee_cap", schema=None) as batch_op:
        batch_op.create_index("ix_stay_fee_cap_stay_id", ["stay_id"], unique=False)
    op.execute(
        "INSERT INTO stay_fee_cap (stay_id, decision, amount, decided_at) "
        "SELECT stay_id, uuid, amount_after, decided_at FROM dispute "
        "WHERE stay_id IS NOT NULL AND status = 'decided' AND outcome IN ('adjusted', 'cancelled') "
        "AND amount_after IS NOT NULL AND decided_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("stay_fee_cap")
