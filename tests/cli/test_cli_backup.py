"""`referral-desk backup`, `backup list`, `backup verify`, `restore`, and a damaged database
met by any other command."""

from __future__ import annotations

import io
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

import pytest
from alembic import command

from referral_desk.cli import main
from referral_desk.db import migrate
from referral_desk.db.engine import Database
from referral_desk.paths import resolve_paths
from referral_desk.services import accounts, cases
from referral_desk.services.database import open_database
from tests.conftest import admin, case, patient

PASSWORD = "correct horse battery"
STAFF_PASSWORD = "tom's own password"


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    with patch.object(sys, "stdin", io.StringIO(stdin)):
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _case_count(folder: str) -> int:
    with sqlite3.connect(Path(folder) / "referral-desk.sqlite") as conn:
        count = int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])
    conn.close()
    return count


def _add_case(folder: str, family_name: str) -> None:
    db = open_database(resolve_paths(folder))
    try:
        cases.create_case(db, case(), patient=patient(family_name=family_name), actor=admin("boss"))
    finally:
        db.dispose()


@pytest.fixture
def office(tmp_path: Path) -> Iterator[str]:
    """An office with two cases, its administrator "boss" and a staff member "tom"."""
    folder = tmp_path / "office"
    db = open_database(resolve_paths(folder))
    cases.create_case(db, case(), patient=patient(), actor=admin("boss"))
    cases.create_case(db, case(), patient=patient(family_name="Okafor"), actor=admin("boss"))
    boss = accounts.create_first_administrator(db, "boss", "Bea Boss", PASSWORD)
    accounts.add_user(db, "tom", "staff", STAFF_PASSWORD, actor=boss, full_name="Tom Office")
    db.dispose()
    yield str(folder)


def _backup_file(capsys: pytest.CaptureFixture[str], office: str, target: Path) -> Path:
    code, _, err = run(
        capsys, "backup", "--out", str(target), "--data-dir", office, "--user", "boss",
        stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    return target


def test_backup_goes_to_the_backup_folder_and_is_listed(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    code, out, err = run(capsys, "backup", "--data-dir", office, "--user", "boss", stdin=PASSWORD)
    assert code == 0, err
    assert "2 cases" in out
    made = list((Path(office) / "backups").glob("referral-desk-backup-*.sqlite"))
    assert len(made) == 1
    code, out, _ = run(capsys, "backup", "list", "--data-dir", office)
    assert code == 0
    assert made[0].name in out and "automatic" in out


def test_only_an_administrator_may_back_up(capsys: pytest.CaptureFixture[str], office: str) -> None:
    code, _, err = run(
        capsys, "backup", "--data-dir", office, "--user", "tom", stdin=STAFF_PASSWORD
    )
    assert code == 1
    assert "cannot back up the database; ask an administrator" in err
    assert not list((Path(office) / "backups").glob("referral-desk-backup-*"))


def test_backup_out_refuses_an_existing_file_without_force(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    target = tmp_path / "usb.sqlite"
    target.write_bytes(b"an older copy")
    code, _, err = run(
        capsys, "backup", "--out", str(target), "--data-dir", office, "--user", "boss",
        stdin=PASSWORD,
    )  # fmt: skip
    assert code == 1 and "already exists; add --force" in err
    assert target.read_bytes() == b"an older copy"


def test_verify_passes_a_good_backup_and_fails_a_damaged_one(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    good = _backup_file(capsys, office, tmp_path / "good.sqlite")
    code, out, _ = run(capsys, "backup", "verify", str(good))
    assert code == 0
    assert "Holds:           2 cases, 2 patients" in out
    assert "passed" in out
    damaged = tmp_path / "damaged.sqlite"
    content = bytearray(good.read_bytes())
    content[4096 * 3 : 4096 * 6] = b"\xa5" * (4096 * 3)
    damaged.write_bytes(bytes(content))
    code, out, err = run(capsys, "backup", "verify", str(damaged))
    assert code == 1
    assert "FAILED" in out + err


def test_restore_shows_the_backup_and_replaces_the_data(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    backup = _backup_file(capsys, office, tmp_path / "monday.sqlite")
    _add_case(office, "Later")
    assert _case_count(office) == 3
    code, out, err = run(
        capsys, "restore", str(backup), "--yes", "--data-dir", office, "--user", "boss",
        stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    assert "Holds:           2 cases" in out
    assert "Restored." in out
    assert _case_count(office) == 2
    safety = Path(out.split("kept as ")[1].strip().rstrip("."))
    code, out, _ = run(capsys, "backup", "verify", str(safety))
    assert code == 0 and "3 cases" in out  # the database as it was before the restore


def test_restore_without_yes_and_without_a_terminal_changes_nothing(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    backup = _backup_file(capsys, office, tmp_path / "monday.sqlite")
    _add_case(office, "Later")
    code, _, err = run(
        capsys, "restore", str(backup), "--data-dir", office, "--user", "boss", stdin=PASSWORD
    )
    assert code == 1 and "--yes" in err
    assert _case_count(office) == 3


def test_restore_is_refused_to_staff(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    backup = _backup_file(capsys, office, tmp_path / "monday.sqlite")
    _add_case(office, "Later")
    code, _, err = run(
        capsys, "restore", str(backup), "--yes", "--data-dir", office, "--user", "tom",
        stdin=STAFF_PASSWORD,
    )  # fmt: skip
    assert code == 1 and "ask an administrator" in err
    assert _case_count(office) == 3


def test_a_damaged_database_is_refused_with_the_newest_good_backup_named(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    code, _, _ = run(capsys, "backup", "--data-dir", office, "--user", "boss", stdin=PASSWORD)
    assert code == 0
    _scribble(Path(office) / "referral-desk.sqlite")
    code, out, err = run(
        capsys, "cases", "list", "--data-dir", office, "--user", "boss", stdin=PASSWORD
    )
    assert code == 1 and out == ""
    assert "damaged" in err and "referral-desk-backup-" in err and "restore" in err


def test_restore_over_a_damaged_database_asks_the_backups_administrator(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    backup = _backup_file(capsys, office, tmp_path / "monday.sqlite")
    database = Path(office) / "referral-desk.sqlite"
    _scribble(database)
    damaged_bytes = database.read_bytes()
    code, _, err = run(
        capsys, "restore", str(backup), "--yes", "--data-dir", office, "--user", "tom",
        stdin=STAFF_PASSWORD,
    )  # fmt: skip
    assert code == 1 and "not an administrator in this backup" in err
    assert database.read_bytes() == damaged_bytes
    code, out, err = run(
        capsys, "restore", str(backup), "--yes", "--data-dir", office, "--user", "boss",
        stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    assert _case_count(office) == 2
    kept = Path(out.split("kept as ")[1].strip().rstrip("."))
    assert kept.read_bytes() == damaged_bytes  # moved aside, not deleted


def test_an_older_schema_backup_is_upgraded_after_the_restore(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    old = tmp_path / "old.sqlite"
    database = Database(old)
    config = migrate.alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    database.dispose()
    with sqlite3.connect(old) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    code, out, err = run(
        capsys, "restore", str(old), "--yes", "--data-dir", office, "--user", "boss",
        stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    assert "older (upgraded to" in out and "was upgraded" in out
    assert _case_count(office) == 0
    assert migrate.current_revision(Database(Path(office) / "referral-desk.sqlite")) == (
        migrate.head_revision()
    )


def test_check_reports_the_sqlite_version_and_the_newest_backup(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    run(capsys, "backup", "--data-dir", office, "--user", "boss", stdin=PASSWORD)
    code, out, _ = run(capsys, "check", "--data-dir", office)
    assert code == 0
    assert f"SQLite library:  {sqlite3.sqlite_version}" in out
    assert "Backups:         newest" in out


def _scribble(database: Path) -> None:
    """Overwrite a stretch of the file as a failing disk might."""
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    content = bytearray(database.read_bytes())
    content[100:12000] = b"\x41" * (12000 - 100)
    database.write_bytes(bytes(content))
