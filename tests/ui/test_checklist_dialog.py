from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.services import cases, checklists, documents, settings
from referral_desk.ui.checklist_dialog import ChecklistDialog
from tests.conftest import admin, case, coordinator, patient
from tests.ui.conftest import when_modal


def test_an_edited_checklist_applies_to_new_cases_only(qtbot: QtBot, db: Database) -> None:
    before = cases.create_case(db, case(), patient=patient(), actor=admin("t"))
    dialog = ChecklistDialog(db, admin())
    qtbot.addWidget(dialog)
    assert dialog.cancer_type.currentData() == "breast"
    dialog.set_required("consent_form", False)
    dialog.set_required("molecular_report", True, "Oncotype DX if done")
    assert dialog.save_checklist_button.isEnabled()
    assert dialog.save_checklist()
    assert "Saved the Breast checklist" in dialog.message.text()

    after = cases.create_case(db, case(), patient=patient(family_name="Okafor"), actor=admin("t"))
    old = {d.document_type for d in documents.case_records(db, before.id).documents}
    new = {d.document_type: d.note for d in documents.case_records(db, after.id).documents}
    assert "consent_form" in old and "molecular_report" not in old
    assert "consent_form" not in new and new["molecular_report"] == "Oncotype DX if done"


def test_document_types_are_added_renamed_and_retired_with_clear_refusals(
    qtbot: QtBot, db: Database
) -> None:
    dialog = ChecklistDialog(db, admin())
    qtbot.addWidget(dialog)
    code = dialog.add_type("Tumour board minutes")
    assert code is not None
    assert dialog.types.currentItem().text() == "Tumour board minutes"  # ready to rename
    assert dialog.add_type("tumour board MINUTES") is None
    assert "already a document type" in dialog.message.text()
    assert dialog.add_type("   ") is None
    assert "Give the document type a name" in dialog.message.text()

    dialog.types.setCurrentRow(
        next(
            i for i in range(dialog.types.count()) if "Tumour board" in dialog.types.item(i).text()
        )
    )
    assert dialog.rename_type("Tumour board summary")
    dialog.set_required(code, True)
    dialog.save_checklist()

    def confirm(box: QWidget) -> None:
        assert isinstance(box, QMessageBox) and "Tumour board summary" in box.text()
        box.button(QMessageBox.StandardButton.Yes).click()

    when_modal(qtbot, confirm)
    dialog.toggle_retired()
    assert "retired" in dialog.message.text()
    assert code not in {i.document_type for i in checklists.checklist(db, "breast")}
    assert code not in {t.code for t in checklists.document_types(db, active_only=True)}


def test_the_file_size_limit_is_saved(qtbot: QtBot, db: Database) -> None:
    dialog = ChecklistDialog(db, admin())
    qtbot.addWidget(dialog)
    assert dialog.limit.value() == 100
    dialog.limit.setValue(250)
    dialog.save_limit()
    assert settings.get_max_file_mb(db) == 250


def test_only_an_administrator_changes_the_checklists(qtbot: QtBot, db: Database) -> None:
    dialog = ChecklistDialog(db, coordinator("lena"))
    qtbot.addWidget(dialog)
    dialog.types.setCurrentRow(0)
    assert dialog.items.rowCount() > 0  # the checklist can be read
    for button in (
        dialog.add_type_button,
        dialog.rename_button,
        dialog.retire_button,
        dialog.save_checklist_button,
        dialog.limit_button,
    ):
        assert not button.isEnabled(), button.objectName()
        assert button.toolTip().startswith("A coordinator cannot change the checklists")
    assert dialog.limit.isReadOnly()
    required = dialog.items.item(0, 0)
    assert not required.flags() & Qt.ItemFlag.ItemIsUserCheckable
    # Even a call from elsewhere is refused by the service, and said.
    assert dialog.add_type("Genetic counselling letter") is None
    assert "cannot add a document type" in dialog.message.text()
    assert "Genetic counselling letter" not in checklists.type_labels(db).values()
