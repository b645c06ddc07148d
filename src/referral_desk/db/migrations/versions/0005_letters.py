"""Letters: their templates (versioned), the archive of generated letters, office images.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from referral_desk.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Version 1 of each letter's wording, frozen here: a later release may ship better defaults
# as a new version, never by changing what this migration wrote (archived letters name it).
# Written for patients: short sentences, no unexplained medical words, never alarming.
SUMMARY = {
    "title": "Your second opinion",
    "salutation": "Dear {patient_name},",
    "body": "\n".join(
        (
            "Thank you for asking us for a second opinion. In this letter we explain, in "
            "plain words, what the specialist found. Please keep it with your medical "
            "papers.",
            "",
            "## What you asked us",
            "{patient_questions}",
            "",
            "## What your first doctor said",
            "What your first doctor found (the diagnosis): {first_diagnosis}",
            "The treatment your first doctor suggested: {proposed_treatment}",
            "",
            "## What the specialist found",
            "{opinion_summary}",
            "",
            "## What the specialist recommends",
            "{recommendation}",
            "",
            "## Does this agree with your first doctor?",
            "{concordance}",
            "",
            "## What to do next",
            "- Please talk about this letter with the doctor who treats you. They know you "
            "and your health best, and they can explain what it means for you.",
            "- Please do not stop, start or change any treatment on your own because of "
            "this letter.",
            "- If you have questions about this letter, you can reach us {office_contact}. "
            "Please give your reference, {reference}.",
            "",
            "## Who gave this opinion",
            "This second opinion was given by {specialist}.",
        )
    ),
    "closing": "With kind regards,",
    "disclaimer": (
        "This letter does not replace the care of the doctor who treats you. It is a second "
        "opinion based on the medical records we received. If you have urgent symptoms, such "
        "as sudden pain, trouble breathing or heavy bleeding, do not wait: call your local "
        "emergency number or go to the nearest emergency department."
    ),
}
REFERRER = {
    "title": "Second opinion for {patient_name} ({reference})",
    "salutation": "Dear {referrer_name},",
    "body": "\n".join(
        (
            "With the consent of your patient {patient_name} (born {patient_birth_date}), "
            "we send you the second opinion on their case, our reference {reference}.",
            "",
            "## Question asked",
            "{patient_questions}",
            "",
            "## Initial assessment",
            "Diagnosis: {first_diagnosis}",
            "Stage: {stage}",
            "Proposed treatment: {proposed_treatment}",
            "",
            "## Second opinion",
            "Reviewing specialist: {specialist}",
            "Agreement with the initial diagnosis: {diagnosis_concordance}",
            "Agreement with the proposed treatment: {treatment_concordance}",
            "",
            "## Specialist's notes",
            "{referrer_notes}",
            "",
            "## Recommendation",
            "{recommendation}",
            "",
            "## What the patient is told",
            "{opinion_summary}",
            "",
            "The patient receives a letter in plain language with this summary and is "
            "advised to discuss the opinion with you before any change to their treatment.",
            "",
            "For questions about this opinion, you can reach us {office_contact}.",
        )
    ),
    "closing": "With kind regards,",
    "disclaimer": (
        "This second opinion is based on the records made available to the reviewing "
        "specialist. It does not replace the clinical judgement of the treating physician, "
        "who remains responsible for the patient's care."
    ),
}
RECORDS_REQUEST = {
    "title": "Records needed for {patient_name} ({reference})",
    "salutation": "Dear {referrer_name},",
    "body": "\n".join(
        (
            "We are preparing a second opinion for your patient {patient_name} (born "
            "{patient_birth_date}), our reference {reference}. Before the specialist can "
            "begin, we still need the following records:",
            "",
            "{missing_documents}",
            "",
            "Please send copies to us and quote our reference {reference}.",
            "By e-mail: {office_email}",
            "By post: {office_address}",
            "",
            "If you have questions, you can reach us {office_contact}.",
            "",
            "Thank you for your help. The review starts as soon as the records arrive.",
        )
    ),
    "closing": "With kind regards,",
    "disclaimer": "",
}
ESTIMATE = {
    "title": "Cost estimate for your second opinion",
    "salutation": "Dear {patient_name},",
    "body": "\n".join(
        (
            "Before we go ahead, we would like you to know what your second opinion is "
            "expected to cost. This is an estimate: your final bill lists only what was "
            "actually done.",
            "",
            "## Estimated costs",
            "{estimate_table}",
            "",
            "The estimated total is {estimate_total}.",
            "{approval_note}",
            "",
            "## Approving a test, and questions",
            "To approve a test, or if you have any questions about these costs, please "
            "contact us {office_contact}. Please give your reference, {reference}.",
            "",
            "We will not arrange a test that needs your approval until you have said yes.",
        )
    ),
    "closing": "With kind regards,",
    "disclaimer": (
        "This is an estimate, not a bill. If the specialist needs further tests, the costs "
        "may change; we will always ask you first."
    ),
}
SEED_TEMPLATES = {
    "summary": SUMMARY,
    "referrer": REFERRER,
    "records_request": RECORDS_REQUEST,
    "estimate": ESTIMATE,
}
OFFICE_DETAIL_KEYS = (
    "office_name",
    "office_address",
    "office_phone",
    "office_email",
    "office_website",
    "office_signatory_name",
    "office_signatory_title",
)


def upgrade() -> None:
    templates = op.create_table(
        "letter_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("salutation", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("closing", sa.Text(), nullable=False),
        sa.Column("disclaimer", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_letter_templates"),
        sa.UniqueConstraint("kind", "version", name="uq_letter_templates_kind_version"),
    )
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("large_print", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("sent_by", sa.String(length=100), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_letters_case_id_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_letters"),
    )
    op.create_index("ix_letters_case_id", "letters", ["case_id"])
    op.create_table(
        "office_assets",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_office_assets"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        templates,
        [
            {"kind": kind, "version": 1, "created_at": now, "created_by": "Referral Desk", **text}
            for kind, text in SEED_TEMPLATES.items()
        ],
    )


def downgrade() -> None:
    for table in ("office_assets", "letters", "letter_templates"):
        op.drop_table(table)
    keys = ", ".join(f"'{key}'" for key in OFFICE_DETAIL_KEYS)
    op.execute(f"DELETE FROM settings WHERE key IN ({keys})")
