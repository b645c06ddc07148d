"""The office's local time zone: storage is UTC, people think in local days."""

from __future__ import annotations

from datetime import datetime, tzinfo


def resolve_zone(zone: tzinfo | None = None) -> tzinfo:
    """The given zone, or this computer's (tests and servers pass one explicitly)."""
    resolved = zone or datetime.now().astimezone().tzinfo
    assert resolved is not None
    return resolved
