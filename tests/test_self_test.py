"""`referral-desk --self-test`: the check the installer build runs on the frozen app."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from io import StringIO
from pathlib import Path

import pytest

from referral_desk import self_test
from referral_desk.paths import DATA_DIR_ENV, resolve_paths
from referral_desk.services.database import open_database


def _self_test(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "referral_desk", "--self-test", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )


def test_the_self_test_passes_in_a_new_folder_and_says_what_it_checked(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    done = _self_test("--data-dir", str(folder))

    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Referral Desk ") and str(folder) in lines[0]
    assert [line.split(":")[0] for line in lines[1:-1]] == [
        "ok  database",
        "ok  demo cases",
        "ok  sign-in",
        "ok  letter",
        "ok  window",
        "ok  backup",
    ]
    assert lines[-1].startswith(self_test.PASSED)
    assert len(list((folder / "backups").glob("*.sqlite"))) == 1


def test_the_self_test_refuses_a_folder_holding_an_office_and_leaves_it_alone(
    tmp_path: Path,
) -> None:
    office = resolve_paths(tmp_path / "office")
    open_database(office).dispose()
    before = office.database.read_bytes()

    done = _self_test("--data-dir", str(office.data_dir))

    assert done.returncode == 1
    assert "holds a Referral Desk office" in done.stderr
    assert "empty or new folder" in done.stderr
    assert office.database.read_bytes() == before
    assert not office.backup_dir.exists() or not any(office.backup_dir.iterdir())


def test_without_a_folder_the_self_test_works_in_a_temporary_one_not_the_office_data(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != DATA_DIR_ENV}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg-data"))

    done = _self_test(env=env)

    assert (done.returncode, done.stderr) == (0, "")
    used = Path(done.stdout.splitlines()[0].split(" self-test in ")[1])
    assert used.name.startswith("referral-desk-self-test-")
    assert not used.exists()  # removed afterwards
    assert not (tmp_path / "xdg-data" / "ReferralDesk").exists()  # the office's place


def test_the_self_test_runs_alone_not_with_a_command(tmp_path: Path) -> None:
    done = _self_test("--data-dir", str(tmp_path / "new"), "check")

    assert done.returncode == 1
    assert "--self-test runs on its own" in done.stderr


def test_a_warning_during_the_self_test_fails_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def noisy(_state: object) -> str:
        warnings.warn("a library complained", UserWarning, stacklevel=1)
        return "done"

    monkeypatch.setattr(
        self_test, "_STEPS", [("database", self_test._database), ("noisy step", noisy)]
    )
    out, err = StringIO(), StringIO()

    assert self_test.run(tmp_path / "new", out, err) == self_test.EXIT_FAILED
    assert "ok  database" in out.getvalue()
    assert "FAILED  noisy step" in err.getvalue()
    assert "a library complained" in err.getvalue()
    assert self_test.PASSED not in out.getvalue()
