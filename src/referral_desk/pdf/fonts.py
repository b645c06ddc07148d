"""The fonts letters are set in, registered with ReportLab once.

(Placeholder until the bundled fonts land: the built-in Helvetica.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FontSet:
    regular: str
    bold: str


def register() -> FontSet:
    """Register (once) and name the base fonts; safe to call for every letter."""
    return FontSet("Helvetica", "Helvetica-Bold")
