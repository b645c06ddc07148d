"""Files written whole or not at all: a temporary file beside the target, then a rename."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_beside(target: Path) -> tuple[int, Path]:
    """A new temporary file next to `target`, with the permissions a new file normally gets.

    (mkstemp would make it readable by its owner only: a copy saved for a colleague must not.)
    Beside the target, so the final rename stays on one file system and is atomic.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = target.parent / f".referral-desk-{secrets.token_hex(8)}.part"
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
