"""Costs: the fee schedule, cost lines, payments, their history and each case's totals.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from referral_desk.db.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The services an office starts with (frozen here: later releases may change the defaults,
# never what this migration wrote). Prices are the office's to set; 0 means "not set yet".
SEED_SERVICES = (
    ("CONSULT", "Second opinion consultation", False),
    ("PATH", "Pathology re-review", False),
    ("RAD", "Radiology re-review", False),
    ("TEST", "Additional test", True),
    ("COURIER", "Courier of slides or blocks", False),
    ("TRANSL", "Translation of records", False),
)
CASE_TOTALS = ("charges_minor", "estimate_minor", "balance_minor", "awaiting_approval")


def upgrade() -> None:
    fee_services = op.create_table(
        "fee_services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fee_services"),
        sa.UniqueConstraint("code", name="uq_fee_services_code"),
    )
    op.create_table(
        "cost_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("approval", sa.String(length=12), nullable=False),
        sa.Column("approval_on", sa.Date(), nullable=True),
        sa.Column("approval_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_cost_lines_case_id_cases", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["fee_services.id"], name="fk_cost_lines_service_id_fee_services"
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"], ["assignments.id"], name="fk_cost_lines_assignment_id_assignments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cost_lines"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_payments_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
    )
    op.create_table(
        "cost_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_cost_events_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cost_events"),
    )
    op.create_index("ix_cost_lines_case_id", "cost_lines", ["case_id"])
    op.create_index("ix_cost_lines_service_id", "cost_lines", ["service_id"])
    op.create_index("ix_cost_lines_assignment_id", "cost_lines", ["assignment_id"])
    op.create_index("ix_payments_case_id", "payments", ["case_id"])
    op.create_index("ix_cost_events_case_id", "cost_events", ["case_id"])
    # Plain ALTER TABLE ADD COLUMN: a batch copy would drop the expression index on cases.
    for column in CASE_TOTALS:
        op.add_column("cases", sa.Column(column, sa.Integer(), server_default="0", nullable=False))
    now = datetime.now(UTC)
    op.bulk_insert(
        fee_services,
        [
            {
                "code": code,
                "name": name,
                "price_minor": 0,
                "needs_approval": needs_approval,
                "active": True,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for code, name, needs_approval in SEED_SERVICES
        ],
    )


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place, so the expression index survives.
    for column in CASE_TOTALS:
        op.execute(f"ALTER TABLE cases DROP COLUMN {column}")
    for table in ("cost_events", "payments", "cost_lines", "fee_services"):
        op.drop_table(table)
    op.execute("DELETE FROM settings WHERE key IN ('office_currency', 'specialist_fee_estimate')")
