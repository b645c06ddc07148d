"""Letter rules: which letters a case can have, the careful concordance wording, templates."""

from __future__ import annotations

import pytest

from referral_desk.domain.letters import (
    PLACEHOLDERS,
    FilledSection,
    LetterFacts,
    LetterKind,
    TemplateError,
    check_parts,
    concordance_sentence,
    fill_body,
    fill_line,
    fill_text,
    parse_body,
    parse_line,
    unavailable_reason,
)
from referral_desk.domain.specialists import Concordance as C

READY = LetterFacts(
    has_opinion=True,
    has_referrer=True,
    referrer_consent=True,
    missing_documents=2,
    estimate_lines=1,
)


def test_every_kind_has_a_label_and_placeholders() -> None:
    assert [k.label for k in LetterKind] == [
        "Patient summary letter",
        "Referring doctor's copy",
        "Records request",
        "Cost estimate",
    ]
    assert all("patient_name" in PLACEHOLDERS[k] for k in LetterKind)
    assert "referrer_notes" in PLACEHOLDERS[LetterKind.REFERRER]
    assert "referrer_notes" not in PLACEHOLDERS[LetterKind.SUMMARY]  # clinical notes: doctors


@pytest.mark.parametrize(
    ("kind", "change", "reason"),
    [
        (LetterKind.SUMMARY, {"has_opinion": False}, "No opinion recorded yet."),
        (LetterKind.REFERRER, {"has_opinion": False}, "No opinion recorded yet."),
        (LetterKind.REFERRER, {"has_referrer": False}, "The case has no referring doctor."),
        (
            LetterKind.REFERRER,
            {"referrer_consent": False},
            "The patient has not agreed to share the opinion with the referring doctor.",
        ),
        (
            LetterKind.RECORDS_REQUEST,
            {"has_referrer": False},
            "The case has no referring doctor or hospital to ask.",
        ),
        (
            LetterKind.RECORDS_REQUEST,
            {"missing_documents": 0},
            "No required documents are missing.",
        ),
        (
            LetterKind.ESTIMATE,
            {"estimate_lines": 0},
            "The case has no estimated costs to quote (none recorded, or all declined).",
        ),
    ],
)
def test_a_letter_the_case_cannot_have_says_why(
    kind: LetterKind, change: dict[str, object], reason: str
) -> None:
    assert unavailable_reason(kind, READY) is None
    facts = LetterFacts(**{**READY.__dict__, **change})  # type: ignore[arg-type]
    assert unavailable_reason(kind, facts) == reason


def test_records_and_estimates_need_no_opinion() -> None:
    facts = LetterFacts(**{**READY.__dict__, "has_opinion": False})  # type: ignore[arg-type]
    assert unavailable_reason(LetterKind.RECORDS_REQUEST, facts) is None
    assert unavailable_reason(LetterKind.ESTIMATE, facts) is None


def test_the_concordance_is_said_with_care() -> None:
    assert concordance_sentence(C.CONFIRMED, C.CONFIRMED) == (
        "The specialist confirms both your diagnosis and the treatment your first doctor proposed."
    )
    minor = concordance_sentence(C.CONFIRMED, C.MINOR_CHANGE)
    assert minor.startswith("The specialist confirms your diagnosis. ")
    assert "suggests some changes to the treatment your first doctor proposed" in minor
    major = concordance_sentence(C.MAJOR_CHANGE, C.MAJOR_CHANGE)
    assert major == (
        "The specialist suggests a different approach to both your diagnosis and the treatment "
        "your first doctor proposed — please discuss this with your doctor before changing "
        "anything."
    )
    assert "different approach to your diagnosis" in concordance_sentence(
        C.MAJOR_CHANGE, C.NOT_ASSESSED
    )
    assert "did not compare" in concordance_sentence(C.NOT_ASSESSED, C.NOT_ASSESSED)
    for d in C:
        for t in C:
            sentence = concordance_sentence(d, t)
            assert sentence and "wrong" not in sentence and "error" not in sentence
            if C.MAJOR_CHANGE in (d, t):
                assert "before changing anything" in sentence


def test_a_body_becomes_sections_headings_paragraphs_and_bullets() -> None:
    body = (
        "Dear reader.\n"
        "Second line of the same paragraph.\n"
        "\n"
        "## What you asked us\n"
        "{patient_questions}\n"
        "\n"
        "- talk to your doctor\n"
        "- quote {reference}\n"
        "After the list.\n"
    )
    sections = fill_body(
        parse_body(body, LetterKind.SUMMARY),
        {"patient_questions": "Is chemotherapy needed?", "reference": "RD-2026-00042"},
    )
    assert sections == (
        FilledSection("", ("Dear reader.\nSecond line of the same paragraph.",)),
        FilledSection(
            "What you asked us",
            ("Is chemotherapy needed?",),
            ("talk to your doctor", "quote RD-2026-00042"),
        ),
        FilledSection("", ("After the list.",)),
    )


def test_a_line_whose_placeholders_are_all_empty_is_left_out() -> None:
    body = (
        "## What your first doctor said\n"
        "Diagnosis: {first_diagnosis}\n"
        "Treatment: {proposed_treatment}\n"
        "\n"
        "## What you asked us\n"
        "{patient_questions}\n"
    )
    values = {"first_diagnosis": "", "proposed_treatment": "Surgery", "patient_questions": "  "}
    sections = fill_body(parse_body(body, LetterKind.SUMMARY), values)
    # The empty question leaves its section out, heading and all.
    assert sections == (FilledSection("What your first doctor said", ("Treatment: Surgery",)),)


def test_values_go_in_literally_never_read_as_template_syntax() -> None:
    body = "{patient_questions}\n\n- {recommendation}"
    tricky = "What about {patient_name}? <b>bold</b> & {{x}}\n## not a heading\n- not a bullet"
    sections = fill_body(
        parse_body(body, LetterKind.SUMMARY),
        {"patient_questions": tricky, "recommendation": "{reference}", "patient_name": "X"},
    )
    assert sections[0].paragraphs == (tricky,)
    assert sections[0].bullets == ("{reference}",)


def test_double_braces_print_braces() -> None:
    assert fill_text("Use {{braces}} for {reference}", LetterKind.SUMMARY, {"reference": "R"}) == (
        "Use {braces} for R"
    )


def test_a_value_with_blank_lines_reads_as_several_paragraphs() -> None:
    sections = fill_body(
        parse_body("{opinion_summary}", LetterKind.SUMMARY),
        {"opinion_summary": "First part.\n\n\nSecond part."},
    )
    assert sections[0].paragraphs == ("First part.", "Second part.")


def test_lists_and_the_table_take_their_place() -> None:
    body = "We still need:\n{missing_documents}\nThank you.\n"
    sections = fill_body(
        parse_body(body, LetterKind.RECORDS_REQUEST),
        {},
        {"missing_documents": ["Pathology report: with HER2 status", "Imaging report"]},
    )
    assert sections == (
        FilledSection(
            "", ("We still need:",), ("Pathology report: with HER2 status", "Imaging report")
        ),
        FilledSection("", ("Thank you.",)),
    )
    estimate = fill_body(
        parse_body(
            "## Costs\nBelow.\n{estimate_table}\nTotal: {estimate_total}", LetterKind.ESTIMATE
        ),
        {"estimate_total": "€ 10.00"},
    )
    assert estimate == (
        FilledSection("Costs", ("Below.",), table=True),
        FilledSection("", ("Total: € 10.00",)),
    )


def test_an_unknown_placeholder_is_refused_with_the_known_ones() -> None:
    with pytest.raises(TemplateError) as raised:
        parse_body("Hello\n\nDear {patient_nam},", LetterKind.SUMMARY)
    message = str(raised.value)
    assert message.startswith("Unknown placeholder {patient_nam} on line 3.")
    assert "{patient_name}" in message and "{recommendation}" in message
    assert "{estimate_total}" not in message  # only this kind's


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("A { lone brace", "A lone '{' on line 1"),
        ("closing } only", "A lone '}' on line 1"),
        ("empty {} here", "Unknown placeholder {} on line 1"),
        ("inline {missing_documents} list", "{missing_documents} must be alone on its own line"),
        ("{estimate_table}", "{estimate_table} is not available in a records request"),
        ("{missing_documents}\n{missing_documents}\n", None),
    ],
)
def test_template_problems_are_named(body: str, expected: str | None) -> None:
    if expected is None:
        parse_body(body, LetterKind.RECORDS_REQUEST)
        return
    with pytest.raises(TemplateError, match=expected.replace("{", r"\{").replace("}", r"\}")):
        parse_body(body, LetterKind.RECORDS_REQUEST)


def test_the_table_appears_once() -> None:
    with pytest.raises(TemplateError, match="only once"):
        parse_body("{estimate_table}\n\n{estimate_table}", LetterKind.ESTIMATE)


def test_check_parts_reports_each_part() -> None:
    parts = {
        "title": "",
        "salutation": "Dear {nobody},",
        "body": "   ",
        "closing": "Regards",
        "disclaimer": "",
    }
    errors = check_parts(LetterKind.SUMMARY, parts)
    assert set(errors) == {"title", "salutation", "body", "disclaimer"}
    assert errors["salutation"].startswith("Unknown placeholder {nobody}.")
    assert errors["body"] == "The body is empty: write what the letter says."
    assert "does not replace" in errors["disclaimer"]
    # Only the patient's summary must carry the disclaimer.
    assert "disclaimer" not in check_parts(LetterKind.RECORDS_REQUEST, parts)
    assert check_parts(LetterKind.SUMMARY, {**parts, "body": "x" * 20_001})["body"].startswith(
        "This is 20,001 characters"
    )


def test_a_value_ending_in_a_full_stop_before_the_templates_own_is_not_doubled() -> None:
    line = parse_line("Given by {specialist}.", {"specialist": "who gave the opinion"})
    assert fill_line(line, {"specialist": "Jonas Bergström, Prof. Dr. med."}) == (
        "Given by Jonas Bergström, Prof. Dr. med."
    )
    assert fill_line(line, {"specialist": "Dr Ana Lima"}) == "Given by Dr Ana Lima."
