"""Enforcement: violations, tasks, fines and citations (issue 4).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import parking.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"], name=op.f("fk_fine_district_id_district")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fine")),
        sa.UniqueConstraint("district_id", "rule", name=op.f("uq_fine_district_id_rule")),
    )
    op.create_table(
        "task",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("team", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("violation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("bay_id", sa.Integer(), nullable=True),
        sa.Column("road_id", sa.Integer(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lng", sa.Double(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("taken_by", sa.String(length=100), nullable=True),
        sa.Column("taken_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["bay_id"], ["bay.id"], name=op.f("fk_task_bay_id_bay")),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"], name=op.f("fk_task_device_id_device")),
        sa.ForeignKeyConstraint(["district_id"], ["district.id"], name=op.f("fk_task_district_id_district")),
        sa.ForeignKeyConstraint(["road_id"], ["road.id"], name=op.f("fk_task_road_id_road")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
        sa.UniqueConstraint("district_id", "key", name=op.f("uq_task_district_id_key")),
        sa.UniqueConstraint("uuid", name=op.f("uq_task_uuid")),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index("ix_task_status", ["district_id", "status", "created_at"], unique=False)
        batch_op.create_index("ix_task_violation", ["violation_id"], unique=False)

    op.create_table(
        "violation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("stay_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bay_id", sa.Integer(), nullable=False),
        sa.Column("road_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=True),
        sa.Column("stay_started_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detected_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", parking.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["bay_id"], ["bay.id"], name=op.f("fk_violation_bay_id_bay")),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_violation_district_id_district")
        ),
        sa.ForeignKeyConstraint(["road_id"], ["road.id"], name=op.f("fk_violation_road_id_road")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violation")),
        sa.UniqueConstraint("stay_id", "rule", name=op.f("uq_violation_stay_id_rule")),
        sa.UniqueConstraint("uuid", name=op.f("uq_violation_uuid")),
    )
    with op.batch_alter_table("violation", schema=None) as batch_op:
        batch_op.create_index("ix_violation_detected", ["district_id", "rule", "detected_at"], unique=False)
        batch_op.create_index("ix_violation_district_started", ["district_id", "started_at"], unique=False)
        batch_op.create_index("ix_violation_open", ["district_id", "ended_at"], unique=False)

    op.create_table(
        "citation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("issued_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", parking.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_citation_district_id_district")
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"], ["violation.id"], name=op.f("fk_citation_violation_id_violation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citation")),
        sa.UniqueConstraint("uuid", name=op.f("uq_citation_uuid")),
    )
    with op.batch_alter_table("citation", schema=None) as batch_op:
        batch_op.create_index("ix_citation_district_issued", ["district_id", "issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_citation_violation_id"), ["violation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("citation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citation_violation_id"))
        batch_op.drop_index("ix_citation_district_issued")

    op.drop_table("citation")
    with op.batch_alter_table("violation", schema=None) as batch_op:
        batch_op.drop_index("ix_violation_open")
        batch_op.drop_index("ix_violation_district_started")
        batch_op.drop_index("ix_violation_detected")

    op.drop_table("violation")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_violation")
        batch_op.drop_index("ix_task_status")

    op.drop_table("task")
    op.drop_table("fine")
