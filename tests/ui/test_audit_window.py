from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor
from referral_desk.domain.audit import AuditAction, AuditEntry
from referral_desk.domain.enums import Urgency
from referral_desk.paths import AppPaths
from referral_desk.services import acting, audit_log, cases
from referral_desk.services.cases import CaseCreated
from referral_desk.services.errors import NotAllowedError
from referral_desk.ui.audit_window import AuditWindow, utc_bounds
from referral_desk.ui.window_state import WindowState
from tests.conftest import admin, case, manager, patient, staff


@pytest.fixture
def opened() -> list[int]:
    return []


def _window(
    qtbot: QtBot, db: Database, opened: list[int], actor: Actor | None = None
) -> AuditWindow:
    window = AuditWindow(db, actor or manager("nadia"), opened.append)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _two_cases(db: Database) -> tuple[CaseCreated, CaseCreated]:
    first = cases.create_case(db, case(), patient=patient(), actor=staff("maria"))
    second = cases.create_case(
        db, case(cancer_type="lung"), patient=patient(family_name="Okafor"), actor=staff("tom")
    )
    return first, second


def _rows(window: AuditWindow) -> list[audit_log.AuditRow]:
    return [window.model.entry(r) for r in range(window.model.rowCount())]


def test_a_role_without_the_audit_permission_cannot_open_the_viewer(
    qtbot: QtBot, db: Database, opened: list[int]
) -> None:
    assert not AuditWindow.may_open(staff())
    assert AuditWindow.may_open(manager()) and AuditWindow.may_open(admin())
    with pytest.raises(NotAllowedError, match="A staff member cannot read the audit trail"):
        AuditWindow(db, staff(), opened.append)


def test_the_viewer_filters_by_user_case_patient_action_and_day(
    qtbot: QtBot, db: Database, opened: list[int]
) -> None:
    first, second = _two_cases(db)
    audit_log.opened_case(db, second.id, actor=manager("nadia"))
    window = _window(qtbot, db, opened)
    total = audit_log.count(db)
    assert window.model.rowCount() == total
    assert window.count_label.text() == f"{total} entries"
    assert [window.user_combo.itemText(i) for i in range(window.user_combo.count())] == [
        "Anyone",
        "maria",
        "nadia",
        "tom",
    ]

    window.user_combo.setCurrentIndex(window.user_combo.findData("tom"))
    assert {r.actor for r in _rows(window)} == {"tom"}
    assert 0 < window.model.rowCount() < total
    window.user_combo.setCurrentIndex(0)

    qtbot.keyClicks(window.case_edit, first.reference.lower())
    qtbot.keyClick(window.case_edit, Qt.Key.Key_Return)
    assert {r.case_reference for r in _rows(window)} == {first.reference}
    window.case_edit.clear()
    qtbot.keyClicks(window.case_edit, "RD-2026-99999")
    qtbot.keyClick(window.case_edit, Qt.Key.Key_Return)
    assert window.model.rowCount() == 0
    assert "No case has the reference “RD-2026-99999”" in window.message.text()
    window.case_edit.clear()  # the clear button: every case again
    assert window.model.rowCount() == total

    qtbot.keyClicks(window.patient_edit, "okaf")
    qtbot.keyClick(window.patient_edit, Qt.Key.Key_Return)  # one match: taken at once
    assert window.patient_edit.text() == "Zoë Okafor (born 1968-04-12)"
    assert {r.patient_name for r in _rows(window)} == {"Zoë Okafor"}

    window.action_items[AuditAction.VIEW].trigger()
    assert [(r.actor, r.action) for r in _rows(window)] == [("nadia", AuditAction.VIEW)]
    assert window.action_button.text() == "Opened"
    window.clear_filters()
    assert window.model.rowCount() == total

    today = datetime.now(UTC).astimezone().date()
    window.from_check.setChecked(True)
    window.from_date.setDate(QDate(today.year, today.month, today.day))
    assert window.model.rowCount() == total
    window.from_check.setChecked(False)
    window.to_check.setChecked(True)
    yesterday = today - timedelta(days=1)
    window.to_date.setDate(QDate(yesterday.year, yesterday.month, yesterday.day))
    assert window.model.rowCount() == 0 and window.count_label.text() == "0 entries"


def test_local_days_become_utc_bounds_with_the_last_day_included() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    day = datetime(2026, 11, 23).date()
    since, until = utc_bounds(day, day, berlin)
    assert since == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert until == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert utc_bounds(None, None, berlin) == (None, None)


def test_the_table_reads_a_page_at_a_time_as_it_is_scrolled(
    qtbot: QtBot, db: Database, opened: list[int], qtmodeltester: object
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as session:
        acting.record_all(
            session,
            [
                AuditEntry(
                    start + timedelta(minutes=n), f"user{n % 3}", AuditAction.SIGN_IN, "user"
                )
                for n in range(1203)
            ],
        )
        session.commit()
    window = _window(qtbot, db, opened)
    assert window.model.rowCount() == 500
    assert window.count_label.text() == (
        "Showing the newest 500 of 1,203 entries; scroll down for more"
    )
    window.table.scrollToBottom()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1000)
    window.table.scrollToBottom()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1203)
    assert window.model.exhausted and window.count_label.text() == "1,203 entries"
    ids = [r.id for r in _rows(window)]
    assert ids == sorted(set(ids), reverse=True) and len(ids) == 1203
    qtmodeltester.check(window.model)  # type: ignore[attr-defined]


def test_a_change_shows_each_field_before_and_after_and_opens_its_case(
    qtbot: QtBot, db: Database, opened: list[int]
) -> None:
    first, _second = _two_cases(db)
    detail = cases.get_case(db, first.id)
    cases.update_case(
        db,
        first.id,
        expected_version=detail.version,
        patient=None,
        case=replace(detail.case, urgency=Urgency.URGENT, stage="IIB"),
        actor=staff("maria"),
    )
    window = _window(qtbot, db, opened)
    assert window.model.data(window.model.index(0, 5)) == (
        f"changed case {first.reference}: Stage IIA → IIB; Urgency Routine → Urgent"
    )
    window.table.selectRow(0)
    table = window.changes_table
    cells = [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]
    assert cells == [("Stage", "IIA", "IIB"), ("Urgency", "Routine", "Urgent")]
    assert f"maria changed case {first.reference}" in window.detail_heading.text()
    assert "patient Zoë Müller" in window.detail_note.text()

    rect = window.table.visualRect(window.model.index(0, 0))
    # A double-click as Qt sees one: a press, then the double-click on the same row.
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened == [first.id]


def test_the_export_writes_the_filtered_entries_to_csv(
    qtbot: QtBot, db: Database, opened: list[int], tmp_path: Path
) -> None:
    first, _second = _two_cases(db)
    window = _window(qtbot, db, opened)
    qtbot.keyClicks(window.case_edit, first.reference)
    qtbot.keyClick(window.case_edit, Qt.Key.Key_Return)
    shown = window.model.rowCount()
    target = tmp_path / "trail.csv"
    with qtbot.waitSignal(window.export_finished, timeout=10_000) as done:
        assert window.export_csv(target) is not None
        assert not window.export_button.isEnabled()
    assert done.args == [shown]
    rows = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == shown + 1 and {r[6] for r in rows[1:]} == {first.reference}
    assert f"Saved {shown} entries to <b>trail.csv</b>" in window.message.text()
    assert window.export_button.isEnabled() and not window.progress.isVisible()
    [export] = audit_log.entries(db, audit_log.AuditFilter(actions=frozenset({AuditAction.EXPORT})))
    assert export.actor == "nadia"


def test_the_integrity_check_says_intact_or_what_is_wrong(
    qtbot: QtBot, db: Database, opened: list[int]
) -> None:
    _two_cases(db)
    window = _window(qtbot, db, opened)
    total = audit_log.count(db)
    with qtbot.waitSignal(window.check_finished, timeout=10_000):
        window.check_integrity()
    assert window.message.text().startswith(f"{total} entries, intact")

    with sqlite3.connect(db.path) as raw:
        raw.execute("DROP TRIGGER audit_entries_no_update")
        raw.execute("UPDATE audit_entries SET detail = 'nothing to see' WHERE id = 3")
    raw.close()
    with qtbot.waitSignal(window.check_finished, timeout=10_000):
        window.check_integrity()
    text = window.message.text()
    assert text.startswith(f"The audit trail is not intact ({total} entries checked).")
    assert "Audit entry 3 (number 3): this entry was changed after it was written." in text


def test_a_patient_is_picked_from_the_names_that_match(
    qtbot: QtBot, db: Database, opened: list[int]
) -> None:
    _two_cases(db)
    window = _window(qtbot, db, opened)
    window.activateWindow()
    window.patient_edit.setFocus()
    qtbot.keyClicks(window.patient_edit, "zo")  # both patients are Zoë
    popup = window.patient_completer.popup()
    qtbot.waitUntil(popup.isVisible)
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Return):
        qtbot.keyClick(popup, key)
    assert window.patient_edit.text() == "Zoë Okafor (born 1968-04-12)"
    assert {r.patient_name for r in _rows(window)} == {"Zoë Okafor"}
    qtbot.keyClick(window.patient_edit, Qt.Key.Key_Backspace)  # editing drops the pick
    assert window.model.rowCount() == audit_log.count(db)

    window.patient_edit.clear()
    qtbot.keyClicks(window.patient_edit, "nobody")
    qtbot.keyClick(window.patient_edit, Qt.Key.Key_Return)
    assert window.message.text() == "No patient's name contains “nobody”."


def test_the_window_remembers_its_size(
    qtbot: QtBot, db: Database, opened: list[int], paths: AppPaths
) -> None:
    state = WindowState(paths.settings_file)
    first = AuditWindow(db, admin(), opened.append, window_state=state)
    qtbot.addWidget(first)
    first.show()
    first.resize(first.width(), 500)
    first.close()
    again = AuditWindow(db, admin(), opened.append, window_state=state)
    qtbot.addWidget(again)
    assert again.height() == 500  # not the first-time 760
