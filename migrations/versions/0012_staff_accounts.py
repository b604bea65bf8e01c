"""Staff accounts: password sign-in with expiring, revocable tokens, the failed sign-ins
that rate-limit it, and device token rotation with a grace period (issue 7).

Revision ID: 0012_staff_accounts
Revises: 0011_vacancy_refresh
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0012_staff_accounts"
down_revision = "0011_vacancy_refresh"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("beat", sa.JSON(), nullable=True),
        sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_staff_account_district_id_district")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_account")),
        sa.UniqueConstraint("district_id", "username", name=op.f("uq_staff_account_district_id_username")),
    )
    op.create_table(
        "signin_attempt",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("attempted_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_cleared", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_signin_attempt_district_id_district")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_attempt")),
    )
    with op.batch_alter_table("signin_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_signin_attempt_user", ["district_id", "username", "attempted_at"], unique=False
        )
        batch_op.create_index("ix_signin_attempt_ip", ["client_ip", "attempted_at"], unique=False)
        batch_op.create_index("ix_signin_attempt_at", ["attempted_at"], unique=False)

    with op.batch_alter_table("staff_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", parking.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_staff_token_account_id"), ["account_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_token_account_id_staff_account"), "staff_account", ["account_id"], ["id"]
        )

    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("previous_token_expires_at", parking.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_device_previous_token_hash"), ["previous_token_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_device_previous_token_hash"), type_="unique")
        batch_op.drop_column("previous_token_expires_at")
        batch_op.drop_column("previous_token_hash")

    with op.batch_alter_table("staff_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_staff_token_account_id_staff_account"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_staff_token_account_id"))
        batch_op.drop_column("expires_at")
        batch_op.drop_column("account_id")

    with op.batch_alter_table("signin_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_signin_attempt_at")
        batch_op.drop_index("ix_signin_attempt_ip")
        batch_op.drop_index("ix_signin_attempt_user")
    op.drop_table("signin_attempt")
    op.drop_table("staff_account")
