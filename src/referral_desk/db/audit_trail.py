"""Every create, change and delete of the office's records lands in the audit trail, in the
same transaction as the change itself, without each service having to remember it.

Mapper events collect what changed (field, old value, new value) while SQLAlchemy flushes;
the session's after_flush writes the entries, sealed into the hash chain, on the same
connection. A write session that changes an audited record must say who is acting
(`session.info[ACTOR]`), or the flush fails: no change without an author.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Row, event, insert, inspect, select, update
from sqlalchemy.orm import Mapper, Session, object_session

from referral_desk.db import models as m
from referral_desk.domain.audit import GENESIS, AuditAction, AuditEntry, seal

ACTOR = "audit_actor"  # session.info key: the name of whoever is acting
_PENDING = "audit_pending"
_CASE_PATIENTS = "audit_case_patients"


class MissingActorError(RuntimeError):
    """An audited record changed in a session that did not say who is acting."""


# Bookkeeping that every record carries, and values derived from others: never audited.
_ALWAYS_SKIPPED = frozenset(
    {"version", "created_at", "created_by", "updated_at", "updated_by", "name_folded"}
)

Owner = Callable[[Any, Connection, Session], tuple[int | None, int | None]]


@dataclass(frozen=True)
class Audited:
    entity: str  # how the trail names it
    owner: Owner  # (case_id, patient_id) the record belongs to
    skipped: frozenset[str] = frozenset()
    hidden: frozenset[str] = frozenset()  # audited as "changed", never by value


def _no_owner(_record: Any, _connection: Connection, _session: Session) -> tuple[None, None]:
    return None, None


def _patient(record: m.Patient, _c: Connection, _s: Session) -> tuple[None, int]:
    return None, record.id


def _case(record: m.Case, _c: Connection, session: Session) -> tuple[int, int]:
    session.info.setdefault(_CASE_PATIENTS, {})[record.id] = record.patient_id
    return record.id, record.patient_id


def _of_case(record: Any, connection: Connection, session: Session) -> tuple[int, int | None]:
    return record.case_id, _patient_of(record.case_id, connection, session)


def _of_document(
    record: m.CaseFile, connection: Connection, session: Session
) -> tuple[int | None, int | None]:
    case_id = connection.execute(
        select(m.CaseDocument.case_id).where(m.CaseDocument.id == record.case_document_id)
    ).scalar()
    if case_id is None:
        return None, None
    return case_id, _patient_of(case_id, connection, session)


def _patient_of(case_id: int, connection: Connection, session: Session) -> int | None:
    known: dict[int, int | None] = session.info.setdefault(_CASE_PATIENTS, {})
    if case_id not in known:
        known[case_id] = connection.execute(
            select(m.Case.patient_id).where(m.Case.id == case_id)
        ).scalar()
    return known[case_id]


AUDITED: dict[type[m.Base], Audited] = {
    m.Patient: Audited("patient", _patient),
    m.Referrer: Audited("referrer", _no_owner),
    m.Case: Audited(
        "case",
        _case,
        # Kept by the services from other records (clock, documents, costs, assignments):
        # the records they come from are audited themselves.
        frozenset(
            {
                "held_from",
                "records_complete_at",
                "opinion_at",
                "hold_since",
                "paused_seconds",
                "due_at",
                "clock_sort",
                "missing_documents",
                "specialist_id",
                "major_change",
                "charges_minor",
                "estimate_minor",
                "balance_minor",
                "awaiting_approval",
            }
        ),
    ),
    m.CaseReason: Audited("case reason", _of_case),
    m.CaseDocument: Audited("document", _of_case, frozenset({"status_at", "status_by"})),
    m.CaseFile: Audited("file", _of_document),
    m.Assignment: Audited("assignment", _of_case),
    m.Opinion: Audited("opinion", _of_case),
    m.CostLineRecord: Audited("cost line", _of_case),
    m.Payment: Audited("payment", _of_case),
    m.Letter: Audited("letter", _of_case, frozenset({"content"})),
    m.LetterTemplate: Audited("letter template", _no_owner),
    m.OfficeAsset: Audited("office image", _no_owner, frozenset({"content"})),
    m.Setting: Audited("setting", _no_owner),
    m.DocumentType: Audited("document type", _no_owner),
    m.ChecklistItem: Audited("checklist item", _no_owner),
    m.FeeService: Audited("fee", _no_owner),
    m.Specialist: Audited("specialist", _no_owner),
    m.SpecialistCancerType: Audited("specialist cancer type", _no_owner),
    m.SpecialistAbsence: Audited("specialist absence", _no_owner),
    m.User: Audited(
        "user",
        _no_owner,
        # Sign-in bookkeeping: sign-ins and failures have entries of their own.
        frozenset({"failed_attempts", "last_failed_at", "locked_until", "last_sign_in_at"}),
        hidden=frozenset({"password_hash"}),
    ),
}

# Histories, derived data and the trail itself.
NOT_AUDITED: frozenset[type[m.Base]] = frozenset(
    {
        m.ReferenceCounter,
        m.StatusChange,
        m.DocumentEvent,
        m.CostEvent,
        m.Blob,
        m.BlobText,
        m.AuditRecord,
        m.AuditHead,
    }
)


def value_text(value: Any) -> str:
    """A stored value as the trail shows it: stable across locales and Python versions."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _fields(mapper: Mapper[Any], config: Audited) -> Iterable[str]:
    keys = {column.key for column in mapper.primary_key}  # already the entry's entity_id
    for attr in mapper.column_attrs:
        if (
            attr.key not in _ALWAYS_SKIPPED
            and attr.key not in config.skipped
            and attr.key not in keys
        ):
            yield attr.key


def _snapshot(
    record: Any, mapper: Mapper[Any], config: Audited, *, created: bool
) -> dict[str, tuple[str, str]]:
    changes: dict[str, tuple[str, str]] = {}
    state = inspect(record)
    for key in _fields(mapper, config):
        if key in state.unloaded:
            continue
        text = value_text(state.attrs[key].value)
        if key in config.hidden:
            changes[key] = ("", "set") if created else ("set", "")
        elif text:
            changes[key] = ("", text) if created else (text, "")
    return changes


def _differences(record: Any, mapper: Mapper[Any], config: Audited) -> dict[str, tuple[str, str]]:
    changes: dict[str, tuple[str, str]] = {}
    state = inspect(record)
    for key in _fields(mapper, config):
        history = state.attrs[key].history
        if not history.added and not history.deleted:
            continue
        old = value_text(history.deleted[0]) if history.deleted else ""
        new = value_text(history.added[0]) if history.added else ""
        if old == new:
            continue
        changes[key] = ("set", "changed") if key in config.hidden else (old, new)
    return changes


def _collect(action: AuditAction, record: Any, connection: Connection) -> None:
    config = AUDITED.get(type(record))
    if config is None:
        return
    session = object_session(record)
    if session is None:  # pragma: no cover - a mapper event always has one
        return
    mapper = inspect(record).mapper
    if action is AuditAction.CHANGE:
        changes = _differences(record, mapper, config)
        if not changes:
            return
    else:
        changes = _snapshot(record, mapper, config, created=action is AuditAction.CREATE)
    actor = session.info.get(ACTOR)
    if not actor:
        raise MissingActorError(
            f"A {config.entity} was changed without saying who did it; "
            "services open write sessions through services.acting."
        )
    case_id, patient_id = config.owner(record, connection, session)
    key = "/".join(value_text(v) for v in mapper.primary_key_from_instance(record))
    session.info.setdefault(_PENDING, []).append(
        AuditEntry(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            entity=config.entity,
            entity_id=key,
            case_id=case_id,
            patient_id=patient_id,
            changes=changes,
        )
    )


def _after_insert(_mapper: Mapper[Any], connection: Connection, record: Any) -> None:
    _collect(AuditAction.CREATE, record, connection)


def _after_update(_mapper: Mapper[Any], connection: Connection, record: Any) -> None:
    _collect(AuditAction.CHANGE, record, connection)


def _after_delete(_mapper: Mapper[Any], connection: Connection, record: Any) -> None:
    _collect(AuditAction.DELETE, record, connection)


def _after_flush(session: Session, _context: Any) -> None:
    pending: list[AuditEntry] = session.info.pop(_PENDING, [])
    if pending:
        append(session.connection(), pending)


def _forget(session: Session, *_args: Any) -> None:
    # A rolled-back flush must not leave its entries to be written by the next one.
    session.info.pop(_PENDING, None)
    session.info.pop(_CASE_PATIENTS, None)


def changes_json(changes: Mapping[str, tuple[str, str]]) -> str:
    if not changes:
        return ""
    return json.dumps(
        {k: list(v) for k, v in sorted(changes.items())}, ensure_ascii=False, sort_keys=True
    )


def changes_from_json(text: str) -> dict[str, tuple[str, str]]:
    if not text:
        return {}
    return {k: (v[0], v[1]) for k, v in json.loads(text).items()}


def append(connection: Connection, entries: Sequence[AuditEntry]) -> None:
    """Seal `entries` onto the end of the chain. Runs inside the caller's write transaction,
    which holds SQLite's write lock, so two writers can never both extend the same hash."""
    previous = connection.execute(select(m.AuditHead.last_hash).where(m.AuditHead.id == 1)).scalar()
    if previous is None:  # pragma: no cover - the migration writes the head row
        previous = GENESIS
    rows = []
    for entry in entries:
        sealed = seal(entry, previous)
        rows.append(
            {
                "at": entry.at,
                "actor": entry.actor,
                "action": entry.action.value,
                "entity": entry.entity,
                "entity_id": entry.entity_id,
                "case_id": entry.case_id,
                "patient_id": entry.patient_id,
                "changes": changes_json(entry.changes),
                "detail": entry.detail,
                "previous_hash": previous,
                "hash": sealed,
            }
        )
        previous = sealed
    connection.execute(insert(m.AuditRecord), rows)
    connection.execute(
        update(m.AuditHead)
        .where(m.AuditHead.id == 1)
        .values(entries=m.AuditHead.entries + len(rows), last_hash=previous)
    )


def entry_of(record: m.AuditRecord | Row[Any]) -> AuditEntry:
    """A stored row back as the entry that was sealed, for verifying."""
    return AuditEntry(
        at=record.at,
        actor=record.actor,
        action=AuditAction(record.action),
        entity=record.entity,
        entity_id=record.entity_id,
        case_id=record.case_id,
        patient_id=record.patient_id,
        changes=changes_from_json(record.changes),
        detail=record.detail,
    )


def _install() -> None:
    for model in AUDITED:
        event.listen(model, "after_insert", _after_insert)
        event.listen(model, "after_update", _after_update)
        event.listen(model, "after_delete", _after_delete)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_rollback", _forget)
    event.listen(Session, "after_commit", _forget)


_install()
