"""Documents: types, checklists per cancer type, case documents, stored files, PDF text search.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from referral_desk.db.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_FTS_COLUMNS = "reference, patient, referrer, diagnosis"
_TOKENIZER = "tokenize = 'unicode61 remove_diacritics 2'"

# The shipped defaults as they were at this revision: later changes need their own migration.
_DOCUMENT_TYPES = (
    ("pathology_report", "Pathology report"),
    ("slides_blocks", "Slides / blocks"),
    ("imaging_report", "Imaging report"),
    ("imaging_files", "Imaging files"),
    ("blood_tests", "Blood tests and tumour markers"),
    ("molecular_report", "Molecular / genetic report"),
    ("treatment_plan", "First oncologist's treatment plan"),
    ("discharge_summary", "Discharge summary"),
    ("referral_letter", "Referral letter"),
    ("consent_form", "Consent form"),
    ("id_insurance", "ID / insurance"),
    ("bone_marrow_report", "Bone-marrow report"),
    ("flow_cytometry", "Flow cytometry"),
    ("cytogenetics", "Cytogenetics / molecular"),
    ("blood_counts", "Blood counts"),
)
_CHECKLISTS: dict[str, tuple[tuple[str, str], ...]] = {
    "breast": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", "with ER/PR/HER2 status"),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "lung": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
        ("molecular_report", "EGFR, ALK, PD-L1"),
    ),
    "colorectal": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
        ("molecular_report", "RAS/BRAF, MSI status"),
    ),
    "prostate": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", "with Gleason grade"),
        ("imaging_report", ""),
        ("blood_tests", "PSA history"),
        ("treatment_plan", ""),
    ),
    "pancreatic": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "gastric": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "liver": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "ovarian": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "cervical_uterine": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "bladder_kidney": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "head_neck": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "brain": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "melanoma": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
        ("molecular_report", "BRAF status"),
    ),
    "sarcoma": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "thyroid": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "acute_leukaemia": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("bone_marrow_report", ""),
        ("flow_cytometry", ""),
        ("cytogenetics", ""),
        ("blood_counts", ""),
        ("treatment_plan", ""),
    ),
    "chronic_leukaemia": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("bone_marrow_report", ""),
        ("flow_cytometry", ""),
        ("cytogenetics", ""),
        ("blood_counts", ""),
        ("treatment_plan", ""),
    ),
    "lymphoma": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
        ("blood_counts", ""),
    ),
    "myeloma": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("bone_marrow_report", ""),
        ("blood_tests", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "paediatric": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
    "other": (
        ("referral_letter", ""),
        ("consent_form", ""),
        ("pathology_report", ""),
        ("imaging_report", ""),
        ("treatment_plan", ""),
    ),
}


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("text_state", sa.String(length=20), nullable=False),
        sa.Column("text_note", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_blobs"),
        sa.UniqueConstraint("sha256", name="uq_blobs_sha256"),
    )
    op.create_index("ix_blobs_text_state", "blobs", ["text_state"])

    op.create_table(
        "document_types",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_document_types"),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "blob_texts",
        sa.Column("blob_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"], ["blobs.id"], name="fk_blob_texts_blob_id_blobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("blob_id", name="pk_blob_texts"),
    )
    op.create_table(
        "checklist_items",
        sa.Column("cancer_type", sa.String(length=40), nullable=False),
        sa.Column("document_type", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_type"],
            ["document_types.code"],
            name="fk_checklist_items_document_type_document_types",
        ),
        sa.PrimaryKeyConstraint("cancer_type", "document_type", name="pk_checklist_items"),
    )
    op.create_table(
        "case_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("document_type", sa.String(length=40), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("status_at", UTCDateTime(), nullable=False),
        sa.Column("status_by", sa.String(length=100), nullable=False),
        sa.Column("chased_at", UTCDateTime(), nullable=True),
        sa.Column("chase_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name="fk_case_documents_case_id_cases",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_type"],
            ["document_types.code"],
            name="fk_case_documents_document_type_document_types",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_documents"),
        sa.UniqueConstraint("case_id", "document_type", name="uq_case_documents_case_type"),
    )
    op.create_index("ix_case_documents_document_type", "case_documents", ["document_type"])
    op.create_index("ix_case_documents_status", "case_documents", ["status"])

    op.create_table(
        "case_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_document_id", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.Column("removed_by", sa.String(length=100), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["blob_id"], ["blobs.id"], name="fk_case_files_blob_id_blobs"),
        sa.ForeignKeyConstraint(
            ["case_document_id"],
            ["case_documents.id"],
            name="fk_case_files_case_document_id_case_documents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_files"),
    )
    op.create_index("ix_case_files_blob_id", "case_files", ["blob_id"])
    op.create_index("ix_case_files_case_document_id", "case_files", ["case_document_id"])

    op.create_table(
        "document_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_document_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_document_id"],
            ["case_documents.id"],
            name="fk_document_events_case_document_id_case_documents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_document_events"),
    )
    op.create_index("ix_document_events_case_document_id", "document_events", ["case_document_id"])

    # Plain ALTER TABLE: a batch copy would drop the expression index on cases.
    op.add_column(
        "cases", sa.Column("missing_documents", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("referrers", sa.Column("phone", sa.String(60), server_default="", nullable=False))
    op.add_column(
        "referrers", sa.Column("email", sa.String(200), server_default="", nullable=False)
    )
    _seed_document_types()
    # FTS5 tables cannot gain a column: rebuild with "documents" (PDF text), keeping every row.
    op.execute(
        f"CREATE VIRTUAL TABLE case_search_new USING fts5({_FTS_COLUMNS}, documents, {_TOKENIZER})"
    )
    op.execute(
        f"INSERT INTO case_search_new (rowid, {_FTS_COLUMNS}, documents) "
        f"SELECT rowid, {_FTS_COLUMNS}, '' FROM case_search"
    )
    op.execute("DROP TABLE case_search")
    op.execute("ALTER TABLE case_search_new RENAME TO case_search")


def _seed_document_types() -> None:
    """The shipped defaults; existing cases get no documents (nothing is requested silently)."""
    types = sa.table(
        "document_types",
        sa.column("code", sa.String),
        sa.column("label", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(
        types,
        [
            {"code": code, "label": label, "active": True, "position": index}
            for index, (code, label) in enumerate(_DOCUMENT_TYPES)
        ],
    )
    items = sa.table(
        "checklist_items",
        sa.column("cancer_type", sa.String),
        sa.column("document_type", sa.String),
        sa.column("note", sa.String),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(
        items,
        [
            {
                "cancer_type": cancer_type,
                "document_type": document_type,
                "note": note,
                "position": index,
            }
            for cancer_type, checklist in _CHECKLISTS.items()
            for index, (document_type, note) in enumerate(checklist)
        ],
    )


def downgrade() -> None:
    op.execute(f"CREATE VIRTUAL TABLE case_search_old USING fts5({_FTS_COLUMNS}, {_TOKENIZER})")
    op.execute(
        f"INSERT INTO case_search_old (rowid, {_FTS_COLUMNS}) "
        f"SELECT rowid, {_FTS_COLUMNS} FROM case_search"
    )
    op.execute("DROP TABLE case_search")
    op.execute("ALTER TABLE case_search_old RENAME TO case_search")
    op.drop_column("referrers", "email")
    op.drop_column("referrers", "phone")
    op.drop_column("cases", "missing_documents")
    for table in (
        "document_events",
        "case_files",
        "case_documents",
        "checklist_items",
        "blob_texts",
        "settings",
        "document_types",
        "blobs",
    ):
        op.drop_table(table)
