"""Who is at the keyboard. Until sign-in arrives (a later issue) this is the OS login name."""

from __future__ import annotations

import getpass


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name on some service accounts and containers
        return "unknown"
