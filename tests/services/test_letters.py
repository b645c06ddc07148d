"""Letters for a case: what each kind says, the archive, reprints, sending, and the batch.

Real SQLite files; the PDFs are read back with pypdf, as a reader's program would.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from referral_desk.db.engine import Database
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.letters import LetterKind as K
from referral_desk.domain.specialists import Concordance as C
from referral_desk.domain.specialists import Discipline
from referral_desk.services import (
    cases,
    costs,
    documents,
    letter_templates,
    letters,
    office,
    opinions,
    specialists,
)
from referral_desk.services.costs import LineDraft
from referral_desk.services.errors import ConflictError, NotFoundError, ValidationError
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from tests.conftest import NOW, admin, case, patient

HOUR = timedelta(hours=1)
LATER = NOW + 30 * HOUR  # when the letters are made
ADDRESS = "Seestrasse 12\n8002 Zürich"


def _text(pdf: bytes) -> str:
    """The letter's words on one line each run, as a search would see them."""
    words = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return " ".join(words.replace("\xa0", " ").replace("\u202f", " ").split())


def _specialist(db: Database) -> int:
    return specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Ana Lima",
            Discipline.MEDICAL_ONCOLOGY,
            50,
            title="MD PhD, medical oncologist",
            cancer_types=frozenset({"breast"}),
        ),
        now=NOW,
        actor=admin(),
    )


def _new_case(db: Database, **patient_changes: object) -> int:
    values: dict[str, object] = {"address": ADDRESS, "consent_share_with_referrer": True}
    values.update(patient_changes)
    return cases.create_case(
        db, case(), patient=patient(**values), actor=admin("maria"), now=NOW
    ).id


def _answered(
    db: Database,
    specialist_id: int,
    *,
    summary: str = "The diagnosis is right. Hormone therapy alone is enough.",
    concordance: tuple[C, C] = (C.CONFIRMED, C.MINOR_CHANGE),
    **patient_changes: object,
) -> int:
    """A breast case whose opinion came back: Opinion received, ready for its letter."""
    case_id = _new_case(db, **patient_changes)
    for d in documents.case_records(db, case_id).documents:
        documents.set_document_status(
            db, d.id, DocumentStatus.RECEIVED, actor=admin("maria"), now=NOW + HOUR
        )
    specialists.assign(
        db, case_id, specialist_id, actor=admin("ines"), now=NOW + 2 * HOUR, local_zone=UTC
    )
    opinions.record_opinion(
        db,
        case_id,
        OpinionDraft(
            patient_summary=summary,
            recommendation="Skip chemotherapy; start hormone therapy after surgery.",
            diagnosis_concordance=concordance[0],
            treatment_concordance=concordance[1],
            received_at=NOW + 20 * HOUR,
            referrer_notes="Oncotype DX recurrence score 11; endocrine therapy alone.",
        ),
        actor=admin("ines"),
        now=NOW + 26 * HOUR,
    )
    assert cases.get_case(db, case_id, now=LATER).status is S.OPINION_RECEIVED
    return case_id


@pytest.fixture
def ana(db: Database) -> int:
    return _specialist(db)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder for the files the letters are written to."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def answered(db: Database, ana: int) -> int:
    return _answered(db, ana)


def _generate(db: Database, case_id: int, kind: K, **kwargs: object) -> letters.LetterInfo:
    options: dict[str, object] = {
        "actor": admin("ines"),
        "now": LATER,
        "locale": "en_GB",
        "local_zone": UTC,  # the letter's date is the office's day
    }
    options.update(kwargs)
    return letters.generate(db, case_id, kind, **options)  # type: ignore[arg-type]


def _count(db: Database, table: str) -> int:
    with sqlite3.connect(db.path) as conn:
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    conn.close()
    return int(count)


# --- What each letter says ------------------------------------------------------------------


def test_the_summary_letter_tells_the_patient_what_the_specialist_found(
    db: Database, answered: int
) -> None:
    office.set_office_details(
        db,
        office.OfficeDetails(
            "Zürich Second Opinion Office",
            address="Bahnhofstrasse 1\n8001 Zürich",
            phone="+41 44 000 00 00",
            email="office@example.ch",
            signatory_name="Ines Navarro",
            signatory_title="Patient coordinator",
        ),
        actor=admin(),
    )
    info = _generate(db, answered, K.SUMMARY)
    text = _text(letters.letter_bytes(db, info.id))
    reference = cases.get_case(db, answered, now=LATER).reference
    for expected in (
        "Zürich Second Opinion Office",
        "Bahnhofstrasse 1",
        "+41 44 000 00 00",
        "Zoë Müller",
        "Seestrasse 12",
        "8002 Zürich",
        "24 November 2026",  # the date it was made (LATER), long form in the locale
        f"Our reference: {reference}",
        "Dear Zoë Müller,",
        "Is chemotherapy really needed?",  # the question asked
        "Invasive ductal carcinoma",  # what the first physician found
        "AC-T chemotherapy",  # and proposed
        "The diagnosis is right. Hormone therapy alone is enough.",
        "Skip chemotherapy; start hormone therapy after surgery.",
        "The specialist confirms your diagnosis.",
        "suggests some changes to the treatment your first doctor proposed",
        "do not stop, start or change any treatment on your own",
        "by phone on +41 44 000 00 00 or by e-mail at office@example.ch",
        "Dr. Ana Lima, MD PhD, medical oncologist",
        "Ines Navarro",
        "does not replace the care of the doctor who treats you",
        "call your local emergency number",
        "Page 1 of",
    ):
        assert expected in text, expected
    # The clinical notes are for the referring doctor only.
    assert "Oncotype" not in text
    assert info.kind is K.SUMMARY and info.template_version == 1 and info.pages >= 1
    reader = PdfReader(BytesIO(letters.letter_bytes(db, info.id)))
    assert reader.metadata is not None and reader.metadata.title == "Your second opinion"
    assert reader.metadata.author == "Zürich Second Opinion Office"


def test_a_different_approach_is_said_with_care(db: Database, ana: int) -> None:
    case_id = _answered(db, ana, concordance=(C.MAJOR_CHANGE, C.MAJOR_CHANGE))
    text = _text(letters.letter_bytes(db, _generate(db, case_id, K.SUMMARY).id))
    assert (
        "suggests a different approach to both your diagnosis and the treatment your first "
        "doctor proposed — please discuss this with your doctor before changing anything"
    ) in text


def test_the_referring_doctors_copy_has_the_detailed_notes(db: Database, answered: int) -> None:
    text = _text(letters.letter_bytes(db, _generate(db, answered, K.REFERRER).id))
    for expected in (
        "Dr. Inés Navarro, Hospital del Mar",  # addressed to the referrer
        "Dear Dr. Inés Navarro, Hospital del Mar,",
        "With the consent of your patient Zoë Müller (born 12 April 1968)",
        "Oncotype DX recurrence score 11; endocrine therapy alone.",
        "Skip chemotherapy; start hormone therapy after surgery.",
        "Agreement with the initial diagnosis: Confirmed",
        "Agreement with the proposed treatment: Minor change",
        "Stage: IIA",
    ):
        assert expected in text, expected
    assert "Seestrasse" not in text  # the patient's address is not the recipient here


def test_the_referrers_copy_needs_the_patients_consent(db: Database, ana: int) -> None:
    case_id = _answered(db, ana, consent_share_with_referrer=False)
    reason = "The patient has not agreed to share the opinion with the referring doctor."
    assert letters.available_kinds(db, case_id)[K.REFERRER] == reason
    with pytest.raises(ValidationError, match="has not agreed") as raised:
        _generate(db, case_id, K.REFERRER)
    assert set(raised.value.errors) == {"kind"}
    assert letters.list_letters(db, case_id) == []


def test_the_records_request_lists_what_is_missing(db: Database) -> None:
    case_id = _new_case(db)
    records = documents.case_records(db, case_id)
    received = next(d for d in records.documents if d.label == "Referral letter")
    documents.set_document_status(
        db, received.id, DocumentStatus.RECEIVED, actor=admin("a"), now=NOW
    )
    assert letters.available_kinds(db, case_id) == {
        K.SUMMARY: "No opinion recorded yet.",
        K.REFERRER: "No opinion recorded yet.",
        K.RECORDS_REQUEST: None,
        K.ESTIMATE: "The case has no estimated costs to quote (none recorded, or all declined).",
    }
    office.set_office_details(
        db, office.OfficeDetails("Office", email="records@example.org"), actor=admin()
    )
    info = _generate(db, case_id, K.RECORDS_REQUEST)
    text = _text(letters.letter_bytes(db, info.id))
    reference = records.reference
    missing = [d for d in documents.case_records(db, case_id).missing]
    assert len(missing) == 4
    for d in missing:
        assert d.label in text
    assert "Pathology report: with ER/PR/HER2 status" in text  # with what exactly is needed
    assert "Referral letter" not in text
    assert f"quote our reference {reference}" in text
    assert "By e-mail: records@example.org" in text
    assert "By post" not in text  # no address given: the line is left out
    assert "Dear Dr. Inés Navarro, Hospital del Mar," in text


def test_no_records_request_without_a_referrer_or_anything_missing(db: Database) -> None:
    no_referrer = cases.create_case(
        db, case(referrer_name=""), patient=patient(), actor=admin("a"), now=NOW
    ).id
    assert letters.available_kinds(db, no_referrer)[K.RECORDS_REQUEST] == (
        "The case has no referring doctor or hospital to ask."
    )
    complete = _new_case(db)
    for d in documents.case_records(db, complete).documents:
        documents.set_document_status(
            db, d.id, DocumentStatus.WAIVED, reason="x", actor=admin("a"), now=NOW
        )
    assert letters.available_kinds(db, complete)[K.RECORDS_REQUEST] == (
        "No required documents are missing."
    )


def test_the_cost_estimate_shows_the_lines_and_total_in_the_readers_format(db: Database) -> None:
    office.set_currency(db, "EUR", actor=admin())
    case_id = _new_case(db)
    now = NOW + HOUR
    costs.add_line(
        db, case_id, LineDraft("Second opinion consultation", 1, 45_000), actor=admin("a"), now=now
    )
    costs.add_line(
        db, case_id, LineDraft("Translation of records", 2, 6_050), actor=admin("a"), now=now
    )
    test = LineDraft("PET-CT scan", 1, 120_000, needs_approval=True)
    costs.add_line(db, case_id, test, actor=admin("a"), now=now)
    declined = LineDraft("Bone scan", 1, 80_000, needs_approval=True)
    costs.add_line(db, case_id, declined, actor=admin("a"), now=now)
    bone = next(
        line
        for line in costs.case_costs(db, case_id).lines
        if line.draft.description == "Bone scan"
    )
    costs.answer_approval(
        db, bone.id, approved=False, on=now.date(), actor=admin("a"), now=now, local_zone=UTC
    )
    charged = costs.add_line(
        db,
        case_id,
        LineDraft("Courier", 1, 3_000, kind=costs.LineKind.FINAL),
        actor=admin("a"),
        now=now,
    )
    assert charged.case_version

    info = _generate(db, case_id, K.ESTIMATE, locale="de_DE")
    text = _text(letters.letter_bytes(db, info.id))
    for expected in (
        "Second opinion consultation",
        "450,00 €",
        "Translation of records",
        "60,50 €",
        "121,00 €",  # 2 x 60,50
        "PET-CT scan (needs your approval)",
        "1.200,00 €",
        "Estimated total",
        "1.771,00 €",
        "The estimated total is 1.771,00 €.",
        "One test needs your approval before we arrange it: PET-CT scan (1.200,00 €).",
        "24. November 2026",  # the date in the same locale
    ):
        assert expected in text, expected
    assert "Bone scan" not in text  # declined: not quoted
    assert "Courier" not in text  # charged, not an estimate
    # The same letter in English figures.
    english = _text(letters.letter_bytes(db, _generate(db, case_id, K.ESTIMATE, locale="en_US").id))
    assert "€1,771.00" in english and "November 24, 2026" in english


def test_the_default_locale_is_the_computers(
    db: Database, answered: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(office, "system_locale", lambda: "fr_FR")
    doc = letters.compose(db, answered, K.SUMMARY, now=LATER, local_zone=UTC)
    assert doc.date_text == "24 novembre 2026"
    assert doc.created_at == LATER and doc.language == "en"


def test_user_text_prints_literally(db: Database, ana: int) -> None:
    tricky = "Is {patient_name} <b>bold</b> & <i>safe</i>? Use {{braces}} ## no heading"
    case_id = _new_case(db)
    cases_draft = cases.get_case(db, case_id, now=NOW)
    assert cases_draft.reference
    with sqlite3.connect(db.path) as conn:  # as if typed at intake
        conn.execute("UPDATE cases SET patient_questions = ? WHERE id = ?", (tricky, case_id))
    conn.close()
    for d in documents.case_records(db, case_id).documents:
        documents.set_document_status(
            db, d.id, DocumentStatus.RECEIVED, actor=admin("a"), now=NOW + HOUR
        )
    specialists.assign(db, case_id, ana, actor=admin("ines"), now=NOW + 2 * HOUR, local_zone=UTC)
    opinions.record_opinion(
        db,
        case_id,
        OpinionDraft(
            "Summary with <script>alert(1)</script> & {reference}",
            "Recommend A < B > C",
            C.CONFIRMED,
            C.CONFIRMED,
            NOW + 20 * HOUR,
        ),
        actor=admin("ines"),
        now=NOW + 26 * HOUR,
    )
    doc = letters.compose(db, case_id, K.SUMMARY, now=LATER, locale="en_GB")
    paragraphs = [p for s in doc.sections for p in s.paragraphs]
    assert tricky in paragraphs
    assert "Summary with <script>alert(1)</script> & {reference}" in paragraphs
    text = _text(letters.letter_bytes(db, _generate(db, case_id, K.SUMMARY).id))
    assert tricky in text
    assert "Summary with <script>alert(1)</script> & {reference}" in text
    assert "Recommend A < B > C" in text


# --- Archive and reprint --------------------------------------------------------------------


def test_a_reprint_is_the_identical_file(db: Database, answered: int, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    info = _generate(db, answered, K.SUMMARY)
    stored = letters.letter_bytes(db, info.id)
    assert hashlib.sha256(stored).hexdigest() == info.sha256 and len(stored) == info.size
    # Made again from the same case at the same moment: the same bytes (deterministic).
    again = _generate(db, answered, K.SUMMARY)
    assert again.sha256 == info.sha256 and again.id != info.id
    # Changes after printing do not change the archived letter.
    office.set_office_details(db, office.OfficeDetails("A new name"), actor=admin())
    assert letters.letter_bytes(db, info.id) == stored
    assert _generate(db, answered, K.SUMMARY).sha256 != info.sha256

    target = letters.save_copy(db, info.id, folder / "copy.pdf", actor=admin())
    assert target.read_bytes() == stored
    assert [p.name for p in folder.iterdir()] == ["copy.pdf"]  # no temporary file left
    viewed = letters.export_for_viewing(db, info.id, tmp_path / "view", actor=admin())
    assert viewed.read_bytes() == stored and viewed.suffix == ".pdf"
    assert viewed.name == f"{info.reference} summary {info.id}.pdf"
    assert (
        letters.export_for_viewing(db, info.id, tmp_path / "view", actor=admin()) != viewed
    )  # fresh folder


def test_the_letters_of_a_case_are_listed_newest_first(db: Database, answered: int) -> None:
    first = _generate(db, answered, K.SUMMARY)
    second = _generate(db, answered, K.REFERRER, large_print=True, now=LATER + HOUR)
    listed = letters.list_letters(db, answered)
    assert [i.id for i in listed] == [second.id, first.id]
    assert listed[0].large_print and not listed[1].large_print
    assert listed[0].created_at == LATER + HOUR and listed[0].created_by == "ines"
    assert listed[0].sent_at is None and listed[0].sent_by is None
    assert letters.letter_info(db, first.id) == first


def test_large_print_is_bigger(db: Database, answered: int) -> None:
    normal = _generate(db, answered, K.SUMMARY)
    large = _generate(db, answered, K.SUMMARY, large_print=True)
    assert large.large_print and large.pages >= normal.pages

    def first_page(info: letters.LetterInfo) -> str:
        return PdfReader(BytesIO(letters.letter_bytes(db, info.id))).pages[0].extract_text()

    # Bigger letters: less of the letter fits on the first page.
    assert len(first_page(large)) < 0.8 * len(first_page(normal))
    assert "Skip chemotherapy; start hormone therapy after surgery." in _text(
        letters.letter_bytes(db, large.id)
    )


def test_a_damaged_archive_copy_is_reported_not_printed(db: Database, answered: int) -> None:
    info = _generate(db, answered, K.SUMMARY)
    with sqlite3.connect(db.path) as conn:
        conn.execute("UPDATE letters SET content = ? WHERE id = ?", (b"%PDF-broken", info.id))
    conn.close()
    with pytest.raises(letters.ServiceError, match="damaged"):
        letters.letter_bytes(db, info.id)


def test_unknown_letters_and_cases_are_named(db: Database) -> None:
    with pytest.raises(NotFoundError, match=r"There is no letter number 99\."):
        letters.letter_bytes(db, 99)
    with pytest.raises(NotFoundError, match=r"There is no case number 42\."):
        letters.available_kinds(db, 42)


# --- Templates: letters remember theirs -----------------------------------------------------


def test_a_letter_remembers_the_template_version_it_used(db: Database, answered: int) -> None:
    old = _generate(db, answered, K.SUMMARY)
    current = letter_templates.current_template(db, K.SUMMARY)
    draft = letter_templates.TemplateDraft(
        **{**current.draft.__dict__, "closing": "Warm wishes from all of us,"}
    )
    version = letter_templates.save_template(
        db, K.SUMMARY, draft, actor=admin("admin"), expected_version=current.version, now=LATER
    )
    assert version == 2
    new = _generate(db, answered, K.SUMMARY)
    assert (old.template_version, new.template_version) == (1, 2)
    assert "Warm wishes from all of us," in _text(letters.letter_bytes(db, new.id))
    assert "Warm wishes" not in _text(letters.letter_bytes(db, old.id))


def test_a_template_with_an_unknown_placeholder_cannot_be_saved(db: Database) -> None:
    current = letter_templates.current_template(db, K.SUMMARY)
    draft = letter_templates.TemplateDraft(
        **{**current.draft.__dict__, "salutation": "Dear {first_name},"}
    )
    with pytest.raises(ValidationError) as raised:
        letter_templates.save_template(
            db, K.SUMMARY, draft, actor=admin("admin"), expected_version=current.version
        )
    assert raised.value.errors["salutation"].startswith("Unknown placeholder {first_name}.")
    assert letter_templates.current_template(db, K.SUMMARY).version == 1


# --- Sending --------------------------------------------------------------------------------


def test_marking_the_summary_sent_moves_the_case_to_letter_sent(
    db: Database, answered: int
) -> None:
    referrer_copy = _generate(db, answered, K.REFERRER)
    [change] = letters.mark_sent(db, [referrer_copy.id], actor=admin("ines"), now=LATER)
    assert change.moved_to is None  # the referrer's copy alone does not finish the case
    assert cases.get_case(db, answered, now=LATER).status is S.OPINION_RECEIVED

    summary = _generate(db, answered, K.SUMMARY)
    before = cases.get_case(db, answered, now=LATER).version
    [change] = letters.mark_sent(db, [summary.id], actor=admin("ines"), now=LATER + HOUR)
    assert change.moved_to is S.LETTER_SENT and change.version_before == before
    detail = cases.get_case(db, answered, now=LATER + HOUR)
    assert detail.status is S.LETTER_SENT and detail.version == change.case_version
    last = detail.history[-1]
    assert (last.to_status, last.reason, last.actor) == (
        S.LETTER_SENT,
        "Summary letter sent",
        "ines",
    )
    sent = letters.letter_info(db, summary.id)
    assert (sent.sent_at, sent.sent_by) == (LATER + HOUR, "ines")

    # A copy printed again later is recorded as sent; the case stays where it is.
    reprint = _generate(db, answered, K.SUMMARY, now=LATER + 2 * HOUR)
    [change] = letters.mark_sent(db, [reprint.id], actor=admin("ines"), now=LATER + 2 * HOUR)
    assert change.moved_to is None
    with pytest.raises(ValidationError, match="already marked sent"):
        letters.mark_sent(db, [reprint.id], actor=admin("ines"))


def test_marking_sent_is_all_or_nothing(db: Database, ana: int) -> None:
    ready = _answered(db, ana)
    held = _answered(db, ana)
    ready_letter = _generate(db, ready, K.SUMMARY)
    held_letter = _generate(db, held, K.SUMMARY)
    cases.change_status(
        db, held, S.ON_HOLD, reason="Patient travelling", actor=admin("a"), now=LATER
    )
    held_reference = cases.get_case(db, held, now=LATER).reference

    with pytest.raises(ValidationError) as raised:
        letters.mark_sent(db, [ready_letter.id, held_letter.id], actor=admin("ines"), now=LATER)
    message = raised.value.errors["letters"]
    assert f"{held_reference} is on hold" in message and "Nothing was marked sent." in message
    assert cases.get_case(db, ready, now=LATER).status is S.OPINION_RECEIVED
    assert all(i.sent_at is None for c in (ready, held) for i in letters.list_letters(db, c))

    with pytest.raises(NotFoundError):
        letters.mark_sent(db, [ready_letter.id, 999], actor=admin("ines"), now=LATER)
    assert cases.get_case(db, ready, now=LATER).status is S.OPINION_RECEIVED


def test_the_batch_lists_answered_cases_whose_summary_is_not_sent(db: Database, ana: int) -> None:
    first, second, third = (_answered(db, ana) for _ in range(3))
    _new_case(db)  # no opinion yet
    assert letters.batch_cases(db) == [first, second, third]
    letters.mark_sent(db, [_generate(db, second, K.SUMMARY).id], actor=admin("ines"), now=LATER)
    _generate(db, third, K.SUMMARY)  # made but not sent: still in the batch
    assert letters.batch_cases(db) == [first, third]


# --- Batch ----------------------------------------------------------------------------------


def test_a_batch_archives_each_letter_and_writes_one_printable_file(
    db: Database, ana: int, out_dir: Path
) -> None:
    case_ids = [_answered(db, ana) for _ in range(3)]
    seen: list[int] = []
    out = out_dir / "batch.pdf"
    result = letters.generate_batch(
        db, case_ids, K.SUMMARY, out, actor=admin("ines"), progress=seen.append, now=LATER,
        locale="en_GB",
    )  # fmt: skip
    assert not result.cancelled and result.path == out and seen == [1, 2, 3]
    archived = [i for c in case_ids for i in letters.list_letters(db, c)]
    assert sorted(i.id for i in archived) == sorted(result.letter_ids)
    assert all(i.sent_at is None and i.kind is K.SUMMARY for i in archived)
    combined = PdfReader(out)
    assert len(combined.pages) == result.pages == sum(i.pages for i in archived)
    text = _text(out.read_bytes())
    for info in archived:
        assert info.reference in text
    assert sorted(p.name for p in out_dir.iterdir()) == ["batch.pdf"]
    # Nothing is sent until the coordinator confirms.
    assert all(cases.get_case(db, c, now=LATER).status is S.OPINION_RECEIVED for c in case_ids)
    changes = letters.mark_sent(db, result.letter_ids, actor=admin("ines"), now=LATER)
    assert [c.moved_to for c in changes] == [S.LETTER_SENT] * 3
    assert letters.batch_cases(db) == []


def test_a_cancelled_batch_leaves_no_file_and_moves_no_case(
    db: Database, ana: int, out_dir: Path
) -> None:
    case_ids = [_answered(db, ana) for _ in range(4)]
    done: list[int] = []
    out = out_dir / "batch.pdf"
    result = letters.generate_batch(
        db, case_ids, K.SUMMARY, out, actor=admin("ines"), progress=done.append,
        cancelled=lambda: len(done) >= 2, now=LATER,
    )  # fmt: skip
    assert result.cancelled and result.path is None and result.pages == 0
    assert list(out_dir.iterdir()) == []  # no combined file, no temporary one
    assert all(cases.get_case(db, c, now=LATER).status is S.OPINION_RECEIVED for c in case_ids)
    # The letters made before the cancel stay archived, unsent.
    archived = [i for c in case_ids for i in letters.list_letters(db, c)]
    assert sorted(i.id for i in archived) == sorted(result.letter_ids)
    assert 2 <= len(archived) < 4 and all(i.sent_at is None for i in archived)


def test_a_batch_with_a_case_that_cannot_have_the_letter_makes_nothing(
    db: Database, ana: int, out_dir: Path
) -> None:
    ready = _answered(db, ana)
    unanswered = _new_case(db)
    reference = cases.get_case(db, unanswered, now=NOW).reference
    with pytest.raises(ValidationError, match=f"{reference}: No opinion recorded yet."):
        letters.generate_batch(
            db, [ready, unanswered], K.SUMMARY, out_dir / "b.pdf", actor=admin("a")
        )
    assert _count(db, "letters") == 0 and list(out_dir.iterdir()) == []


def test_an_empty_batch_is_refused(db: Database, out_dir: Path) -> None:
    with pytest.raises(ValidationError, match=r"Choose at least one case\."):
        letters.generate_batch(db, [], K.SUMMARY, out_dir / "b.pdf", actor=admin("a"))


# --- Preview --------------------------------------------------------------------------------


def test_a_draft_is_previewed_on_a_sample_or_a_real_case(db: Database, answered: int) -> None:
    current = letter_templates.current_template(db, K.SUMMARY)
    draft = letter_templates.TemplateDraft(
        **{**current.draft.__dict__, "salutation": "Hello {patient_given_names},"}
    )
    sample = _text(letter_templates.preview(db, K.SUMMARY, draft, now=LATER, locale="en_GB"))
    assert "Hello Maria," in sample
    real = _text(
        letter_templates.preview(db, K.SUMMARY, draft, case_id=answered, now=LATER, locale="en_GB")
    )
    assert "Hello Zoë," in real
    # Nothing is archived and the saved template is unchanged.
    assert letters.list_letters(db, answered) == []
    assert letter_templates.current_template(db, K.SUMMARY).version == 1
    with pytest.raises(ValidationError):
        letter_templates.preview(
            db, K.SUMMARY, letter_templates.TemplateDraft("t", "{x}", "b", "", "d")
        )


def test_a_stale_template_editor_cannot_overwrite_a_newer_version(db: Database) -> None:
    current = letter_templates.current_template(db, K.ESTIMATE)
    mine = letter_templates.TemplateDraft(**{**current.draft.__dict__, "closing": "Mine,"})
    theirs = letter_templates.TemplateDraft(**{**current.draft.__dict__, "closing": "Theirs,"})
    letter_templates.save_template(db, K.ESTIMATE, theirs, actor=admin("b"), expected_version=1)
    with pytest.raises(ConflictError, match="version 2"):
        letter_templates.save_template(db, K.ESTIMATE, mine, actor=admin("a"), expected_version=1)


def test_letters_are_made_when_they_were_asked_for(db: Database, answered: int) -> None:
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    doc = letters.compose(db, answered, K.SUMMARY, now=moment, locale="en_GB", local_zone=UTC)
    assert doc.date_text == "31 December 2026" and doc.created_at == moment
