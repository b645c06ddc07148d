"""The letters the office sends: their kinds, when each can be made, and the template rules.

Pure: no database and no PDF. A template is parsed first and filled afterwards, so a value
goes in literally: a name containing `{patient_name}`, `## ` or `<b>` prints as typed and is
never read as template syntax.

Template body syntax (the editor shows it):
- paragraphs are separated by blank lines; a single line break stays a line break;
- a line "## Heading" starts a section;
- a line "- item" is a bullet;
- `{placeholder}` is replaced by the case's value; `{{` and `}}` print `{` and `}`;
- a line whose placeholders are all empty is left out (so is a section left with nothing);
- `{missing_documents}` alone on a line becomes a bulleted list;
- `{estimate_table}` alone on a line becomes the cost table (once).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from referral_desk.domain.specialists import Concordance


class LetterKind(StrEnum):
    SUMMARY = "summary"
    REFERRER = "referrer"
    RECORDS_REQUEST = "records_request"
    ESTIMATE = "estimate"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    LetterKind.SUMMARY: "Patient summary letter",
    LetterKind.REFERRER: "Referring doctor's copy",
    LetterKind.RECORDS_REQUEST: "Records request",
    LetterKind.ESTIMATE: "Cost estimate",
}


class TemplateError(ValueError):
    """A template the office cannot use, with a message naming the problem."""


# --- What a case offers each kind of letter ---------------------------------------------------

_COMMON = {
    "patient_name": "The patient's full name",
    "patient_given_names": "The patient's given names",
    "patient_family_name": "The patient's family name",
    "reference": "The case reference, e.g. RD-2026-00042",
    "date": "The date of the letter",
    "office_name": "The office's name",
    "office_address": "The office's address, on one line",
    "office_phone": "The office's phone number",
    "office_email": "The office's e-mail address",
    "office_website": "The office's website",
    "office_contact": "How to reach the office, e.g. 'by phone on … or by e-mail at …'",
    "signatory_name": "Who signs the letter",
    "signatory_title": "The signatory's role",
    "cancer_type": "The cancer type",
}
_REFERRER = {
    "referrer_name": "The referring doctor or hospital",
    "patient_birth_date": "The patient's date of birth",
}
_CASE = {
    "patient_questions": "The question the patient asked",
    "diagnosis": "The diagnosis recorded at intake",
    "stage": "The stage recorded at intake",
    "first_diagnosis": "The first physician's diagnosis",
    "proposed_treatment": "The treatment the first physician proposed",
}
_OPINION = {
    "specialist": "The specialist's name and credentials",
    "specialist_name": "The specialist's name",
    "specialist_title": "The specialist's credentials",
    "opinion_summary": "The specialist's summary for the patient, in plain language",
    "recommendation": "The specialist's recommendation",
    "concordance": "A careful sentence: confirms, suggests some changes, or a different approach",
}

PLACEHOLDERS: dict[LetterKind, dict[str, str]] = {
    LetterKind.SUMMARY: {**_COMMON, **_CASE, **_OPINION},
    LetterKind.REFERRER: {
        **_COMMON,
        **_REFERRER,
        **_CASE,
        **_OPINION,
        "referrer_notes": "The specialist's detailed notes for the referring doctor",
        "diagnosis_concordance": "How the opinion compares on the diagnosis, e.g. 'Confirmed'",
        "treatment_concordance": "How the opinion compares on the treatment, e.g. 'Minor change'",
    },
    LetterKind.RECORDS_REQUEST: {
        **_COMMON,
        **_REFERRER,
        "missing_count": "How many required documents are missing",
        "missing_documents": "The missing documents as a list (alone on its line)",
    },
    LetterKind.ESTIMATE: {
        **_COMMON,
        "currency": "The office currency, e.g. EUR",
        "estimate_total": "The estimated total, e.g. '€1,250.00'",
        "approval_note": "Which tests need the patient's approval first (empty when none)",
        "estimate_table": "The cost table (alone on its line)",
    },
}
# Placeholders that stand for a list or a table: alone on their line, never inside text.
BLOCK_PLACEHOLDERS = frozenset({"missing_documents", "estimate_table"})
TABLE_PLACEHOLDER = "estimate_table"


def known_placeholders(kind: LetterKind) -> str:
    return ", ".join(f"{{{name}}}" for name in PLACEHOLDERS[kind])


# --- When a letter can be made ----------------------------------------------------------------


@dataclass(frozen=True)
class LetterFacts:
    """What a case has that the letters need."""

    has_opinion: bool
    has_referrer: bool
    referrer_consent: bool  # the patient agreed to share the opinion with the referrer
    missing_documents: int  # required documents neither received nor waived
    estimate_lines: int  # estimate lines the patient has not declined


def unavailable_reason(kind: LetterKind, facts: LetterFacts) -> str | None:
    """Why this letter cannot be made for the case, or None when it can."""
    if kind in (LetterKind.SUMMARY, LetterKind.REFERRER) and not facts.has_opinion:
        return "No opinion recorded yet."
    if kind is LetterKind.REFERRER:
        if not facts.has_referrer:
            return "The case has no referring doctor."
        if not facts.referrer_consent:
            return "The patient has not agreed to share the opinion with the referring doctor."
    if kind is LetterKind.RECORDS_REQUEST:
        if not facts.has_referrer:
            return "The case has no referring doctor or hospital to ask."
        if not facts.missing_documents:
            return "No required documents are missing."
    if kind is LetterKind.ESTIMATE and not facts.estimate_lines:
        return "The case has no estimated costs to quote (none recorded, or all declined)."
    return None


# --- How the opinion compares, said with care -------------------------------------------------

_DIAGNOSIS = "your diagnosis"
_TREATMENT = "the treatment your first doctor proposed"


def _both(parts: Sequence[str]) -> str:
    return " and ".join(parts) if len(parts) < 2 else f"both {parts[0]} and {parts[1]}"


def concordance_sentence(diagnosis: Concordance, treatment: Concordance) -> str:
    """What the patient reads about agreement with the first opinion.

    Confirmation is said plainly; changes are never alarming, and a different approach always
    comes with the advice to talk to the treating doctor before changing anything.
    """
    by_kind: dict[Concordance, list[str]] = {}
    for value, what in ((diagnosis, _DIAGNOSIS), (treatment, _TREATMENT)):
        by_kind.setdefault(value, []).append(what)
    sentences: list[str] = []
    if Concordance.CONFIRMED in by_kind:
        sentences.append(f"The specialist confirms {_both(by_kind[Concordance.CONFIRMED])}.")
    if Concordance.MINOR_CHANGE in by_kind:
        sentences.append(
            f"The specialist suggests some changes to {_both(by_kind[Concordance.MINOR_CHANGE])}."
            " Your doctor can explain what they mean for you."
        )
    if Concordance.MAJOR_CHANGE in by_kind:
        sentences.append(
            "The specialist suggests a different approach to "
            f"{_both(by_kind[Concordance.MAJOR_CHANGE])} — please discuss this with your doctor "
            "before changing anything."
        )
    if not sentences:
        sentences.append(
            "The specialist did not compare this opinion with your first doctor's. Please go "
            "through it with your doctor."
        )
    return " ".join(sentences)


# --- Templates: parse, check, fill ------------------------------------------------------------


@dataclass(frozen=True)
class Placeholder:
    name: str


Segment = str | Placeholder
Line = tuple[Segment, ...]


@dataclass(frozen=True)
class Block:
    """One piece of a parsed body: a heading, a paragraph (lines), a bullet or a list."""

    kind: str  # "heading" | "paragraph" | "bullet" | "list"
    lines: tuple[Line, ...] = ()
    name: str = ""  # for "list": the block placeholder


@dataclass(frozen=True)
class FilledSection:
    """A heading, its paragraphs, then bullets, then (when `table`) the cost table."""

    heading: str
    paragraphs: tuple[str, ...]
    bullets: tuple[str, ...] = ()
    table: bool = False


_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def parse_line(text: str, known: Mapping[str, str], *, where: str = "") -> Line:
    """Literal text and placeholders; raises TemplateError naming the problem."""
    at = f" {where}" if where else ""
    segments: list[Segment] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
        elif token in ("{", "}"):
            raise TemplateError(
                f"A lone '{token}'{at}: write {{{{ or }}}} to print a brace, or close the "
                "placeholder."
            )
        else:
            name = (match.group(1) or "").strip()
            if name not in known:
                shown = f"{{{name}}}" if name else "{}"
                raise TemplateError(
                    f"Unknown placeholder {shown}{at}. The placeholders are: "
                    + ", ".join(f"{{{n}}}" for n in known)
                    + "."
                )
            if name in BLOCK_PLACEHOLDERS:
                raise TemplateError(f"{{{name}}} must be alone on its own line{at}.")
            if literal:
                segments.append("".join(literal))
                literal = []
            segments.append(Placeholder(name))
    literal.append(text[position:])
    if "".join(literal):
        segments.append("".join(literal))
    return tuple(segments)


def parse_body(text: str, kind: LetterKind) -> tuple[Block, ...]:
    """The body's blocks; raises TemplateError naming the line of the first problem."""
    known = PLACEHOLDERS[kind]
    blocks: list[Block] = []
    paragraph: list[Line] = []

    def end_paragraph() -> None:
        if paragraph:
            blocks.append(Block("paragraph", tuple(paragraph)))
            paragraph.clear()

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        where = f"on line {number}"
        if not line:
            end_paragraph()
            continue
        block_name = line[1:-1].strip() if line.startswith("{") and line.endswith("}") else ""
        if block_name in BLOCK_PLACEHOLDERS and not line.startswith("{{"):
            if block_name not in known:
                raise TemplateError(
                    f"{{{block_name}}} is not available in a {kind.label.lower()} ({where}). "
                    f"The placeholders are: {known_placeholders(kind)}."
                )
            end_paragraph()
            blocks.append(Block("list", name=block_name))
        elif line.startswith("## "):
            end_paragraph()
            heading = parse_line(line[3:].strip(), known, where=where)
            blocks.append(Block("heading", (heading,)))
        elif line.startswith("- "):
            end_paragraph()
            blocks.append(Block("bullet", (parse_line(line[2:].strip(), known, where=where),)))
        else:
            paragraph.append(parse_line(line, known, where=where))
    end_paragraph()
    if sum(b.kind == "list" and b.name == TABLE_PLACEHOLDER for b in blocks) > 1:
        raise TemplateError(f"{{{TABLE_PLACEHOLDER}}} may appear only once.")
    return tuple(blocks)


def fill_line(line: Line, values: Mapping[str, str]) -> str | None:
    """The line with its values in literally, or None when it has placeholders and all are
    empty (the line is left out)."""
    names = [s.name for s in line if isinstance(s, Placeholder)]
    if names and not any(values.get(n, "").strip() for n in names):
        return None
    pieces = [s if isinstance(s, str) else values.get(s.name, "").strip() for s in line]
    for i in range(len(pieces) - 1):
        # "given by {specialist}." with a name ending in "Dr. med." must not print "med.."
        if not isinstance(line[i], str) and pieces[i].endswith(".") and pieces[i + 1][:1] == ".":
            pieces[i] = pieces[i][:-1]
    return "".join(pieces)


def fill_text(text: str, kind: LetterKind, values: Mapping[str, str]) -> str:
    """A one-part text (title, salutation, closing, disclaimer) filled; lines with only empty
    placeholders are left out."""
    known = PLACEHOLDERS[kind]
    out: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        filled = fill_line(parse_line(raw.strip(), known), values)
        if filled is not None:
            out.append(filled)
    return "\n".join(out).strip()


_BLANK_LINES = re.compile(r"\n\s*\n")


def fill_body(
    blocks: Sequence[Block],
    values: Mapping[str, str],
    lists: Mapping[str, Sequence[str]] | None = None,
) -> tuple[FilledSection, ...]:
    """Sections for the renderer, in reading order: a section's bullets follow its paragraphs
    and its table follows its bullets, so text after a list or the table starts a new section
    with no heading."""
    lists = lists or {}
    sections: list[FilledSection] = []
    heading = ""
    paragraphs: list[str] = []
    bullets: list[str] = []

    def close(table: bool = False) -> None:
        nonlocal heading
        if paragraphs or bullets or table:
            sections.append(FilledSection(heading, tuple(paragraphs), tuple(bullets), table))
        heading = ""
        paragraphs.clear()
        bullets.clear()

    for block in blocks:
        if block.kind == "heading":
            close()
            heading = fill_line(block.lines[0], values) or ""
        elif block.kind == "list" and block.name == TABLE_PLACEHOLDER:
            close(table=True)
        elif block.kind == "list":
            bullets.extend(item for item in lists.get(block.name, ()) if item.strip())
        elif block.kind == "bullet":
            text = fill_line(block.lines[0], values)
            if text is not None:
                bullets.append(text)
        else:
            filled = [t for t in (fill_line(line, values) for line in block.lines) if t is not None]
            if not filled:
                continue
            if bullets:  # keep the reading order: this paragraph comes after the list
                close()
            # A value with blank lines (a long summary) reads as several paragraphs.
            paragraphs.extend(
                part.strip() for part in _BLANK_LINES.split("\n".join(filled)) if part.strip()
            )
    close()
    return tuple(sections)


MAX_PART_CHARS = {
    "title": 300,
    "salutation": 300,
    "body": 20_000,
    "closing": 500,
    "disclaimer": 2_000,
}


def check_parts(kind: LetterKind, parts: Mapping[str, str]) -> dict[str, str]:
    """Problems by part name: unknown placeholders, lone braces, lists out of place, an empty
    body or title, a summary without its disclaimer, text too long."""
    errors: dict[str, str] = {}
    known = PLACEHOLDERS[kind]
    for part, text in parts.items():
        limit = MAX_PART_CHARS.get(part)
        if limit is not None and len(text) > limit:
            errors[part] = f"This is {len(text):,} characters; keep it under {limit:,}."
            continue
        try:
            if part == "body":
                parse_body(text, kind)
            else:
                for number, raw in enumerate(text.split("\n"), start=1):
                    where = f"on line {number}" if "\n" in text else ""
                    parse_line(raw.strip(), known, where=where)
        except TemplateError as exc:
            errors[part] = str(exc)
    if "body" not in errors and not parts.get("body", "").strip():
        errors["body"] = "The body is empty: write what the letter says."
    if "title" not in errors and not parts.get("title", "").strip():
        errors["title"] = "Give the letter a title (it names the PDF file's document)."
    if "title" not in errors and "\n" in parts.get("title", "").strip():
        errors["title"] = "Keep the title on one line."
    if (
        kind is LetterKind.SUMMARY
        and "disclaimer" not in errors
        and not parts.get("disclaimer", "").strip()
    ):
        errors["disclaimer"] = (
            "The patient's letter needs its disclaimer: that it does not replace their own "
            "doctor, and where to go with urgent symptoms."
        )
    return errors
