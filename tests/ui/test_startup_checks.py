"""What the app checks as it starts and while it runs: a damaged database is offered its
newest good backup (and nothing changes unless the user says so), a database on a network
share is warned about, an old backup is pointed out after sign-in, and backups are made on
a schedule without interrupting anyone."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.access import UserRole
from referral_desk.domain.audit import AuditAction
from referral_desk.paths import AppPaths
from referral_desk.services import accounts, audit_log, backups, case_list, cases, storage_place
from referral_desk.services.audit_log import AuditFilter
from referral_desk.services.database import health, open_database
from referral_desk.ui import app
from referral_desk.ui.app import Desk
from referral_desk.ui.backup_schedule import BackupSchedule, back_up_on_close
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.main_window import QUIT
from referral_desk.ui.sign_in import SignInDialog
from referral_desk.ui.startup_checks import DamagedDatabaseDialog
from referral_desk.ui.window_state import WindowState
from tests.conftest import NOW, admin, case, patient
from tests.ui.conftest import PASSWORD, Quits, when_modal

GARBAGE = b"SQLite format 3\x00" + b"\x00scribble" * 600


def _office_with_backup(paths: AppPaths, *families: str) -> Path:
    """An office whose database holds these patients' cases, and one automatic backup of it."""
    db = open_database(paths)
    try:
        for family in families:
            cases.create_case(db, case(), patient=patient(family_name=family), actor=admin("t"))
        return backups.automatic_backup(db, paths, now=NOW).path
    finally:
        db.dispose()


def _damage(paths: AppPaths) -> bytes:
    for suffix in ("-wal", "-shm"):
        Path(f"{paths.database}{suffix}").unlink(missing_ok=True)
    paths.database.write_bytes(GARBAGE)
    return GARBAGE


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda *args: said.append(str(args[2])))
    return said


def test_a_damaged_database_is_offered_its_newest_good_backup_and_quit_changes_nothing(
    qtbot: QtBot, paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = _office_with_backup(paths, "Adams", "Brown")
    damaged = _damage(paths)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own hook
    seen: list[str] = []

    def quit_at_the_offer(dialog: QWidget) -> None:
        assert isinstance(dialog, DamagedDatabaseDialog)
        seen.extend([dialog.problem.text(), dialog.offer_title.text(), dialog.offer.text()])
        seen.append(dialog.question.text())
        assert dialog.restore_button.isVisible() and dialog.restore_button.isEnabled()
        dialog.quit_button.click()

    when_modal(qtbot, quit_at_the_offer)
    assert app.run(paths) == 1
    problem, title, offer, question = seen
    assert "damaged" in problem and str(paths.database) in problem
    assert title == "The newest good backup:"
    assert "2 cases, 2 patients" in offer and str(backup) in offer
    assert question.startswith("Restore it?")
    assert paths.database.read_bytes() == damaged  # nothing was overwritten
    assert sorted(p.name for p in paths.backup_dir.iterdir()) == [backup.name]


def test_the_newest_good_backup_is_restored_when_asked_and_the_damaged_file_kept(
    qtbot: QtBot, paths: AppPaths, told: list[str]
) -> None:
    _office_with_backup(paths, "Adams", "Brown")
    damaged = _damage(paths)
    dialog = DamagedDatabaseDialog(paths, "The database file is damaged.")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    assert not dialog.quit_button.isEnabled()  # no quitting halfway
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=10_000)

    assert health(paths.database).ok
    db = open_database(paths)
    try:
        assert case_list.status_counts(db).total == 2
    finally:
        db.dispose()
    kept = dialog.restored.safety_copy if dialog.restored else None
    assert kept is not None and kept.read_bytes() == damaged
    assert kept.parent.parent == paths.backup_dir
    assert told and f"The damaged file was kept in {kept.parent}" in told[0]


def test_without_a_good_backup_the_user_may_choose_a_file_from_elsewhere(
    qtbot: QtBot, paths: AppPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usb_copy = _office_with_backup(paths, "Adams")
    elsewhere = tmp_path / "usb" / "office.sqlite"
    elsewhere.parent.mkdir()
    usb_copy.rename(elsewhere)
    _damage(paths)
    dialog = DamagedDatabaseDialog(paths, "The database file is damaged.")
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.offer_title.text() == "No good backup was found."
    assert "Nothing was changed" in dialog.offer.text()
    assert str(paths.database) in dialog.offer.text()
    assert not dialog.restore_button.isVisible()
    assert dialog.choose_button.text() == "&Choose a backup file…"

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(elsewhere), ""))
    qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
    assert dialog.offer_title.text() == "The backup you chose:"
    assert "1 case, 1 patient" in dialog.offer.text()
    assert dialog.restore_button.isVisible() and dialog.restore_button.isEnabled()
    dialog.quit_button.click()
    assert dialog.result() == QDialog.DialogCode.Rejected


def test_a_network_share_is_warned_about_once_and_the_app_closes_with_a_backup(
    qtbot: QtBot, paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = open_database(paths)
    cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    db.dispose()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(
        storage_place, "network_warning", lambda path: f"The database {path} lies on NFS."
    )
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(str(args[2])))
    # The desk quits at once: start-up is what this test is about.
    monkeypatch.setattr(Desk, "start", lambda self: QTimer.singleShot(0, self._quit))
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    try:
        assert app.run(paths) == 0
    finally:
        qapp.setQuitOnLastWindowClosed(True)
    assert warnings == [f"The database {paths.database} lies on NFS."]
    made = backups.list_automatic(paths.backup_dir)
    assert len(made) == 1 and backups.verify(made[0][1]).summary.cases == 1  # on close


@pytest.fixture
def desk(qtbot: QtBot, db: Database, paths: AppPaths) -> Iterator[Desk]:
    changes = ChangeBus(db.path)
    made = Desk(
        db,
        WindowState(paths.settings_file),
        changes,
        quit_app=Quits(),
        paths=paths,
        clock=lambda: NOW,
    )
    yield made
    if made.window is not None:
        made.window.leave(QUIT, discard_unsaved=True)
    if made.dialog is not None:
        QDialog.done(made.dialog, QDialog.DialogCode.Rejected)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    changes.close()


def _sign_in(qtbot: QtBot, desk: Desk, name: str) -> None:
    dialog = desk.dialog
    assert isinstance(dialog, SignInDialog)
    dialog.user_name.setText(name)
    dialog.password.setText(PASSWORD)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert desk.window is not None


def test_after_sign_in_an_old_backup_is_pointed_out_and_staff_can_back_up_now(
    qtbot: QtBot, db: Database, paths: AppPaths, desk: Desk
) -> None:
    boss = accounts.create_first_administrator(db, "alex", "", PASSWORD)
    accounts.add_user(db, "tom", UserRole.STAFF, PASSWORD, actor=boss)
    cases.create_case(db, case(), patient=patient(), actor=boss)
    backups.automatic_backup(db, paths, now=NOW - timedelta(days=5, hours=2))
    desk.start()
    _sign_in(qtbot, desk, "tom")
    prompt = desk.backup_prompt
    assert prompt is not None and prompt.isVisible() and not prompt.isModal()
    assert "(5 days ago)" in prompt.text() and prompt.text().startswith("The newest backup is")
    assert str(paths.backup_dir) in prompt.informativeText()

    back_up = prompt.findChild(QWidget, "stale_back_up_now")
    assert back_up is not None
    qtbot.mouseClick(back_up, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(backups.list_automatic(paths.backup_dir)) == 2, timeout=10_000)
    window = desk.window
    assert window is not None
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Backed up to"))
    trail = audit_log.entries(db, AuditFilter(actions={AuditAction.BACKUP}))
    assert [r.actor for r in trail] == ["tom"]


def test_no_backup_at_all_is_said_plainly_and_later_leaves_it(
    qtbot: QtBot, db: Database, paths: AppPaths, desk: Desk
) -> None:
    accounts.create_first_administrator(db, "alex", "", PASSWORD)
    cases.create_case(db, case(), patient=patient(), actor=admin("alex"))
    desk.start()
    _sign_in(qtbot, desk, "alex")
    prompt = desk.backup_prompt
    assert prompt is not None and prompt.text() == "No backup has been made yet."
    later = prompt.findChild(QWidget, "stale_later")
    assert later is not None
    qtbot.mouseClick(later, Qt.MouseButton.LeftButton)
    assert backups.list_automatic(paths.backup_dir) == []


def test_an_office_without_cases_is_not_asked_to_back_up(
    qtbot: QtBot, db: Database, paths: AppPaths, desk: Desk
) -> None:
    accounts.create_first_administrator(db, "alex", "", PASSWORD)
    desk.start()
    _sign_in(qtbot, desk, "alex")
    assert desk.backup_prompt is None


def test_the_schedule_backs_up_when_due_and_reports_a_folder_it_cannot_use(
    qtbot: QtBot, db: Database, paths: AppPaths, tmp_path: Path
) -> None:
    cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    moment = [NOW]
    schedule = BackupSchedule(db, paths, clock=lambda: moment[0])
    with qtbot.waitSignal(schedule.made, timeout=10_000):
        assert schedule.check_now() is not None  # none yet: due
    moment[0] = NOW + timedelta(hours=3)
    assert schedule.check_now() is None  # every 4 hours by default
    moment[0] = NOW + timedelta(hours=4)

    blocked = tmp_path / "not a folder"
    backups.save_settings(paths, backups.BackupSettings(blocked, 4), actor=admin("t"))
    blocked.rmdir()
    blocked.write_text("a file where the folder should be")
    with qtbot.waitSignal(schedule.failed, timeout=10_000) as failure:
        schedule.check_now()
    assert str(blocked) in failure.args[0]
    assert "Settings ▸ Backups" in failure.args[0]
    assert schedule.check_now() is None  # not tried again at once
    schedule.stop()
    assert back_up_on_close(db, paths) is None  # logged, not raised
    assert len(backups.list_automatic(paths.backup_dir)) == 1


def test_a_failed_automatic_backup_warns_once_without_blocking(
    qtbot: QtBot, db: Database, paths: AppPaths, desk: Desk
) -> None:
    accounts.create_first_administrator(db, "alex", "", PASSWORD)
    desk.start()
    _sign_in(qtbot, desk, "alex")
    for _retry in range(2):  # retried later: the warning comes once
        desk.backup_failed("The automatic backup to /media/usb failed: the disk is full.")
    boxes = [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.isVisible() and "disk is full" in w.text()
    ]
    assert len(boxes) == 1 and not boxes[0].isModal()
    window = desk.window
    assert window is not None
    assert window.statusBar().currentMessage() == "The automatic backup failed."
    boxes[0].close()
