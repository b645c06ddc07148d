"""The administrator's document types, checklists per cancer type, and the file size limit."""

from __future__ import annotations

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.documents import (
    DEFAULT_DOCUMENT_TYPES,
    ChecklistItem,
    default_checklist,
)
from referral_desk.domain.enums import CANCER_TYPES
from referral_desk.services import cases, checklists, documents, settings
from referral_desk.services.errors import NotFoundError, ValidationError
from tests.conftest import NOW, admin, case, patient


def _labels(db: Database, *, active_only: bool = False) -> list[str]:
    return [t.label for t in checklists.document_types(db, active_only=active_only)]


def test_the_shipped_document_types_and_checklists_are_there(db: Database) -> None:
    assert _labels(db) == list(DEFAULT_DOCUMENT_TYPES.values())
    for cancer_type in CANCER_TYPES:
        assert checklists.checklist(db, cancer_type) == default_checklist(cancer_type)
    assert checklists.checklist(db, "breast")[2] == ChecklistItem(
        "pathology_report", "with ER/PR/HER2 status"
    )
    assert [i.document_type for i in checklists.checklist(db, "acute_leukaemia")] == [
        "referral_letter",
        "consent_form",
        "bone_marrow_report",
        "flow_cytometry",
        "cytogenetics",
        "blood_counts",
        "treatment_plan",
    ]


def test_a_new_document_type_is_offered_at_the_end_of_the_list(db: Database) -> None:
    code = checklists.add_document_type(db, "  PET-CT   report ", actor=admin())
    assert code == "pet_ct_report"
    assert _labels(db, active_only=True)[-1] == "PET-CT report"
    assert checklists.type_labels(db)[code] == "PET-CT report"
    # Another name folding to the same code gets a code of its own.
    assert checklists.add_document_type(db, "PET/CT report", actor=admin()) == "pet_ct_report_2"
    # A name in another script still gets a usable code.
    assert checklists.add_document_type(db, "Заключение онколога", actor=admin()) == "type"
    assert checklists.add_document_type(db, "Выписка", actor=admin()) == "type_2"


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "Give the document type a name."),
        (" \t\n ", "Give the document type a name."),
        ("x" * 201, "The name is 201 characters; keep it under 200."),
        ("Pathology report", "There is already a document type 'Pathology report'."),
        ("  PATHOLOGY   report", "There is already a document type 'Pathology report'."),
        ("Pathology Répört", "There is already a document type 'Pathology report'."),
    ],
)
def test_a_document_type_needs_a_name_of_its_own(db: Database, label: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        checklists.add_document_type(db, label, actor=admin())
    assert raised.value.errors == {"label": message}
    assert _labels(db) == list(DEFAULT_DOCUMENT_TYPES.values())


def test_renaming_a_type_shows_the_new_name_on_existing_cases(db: Database) -> None:
    case_id = cases.create_case(db, case(), patient=patient(), actor=admin("m"), now=NOW).id
    checklists.rename_document_type(db, "pathology_report", "Histopathology report", actor=admin())
    labels = {d.document_type: d.label for d in documents.case_records(db, case_id).documents}
    assert labels["pathology_report"] == "Histopathology report"
    # Its own name with other capitals is fine; another type's name is not.
    checklists.rename_document_type(db, "pathology_report", "HISTOPATHOLOGY report", actor=admin())
    with pytest.raises(ValidationError, match="already a document type 'Imaging report'"):
        checklists.rename_document_type(db, "pathology_report", "imaging report", actor=admin())
    with pytest.raises(ValidationError, match="Give the document type a name"):
        checklists.rename_document_type(db, "pathology_report", "  ", actor=admin())
    with pytest.raises(NotFoundError, match="no document type 'x_ray'"):
        checklists.rename_document_type(db, "x_ray", "X-ray", actor=admin())
    assert checklists.type_labels(db)["pathology_report"] == "HISTOPATHOLOGY report"


def test_a_retired_type_leaves_every_checklist_and_cases_keep_theirs(db: Database) -> None:
    old = cases.create_case(db, case(), patient=patient(), actor=admin("m"), now=NOW).id
    checklists.set_document_type_active(db, "treatment_plan", False, actor=admin())

    for cancer_type in CANCER_TYPES:
        assert "treatment_plan" not in {
            i.document_type for i in checklists.checklist(db, cancer_type)
        }
    assert "First oncologist's treatment plan" not in _labels(db, active_only=True)
    retired = next(t for t in checklists.document_types(db) if t.code == "treatment_plan")
    assert (retired.active, retired.cases_using) == (False, 1)

    kept = {d.document_type: d for d in documents.case_records(db, old).documents}
    assert kept["treatment_plan"].label == "First oncologist's treatment plan"
    assert kept["treatment_plan"].required
    new = cases.create_case(db, case(), patient=patient(), actor=admin("m"), now=NOW).id
    assert "treatment_plan" not in {
        d.document_type for d in documents.case_records(db, new).documents
    }

    # Restored, it is offered again, but no checklist gets it back by itself.
    checklists.set_document_type_active(db, "treatment_plan", True, actor=admin())
    assert "First oncologist's treatment plan" in _labels(db, active_only=True)
    assert "treatment_plan" not in {i.document_type for i in checklists.checklist(db, "breast")}
    with pytest.raises(NotFoundError):
        checklists.set_document_type_active(db, "x_ray", False, actor=admin())


def test_a_checklist_is_saved_in_the_order_given(db: Database) -> None:
    checklists.save_checklist(
        db,
        "sarcoma",
        [
            ChecklistItem("pathology_report", "  with   MDM2 status "),
            ChecklistItem("imaging_files"),
            ChecklistItem("referral_letter"),
        ],
        actor=admin(),
    )
    assert checklists.checklist(db, "sarcoma") == (
        ChecklistItem("pathology_report", "with MDM2 status"),
        ChecklistItem("imaging_files"),
        ChecklistItem("referral_letter"),
    )
    checklists.save_checklist(db, "sarcoma", [], actor=admin())  # an empty checklist is allowed
    assert checklists.checklist(db, "sarcoma") == ()


@pytest.mark.parametrize(
    ("cancer_type", "items", "field", "message"),
    [
        (
            "dragon_pox",
            [ChecklistItem("referral_letter")],
            "cancer_type",
            "'dragon_pox' is not a known cancer type.",
        ),
        (
            "breast",
            [ChecklistItem("referral_letter"), ChecklistItem("referral_letter", "again")],
            "items",
            "A document type is listed twice for Breast.",
        ),
        (
            "breast",
            [ChecklistItem("referral_letter"), ChecklistItem("x_ray"), ChecklistItem("a_scan")],
            "items",
            "Not an active document type: a_scan, x_ray.",
        ),
    ],
)
def test_a_wrong_checklist_is_refused_and_the_old_one_kept(
    db: Database, cancer_type: str, items: list[ChecklistItem], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        checklists.save_checklist(db, cancer_type, items, actor=admin())
    assert raised.value.errors == {field: message}
    assert checklists.checklist(db, "breast") == default_checklist("breast")


def test_a_checklist_cannot_name_a_retired_type(db: Database) -> None:
    checklists.set_document_type_active(db, "slides_blocks", False, actor=admin())
    with pytest.raises(ValidationError, match="Not an active document type: slides_blocks"):
        checklists.save_checklist(db, "breast", [ChecklistItem("slides_blocks")], actor=admin())
    assert checklists.checklist(db, "breast") == default_checklist("breast")


# The file size limit


def test_the_file_size_limit_defaults_to_100_mb_and_can_be_changed(db: Database) -> None:
    assert settings.get_max_file_mb(db) == 100
    settings.set_max_file_mb(db, 5, actor=admin())
    assert settings.get_max_file_mb(db) == 5
    settings.set_max_file_mb(db, 900, actor=admin())
    assert settings.get_max_file_mb(db) == 900


@pytest.mark.parametrize("megabytes", [0, -1, 901, 10_000])
def test_a_file_size_limit_out_of_range_is_refused(db: Database, megabytes: int) -> None:
    settings.set_max_file_mb(db, 20, actor=admin())
    with pytest.raises(ValidationError) as raised:
        settings.set_max_file_mb(db, megabytes, actor=admin())
    assert raised.value.errors == {
        "max_file_mb": "The file size limit must be between 1 and 900 MB."
    }
    assert settings.get_max_file_mb(db) == 20
