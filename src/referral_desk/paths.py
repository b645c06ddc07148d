"""Where the app keeps its data: one place, overridable so tests and demos never touch real data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "REFERRAL_DESK_DATA_DIR"
_APP_DIR_NAME = "ReferralDesk"
DATABASE_FILE = "referral-desk.sqlite"


@dataclass(frozen=True)
class AppPaths:
    """Every folder the app writes to, derived from one data folder."""

    data_dir: Path
    log_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / DATABASE_FILE

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def settings_file(self) -> Path:
        return self.data_dir / "window-settings.ini"

    def ensure(self) -> AppPaths:
        for folder in (self.data_dir, self.log_dir, self.backup_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    """The explicit folder wins, then the environment variable, then the platform's user folders.

    With an explicit or environment folder, logs live inside it too, so a throwaway folder
    really is throwaway.
    """
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return AppPaths(data_dir=root, log_dir=root / "logs")
    return AppPaths(
        data_dir=Path(platformdirs.user_data_dir(_APP_DIR_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(_APP_DIR_NAME, appauthor=False)),
    )
