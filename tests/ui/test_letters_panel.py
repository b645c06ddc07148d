"""The Letters tab of the case screen: make a letter, see it archived, open, save, mark sent."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus
from referral_desk.domain.letters import LetterKind
from referral_desk.domain.specialists import Concordance, Discipline
from referral_desk.services import cases, documents, letters, opinions, specialists
from referral_desk.services.opinions import OpinionDraft
from referral_desk.services.specialists import SpecialistDraft
from referral_desk.ui.case_window import CaseWindow
from referral_desk.ui.letters_panel import LettersPanel
from referral_desk.ui.main_window import MainWindow
from tests.conftest import admin, case, coordinator, patient
from tests.ui.conftest import when_modal

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def viewer(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """What would have opened in the system's PDF viewer (no viewer opens in tests)."""
    opened: list[Path] = []

    def open_url(url: QUrl) -> bool:
        opened.append(Path(url.toLocalFile()))
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    return opened


def opinion_received(db: Database, family_name: str = "Müller") -> int:
    """A case whose records are complete and whose specialist's opinion is in."""
    created = cases.create_case(
        db, case(), patient=patient(family_name=family_name), actor=admin("t")
    )
    for doc in documents.case_records(db, created.id).documents:
        documents.set_document_status(db, doc.id, DocumentStatus.RECEIVED, actor=admin("t"))
    lima = specialists.create_specialist(
        db,
        SpecialistDraft(
            f"Dr. Ana Lima {family_name}",
            Discipline.MEDICAL_ONCOLOGY,
            5,
            cancer_types=frozenset({"breast"}),
        ),
        actor=admin(),
    )
    specialists.assign(db, created.id, lima, actor=admin("t"))
    opinions.record_opinion(
        db,
        created.id,
        OpinionDraft(
            "The diagnosis is right; the cancer is small.",
            "An operation first, then hormone tablets.",
            Concordance.CONFIRMED,
            Concordance.MINOR_CHANGE,
            datetime.now(UTC),
        ),
        actor=admin("t"),
    )
    return created.id


def _open(qtbot: QtBot, main_window: MainWindow, case_id: int) -> CaseWindow:
    window = main_window.open_case(case_id)
    qtbot.waitExposed(window)
    window.tabs.setCurrentWidget(window.letters)
    return window


def _make(qtbot: QtBot, panel: LettersPanel, kind: LetterKind) -> None:
    before = len(panel.rows)
    action = panel.kind_actions[kind]
    assert action.isEnabled(), action.toolTip()
    action.trigger()  # New letter ▸ <kind>
    qtbot.waitUntil(lambda: len(panel.rows) == before + 1, timeout=20_000)


def _cells(panel: LettersPanel, row: int) -> list[str]:
    return [panel.table.item(row, c).text() for c in range(panel.table.columnCount())]


def test_a_letter_made_from_the_tab_is_listed_opened_and_saved(
    qtbot: QtBot,
    main_window: MainWindow,
    db: Database,
    viewer: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = opinion_received(db)
    window = _open(qtbot, main_window, case_id)
    panel = window.letters
    assert panel.empty.isVisibleTo(panel) and not panel.table.isVisibleTo(panel)
    assert not panel.open_button.isEnabled() and not panel.sent_button.isEnabled()

    qtbot.mouseClick(panel.large_print, LEFT)
    _make(qtbot, panel, LetterKind.SUMMARY)
    assert panel.table.isVisibleTo(panel)
    cells = _cells(panel, 0)
    assert cells[0] == "Patient summary letter"
    assert cells[2] == "tester"
    assert cells[3] == "version 1"
    assert cells[4] == "yes"  # large print
    assert int(cells[5]) >= 1
    assert cells[6] == "not sent"
    assert "kept with the case" in panel.message.text()
    assert window.tabs.tabText(4) == "Le&tters (1 not sent)"
    # It opens in the viewer by itself, as archived.
    info = letters.list_letters(db, case_id)[0]
    assert len(viewer) == 1 and viewer[0].read_bytes() == letters.letter_bytes(db, info.id)
    assert info.large_print

    qtbot.mouseClick(panel.open_button, LEFT)  # a reprint is the identical file
    assert viewer[1].read_bytes() == viewer[0].read_bytes()

    target = tmp_path / "copy.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), "PDF"))
    qtbot.mouseClick(panel.save_button, LEFT)
    assert target.read_bytes() == letters.letter_bytes(db, info.id)
    assert str(target) in panel.message.text()


def test_letters_that_cannot_be_made_yet_say_why(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    panel = _open(qtbot, main_window, created.id).letters
    panel.new_menu.aboutToShow.emit()  # what opening New letter ▸ does first
    summary = panel.kind_actions[LetterKind.SUMMARY]
    assert not summary.isEnabled()
    assert summary.toolTip() == "No opinion recorded yet."
    assert not panel.kind_actions[LetterKind.REFERRER].isEnabled()
    estimate = panel.kind_actions[LetterKind.ESTIMATE]
    assert not estimate.isEnabled() and "no estimated costs" in estimate.toolTip()
    request = panel.kind_actions[LetterKind.RECORDS_REQUEST]
    assert request.isEnabled()  # the breast checklist's documents are missing
    assert panel.new_menu.toolTipsVisible()

    _make(qtbot, panel, LetterKind.RECORDS_REQUEST)
    assert _cells(panel, 0)[0] == "Records request"


def test_marking_the_summary_letter_sent_moves_the_case(
    qtbot: QtBot, main_window: MainWindow, db: Database
) -> None:
    case_id = opinion_received(db)
    window = _open(qtbot, main_window, case_id)
    panel = window.letters
    _make(qtbot, panel, LetterKind.SUMMARY)
    assert panel.sent_button.isEnabled()
    questions: list[str] = []

    def say_no(dialog: QWidget) -> None:
        assert isinstance(dialog, QMessageBox)
        questions.append(dialog.text())
        dialog.button(QMessageBox.StandardButton.No).click()

    when_modal(qtbot, say_no)
    qtbot.mouseClick(panel.sent_button, LEFT)
    assert "then moves to Letter sent" in questions[0]
    assert cases.get_case(db, case_id).status is CaseStatus.OPINION_RECEIVED

    def say_yes(dialog: QWidget) -> None:
        assert isinstance(dialog, QMessageBox)
        dialog.button(QMessageBox.StandardButton.Yes).click()

    when_modal(qtbot, say_yes)
    qtbot.mouseClick(panel.sent_button, LEFT)
    assert cases.get_case(db, case_id).status is CaseStatus.LETTER_SENT
    assert window.status_label.text() == "Letter sent"  # the case screen followed
    assert "Opinion received → Letter sent" in window.history.item(0).text()
    assert _cells(panel, 0)[6].endswith("· tester")
    assert not panel.sent_button.isEnabled()
    assert "is now Letter sent" in panel.message.text()
    assert window.tabs.tabText(4) == "Le&tters"
    assert letters.list_letters(db, case_id)[0].sent_by == "tester"
    assert not window.has_unsaved_edits


@pytest.mark.parametrize("role", [UserRole.STAFF, UserRole.MANAGER], ids=lambda r: r.value)
def test_only_a_coordinator_makes_saves_or_sends_letters(
    qtbot: QtBot, db: Database, viewer: list[Path], role: UserRole
) -> None:
    case_id = opinion_received(db)
    made = letters.generate(db, case_id, LetterKind.SUMMARY, actor=coordinator("lena"))
    panel = LettersPanel(db, case_id, Actor("someone", role))
    qtbot.addWidget(panel)
    panel.show_case(CaseStatus.OPINION_RECEIVED)
    assert panel.rows[0].id == made.id
    for control in (panel.new_button, panel.large_print, panel.save_button, panel.sent_button):
        assert not control.isEnabled(), control.objectName()
        assert "cannot make or send letters; ask a coordinator or an administrator" in (
            control.toolTip()
        )
    assert panel.new_button.menu() is None  # no menu of letters to pick from
    assert panel.make_letter(LetterKind.SUMMARY) is None
    assert not panel.mark_selected_sent()
    assert len(letters.list_letters(db, case_id)) == 1 and panel.rows[0].sent_at is None
    # Reading it is for everyone.
    assert panel.open_button.isEnabled()
    assert panel.open_selected() == viewer[-1]


def test_a_coordinators_letters_tab_can_make_a_letter(qtbot: QtBot, db: Database) -> None:
    case_id = opinion_received(db)
    panel = LettersPanel(db, case_id, coordinator("lena"))
    qtbot.addWidget(panel)
    assert panel.new_button.isEnabled() and panel.new_button.menu() is panel.new_menu
    _make(qtbot, panel, LetterKind.SUMMARY)
    assert panel.rows[0].created_by == "lena"
