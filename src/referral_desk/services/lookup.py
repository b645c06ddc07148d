"""Find a case by the reference people say and type (RD-2026-00042)."""

from __future__ import annotations

from sqlalchemy import select

from referral_desk.db.engine import Database
from referral_desk.db.models import Case
from referral_desk.services.errors import NotFoundError


def case_id_for_reference(db: Database, reference: str) -> int:
    """The id of the case with this reference; case and surrounding spaces do not matter."""
    wanted = reference.strip().upper()
    if not wanted:
        raise NotFoundError("Give a case reference, e.g. RD-2026-00042.")
    with db.read() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == wanted))
    if case_id is None:
        raise NotFoundError(f"There is no case {reference.strip()}.")
    return case_id
