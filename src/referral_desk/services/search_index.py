"""The FTS5 search index: reference, patient, referrer, diagnosis and PDF text (folded)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from referral_desk.domain.enums import cancer_type_label
from referral_desk.domain.text import fold, search_terms

# Enough for any report's findings; a 500-page scan's text would only bloat the index.
MAX_DOCUMENT_TEXT_CHARS = 1_000_000


def document(
    reference: str,
    patient_name: str,
    referrer: str,
    cancer_type: str,
    diagnosis: str,
    documents: str = "",
) -> dict[str, str]:
    return {
        "reference": reference.lower(),
        "patient": fold(patient_name),
        "referrer": fold(referrer),
        "diagnosis": fold(f"{cancer_type_label(cancer_type)} {diagnosis}"),
        "documents": fold(documents[:MAX_DOCUMENT_TEXT_CHARS]),
    }


def match_expression(query: str) -> str | None:
    """Every typed word as a prefix, all required: 'zoe mul' -> '"zoe"* AND "mul"*'."""
    terms = search_terms(query)
    if not terms:
        return None
    return " AND ".join(f'"{term}"*' for term in terms)


def reindex(session: Session, case_ids: Iterable[int]) -> None:
    """Rewrite the index rows of these cases from what is stored now."""
    ids = list(case_ids)
    if not ids:
        return
    rows = session.execute(
        text(
            "SELECT c.id, c.reference, p.given_names, p.family_name, "
            "coalesce(r.name, ''), c.cancer_type, c.diagnosis "
            "FROM cases c JOIN patients p ON p.id = c.patient_id "
            "LEFT JOIN referrers r ON r.id = c.referrer_id "
            f"WHERE c.id IN ({','.join(str(int(i)) for i in ids)})"
        )
    ).all()
    texts = _document_texts(session, ids)
    session.execute(
        text(f"DELETE FROM case_search WHERE rowid IN ({','.join(str(int(i)) for i in ids)})")
    )
    insert_documents(
        session,
        (
            (
                row[0],
                document(
                    row[1], f"{row[2]} {row[3]}", row[4], row[5], row[6], texts.get(row[0], "")
                ),
            )
            for row in rows
        ),
    )


def _document_texts(session: Session, ids: list[int]) -> dict[int, str]:
    """Text of each case's attached (not removed) PDFs, each distinct file once."""
    rows = session.execute(
        text(
            "SELECT DISTINCT d.case_id, t.blob_id, t.text FROM case_documents d "
            "JOIN case_files f ON f.case_document_id = d.id AND f.removed_at IS NULL "
            "JOIN blob_texts t ON t.blob_id = f.blob_id "
            f"WHERE d.case_id IN ({','.join(str(int(i)) for i in ids)}) "
            "ORDER BY d.case_id, t.blob_id"
        )
    ).all()
    texts: dict[int, list[str]] = {}
    for case_id, _blob_id, body in rows:
        texts.setdefault(case_id, []).append(body)
    return {case_id: "\n".join(parts) for case_id, parts in texts.items()}


def insert_documents(session: Session, docs: Iterable[tuple[int, dict[str, str]]]) -> None:
    params = [{"rowid": case_id, **doc} for case_id, doc in docs]
    if params:
        session.execute(
            text(
                "INSERT INTO case_search (rowid, reference, patient, referrer, diagnosis, "
                "documents) VALUES (:rowid, :reference, :patient, :referrer, :diagnosis, "
                ":documents)"
            ),
            params,
        )
