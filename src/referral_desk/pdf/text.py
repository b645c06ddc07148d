"""User text as ReportLab paragraph markup: printed literally, in a font that has its script.

(Placeholder until the font work lands: escapes only.)
"""

from __future__ import annotations

from xml.sax.saxutils import escape


def markup(text: str) -> str:
    """Literal text (`<`, `&` and markup-like strings print as typed) as paragraph markup."""
    return escape(text).replace("\n", "<br/>")
