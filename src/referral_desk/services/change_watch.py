"""Notice commits made by other windows, programs or CLI jobs on the same database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from referral_desk.db.integrity import read_only_uri


class ChangeWatcher:
    """Polls PRAGMA data_version on one dedicated connection (the value is per connection)."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(read_only_uri(path), uri=True, check_same_thread=False)
        self._last = self._version()

    def _version(self) -> int:
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def changed(self) -> bool:
        """True once after any other connection committed since the last call."""
        current = self._version()
        if current == self._last:
            return False
        self._last = current
        return True

    def close(self) -> None:
        self._connection.close()
