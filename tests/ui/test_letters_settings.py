"""Administration for the letters: the office profile (letterhead, logo, signature) and the
letter templates with their versions and a preview drawn inside the window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QTextCursor
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.letters import LetterKind
from referral_desk.services import cases, letter_templates, office
from referral_desk.ui.main_window import MainWindow
from referral_desk.ui.office_profile_window import OfficeProfileWindow
from referral_desk.ui.templates_window import TemplatesWindow
from tests.conftest import admin, case, coordinator, patient, staff

LEFT = Qt.MouseButton.LeftButton


def _png(folder: Path, name: str = "logo.png", size: tuple[int, int] = (300, 80)) -> Path:
    image = QImage(*size, QImage.Format.Format_RGB32)
    image.fill(QColor("#1f4e79"))
    path = folder / name
    assert image.save(str(path), "PNG")
    return path


# --- the office profile ------------------------------------------------------------------------
@pytest.fixture
def profile_window(
    qtbot: QtBot, main_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> OfficeProfileWindow:
    main_window.office_profile_action.trigger()  # Settings > Office profile…
    window = main_window._office_profile_window
    assert isinstance(window, OfficeProfileWindow)
    qtbot.waitExposed(window)
    # pytest-qt closes the main window before fixtures end: a test that fails halfway must
    # not leave an "unsaved changes" question blocking that close.
    monkeypatch.setattr(window, "_confirm_leave", lambda: True)
    return window


def test_the_office_profile_is_saved_with_messages_under_the_fields(
    qtbot: QtBot, profile_window: OfficeProfileWindow, db: Database
) -> None:
    window = profile_window
    assert "Referral Desk office" in window.message.text()  # the name printed until set
    assert not window.save_button.isEnabled()
    qtbot.keyClicks(window.name, "Second Opinion Office Basel")
    window.address.setPlainText("Petersgraben 4\n\n4051 Basel\nSwitzerland")
    qtbot.keyClicks(window.email, "office at example")
    qtbot.keyClicks(window.signatory_name, "Lea Brunner")
    qtbot.mouseClick(window.save_button, LEFT)
    assert "not an e-mail address" in window.error_text("email")
    assert window.error_text("name") == ""
    assert office.get_profile(db).name == ""  # nothing saved

    window.email.clear()
    qtbot.keyClicks(window.email, "office@example.org")
    qtbot.mouseClick(window.save_button, LEFT)
    assert window.error_text("email") == ""
    stored = office.get_profile(db)
    assert stored.name == "Second Opinion Office Basel"
    assert stored.address == "Petersgraben 4\n4051 Basel\nSwitzerland"  # blank line dropped
    assert stored.email == "office@example.org"
    assert stored.signatory_name == "Lea Brunner"
    assert "Saved" in window.message.text()
    assert not window.has_unsaved_edits

    window.name.clear()
    qtbot.mouseClick(window.save_button, LEFT)
    assert "office's name" in window.error_text("name")
    assert office.get_profile(db).name == "Second Opinion Office Basel"
    qtbot.mouseClick(window.revert_button, LEFT)  # Undo changes: what is stored again
    assert window.name.text() == "Second Opinion Office Basel"
    assert window.error_text("name") == "" and not window.has_unsaved_edits


def test_a_logo_is_shown_as_a_thumbnail_and_a_file_that_is_no_image_is_refused(
    qtbot: QtBot,
    profile_window: OfficeProfileWindow,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = profile_window
    fake = tmp_path / "logo.png"
    fake.write_text("this is a text file, not a picture")
    chosen = [fake]
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(chosen[0]), "Images")
    )
    logo = window.images["logo"]
    qtbot.mouseClick(logo.choose_button, LEFT)
    assert "logo.png: The logo must be a PNG or JPEG image" in window.error_text("logo")
    assert not window.has_unsaved_edits
    assert logo.thumbnail.pixmap().isNull()
    assert not logo.remove_button.isEnabled()

    chosen[0] = _png(tmp_path, "real-logo.png")
    qtbot.mouseClick(logo.choose_button, LEFT)
    assert window.error_text("logo") == ""
    assert not logo.thumbnail.pixmap().isNull()
    assert office.office_image(db, "logo") is None  # not before Save
    qtbot.keyClicks(window.name, "Basel Office")
    qtbot.mouseClick(window.save_button, LEFT)
    assert office.office_image(db, "logo") == chosen[0].read_bytes()
    assert office.get_profile(db).has_logo

    qtbot.mouseClick(logo.remove_button, LEFT)
    assert logo.thumbnail.pixmap().isNull()
    qtbot.mouseClick(window.save_button, LEFT)
    assert office.office_image(db, "logo") is None


# --- the templates -------------------------------------------------------------------------------
@pytest.fixture
def templates_window(
    qtbot: QtBot, main_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TemplatesWindow]:
    main_window.templates_action.trigger()  # Settings > Letter templates…
    window = main_window._templates_window
    assert isinstance(window, TemplatesWindow)
    qtbot.waitExposed(window)
    # pytest-qt closes the main window before fixtures end: a test that fails halfway must
    # not leave an "unsaved changes" question blocking that close.
    monkeypatch.setattr(window, "_confirm_leave", lambda: True)
    yield window
    window.wait_for_task()


def test_saving_a_template_makes_a_new_version_and_a_bad_placeholder_is_named(
    qtbot: QtBot, templates_window: TemplatesWindow, db: Database
) -> None:
    window = templates_window
    assert window.chosen_kind is LetterKind.SUMMARY
    assert window.current.version == 1
    assert window.versions.count() == 1
    assert "Version 1" in window.version.text()
    names = [
        window.placeholders.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
        for i in range(window.placeholders.topLevelItemCount())
    ]
    assert "patient_name" in names and "recommendation" in names

    window.body.moveCursor(QTextCursor.MoveOperation.End)
    for _ in range(2):
        qtbot.keyClick(window.body, Qt.Key.Key_Return)
    qtbot.keyClicks(window.body, "Your file number is {file_number}.")
    assert "unsaved changes" in window.version.text()
    qtbot.mouseClick(window.save_button, LEFT)
    assert "{file_number}" in window.error_text("body")
    assert letter_templates.current_template(db, LetterKind.SUMMARY).version == 1

    body = window.body.toPlainText().replace("{file_number}", "{reference}")
    window.body.setPlainText(body)
    qtbot.mouseClick(window.save_button, LEFT)
    assert window.error_text("body") == ""
    saved = letter_templates.current_template(db, LetterKind.SUMMARY)
    assert saved.version == 2 and saved.created_by == "tester"
    assert "Your file number is {reference}." in saved.draft.body
    assert window.versions.count() == 2
    assert window.versions.item(0).text().endswith("(current)")
    assert "Saved as version 2" in window.message.text()

    # Version 1's wording can be brought back: as a third version, the second one kept.
    window.versions.setCurrentRow(1)
    qtbot.mouseClick(window.use_version_button, LEFT)
    assert "Your file number is" not in window.body.toPlainText()
    qtbot.mouseClick(window.save_button, LEFT)
    assert letter_templates.current_template(db, LetterKind.SUMMARY).version == 3
    assert len(letter_templates.template_versions(db, LetterKind.SUMMARY)) == 3


def test_a_double_clicked_placeholder_goes_in_where_the_user_was_typing(
    qtbot: QtBot, templates_window: TemplatesWindow
) -> None:
    window = templates_window
    window.kind.setCurrentIndex(window.kind.findData(LetterKind.RECORDS_REQUEST))
    assert window.chosen_kind is LetterKind.RECORDS_REQUEST
    window.salutation.setText("Dear colleague,")
    window.salutation.setFocus()
    window.salutation.setCursorPosition(len("Dear "))
    qtbot.waitUntil(lambda: window._last_editor is window.salutation)
    tree = window.placeholders
    items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    item = next(i for i in items if i.data(0, Qt.ItemDataRole.UserRole) == "referrer_name")
    assert item.text(0) == "{referrer_name}" and "referring" in item.text(1)
    tree.setFocus()
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    # A real double-click starts with a press: Qt activates only the item that was pressed.
    qtbot.mouseClick(tree.viewport(), LEFT, pos=rect.center())
    qtbot.mouseDClick(tree.viewport(), LEFT, pos=rect.center())
    assert window.salutation.text() == "Dear {referrer_name}colleague,"
    assert window.salutation.hasFocus()
    qtbot.mouseClick(window.revert_button, LEFT)
    assert not window.has_unsaved_edits


def test_the_preview_draws_the_pages_inside_the_window(
    qtbot: QtBot, templates_window: TemplatesWindow, db: Database
) -> None:
    pytest.importorskip("pypdfium2", reason="page images need pypdfium2 (pip install pypdfium2)")
    window = templates_window
    opened: list[Path] = []
    window.open_in_viewer = opened.append
    assert not window.open_button.isEnabled()

    qtbot.mouseClick(window.preview_button, LEFT)  # a sample patient
    qtbot.waitUntil(lambda: bool(window.pages.pages), timeout=20_000)
    first = window.pages.pages[0].pixmap()
    assert not first.isNull() and first.width() > 200 and first.height() > first.width()
    assert "for a sample patient" in window.preview_status.text()

    created = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    window.case_reference.setText("rd-nowhere")
    qtbot.mouseClick(window.preview_button, LEFT)
    assert "There is no case rd-nowhere" in window.case_message.text()
    window.case_reference.setText(created.reference.lower())
    qtbot.mouseClick(window.preview_button, LEFT)
    qtbot.waitUntil(
        lambda: created.reference in window.preview_status.text() and bool(window.pages.pages),
        timeout=20_000,
    )
    qtbot.mouseClick(window.open_button, LEFT)
    assert opened and opened[0].read_bytes().startswith(b"%PDF")


def test_the_letterhead_is_the_administrators(qtbot: QtBot, db: Database) -> None:
    office.set_office_details(db, office.OfficeDetails("Zürich office"), actor=admin())
    window = OfficeProfileWindow(db, coordinator("lena"))
    qtbot.addWidget(window)
    window.show()
    assert window.name.text() == "Zürich office" and window.name.isReadOnly()
    assert window.address.isReadOnly()
    assert not window.save_button.isVisible()
    for field in window.images.values():
        assert not field.choose_button.isEnabled()
        assert field.choose_button.toolTip().startswith(
            "A coordinator cannot change the office profile"
        )


def test_the_wording_of_the_letters_is_the_coordinators(qtbot: QtBot, db: Database) -> None:
    window = TemplatesWindow(db, staff("tom"))
    qtbot.addWidget(window)
    window.show()
    assert window.body.toPlainText()  # the wording can be read
    assert all(editor.isReadOnly() for editor in window.editors.values())
    assert not window.save_button.isEnabled()
    assert window.save_button.toolTip().startswith("A staff member cannot change a letter")
    assert not window.use_version_button.isEnabled()
    window.insert_placeholder("patient_name")
    assert not window.has_unsaved_edits
    assert window.preview_button.isEnabled()  # and previewed

    coordinators = TemplatesWindow(db, coordinator("lena"))
    qtbot.addWidget(coordinators)
    assert coordinators.save_button.toolTip().startswith("Letters made from now on")
    assert not coordinators.body.isReadOnly()
