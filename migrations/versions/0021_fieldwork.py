"""Field work (issue 15): fines versioned with effective dates, each citation's fine version
audit trail and payments, and disputes of fees and citations.

Revision ID: 0021
Revises: 0022_bay_tariff_code
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0021"
down_revision = "0022_bay_tariff_code"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "effective_from",
                parking.db.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.text("'1970-01-01 00:00:00+00:00'"),
            )
        )
        batch_op.add_column(sa.Column("created_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("uq_fine_district_id_rule", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_fine_district_id_rule_effective_from"), ["district_id", "rule", "effective_from"]
        )
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.alter_column("effective_from", server_default=None)
    with op.batch_alter_table("citation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fine_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_citation_fine_id_fine"), "fine", ["fine_id"], ["id"])
    op.create_table(
        "citation_change",
        sa.Column("id", _BIG, nullable=False),
        sa.Column("citation_id", _BIG, nullable=False),
        sa.Column("from_status", sa.String(length=10), nullable=True),
        sa.Column("to_status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("changed_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citation_id"], ["citation.id"], name=op.f("fk_citation_change_citation_id_citation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citation_change")),
    )
    with op.batch_alter_table("citation_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citation_change_citation_id"), ["citation_id"], unique=False)
    op.create_table(
        "citation_allocation",
        sa.Column("payment_id", _BIG, nullable=False),
        sa.Column("citation_id", _BIG, nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citation_id"], ["citation.id"], name=op.f("fk_citation_allocation_citation_id_citation")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payment.id"], name=op.f("fk_citation_allocation_payment_id_payment")
        ),
        sa.PrimaryKeyConstraint("payment_id", "citation_id", name=op.f("pk_citation_allocation")),
    )
    with op.batch_alter_table("citation_allocation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citation_allocation_citation_id"), ["citation_id"], unique=False)
    op.create_table(
        "dispute",
        sa.Column("id", _BIG, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=True),
        sa.Column("plate_key", sa.String(length=32), nullable=True),
        sa.Column("stay_id", _BIG, nullable=True),
        sa.Column("citation_id", _BIG, nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("amount_before", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("amount_after", sa.Integer(), nullable=True),
        sa.Column("refunded", sa.Integer(), nullable=False),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["driver_account.id"], name=op.f("fk_dispute_account_id_driver_account")
        ),
        sa.ForeignKeyConstraint(
            ["citation_id"], ["citation.id"], name=op.f("fk_dispute_citation_id_citation")
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_dispute_district_id_district")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
        sa.UniqueConstraint("uuid", name=op.f("uq_dispute_uuid")),
    )
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index("ix_dispute_status", ["district_id", "status", "created_at"], unique=False)
        batch_op.create_index("ix_dispute_plate_key", ["district_id", "plate_key"], unique=False)


def downgrade() -> None:
    op.drop_table("dispute")
    op.drop_table("citation_allocation")
    op.drop_table("citation_change")
    with op.batch_alter_table("citation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_citation_fine_id_fine"), type_="foreignkey")
        batch_op.drop_column("fine_id")
    with op.batch_alter_table("fine", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_fine_district_id_rule_effective_from"), type_="unique")
        batch_op.create_unique_constraint("uq_fine_district_id_rule", ["district_id", "rule"])
        batch_op.drop_column("created_at")
        batch_op.drop_column("created_by")
        batch_op.drop_column("effective_from")
