"""`referral-desk users ...`, `--user` on every command that touches the office's data, and
`check` on the audit trail."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
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

PASSWORD = "correct horse battery"  # the administrator's
STAFF_PASSWORD = "tom's own password"


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    """The command with `stdin` piped in, as a scheduled job runs it."""
    with patch.object(sys, "stdin", io.StringIO(stdin)):
        code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _sql(folder: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(Path(folder) / "referral-desk.sqlite") as conn:
        rows = conn.execute(statement, params).fetchall()
    conn.close()
    return rows


def _trail(folder: str, since: int = 0) -> list[tuple[Any, ...]]:
    """(actor, action, entity, detail) of each audit entry after entry `since`."""
    return _sql(
        folder,
        "SELECT actor, action, entity, detail FROM audit_entries WHERE id > ? ORDER BY id",
        since,
    )


def _last_entry(folder: str) -> int:
    return int(_sql(folder, "SELECT coalesce(max(id), 0) FROM audit_entries")[0][0])


@pytest.fixture
def office(tmp_path: Path) -> Iterator[str]:
    """An office with one case, its administrator "boss" and a staff member "tom"."""
    folder = tmp_path / "office"
    db = open_database(resolve_paths(folder))
    cases.create_case(db, case(), patient=patient(), actor=admin("boss"))
    boss = accounts.create_first_administrator(db, "boss", "Bea Boss", PASSWORD)
    accounts.add_user(db, "tom", "staff", STAFF_PASSWORD, actor=boss, full_name="Tom Office")
    db.dispose()
    yield str(folder)


# --- the first administrator -------------------------------------------------------------------


def test_a_new_office_starts_with_its_first_administrator(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = str(tmp_path / "new")
    code, out, err = run(capsys, "cases", "list", "--data-dir", folder)
    assert (code, out) == (1, "")
    assert f"There is no Referral Desk office in {folder} yet" in err
    assert f"`referral-desk users add NAME --role administrator --data-dir {folder}`" in err
    assert not Path(folder).exists()  # a mistyped folder is not left behind as an office

    code, out, err = run(
        capsys,
        *("users", "add", "Ana.Admin", "--role", "Administrator", "--full-name", "Ana Ávila"),
        *("--data-dir", folder),
        stdin=f"{PASSWORD}\n",
    )
    assert (code, err) == (0, "")
    assert out.startswith("Added Ana.Admin, the office's first administrator.")
    assert _trail(folder) == [("Ana.Admin", "create", "user", "")]

    code, out, err = run(capsys, "cases", "list", "--data-dir", folder)
    assert (code, out) == (2, "")
    assert "--user NAME" in err and "first line of standard input" in err
    code, out, err = run(
        capsys, "cases", "list", "--data-dir", folder, "--user", "ana.admin", stdin=f"{PASSWORD}\n"
    )
    assert (code, err) == (0, "") and out.splitlines()[-1] == "0 cases"
    assert _trail(folder)[-1] == ("Ana.Admin", "sign_in", "user", "command line: cases list")


def test_an_office_without_accounts_takes_only_an_administrator_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = str(tmp_path / "office")
    open_database(resolve_paths(folder)).dispose()  # as the app leaves it before its first start
    code, out, err = run(capsys, "cases", "list", "--data-dir", folder)
    assert (code, out) == (1, "")
    assert err == (
        "referral-desk: This office has no accounts yet. Create the first administrator with "
        f"`referral-desk users add NAME --role administrator --data-dir {folder}`, or start "
        "Referral Desk, which asks for one.\n"
    )
    code, _, err = run(
        capsys,
        "users",
        "add",
        "tom",
        "--role",
        "staff",
        "--data-dir",
        folder,
        stdin=f"{PASSWORD}\n",
    )
    assert code == 1 and "its first account must be an administrator" in err
    assert "`referral-desk users add tom --role administrator" in err
    code, _, err = run(
        capsys, "cases", "list", "--data-dir", folder, "--user", "tom", stdin=f"{PASSWORD}\n"
    )
    assert code == 1 and "no accounts yet, so no one can sign in with --user" in err
    code, _, err = run(
        capsys,
        *("users", "add", "ana", "--role", "administrator", "--data-dir", folder),
        stdin="short\n",
    )
    assert code == 1 and "use at least 10" in err and "Nothing was changed." in err
    code, _, err = run(
        capsys,
        *("users", "add", "ana maria", "--role", "administrator", "--data-dir", folder),
        stdin=f"{PASSWORD}\n",
    )
    assert code == 1 and "cannot be a user name" in err
    assert _sql(folder, "SELECT count(*) FROM users") == [(0,)]
    assert _trail(folder) == []


def _at_revision(path: Path, revision: str) -> None:
    db = Database(path)
    config = migrate.alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    db.dispose()


def test_check_and_the_first_administrator_on_a_database_from_before_accounts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "office"
    folder.mkdir()
    _at_revision(folder / "referral-desk.sqlite", "0005")
    code, out, _ = run(capsys, "check", "--data-dir", str(folder))
    assert code == 1  # as for any schema this version has not upgraded yet
    assert "Schema version:  0005 (this version expects 0006)" in out
    assert "Audit trail:     checked once Referral Desk has upgraded the file" in out
    code, _, err = run(capsys, "cases", "list", "--data-dir", str(folder))
    assert code == 1 and "This office has no accounts yet" in err
    code, _, _ = run(
        capsys,
        *("users", "add", "admin", "--role", "administrator", "--data-dir", str(folder)),
        stdin=f"{PASSWORD}\n",
    )
    assert code == 0
    code, out, _ = run(capsys, "check", "--data-dir", str(folder))
    assert code == 0 and "Audit trail:     1 entry, intact" in out


# --- managing accounts ---------------------------------------------------------------------


def _as_boss(capsys: pytest.CaptureFixture[str], office: str, *args: str, then: str = "") -> Any:
    """A command run by the administrator; `then`: the lines after their password."""
    return run(capsys, *args, "--data-dir", office, "--user", "boss", stdin=f"{PASSWORD}\n{then}")


def _users(capsys: pytest.CaptureFixture[str], office: str) -> dict[str, dict[str, Any]]:
    code, out, _ = _as_boss(capsys, office, "users", "list", "--format", "json")
    assert code == 0
    return {u["name"]: u for u in json.loads(out)}


def test_users_add_list_role_disable_and_enable(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    code, out, err = _as_boss(
        capsys,
        office,
        *("users", "add", "lena", "--role", "coordinator", "--full-name", "Lena Lindqvist"),
        then="lena's password\n",
    )
    assert (code, err) == (0, "")
    assert out.startswith("Added lena (a coordinator).")

    code, out, _ = _as_boss(capsys, office, "users", "list")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == [
        "NAME",
        "FULL",
        "NAME",
        "ROLE",
        "ACTIVE",
        "LOCKED",
        "UNTIL",
        "LAST",
        "SIGN-IN",
    ]
    assert lines[1].split()[:5] == ["boss", "Bea", "Boss", "administrator", "yes"]
    assert lines[2].split() == ["lena", "Lena", "Lindqvist", "coordinator", "yes", "never"]
    assert lines[-1] == "3 accounts"

    listed = _users(capsys, office)
    assert list(listed) == ["boss", "lena", "tom"]
    assert listed["tom"] == {
        "name": "tom",
        "full_name": "Tom Office",
        "role": "staff",
        "active": True,
        "locked_until": None,
        "last_sign_in": None,
        "must_change_password": False,
    }
    assert listed["boss"]["last_sign_in"].endswith("+00:00")

    code, out, _ = _as_boss(capsys, office, "users", "role", "tom", "manager")
    assert (code, out) == (0, "tom is now a manager (was a staff member).\n")
    code, out, _ = _as_boss(capsys, office, "users", "disable", "TOM")
    assert code == 0 and out.startswith("Disabled tom: the account can no longer sign in")
    code, out, err = run(
        capsys, "cases", "list", "--data-dir", office, "--user", "tom", stdin=f"{STAFF_PASSWORD}\n"
    )
    assert (code, out) == (1, "")
    assert err == (
        "referral-desk: This account has been disabled; ask an administrator. Nothing was done.\n"
    )
    code, out, _ = _as_boss(capsys, office, "users", "list")
    assert out.splitlines()[-1] == "3 accounts (1 disabled)"
    code, out, _ = _as_boss(capsys, office, "users", "enable", "tom")
    assert (code, out) == (0, "Enabled tom: the account can sign in again.\n")
    code, _, _ = run(
        capsys, "cases", "list", "--data-dir", office, "--user", "tom", stdin=f"{STAFF_PASSWORD}\n"
    )
    assert code == 0

    changes = _sql(
        office,
        "SELECT actor, action, changes FROM audit_entries WHERE entity = 'user' "
        "AND action IN ('create', 'change') ORDER BY id",
    )
    assert [(a, b) for a, b, _ in changes][-4:] == [("boss", "create"), *[("boss", "change")] * 3]
    assert json.loads(changes[-3][2]) == {"role": ["staff", "manager"]}


def test_a_reset_password_must_be_replaced_before_anything_else(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    code, out, _ = _as_boss(
        capsys, office, "users", "reset-password", "tom", then="temporary pass 1\n"
    )
    assert code == 0
    assert out == (
        "Reset the password of tom and unlocked the account; they choose their own when they "
        "next sign in.\n"
    )
    code, out, err = run(
        capsys, "cases", "list", "--data-dir", office, "--user", "tom", stdin="temporary pass 1\n"
    )
    assert (code, out) == (1, "")
    assert "An administrator reset the password of tom: choose your own first" in err
    assert f"`referral-desk users password --user tom --data-dir {office}`" in err
    assert _users(capsys, office)["tom"]["must_change_password"] is True

    code, out, err = run(
        capsys,
        *("users", "password", "--data-dir", office, "--user", "tom"),
        stdin="temporary pass 1\ntemporary pass 1\n",
    )
    assert code == 1 and "Choose a password different from the current one." in err
    code, out, err = run(
        capsys,
        *("users", "password", "--data-dir", office, "--user", "tom"),
        stdin="temporary pass 1\ntom's newest password\n",
    )
    assert (code, out, err) == (0, "Changed your password (tom).\n", "")
    code, _, _ = run(
        capsys,
        *("cases", "list", "--data-dir", office, "--user", "tom"),
        stdin="tom's newest password\n",
    )
    assert code == 0


@pytest.mark.parametrize(
    ("args", "then", "message"),
    [
        (("users", "add", "lena", "--role", "staff"), "short\n", "use at least 10"),
        (("users", "add", "lena", "--role", "staff"), "", "No new password for lena"),
        (("users", "add", "lena", "--role", "chief"), "lena's password\n", "'chief' is not a role"),
        (("users", "add", "TOM", "--role", "staff"), "x\n", "There is already a user named 'tom'"),
        (("users", "disable", "nobody"), "", "There is no user named 'nobody'."),
        (("users", "role", "tom", "boss"), "", "'boss' is not a role; use one of staff, "),
        (("users", "disable", "boss"), "", "boss is the only active administrator"),
        (("users", "role", "boss", "manager"), "", "boss is the only active administrator"),
        (("users", "reset-password", "tom"), "tom\n", "use at least 10"),
    ],
)
def test_refusals_print_the_reason_and_change_nothing(
    capsys: pytest.CaptureFixture[str],
    office: str,
    args: tuple[str, ...],
    then: str,
    message: str,
) -> None:
    before = _sql(office, "SELECT * FROM users ORDER BY id")
    entries = _last_entry(office)
    code, out, err = _as_boss(capsys, office, *args, then=then)
    assert (code, out) == (1, "")
    assert err.startswith("referral-desk: ") and message in err
    assert _sql(office, "SELECT * FROM users ORDER BY id")[1:] == before[1:]  # boss signed in
    assert [e[1] for e in _trail(office, entries)] == ["sign_in"]


def test_no_administrator_can_lock_themselves_out(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    db = open_database(resolve_paths(office))
    accounts.add_user(db, "ana", "administrator", "ana's password", actor=admin("boss"))
    db.dispose()
    code, _, err = _as_boss(capsys, office, "users", "disable", "boss")
    assert code == 1 and "You cannot disable your own account; ask another administrator." in err
    code, _, err = _as_boss(capsys, office, "users", "role", "boss", "coordinator")
    assert code == 1 and "As a coordinator you could no longer manage users" in err
    code, out, _ = _as_boss(capsys, office, "users", "role", "ana", "manager")
    assert (code, out) == (0, "ana is now a manager (was an administrator).\n")
    code, out, _ = _as_boss(capsys, office, "users", "role", "ana", "manager")
    assert (code, out) == (0, "ana is already a manager.\n")
    assert _users(capsys, office)["boss"]["role"] == "administrator"


def test_a_staff_member_cannot_manage_accounts(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    for args, action in (
        (("users", "add", "lena", "--role", "staff"), "add users"),
        (("users", "list"), "see the accounts"),
        (("users", "disable", "boss"), "disable accounts"),
        (("users", "enable", "nobody"), "enable accounts"),  # not told which names exist
        (("users", "role", "tom", "administrator"), "change roles"),
        (("users", "reset-password", "boss"), "reset passwords"),
        (("demo", "--cases", "3"), "add demo cases"),
    ):
        code, out, err = run(
            capsys,
            *args,
            *("--data-dir", office, "--user", "tom"),
            stdin=f"{STAFF_PASSWORD}\nanother password\n",
        )
        assert (code, out) == (1, "")
        assert err.startswith(
            f"referral-desk: A staff member cannot {action}; ask an administrator."
        )
    assert _sql(office, "SELECT name, role, active FROM users ORDER BY id") == [
        ("boss", "administrator", 1),
        ("tom", "staff", 1),
    ]


def test_a_user_add_at_a_terminal_asks_for_each_password(
    capsys: pytest.CaptureFixture[str], office: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    asked: list[str] = []
    answers = iter([PASSWORD, "lena's password", "lena's password", PASSWORD, "one", PASSWORD])

    def typed(prompt: str = "") -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr(getpass, "getpass", typed)
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", terminal)
    args = ["users", "add", "lena", "--role", "staff", "--data-dir", office, "--user", "boss"]
    assert main(args) == 0
    assert asked == ["Password for boss: ", "New password for lena: ", "Type it again: "]
    assert main([*args[:2], "mia", *args[3:]]) == 1  # "one": too short, asked only once
    assert asked[3:] == ["Password for boss: ", "New password for mia: "]
    err = capsys.readouterr().err
    assert "The password has 3 characters" in err and "Nothing was changed." in err


def test_a_user_add_at_a_terminal_refuses_two_different_passwords(
    capsys: pytest.CaptureFixture[str], office: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    answers = iter([PASSWORD, "lena's password", "lena's passwort"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", terminal)
    code = main(["users", "add", "lena", "--role", "staff", "--data-dir", office, "--user", "boss"])
    assert code == 1
    assert capsys.readouterr().err == (
        "referral-desk: The two passwords differ. Nothing was changed.\n"
    )
    assert [n for (n,) in _sql(office, "SELECT name FROM users ORDER BY id")] == ["boss", "tom"]


# --- signing in ------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_counted_and_audited(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    entries = _last_entry(office)
    wrong = ("cases", "list", "--data-dir", office, "--user", "tom")
    for attempt in (1, 2, 3):
        code, out, err = run(capsys, *wrong, stdin="not my password\n")
        assert (code, out) == (1, "")
        assert err.startswith(
            "referral-desk: The user name or the password is not right. "
        ) and err.endswith("Nothing was done.\n")
        assert ("Wait 2 s before the next try." in err) is (attempt == 3)
    code, _, err = run(capsys, *wrong, stdin=f"{STAFF_PASSWORD}\n")
    assert code == 1 and "Too many failed sign-ins: wait" in err  # slowed down: not tried
    assert _sql(office, "SELECT failed_attempts FROM users WHERE name = 'tom'") == [(3,)]
    code, _, err = run(
        capsys, "cases", "list", "--data-dir", office, "--user", "nobody", stdin="x\n"
    )
    assert code == 1 and "The user name or the password is not right." in err
    assert _trail(office, entries) == [
        ("tom", "sign_in_failed", "user", "wrong password (1 in a row)"),
        ("tom", "sign_in_failed", "user", "wrong password (2 in a row)"),
        ("tom", "sign_in_failed", "user", "wrong password (3 in a row)"),
        ("nobody", "sign_in_failed", "user", "unknown user name"),
    ]


def test_no_password_on_standard_input_is_not_counted_as_a_try(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    entries = _last_entry(office)
    for stdin in ("", "\n"):
        code, out, err = run(
            capsys, "cases", "list", "--data-dir", office, "--user", "tom", stdin=stdin
        )
        assert (code, out) == (1, "")
        assert err == (
            "referral-desk: No password for tom: type it when asked, or give it as the first "
            "line of standard input. Nothing was done.\n"
        )
    assert _trail(office, entries) == []
    assert _sql(office, "SELECT failed_attempts FROM users WHERE name = 'tom'") == [(0,)]


def test_every_command_on_the_office_needs_a_user(
    capsys: pytest.CaptureFixture[str], office: str, tmp_path: Path
) -> None:
    reference = str(_sql(office, "SELECT reference FROM cases")[0][0])
    for args in (
        ("cases", "list"),
        ("documents", "missing"),
        ("documents", "verify"),
        ("specialists", "list"),
        ("costs", "show", reference),
        ("payments", "add", reference, "5", "--method", "cash"),
        ("fees", "list"),
        ("letter", reference),
        ("letters", "sent", "1"),
        ("report", "monthly", "2026-01", "--out", str(tmp_path / "r.csv")),
        ("assign", reference, "Someone"),
        ("users", "list"),
        ("demo", "--cases", "3"),
    ):
        code, out, err = run(capsys, *args, "--data-dir", office, stdin=f"{PASSWORD}\n")
        assert (code, out) == (2, ""), args
        assert "Say who runs the command with --user NAME" in err
    assert _sql(office, "SELECT count(*) FROM cases") == [(1,)]
    code, out, _ = run(capsys, "check", "--data-dir", office)  # the one that needs no one
    assert code == 0 and "Result:          healthy" in out


def test_what_a_user_reads_and_changes_is_in_the_trail_under_their_name(
    capsys: pytest.CaptureFixture[str], office: str
) -> None:
    reference = str(_sql(office, "SELECT reference FROM cases")[0][0])
    entries = _last_entry(office)
    as_tom = ("--data-dir", office, "--user", "tom")
    code, out, _ = run(capsys, "costs", "show", reference, *as_tom, stdin=f"{STAFF_PASSWORD}\n")
    assert code == 0 and f"{reference}: costs in" in out
    code, _, _ = run(
        capsys,
        *("payments", "add", reference, "25", "--method", "cash", *as_tom),
        stdin=f"{STAFF_PASSWORD}\n",
    )
    assert code == 0
    trail = _sql(
        office,
        "SELECT e.actor, e.action, e.entity, c.reference FROM audit_entries e "
        "LEFT JOIN cases c ON c.id = e.case_id WHERE e.id > ? ORDER BY e.id",
        entries,
    )
    assert trail == [
        ("tom", "sign_in", "user", None),
        ("tom", "view", "case", reference),  # who looked at which patient
        ("tom", "sign_in", "user", None),
        ("tom", "create", "payment", reference),
        ("tom", "create", "setting", None),  # the currency, pinned by the first money recorded
    ]
    # The table is a view; the case list as CSV or JSON is an export, for managers.
    code, out, _ = run(capsys, "cases", "list", *as_tom, stdin=f"{STAFF_PASSWORD}\n")
    assert code == 0 and reference in out
    code, out, err = run(
        capsys, "cases", "list", "--format", "json", *as_tom, stdin=f"{STAFF_PASSWORD}\n"
    )
    assert (code, out) == (1, "")
    assert err == (
        "referral-desk: A staff member cannot export the case list; ask a manager or an "
        "administrator.\n"
    )


def test_the_demo_comes_with_its_accounts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = str(tmp_path / "demo")
    code, out, _ = run(capsys, "demo", "--cases", "5", "--data-dir", folder)
    assert code == 0
    assert 'Demo accounts, each with the password "demo-password":' in out
    lines = out.splitlines()
    for name, full_name, role in accounts.DEMO_ACCOUNTS:
        assert any(line.split()[:2] == [name, role.value] and full_name in line for line in lines)
    # An office with accounts adds demo cases only for an administrator.
    code, _, err = run(capsys, "demo", "--cases", "5", "--data-dir", folder)
    assert code == 2 and "--user NAME" in err
    code, out, _ = run(
        capsys,
        *("demo", "--cases", "5", "--data-dir", folder, "--user", "admin"),
        stdin=f"{accounts.DEMO_PASSWORD}\n",
    )
    assert code == 0 and "Demo accounts" not in out
    assert _sql(folder, "SELECT count(*) FROM cases") == [(10,)]


def test_a_scheduled_job_pipes_the_password_in(tmp_path: Path) -> None:
    """End to end, as cron or the Task Scheduler runs it: a separate process, stdin a pipe."""
    folder = str(tmp_path / "office")
    environment = {**os.environ, "REFERRAL_DESK_DATA_DIR": folder}

    def referral_desk(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "referral_desk.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )

    made = referral_desk("users", "add", "admin", "--role", "administrator", stdin=f"{PASSWORD}\n")
    assert made.returncode == 0, made.stderr
    added = referral_desk(
        "users", "add", "nadia", "--role", "manager", "--user", "admin",
        stdin=f"{PASSWORD}\nnadia's password\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = referral_desk("users", "list", "--format", "json", "--user", "admin", stdin=PASSWORD)
    assert listed.returncode == 0, listed.stderr
    assert [(u["name"], u["role"]) for u in json.loads(listed.stdout)] == [
        ("admin", "administrator"),
        ("nadia", "manager"),
    ]
    missing = referral_desk("cases", "list", stdin="")
    assert missing.returncode == 2 and "--user NAME" in missing.stderr


# --- check: the audit trail ------------------------------------------------------------------


def _tamper(folder: str, statement: str) -> None:
    """What someone with the file and a SQLite tool can do: the triggers only stop the app."""
    with sqlite3.connect(Path(folder) / "referral-desk.sqlite") as conn:
        conn.execute("DROP TRIGGER audit_entries_no_update")
        conn.execute("DROP TRIGGER audit_entries_no_delete")
        conn.execute(statement)
    conn.close()


def test_check_finds_an_edited_audit_entry(capsys: pytest.CaptureFixture[str], office: str) -> None:
    code, out, _ = run(capsys, "check", "--data-dir", office)
    entries = _last_entry(office)
    assert code == 0 and f"Audit trail:     {entries} entries, intact" in out
    with (
        sqlite3.connect(Path(office) / "referral-desk.sqlite") as conn,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        conn.execute("UPDATE audit_entries SET actor = 'nobody' WHERE id = 2")
    conn.close()
    _tamper(office, "UPDATE audit_entries SET actor = 'nobody' WHERE id = 2")
    code, out, _ = run(capsys, "check", "--data-dir", office)
    assert code == 1
    lines = out.splitlines()
    at = lines.index(f"Audit trail:     BROKEN ({entries} entries)")
    assert (
        lines[at + 1] == "  Audit entry 2 (number 2): this entry was changed after it was written."
    )
    assert "Someone changed the file outside Referral Desk" in lines[at + 2]
    assert lines[-1] == "Result:          PROBLEMS FOUND"


def test_check_finds_a_removed_audit_entry(capsys: pytest.CaptureFixture[str], office: str) -> None:
    _tamper(office, "DELETE FROM audit_entries WHERE id = 2")
    code, out, _ = run(capsys, "check", "--data-dir", office)
    assert code == 1
    assert "Audit entry 3 (number 2): an entry before this one was removed" in out


def test_check_shows_progress_on_a_terminal(
    capsys: pytest.CaptureFixture[str], office: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from referral_desk.services import audit_log

    real = audit_log.verify_chain

    def slow_trail(db: Database, progress: Any = None) -> Any:
        assert progress is not None
        progress(2000, 4000)
        return real(db)

    monkeypatch.setattr(audit_log, "verify_chain", slow_trail)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(capsys, "check", "--data-dir", office)
    assert code == 0
    assert "Checking the audit trail: 50%" in err and err.endswith("\r\033[K")
