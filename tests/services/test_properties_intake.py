"""Property-based checks of intake and case edits on a real SQLite file.

Whatever staff type (any text, any date), a case is either taken in and reads back as typed
(trimmed, as the service documents), or refused with a message naming the field; nothing
crashes, and a refusal leaves every table and the audit trail exactly as they were.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import fields, replace
from datetime import UTC, date, timedelta
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from referral_desk.db.engine import Database
from referral_desk.domain.enums import CANCER_TYPES, Reason, Sex, Urgency
from referral_desk.domain.intake import (
    MAX_AGE_YEARS,
    CaseDraft,
    DateInputError,
    PatientDraft,
    parse_user_date,
)
from referral_desk.domain.text import fold
from referral_desk.services import cases
from referral_desk.services.errors import ConflictError, ServiceError, ValidationError
from tests.conftest import NOW, admin, case, patient

TODAY = NOW.date()  # the office's day (UTC here), 23 Nov 2026
EXAMPLES = 2000
D = TypeVar("D", PatientDraft, CaseDraft)
T = TypeVar("T")
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# For the rules alone (no database): as many examples, as reproducible.
PURE = settings(PROPERTY, suppress_health_check=[HealthCheck.too_slow])


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of the strategies, chosen in proportion to its weight (st.one_of is not uniform
    over strategies of different kinds, and merges equal ones)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda n: table[n])


TRICKY = st.sampled_from(
    [
        "", " ", "\t", "\n", "\r\n", "\x00", "\x7f", "\x85", "\u00a0", "\u200b", "\u200e",
        "\u200f", "\u202e", "\u2066", "\u2028", "\ufeff", "\ufffd", "'", '"', "%", "_", "\\",
        "/", "..", ";", "--", "*", "Zoë", "Müller", "王", "芳", "محمد", "שלום", "Ωμέγα",
        "\U0001f600", "e\u0301", "ﬁ", "ß", "İ", "NULL", "' OR 1=1 --", '"*" AND', "<b>", "${x}",
    ]
)  # fmt: skip
# Half of a UTF-16 pair: what a command line that is not UTF-8 decodes to.
BROKEN = st.sampled_from(["\udcfc", "\ud83d", "M\udcfcller", "\udfff\ud800"])
TEXT = weighted(
    (3, st.text(max_size=30)),  # any code point but lone surrogates: controls, marks, emoji...
    (2, st.lists(TRICKY, max_size=6).map("".join)),
    # Long: a pasted report, cheaply made.
    (1, st.builds(operator.mul, st.text(min_size=1, max_size=3), st.integers(100, 4000))),
)
NAME = weighted(
    (3, TEXT),
    (1, st.sampled_from(["Müller", "García López", "王", "Nguyễn", "O'Brien", "Ødegård", "محمد"])),
)
EMAIL = weighted(
    (3, st.just("")),
    (2, st.sampled_from(["zoe@example.org", " ines.navarro@hospital.es ", "a@b.c"])),
    (1, TEXT),
)
WILD_DATE = st.dates()  # year 1 to 9999
PLAUSIBLE_BIRTH = st.dates(date(TODAY.year - MAX_AGE_YEARS, 1, 1), TODAY)
BIRTH_DATE = weighted(
    (3, PLAUSIBLE_BIRTH),
    (1, st.none()),
    (1, WILD_DATE),
    (
        1,
        st.sampled_from(
            [
                TODAY,
                TODAY + timedelta(days=1),
                date(TODAY.year - MAX_AGE_YEARS, 1, 1),
                date(TODAY.year - MAX_AGE_YEARS - 1, 12, 31),
            ]
        ),
    ),
)
TREATMENT_START = weighted(
    (3, st.none()),
    (3, st.dates(TODAY - timedelta(days=30), TODAY + timedelta(days=120))),
    (1, st.sampled_from([TODAY, TODAY - timedelta(days=1), date.max])),
    (1, WILD_DATE),
)
CANCER_TYPE = weighted((7, st.sampled_from(sorted(CANCER_TYPES))), (1, TEXT))


def _sometimes_broken(drafts: st.SearchStrategy[D], names: list[str]) -> st.SearchStrategy[D]:
    """One text in about ten drafts gets a broken character."""
    breakage = weighted((15, st.none()), (1, st.tuples(st.sampled_from(names), BROKEN)))

    def apply(draft: D, broken: tuple[str, str] | None) -> D:
        if broken is None:
            return draft
        name, character = broken
        return replace(draft, **{name: getattr(draft, name) + character})  # type: ignore[type-var]

    return st.builds(apply, drafts, breakage)


PATIENTS = _sometimes_broken(
    st.builds(
        PatientDraft,
        given_names=NAME,
        family_name=NAME,
        birth_date=BIRTH_DATE,
        sex=st.sampled_from(Sex),
        phone=TEXT,
        email=EMAIL,
        address=TEXT,
        preferred_language=TEXT,
        consent_share_with_referrer=st.booleans(),
    ),
    ["given_names", "family_name", "phone", "email", "address", "preferred_language"],
)
CASES = _sometimes_broken(
    st.builds(
        CaseDraft,
        cancer_type=CANCER_TYPE,
        diagnosis=TEXT,
        stage=TEXT,
        referrer_name=weighted(
            (3, TEXT), (1, st.sampled_from(["Dr. Inés Navarro", " DR.  INES navarro"]))
        ),
        reasons=st.frozensets(st.sampled_from(Reason)),
        patient_questions=TEXT,
        first_diagnosis=TEXT,
        proposed_treatment=TEXT,
        treatment_start=TREATMENT_START,
        urgency=st.sampled_from(Urgency),
    ),
    [
        "cancer_type",
        "diagnosis",
        "stage",
        "referrer_name",
        "patient_questions",
        "first_diagnosis",
        "proposed_treatment",
    ],
)

PATIENT_FIELDS = {f.name for f in fields(PatientDraft)}
CASE_FIELDS = {f.name for f in fields(CaseDraft)}


def table_names(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")))


def snapshot(db: Database, tables: list[str]) -> tuple[object, ...]:
    """Row counts of every table, the audit trail's head and the reference counters."""
    counts = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    with db.read() as session:
        return (
            {name: n for name, n in session.execute(text(counts))},
            [tuple(row) for row in session.execute(text("SELECT * FROM audit_head"))],
            [tuple(row) for row in session.execute(text("SELECT * FROM reference_counters"))],
        )


def _trimmed_patient(draft: PatientDraft) -> PatientDraft:
    """What the service documents it stores: every text trimmed, the rest as given."""
    return replace(
        draft,
        given_names=draft.given_names.strip(),
        family_name=draft.family_name.strip(),
        phone=draft.phone.strip(),
        email=draft.email.strip(),
        address=draft.address.strip(),
        preferred_language=draft.preferred_language.strip(),
    )


def _trimmed_case(draft: CaseDraft) -> CaseDraft:
    """Texts trimmed; the referrer's name with its spaces collapsed (checked apart: a name
    that folds like a known referrer's is that referrer)."""
    return replace(
        draft,
        diagnosis=draft.diagnosis.strip(),
        stage=draft.stage.strip(),
        referrer_name="",
        patient_questions=draft.patient_questions.strip(),
        first_diagnosis=draft.first_diagnosis.strip(),
        proposed_treatment=draft.proposed_treatment.strip(),
    )


def _assert_refusal_names_fields(exc: ServiceError) -> None:
    """A refusal for what was typed: each problem under the field it is about, in words."""
    assert isinstance(exc, ValidationError), f"{type(exc).__name__}: {exc}"
    assert exc.errors, "a validation refusal names at least one field"
    assert set(exc.errors) <= PATIENT_FIELDS | CASE_FIELDS, exc.errors
    assert all(message.strip() for message in exc.errors.values())
    assert str(exc).strip()


def _assert_reads_back(
    db: Database, case_id: int, patient_draft: PatientDraft | None, case_draft: CaseDraft
) -> cases.CaseDetail:
    detail = cases.get_case(db, case_id, now=NOW, local_zone=UTC)
    if patient_draft is not None:
        assert detail.patient == _trimmed_patient(patient_draft)
    assert replace(detail.case, referrer_name="") == _trimmed_case(case_draft)
    typed_referrer = " ".join(case_draft.referrer_name.split())
    assert fold(detail.case.referrer_name) == fold(typed_referrer)
    return detail


def _assert_accepted_draft_is_valid(
    patient_draft: PatientDraft | None, case_draft: CaseDraft, received: date
) -> None:
    """What the rules promise about anything that was saved."""
    assert case_draft.cancer_type in CANCER_TYPES
    assert case_draft.treatment_start is None or case_draft.treatment_start >= received
    if patient_draft is not None:
        assert patient_draft.family_name.strip()
        assert patient_draft.birth_date is not None
        assert TODAY.year - MAX_AGE_YEARS <= patient_draft.birth_date.year
        assert patient_draft.birth_date <= TODAY


def test_any_intake_is_taken_in_and_reads_back_or_refused_with_nothing_saved(
    db: Database,
) -> None:
    tables = table_names(db)
    outcomes: Counter[str] = Counter()
    # What the database holds now: refreshed after each saved case, checked after a refusal.
    state = {"snapshot": snapshot(db, tables)}

    @PROPERTY
    @given(patient_draft=PATIENTS, case_draft=CASES)
    def intake(patient_draft: PatientDraft, case_draft: CaseDraft) -> None:
        before = state["snapshot"]
        try:
            created = cases.create_case(
                db, case_draft, patient=patient_draft, actor=admin(), now=NOW, local_zone=UTC
            )
        except ServiceError as exc:
            outcomes["refused"] += 1
            _assert_refusal_names_fields(exc)
            assert snapshot(db, tables) == before, "a refused intake changed the database"
            return
        outcomes["accepted"] += 1
        _assert_accepted_draft_is_valid(patient_draft, case_draft, TODAY)
        detail = _assert_reads_back(db, created.id, patient_draft, case_draft)
        assert detail.reference == created.reference
        after = state["snapshot"] = snapshot(db, tables)
        assert after[0]["cases"] == before[0]["cases"] + 1  # type: ignore[index]
        assert after[0]["patients"] == before[0]["patients"] + 1  # type: ignore[index]
        assert after[1] != before[1], "a case taken in is in the audit trail"

    intake()
    # Both ways were really taken, many times.
    assert outcomes["accepted"] >= EXAMPLES // 8, outcomes
    assert outcomes["refused"] >= EXAMPLES // 5, outcomes


def test_any_edit_of_a_case_is_saved_and_reads_back_or_refused_with_the_case_unchanged(
    db: Database,
) -> None:
    tables = table_names(db)
    received = NOW - timedelta(days=3)
    case_id = cases.create_case(
        db, case(treatment_start=None), patient=patient(), actor=admin(), now=received
    ).id
    outcomes: Counter[str] = Counter()
    # The case as its editor opened it, and the database then: refreshed after each save.
    state = {
        "opened": cases.get_case(db, case_id, now=NOW, local_zone=UTC),
        "snapshot": snapshot(db, tables),
    }

    @PROPERTY
    @given(
        patient_draft=weighted((1, st.none()), (3, PATIENTS)),
        case_draft=CASES,
        stale=weighted((9, st.just(False)), (1, st.just(True))),
    )
    def edit(patient_draft: PatientDraft | None, case_draft: CaseDraft, stale: bool) -> None:
        opened, before = state["opened"], state["snapshot"]
        assert isinstance(opened, cases.CaseDetail)
        try:
            version = cases.update_case(
                db,
                case_id,
                expected_version=opened.version - 1 if stale else opened.version,
                patient=patient_draft,
                case=case_draft,
                actor=admin(),
                expected_patient_version=opened.patient_version,
                now=NOW,
                local_zone=UTC,
            )
        except ServiceError as exc:
            if stale:  # said before anything typed is looked at
                outcomes["conflict"] += 1
                assert isinstance(exc, ConflictError), f"{type(exc).__name__}: {exc}"
                assert "your edits were not saved" in str(exc)
            else:
                outcomes["refused"] += 1
                _assert_refusal_names_fields(exc)
            assert snapshot(db, tables) == before, "a refused edit changed the database"
            assert cases.get_case(db, case_id, now=NOW, local_zone=UTC) == opened
            return
        outcomes["accepted"] += 1
        assert not stale, "an edit from a stale version was saved over someone else's"
        _assert_accepted_draft_is_valid(patient_draft, case_draft, received.date())
        detail = state["opened"] = _assert_reads_back(db, case_id, patient_draft, case_draft)
        state["snapshot"] = snapshot(db, tables)
        assert detail.version == version
        if patient_draft is None:
            assert detail.patient == opened.patient

    edit()
    assert outcomes["accepted"] >= EXAMPLES // 8, outcomes
    assert outcomes["refused"] >= EXAMPLES // 5, outcomes
    assert outcomes["conflict"] >= EXAMPLES // 50, outcomes


@PURE
@given(typed=st.one_of(TEXT, BROKEN, st.from_regex(r"\s*\d{1,5}[-./]\d{1,3}[-./]\d{1,5}\s*")))
def test_any_typed_date_is_read_as_a_real_date_or_refused_with_a_message(typed: str) -> None:
    try:
        parsed = parse_user_date(typed)
    except DateInputError as exc:
        assert str(exc).strip()
        return
    if parsed is None:
        assert not typed.strip()
        return
    # The date reads back from both ways the office writes dates.
    assert parse_user_date(parsed.isoformat()) == parsed
    assert parse_user_date(f"{parsed.day:02d}.{parsed.month:02d}.{parsed.year:04d}") == parsed


@PURE
@given(day=WILD_DATE)
def test_every_calendar_date_reads_back_from_what_the_office_writes(day: date) -> None:
    assert parse_user_date(f"{day.year:04d}-{day.month}-{day.day}") == day
    assert parse_user_date(f" {day.day}/{day.month:02d}/{day.year:04d} ") == day


# Found by the properties above: text decoded wrongly (a command line that is not UTF-8 gives
# "M\udcfcller" for a Latin-1 "Müller") crashed the save instead of being refused.


def test_a_name_with_a_broken_character_is_refused_naming_the_field(db: Database) -> None:
    tables = table_names(db)
    before = snapshot(db, tables)
    with pytest.raises(ValidationError) as refused:
        cases.create_case(
            db,
            case(diagnosis="Carcinoma \udcfc"),
            patient=patient(family_name="M\udcfcller"),
            actor=admin(),
            now=NOW,
        )
    assert set(refused.value.errors) == {"family_name", "diagnosis"}
    assert "family name contains a broken character" in refused.value.errors["family_name"]
    assert snapshot(db, tables) == before
