"""Who reviews a case: ranking hand-built rosters, overrides and roster rules. No database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from referral_desk.domain.specialists import (
    Absence,
    Candidate,
    Concordance,
    Discipline,
    Role,
    SpecialistRuleError,
    Suggestion,
    check_absence,
    check_capacity,
    check_override,
    is_major_change,
    suggest,
)

TODAY = date(2026, 11, 23)
DUE = date(2026, 11, 25)
DAY = timedelta(days=1)


def _oncologist(specialist_id: int, name: str, **changes: object) -> Candidate:
    values: dict[str, object] = {
        "id": specialist_id,
        "name": name,
        "discipline": Discipline.MEDICAL_ONCOLOGY,
        "cancer_types": frozenset({"breast"}),
        "capacity": 5,
        "active": True,
        "absences": (),
        "active_cases": 0,
    }
    values.update(changes)
    return Candidate(**values)  # type: ignore[arg-type]


def _rank(candidates: list[Candidate], role: Role = Role.PRIMARY) -> list[Suggestion]:
    return suggest(candidates, cancer_type="breast", role=role, today=TODAY, due=DUE)


def _names(suggestions: list[Suggestion]) -> list[str]:
    return [s.name for s in suggestions]


# Ranking


def test_expertise_beats_load() -> None:
    busy_expert = _oncologist(1, "Busy Expert", active_cases=4)
    idle_generalist = _oncologist(2, "Idle Generalist", cancer_types=frozenset({"lung"}))
    ranked = _rank([idle_generalist, busy_expert])
    assert _names(ranked) == ["Busy Expert", "Idle Generalist"]
    assert [s.rank for s in ranked] == [1, 2]
    assert all(s.available for s in ranked)
    assert ranked[0].reasons == (
        "matches the cancer type",
        "available until the due date (25 Nov)",
        "4 of 5 slots used",
    )
    assert ranked[1].reasons[0] == "not a specialist in this type"
    assert "0 of 5 slots used" in ranked[1].reasons


def test_among_equal_experts_the_lower_share_of_capacity_comes_first() -> None:
    # 2 of 10 (20%) is a lighter load than 1 of 3 (33%), although it is more cases.
    roomy = _oncologist(1, "Zed Roomy", capacity=10, active_cases=2)
    small = _oncologist(2, "Amy Small", capacity=3, active_cases=1)
    assert _names(_rank([small, roomy])) == ["Zed Roomy", "Amy Small"]


def test_at_the_same_share_fewer_cases_come_first() -> None:
    half_of_ten = _oncologist(1, "Ann Ten", capacity=10, active_cases=5)
    half_of_four = _oncologist(2, "Zoe Four", capacity=4, active_cases=2)
    assert _names(_rank([half_of_ten, half_of_four])) == ["Zoe Four", "Ann Ten"]


def test_at_the_same_load_the_name_decides_ignoring_case_and_accents() -> None:
    ranked = _rank(
        [
            _oncologist(1, "carla Duarte", active_cases=1),
            _oncologist(2, "Bruno Alves", active_cases=1),
            _oncologist(3, "Álvaro Costa", active_cases=1),
            _oncologist(4, "anna Berg", active_cases=1),
        ]
    )
    # As the roster screen sorts them: Álvaro with the A's, not after Z.
    assert _names(ranked) == ["Álvaro Costa", "anna Berg", "Bruno Alves", "carla Duarte"]


def test_identical_candidates_come_in_the_same_order_whatever_the_input_order() -> None:
    twins = [_oncologist(i, "Jo Smith", active_cases=2) for i in (7, 3, 5)]
    forward = _rank(twins)
    backward = _rank(list(reversed(twins)))
    assert [s.specialist_id for s in forward] == [3, 5, 7]
    assert forward == backward
    assert [s.rank for s in forward] == [1, 2, 3]


# Ruled out


def test_an_absence_overlapping_the_review_window_rules_out_and_says_away() -> None:
    for first, last in (
        (TODAY - 3 * DAY, TODAY),  # back tomorrow: away today
        (DUE, DUE + 7 * DAY),  # leaves on the due day
        (TODAY + DAY, TODAY + DAY),  # one day in the middle
        (TODAY - DAY, DUE + DAY),  # the whole window
    ):
        away = _oncologist(1, "Ada Away", absences=(Absence(first, last, "congress"),))
        [suggestion] = _rank([away])
        assert not suggestion.available, (first, last)
        assert any(r.startswith("away ") for r in suggestion.reasons)
        assert "congress" in " ".join(suggestion.reasons)


def test_the_absence_text_gives_the_days() -> None:
    away = _oncologist(
        1,
        "Ada Away",
        absences=(
            Absence(date(2026, 11, 20), date(2026, 11, 27), "holiday"),
            Absence(date(2026, 11, 25), date(2026, 11, 25)),
        ),
    )
    [suggestion] = _rank([away])
    assert suggestion.reasons == ("away 20 Nov to 27 Nov (holiday)", "away 25 Nov")


def test_an_absence_that_ended_yesterday_or_starts_after_the_due_day_does_not_rule_out() -> None:
    back = _oncologist(1, "Ben Back", absences=(Absence(TODAY - 5 * DAY, TODAY - DAY),))
    later = _oncologist(2, "Lea Later", absences=(Absence(DUE + DAY, DUE + 9 * DAY),))
    ranked = _rank([back, later])
    assert all(s.available for s in ranked)
    assert all(not any(r.startswith("away") for r in s.reasons) for s in ranked)
    assert "available until the due date (25 Nov)" in ranked[0].reasons


def test_an_inactive_specialist_is_ruled_out() -> None:
    [suggestion] = _rank([_oncologist(1, "Ivo Inactive", active=False)])
    assert not suggestion.available
    assert suggestion.reasons == ("inactive",)


def test_a_full_specialist_is_ruled_out_with_the_slots_used() -> None:
    [full] = _rank([_oncologist(1, "Fay Full", active_cases=5)])
    assert not full.available
    assert full.reasons == ("full: 5 of 5 slots used",)
    [over] = _rank([_oncologist(1, "Otto Over", capacity=2, active_cases=3)])
    assert over.reasons == ("full: 3 of 2 slots used",)


def test_every_reason_to_rule_out_is_given() -> None:
    [suggestion] = _rank(
        [
            _oncologist(
                1,
                "All Wrong",
                active=False,
                active_cases=5,
                absences=(Absence(TODAY, TODAY),),
            )
        ]
    )
    assert suggestion.reasons == ("inactive", "away 23 Nov", "full: 5 of 5 slots used")


def test_ruled_out_ones_always_come_after_the_available_ones() -> None:
    ranked = _rank(
        [
            # The best expert on paper, but away: still after the non-matching free one.
            _oncologist(1, "Aaron Away", absences=(Absence(TODAY, DUE),)),
            _oncologist(2, "Bea Inactive", active=False),
            _oncologist(3, "Cy Full", active_cases=5),
            _oncologist(4, "Zora Lung", cancer_types=frozenset({"lung"}), active_cases=4),
            _oncologist(5, "Yann Breast", active_cases=4),
        ]
    )
    assert [s.available for s in ranked] == [True, True, False, False, False]
    assert _names(ranked)[:2] == ["Yann Breast", "Zora Lung"]
    assert _names(ranked)[2:] == ["Aaron Away", "Bea Inactive", "Cy Full"]  # matched, then name
    assert [s.rank for s in ranked] == [1, 2, 3, 4, 5]


def test_only_the_disciplines_of_the_role_are_listed() -> None:
    roster = [
        _oncologist(1, "Mona Medical"),
        _oncologist(2, "Hal Haematology", discipline=Discipline.HAEMATOLOGY),
        _oncologist(3, "Rita Radiotherapy", discipline=Discipline.RADIATION_ONCOLOGY),
        _oncologist(4, "Sam Surgeon", discipline=Discipline.SURGICAL_ONCOLOGY),
        _oncologist(5, "Paul Pathologist", discipline=Discipline.PATHOLOGY),
        _oncologist(6, "Rae Radiologist", discipline=Discipline.RADIOLOGY),
    ]
    assert sorted(_names(_rank(roster, Role.PRIMARY))) == [
        "Hal Haematology",
        "Mona Medical",
        "Rita Radiotherapy",
        "Sam Surgeon",
    ]
    assert _names(_rank(roster, Role.PATHOLOGY)) == ["Paul Pathologist"]
    assert _names(_rank(roster, Role.RADIOLOGY)) == ["Rae Radiologist"]


def test_an_empty_roster_suggests_nobody() -> None:
    assert _rank([]) == []


# Overrides and roster rules


def test_a_ruled_out_specialist_needs_a_reason_to_be_assigned_anyway() -> None:
    [away] = _rank([_oncologist(1, "Ada Away", absences=(Absence(TODAY, TODAY, "leave"),))])
    for blank in ("", "   "):
        with pytest.raises(SpecialistRuleError, match=r"Ada Away is ruled out \(away 23 Nov"):
            check_override(away, blank)
    check_override(away, "Only breast expert this week; agreed by phone")


def test_an_available_specialist_needs_no_override_reason() -> None:
    [free] = _rank([_oncologist(1, "Fred Free")])
    check_override(free, "")


def test_someone_who_cannot_take_the_role_is_refused_even_with_a_reason() -> None:
    with pytest.raises(SpecialistRuleError, match="cannot take this role"):
        check_override(None, "urgent")


def test_an_absence_must_have_both_days() -> None:
    for first, last in ((None, TODAY), (TODAY, None), (None, None)):
        with pytest.raises(SpecialistRuleError, match="first and the last day"):
            check_absence(first, last)


def test_an_absence_cannot_end_before_it_starts() -> None:
    with pytest.raises(
        SpecialistRuleError, match=r"ends \(2026-11-22\) before it starts \(2026-11-23\)"
    ):
        check_absence(TODAY, TODAY - DAY)
    check_absence(TODAY, TODAY)  # a single day is fine


@pytest.mark.parametrize("capacity", [0, -1, -10])
def test_capacity_is_at_least_one(capacity: int) -> None:
    with pytest.raises(SpecialistRuleError, match="at least 1") as raised:
        check_capacity(capacity)
    assert "mark them inactive" in str(raised.value)


def test_a_capacity_of_one_is_fine() -> None:
    check_capacity(1)


def test_a_major_change_in_either_judgement_is_a_major_change() -> None:
    c = Concordance
    assert is_major_change([c.MAJOR_CHANGE, c.CONFIRMED])
    assert is_major_change([c.NOT_ASSESSED, c.MAJOR_CHANGE])
    assert not is_major_change([c.MINOR_CHANGE, c.CONFIRMED])
    assert not is_major_change([c.NOT_ASSESSED, c.NOT_ASSESSED])
