from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.specialists import Concordance, Discipline
from referral_desk.services import cases, documents, specialists
from referral_desk.services.specialists import SpecialistDraft
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.reason_dialog import ReasonDialog
from referral_desk.ui.review_panel import AssignDialog, OpinionDialog, ReviewPanel
from tests.conftest import admin, case, manager, patient, staff
from tests.ui.conftest import when_modal


@pytest.fixture
def ready_case(qtbot: QtBot, main_window: MainWindow, db: Database) -> CaseWindow:
    """A breast case whose records are complete, and a small roster."""
    today = datetime.now(UTC).date()
    specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Amara Okoye", Discipline.MEDICAL_ONCOLOGY, 4, cancer_types=frozenset({"breast"})
        ),
        actor=admin(),
    )
    specialists.create_specialist(
        db, SpecialistDraft("Dr. Ben Hale", Discipline.MEDICAL_ONCOLOGY, 4), actor=admin()
    )
    away = specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Clara Voss", Discipline.MEDICAL_ONCOLOGY, 4, cancer_types=frozenset({"breast"})
        ),
        actor=admin(),
    )
    specialists.add_absence(
        db, away, today - timedelta(days=1), today + timedelta(days=7), actor=admin()
    )
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    for doc in documents.case_records(db, created.id).documents:
        documents.set_document_status(
            db, doc.id, DocumentStatus.RECEIVED, actor=admin("t"), now=two_hours_ago
        )
    window = main_window.open_case(created.id)
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.review)
    return window


def test_assigning_the_first_suggestion_puts_the_case_under_review(
    qtbot: QtBot, ready_case: CaseWindow
) -> None:
    assert ready_case.status_label.text() == "Ready for review"
    seen: list[list[str]] = []

    def pick(dialog: QWidget) -> None:
        assert isinstance(dialog, AssignDialog)
        seen.append([dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())])
        assert dialog.selected() is not None and dialog.selected().name == "Dr. Amara Okoye"
        dialog.accept()

    when_modal(qtbot, pick)
    qtbot.mouseClick(ready_case.review.assign_button, Qt.MouseButton.LeftButton)
    assert "matches the cancer type" in seen[0][0]
    assert seen[0][-1].startswith("away")  # ruled out, last, saying why
    assert ready_case.status_label.text() == "Under review"
    assert "Dr. Amara Okoye" in ready_case.tabs.tabText(2)
    review = ready_case.review
    assert review.table.item(0, 1).text() == "Dr. Amara Okoye"
    assert review.table.item(0, 2).text() == "Proposed"
    review.table.selectRow(0)
    qtbot.mouseClick(review.accept_button, Qt.MouseButton.LeftButton)
    assert review.table.item(0, 2).text() == "Accepted"


def test_an_absent_specialist_needs_a_stated_reason(qtbot: QtBot, ready_case: CaseWindow) -> None:
    def override(dialog: QWidget) -> None:
        assert isinstance(dialog, AssignDialog)
        dialog.select("Dr. Clara Voss")
        assert dialog.override.isEnabled()
        dialog.accept()
        assert "Give a reason to assign them anyway" in dialog.message.text()
        dialog.override.setText("Reviews from home this week, agreed by phone")
        dialog.accept()

    when_modal(qtbot, override)
    assert ready_case.review.assign()
    assert ready_case.review.table.item(0, 1).text() == "Dr. Clara Voss"
    assert "Assigned despite" in ready_case.review.table.item(0, 5).text()


def test_a_declined_primary_sends_the_case_back_to_ready(
    qtbot: QtBot, ready_case: CaseWindow
) -> None:
    when_modal(qtbot, lambda dialog: dialog.accept())  # type: ignore[attr-defined]
    ready_case.review.assign()
    assert ready_case.status_label.text() == "Under review"
    ready_case.review.table.selectRow(0)

    def decline(dialog: QWidget) -> None:
        assert isinstance(dialog, ReasonDialog)
        dialog.accept()
        assert "Say why" in dialog.message.text()
        dialog.text.setPlainText("At a congress until Friday")
        dialog.accept()

    when_modal(qtbot, decline)
    assert ready_case.review.decline_selected()
    assert ready_case.status_label.text() == "Ready for review"
    assert "declined: At a congress until Friday" in ready_case.history.item(0).text()


def test_an_opinion_with_a_major_change_stops_the_clock_and_is_flagged(
    qtbot: QtBot, ready_case: CaseWindow, db: Database
) -> None:
    review = ready_case.review
    assert not review.opinion_button.isEnabled()  # not under review yet
    when_modal(qtbot, lambda dialog: dialog.accept())  # type: ignore[attr-defined]
    review.assign()
    assert review.opinion_button.isEnabled()
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)

    def fill(dialog: QWidget) -> None:
        assert isinstance(dialog, OpinionDialog)
        dialog.received.setDateTime(QDateTime.fromSecsSinceEpoch(int(received.timestamp())))
        dialog.accept()  # nothing written: both texts are asked for by name
        assert "Write the summary" in dialog.errors["patient_summary"].text()
        assert "recommendation" in dialog.errors["recommendation"].text()
        dialog.summary.setPlainText("The tumour is smaller than first thought.")
        dialog.recommendation.setPlainText("Surgery first; chemotherapy is not needed.")
        dialog.treatment.setCurrentIndex(dialog.treatment.findData(Concordance.MAJOR_CHANGE))
        dialog.accept()

    when_modal(qtbot, fill)
    qtbot.mouseClick(review.opinion_button, Qt.MouseButton.LeftButton)
    assert ready_case.status_label.text() == "Opinion received"
    assert ready_case.major.isVisible() and "Major change" in ready_case.major.text()
    assert "Major change</span>" in review.opinion_text.text()
    detail = cases.get_case(db, ready_case.detail.id)
    assert detail.status is CaseStatus.OPINION_RECEIVED and detail.opinion_at == received
    assert detail.clock.answered_margin is not None  # the clock stopped at the answer
    assert review.opinion_button.text() == "Amend opinion…"


def test_a_manager_sees_the_reviewers_and_the_opinion_but_cannot_change_them(
    qtbot: QtBot, db: Database
) -> None:
    lima = specialists.create_specialist(
        db,
        SpecialistDraft(
            "Dr. Ana Lima", Discipline.MEDICAL_ONCOLOGY, 4, cancer_types=frozenset({"breast"})
        ),
        actor=admin(),
    )
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    for doc in documents.case_records(db, created.id).documents:
        documents.set_document_status(db, doc.id, DocumentStatus.RECEIVED, actor=admin("t"))
    specialists.assign(db, created.id, lima, actor=admin("t"))  # proposed, not yet answered
    panel = ReviewPanel(db, created.id, manager("nadia"))
    qtbot.addWidget(panel)
    panel.show_case("RD-2026-00001", CaseStatus.UNDER_REVIEW)
    panel.table.selectRow(0)
    assert panel.table.item(0, 1).text() == "Dr. Ana Lima"
    for button in (
        panel.assign_button,
        panel.accept_button,
        panel.decline_button,
        panel.opinion_button,
    ):
        assert not button.isEnabled(), button.objectName()
        assert button.toolTip().startswith("A manager cannot assign or record an opinion")

    staff_panel = ReviewPanel(db, created.id, staff("tom"))
    qtbot.addWidget(staff_panel)
    staff_panel.show_case("RD-2026-00001", CaseStatus.UNDER_REVIEW)
    staff_panel.table.selectRow(0)
    assert staff_panel.accept_button.isEnabled() and staff_panel.opinion_button.isEnabled()
