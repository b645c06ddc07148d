"""Specialists: roster, sub-specialties, absences, assignments and opinions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from referral_desk.db.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "specialists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_folded", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("discipline", sa.String(length=30), nullable=False),
        sa.Column("phone", sa.String(length=60), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("fee_minor", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_specialists"),
    )

    op.create_table(
        "specialist_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name="fk_specialist_absences_specialist_id_specialists",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_specialist_absences"),
    )

    op.create_table(
        "specialist_cancer_types",
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("cancer_type", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["specialist_id"],
            ["specialists.id"],
            name="fk_specialist_cancer_types_specialist_id_specialists",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("specialist_id", "cancer_type", name="pk_specialist_cancer_types"),
    )

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_assignments_case_id_cases", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"], ["specialists.id"], name="fk_assignments_specialist_id_specialists"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
    )

    op.create_table(
        "opinions",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=True),
        sa.Column("patient_summary", sa.Text(), nullable=False),
        sa.Column("recommendation", sa.Text(), nullable=False),
        sa.Column("referrer_notes", sa.Text(), nullable=False),
        sa.Column("diagnosis_concordance", sa.String(length=20), nullable=False),
        sa.Column("treatment_concordance", sa.String(length=20), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_opinions_case_id_cases", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["specialist_id"], ["specialists.id"], name="fk_opinions_specialist_id_specialists"
        ),
        sa.PrimaryKeyConstraint("case_id", name="pk_opinions"),
    )
    op.create_index("ix_specialists_name_folded", "specialists", ["name_folded"])
    op.create_index(
        "ix_specialist_absences_specialist_id", "specialist_absences", ["specialist_id"]
    )
    op.create_index(
        "ix_specialist_cancer_types_cancer_type", "specialist_cancer_types", ["cancer_type"]
    )
    op.create_index("ix_assignments_case_id", "assignments", ["case_id"])
    op.create_index("ix_assignments_specialist_id", "assignments", ["specialist_id"])
    op.create_index("ix_assignments_status", "assignments", ["status"])
    # Plain ALTER TABLE: a batch copy would drop the expression index on cases.
    # Alembic cannot add a column with a foreign key on SQLite except by copying the table.
    op.execute(
        "ALTER TABLE cases ADD COLUMN specialist_id INTEGER "
        "CONSTRAINT fk_cases_specialist_id_specialists REFERENCES specialists (id)"
    )
    op.add_column(
        "cases", sa.Column("major_change", sa.Boolean(), server_default="0", nullable=False)
    )
    op.create_index("ix_cases_specialist_id", "cases", ["specialist_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_specialist_id", "cases")
    with op.batch_alter_table("cases") as batch:  # SQLite drops a foreign key only by copying
        batch.drop_column("major_change")
        batch.drop_column("specialist_id")
    # The copy cannot carry an expression index: make the list's "overdue first" index again.
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_cases_clock ON cases (clock_sort, coalesce(due_at, ''), id)"
    )
    for table in (
        "opinions",
        "assignments",
        "specialist_cancer_types",
        "specialist_absences",
        "specialists",
    ):
        op.drop_table(table)
