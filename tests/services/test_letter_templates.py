"""Letter templates: seeded wording, versions, checks and previews. Real SQLite files."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO

import pytest
from pypdf import PdfReader

from referral_desk.db.engine import Database
from referral_desk.domain.letters import LetterKind as K
from referral_desk.services import letter_templates
from referral_desk.services.errors import ConflictError, ValidationError
from referral_desk.services.letter_templates import PLACEHOLDERS
from tests.conftest import admin

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _text(pdf: bytes) -> str:
    words = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return " ".join(words.replace("\xa0", " ").split())


@pytest.mark.parametrize("kind", list(K))
def test_every_kind_starts_with_a_usable_version_1(db: Database, kind: K) -> None:
    template = letter_templates.current_template(db, kind)
    assert template.kind is kind and template.version == 1
    assert template.created_by == "Referral Desk"
    assert letter_templates.check_template(kind, template.draft) == {}
    assert [t.version for t in letter_templates.template_versions(db, kind)] == [1]
    # Every placeholder the editor lists can be used in this kind's templates.
    body = "\n".join(
        f"{{{name}}}" if name in ("missing_documents", "estimate_table") else f"x {{{name}}}"
        for name in PLACEHOLDERS[kind]
    )
    assert letter_templates.check_template(kind, replace(template.draft, body=body)) == {}


def test_the_patients_letter_is_written_with_care(db: Database) -> None:
    draft = letter_templates.current_template(db, K.SUMMARY).draft
    for needed in (
        "{patient_questions}",
        "{proposed_treatment}",
        "{opinion_summary}",
        "{recommendation}",
        "{concordance}",
        "{specialist}",
        "talk about this letter with the doctor who treats you",
        "do not stop, start or change any treatment on your own",
        "{office_contact}",
    ):
        assert needed in draft.body, needed
    assert "does not replace" in draft.disclaimer and "emergency" in draft.disclaimer
    assert "{referrer_notes}" not in draft.body
    # Plain words: sentences a twelve-year-old can read.
    sentences = [s for s in re.split(r"[.?!]\s+|\n", draft.body) if s.strip()]
    assert max(len(s.split()) for s in sentences) <= 20


def test_the_other_kinds_carry_their_content(db: Database) -> None:
    referrer = letter_templates.current_template(db, K.REFERRER).draft
    assert "{referrer_notes}" in referrer.body and "{recommendation}" in referrer.body
    request = letter_templates.current_template(db, K.RECORDS_REQUEST).draft
    assert "{missing_documents}" in request.body and "{reference}" in request.body
    estimate = letter_templates.current_template(db, K.ESTIMATE).draft
    for needed in ("{estimate_table}", "{estimate_total}", "{approval_note}", "approve"):
        assert needed in estimate.body


def test_saving_makes_a_new_version_and_keeps_the_old_one(db: Database) -> None:
    first = letter_templates.current_template(db, K.SUMMARY)
    changed = replace(first.draft, closing="Warm regards,")
    assert (
        letter_templates.save_template(
            db, K.SUMMARY, changed, actor=admin("admin"), expected_version=1, now=NOW
        )
        == 2
    )
    versions = letter_templates.template_versions(db, K.SUMMARY)
    assert [(v.version, v.draft.closing) for v in versions] == [
        (2, "Warm regards,"),
        (1, "With kind regards,"),
    ]
    assert (versions[0].created_at, versions[0].created_by) == (NOW, "admin")
    assert letter_templates.template_version(db, K.SUMMARY, 1).draft == first.draft
    # Other kinds are untouched.
    assert letter_templates.current_template(db, K.ESTIMATE).version == 1


def test_saving_without_a_change_makes_no_new_version(db: Database) -> None:
    current = letter_templates.current_template(db, K.ESTIMATE)
    padded = replace(current.draft, closing=f"  {current.draft.closing}  \n")
    assert (
        letter_templates.save_template(db, K.ESTIMATE, padded, actor=admin("a"), expected_version=1)
        == 1
    )
    assert len(letter_templates.template_versions(db, K.ESTIMATE)) == 1


def test_someone_elses_newer_version_is_not_overwritten(db: Database) -> None:
    current = letter_templates.current_template(db, K.REFERRER)
    letter_templates.save_template(
        db,
        K.REFERRER,
        replace(current.draft, closing="Theirs,"),
        actor=admin("b"),
        expected_version=1,
    )
    with pytest.raises(ConflictError, match="Someone saved version 2"):
        letter_templates.save_template(
            db,
            K.REFERRER,
            replace(current.draft, closing="Mine,"),
            actor=admin("a"),
            expected_version=1,
        )
    assert letter_templates.current_template(db, K.REFERRER).draft.closing == "Theirs,"


def test_a_broken_template_is_refused_naming_the_problem(db: Database) -> None:
    current = letter_templates.current_template(db, K.RECORDS_REQUEST)
    broken = replace(
        current.draft,
        title="",
        body=current.draft.body + "\n\nCall {office_fax}.",
        closing="Regards {",
    )
    errors = letter_templates.check_template(K.RECORDS_REQUEST, broken)
    assert set(errors) == {"title", "body", "closing"}
    assert errors["body"].startswith("Unknown placeholder {office_fax} on line ")
    assert "{missing_documents}" in errors["body"]  # the known ones are listed
    assert "write {{ or }}" in errors["closing"]
    with pytest.raises(ValidationError) as raised:
        letter_templates.save_template(
            db, K.RECORDS_REQUEST, broken, actor=admin("a"), expected_version=1
        )
    assert raised.value.errors == errors
    assert letter_templates.current_template(db, K.RECORDS_REQUEST).version == 1


@pytest.mark.parametrize("kind", list(K))
def test_each_kind_previews_on_the_sample_case(db: Database, kind: K) -> None:
    draft = letter_templates.current_template(db, kind).draft
    pdf = letter_templates.preview(db, kind, draft, now=NOW, locale="en_GB")
    text = _text(pdf)
    assert "RD-2026-00042" in text and "24 November 2026" in text
    expected = {
        K.SUMMARY: "The specialist confirms your diagnosis.",
        K.REFERRER: "pT1c pN0",
        K.RECORDS_REQUEST: "Pathology report: with ER/PR/HER2 status",
        K.ESTIMATE: "€3,130.00",
    }[kind]
    assert expected in text
    large = letter_templates.preview(db, kind, draft, now=NOW, locale="en_GB", large_print=True)
    assert large != pdf


def test_a_preview_shows_the_draft_not_the_saved_template(db: Database) -> None:
    draft = replace(
        letter_templates.current_template(db, K.SUMMARY).draft,
        body="Short and {{kind}}: {recommendation}",
    )
    text = _text(letter_templates.preview(db, K.SUMMARY, draft, now=NOW, locale="en_GB"))
    assert "Short and {kind}: An operation first" in text
    assert "What you asked us" not in text
