from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from referral_desk.cli import main
from referral_desk.domain.enums import CaseStatus
from referral_desk.paths import resolve_paths
from referral_desk.services import cases
from referral_desk.services.database import open_database
from tests.conftest import case, patient


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    folder = str(tmp_path / "office")
    code, out, _ = run(capsys, "demo", "--cases", "250", "--seed", "3", "--data-dir", folder)
    assert code == 0 and "Added 250 demo cases" in out
    return folder


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
    late = cases.create_case(db, case(), patient=patient(family_name="Latecomer"), actor="t")
    cases.change_status(
        db,
        late.id,
        CaseStatus.READY_FOR_REVIEW,
        reason="Reviewing on the referral letter alone",
        actor="t",
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
    code, out, _ = run(capsys, "check", "--data-dir", data_dir)
    assert code == 0
    assert "Integrity:       ok" in out and "Result:          healthy" in out
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
    code, out, _ = run(capsys, "check", "--data-dir", data_dir)
    assert code == 1
    assert "PROBLEMS FOUND" in out or "cannot be read" in out


def test_check_fails_on_a_file_that_is_not_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "referral-desk.sqlite").write_text("these are not the records you want")
    code, out, _ = run(capsys, "check", "--data-dir", str(tmp_path))
    assert code == 1
    assert "cannot be read" in out


def test_the_data_dir_can_come_from_the_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFERRAL_DESK_DATA_DIR", str(tmp_path / "from-env"))
    code, _, _ = run(capsys, "demo", "--cases", "3")
    assert code == 0
    assert (tmp_path / "from-env" / "referral-desk.sqlite").exists()
