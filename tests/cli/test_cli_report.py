"""`referral-desk report monthly`: the month's report as PDF, CSV or Excel, for a scheduled job."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import sys
from datetime import date, datetime
from pathlib import Path
from unittest.mock import patch

import openpyxl
import pytest
from pypdf import PdfReader

from referral_desk.cli import main
from referral_desk.domain.reports import Column, Month
from referral_desk.paths import resolve_paths
from referral_desk.services import accounts, demo
from referral_desk.services.database import open_database


def run(
    capsys: pytest.CaptureFixture[str], *args: str, user: str = "nadia.manager"
) -> tuple[int, str, str]:
    """As the demo office's manager, the password piped in as a scheduled job gives it."""
    with patch.object(sys, "stdin", io.StringIO(f"{accounts.DEMO_PASSWORD}\n")):
        code = main([*args, "--user", user])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A demo office, only read by these tests: 300 cases over the 18 months up to now."""
    folder = tmp_path_factory.mktemp("report") / "office"
    db = open_database(resolve_paths(folder))
    demo.generate(db, 300, seed=3)
    accounts.create_demo_accounts(db)
    db.dispose()
    return str(folder)


def today() -> date:
    return datetime.now().astimezone().date()


def last_month() -> Month:
    return Month.of(today()).previous()


def references_received(capsys: pytest.CaptureFixture[str], office: str, month: Month) -> list[str]:
    """The month's cases as the case list finds them: the report must hold the same."""
    code, out, _ = run(
        capsys, "cases", "list", "--month", month.iso, "--format", "json", "--data-dir", office
    )
    assert code == 0
    return sorted(r["reference"] for r in json.loads(out))


def test_csv_has_a_row_for_every_case_received_in_the_month(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    month = last_month()
    expected = references_received(capsys, office, month)
    assert expected  # the demo's busiest months are its last
    target = tmp_path / "cases.csv"
    code, out, err = run(
        capsys, "report", "monthly", month.iso, "--out", str(target), "--data-dir", office
    )
    assert code == 0 and err == ""
    # One line, nothing else, for a scheduled job's log.
    assert re.fullmatch(
        rf"Wrote {re.escape(str(target))}: {len(expected)} cases received in "
        rf"{month.label} \(CSV, \d+ KB\)\n",
        out,
    )
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert sorted(r[Column.REFERENCE.value] for r in rows) == expected


def test_xlsx_opens_with_a_typed_row_for_every_case(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    month = last_month()
    expected = references_received(capsys, office, month)
    target = tmp_path / "Cases.XLSX"  # the extension in any case
    code, out, _ = run(
        capsys, "report", "monthly", month.iso, "--out", str(target), "--data-dir", office
    )
    assert code == 0
    assert out.startswith(f"Wrote {target}: {len(expected)} cases received in {month.label}")
    assert "(Excel, " in out
    book = openpyxl.load_workbook(target)
    sheet = book["Cases"]
    headers = [c.value for c in sheet[1]]
    received = headers.index(Column.RECEIVED.value)
    reference = headers.index(Column.REFERENCE.value)
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(row[reference] for row in body) == expected
    assert all(isinstance(row[received], datetime) for row in body)
    assert {row[received].strftime("%Y-%m") for row in body} == {month.iso}


def test_pdf_opens_and_the_line_gives_its_pages(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    month = last_month()
    expected = references_received(capsys, office, month)
    target = tmp_path / "report.pdf"
    code, out, _ = run(
        capsys, "report", "monthly", month.iso, "--out", str(target), "--data-dir", office
    )
    assert code == 0
    pages = PdfReader(target).pages
    count = len(pages)
    assert out == (
        f"Wrote {target}: {len(expected)} cases received in {month.label} "
        f"(PDF, {count} page{'s' if count != 1 else ''})\n"
    )
    text = " ".join(page.extract_text() for page in pages)
    assert month.label in text
    assert expected[0] in text and expected[-1] in text


def test_without_a_month_the_last_complete_one_is_reported(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    target = tmp_path / "latest.csv"
    code, out, _ = run(capsys, "report", "monthly", "--out", str(target), "--data-dir", office)
    assert code == 0
    assert f"received in {last_month().label} (CSV" in out


def test_an_empty_month_still_writes_the_file(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    before_the_office = Month(today().year - 3, 6)
    for name in ("empty.csv", "empty.xlsx"):
        target = tmp_path / name
        code, out, _ = run(
            capsys,
            *("report", "monthly", before_the_office.iso, "--out", str(target)),
            *("--data-dir", office),
        )
        assert code == 0
        assert f": no cases received in {before_the_office.label} (" in out
    rows = list(csv.reader(io.StringIO((tmp_path / "empty.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 and Column.REFERENCE.value in rows[0]
    assert openpyxl.load_workbook(tmp_path / "empty.xlsx")["Cases"].max_row == 1


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("2026-13", "no month 13"),
        ("oct", "write it as YYYY-MM"),
        ("2026/10", "write it as YYYY-MM"),
        ("1066-10", "1066 is not a year"),
    ],
)
def test_a_bad_month_is_refused_before_anything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, typed: str, says: str
) -> None:
    office = tmp_path / "new-office"
    target = tmp_path / "report.pdf"
    code, out, err = run(
        capsys, "report", "monthly", typed, "--out", str(target), "--data-dir", str(office)
    )
    assert code == 1 and out == ""
    assert f"'{typed}' is not a month" in err and says in err and "YYYY-MM" in err
    assert "Nothing was written." in err
    assert not target.exists()
    assert not office.exists()  # refused before a database was opened, or made


def test_a_month_not_yet_begun_is_refused(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    target = tmp_path / "report.csv"
    future = Month.of(today()).next()
    code, out, err = run(
        capsys, "report", "monthly", future.iso, "--out", str(target), "--data-dir", office
    )
    assert code == 1 and out == ""
    assert f"{future.label} has not begun yet" in err
    assert Month.of(today()).label in err
    assert not target.exists()


def test_an_unknown_extension_is_refused_naming_the_three(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    for name, says in (("report.txt", "'.txt'"), ("report", "no extension")):
        target = tmp_path / name
        code, out, err = run(
            capsys, "report", "monthly", "2026-01", "--out", str(target), "--data-dir", office
        )
        assert code == 1 and out == ""
        assert says in err and ".pdf, .csv or .xlsx" in err
        assert not target.exists()


def test_a_missing_folder_or_a_folder_as_the_file_is_refused(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-folder" / "report.pdf"
    code, out, err = run(
        capsys, "report", "monthly", "2026-01", "--out", str(missing), "--data-dir", office
    )
    assert code == 1 and out == ""
    assert f"The folder {missing.parent} does not exist." in err
    assert not missing.parent.exists()

    code, _, err = run(
        capsys, "report", "monthly", "2026-01", "--out", str(tmp_path), "--data-dir", office
    )
    assert code == 1
    assert f"{tmp_path} is a folder" in err and "monthly-report-2026-01.pdf" in err


def test_an_existing_file_is_replaced_only_with_force(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    target = tmp_path / "report.csv"
    target.write_text("last month's\n", encoding="utf-8")
    month = last_month().iso
    code, out, err = run(
        capsys, "report", "monthly", month, "--out", str(target), "--data-dir", office
    )
    assert code == 1 and out == ""
    assert "already exists; add --force to replace it" in err
    assert target.read_text(encoding="utf-8") == "last month's\n"

    code, out, _ = run(
        capsys, "report", "monthly", month, "--out", str(target), "--force", "--data-dir", office
    )
    assert code == 0 and out.startswith(f"Wrote {target}")
    assert target.read_text(encoding="utf-8-sig").startswith(Column.REFERENCE.value)
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]  # no temporary file left


def test_the_month_of_cases_list_follows_the_same_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["cases", "list", "--month", "2026-13", "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2  # an argument error, as for every option of the list
    err = capsys.readouterr().err
    assert "'2026-13' is not a month (there is no month 13" in err and "YYYY-MM" in err


def test_a_staff_member_may_not_make_the_report_and_the_manager_is_in_the_trail(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    target = tmp_path / "report.csv"
    month = last_month().iso
    code, out, err = run(
        capsys,
        *("report", "monthly", month, "--out", str(target), "--data-dir", office),
        user="tom.office",
    )
    assert (code, out) == (1, "")
    assert err == (
        "referral-desk: A staff member cannot make the monthly report; ask a manager or an "
        "administrator. Nothing was written.\n"
    )
    assert not target.exists()
    code, _, _ = run(
        capsys, *("report", "monthly", month, "--out", str(target), "--data-dir", office)
    )
    assert code == 0
    with sqlite3.connect(Path(office) / "referral-desk.sqlite") as conn:
        made = conn.execute(
            "SELECT actor, action FROM audit_entries WHERE entity = 'report' "
            "ORDER BY id DESC LIMIT 2"
        ).fetchall()
    conn.close()
    assert made == [("nadia.manager", "export"), ("nadia.manager", "generate")]
