"""Text folding for search: case- and accent-insensitive, without transliterating other scripts."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """'Zoë Müller' -> 'zoe muller'; Cyrillic, Greek, Arabic and CJK keep their script."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def search_terms(query: str) -> list[str]:
    """Folded words of what the user typed; punctuation only separates words."""
    return _WORD.findall(fold(query))


def _is_east_asian(text: str) -> bool:
    """Written in Chinese, Japanese or Korean script (judged by the first letter: lists call
    this for every row)."""
    if not text:
        return False
    ch = text[0]
    return (
        "\u1100" <= ch <= "\u11ff"  # Hangul Jamo
        or "\u3040" <= ch <= "\u30ff"  # Hiragana, Katakana
        or "\u4e00" <= ch <= "\u9fff"  # CJK ideographs
        or "\uac00" <= ch <= "\ud7af"  # Hangul syllables
    )


def full_name(given_names: str, family_name: str) -> str:
    """The name as the patient writes it: Chinese, Japanese and Korean put the family first."""
    given, family = given_names.strip(), family_name.strip()
    if _is_east_asian(given) and _is_east_asian(family):
        return f"{family}{given}"
    return " ".join(part for part in (given, family) if part)


def size_text(size: int) -> str:
    """A file's size as people read it: "912 bytes", "784.0 KB", "1.4 MB"."""
    amount = float(size)
    for unit in ("bytes", "KB", "MB"):
        if amount < 1024:
            return f"{int(amount):,} bytes" if unit == "bytes" else f"{amount:,.1f} {unit}"
        amount /= 1024
    return f"{amount:,.1f} GB"
