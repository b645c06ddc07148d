"""The wording of each kind of letter: versioned templates the administrator edits.

Saving never changes a version: it adds the next one, so every archived letter can still say
which wording it was printed with. The syntax is described in domain/letters.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import LetterTemplate
from referral_desk.domain import letters as rules
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.letters import LetterKind
from referral_desk.services.acting import acting
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError


@dataclass(frozen=True)
class TemplateDraft:
    title: str
    salutation: str
    body: str
    closing: str
    disclaimer: str


@dataclass(frozen=True)
class TemplateInfo:
    kind: LetterKind
    version: int
    draft: TemplateDraft
    created_at: datetime
    created_by: str


# Placeholder name -> what it holds, per kind (for the editor's list).
PLACEHOLDERS: dict[LetterKind, dict[str, str]] = rules.PLACEHOLDERS
SYNTAX_HELP = (
    "Leave a blank line between paragraphs. A line starting with '## ' is a heading, a line "
    "starting with '- ' is a bullet. {name} puts in the case's value; write {{ or }} for a "
    "brace. A line whose placeholders are all empty is left out."
)


def _info(row: LetterTemplate) -> TemplateInfo:
    return TemplateInfo(
        kind=LetterKind(row.kind),
        version=row.version,
        draft=TemplateDraft(row.title, row.salutation, row.body, row.closing, row.disclaimer),
        created_at=row.created_at,
        created_by=row.created_by,
    )


def current_row(session: Session, kind: LetterKind) -> LetterTemplate:
    row = session.scalars(
        select(LetterTemplate)
        .where(LetterTemplate.kind == kind.value)
        .order_by(LetterTemplate.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFoundError(f"There is no template for the {kind.label.lower()}.")
    return row


def current_template(db: Database, kind: LetterKind) -> TemplateInfo:
    with db.read() as session:
        return _info(current_row(session, kind))


def template_version(db: Database, kind: LetterKind, version: int) -> TemplateInfo:
    with db.read() as session:
        row = session.scalars(
            select(LetterTemplate).where(
                LetterTemplate.kind == kind.value, LetterTemplate.version == version
            )
        ).first()
        if row is None:
            raise NotFoundError(f"The {kind.label.lower()} has no template version {version}.")
        return _info(row)


def template_versions(db: Database, kind: LetterKind) -> list[TemplateInfo]:
    """Every version, newest first."""
    with db.read() as session:
        rows = session.scalars(
            select(LetterTemplate)
            .where(LetterTemplate.kind == kind.value)
            .order_by(LetterTemplate.version.desc())
        )
        return [_info(row) for row in rows]


def check_template(kind: LetterKind, draft: TemplateDraft) -> dict[str, str]:
    """Problems by field name (title, salutation, body, closing, disclaimer); empty when fine."""
    return rules.check_parts(kind, asdict(draft))


def save_template(
    db: Database,
    kind: LetterKind,
    draft: TemplateDraft,
    *,
    actor: Actor,
    expected_version: int,
    now: datetime | None = None,
) -> int:
    """Save as a new version (returned). Refused with ValidationError when the template has a
    problem, with ConflictError when someone saved a newer version since it was opened."""
    errors = check_template(kind, draft)
    if errors:
        raise ValidationError(errors)
    tidy = TemplateDraft(
        title=draft.title.strip(),
        salutation=draft.salutation.strip(),
        body=draft.body.strip("\n").replace("\r\n", "\n"),
        closing=draft.closing.strip(),
        disclaimer=draft.disclaimer.strip(),
    )
    with acting(db, actor, Permission.LETTERS, "change a letter template") as session:
        latest = (
            session.scalar(
                select(func.max(LetterTemplate.version)).where(LetterTemplate.kind == kind.value)
            )
            or 0
        )
        if latest != expected_version:
            raise ConflictError(
                f"Someone saved version {latest} of the {kind.label.lower()} template since you "
                "opened it. Reopen the template to see their wording; yours was not saved."
            )
        current = current_row(session, kind) if latest else None
        if current is not None and _info(current).draft == tidy:
            return latest  # nothing changed: no new version
        session.add(
            LetterTemplate(
                kind=kind.value,
                version=latest + 1,
                created_at=now or datetime.now(UTC),
                created_by=actor.name,
                **asdict(tidy),
            )
        )
        session.commit()
    return latest + 1


def preview(
    db: Database,
    kind: LetterKind,
    draft: TemplateDraft,
    *,
    case_id: int | None = None,
    large_print: bool = False,
    now: datetime | None = None,
    locale: str | None = None,
) -> bytes:
    """The draft as a PDF, for the case or (None) a made-up sample case. Refused with
    ValidationError while the draft has a problem."""
    from referral_desk.services import letters  # letters uses this module's templates

    errors = check_template(kind, draft)
    if errors:
        raise ValidationError(errors)
    return letters.render_preview(
        db, kind, draft, case_id=case_id, large_print=large_print, now=now, locale=locale
    )
