"""Files written whole or not at all: a temporary file beside the target, then a rename."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from referral_desk.services.errors import ServiceError


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


def write_whole(target: Path, content: bytes) -> None:
    """Write `target` whole or not at all (temporary file beside it, fsync, rename)."""
    try:
        handle, temporary = create_beside(target)
    except OSError as exc:
        raise ServiceError(f"Cannot write to {target.parent} ({exc.strerror or exc}).") from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        raise ServiceError(
            f"Could not save '{target.name}' ({exc.strerror or exc}); nothing was written."
        ) from None
    finally:
        if temporary.exists():
            temporary.unlink()
