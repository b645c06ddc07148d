"""Case desk: patients, referrers, cases, reasons, status history, search index.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from referral_desk.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("given_names", sa.String(200), nullable=False),
        sa.Column("family_name", sa.String(200), nullable=False),
        sa.Column("name_folded", sa.String(400), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(20), nullable=False),
        sa.Column("phone", sa.String(60), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("preferred_language", sa.String(60), nullable=False),
        sa.Column("consent_share_with_referrer", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
    )
    op.create_index("ix_patients_name_birth", "patients", ["name_folded", "birth_date"])
    op.create_table(
        "referrers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_folded", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referrers"),
        sa.UniqueConstraint("name_folded", name="uq_referrers_name_folded"),
    )
    op.create_table(
        "reference_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name="pk_reference_counters"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("referrer_id", sa.Integer(), nullable=True),
        sa.Column("cancer_type", sa.String(40), nullable=False),
        sa.Column("diagnosis", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(60), nullable=False),
        sa.Column("patient_questions", sa.Text(), nullable=False),
        sa.Column("first_diagnosis", sa.Text(), nullable=False),
        sa.Column("proposed_treatment", sa.Text(), nullable=False),
        sa.Column("treatment_start", sa.Date(), nullable=True),
        sa.Column("urgency", sa.String(20), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("held_from", sa.String(30), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("records_complete_at", UTCDateTime(), nullable=True),
        sa.Column("opinion_at", UTCDateTime(), nullable=True),
        sa.Column("hold_since", UTCDateTime(), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("clock_sort", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_cases_patient_id_patients"
        ),
        sa.ForeignKeyConstraint(
            ["referrer_id"], ["referrers.id"], name="fk_cases_referrer_id_referrers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("reference", name="uq_cases_reference"),
    )
    op.create_index("ix_cases_patient_id", "cases", ["patient_id"])
    op.create_index("ix_cases_referrer_id", "cases", ["referrer_id"])
    op.create_index("ix_cases_status", "cases", ["status"])
    op.create_index("ix_cases_received_at", "cases", ["received_at"])
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"])
    op.create_index(
        "ix_cases_clock", "cases", ["clock_sort", sa.text("coalesce(due_at, '')"), "id"]
    )
    op.create_table(
        "case_reasons",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_reasons_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "reason", name="pk_case_reasons"),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(30), nullable=True),
        sa.Column("to_status", sa.String(30), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_status_changes_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_changes"),
    )
    op.create_index("ix_status_changes_case_id", "status_changes", ["case_id"])
    # Folded text (see domain.text.fold); rowid is the case id. Kept in step by services/search.py.
    op.execute(
        "CREATE VIRTUAL TABLE case_search USING fts5("
        "reference, patient, referrer, diagnosis, tokenize = 'unicode61 remove_diacritics 2')"
    )


def downgrade() -> None:
    op.execute("DROP TABLE case_search")
    op.drop_table("status_changes")
    op.drop_table("case_reasons")
    op.drop_table("cases")
    op.drop_table("reference_counters")
    op.drop_table("referrers")
    op.drop_table("patients")
