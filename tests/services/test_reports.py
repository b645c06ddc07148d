"""The monthly report on a hand-built month whose answers are known.

October 2026 in Vienna: the month starts in summer time and ends in winter time, so the cases
received just before and after each edge show which month a case belongs to. Every case is
made through the services (intake, status changes, opinions, costs), on a real SQLite file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.costs import LineKind, PaymentMethod
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.domain.enums import Reason, Urgency
from referral_desk.domain.reports import Month, Timeliness
from referral_desk.domain.specialists import Concordance as C
from referral_desk.domain.specialists import Discipline
from referral_desk.services import cases, costs, opinions, reports, specialists
from referral_desk.services.costs import LineDraft, PaymentDraft
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from tests.conftest import NOW, admin, case, manager, patient, without_checklists

VIENNA = ZoneInfo("Europe/Vienna")
OCTOBER = Month(2026, 10)
H = timedelta(hours=1)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Office:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.refs: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    def receive(self, name: str, at: datetime, **changes: object) -> int:
        made = cases.create_case(
            self.db,
            case(**changes),
            patient=patient(family_name=name),
            actor=admin("maria"),
            now=at,
            local_zone=VIENNA,
        )
        self.refs[name], self.ids[name] = made.reference, made.id
        return made.id

    def move(self, name: str, target: S, at: datetime, reason: str = "") -> None:
        cases.change_status(
            self.db, self.ids[name], target, reason=reason, actor=admin("maria"), now=at
        )

    def opinion(self, name: str, at: datetime, diagnosis: C, treatment: C) -> None:
        draft = OpinionDraft("Summary.", "Recommendation.", diagnosis, treatment, at)
        opinions.record_opinion(self.db, self.ids[name], draft, actor=admin("ines"), now=at)


@pytest.fixture
def office(db: Database) -> Office:
    """Seven cases received in October (local time), one on each side of each edge."""
    without_checklists(db)
    o = Office(db)
    # Just after midnight on 1 October in Vienna, still 30 September in UTC.
    a = o.receive("Anfang", _utc(2026, 9, 30, 22, 30))
    ana = specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Ana Lima", Discipline.MEDICAL_ONCOLOGY, 5, cancer_types=frozenset({"breast"})
        ),
        now=NOW - 100 * 24 * H,
        actor=admin(),
    )
    ready_a = _utc(2026, 10, 1, 2, 30)  # intake 4 h
    o.move("Anfang", S.READY_FOR_REVIEW, ready_a)
    specialists.assign(db, a, ana, actor=admin("ines"), now=ready_a + H, local_zone=VIENNA)
    o.opinion("Anfang", ready_a + 30 * H, C.CONFIRMED, C.MINOR_CHANGE)  # on time
    costs.add_line(
        db,
        a,
        LineDraft("Consultation", 1, 50_000, LineKind.FINAL),
        actor=admin("maria"),
        now=ready_a,
    )
    costs.add_payment(
        db,
        a,
        PaymentDraft(20_000, date(2026, 10, 2), PaymentMethod.CARD),
        actor=admin("maria"),
        now=NOW,
        local_zone=VIENNA,
    )

    # 23:30 on 30 September in Vienna: September, although the same UTC day as "Anfang".
    b = o.receive("Vorher", _utc(2026, 9, 30, 21, 30))
    costs.add_line(
        db, b, LineDraft("Consultation", 1, 30_000, LineKind.FINAL), actor=admin("maria"), now=NOW
    )
    costs.add_payment(  # paid in October for a September case: October's cash, not its cases
        db,
        b,
        PaymentDraft(30_000, date(2026, 10, 15), PaymentMethod.BANK_TRANSFER),
        actor=admin("maria"),
        now=NOW,
        local_zone=VIENNA,
    )

    # 23:30 on 31 October in Vienna (winter time, UTC+1): October; 00:10 on 1 November: not.
    o.receive("Ende", _utc(2026, 10, 31, 22, 30), reasons=frozenset({Reason.RARE_CANCER}))
    o.receive("Danach", _utc(2026, 10, 31, 23, 10))

    # On hold for 20 hours while the clock ran: 60 hours on the wall, 40 counted, on time.
    received_e = _utc(2026, 10, 10, 8)
    o.receive("Halt", received_e, cancer_type="lung")
    ready_e = received_e + 2 * H
    o.move("Halt", S.READY_FOR_REVIEW, ready_e)
    o.move("Halt", S.UNDER_REVIEW, ready_e + H)
    o.move("Halt", S.ON_HOLD, ready_e + 10 * H, reason="Patient travelling")
    o.move("Halt", S.UNDER_REVIEW, ready_e + 30 * H)
    o.opinion("Halt", ready_e + 60 * H, C.CONFIRMED, C.CONFIRMED)

    # Urgent, answered after 30 hours: late.
    received_f = _utc(2026, 10, 12, 8)
    o.receive("Spät", received_f, urgency=Urgency.URGENT, cancer_type="acute_leukaemia")
    o.move("Spät", S.READY_FOR_REVIEW, received_f + H)
    o.move("Spät", S.UNDER_REVIEW, received_f + 2 * H)
    o.opinion("Spät", received_f + 31 * H, C.MAJOR_CHANGE, C.MAJOR_CHANGE)

    received_g = _utc(2026, 10, 14, 8)
    o.receive("Storno", received_g)
    o.move("Storno", S.CANCELLED, received_g + 2 * H, reason="Patient withdrew")

    # Urgent and still under review on the report day: overdue.
    received_h = _utc(2026, 10, 20, 8)
    o.receive("Offen", received_h, urgency=Urgency.URGENT)
    o.move("Offen", S.READY_FOR_REVIEW, received_h + 3 * H)
    o.move("Offen", S.UNDER_REVIEW, received_h + 4 * H)

    # On hold for 10 hours while records were collected: intake 15 h on the wall, 5 counted.
    received_i = _utc(2026, 10, 22, 8)
    o.receive("Warte", received_i)
    o.move("Warte", S.ON_HOLD, received_i + H, reason="Waiting for the patient's consent")
    o.move("Warte", S.NEW, received_i + 11 * H)
    ready_i = received_i + 15 * H
    o.move("Warte", S.READY_FOR_REVIEW, ready_i)
    o.move("Warte", S.UNDER_REVIEW, ready_i + H)
    o.opinion("Warte", ready_i + 20 * H, C.MINOR_CHANGE, C.NOT_ASSESSED)
    return o


def _report(db: Database, month: Month = OCTOBER) -> reports.MonthlyReport:
    return reports.monthly_report(db, month, now=NOW, zone=VIENNA, actor=manager())


def test_the_month_holds_the_cases_received_between_its_local_midnights(
    db: Database, office: Office
) -> None:
    report = _report(db)
    names = ["Anfang", "Halt", "Spät", "Storno", "Offen", "Warte", "Ende"]
    assert [r.reference for r in report.rows] == [office.refs[n] for n in names]
    september = reports.case_rows(db, Month(2026, 9), now=NOW, zone=VIENNA)
    assert [r.reference for r in september] == [office.refs["Vorher"]]
    november = reports.case_rows(db, Month(2026, 11), now=NOW, zone=VIENNA)
    assert [r.reference for r in november] == [office.refs["Danach"]]


def test_each_row_says_how_long_the_case_took_and_whether_it_was_on_time(
    db: Database, office: Office
) -> None:
    rows = {r.reference: r for r in _report(db).rows}
    anfang, halt, spaet = (rows[office.refs[n]] for n in ("Anfang", "Halt", "Spät"))
    assert (anfang.intake, anfang.turnaround, anfang.timeliness) == (
        4 * H,
        30 * H,
        Timeliness.ON_TIME,
    )
    assert anfang.specialist == "Dr. Ana Lima"
    assert (anfang.final_total_minor, anfang.paid_minor, anfang.balance_minor) == (
        50_000,
        20_000,
        30_000,
    )
    assert (halt.turnaround, halt.timeliness) == (40 * H, Timeliness.ON_TIME)
    assert (spaet.turnaround, spaet.timeliness) == (30 * H, Timeliness.LATE)
    assert spaet.diagnosis_concordance is C.MAJOR_CHANGE
    assert rows[office.refs["Offen"]].timeliness is Timeliness.OVERDUE
    assert rows[office.refs["Warte"]].intake == 5 * H
    assert rows[office.refs["Storno"]].timeliness is Timeliness.NO_CLOCK
    ende = rows[office.refs["Ende"]]
    assert (ende.intake, ende.timeliness, ende.reasons) == (
        None,
        Timeliness.NO_CLOCK,
        (Reason.RARE_CANCER,),
    )


def test_the_months_figures_match_the_hand_counted_answers(db: Database, office: Office) -> None:
    f = _report(db).figures
    assert (f.received, f.completed, f.cancelled, f.still_open) == (7, 4, 1, 2)
    # Turnarounds 20, 30, 30 and 40 hours; intakes 1, 2, 3, 4 and 5 hours.
    assert f.turnaround_median == 30 * H
    assert f.turnaround_p90 == 37 * H
    assert f.intake_median == 3 * H
    assert f.intake_p90 == timedelta(hours=4, minutes=36)
    # Judged: three on time, one late, one overdue; routine all on time, urgent none.
    assert (f.on_time.on_time, f.on_time.judged) == (3, 5)
    assert f.on_time_by_urgency[Urgency.ROUTINE].rate == 1.0
    assert f.on_time_by_urgency[Urgency.URGENT].rate == 0.0
    assert f.diagnosis_concordance == {
        C.CONFIRMED: 2,
        C.MINOR_CHANGE: 1,
        C.MAJOR_CHANGE: 1,
        C.NOT_ASSESSED: 0,
    }
    assert f.treatment_concordance[C.NOT_ASSESSED] == 1
    assert f.by_cancer_type == {"breast": 5, "acute_leukaemia": 1, "lung": 1}
    assert f.by_specialist == {"": 6, "Dr. Ana Lima": 1}
    assert f.by_reason[Reason.RARE_CANCER] == 1
    assert (f.charges_minor, f.paid_minor, f.balance_minor) == (50_000, 20_000, 30_000)
    # Cash in during October: the October case's 200 and the September case's 300.
    assert f.payments_received_minor == 50_000


def test_comparison_months_and_chart_data_come_with_the_report(
    db: Database, office: Office
) -> None:
    report = _report(db)
    assert report.previous.month == Month(2026, 9) and report.previous.received == 1
    assert report.year_before.month == Month(2025, 10) and report.year_before.received == 0
    assert sum(w.count for w in report.weeks) == 7
    assert report.weeks[0].first_day == date(2026, 10, 1)  # "Anfang" counts on 1 October
    assert report.weeks[0].count == 1
    assert report.turnaround_histogram == (0, 0, 1, 2, 1, 0, 0)
    assert report.generated_at == NOW


def test_an_empty_month_reports_zeros_not_errors(db: Database, office: Office) -> None:
    report = _report(db, Month(2025, 1))
    assert report.rows == ()
    assert report.figures.received == 0
    assert report.figures.on_time.rate is None
    assert report.figures.turnaround_median is None
    assert sum(w.count for w in report.weeks) == 0


def test_the_month_picker_runs_from_this_month_back_to_the_first_case(
    db: Database, office: Office
) -> None:
    months = reports.report_months(db, today=date(2026, 11, 23), zone=VIENNA)
    assert months == [Month(2026, 11), Month(2026, 10), Month(2026, 9)]


def test_an_office_with_no_cases_can_still_pick_this_month(db: Database) -> None:
    assert reports.report_months(db, today=date(2026, 11, 23)) == [Month(2026, 11), Month(2026, 10)]


def test_progress_is_reported_and_may_cancel(db: Database, office: Office) -> None:
    seen: list[tuple[int, int]] = []
    reports.monthly_report(
        db,
        OCTOBER,
        now=NOW,
        zone=VIENNA,
        progress=lambda d, t: seen.append((d, t)),
        actor=manager(),
    )
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)

    class Stop(Exception):
        pass

    def cancel(done: int, total: int) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        reports.monthly_report(db, OCTOBER, now=NOW, zone=VIENNA, progress=cancel, actor=manager())
