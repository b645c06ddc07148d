from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from referral_desk.cli import main
from referral_desk.domain.costs import PaymentMethod
from referral_desk.domain.enums import CaseStatus, Urgency
from referral_desk.domain.letters import LetterKind
from referral_desk.paths import resolve_paths
from referral_desk.services import accounts, cases, documents
from referral_desk.services.case_list import CaseQuery, fetch_page
from referral_desk.services.database import open_database
from tests.conftest import admin, case, patient

PASSWORD = accounts.DEMO_PASSWORD  # every office's accounts here have the demo's password
ADMIN = admin()  # "admin", as in the demo office


def run(
    capsys: pytest.CaptureFixture[str], *args: str, user: str | None = "admin"
) -> tuple[int, str, str]:
    """The command run as `user` (None: without --user), the password piped in as a
    scheduled job gives it."""
    argv = [*args, "--user", user] if user else list(args)
    with patch.object(sys, "stdin", io.StringIO(f"{PASSWORD}\n" if user else "")):
        code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A demo office, with the demo's accounts."""
    folder = str(tmp_path / "office")
    code, out, _ = run(
        capsys, "demo", "--cases", "250", "--seed", "3", "--data-dir", folder, user=None
    )
    assert code == 0 and "Added 250 demo cases" in out
    return folder


@pytest.fixture
def empty_office(tmp_path: Path) -> str:
    """An office with no cases and one account, its administrator."""
    folder = tmp_path / "empty"
    db = open_database(resolve_paths(folder))
    accounts.create_first_administrator(db, ADMIN.name, "Alex Admin", PASSWORD)
    db.dispose()
    return str(folder)


def test_list_as_json_gives_every_case(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    code, out, _ = run(capsys, "cases", "list", "--format", "json", "--data-dir", data_dir)
    assert code == 0
    records = json.loads(out)
    assert len(records) == 250
    assert {"reference", "patient", "status", "due", "time_left"} <= set(records[0])


def test_list_as_csv_filters_by_status(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    code, out, _ = run(
        capsys, "--data-dir", data_dir, "cases", "list", "--status", "closed", "--format", "csv"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["status"] for r in rows} == {"Closed"}


def test_list_as_table_shows_overdue_cases_and_a_count(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    # One case certainly overdue, whatever day the demo data was made on.
    db = open_database(resolve_paths(data_dir))
    late = cases.create_case(db, case(), patient=patient(family_name="Latecomer"), actor=ADMIN)
    cases.change_status(
        db,
        late.id,
        CaseStatus.READY_FOR_REVIEW,
        reason="Reviewing on the referral letter alone",
        actor=ADMIN,
        now=datetime.now(UTC) - timedelta(days=3),
    )
    db.dispose()
    code, out, _ = run(capsys, "cases", "list", "--overdue", "--data-dir", data_dir)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("REFERENCE")
    rows = lines[1:-1]
    assert any("Latecomer" in line for line in rows)
    assert all("overdue" in line for line in rows)
    assert lines[-1] == f"{len(rows)} case{'s' if len(rows) != 1 else ''}"


def test_list_by_month(capsys: pytest.CaptureFixture[str], data_dir: str) -> None:
    _, everything, _ = run(capsys, "cases", "list", "--format", "json", "--data-dir", data_dir)
    months = {r["received"][:7] for r in json.loads(everything)}
    month = sorted(months)[len(months) // 2]
    _, out, _ = run(
        capsys, "cases", "list", "--month", month, "--format", "json", "--data-dir", data_dir
    )
    records = json.loads(out)
    assert records and all(r["received"].startswith(month) for r in records)


def test_bad_arguments_say_what_is_wrong(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["cases", "list", "--status", "finished", "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unknown status 'finished'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["cases", "list", "--month", "2026-13", "--data-dir", str(tmp_path)])
    assert "not a month" in capsys.readouterr().err


def test_check_reports_a_healthy_database(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    code, out, _ = run(capsys, "check", "--data-dir", data_dir, user=None)
    assert code == 0
    assert "Integrity:       ok" in out and "Result:          healthy" in out
    assert re.search(r"^Audit trail: +[\d,]+ entries, intact$", out, re.MULTILINE)
    assert "SQLite library:" in out


def test_check_fails_clearly_on_a_damaged_file(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    database = Path(data_dir) / "referral-desk.sqlite"
    data = bytearray(database.read_bytes())
    # Overwrite pages in the middle of the file: the header survives, the tables do not.
    middle = len(data) // 2
    data[middle : middle + 8192] = b"\xde\xad\xbe\xef" * 2048
    database.write_bytes(bytes(data))
    for wal in Path(data_dir).glob("referral-desk.sqlite-*"):
        wal.unlink()
    code, out, _ = run(capsys, "check", "--data-dir", data_dir, user=None)
    assert code == 1
    assert "PROBLEMS FOUND" in out or "cannot be read" in out


def test_check_fails_on_a_file_that_is_not_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "referral-desk.sqlite").write_text("these are not the records you want")
    code, out, _ = run(capsys, "check", "--data-dir", str(tmp_path), user=None)
    assert code == 1
    assert "cannot be read" in out


def test_the_data_dir_can_come_from_the_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFERRAL_DESK_DATA_DIR", str(tmp_path / "from-env"))
    code, _, _ = run(capsys, "demo", "--cases", "3", user=None)
    assert code == 0
    assert (tmp_path / "from-env" / "referral-desk.sqlite").exists()


# --- documents -------------------------------------------------------------------------------


def _pdf(path: Path, *lines: str) -> Path:
    from reportlab.pdfgen import canvas

    page = canvas.Canvas(str(path), invariant=1)
    for n, line in enumerate(lines):
        page.drawString(72, 760 - 16 * n, line)
    page.showPage()
    page.save()
    return path


def _sql(data_dir: str, statement: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(Path(data_dir) / "referral-desk.sqlite") as conn:
        rows = conn.execute(statement).fetchall()
    conn.close()
    return rows


def _missing_of(data_dir: str, reference: str) -> list[str]:
    return [
        r[0]
        for r in _sql(
            data_dir,
            "SELECT d.document_type FROM case_documents d JOIN cases c ON c.id = d.case_id "
            f"WHERE c.reference = '{reference}' AND d.required "
            "AND d.status IN ('requested', 'not_available') ORDER BY d.id",
        )
    ]


def _files_of(data_dir: str, reference: str) -> list[str]:
    return [
        r[0]
        for r in _sql(
            data_dir,
            "SELECT f.file_name FROM case_files f JOIN case_documents d ON d.id = "
            f"f.case_document_id JOIN cases c ON c.id = d.case_id WHERE c.reference = "
            f"'{reference}' ORDER BY f.id",
        )
    ]


@pytest.fixture
def waiting(data_dir: str) -> str:
    """A demo case awaiting records (one is taken in if the demo office has none today)."""
    rows = _sql(data_dir, "SELECT reference FROM cases WHERE status = 'awaiting_records'")
    if rows:
        return str(rows[0][0])
    db = open_database(resolve_paths(data_dir))
    reference = cases.create_case(db, case(), patient=patient(), actor=ADMIN).reference
    db.dispose()
    return reference


def test_documents_add_completes_a_demo_case_and_its_text_is_searchable(
    capsys: pytest.CaptureFixture[str], data_dir: str, waiting: str, tmp_path: Path
) -> None:
    missing = _missing_of(data_dir, waiting)
    assert missing
    scan = _pdf(tmp_path / "records.pdf", "Records bundle", "Zanzibarite amplification seen")
    outputs = []
    for document_type in missing:
        code, out, err = run(
            capsys,
            "documents",
            "add",
            waiting.lower(),
            str(scan),
            "--type",
            document_type,
            "--data-dir",
            data_dir,
        )
        assert code == 0 and err == ""
        outputs.append(out)
    assert "'records.pdf' was added." in outputs[0]
    assert all("already stored, so it is kept once" in out for out in outputs[1:])
    assert f"All required records are in: {waiting} is ready for review." in outputs[-1]
    assert _missing_of(data_dir, waiting) == []
    assert _sql(data_dir, f"SELECT status FROM cases WHERE reference = '{waiting}'") == [
        ("ready_for_review",)
    ]
    # The PDF's text was read before the command ended: the case list search finds it.
    db = open_database(resolve_paths(data_dir))
    found = fetch_page(db, CaseQuery(text="zanzibarite")).rows
    db.dispose()
    assert [r.reference for r in found] == [waiting]
    code, out, _ = run(
        capsys,
        "documents",
        "add",
        waiting,
        str(scan),
        "--type",
        missing[0],
        "--data-dir",
        data_dir,
    )
    assert code == 0 and "already attached to this document; it was kept once" in out


def test_documents_add_refuses_bad_files_and_still_adds_the_good_ones(
    capsys: pytest.CaptureFixture[str], data_dir: str, waiting: str, tmp_path: Path
) -> None:
    good = _pdf(tmp_path / "good.pdf", "Pathology report")
    program = tmp_path / "report.pdf"
    program.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    gone = tmp_path / "gone.pdf"
    before = _files_of(data_dir, waiting)
    code, out, err = run(
        capsys,
        "documents",
        "add",
        waiting,
        str(program),
        str(gone),
        str(good),
        str(empty),
        "--type",
        "pathology_report",
        "--data-dir",
        data_dir,
    )
    assert code == 1
    assert "'good.pdf' was added." in out
    errors = err.splitlines()
    assert len(errors) == 3 and all(line.startswith("referral-desk: ") for line in errors)
    assert "'report.pdf' is a program" in errors[0]
    assert "'gone.pdf' was not found in" in errors[1]
    assert "'empty.pdf' is empty" in errors[2]
    assert _files_of(data_dir, waiting) == [*before, "good.pdf"]


def test_documents_add_says_which_case_or_type_is_wrong(
    capsys: pytest.CaptureFixture[str], data_dir: str, waiting: str, tmp_path: Path
) -> None:
    good = _pdf(tmp_path / "good.pdf", "Pathology report")
    code, out, err = run(
        capsys,
        "documents",
        "add",
        "RD-1999-00001",
        str(good),
        "--type",
        "pathology_report",
        "--data-dir",
        data_dir,
    )
    assert code == 1 and out == ""
    assert err == "referral-desk: There is no case RD-1999-00001.\n"
    code, out, err = run(
        capsys,
        "documents",
        "add",
        waiting,
        str(good),
        "--type",
        "pathology",
        "--data-dir",
        data_dir,
    )
    assert code == 1 and out == ""
    assert "'pathology' is not a document type in use" in err
    assert "pathology_report" in err and "Bone-marrow report" in err
    assert "good.pdf" not in _files_of(data_dir, waiting)
    with pytest.raises(SystemExit) as exit_info:
        main(["documents", "add", waiting, str(good), "--data-dir", data_dir])
    assert exit_info.value.code == 2
    assert "--type" in capsys.readouterr().err


def test_documents_add_keeps_a_damaged_pdf_and_says_its_text_was_not_read(
    capsys: pytest.CaptureFixture[str], data_dir: str, waiting: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog garbage\n%%EOF\n")
    code, out, err = run(
        capsys,
        "documents",
        "add",
        waiting,
        str(broken),
        "--type",
        "referral_letter",
        "--data-dir",
        data_dir,
    )
    assert code == 0 and err == ""
    assert "'broken.pdf' was added." in out
    assert "Note: broken.pdf: The PDF is damaged" in out
    assert "broken.pdf" in _files_of(data_dir, waiting)


def test_documents_missing_lists_the_chase_list_in_every_format(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    db = open_database(resolve_paths(data_dir))
    taken_in = cases.create_case(
        db,
        case(referrer_name="=HYPERLINK(evil)", urgency=Urgency.URGENT),
        patient=patient(given_names="@Ann"),
        actor=ADMIN,
    )
    expected = documents.chase_list(db)
    db.dispose()
    code, out, _ = run(capsys, "documents", "missing", "--format", "json", "--data-dir", data_dir)
    assert code == 0
    records = json.loads(out)
    assert len(records) == len(expected) > 0
    assert [r["reference"] for r in records] == [r.reference for r in expected]
    urgency = [r["urgency"] for r in records]
    assert urgency == sorted(urgency, key=lambda u: u != "Urgent")  # urgent first
    ours = [r for r in records if r["reference"] == taken_in.reference]
    assert len(ours) == 5  # breast: the checklist's five documents, all still requested
    assert ours[0]["patient"] == "@Ann Müller" and ours[0]["referrer"] == "=HYPERLINK(evil)"
    assert isinstance(ours[0]["waiting_days"], int) and ours[0]["chase_count"] == 0
    assert {
        "reference",
        "patient",
        "urgency",
        "document",
        "requested",
        "waiting_days",
        "chase_count",
        "last_chased",
        "referrer",
        "referrer_phone",
        "referrer_email",
    } <= set(records[0])
    assert any(r["referrer_phone"] and r["referrer_email"] for r in records)

    code, out, _ = run(capsys, "documents", "missing", "--format", "csv", "--data-dir", data_dir)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == len(records)
    ours_csv = [r for r in rows if r["reference"] == taken_in.reference]
    assert ours_csv[0]["patient"] == "'@Ann Müller"
    assert ours_csv[0]["referrer"] == "'=HYPERLINK(evil)"

    code, out, _ = run(capsys, "documents", "missing", "--data-dir", data_dir)
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("REFERENCE") and "EMAIL" in lines[0]
    assert len(lines) == len(records) + 2
    case_count = len({r["reference"] for r in records})
    assert lines[-1] == f"{len(records)} missing documents in {case_count} cases"
    assert any(taken_in.reference in line and "Referral letter" in line for line in lines)


def test_documents_missing_in_an_empty_office(
    capsys: pytest.CaptureFixture[str], empty_office: str
) -> None:
    code, out, _ = run(capsys, "documents", "missing", "--data-dir", empty_office)
    assert code == 0 and out.splitlines()[-1] == "0 missing documents in 0 cases"
    code, out, _ = run(
        capsys, "documents", "missing", "--format", "json", "--data-dir", empty_office
    )
    assert json.loads(out) == []


def test_documents_verify_passes_and_then_finds_a_damaged_file(
    capsys: pytest.CaptureFixture[str], data_dir: str, waiting: str, tmp_path: Path
) -> None:
    scan = _pdf(tmp_path / "own-scan.pdf", "A file only this case has")
    assert (
        run(
            capsys,
            "documents",
            "add",
            waiting,
            str(scan),
            "--type",
            "imaging_files",
            "--data-dir",
            data_dir,
        )[0]
        == 0
    )
    stored = _sql(data_dir, "SELECT count(*) FROM blobs")[0][0]
    code, out, err = run(capsys, "documents", "verify", "--data-dir", data_dir)
    assert code == 0 and err == ""
    assert out == f"{stored} stored files checked, all intact\n"

    with sqlite3.connect(Path(data_dir) / "referral-desk.sqlite") as conn:
        conn.execute(
            "UPDATE blobs SET content = zeroblob(length(content)) WHERE id = (SELECT blob_id "
            "FROM case_files WHERE file_name = 'own-scan.pdf')"
        )
    conn.close()
    code, out, err = run(capsys, "documents", "verify", "--data-dir", data_dir)
    assert code == 1
    assert f"{stored} stored files checked, 1 DAMAGED" in out
    assert f"    {waiting}: own-scan.pdf" in out.splitlines()
    assert "restore a backup" in err


def test_documents_verify_in_an_empty_office(
    capsys: pytest.CaptureFixture[str], empty_office: str
) -> None:
    assert run(capsys, "documents", "verify", "--data-dir", empty_office) == (
        0,
        "0 stored files checked, all intact\n",
        "",
    )


def test_list_incomplete_shows_only_cases_with_documents_missing(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    code, out, _ = run(
        capsys, "cases", "list", "--incomplete", "--format", "json", "--data-dir", data_dir
    )
    assert code == 0
    rows = json.loads(out)
    expected = _sql(
        data_dir,
        "SELECT count(*) FROM cases WHERE missing_documents > 0 "
        "AND status NOT IN ('closed', 'cancelled')",
    )[0][0]
    assert len(rows) == expected > 0
    assert all(int(r["missing_documents"]) > 0 for r in rows)


# --- specialists and assignment ----------------------------------------------------------------


def _roster(db: Any) -> dict[str, int]:
    """A small hand-built roster: two breast oncologists, a pathologist, one away, one inactive."""
    from referral_desk.domain.specialists import Discipline
    from referral_desk.services import specialists
    from referral_desk.services.specialists import SpecialistDraft

    today = date.today()
    ids = {
        "zoe": specialists.create_specialist(
            db,
            SpecialistDraft(
                name="Zoë Lindqvist",
                discipline=Discipline.MEDICAL_ONCOLOGY,
                capacity=4,
                title="Prof. Dr. med.",
                cancer_types=frozenset({"breast", "ovarian", "other"}),
                phone="+44 20 7946 0001",
                email="z.lindqvist@clinic.example",
                fee_minor=45050,
            ),
            actor=ADMIN,
        ),
        "asa": specialists.create_specialist(
            db,
            SpecialistDraft(
                name="Åsa Lindgren",
                discipline=Discipline.MEDICAL_ONCOLOGY,
                capacity=3,
                cancer_types=frozenset({"breast"}),
            ),
            actor=ADMIN,
        ),
        "away": specialists.create_specialist(
            db,
            SpecialistDraft(
                name="Jonas Weber",
                discipline=Discipline.RADIATION_ONCOLOGY,
                capacity=5,
                cancer_types=frozenset({"breast"}),
            ),
            actor=ADMIN,
        ),
        "pathologist": specialists.create_specialist(
            db,
            SpecialistDraft(
                name="=HYPERLINK(evil)",
                discipline=Discipline.PATHOLOGY,
                capacity=8,
                cancer_types=frozenset({"breast"}),
                fee_minor=30000,
            ),
            actor=ADMIN,
        ),
        "retired": specialists.create_specialist(
            db,
            SpecialistDraft(
                name="Heinrich Vogt",
                discipline=Discipline.MEDICAL_ONCOLOGY,
                capacity=5,
                active=False,
            ),
            actor=ADMIN,
        ),
    }
    for who, first, last, note in (
        ("away", -1, 6, "Annual leave"),
        ("away", 30, 32, "Congress"),
        ("zoe", -20, -10, ""),
        ("zoe", 9, 9, ""),
    ):
        specialists.add_absence(
            db,
            ids[who],
            today + timedelta(days=first),
            today + timedelta(days=last),
            note,
            actor=ADMIN,
        )
    return ids


@pytest.fixture
def office(tmp_path: Path) -> tuple[str, str, dict[str, int]]:
    """(data folder, the reference of a breast case ready for review, the roster's ids)."""
    folder = str(tmp_path / "office")
    db = open_database(resolve_paths(folder))
    ids = _roster(db)
    created = cases.create_case(db, case(), patient=patient(), actor=ADMIN)
    cases.change_status(
        db, created.id, CaseStatus.READY_FOR_REVIEW, reason="Reviewing on what we have", actor=ADMIN
    )
    accounts.create_first_administrator(db, ADMIN.name, "Alex Admin", PASSWORD)
    db.dispose()
    return folder, created.reference, ids


def _assignments(data_dir: str, reference: str) -> list[tuple[Any, ...]]:
    return _sql(
        data_dir,
        "SELECT s.name, a.role, a.status, a.override_reason, a.end_reason FROM assignments a "
        "JOIN specialists s ON s.id = a.specialist_id JOIN cases c ON c.id = a.case_id "
        f"WHERE c.reference = '{reference}' ORDER BY a.id",
    )


def test_specialists_list_as_json_and_csv(
    capsys: pytest.CaptureFixture[str], office: tuple[str, str, dict[str, int]]
) -> None:
    folder, _, _ = office
    today = date.today()
    code, out, err = run(capsys, "specialists", "list", "--format", "json", "--data-dir", folder)
    assert code == 0 and err == ""
    records = {r["name"]: r for r in json.loads(out)}
    assert sorted(records) == sorted(
        ["=HYPERLINK(evil)", "Jonas Weber", "Zoë Lindqvist", "Åsa Lindgren"]
    )  # active only
    zoe = records["Zoë Lindqvist"]
    assert zoe == {
        "name": "Zoë Lindqvist",
        "title": "Prof. Dr. med.",
        "discipline": "Medical oncology",
        # The office's order of cancer types, by their labels.
        "sub_specialties": ["Breast", "Ovarian", "Other / unknown primary"],
        "phone": "+44 20 7946 0001",
        "email": "z.lindqvist@clinic.example",
        "fee": "450.50",
        "capacity": 4,
        "active_cases": 0,
        "due_soon": 0,
        "overdue": 0,
        "status": "active",
        # The past absence is over: the next one is shown.
        "next_absence_from": (today + timedelta(days=9)).isoformat(),
        "next_absence_to": (today + timedelta(days=9)).isoformat(),
        "next_absence_note": "",
    }
    away = records["Jonas Weber"]
    assert away["next_absence_from"] == (today - timedelta(days=1)).isoformat()
    assert away["next_absence_note"] == "Annual leave"
    assert records["Åsa Lindgren"]["fee"] == "0.00"
    assert records["Åsa Lindgren"]["next_absence_from"] == ""

    code, out, _ = run(
        capsys, "specialists", "list", "--all", "--format", "csv", "--data-dir", folder
    )
    rows = {r["email"] or r["name"]: r for r in csv.DictReader(io.StringIO(out))}
    assert code == 0 and len(rows) == 5
    assert rows["'=HYPERLINK(evil)"]["discipline"] == "Pathology"  # no formula in a spreadsheet
    assert rows["z.lindqvist@clinic.example"]["phone"] == "'+44 20 7946 0001"
    assert rows["z.lindqvist@clinic.example"]["sub_specialties"] == (
        "Breast; Ovarian; Other / unknown primary"
    )
    assert rows["Heinrich Vogt"]["status"] == "inactive"


def test_specialists_list_as_a_table_shows_load_and_absence(
    capsys: pytest.CaptureFixture[str], office: tuple[str, str, dict[str, int]]
) -> None:
    folder, reference, _ = office
    assert run(capsys, "assign", reference, "zoë", "--data-dir", folder)[0] == 0
    code, out, _ = run(capsys, "specialists", "list", "--data-dir", folder)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("NAME") and "NEXT ABSENCE" in lines[0] and "EMAIL" in lines[0]
    assert lines[-1] == "4 active specialists (1 inactive not shown: add --all)"
    zoe = next(line for line in lines if line.startswith("Zoë Lindqvist"))
    assert "1 of 4" in zoe and "450.50" in zoe and zoe.endswith("z.lindqvist@clinic.example")
    weber = next(line for line in lines if line.startswith("Jonas Weber"))
    until = (date.today() + timedelta(days=6)).isoformat()
    assert f"away until {until} (Annual leave)" in weber
    assert not any(line.startswith("Heinrich Vogt") for line in lines)

    code, out, _ = run(capsys, "specialists", "list", "--all", "--data-dir", folder)
    lines = out.splitlines()
    assert lines[-1] == "5 specialists"
    assert "inactive" in next(line for line in lines if line.startswith("Heinrich Vogt"))


def test_specialists_list_in_an_empty_office(
    capsys: pytest.CaptureFixture[str], empty_office: str
) -> None:
    code, out, _ = run(capsys, "specialists", "list", "--data-dir", empty_office)
    assert code == 0 and out.splitlines()[-1] == "0 active specialists"
    code, out, _ = run(
        capsys, "specialists", "list", "--format", "json", "--data-dir", empty_office
    )
    assert code == 0 and json.loads(out) == []


def test_specialists_list_on_the_demo_office(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    code, out, _ = run(capsys, "specialists", "list", "--format", "json", "--data-dir", data_dir)
    active = json.loads(out)
    code_all, out_all, _ = run(
        capsys, "specialists", "list", "--all", "--format", "json", "--data-dir", data_dir
    )
    everyone = json.loads(out_all)
    assert code == code_all == 0
    assert 10 <= len(active) < len(everyone)
    assert {r["status"] for r in active} == {"active"}
    assert all(r["sub_specialties"] and r["email"].endswith(".example") for r in everyone)
    assert sum(r["active_cases"] for r in everyone) > 0


def test_assign_moves_a_ready_case_under_review(
    capsys: pytest.CaptureFixture[str], office: tuple[str, str, dict[str, int]]
) -> None:
    folder, reference, ids = office
    code, out, err = run(capsys, "assign", reference.lower(), "ZOE LINDQVIST", "--data-dir", folder)
    assert (code, err) == (0, "")
    assert out == (
        f"Zoë Lindqvist is asked to be the primary reviewer of {reference}. "
        "The case is now under review.\n"
    )
    assert _sql(
        folder, f"SELECT status, specialist_id FROM cases WHERE reference = '{reference}'"
    ) == [("under_review", ids["zoe"])]
    # A re-review alongside: the primary reviewer stays.
    code, out, _ = run(
        capsys, "assign", reference, "hyperlink", "--role", "pathology", "--data-dir", folder
    )
    assert code == 0 and "pathology" in out and "now under review" not in out
    assert _assignments(folder, reference) == [
        ("Zoë Lindqvist", "primary", "proposed", "", ""),
        ("=HYPERLINK(evil)", "pathology", "proposed", "", ""),
    ]


def test_assign_reassigning_asks_for_a_reason(
    capsys: pytest.CaptureFixture[str], office: tuple[str, str, dict[str, int]]
) -> None:
    folder, reference, ids = office
    assert run(capsys, "assign", reference, "Zoë", "--data-dir", folder)[0] == 0
    code, out, err = run(capsys, "assign", reference, "Åsa Lindgren", "--data-dir", folder)
    assert code == 1 and out == ""
    assert err == (
        f"referral-desk: {reference} already has a primary reviewer. Say why it goes to "
        "Åsa Lindgren instead.\nreferral-desk: give the reason with --reassign REASON.\n"
    )
    code, out, err = run(
        capsys,
        "assign",
        reference,
        "asa",
        "--reassign",
        "Zoë is at a congress",
        "--data-dir",
        folder,
    )
    assert code == 0 and err == ""
    assert out.startswith("Åsa Lindgren is asked to be the primary reviewer")
    assert _assignments(folder, reference) == [
        ("Zoë Lindqvist", "primary", "replaced", "", "Zoë is at a congress"),
        ("Åsa Lindgren", "primary", "proposed", "", ""),
    ]
    assert _sql(folder, f"SELECT specialist_id FROM cases WHERE reference = '{reference}'") == [
        (ids["asa"],)
    ]
    code, _, err = run(
        capsys, "assign", reference, "asa", "--reassign", "again", "--data-dir", folder
    )
    assert code == 1 and err == "referral-desk: Åsa Lindgren is already the primary reviewer.\n"


def test_assign_someone_ruled_out_needs_an_override_reason(
    capsys: pytest.CaptureFixture[str], office: tuple[str, str, dict[str, int]]
) -> None:
    folder, reference, _ = office
    for override in ([], ["--override", "   "]):
        code, out, err = run(capsys, "assign", reference, "weber", *override, "--data-dir", folder)
        assert code == 1 and out == ""
        lines = err.splitlines()
        assert lines[0].startswith("referral-desk: Jonas Weber is ruled out (away ")
        assert "(Annual leave)" in lines[0]
        assert lines[1] == "referral-desk: give the reason with --override REASON."
    code, _, err = run(capsys, "assign", reference, "vogt", "--data-dir", folder)
    assert code == 1 and "Heinrich Vogt is ruled out (inactive)" in err
    assert _assignments(folder, reference) == []
    assert _sql(folder, f"SELECT status FROM cases WHERE reference = '{reference}'") == [
        ("ready_for_review",)
    ]
    code, out, err = run(
        capsys,
        "assign",
        reference,
        "weber",
        "--override",
        "Reviews from home this week",
        "--data-dir",
        folder,
    )
    assert code == 0 and err == "" and "Jonas Weber is asked" in out
    assert _assignments(folder, reference) == [
        ("Jonas Weber", "primary", "proposed", "Reviews from home this week", "")
    ]


def test_assign_says_which_case_specialist_or_role_is_wrong(
    capsys: pytest.CaptureFixture[str], office: tuple[str, str, dict[str, int]]
) -> None:
    folder, reference, _ = office
    code, out, err = run(capsys, "assign", "RD-1999-00001", "zoe", "--data-dir", folder)
    assert (code, out) == (1, "")
    assert err == "referral-desk: There is no case RD-1999-00001.\n"
    code, out, err = run(capsys, "assign", reference, "Nobody", "--data-dir", folder)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "referral-desk: There is no specialist called 'Nobody'.",
        "referral-desk: `referral-desk specialists list --all` shows every name.",
    ]
    code, out, err = run(capsys, "assign", reference, "lind", "--data-dir", folder)
    assert (code, out) == (1, "")
    assert err == (
        "referral-desk: 'lind' could be several specialists: Zoë Lindqvist, Åsa Lindgren.\n"
    )
    code, _, err = run(capsys, "assign", reference, "  ", "--data-dir", folder)
    assert code == 1 and err == "referral-desk: give the specialist's name.\n"
    code, _, err = run(
        capsys, "assign", reference, "Zoë", "--role", "pathology", "--data-dir", folder
    )
    assert code == 1
    assert err == (
        "referral-desk: Zoë Lindqvist (Medical oncology) cannot be the pathology re-reviewer.\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["assign", reference, "Zoë", "--role", "surgeon", "--data-dir", folder])
    assert exit_info.value.code == 2
    assert "invalid choice: 'surgeon'" in capsys.readouterr().err
    assert _assignments(folder, reference) == []


def test_assign_refuses_a_case_past_review(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    closed = _sql(data_dir, "SELECT reference FROM cases WHERE status = 'closed' LIMIT 1")[0][0]
    before = _sql(data_dir, "SELECT count(*) FROM assignments")
    name = _sql(
        data_dir,
        "SELECT name FROM specialists WHERE active AND discipline = 'medical_oncology' LIMIT 1",
    )[0][0]
    code, out, err = run(capsys, "assign", closed, name, "--data-dir", data_dir)
    assert (code, out) == (1, "")
    assert err == f"referral-desk: {closed} is closed: it is past review.\n"
    assert _sql(data_dir, "SELECT count(*) FROM assignments") == before


# --- costs, payments and the fee schedule ------------------------------------------------------


@pytest.fixture
def charged(
    office: tuple[str, str, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """(data folder, reference) of a case in a euro office on a German computer: Zoë's fee
    (450.50) quoted on assignment and charged, nothing paid yet."""
    from referral_desk.services import costs, specialists
    from referral_desk.services import office as office_service

    monkeypatch.setenv("LC_NUMERIC", "de_DE.UTF-8")
    folder, reference, ids = office
    db = open_database(resolve_paths(folder))
    office_service.set_currency(db, "EUR", actor=ADMIN)
    case_id = _case_id(db, reference)
    specialists.assign(db, case_id, ids["zoe"], actor=ADMIN, override_reason="Agreed by phone")
    for line in costs.case_costs(db, case_id).lines:
        costs.charge_line(db, line.id, actor=ADMIN)
    db.dispose()
    return folder, reference


def _case_id(db: Any, reference: str) -> int:
    from referral_desk.services.lookup import case_id_for_reference

    return case_id_for_reference(db, reference)


def _payments(folder: str, reference: str) -> list[tuple[Any, ...]]:
    return _sql(
        folder,
        "SELECT p.amount_minor, p.paid_on, p.method, p.reference, p.reason FROM payments p "
        f"JOIN cases c ON c.id = p.case_id WHERE c.reference = '{reference}' ORDER BY p.id",
    )


def _show(capsys: pytest.CaptureFixture[str], folder: str, reference: str) -> dict[str, Any]:
    code, out, _ = run(capsys, "costs", "show", reference, "--format", "json", "--data-dir", folder)
    assert code == 0
    return dict(json.loads(out))


def test_costs_show_lists_lines_payments_and_totals_in_the_locale(
    capsys: pytest.CaptureFixture[str], charged: tuple[str, str]
) -> None:
    folder, reference = charged
    code, _, _ = run(
        capsys,
        "payments",
        "add",
        reference,
        "200",
        "--method",
        "card",
        "--reference",
        "POS 4711",
        "--data-dir",
        folder,
    )
    assert code == 0
    code, out, _ = run(capsys, "costs", "show", reference, "--history", "--data-dir", folder)
    assert code == 0
    assert f"{reference}: costs in EUR" in out
    line = next(row for row in out.splitlines() if "Zoë Lindqvist" in row)
    assert line.startswith("Final") and line.count("450,50\u00a0€") == 2  # unit price, total
    payment = next(row for row in out.splitlines() if "POS 4711" in row)
    assert payment.startswith(date.today().isoformat()) and "Card" in payment
    assert "200,00\u00a0€" in payment
    totals = {row.split("  ")[0]: row.split()[-2:] for row in out.splitlines() if "  " in row}
    assert totals["Charged"] == ["450,50", "€"] and totals["Balance"] == ["250,50", "€"]
    assert "Status             Partly paid" in out
    history = out.split("History, newest first:")[1]
    assert "Received EUR 200.00 by card" in history.splitlines()[1]
    assert "Quoted 'Second opinion consultation: Zoë Lindqvist', EUR 450.50" in history


def test_costs_show_as_json_gives_integer_minor_units(
    capsys: pytest.CaptureFixture[str], charged: tuple[str, str]
) -> None:
    folder, reference = charged
    shown = _show(capsys, folder, reference)
    assert shown["currency"] == "EUR" and shown["minor_digits"] == 2
    (line,) = shown["lines"]
    assert line["kind"] == "final" and line["service"] == "CONSULT" and line["from_assignment"]
    assert (line["quantity"], line["unit_price_minor"], line["total_minor"]) == (1, 45050, 45050)
    assert shown["totals"] == {
        "estimated_minor": 0,
        "awaiting_approval_minor": 0,
        "charged_minor": 45050,
        "paid_minor": 0,
        "balance_minor": 45050,
        "status": "unpaid",
    }
    assert shown["payments"] == [] and len(shown["history"]) == 2

    def numbers(value: Any) -> Iterator[Any]:
        if isinstance(value, dict):
            for item in value.values():
                yield from numbers(item)
        elif isinstance(value, list):
            for item in value:
                yield from numbers(item)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield value

    assert all(isinstance(n, int) for n in numbers(shown))  # no float on the money path


def test_payments_add_reads_the_locale_and_plain_amounts(
    capsys: pytest.CaptureFixture[str], charged: tuple[str, str]
) -> None:
    folder, reference = charged
    code, out, err = run(
        capsys,
        "payments",
        "add",
        reference.lower(),
        "1,50",
        "--method",
        "cash",
        "--date",
        "2026-11-20",
        "--data-dir",
        folder,
    )
    assert code == 0 and err == ""
    assert "Received EUR 1.50 by cash on 2026-11-20." in out
    assert "balance 449,00\u00a0€ (Partly paid)" in out
    # A script may write the plain form whatever the locale: 100.25 is not read as 10025.
    code, out, _ = run(
        capsys,
        "payments",
        "add",
        reference,
        "100.25",
        "--method",
        "bank-transfer",
        "--reference",
        "TRF 1",
        "--data-dir",
        folder,
    )
    assert code == 0
    # And the locale's own grouping still means what a German reads: 1.000 is a thousand.
    code, _, err = run(
        capsys,
        "payments",
        "add",
        reference,
        "1.000",
        "--method",
        "insurance",
        "--data-dir",
        folder,
    )
    assert code == 0 and "warning" in err
    assert [(p[0], p[2]) for p in _payments(folder, reference)] == [
        (150, "cash"),
        (10025, "bank_transfer"),
        (100000, "insurance"),
    ]


def test_an_overpayment_is_warned_of_and_recorded_and_can_be_refunded(
    capsys: pytest.CaptureFixture[str], charged: tuple[str, str]
) -> None:
    folder, reference = charged
    code, out, err = run(
        capsys, "payments", "add", reference, "500", "--method", "card", "--data-dir", folder
    )
    assert code == 0
    assert err.startswith("referral-desk: warning: ") and "EUR 49.50 more than" in err
    assert "overpayment" in err
    assert "balance -49,50\u00a0€ (Overpaid)" in out
    code, out, err = run(
        capsys,
        "payments",
        "add",
        reference,
        "49,50",
        "--method",
        "card",
        "--refund",
        "--reason",
        "Paid more than the invoice",
        "--data-dir",
        folder,
    )
    assert code == 0 and err == ""  # a refund is never an overpayment
    assert "Refunded EUR 49.50 by card" in out and "(Paid)" in out
    assert [(p[0], p[4]) for p in _payments(folder, reference)] == [
        (50000, ""),
        (-4950, "Paid more than the invoice"),
    ]
    totals = _show(capsys, folder, reference)["totals"]
    assert (totals["paid_minor"], totals["balance_minor"], totals["status"]) == (45050, 0, "paid")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["12,5O", "--method", "card"], "AMOUNT: '12,5O' is not an amount"),
        (["zwölf", "--method", "card"], "e.g. 1.234,50, or plainly, e.g. 1234.50"),
        (["12,345", "--method", "card"], "more decimal places than EUR has (2)"),
        (["-5", "--method", "card"], "add --refund --reason TEXT"),
        (["0", "--method", "card"], "A payment of zero records nothing"),
        (["99999999", "--method", "card"], "implausibly large"),
        (["5", "--method", "card", "--refund"], "a refund needs --reason TEXT"),
        (["5", "--method", "card", "--refund", "--reason", "x"], "a refund cannot be larger"),
        (["5", "--method", "card", "--date", "2099-01-01"], "cannot be dated in the future"),
    ],
)
def test_bad_payments_are_refused_and_nothing_is_saved(
    capsys: pytest.CaptureFixture[str],
    charged: tuple[str, str],
    arguments: list[str],
    message: str,
) -> None:
    folder, reference = charged
    code, out, err = run(capsys, "payments", "add", reference, *arguments, "--data-dir", folder)
    assert code == 1 and out == ""
    assert message in err and "Nothing was recorded" in err
    assert _payments(folder, reference) == []
    assert _show(capsys, folder, reference)["totals"]["balance_minor"] == 45050


def test_payments_add_refuses_a_bad_method_or_date_before_anything(
    capsys: pytest.CaptureFixture[str], charged: tuple[str, str]
) -> None:
    folder, reference = charged
    with pytest.raises(SystemExit) as exit_info:
        main(["payments", "add", reference, "5", "--method", "cheque", "--data-dir", folder])
    assert exit_info.value.code == 2
    assert "unknown payment method 'cheque'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["payments", "add", reference, "5", "--method", "card", "--date", "1.12.2026"])
    assert "'1.12.2026' is not a date; write it as YYYY-MM-DD" in capsys.readouterr().err
    assert _payments(folder, reference) == []


def test_costs_and_payments_say_which_case_is_unknown(
    capsys: pytest.CaptureFixture[str], charged: tuple[str, str]
) -> None:
    folder, _ = charged
    code, out, err = run(capsys, "costs", "show", "RD-1999-00001", "--data-dir", folder)
    assert (code, out) == (1, "") and "There is no case RD-1999-00001" in err
    code, out, err = run(
        capsys, "payments", "add", "RD-1999-00001", "5", "--method", "card", "--data-dir", folder
    )
    assert (code, out) == (1, "") and "There is no case RD-1999-00001" in err


def test_costs_show_a_case_without_costs(
    capsys: pytest.CaptureFixture[str], office: tuple[str, str, dict[str, int]]
) -> None:
    folder, reference, _ = office
    code, out, _ = run(capsys, "costs", "show", reference, "--data-dir", folder)
    assert code == 0
    assert "No cost lines yet." in out and "No payments yet." in out
    assert "Status             Nothing due" in out


def test_cases_list_filters_unpaid_and_awaiting_approval_with_money_columns(
    capsys: pytest.CaptureFixture[str], charged: tuple[str, str]
) -> None:
    from referral_desk.services import costs

    folder, reference = charged
    db = open_database(resolve_paths(folder))
    quoted = cases.create_case(db, case(), patient=patient(family_name="Quote"), actor=ADMIN)
    costs.add_line(
        db,
        quoted.id,
        costs.LineDraft("PET-CT scan", 1, 110000, needs_approval=True),
        actor=ADMIN,
    )
    costs.add_payment(
        db, quoted.id, costs.PaymentDraft(50000, date.today(), PaymentMethod.CARD), actor=ADMIN
    )
    cases.create_case(db, case(), patient=patient(family_name="Free"), actor=ADMIN)
    db.dispose()

    code, out, _ = run(
        capsys, "cases", "list", "--unpaid", "--format", "json", "--data-dir", folder
    )
    assert code == 0
    (owing,) = json.loads(out)
    assert owing["reference"] == reference
    assert (owing["total_minor"], owing["balance_minor"], owing["currency"]) == (
        45050,
        45050,
        "EUR",
    )
    assert owing["total_is_estimate"] is False and owing["payment_status"] == "Unpaid"

    code, out, _ = run(
        capsys, "cases", "list", "--awaiting-approval", "--format", "csv", "--data-dir", folder
    )
    (waiting,) = list(csv.DictReader(io.StringIO(out)))
    assert waiting["reference"] == quoted.reference
    assert (waiting["total"], waiting["total_is_estimate"], waiting["currency"]) == (
        "1100.00",
        "yes",
        "EUR",
    )
    # Paid in advance: the office owes nothing back yet, the balance is a credit.
    assert (waiting["balance"], waiting["payment_status"]) == ("-500.00", "Paid in advance")
    assert waiting["awaiting_approval"] == "1"

    code, out, _ = run(capsys, "cases", "list", "--data-dir", folder)
    lines = out.splitlines()
    assert lines[0].split()[-2:] == ["TOTAL", "BALANCE"]
    row = next(line for line in lines if quoted.reference in line)
    assert row.endswith("1.100,00\u00a0€ (est.)       -500,00\u00a0€")
    free = next(line for line in lines if "Free" in line)
    assert "€" not in free


def test_fees_list_in_every_format(
    capsys: pytest.CaptureFixture[str], charged: tuple[str, str]
) -> None:
    from referral_desk.services import fee_schedule

    folder, _ = charged
    db = open_database(resolve_paths(folder))
    consult = fee_schedule.find_service(db, "CONSULT")
    fee_schedule.update_service(
        db,
        consult.id,
        fee_schedule.ServiceDraft("CONSULT", consult.name, 123450),
        expected_version=consult.version,
        actor=ADMIN,
    )
    db.dispose()
    code, out, _ = run(capsys, "fees", "list", "--format", "json", "--data-dir", folder)
    assert code == 0
    fees = {f["code"]: f for f in json.loads(out)}
    assert fees["CONSULT"]["price_minor"] == 123450 and fees["CONSULT"]["currency"] == "EUR"
    assert fees["CONSULT"]["cases_using"] == 1 and fees["TEST"]["needs_approval"] is True
    code, out, _ = run(capsys, "fees", "list", "--format", "csv", "--data-dir", folder)
    assert code == 0
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["CONSULT"]["price"] == "1234.50" and rows["PATH"]["price"] == "0.00"
    code, out, _ = run(capsys, "fees", "list", "--data-dir", folder)
    assert code == 0
    consult_row = next(line for line in out.splitlines() if line.startswith("CONSULT"))
    assert "1.234,50\u00a0€" in consult_row
    assert "not set" in next(line for line in out.splitlines() if line.startswith("PATH"))
    assert out.splitlines()[-1] == "6 active services, prices in EUR"


def test_the_demo_office_has_costs_the_cli_shows(
    capsys: pytest.CaptureFixture[str], data_dir: str
) -> None:
    code, out, _ = run(
        capsys, "cases", "list", "--unpaid", "--format", "json", "--data-dir", data_dir
    )
    unpaid = json.loads(out)
    assert code == 0 and unpaid
    assert all(r["balance_minor"] > 0 and r["currency"] == "EUR" for r in unpaid)
    shown = _show(capsys, data_dir, unpaid[0]["reference"])
    assert shown["totals"]["balance_minor"] == unpaid[0]["balance_minor"]


# --- letters -------------------------------------------------------------------------------


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def _case_for(data_dir: str, kind: LetterKind, *statuses: CaseStatus) -> str:
    """The reference of a demo case that can have this kind of letter."""
    from referral_desk.services import letters
    from referral_desk.services.case_export import iter_rows

    db = open_database(resolve_paths(data_dir))
    try:
        for row in iter_rows(db, CaseQuery(statuses=frozenset(statuses))):
            if letters.available_kinds(db, row.id)[kind] is None:
                return row.reference
    finally:
        db.dispose()
    raise AssertionError(f"the demo office has no case that can have a {kind} letter")


def _letters_of(data_dir: str, reference: str) -> list[tuple[Any, ...]]:
    return _sql(
        data_dir,
        "SELECT l.id, l.kind, l.pages, l.sent_at FROM letters l JOIN cases c ON c.id = l.case_id "
        f"WHERE c.reference = '{reference}' ORDER BY l.id",
    )


def _status_of(data_dir: str, reference: str) -> str:
    return str(_sql(data_dir, f"SELECT status FROM cases WHERE reference = '{reference}'")[0][0])


@pytest.mark.parametrize("kind", ["summary", "referrer", "records-request", "estimate"])
def test_letter_of_each_kind_is_written_archived_and_reprinted_identically(
    capsys: pytest.CaptureFixture[str], data_dir: str, tmp_path: Path, kind: str
) -> None:
    letter_kind = LetterKind(kind.replace("-", "_"))
    reference = _case_for(data_dir, letter_kind)
    status = _status_of(data_dir, reference)
    target = tmp_path / f"{kind}.pdf"
    code, out, err = run(
        capsys, "letter", reference, "--kind", kind, "--out", str(target), "--data-dir", data_dir
    )
    assert code == 0 and err == ""
    assert reference in _pdf_text(target)
    [(number, stored_kind, pages, sent_at)] = _letters_of(data_dir, reference)
    assert (stored_kind, sent_at) == (letter_kind.value, None)
    assert _pdf_pages(target) == pages
    assert f"for {reference} to {target}" in out and f"as letter {number}" in out
    assert f"Not marked sent yet. Once posted: referral-desk letters sent {number} " in out
    assert _status_of(data_dir, reference) == status  # made is not sent

    code, out, _ = run(capsys, "letter", reference.lower(), "--data-dir", data_dir)
    assert code == 0
    listed = next(line for line in out.splitlines() if line.lstrip().startswith(str(number)))
    assert letter_kind.label in listed and "v1" in listed
    assert f"  {kind.ljust(15)}  yes" in out

    copy = tmp_path / "copy.pdf"
    code, out, _ = run(
        capsys,
        "letter",
        reference,
        "--reprint",
        str(number),
        "--out",
        str(copy),
        "--data-dir",
        data_dir,
    )
    assert code == 0 and "the archived file" in out
    assert copy.read_bytes() == target.read_bytes()
    assert len(_letters_of(data_dir, reference)) == 1  # a reprint is not a new letter


def test_a_letter_the_case_cannot_have_says_why_and_nothing_is_made(
    capsys: pytest.CaptureFixture[str], data_dir: str, waiting: str, tmp_path: Path
) -> None:
    target = tmp_path / "summary.pdf"
    code, out, err = run(
        capsys, "letter", waiting, "--kind", "summary", "--out", str(target), "--data-dir", data_dir
    )
    assert (code, out) == (1, "")
    assert err.startswith(f"referral-desk: No patient summary letter for {waiting}: ")
    assert "No opinion recorded yet." in err and "Nothing was written." in err
    assert not target.exists() and _letters_of(data_dir, waiting) == []
    code, out, _ = run(capsys, "letter", waiting, "--data-dir", data_dir)
    assert code == 0 and "No letters yet." in out
    assert "  summary          no: No opinion recorded yet." in out


def test_a_letter_never_replaces_a_file_unless_forced(
    capsys: pytest.CaptureFixture[str], data_dir: str, tmp_path: Path
) -> None:
    reference = _case_for(data_dir, LetterKind.SUMMARY)
    target = tmp_path / "summary.pdf"
    target.write_text("yesterday's batch")
    args = ["letter", reference, "--kind", "summary", "--out", str(target)]
    code, out, err = run(capsys, *args, "--data-dir", data_dir)
    assert (code, out) == (1, "")
    assert (
        err
        == f"referral-desk: {target} already exists; add --force to replace it. Nothing was made.\n"
    )
    assert target.read_text() == "yesterday's batch" and _letters_of(data_dir, reference) == []
    code, out, err = run(
        capsys, *args, "--out", str(tmp_path / "nowhere" / "x.pdf"), "--data-dir", data_dir
    )
    assert code == 1 and f"The folder {tmp_path / 'nowhere'} does not exist." in err
    code, _, _ = run(capsys, *args, "--force", "--data-dir", data_dir)
    assert code == 0 and target.read_bytes().startswith(b"%PDF")
    assert len(_letters_of(data_dir, reference)) == 1


def test_letter_says_which_case_or_letter_is_unknown(
    capsys: pytest.CaptureFixture[str], data_dir: str, tmp_path: Path
) -> None:
    target = tmp_path / "x.pdf"
    code, out, err = run(
        capsys,
        "letter",
        "RD-1999-00001",
        "--kind",
        "summary",
        "--out",
        str(target),
        "--data-dir",
        data_dir,
    )
    assert (code, out, err) == (1, "", "referral-desk: There is no case RD-1999-00001.\n")
    assert not target.exists()
    reference = _case_for(data_dir, LetterKind.SUMMARY)
    code, out, err = run(
        capsys,
        "letter",
        reference,
        "--reprint",
        "99999",
        "--out",
        str(target),
        "--data-dir",
        data_dir,
    )
    assert (code, out) == (1, "")
    assert f"{reference} has no letter 99999" in err and not target.exists()
    code, out, err = run(capsys, "letters", "sent", "99999", "--data-dir", data_dir)
    assert code == 1 and out == "" and err.startswith("referral-desk: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["letter", "RD-2026-00001", "--kind", "summary"], "--kind needs --out FILE.pdf"),
        (["letter", "RD-2026-00001", "--out", "x.pdf"], "--out goes with --kind KIND"),
        (
            ["letter", "RD-2026-00001", "--kind", "summary", "--reprint", "3", "--out", "x.pdf"],
            "not both",
        ),
        (
            ["letter", "RD-2026-00001", "--kind", "letterbomb", "--out", "x.pdf"],
            "unknown letter kind",
        ),
        (["letters"], "the batch needs --out FILE.pdf"),
        (["letters", "--out", "x.pdf", "sent", "3"], "--out is for making a batch"),
        (["letters", "sent", "9-3"], "'9-3' is not a letter number or a range"),
    ],
)
def test_letter_options_that_do_not_go_together_are_refused_before_anything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--data-dir", str(tmp_path / "office")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "office").exists() and not Path("x.pdf").exists()


def test_letter_mark_sent_moves_the_case_to_letter_sent(
    capsys: pytest.CaptureFixture[str], data_dir: str, tmp_path: Path
) -> None:
    reference = _case_for(data_dir, LetterKind.SUMMARY, CaseStatus.OPINION_RECEIVED)
    code, out, err = run(
        capsys,
        "letter",
        reference,
        "--kind",
        "summary",
        "--out",
        str(tmp_path / "s.pdf"),
        "--mark-sent",
        "--data-dir",
        data_dir,
    )
    assert code == 0 and err == ""
    assert out.splitlines()[-1] == "Marked 1 letter sent; 1 case moved to Letter sent."
    assert _status_of(data_dir, reference) == "letter_sent"
    [(_, _, _, sent_at)] = _letters_of(data_dir, reference)
    assert sent_at is not None


def _due_for_summary(data_dir: str) -> list[str]:
    """Opinion received and no summary letter sent: what the batch should print."""
    return [
        r[0]
        for r in _sql(
            data_dir,
            "SELECT reference FROM cases c WHERE status = 'opinion_received' AND NOT EXISTS "
            "(SELECT 1 FROM letters l WHERE l.case_id = c.id AND l.kind = 'summary' "
            "AND l.sent_at IS NOT NULL) ORDER BY reference",
        )
    ]


@pytest.fixture
def due(data_dir: str) -> list[str]:
    """At least three demo cases waiting for their summary letter."""
    from referral_desk.services import opinions

    waiting = _due_for_summary(data_dir)
    if len(waiting) < 3:  # too few today: bring cases under review to their opinion
        db = open_database(resolve_paths(data_dir))
        for (reference,) in _sql(
            data_dir, "SELECT reference FROM cases WHERE status = 'under_review' LIMIT 3"
        ):
            opinions.record_opinion(db, _case_id(db, reference), _opinion_draft(), actor=ADMIN)
        db.dispose()
        waiting = _due_for_summary(data_dir)
    assert len(waiting) >= 3
    return waiting


def _opinion_draft() -> Any:
    from referral_desk.domain.specialists import Concordance
    from referral_desk.services.opinions import OpinionDraft

    return OpinionDraft(
        patient_summary="The diagnosis is confirmed.",
        recommendation="Go ahead with the planned treatment.",
        diagnosis_concordance=Concordance.CONFIRMED,
        treatment_concordance=Concordance.CONFIRMED,
        received_at=datetime.now(UTC),
    )


def test_letters_batch_prints_every_summary_letter_due_and_marks_them_after_posting(
    capsys: pytest.CaptureFixture[str], data_dir: str, due: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "batch.pdf"
    code, out, err = run(
        capsys,
        "letters",
        "--status",
        "opinion-received",
        "--out",
        str(target),
        "--data-dir",
        data_dir,
    )
    assert code == 0
    assert err == ""  # progress only on a terminal
    made = [row for reference in due for row in _letters_of(data_dir, reference)]
    assert len(made) == len(due) and {row[1] for row in made} == {"summary"}
    pages = sum(row[2] for row in made)
    assert _pdf_pages(target) == pages
    assert (
        f"Wrote {len(due)} patient summary letters ({pages} pages) for the cases in "
        f"Opinion received to {target}" in out
    )
    text = _pdf_text(target)
    assert all(reference in text for reference in due)
    assert all(_status_of(data_dir, reference) == "opinion_received" for reference in due)
    ids = re.search(r"referral-desk letters sent ([\d -]+) \(", out)
    assert ids is not None

    code, out, _ = run(capsys, "letters", "sent", *ids.group(1).split(), "--data-dir", data_dir)
    assert code == 0
    assert out == f"Marked {len(due)} letters sent; {len(due)} cases moved to Letter sent.\n"
    assert all(_status_of(data_dir, reference) == "letter_sent" for reference in due)

    again = tmp_path / "again.pdf"
    code, out, _ = run(capsys, "letters", "--out", str(again), "--data-dir", data_dir)
    assert code == 0 and not again.exists()
    assert out == (
        "No case in Opinion received is waiting for a patient summary letter; "
        "nothing was written.\n"
    )


def test_letters_batch_with_mark_sent_moves_the_cases_at_once(
    capsys: pytest.CaptureFixture[str], data_dir: str, due: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "batch.pdf"
    target.write_text("last week's")
    code, out, err = run(
        capsys, "letters", "--out", str(target), "--mark-sent", "--data-dir", data_dir
    )
    assert (code, out) == (1, "") and "already exists; add --force" in err
    assert all(_letters_of(data_dir, reference) == [] for reference in due)
    code, out, err = run(
        capsys, "letters", "--out", str(target), "--mark-sent", "--force", "--data-dir", data_dir
    )
    assert code == 0 and err == ""
    assert out.splitlines()[-1] == (
        f"Marked {len(due)} letters sent; {len(due)} cases moved to Letter sent."
    )
    assert all(_status_of(data_dir, reference) == "letter_sent" for reference in due)
    assert _pdf_pages(target) == sum(
        row[2] for reference in due for row in _letters_of(data_dir, reference)
    )


def test_letters_batch_for_another_status_and_kind(
    capsys: pytest.CaptureFixture[str], data_dir: str, waiting: str, tmp_path: Path
) -> None:
    from referral_desk.services import letters
    from referral_desk.services.case_export import iter_rows

    db = open_database(resolve_paths(data_dir))
    expected = sorted(
        row.reference
        for row in iter_rows(db, CaseQuery(statuses=frozenset({CaseStatus.AWAITING_RECORDS})))
        if letters.available_kinds(db, row.id)[LetterKind.RECORDS_REQUEST] is None
    )
    db.dispose()
    assert waiting in expected
    target = tmp_path / "requests.pdf"
    code, out, _ = run(
        capsys,
        "letters",
        "--status",
        "awaiting_records",
        "--kind",
        "records-request",
        "--out",
        str(target),
        "--data-dir",
        data_dir,
    )
    assert code == 0
    assert f"Wrote {len(expected)} records request" in out
    made = sorted(reference for reference in expected for row in _letters_of(data_dir, reference))
    assert made == expected
    assert _pdf_pages(target) == sum(
        row[2] for reference in expected for row in _letters_of(data_dir, reference)
    )


def test_the_demo_office_has_sent_summary_letters_with_its_letterhead(
    capsys: pytest.CaptureFixture[str], data_dir: str, tmp_path: Path
) -> None:
    rows = _sql(
        data_dir,
        "SELECT c.reference, l.id, l.kind, l.sent_at, c.status FROM letters l "
        "JOIN cases c ON c.id = l.case_id ORDER BY l.id",
    )
    assert 0 < len(rows) <= 20
    assert all(r[2] == "summary" and r[3] is not None and r[4] == "letter_sent" for r in rows)
    reference, number = rows[0][0], rows[0][1]
    copy = tmp_path / "demo.pdf"
    code, out, _ = run(
        capsys,
        "letter",
        reference,
        "--reprint",
        str(number),
        "--out",
        str(copy),
        "--data-dir",
        data_dir,
    )
    assert code == 0 and "It was marked sent on" in out and "Not marked sent" not in out
    text = _pdf_text(copy)
    assert reference in text and "Second Opinion Desk (demo office)" in text


def test_letters_batch_shows_progress_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
    data_dir: str,
    due: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(capsys, "letters", "--out", str(tmp_path / "b.pdf"), "--data-dir", data_dir)
    assert code == 0
    n = len(due)
    assert err == "".join(f"\r{done}/{n}" for done in range(1, n + 1)) + "\n"


def test_a_stopped_batch_writes_no_file_and_marks_nothing(
    capsys: pytest.CaptureFixture[str],
    data_dir: str,
    due: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from referral_desk import cli

    asked: list[bool] = []

    def stop_after_two(_flag: object) -> bool:  # as if Ctrl+C came during the second letter
        asked.append(True)
        return len(asked) > 2

    monkeypatch.setattr(cli._InterruptFlag, "is_set", stop_after_two)
    target = tmp_path / "b.pdf"
    code, out, err = run(
        capsys, "letters", "--out", str(target), "--mark-sent", "--data-dir", data_dir
    )
    assert (code, out) == (1, "")
    assert err.startswith("referral-desk: Stopped: no batch file was written and nothing was")
    assert not target.exists() and not list(tmp_path.glob(".referral-desk-*"))
    assert all(_status_of(data_dir, reference) == "opinion_received" for reference in due)
    made = [row for reference in due for row in _letters_of(data_dir, reference)]
    assert all(row[3] is None for row in made)  # archived, unsent


def test_redirected_output_is_utf8_even_where_the_system_code_page_is_narrower(
    data_dir: str,
) -> None:
    """Windows writes a pipe or a file in its ANSI code page (cp1252 here), which has no
    Cyrillic or Arabic letters: `cases list > cases.csv` must not stop at such a name."""
    import os
    import subprocess

    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    command = ["cases", "list", "--format", "csv", "--user", "admin", "--data-dir", data_dir]
    done = subprocess.run(
        [sys.executable, "-m", "referral_desk", *command],
        input=f"{PASSWORD}\n".encode(),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    listed = done.stdout.decode("utf-8")  # UTF-8, not cp1252
    assert any(ord(ch) > 0xFF for ch in listed)  # a name cp1252 cannot write
    assert len(list(csv.DictReader(io.StringIO(listed)))) == 250
