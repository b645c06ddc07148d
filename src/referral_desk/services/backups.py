"""Backups of the whole office database, and restoring one.

Every copy is made with SQLite's online backup API (a consistent snapshot even while the app
writes; a file copy of a live WAL database is not), checked with `integrity_check`, and only
then given its real name. A restore stages the backup beside the database, upgrades its
schema there, and copies it in with one SQLite transaction: a restore cut off at any moment
leaves the previous database as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from referral_desk.db import migrate
from referral_desk.db.engine import Database
from referral_desk.db.integrity import read_only_uri
from referral_desk.domain import backups as rules
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.audit import AuditAction
from referral_desk.paths import AppPaths
from referral_desk.services import acting
from referral_desk.services.atomic import create_beside
from referral_desk.services.errors import ServiceError

Progress = Callable[[int, int], None]  # (pages copied, pages in all)
STEP_PAGES = 2048  # 8 MB a step: progress and cancel every few tens of milliseconds
SETTINGS_FILE = "backup-settings.json"


class BackupError(ServiceError):
    """A backup could not be made, read or restored; nothing was changed."""


class BackupCancelled(BackupError):
    def __init__(self) -> None:
        super().__init__("The backup was cancelled; nothing was written.")


# --- Settings: kept in a file beside the database, so a damaged database still finds them ---


@dataclass(frozen=True)
class BackupSettings:
    folder: Path
    interval_hours: int = rules.DEFAULT_INTERVAL_HOURS
    last_copy_at: datetime | None = None  # the newest "Back up now" to a chosen file
    last_copy_path: str = ""


def load_settings(paths: AppPaths) -> BackupSettings:
    default = BackupSettings(paths.backup_dir)
    try:
        stored = json.loads((paths.data_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
    if not isinstance(stored, dict):
        return default
    hours, folder = stored.get("interval_hours"), stored.get("folder")
    last = stored.get("last_copy_at")
    try:
        last_at = datetime.fromisoformat(last) if isinstance(last, str) else None
    except ValueError:
        last_at = None
    return BackupSettings(
        folder=Path(folder) if isinstance(folder, str) else paths.backup_dir,
        interval_hours=hours
        if isinstance(hours, int) and rules.interval_problem(hours) is None
        else rules.DEFAULT_INTERVAL_HOURS,
        last_copy_at=last_at,
        last_copy_path=str(stored.get("last_copy_path") or ""),
    )


def save_settings(paths: AppPaths, settings: BackupSettings, *, actor: Actor) -> None:
    """Change where and how often automatic backups are made (administrators)."""
    acting.check(actor, Permission.BACKUPS, "change the backup settings")
    _store_settings(paths, settings, check=True)


def _store_settings(paths: AppPaths, settings: BackupSettings, *, check: bool = False) -> None:
    if check:
        problem = rules.interval_problem(settings.interval_hours)
        if problem:
            raise BackupError(problem)
        folder = settings.folder
        if not folder.is_absolute():
            raise BackupError(f"Choose a full folder path for backups, not '{folder}'.")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackupError(
                f"Backups cannot go to {folder} ({exc.strerror or exc}). Choose another folder."
            ) from None
    from referral_desk.services.atomic import write_whole

    content = {
        "folder": str(settings.folder),
        "interval_hours": settings.interval_hours,
        "last_copy_at": settings.last_copy_at.isoformat() if settings.last_copy_at else None,
        "last_copy_path": settings.last_copy_path,
    }
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    write_whole(paths.data_dir / SETTINGS_FILE, json.dumps(content, indent=2).encode("utf-8"))


# --- What a backup file holds ------------------------------------------------------------------


@dataclass(frozen=True)
class BackupSummary:
    """What a backup file holds, read without changing it."""

    path: Path
    size: int
    taken_at: datetime  # from an automatic backup's name, else the file's time
    revision: str | None
    cases: int
    patients: int
    documents: int  # stored files (pathology reports, images...)
    letters: int
    data_as_of: datetime | None  # its newest change (a case saved, an audit entry)
    error: str | None = None  # it could not be read at all

    @property
    def kind(self) -> rules.BackupKind:
        return rules.kind_of(self.path.name)

    @property
    def automatic(self) -> bool:
        return self.kind is rules.BackupKind.AUTOMATIC

    @property
    def schema(self) -> str:
        """ "current", "older" (upgraded after a restore), "newer" or "unknown"."""
        if self.revision is None:
            return "unknown"
        if self.revision == migrate.head_revision():
            return "current"
        if self.revision in migrate.known_revisions():
            return "older"
        return "newer"


@dataclass(frozen=True)
class BackupCheck:
    summary: BackupSummary
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    # immutable: reading a backup must not create -wal or -shm files beside it, or change it.
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        yield connection


def _count(connection: sqlite3.Connection, table: str, tables: set[str]) -> int:
    if table not in tables:
        return 0
    return int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def describe(path: Path) -> BackupSummary:
    """Date, schema version and counts of a backup, for a preview before restoring."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise BackupError(f"{path} cannot be read ({exc.strerror or exc}).") from None
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    taken_at = rules.stamp_in_name(path.name) or datetime.fromtimestamp(stat.st_mtime, UTC)
    empty = BackupSummary(path, stat.st_size, taken_at, None, 0, 0, 0, 0, None)
    try:
        with _read_only(path) as connection:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if "cases" not in tables:
                return replace(empty, error=f"{path.name} is not a Referral Desk database.")
            revision = None
            if "alembic_version" in tables:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
            newest = [connection.execute("SELECT max(updated_at) FROM cases").fetchone()[0]]
            if "audit_entries" in tables:
                newest.append(connection.execute("SELECT max(at) FROM audit_entries").fetchone()[0])
            data_as_of = max(
                (moment for moment in map(_stored_time, newest) if moment), default=None
            )
            return BackupSummary(
                path,
                stat.st_size,
                taken_at,
                revision,
                cases=_count(connection, "cases", tables),
                patients=_count(connection, "patients", tables),
                documents=_count(connection, "case_files", tables),
                letters=_count(connection, "letters", tables),
                data_as_of=data_as_of,
            )
    except sqlite3.DatabaseError as exc:
        return replace(empty, error=f"{path.name} cannot be read as a database ({exc}).")


def _stored_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def verify(path: Path, *, chain: bool = True) -> BackupCheck:
    """Is this a sound Referral Desk database that this version can restore? `integrity_check`,
    foreign keys, its schema version, and (with `chain`) its audit trail's seals."""
    summary = describe(path)
    if summary.error:
        return BackupCheck(summary, [summary.error])
    problems: list[str] = []
    if summary.schema == "newer":
        problems.append(
            f"It was made by a newer version of Referral Desk (schema {summary.revision}); "
            "install that version to restore it."
        )
    elif summary.schema == "unknown":
        problems.append("It has no schema version: it is not a Referral Desk backup.")
    try:
        with _read_only(path) as connection:
            integrity = [row[0] for row in connection.execute("PRAGMA integrity_check(20)")]
            if integrity != ["ok"]:
                problems.append("It is damaged: " + "; ".join(integrity[:3]))
            broken = connection.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                problems.append(f"{len(broken):,} records refer to records that are missing.")
    except sqlite3.DatabaseError as exc:
        problems.append(f"It cannot be read ({exc}).")
    if chain and not problems and summary.revision and summary.schema != "newer":
        problem = _chain_problem(path)
        if problem:
            problems.append(problem)
    return BackupCheck(summary, problems)


def _chain_problem(path: Path) -> str | None:
    """The audit trail's seals, checked on a scratch copy (opening the backup itself as a
    database would change its header)."""
    from referral_desk.services import audit_log

    with scratch_copy(path) as copy:
        database = Database(copy)
        try:
            with database.read() as session:
                has_trail = (
                    session.connection()
                    .exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'audit_head'")
                    .first()
                )
            if not has_trail:
                return None
            report = audit_log.verify_chain(database)
        finally:
            database.dispose()
    return None if report.ok else f"Its audit trail does not check out: {report.problem}"


@contextmanager
def scratch_copy(path: Path) -> Iterator[Path]:
    """A throwaway copy of a backup to open as a database (checks, a sign-in against its
    accounts) without writing a byte of the backup itself."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="referral-desk-") as folder:
        copy = Path(folder) / "copy.sqlite"
        with _read_only(path) as source, closing(sqlite3.connect(copy)) as target:
            source.backup(target)
        yield copy


# --- Making a backup -----------------------------------------------------------------------------


def copy_database(
    source: Path,
    target: Path,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    check: bool = True,
) -> None:
    """Copy a live database to `target`, whole or not at all.

    The copy goes to a temporary file beside `target` inside one read transaction on the
    source (a consistent snapshot however long it takes), becomes a single self-contained
    file (no -wal), is checked, flushed to disk, and only then renamed: a full disk or a
    cancel never leaves a partial file under the real name.
    """
    _copy(read_only_uri(source), source, target, progress, cancelled, check)


def _copy(
    source_uri: str,
    source: Path,
    target: Path,
    progress: Progress | None,
    cancelled: Callable[[], bool] | None,
    check: bool,
) -> None:
    try:
        handle, temporary = create_beside(target)
    except OSError as exc:
        raise BackupError(
            f"Cannot write a backup to {target.parent} ({exc.strerror or exc})."
        ) from None
    os.close(handle)
    try:
        with closing(sqlite3.connect(source_uri, uri=True)) as src:
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts

            def step(_status: int, remaining: int, total: int) -> None:
                if cancelled is not None and cancelled():
                    raise BackupCancelled()
                if progress is not None:
                    progress(total - remaining, total)

            with closing(sqlite3.connect(temporary)) as dst:
                src.backup(dst, pages=STEP_PAGES, progress=step)
                src.rollback()
                dst.execute("PRAGMA journal_mode = DELETE")  # one file, whatever the source
                if check:
                    found = [row[0] for row in dst.execute("PRAGMA integrity_check(5)")]
                    if found != ["ok"]:
                        raise BackupError(
                            f"The copy of {source.name} failed its integrity check "
                            f"({'; '.join(found)}); it was not kept."
                        )
        if sys.platform != "win32":
            os.chmod(temporary, 0o600)  # the whole office's patient records: the owner only
        _flush(temporary)
        os.replace(temporary, target)
        _flush_folder(target.parent)
    except BackupError:
        raise
    except sqlite3.Error as exc:
        raise BackupError(
            f"Could not back up to {target}: {_plain(exc)}; nothing was written."
        ) from None
    except OSError as exc:
        raise BackupError(
            f"Could not back up to {target} ({exc.strerror or exc}); nothing was written."
        ) from None
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with suppress(OSError):
                Path(f"{temporary}{suffix}").unlink()


def _plain(exc: sqlite3.Error) -> str:
    text = str(exc)
    name = getattr(exc, "sqlite_errorname", "") or ""
    if "full" in text.lower() or name == "SQLITE_FULL":
        return "the disk is full"
    if name.startswith("SQLITE_IOERR") or "disk i/o" in text.lower():
        # A write past a quota or file size limit, or a USB disk pulled out midway.
        return "the disk reported an error (is it full, or was it removed?)"
    return text


def _flush(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _flush_folder(folder: Path) -> None:
    """The rename itself survives a power cut only once its folder is flushed (POSIX)."""
    if sys.platform == "win32":
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@dataclass(frozen=True)
class BackupMade:
    path: Path
    removed: list[Path]  # older automatic backups the rotation let go


def back_up_now(
    db: Database,
    target: Path,
    *,
    actor: Actor,
    paths: AppPaths | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """ "Back up now" to a file the administrator chose (e.g. a USB disk)."""
    acting.check(actor, Permission.BACKUPS, "save a backup of the database")
    target = Path(target)
    if target.is_dir():
        raise BackupError(f"{target} is a folder; give the backup a file name.")
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    if target.resolve() == db.path.resolve():
        raise BackupError("A backup cannot replace the database it is a copy of.")
    copy_database(db.path, target, progress=progress, cancelled=cancelled)
    _trace(db, actor, AuditAction.BACKUP, f"saved to {target}")
    if paths is not None:
        settings = load_settings(paths)
        _store_settings(
            paths,
            replace(settings, last_copy_at=datetime.now(UTC), last_copy_path=str(target)),
        )
    return target


def automatic_backup(
    db: Database,
    paths: AppPaths,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BackupMade:
    """A rotated backup into the backup folder (on close, every few hours, or when asked).
    Needs no role: the app makes these for every user, and they stay in the office's folder."""
    now = now or datetime.now(UTC)
    folder = load_settings(paths).folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(
            f"The backup folder {folder} cannot be used ({exc.strerror or exc}). Choose another "
            "one in Settings ▸ Backups."
        ) from None
    target = folder / rules.automatic_name(now)
    serial = 1
    while target.exists():  # two backups within a second
        serial += 1
        target = folder / rules.automatic_name(now).replace(
            rules.SUFFIX, f"-{serial}{rules.SUFFIX}"
        )
    copy_database(db.path, target, progress=progress, cancelled=cancelled)
    return BackupMade(target, rotate(folder))


def rotate(folder: Path) -> list[Path]:
    """Remove the automatic backups the rotation does not keep; other files are left alone."""
    automatic = list_automatic(folder)
    keep = rules.to_keep(taken for taken, _ in automatic)
    removed = []
    for taken, path in automatic:
        if taken not in keep:
            with suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def list_automatic(folder: Path) -> list[tuple[datetime, Path]]:
    """Automatic backups in `folder`, newest first."""
    found = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return []
    for path in entries:
        taken = rules.taken_at_from_name(path.name)
        if taken is not None and path.is_file():
            found.append((taken, path))
    return sorted(found, reverse=True)


def list_backups(folder: Path) -> list[BackupSummary]:
    """Every database copy in the backup folder (automatic ones, safety copies taken before an
    upgrade or a restore, copies put there by hand), newest first."""
    summaries = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return []
    for path in entries:
        if path.suffix == rules.SUFFIX and path.is_file() and not path.name.startswith("."):
            with suppress(BackupError):
                summaries.append(describe(path))
    return sorted(summaries, key=lambda s: s.taken_at, reverse=True)


def newest_backup_at(paths: AppPaths) -> datetime | None:
    """The newest automatic backup or "Back up now" copy, for the start-up warning."""
    settings = load_settings(paths)
    automatic = list_automatic(settings.folder)
    moments = [automatic[0][0]] if automatic else []
    if settings.last_copy_at is not None:
        moments.append(settings.last_copy_at)
    return max(moments, default=None)


def newest_good_backup(paths: AppPaths) -> BackupCheck | None:
    """The newest backup that passes its checks: what a damaged database is offered."""
    database = paths.database.resolve()
    for summary in list_backups(load_settings(paths).folder):
        if summary.path.resolve() == database:  # a backup folder set to the data folder
            continue
        check = verify(summary.path, chain=False)
        if check.ok:
            return check
    return None


def record_backup(db: Database, actor: Actor, target: Path) -> None:
    """Trail an automatic backup someone asked for (the app's own timed ones are not traced:
    they would fill the trail with the app's routine)."""
    _trace(db, actor, AuditAction.BACKUP, f"to {target}")


def _trace(db: Database, actor: Actor, action: AuditAction, detail: str) -> None:
    with db.write() as session:
        acting.record(session, actor, action, "database", detail=detail)
        session.commit()


# --- Restoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    summary: BackupSummary
    safety_copy: Path  # the database as it was just before the restore
    upgraded_from: str | None  # the backup's older schema, when it was upgraded


def restore(
    db: Database,
    backup: Path,
    *,
    actor: Actor,
    safety_folder: Path,
    progress: Progress | None = None,
) -> Restored:
    """Replace the office's data with a backup's (administrators).

    The backup is verified, a safety copy of the current database is kept, the backup is
    staged and upgraded beside the database, then copied in with one SQLite transaction
    that other windows see as one change. Every open screen must reload afterwards.
    """
    with db.read() as session:  # the role stored now: a demoted administrator may not
        role = acting.current_role(session, actor)
    acting.check(Actor(actor.name, role), Permission.BACKUPS, "restore a backup")
    _not_itself(backup, db.path)
    checked = _verified(backup)
    safety_folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    safety = _unused(safety_folder / f"{rules.BEFORE_RESTORE_PREFIX}{stamp}{rules.SUFFIX}")
    copy_database(db.path, safety, check=False)
    with _staged(backup, beside=db.path) as staged:
        upgraded_from = _upgrade(staged, checked.summary)
        with db.writer_lock.held():
            try:
                with (
                    closing(sqlite3.connect(staged)) as source,
                    closing(sqlite3.connect(db.path, timeout=30)) as target,
                ):
                    # One step: the whole copy is one transaction on the target.
                    source.backup(target, pages=-1)
            except sqlite3.Error as exc:
                raise BackupError(
                    f"The restore could not write the database ({_plain(exc)}); it is unchanged."
                ) from None
    if progress is not None:
        progress(1, 1)
    db.dispose()  # pooled connections held the old schema
    _trace(
        db,
        actor,
        AuditAction.RESTORE,
        _restore_words(checked.summary, safety, upgraded_from),
    )
    return Restored(checked.summary, safety, upgraded_from)


def restore_over_damaged(database: Path, backup: Path, *, safety_folder: Path) -> Restored:
    """Put a backup in place of a database that can no longer be opened (asked for at start-up,
    before anyone can sign in). The damaged file and its -wal/-shm are moved aside, not
    deleted: a specialist may still recover something from them.

    The damaged file is copied aside and then replaced by one rename, so a crash at any
    moment leaves either it or the backup under the database's name, never no file (which
    the next start would take for a new, empty office)."""
    database = Path(database)
    _not_itself(backup, database)
    checked = _verified(backup)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    aside = _unused(safety_folder / f"damaged-{stamp}")
    with _staged(backup, beside=database) as staged:
        upgraded_from = _upgrade(staged, checked.summary)
        try:
            aside.mkdir(parents=True)
            # Its journal files first: left beside the backup, SQLite would replay them into it.
            for suffix in ("-wal", "-shm", "-journal"):
                part = Path(f"{database}{suffix}")
                if part.exists():
                    shutil.move(part, aside / part.name)
            if database.exists():
                _keep_copy(database, aside / database.name)
            os.replace(staged, database)
        except OSError as exc:
            raise BackupError(
                f"The backup could not be put in place ({exc.strerror or exc}). The damaged "
                f"database is still at {database}; whatever was moved aside is in {aside}."
            ) from None
        with suppress(OSError):  # done; the flush only makes the rename durable sooner
            _flush_folder(database.parent)
    return Restored(checked.summary, aside / database.name, upgraded_from)


def _keep_copy(source: Path, target: Path) -> None:
    """A second name for the file (no copying), or a copy where links are not supported."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
        _flush(target)


def _unused(path: Path) -> Path:
    """`path`, or `path` with a serial number when it exists already (two in one second)."""
    candidate, serial = path, 1
    while candidate.exists():
        serial += 1
        candidate = path.with_name(f"{path.stem}-{serial}{path.suffix}")
    return candidate


def _not_itself(backup: Path, database: Path) -> None:
    with suppress(OSError):
        if Path(backup).resolve() == Path(database).resolve():
            raise BackupError(
                "That is the database itself, not a backup of it; nothing was changed."
            )


def _verified(backup: Path) -> BackupCheck:
    checked = verify(Path(backup))
    if not checked.ok:
        raise BackupError(
            f"{Path(backup).name} cannot be restored: {' '.join(checked.problems)} Nothing was "
            "changed."
        )
    return checked


@contextmanager
def _staged(backup: Path, *, beside: Path) -> Iterator[Path]:
    """A working copy of the backup in the database's folder (same disk: the final step is
    a rename or a local copy), removed afterwards whatever happens."""
    staged = beside.with_name(f".restoring-{os.getpid()}-{beside.name}")
    backup = Path(backup)
    try:
        # Read like describe() and verify() read it: exactly the bytes that were checked,
        # and no -wal or -shm left beside a backup whose header says WAL.
        uri = f"{backup.resolve().as_uri()}?mode=ro&immutable=1"
        _copy(uri, backup, staged, None, None, True)
        yield staged
    finally:
        for suffix in ("", "-wal", "-shm", "-journal", ".writer-lock"):
            with suppress(OSError):
                Path(f"{staged}{suffix}").unlink()


def _upgrade(staged: Path, summary: BackupSummary) -> str | None:
    if summary.schema == "current":
        return None
    database = Database(staged)
    try:
        migrate.upgrade(database)
    finally:
        database.dispose()
    # Back to one file (the app's connections left it in WAL mode): renamed into place after a
    # damaged database, it must not depend on a -wal beside it.
    with closing(sqlite3.connect(staged)) as connection:
        connection.execute("PRAGMA journal_mode = DELETE").fetchall()
    return summary.revision


def _restore_words(summary: BackupSummary, safety: Path, upgraded_from: str | None) -> str:
    when = (summary.data_as_of or summary.taken_at).strftime("%Y-%m-%d %H:%M UTC")
    words = f"from {summary.path.name} (data as of {when}); the database before: {safety}"
    if upgraded_from:
        words += f"; upgraded from schema {upgraded_from}"
    return words
