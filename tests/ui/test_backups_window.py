"""Settings ▸ Backups and restoring a backup, as an administrator uses them: the folder and
interval saved, a backup to a chosen file, the backups listed, a restore previewed,
confirmed and carried out, and back to sign-in."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import shiboken6
from alembic import command
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db import migrate
from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.audit import AuditAction
from referral_desk.paths import AppPaths
from referral_desk.services import accounts, audit_log, backups, case_list, cases
from referral_desk.services.audit_log import AuditFilter
from referral_desk.ui.app import Desk
from referral_desk.ui.backups_window import BackupsWindow
from referral_desk.ui.changes import ChangeBus
from referral_desk.ui.main_window import QUIT, RESTORED, MainWindow
from referral_desk.ui.restore_dialog import RestoreDialog
from referral_desk.ui.sign_in import SignInDialog
from referral_desk.ui.window_state import WindowState
from tests.conftest import NOW, admin, case, patient, staff
from tests.ui.conftest import PASSWORD, Quits, when_modal


def _add_cases(db: Database, *families: str, actor: Actor | None = None) -> None:
    for family in families:
        cases.create_case(
            db, case(), patient=patient(family_name=family), actor=actor or admin("t")
        )


def _window(qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus) -> MainWindow:
    window = MainWindow(db, admin("alex"), WindowState(paths.settings_file), changes, paths=paths)
    qtbot.addWidget(window)
    window.show()
    return window


def _case_count(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        count = int(connection.execute("SELECT count(*) FROM cases").fetchone()[0])
    connection.close()
    return count


def older_schema_copy(source: Path, target: Path) -> Path:
    """A backup as the previous release wrote it (schema 0005: no accounts, no trail)."""
    backups.copy_database(source, target)
    old = Database(target)
    try:
        config = migrate.alembic_config()
        with old.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0005")
    finally:
        old.dispose()
    with sqlite3.connect(target) as connection:
        connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    return target


def test_an_administrator_saves_the_backup_folder_and_interval(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus, tmp_path: Path
) -> None:
    main = _window(qtbot, db, paths, changes)
    main.backups_action.trigger()
    window = main.show_backups()
    assert window.isVisible()
    assert window.folder_edit.text() == str(paths.backup_dir)
    assert window.interval.value() == 4

    window.folder_edit.setText("backups")  # not a full path: refused, nothing stored
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    assert "full folder path" in window.settings_message.text()
    assert backups.load_settings(paths).folder == paths.backup_dir

    second_disk = tmp_path / "second disk" / "Referral Desk backups"
    window.folder_edit.setText(str(second_disk))
    window.interval.setValue(6)
    qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
    stored = backups.load_settings(paths)
    assert (stored.folder, stored.interval_hours) == (second_disk, 6)
    assert window.settings_message.text().startswith(
        f"Saved. Automatic backups go to {second_disk}"
    )
    assert second_disk.is_dir()
    assert window.list_label.text() == f"No backups in {second_disk} yet."


def test_back_up_now_writes_a_checked_copy_to_the_chosen_file(
    qtbot: QtBot,
    db: Database,
    paths: AppPaths,
    changes: ChangeBus,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _add_cases(db, "Adams", "Brown", "Clark")
    usb = tmp_path / "usb"
    usb.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *args: (str(usb / "office copy"), "")
    )
    main = _window(qtbot, db, paths, changes)
    main.back_up_now_action.trigger()  # File ▸ Back up now…
    window = main.show_backups()
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=10_000)
    target = usb / "office copy.sqlite"
    assert window.message.text().startswith(f"Saved and checked: {target}")
    assert "3 cases" in window.message.text()
    check = backups.verify(target)
    assert check.ok and check.summary.cases == 3
    assert [r.detail for r in audit_log.entries(db, AuditFilter(actions={AuditAction.BACKUP}))] == [
        f"saved to {target}"
    ]
    assert window.back_up_button.isEnabled()


def test_the_backup_list_shows_each_kind_newest_first(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus
) -> None:
    _add_cases(db, "Adams")
    older = backups.automatic_backup(db, paths, now=NOW - timedelta(days=1)).path
    _add_cases(db, "Brown")
    newer = backups.automatic_backup(db, paths, now=NOW).path
    safety = paths.backup_dir / "before-restore-2026-11-20T080000Z.sqlite"
    backups.copy_database(older, safety)
    three_days_before = (NOW - timedelta(days=3)).timestamp()
    os.utime(safety, (three_days_before, three_days_before))  # its time is the file's
    main = _window(qtbot, db, paths, changes)
    window = main.show_backups()
    assert window.backup_paths() == [newer, older, safety]
    rows = {
        window.table.topLevelItem(i).text(4): window.table.topLevelItem(i)
        for i in range(window.table.topLevelItemCount())
    }
    assert rows[newer.name].text(1) == "automatic" and rows[newer.name].text(2) == "2"
    assert rows[older.name].text(2) == "1"
    assert rows[safety.name].text(1) == "safety copy before a restore"
    assert window.list_label.text().startswith("3 backups in ")
    assert not window.restore_button.isEnabled()  # nothing selected yet
    window.table.setCurrentItem(rows[older.name])
    assert window.restore_button.isEnabled()


def test_staff_find_the_backup_and_restore_commands_greyed_out(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus
) -> None:
    window = MainWindow(db, staff("tom"), WindowState(paths.settings_file), changes, paths=paths)
    qtbot.addWidget(window)
    for action in (window.backups_action, window.back_up_now_action, window.restore_action):
        assert not action.isEnabled()
        assert "ask an administrator" in action.toolTip()


def _preview(qtbot: QtBot, dialog: RestoreDialog) -> RestoreDialog:
    qtbot.waitUntil(lambda: dialog.check is not None or dialog.problems.isVisible(), timeout=10_000)
    return dialog


def test_an_older_backup_is_previewed_as_upgraded_after_the_restore(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus, tmp_path: Path
) -> None:
    _add_cases(db, "Adams", "Brown")
    old = older_schema_copy(db.path, tmp_path / "from last year.sqlite")
    main = _window(qtbot, db, paths, changes)
    dialog = main.restore_from_backup(old)
    assert dialog is not None
    _preview(qtbot, dialog)
    assert dialog.fields["schema"].text() == "0005, older: it will be upgraded after the restore"
    assert dialog.fields["holds"].text().startswith("2 cases, 2 patients, 0 documents")
    assert "replaces all of the office's current data" in dialog.consequence.text()
    assert str(paths.backup_dir) in dialog.consequence.text()  # where the safety copy goes
    assert not dialog.restore_button.isEnabled()  # not before the confirmation
    dialog.understand.click()
    assert dialog.restore_button.isEnabled()
    dialog.reject()


def test_a_damaged_file_cannot_be_restored(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00scribble" * 600)
    main = _window(qtbot, db, paths, changes)
    dialog = main.restore_from_backup(broken)
    assert dialog is not None
    _preview(qtbot, dialog)
    assert dialog.problems.isVisible() and "broken.sqlite" in dialog.problems.text()
    assert not dialog.understand.isVisibleTo(dialog)
    assert not dialog.restore_button.isEnabled()
    dialog.reject()


@pytest.fixture
def desk(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus
) -> Iterator[tuple[Desk, Quits]]:
    quits = Quits()
    made = Desk(db, WindowState(paths.settings_file), changes, quit_app=quits, paths=paths)
    yield made, quits
    if made.window is not None:
        made.window.leave(QUIT, discard_unsaved=True)
    if made.dialog is not None:
        QDialog.done(made.dialog, QDialog.DialogCode.Rejected)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _sign_in(qtbot: QtBot, desk: Desk, name: str) -> MainWindow:
    dialog = desk.dialog
    assert isinstance(dialog, SignInDialog)
    dialog.user_name.setText(name)
    dialog.password.setText(PASSWORD)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert desk.window is not None
    return desk.window


def test_an_administrator_restores_a_backup_and_everyone_signs_in_again(
    qtbot: QtBot,
    db: Database,
    paths: AppPaths,
    desk: tuple[Desk, Quits],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    boss = accounts.create_first_administrator(db, "alex", "Alex Admin", PASSWORD)
    accounts.add_user(db, "tom", UserRole.STAFF, PASSWORD, actor=boss)
    _add_cases(db, "Adams", "Brown", actor=boss)
    backup = backups.back_up_now(db, tmp_path / "friday.sqlite", actor=boss)
    _add_cases(db, "Clark", actor=boss)  # saved after the backup: gone after the restore
    the_desk, quits = desk
    the_desk.start()
    window = _sign_in(qtbot, the_desk, "alex")
    case_window = window.open_case(cases.get_case(db, 3).id)

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(backup), ""))
    window.restore_action.trigger()  # File ▸ Restore from backup…
    dialog = window.restore_dialog
    assert isinstance(dialog, RestoreDialog) and dialog.isVisible()
    _preview(qtbot, dialog)
    assert dialog.fields["holds"].text().startswith("2 cases, 2 patients")
    assert dialog.fields["schema"].text().endswith("this version's")
    assert not dialog.restore_button.isEnabled()
    qtbot.mouseClick(dialog.understand, Qt.MouseButton.LeftButton)
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda *args: told.append(str(args[2])))
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(the_desk.dialog, SignInDialog), timeout=15_000)

    assert the_desk.window is None and quits.count == 0
    assert not shiboken6.isValid(case_window)  # closed before the restore began
    assert case_list.status_counts(db).total == 2  # the backup's data
    safety = next(paths.backup_dir.glob("before-restore-*.sqlite"))
    assert _case_count(safety) == 3  # the data as it was, kept
    assert told and str(safety) in told[0] and "signs in again" in told[0]
    trail = audit_log.entries(db, AuditFilter(actions={AuditAction.RESTORE, AuditAction.SIGN_OUT}))
    assert [(r.action, r.actor) for r in trail][:2] == [
        (AuditAction.SIGN_OUT, "alex"),
        (AuditAction.RESTORE, "alex"),
    ]
    assert trail[0].detail == RESTORED
    _sign_in(qtbot, the_desk, "tom")  # the restored database's accounts


def test_the_backups_window_hands_the_selected_backup_to_the_restore_preview(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus
) -> None:
    _add_cases(db, "Adams")
    made = backups.automatic_backup(db, paths, now=NOW).path
    main = _window(qtbot, db, paths, changes)
    window: BackupsWindow = main.show_backups()
    window.table.setCurrentItem(window.table.topLevelItem(0))
    qtbot.mouseClick(window.restore_button, Qt.MouseButton.LeftButton)
    dialog = main.restore_dialog
    assert isinstance(dialog, RestoreDialog) and dialog.backup == made
    assert dialog.parent() is window
    _preview(qtbot, dialog)
    assert dialog.check is not None and dialog.check.ok
    dialog.reject()


def test_a_restore_waits_for_unsaved_case_edits_and_a_cancel_keeps_everything(
    qtbot: QtBot, db: Database, paths: AppPaths, changes: ChangeBus, tmp_path: Path
) -> None:
    _add_cases(db, "Adams")
    backup = backups.back_up_now(db, tmp_path / "copy.sqlite", actor=admin("alex"))
    _add_cases(db, "Brown")
    main = _window(qtbot, db, paths, changes)
    case_window = main.open_case(2)
    qtbot.keyClicks(case_window.form.stage, "B")  # typed, not saved
    dialog = main.restore_from_backup(backup)
    assert dialog is not None
    _preview(qtbot, dialog)
    dialog.understand.click()

    def cancel(box: QWidget) -> None:
        assert isinstance(box, QMessageBox) and "Save your changes" in box.text()
        box.button(QMessageBox.StandardButton.Cancel).click()

    when_modal(qtbot, cancel)
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    assert dialog.status.text().startswith("The restore did not start")
    assert dialog.isVisible() and not dialog.restoring
    assert case_window.isVisible() and case_window.form.stage.text() == "IIAB"
    assert case_list.status_counts(db).total == 2  # nothing restored
    dialog.reject()
    main.leave(QUIT, discard_unsaved=True)
