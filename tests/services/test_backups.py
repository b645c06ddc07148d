"""Backups and restores on real office databases: nothing lost, nothing half-replaced."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command

from referral_desk.db import migrate
from referral_desk.db.engine import Database, WriterLock
from referral_desk.db.integrity import inspect_file
from referral_desk.domain import backups as rules
from referral_desk.domain.access import Actor, UserRole
from referral_desk.paths import AppPaths
from referral_desk.services import accounts, audit_log, backups, cases, demo, files
from referral_desk.services.backups import BackupError
from referral_desk.services.database import health, open_database, open_database_file
from referral_desk.services.errors import NotAllowedError, NotFoundError
from tests.conftest import NOW, admin, case, patient, staff
from tests.reliability import CAN_FORK, NO_FORK, Channel, fork

CASES = 120
AUDIT_TABLES = ("audit_entries", "audit_head")
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


# --- An office with a year and a half of work, made once per module -------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "office.sqlite"
    db = open_database_file(path)
    made = demo.generate(db, CASES, seed=9, now=NOW)
    assert made.letters and made.files  # stored letters and files to compare byte for byte
    db.dispose()
    _single_file(path)
    return path


def _single_file(path: Path) -> None:
    """Fold the WAL into the file, so copying the file copies the database."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode = DELETE").fetchall()


@pytest.fixture
def office(paths: AppPaths, template: Path) -> Iterator[Database]:
    paths.ensure()
    shutil.copyfile(template, paths.database)
    database = open_database(paths)
    yield database
    database.dispose()


# --- What a database holds, table by table --------------------------------------------------------


def reading(path: Path) -> closing[sqlite3.Connection]:
    """A read-only connection that leaves no -wal or -shm beside a closed file."""
    live = Path(f"{path}-wal").exists()
    uri = f"{path.resolve().as_uri()}?mode=ro{'' if live else '&immutable=1'}"
    return closing(sqlite3.connect(uri, uri=True))


def content(path: Path, *, without: tuple[str, ...] = ()) -> dict[str, str]:
    """A SHA-256 per table of all its rows (rowid included, in order): equal digests, equal
    data."""
    digests = {}
    with reading(path) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        for table in tables:
            if table in without:
                continue
            digest = hashlib.sha256()
            columns = len(connection.execute(f'SELECT * FROM "{table}" LIMIT 0').description)
            order = ", ".join(str(n) for n in range(1, columns + 1))
            try:
                rows = connection.execute(f'SELECT rowid, * FROM "{table}" ORDER BY rowid')
            except sqlite3.OperationalError:  # WITHOUT ROWID (FTS5's own tables)
                rows = connection.execute(f'SELECT * FROM "{table}" ORDER BY {order}')
            for row in rows:
                digest.update(repr(row).encode())
            digests[table] = digest.hexdigest()
    return digests


def stored_files(path: Path) -> dict[int, str]:
    """Every stored file's SHA-256 computed from its bytes, checked against the one on record."""
    with reading(path) as connection:
        found = {}
        for blob_id, recorded, data in connection.execute(
            "SELECT id, sha256, content FROM blobs ORDER BY id"
        ):
            found[blob_id] = hashlib.sha256(data).hexdigest()
            assert found[blob_id] == recorded
    return found


def sql(path: Path, query: str) -> list[tuple[object, ...]]:
    with reading(path) as connection:
        return connection.execute(query).fetchall()


def trail(path: Path) -> list[tuple[str, str, str]]:
    return [
        (str(a), str(b), str(c))
        for a, b, c in sql(path, "SELECT actor, action, detail FROM audit_entries ORDER BY id")
    ]


def scribble(path: Path, *, seed: int = 1) -> None:
    """Overwrite a few pages in two places inside a file, as a failing disk might."""
    pages = path.stat().st_size // 4096
    rng = random.Random(seed)
    with open(path, "r+b") as handle:
        for page in (pages // 4, pages // 2):
            handle.seek(page * 4096)
            handle.write(rng.randbytes(3 * 4096))


def change_after_backup(db: Database, tmp_path: Path) -> None:
    """New work after a backup: a new case, an edited one, a newly stored file."""
    cases.create_case(db, case(), patient=patient(family_name="Nachher"), actor=admin(), now=NOW)
    detail = cases.get_case(db, 1, now=NOW)
    cases.update_case(
        db,
        1,
        expected_version=detail.version,
        patient=None,
        case=replace(detail.case, stage="IV (changed after the backup)"),
        actor=admin(),
        now=NOW,
    )
    scan = tmp_path / "scan.png"
    scan.write_bytes(PNG_HEAD + random.Random(5).randbytes(30_000))
    files.add_file(db, 1, "consent_form", scan, actor=admin(), now=NOW)


def leftovers(folder: Path) -> list[str]:
    return sorted(
        p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".part")
    )


# --- Making backups -------------------------------------------------------------------------------


def test_back_up_now_saves_a_checked_copy_and_the_trail_records_it(
    office: Database, paths: AppPaths, tmp_path: Path
) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    seen: list[tuple[int, int]] = []
    target = backups.back_up_now(
        office,
        usb / "office copy.sqlite",
        actor=admin("alex"),
        paths=paths,
        progress=lambda done, total: seen.append((done, total)),
    )

    check = backups.verify(target)
    assert check.ok, check.problems
    summary = check.summary
    assert (summary.cases, summary.schema, summary.automatic) == (CASES, "current", False)
    assert summary.letters == sql(office.path, "SELECT count(*) FROM letters")[0][0] > 0
    assert summary.documents == sql(office.path, "SELECT count(*) FROM case_files")[0][0] > 0
    assert seen and seen[-1][0] == seen[-1][1]
    # Everything but the entry that records the backup itself (written after the copy).
    assert content(target, without=AUDIT_TABLES) == content(office.path, without=AUDIT_TABLES)
    assert trail(office.path)[:-1] == trail(target)
    assert trail(office.path)[-1][:2] == ("alex", "backup")
    assert str(target) in trail(office.path)[-1][2]
    settings = backups.load_settings(paths)
    assert settings.last_copy_path == str(target) and settings.last_copy_at is not None
    assert backups.newest_backup_at(paths) == settings.last_copy_at
    if sys.platform != "win32":
        assert target.stat().st_mode & 0o777 == 0o600  # every patient's record: owner only
    assert sorted(p.name for p in usb.iterdir()) == ["office copy.sqlite"]  # one file, no -wal


def test_only_administrators_save_a_backup_to_a_file_of_their_choice(
    office: Database, tmp_path: Path
) -> None:
    with pytest.raises(NotAllowedError):
        backups.back_up_now(office, tmp_path / "mine.sqlite", actor=staff())
    assert not (tmp_path / "mine.sqlite").exists()
    with pytest.raises(BackupError, match="replace the database"):
        backups.back_up_now(office, office.path, actor=admin())
    with pytest.raises(BackupError, match="does not exist"):
        backups.back_up_now(office, tmp_path / "no such folder" / "x.sqlite", actor=admin())


def test_an_automatic_backup_lands_in_the_backup_folder_checked_and_untraced(
    office: Database, paths: AppPaths
) -> None:
    before = trail(office.path)
    made = backups.automatic_backup(office, paths, now=NOW)
    assert made.path == paths.backup_dir / rules.automatic_name(NOW)
    assert made.removed == []
    assert backups.verify(made.path).ok
    assert content(made.path) == content(office.path)
    assert trail(office.path) == before  # the app's routine does not fill the trail
    assert backups.newest_backup_at(paths) == NOW
    assert leftovers(paths.backup_dir) == []
    # Two within one second keep both.
    again = backups.automatic_backup(office, paths, now=NOW)
    assert again.path != made.path and made.path.exists()
    assert rules.taken_at_from_name(again.path.name) == NOW


# --- Restoring ------------------------------------------------------------------------------------


def test_a_restore_brings_back_every_row_and_every_stored_file_byte_for_byte(
    office: Database, paths: AppPaths, tmp_path: Path
) -> None:
    backup = backups.automatic_backup(office, paths, now=NOW).path
    saved, saved_files = content(backup), stored_files(backup)
    change_after_backup(office, tmp_path)
    changed = content(office.path)
    assert changed != saved and len(stored_files(office.path)) == len(saved_files) + 1

    restored = backups.restore(office, backup, actor=admin("alex"), safety_folder=paths.backup_dir)

    assert content(office.path, without=AUDIT_TABLES) == {
        table: digest for table, digest in saved.items() if table not in AUDIT_TABLES
    }
    assert stored_files(office.path) == saved_files
    # The trail is the backup's, plus one entry that says what happened.
    after = trail(office.path)
    assert after[:-1] == trail(backup)
    assert after[-1][:2] == ("alex", "restore")
    assert backup.name in after[-1][2] and restored.safety_copy.name in after[-1][2]
    assert audit_log.verify_chain(office).ok
    # The work done after the backup is in the safety copy, which is itself a sound backup.
    assert restored.safety_copy.name.startswith("before-restore-")
    assert backups.verify(restored.safety_copy).ok
    assert content(restored.safety_copy) == changed
    assert restored.upgraded_from is None and restored.summary.cases == CASES
    # The same open database object reads and saves the restored data.
    assert cases.get_case(office, 1, now=NOW).case.stage != "IV (changed after the backup)"
    with pytest.raises(NotFoundError):
        cases.get_case(office, CASES + 1, now=NOW)
    created = cases.create_case(office, case(), patient=patient(), actor=admin(), now=NOW)
    assert created.id == CASES + 1
    assert inspect_file(office.path).ok
    assert leftovers(paths.data_dir) == []  # no staged copy left beside the database


def test_two_restores_in_one_second_keep_both_safety_copies(
    office: Database, paths: AppPaths, tmp_path: Path
) -> None:
    backup = backups.automatic_backup(office, paths, now=NOW).path
    original = content(office.path)
    change_after_backup(office, tmp_path)
    first = backups.restore(office, backup, actor=admin(), safety_folder=paths.backup_dir)
    second = backups.restore(office, backup, actor=admin(), safety_folder=paths.backup_dir)
    assert first.safety_copy != second.safety_copy
    assert content(first.safety_copy) != original  # the work after the backup, kept
    assert len(stored_files(first.safety_copy)) == len(stored_files(backup)) + 1


def _damaged(good: Path, bad: Path) -> str:
    shutil.copyfile(good, bad)
    scribble(bad)
    return "damaged|cannot be read"


def _truncated(good: Path, bad: Path) -> str:
    shutil.copyfile(good, bad)
    with open(bad, "r+b") as handle:
        handle.truncate(good.stat().st_size // 3)
    return "damaged|cannot be read"


def _not_a_database(_good: Path, bad: Path) -> str:
    bad.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 64)
    return "cannot be read"


def _empty(_good: Path, bad: Path) -> str:
    bad.write_bytes(b"")
    return "not a Referral Desk database"


def _another_apps_database(_good: Path, bad: Path) -> str:
    with closing(sqlite3.connect(bad)) as connection:
        connection.execute("CREATE TABLE recipes (name TEXT)")
        connection.commit()
    return "not a Referral Desk database"


def _from_a_newer_version(good: Path, bad: Path) -> str:
    shutil.copyfile(good, bad)
    with closing(sqlite3.connect(bad)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
        connection.commit()
    return "newer version of Referral Desk"


@pytest.mark.parametrize(
    "spoil",
    [_damaged, _truncated, _not_a_database, _empty, _another_apps_database, _from_a_newer_version],
)
def test_a_backup_that_cannot_be_restored_is_refused_and_nothing_changes(
    office: Database, paths: AppPaths, tmp_path: Path, spoil: Callable[[Path, Path], str]
) -> None:
    good = backups.automatic_backup(office, paths, now=NOW).path
    bad = tmp_path / "chosen backup.sqlite"
    expected = spoil(good, bad)
    spoiled = bad.read_bytes()
    change_after_backup(office, tmp_path)
    before = content(office.path)

    assert not backups.verify(bad).ok
    with pytest.raises(BackupError, match=expected) as refused:
        backups.restore(office, bad, actor=admin(), safety_folder=paths.backup_dir)
    assert "Nothing was changed" in str(refused.value)
    assert content(office.path) == before
    assert not list(paths.backup_dir.glob("before-restore-*"))  # refused before any work
    assert bad.read_bytes() == spoiled  # and the file chosen is as it was
    assert leftovers(paths.data_dir) == []


def test_the_database_itself_is_not_taken_for_a_backup(office: Database, paths: AppPaths) -> None:
    before = content(office.path)
    with pytest.raises(BackupError, match="database itself"):
        backups.restore(office, office.path, actor=admin(), safety_folder=paths.backup_dir)
    assert content(office.path) == before


def test_a_backup_from_an_older_version_is_upgraded_after_the_restore(
    office: Database, paths: AppPaths, template: Path, tmp_path: Path
) -> None:
    old = tmp_path / "backups of 2025" / "office before accounts.sqlite"
    old.parent.mkdir()
    shutil.copyfile(template, old)
    database = Database(old)
    config = migrate.alembic_config()
    with database.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")  # the schema before accounts and the audit trail
    database.dispose()
    before = sorted(p.name for p in old.parent.iterdir())
    old_bytes = old.read_bytes()
    summary = backups.describe(old)
    assert (summary.revision, summary.schema, summary.cases) == ("0005", "older", CASES)
    change_after_backup(office, tmp_path)

    restored = backups.restore(office, old, actor=admin(), safety_folder=paths.backup_dir)

    assert restored.upgraded_from == "0005"
    assert migrate.current_revision(office) == migrate.head_revision()
    for table in ("cases", "patients", "letters", "case_files", "status_changes"):
        assert content(office.path)[table] == content(old)[table], table
    assert stored_files(office.path) == stored_files(template)
    [(_, action, detail)] = trail(office.path)  # the trail starts with the restore
    assert action == "restore" and "upgraded from schema 0005" in detail
    assert audit_log.verify_chain(office).ok
    cases.create_case(office, case(), patient=patient(), actor=admin(), now=NOW)
    # The old backup was read, not written: no -wal or -shm beside it, not a byte changed.
    assert sorted(p.name for p in old.parent.iterdir()) == before
    assert old.read_bytes() == old_bytes
    assert leftovers(paths.data_dir) == []


def test_only_an_administrator_by_stored_role_may_restore(
    office: Database, paths: AppPaths
) -> None:
    alex = accounts.create_first_administrator(office, "alex", "Alex Admin", "correct horse 12")
    accounts.add_user(office, "sam", UserRole.STAFF, "battery staple 34", actor=alex)
    backup = backups.automatic_backup(office, paths, now=NOW).path
    cases.create_case(office, case(), patient=patient(), actor=alex, now=NOW)
    before = content(office.path)

    for actor in (
        Actor("sam", UserRole.STAFF),
        Actor("sam", UserRole.ADMINISTRATOR),  # a window that still thinks sam is one
        Actor("ghost", UserRole.ADMINISTRATOR),  # no such account
    ):
        with pytest.raises(NotAllowedError):
            backups.restore(office, backup, actor=actor, safety_folder=paths.backup_dir)
        assert content(office.path) == before
    assert not list(paths.backup_dir.glob("before-restore-*"))

    backups.restore(office, backup, actor=alex, safety_folder=paths.backup_dir)
    assert sql(office.path, "SELECT count(*) FROM cases") == [(CASES,)]


# --- The backup folder ----------------------------------------------------------------------------


def test_rotation_removes_only_the_automatic_backups_the_rule_lets_go(
    office: Database, paths: AppPaths
) -> None:
    folder = paths.backup_dir
    taken = [NOW - timedelta(hours=12 * n) for n in range(1, 200)]  # 100 days, twice a day
    for moment in taken:
        (folder / rules.automatic_name(moment)).write_bytes(b"an older automatic backup")
    others = {
        "before-restore-2026-11-01T101500Z.sqlite": b"safety copy",
        "before-upgrade-from-0005-20260101T000000Z.sqlite": b"upgrade copy",
        "notes.txt": b"the office's own file",
        "referral-desk-backup-2026-13-45T996199Z.sqlite": b"the right shape, no such time",
        "referral-desk-backup-2020-01-01T000000Z.sqlite.part": b"not a backup's name",
    }
    for name, data in others.items():
        (folder / name).write_bytes(data)
    (folder / rules.automatic_name(NOW - timedelta(days=400))).mkdir()  # a folder: left alone

    made = backups.automatic_backup(office, paths, now=NOW)

    keep = rules.to_keep([*taken, NOW])
    assert NOW in keep
    dropped = {folder / rules.automatic_name(moment) for moment in taken if moment not in keep}
    assert set(made.removed) == dropped
    assert {path for _, path in backups.list_automatic(folder)} == {
        folder / rules.automatic_name(moment) for moment in keep
    }
    for name, data in others.items():
        assert (folder / name).read_bytes() == data
    assert (folder / rules.automatic_name(NOW - timedelta(days=400))).is_dir()
    assert backups.verify(made.path).ok
    assert backups.rotate(folder) == []  # a second rotation lets nothing more go


def test_the_newest_good_backup_skips_a_damaged_newer_one(
    office: Database, paths: AppPaths
) -> None:
    older = backups.automatic_backup(office, paths, now=NOW - timedelta(days=1)).path
    newest = backups.automatic_backup(office, paths, now=NOW).path
    scribble(newest)

    listed = backups.list_backups(paths.backup_dir)
    assert [s.path for s in listed] == [newest, older]  # shown, newest first
    assert not backups.verify(newest).ok
    good = backups.newest_good_backup(paths)
    assert good is not None and good.summary.path == older and good.ok

    scribble(older)
    assert backups.newest_good_backup(paths) is None


def test_a_backup_folder_set_to_the_data_folder_never_offers_the_database_itself(
    office: Database, paths: AppPaths
) -> None:
    backups.save_settings(paths, backups.BackupSettings(paths.data_dir), actor=admin())
    assert backups.newest_good_backup(paths) is None
    made = backups.automatic_backup(office, paths, now=NOW)
    good = backups.newest_good_backup(paths)
    assert good is not None and good.summary.path == made.path


def test_describing_a_backup_never_changes_it(office: Database, paths: AppPaths) -> None:
    ours = backups.automatic_backup(office, paths, now=NOW).path
    # A copy whose header says WAL, as a plain backup-API copy of a WAL database has.
    theirs = paths.backup_dir / "copied by hand.sqlite"
    with closing(sqlite3.connect(office.path)) as source, closing(sqlite3.connect(theirs)) as copy:
        source.backup(copy)
    assert theirs.read_bytes()[18:20] == b"\x02\x02"
    for path in (ours, theirs):
        before = (path.read_bytes(), path.stat().st_mtime_ns)
        assert backups.describe(path).cases == CASES
        assert backups.verify(path, chain=True).ok
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert len(backups.list_backups(paths.backup_dir)) == 2
    assert sorted(p.name for p in paths.backup_dir.iterdir()) == sorted([ours.name, theirs.name])
    with pytest.raises(BackupError, match="cannot be read"):
        backups.describe(paths.backup_dir / "gone.sqlite")


# --- A database that no longer opens --------------------------------------------------------------


def test_a_damaged_database_is_moved_aside_and_the_backup_put_in_its_place(
    office: Database, paths: AppPaths
) -> None:
    backup = backups.automatic_backup(office, paths, now=NOW).path
    office.dispose()
    scribble(paths.database, seed=3)
    assert not health(paths.database).ok
    Path(f"{paths.database}-wal").write_bytes(b"what the crash left")
    damaged = paths.database.read_bytes()

    restored = backups.restore_over_damaged(paths.database, backup, safety_folder=paths.backup_dir)

    aside = restored.safety_copy.parent
    assert aside.parent == paths.backup_dir and aside.name.startswith("damaged-")
    assert restored.safety_copy.read_bytes() == damaged  # kept for a specialist
    assert (aside / f"{paths.database.name}-wal").read_bytes() == b"what the crash left"
    assert not Path(f"{paths.database}-wal").exists()
    assert health(paths.database).ok
    assert content(paths.database) == content(backup)
    assert leftovers(paths.data_dir) == []
    reopened = open_database(paths)
    try:
        assert audit_log.verify_chain(reopened).ok
        cases.create_case(reopened, case(), patient=patient(), actor=admin(), now=NOW)
    finally:
        reopened.dispose()


def test_the_start_up_check_finds_damage_while_another_window_holds_the_writer_lock(
    office: Database, paths: AppPaths
) -> None:
    assert health(paths.database).ok
    office.dispose()
    scribble(paths.database, seed=4)
    other_window = WriterLock(paths.database)
    assert other_window.acquire()
    try:
        assert not health(paths.database).ok  # checked at once, not waited out and waved on
    finally:
        other_window.release()
    assert not health(paths.database).ok
    assert other_window.acquire()  # the check gave the lock back
    other_window.release()


def test_a_missing_database_is_replaced_by_the_backup(office: Database, paths: AppPaths) -> None:
    backup = backups.automatic_backup(office, paths, now=NOW).path
    office.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{paths.database}{suffix}").unlink(missing_ok=True)
    backups.restore_over_damaged(paths.database, backup, safety_folder=paths.backup_dir)
    assert content(paths.database) == content(backup)


# --- A restore cut off midway ---------------------------------------------------------------------

KILL_POINTS = {
    # where the restoring process is killed -> whose data the database then holds
    "copying the safety copy": "old",
    "staging the backup": "old",
    "after staging, before copying in": "old",
    "copying in, first page": "old",
    "copying in, half the pages": "old",
    "copying in, just committed": "backup",
    "before the trail entry": "backup",
}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _restore_killed_at(point: str, path: Path, backup: Path, safety: Path, out: Channel) -> None:
    """In the child: restore, with SIGKILL planted at `point`."""
    db = open_database_file(path)
    backups.STEP_PAGES = 1  # copies in single pages, so a kill can land in the middle
    live = os.path.realpath(path)
    real_copy = backups._copy

    def copy(uri: str, source: Path, target: Path, *args: object) -> None:
        kill_here = (point == "copying the safety copy" and target.parent == safety) or (
            point == "staging the backup" and target.name.startswith(".restoring-")
        )
        if not kill_here:
            return real_copy(uri, source, target, *args)  # type: ignore[arg-type]

        def halfway(done: int, total: int) -> None:
            if done >= total // 2:
                _die()

        return real_copy(uri, source, target, halfway, None, True)

    real_connect = sqlite3.connect

    class Killing(sqlite3.Connection):
        def backup(self, target: sqlite3.Connection, **options: object) -> None:  # type: ignore[override]
            name = target.execute("PRAGMA database_list").fetchone()[2]
            if os.path.realpath(name) != live:
                return super().backup(target, **options)  # type: ignore[arg-type]
            target.execute("PRAGMA cache_size = 4")  # pages spill into the live WAL early

            def step(_status: int, remaining: int, total: int) -> None:
                done = total - remaining
                if (
                    (point == "copying in, first page" and done >= 1)
                    or (point == "copying in, half the pages" and done >= total // 2)
                    or (point == "copying in, just committed" and remaining == 0)
                ):
                    _die()

            return super().backup(target, pages=1, progress=step)

    def connect(database: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        kwargs.setdefault("factory", Killing)
        return real_connect(database, *args, **kwargs)  # type: ignore[call-overload, no-any-return]

    real_upgrade = backups._upgrade

    def upgrade(staged: Path, summary: backups.BackupSummary) -> str | None:
        real_upgrade(staged, summary)
        if point == "after staging, before copying in":
            _die()
        return None

    def trace(*_args: object, **_kwargs: object) -> None:
        _die()

    backups._copy = copy  # type: ignore[assignment]
    backups._upgrade = upgrade  # type: ignore[assignment]
    backups._trace = trace  # type: ignore[assignment]
    sqlite3.connect = connect  # type: ignore[assignment]
    out.say("ready")
    backups.restore(db, backup, actor=admin(), safety_folder=safety)
    out.say("restored")


@pytest.mark.skipif(not CAN_FORK, reason=NO_FORK)
def test_a_restore_killed_at_any_moment_leaves_the_old_database_or_the_backup(
    office: Database, paths: AppPaths, tmp_path: Path
) -> None:
    backup = backups.automatic_backup(office, paths, now=NOW).path
    change_after_backup(office, tmp_path)
    office.dispose()
    _single_file(paths.database)
    old_state = tmp_path / "old.sqlite"
    shutil.copyfile(paths.database, old_state)
    expected = {"old": content(old_state), "backup": content(backup)}
    assert expected["old"] != expected["backup"]
    safety = tmp_path / "safety"

    for point, holds in KILL_POINTS.items():
        for suffix in ("-wal", "-shm"):
            Path(f"{paths.database}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(old_state, paths.database)
        child = fork(
            lambda out, point=point: _restore_killed_at(  # type: ignore[misc]
                point, paths.database, backup, safety, out
            )
        )
        try:
            child.expect("ready")
            said = child.rest()
            status = child.wait()
        finally:
            child.close()
        assert status == -signal.SIGKILL, f"{point}: the child said {said}"

        assert health(paths.database).ok, point
        reopened = open_database_file(paths.database)
        try:
            assert audit_log.verify_chain(reopened).ok, point
        finally:
            reopened.dispose()
        assert inspect_file(paths.database).ok, point
        assert content(paths.database) == expected[holds], f"killed {point}"
        # Never a partial safety copy under its real name.
        for copy in safety.glob("before-restore-*.sqlite"):
            assert backups.verify(copy).ok, point


DAMAGED_KILL_POINTS = {
    "staging the backup": "damaged",
    "its journal files moved aside": "damaged",
    "the damaged file kept aside": "damaged",
    "the backup renamed into place": "backup",
}


def _replace_damaged_killed_at(point: str, database: Path, backup: Path, aside: Path) -> None:
    """In the child: put the backup in place of a damaged database, SIGKILLed at `point`."""
    backups.STEP_PAGES = 1
    real_copy, real_move, real_keep, real_replace = (
        backups._copy,
        shutil.move,
        backups._keep_copy,
        os.replace,
    )

    def copy(uri: str, source: Path, target: Path, *args: object) -> None:
        if point != "staging the backup":
            return real_copy(uri, source, target, *args)  # type: ignore[arg-type]

        def halfway(done: int, total: int) -> None:
            if done >= total // 2:
                _die()

        return real_copy(uri, source, target, halfway, None, True)

    def move(source: str, target: str) -> object:
        moved = real_move(source, target)
        if point == "its journal files moved aside":
            _die()
        return moved

    def keep(source: Path, target: Path) -> None:
        real_keep(source, target)
        if point == "the damaged file kept aside":
            _die()

    def rename(source: object, target: object) -> None:
        real_replace(source, target)  # type: ignore[arg-type]
        if point == "the backup renamed into place" and Path(str(target)) == database:
            _die()

    backups._copy = copy  # type: ignore[assignment]
    backups._keep_copy = keep  # type: ignore[assignment]
    shutil.move = move  # type: ignore[assignment]
    os.replace = rename  # type: ignore[assignment]
    backups.restore_over_damaged(database, backup, safety_folder=aside)


@pytest.mark.skipif(not CAN_FORK, reason=NO_FORK)
def test_replacing_a_damaged_database_killed_at_any_moment_never_leaves_no_database(
    office: Database, paths: AppPaths, tmp_path: Path
) -> None:
    backup = backups.automatic_backup(office, paths, now=NOW).path
    office.dispose()
    scribble(paths.database, seed=3)
    damaged = paths.database.read_bytes()
    crash_left = b"what the crash left"
    wal = Path(f"{paths.database}-wal")

    for point, holds in DAMAGED_KILL_POINTS.items():
        aside = tmp_path / point.replace(" ", "-")
        paths.database.write_bytes(damaged)
        wal.write_bytes(crash_left)
        child = fork(
            lambda _out, point=point, aside=aside: _replace_damaged_killed_at(  # type: ignore[misc]
                point, paths.database, backup, aside
            )
        )
        try:
            said = child.rest()
            status = child.wait()
        finally:
            child.close()
        assert status == -signal.SIGKILL, f"{point}: the child said {said}"

        assert paths.database.exists(), f"killed {point}: no database at all"
        kept = {p.name: p.read_bytes() for p in aside.rglob("*") if p.is_file()}
        if holds == "damaged":
            assert paths.database.read_bytes() == damaged, point
            assert crash_left in (wal.read_bytes() if wal.exists() else b"", *kept.values())
        else:
            assert health(paths.database).ok, point
            assert content(paths.database) == content(backup), point
            assert kept == {paths.database.name: damaged, wal.name: crash_left}
