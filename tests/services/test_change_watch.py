from __future__ import annotations

from pathlib import Path

from referral_desk.db.integrity import inspect_file
from referral_desk.paths import resolve_paths
from referral_desk.services import cases
from referral_desk.services.change_watch import ChangeWatcher
from referral_desk.services.database import open_database
from tests.conftest import NOW, admin, case, patient


def test_a_commit_from_another_connection_is_noticed_once(tmp_path: Path) -> None:
    # '#', '?' and '%' are legal in folder names and must not cut the SQLite URI short.
    paths = resolve_paths(tmp_path / "office #2 ?100%")
    db = open_database(paths)
    watcher = ChangeWatcher(paths.database)
    assert not watcher.changed()
    cases.create_case(db, case(), patient=patient(), actor=admin("t"), now=NOW)
    assert watcher.changed()
    assert not watcher.changed()
    watcher.close()
    db.dispose()
    assert inspect_file(paths.database).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["office #2 ?100%"]  # no stray file
