"""Who reviews a case: disciplines, roles, absences, and how suggestions are ranked.

Pure rules: the services gather the roster and its load, these decide who fits and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from referral_desk.domain.text import fold


class Discipline(StrEnum):
    MEDICAL_ONCOLOGY = "medical_oncology"
    HAEMATOLOGY = "haematology"
    RADIATION_ONCOLOGY = "radiation_oncology"
    SURGICAL_ONCOLOGY = "surgical_oncology"
    PATHOLOGY = "pathology"
    RADIOLOGY = "radiology"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Role(StrEnum):
    PRIMARY = "primary"
    PATHOLOGY = "pathology"
    RADIOLOGY = "radiology"

    @property
    def label(self) -> str:
        return {
            Role.PRIMARY: "Primary reviewer",
            Role.PATHOLOGY: "Pathology re-review",
            Role.RADIOLOGY: "Radiology re-review",
        }[self]

    @property
    def person(self) -> str:
        """The one who takes the role, for sentences: "asked to be the pathology re-reviewer"."""
        return {
            Role.PRIMARY: "primary reviewer",
            Role.PATHOLOGY: "pathology re-reviewer",
            Role.RADIOLOGY: "radiology re-reviewer",
        }[self]


# Which disciplines may take each role.
ROLE_DISCIPLINES: dict[Role, frozenset[Discipline]] = {
    Role.PRIMARY: frozenset(
        {
            Discipline.MEDICAL_ONCOLOGY,
            Discipline.HAEMATOLOGY,
            Discipline.RADIATION_ONCOLOGY,
            Discipline.SURGICAL_ONCOLOGY,
        }
    ),
    Role.PATHOLOGY: frozenset({Discipline.PATHOLOGY}),
    Role.RADIOLOGY: frozenset({Discipline.RADIOLOGY}),
}


class AssignmentStatus(StrEnum):
    PROPOSED = "proposed"  # asked, no answer yet
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REPLACED = "replaced"  # reassigned to someone else, with a reason

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def current(self) -> bool:
        return self in (AssignmentStatus.PROPOSED, AssignmentStatus.ACCEPTED)


class Concordance(StrEnum):
    CONFIRMED = "confirmed"
    MINOR_CHANGE = "minor_change"
    MAJOR_CHANGE = "major_change"
    NOT_ASSESSED = "not_assessed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class SpecialistRuleError(ValueError):
    """Roster or assignment input the office's rules refuse, with a message for the user."""


@dataclass(frozen=True)
class Absence:
    first_day: date
    last_day: date  # inclusive
    note: str = ""

    def covers(self, start: date, end: date) -> bool:
        """Away on any day from start to end (inclusive)."""
        return self.first_day <= end and self.last_day >= start


def check_absence(first_day: date | None, last_day: date | None) -> None:
    if first_day is None or last_day is None:
        raise SpecialistRuleError("Give the first and the last day of the absence.")
    if last_day < first_day:
        raise SpecialistRuleError(f"The absence ends ({last_day}) before it starts ({first_day}).")


def check_capacity(capacity: int) -> None:
    if capacity < 1:
        raise SpecialistRuleError(
            "Capacity is how many active cases the specialist takes at once: at least 1. "
            "To stop assigning someone, mark them inactive."
        )


@dataclass(frozen=True)
class Candidate:
    """A specialist as the ranking sees them, with their current load."""

    id: int
    name: str
    discipline: Discipline
    cancer_types: frozenset[str]
    capacity: int
    active: bool
    absences: tuple[Absence, ...] = ()
    active_cases: int = 0


@dataclass(frozen=True)
class Suggestion:
    specialist_id: int
    name: str
    available: bool  # False: ruled out (may still be chosen with a stated override)
    reasons: tuple[str, ...]  # why this rank, or why ruled out, in plain words
    rank: int = 0  # 1 = best; ruled-out ones come after every available one
    sort_key: tuple[object, ...] = field(default=(), compare=False)


def _absence_text(absence: Absence) -> str:
    span = (
        f"{absence.first_day:%d %b}"
        if absence.first_day == absence.last_day
        else f"{absence.first_day:%d %b} to {absence.last_day:%d %b}"
    )
    return f"away {span}" + (f" ({absence.note})" if absence.note else "")


def suggest(
    candidates: Iterable[Candidate],
    *,
    cancer_type: str,
    role: Role,
    today: date,
    due: date,
) -> list[Suggestion]:
    """Everyone who could take the role, best first, each with the reasons for their place.

    Order: available before ruled out; then the cancer type matched (expertise beats load);
    then the share of capacity in use, then the fewest active cases; then name and id, so
    equal candidates always come in the same order.
    """
    ranked: list[Suggestion] = []
    for c in candidates:
        if c.discipline not in ROLE_DISCIPLINES[role]:
            continue  # a radiologist is never a primary reviewer: not even listed
        reasons: list[str] = []
        ruled_out: list[str] = []
        matches = cancer_type in c.cancer_types
        reasons.append("matches the cancer type" if matches else "not a specialist in this type")
        away = [a for a in c.absences if a.covers(today, due)]
        if not c.active:
            ruled_out.append("inactive")
        if away:
            ruled_out.extend(_absence_text(a) for a in away)
        else:
            reasons.append(f"available until the due date ({due:%d %b})")
        if c.active_cases >= c.capacity:
            ruled_out.append(f"full: {c.active_cases} of {c.capacity} slots used")
        else:
            reasons.append(f"{c.active_cases} of {c.capacity} slots used")
        load = c.active_cases / c.capacity if c.capacity else 1.0
        key = (bool(ruled_out), not matches, load, c.active_cases, fold(c.name), c.id)
        ranked.append(
            Suggestion(
                c.id,
                c.name,
                not ruled_out,
                tuple(ruled_out) if ruled_out else tuple(reasons),
                sort_key=key,
            )
        )
    ranked.sort(key=lambda s: s.sort_key)
    return [
        Suggestion(s.specialist_id, s.name, s.available, s.reasons, i + 1, s.sort_key)
        for i, s in enumerate(ranked)
    ]


def check_override(suggestion: Suggestion | None, override_reason: str) -> None:
    """An absent, inactive or full specialist needs a stated reason to be assigned anyway."""
    if suggestion is None:
        raise SpecialistRuleError("That specialist cannot take this role.")
    if not suggestion.available and not override_reason.strip():
        raise SpecialistRuleError(
            f"{suggestion.name} is ruled out ({'; '.join(suggestion.reasons)}). Give a reason "
            "to assign them anyway."
        )


def is_major_change(concordances: Sequence[Concordance]) -> bool:
    return Concordance.MAJOR_CHANGE in concordances
