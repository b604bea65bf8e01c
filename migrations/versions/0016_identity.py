"""Identity (issue 12, Trust II): a device can be decommissioned; driver tokens expire; a
plate is linked only once proven (plate claims); driver sign-ins and sign-ups share the
sign-in attempt log with staff (`district_id` None).

Revision ID: 0016_identity
Revises: 0015_overpayments
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0016_identity"
down_revision = "0015_overpayments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plate_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proof", sa.String(length=10), nullable=True),
        sa.Column("evidence", sa.String(length=500), nullable=True),
        sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["driver_account.id"], name=op.f("fk_plate_claim_account_id_driver_account")
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_plate_claim_district_id_district")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_claim")),
        sa.UniqueConstraint("uuid", name=op.f("uq_plate_claim_uuid")),
    )
    with op.batch_alter_table("plate_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plate_claim_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plate_claim_plate"), ["plate"], unique=False)
        batch_op.create_index(
            "ix_plate_claim_district_status", ["district_id", "status", "created_at"], unique=False
        )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", parking.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("driver_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", parking.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("signin_attempt", schema=None) as batch_op:
        batch_op.alter_column("district_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM signin_attempt WHERE district_id IS NULL")
    with op.batch_alter_table("signin_attempt", schema=None) as batch_op:
        batch_op.alter_column("district_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("driver_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("plate_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_plate_claim_district_status")
        batch_op.drop_index(batch_op.f("ix_plate_claim_plate"))
        batch_op.drop_index(batch_op.f("ix_plate_claim_account_id"))
    op.drop_table("plate_claim")
