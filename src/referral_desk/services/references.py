"""Human case references, RD-YYYY-NNNNN: unique and never reused, even under concurrent intake."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

PREFIX = "RD"


def format_reference(year: int, number: int) -> str:
    return f"{PREFIX}-{year}-{number:05d}"


def next_reference(session: Session, year: int) -> str:
    """Take the next number for `year` inside the caller's write transaction.

    The counter only grows and the write lock is held from BEGIN IMMEDIATE, so two processes
    never get the same number, and a deleted case never frees its number.
    """
    number = session.execute(
        text(
            "INSERT INTO reference_counters (year, last_number) VALUES (:year, 1) "
            "ON CONFLICT (year) DO UPDATE SET last_number = last_number + 1 "
            "RETURNING last_number"
        ),
        {"year": year},
    ).scalar_one()
    return format_reference(year, number)
