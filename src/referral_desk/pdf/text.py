"""User text as ReportLab paragraph markup: printed literally, in a font that has its script.

`markup` escapes the text (`<`, `&` and markup-like strings print as typed), turns line breaks
into `<br/>`, wraps each run of characters the base font lacks in `<font face=...>` naming the
bundled face that has them, and lays right-to-left runs (Arabic, Hebrew) out in display order.

Right to left: the paragraphs are left-to-right (the letters' templates are), so an Arabic or
Hebrew name inside them is a right-to-left run. ReportLab's own bidi support needs a library
that is not on PyPI (rlbidi) and is switched off for paragraphs with more than one font, and
python-bidi only returns a whole reordered string, whose reversed letters HarfBuzz could no
longer join. So the levels of the Unicode Bidirectional Algorithm are resolved here (the rules
for implicit text: W1-W7, N1-N2, I1-I2, L1-L2; explicit embeddings are dropped), the runs are put
in display order, and each right-to-left run is handed over in reading order because HarfBuzz,
which ReportLab shapes with, reverses it while joining the letters.

Limit: the order is decided before ReportLab breaks lines, so a right-to-left run longer than a
line (a whole Arabic sentence) would read in the wrong order across the break; names fit.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from typing import Any
from xml.sax.saxutils import escape

from referral_desk.pdf import fonts

# Text that the base font prints as is: no right-to-left or other scripts, no controls.
_PLAIN_CHARS = (
    "\x20-\x7e\xa0-\u036f\u0370-\u03ff\u0400-\u052f\u1e00-\u1fff\u2010-\u2027\u2030-\u205e"
    "\u20a0-\u20c0"
)
_PLAIN = re.compile(f"[{_PLAIN_CHARS}]*")


def _left_to_right_letters() -> str:
    """The plain characters of bidi type L, as a regular-expression character class."""
    plain = re.compile(f"[{_PLAIN_CHARS}]")
    return "".join(
        re.escape(chr(code))
        for code in range(0x20, 0x20C1)
        if plain.fullmatch(chr(code)) and unicodedata.bidirectional(chr(code)) == "L"
    )


# A stretch of plain text from a left-to-right letter to another: it stays as it is, and cuts a
# line into parts whose order can be worked out apart (a strong left-to-right letter bounds what
# the bidi rules look at), so a long paragraph with one Arabic name costs little.
_L = _left_to_right_letters()
_PLAIN_STRETCH = re.compile(f"[{_L}](?:[{_PLAIN_CHARS}]*[{_L}])?")
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
_KEPT_FORMAT = {"\u200c", "\u200d", "\u00ad"}  # zero-width (non-)joiner steer shaping; soft hyphen
_DIRECTION_MARKS = {"\u200e", "\u200f", "\u061c"}  # count for the order, print nothing
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff]")
_MIRROR = dict(zip("()[]{}<>«»‹›≤≥", ")(][}{><»«›‹≥≤", strict=True))
_STRONG_RTL = {"R", "AL", "AN"}
_NEUTRAL = {"B", "S", "WS", "ON"}
_UNSHAPED = re.compile(f"[{fonts.UNSHAPED}\n]*")
_variants: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def paragraph(text: str, style: Any, **kwargs: Any) -> Any:
    """A ReportLab `Paragraph` of literal text, shaped only if the text needs it.

    Shaping sends every paragraph down ReportLab's slower path (about twice the time of a page
    of Latin text), so it is switched on per paragraph, whatever the style says. A bold style
    (its font is a bold face) gets the bold faces of the other scripts too.
    """
    from reportlab.lib.fonts import ps2tt
    from reportlab.platypus import Paragraph

    shaped = fonts.SHAPING and needs_shaping(text)
    if bool(getattr(style, "shaping", 0)) != shaped:
        variant = _variants.get(style)
        if variant is None:
            from reportlab.lib.styles import ParagraphStyle

            variant = ParagraphStyle(f"{style.name}-shaping", parent=style, shaping=int(shaped))
            _variants[style] = variant
        style = variant
    try:
        bold = bool(ps2tt(style.fontName)[1])
    except ValueError:  # a font registered without a family: take it as regular
        bold = False
    return Paragraph(markup(text, bold=bold), style, **kwargs)


def needs_shaping(text: str) -> bool:
    """Whether the text has characters ReportLab prints right only when shaping is on."""
    return not _UNSHAPED.fullmatch(_clean(text))


def markup(text: str, *, bold: bool = False) -> str:
    """Literal text (`<`, `&` and markup-like strings print as typed) as paragraph markup.

    `bold`: the paragraph (or the `<b>` this goes into) is bold. ReportLab's `<font face=...>`
    resets bold, so the runs in other scripts must name the bold face themselves.
    The paragraph's style needs `shaping=1` when `needs_shaping(text)`: `paragraph` sees to both.
    """
    return "<br/>".join(_line(line, bold) for line in _clean(text).split("\n"))


def _clean(text: str) -> str:
    """Line breaks as "\\n", other spaces as " ", no control characters or lone surrogates."""
    text = _LINE_BREAKS.sub("\n", text)
    if _PLAIN.fullmatch(text.replace("\n", "")):
        return text
    kept = []
    for ch in text:
        if ch == "\n":
            kept.append(ch)
        elif ch.isspace():
            kept.append(" ")
        elif ch in _KEPT_FORMAT or ch in _DIRECTION_MARKS or _printable(ch):
            kept.append(ch)
    return "".join(kept)


def _printable(ch: str) -> bool:
    """Not a control, format character, lone surrogate or noncharacter."""
    code = ord(ch)
    if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
        return False
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs")


def _line(line: str, bold: bool) -> str:
    if _PLAIN.fullmatch(line):
        return escape(line)
    out: list[str] = []
    end = 0
    for stretch in _PLAIN_STRETCH.finditer(line):
        if stretch.start() > end:
            out.append(_part(line[end : stretch.start()], bold, after_plain=end > 0))
        out.append(escape(stretch.group()))
        end = stretch.end()
    if end < len(line):
        out.append(_part(line[end:], bold, after_plain=end > 0))
    return "".join(out)


def _part(line: str, bold: bool, after_plain: bool) -> str:
    """A part of a line between plain stretches (or the whole line), fonts and order resolved."""
    families = fonts.families()
    base = families[0]
    types = [unicodedata.bidirectional(ch) or "L" for ch in line]
    levels = _levels(types)
    faces = _faces(line, types, families, base.name if after_plain else None)
    out: list[str] = []
    for group in _groups(line, _visual_order(levels), faces):
        face = faces[group[0]]
        if face is None:
            out.append(" ")
            continue
        rtl = fonts.SHAPING and any(types[i] in _STRONG_RTL for i in group)
        if rtl:
            # HarfBuzz reverses a right-to-left run while shaping it, and mirrors its brackets:
            # give it reading order, and pre-mirror what stands left to right (level 0 or 2).
            chars = [
                line[i] if levels[i] % 2 else _MIRROR.get(line[i], line[i]) for i in reversed(group)
            ]
        else:
            chars = [_MIRROR.get(line[i], line[i]) if levels[i] % 2 else line[i] for i in group]
        run = escape("".join(chars))
        if face == base.name:
            out.append(run)
        else:
            name = next(f.bold for f in families if f.name == face) if bold else face
            out.append(f'<font face="{name}">{run}</font>')
    return "".join(out)


def _levels(types: list[str]) -> list[int]:
    """Embedding levels (0 left to right, 1 right to left, 2 numbers in it) in a LTR paragraph."""
    t = list(types)
    n = len(t)
    for i in range(n):  # W1: a combining mark takes the type of its base
        if t[i] == "NSM":
            t[i] = t[i - 1] if i else "L"
    last_strong = "L"
    for i in range(n):  # W2, W3: numbers after Arabic letters are Arabic numbers
        if t[i] in ("L", "R", "AL"):
            last_strong = t[i]
        elif t[i] == "EN" and last_strong == "AL":
            t[i] = "AN"
    t = ["R" if x == "AL" else x for x in t]
    for i in range(1, n - 1):  # W4: one separator between two numbers of a kind
        if t[i] == "ES" and t[i - 1] == t[i + 1] == "EN":
            t[i] = "EN"
        elif t[i] == "CS" and t[i - 1] == t[i + 1] and t[i - 1] in ("EN", "AN"):
            t[i] = t[i - 1]
    for i in range(n):  # W5: currency and percent signs next to European numbers
        if t[i] == "EN":
            j = i - 1
            while j >= 0 and t[j] == "ET":
                t[j] = "EN"
                j -= 1
            j = i + 1
            while j < n and t[j] == "ET":
                t[j] = "EN"
                j += 1
    t = ["ON" if x in ("ES", "ET", "CS") else x for x in t]  # W6
    last_strong = "L"
    for i in range(n):  # W7: European numbers in left-to-right text are left to right
        if t[i] in ("L", "R"):
            last_strong = t[i]
        elif t[i] == "EN" and last_strong == "L":
            t[i] = "L"
    i = 0
    while i < n:  # N1, N2: neutrals between runs of one direction take it, else the paragraph's
        if t[i] not in _NEUTRAL:
            i += 1
            continue
        j = i
        while j < n and t[j] in _NEUTRAL:
            j += 1
        before = "L" if i == 0 else ("L" if t[i - 1] == "L" else "R")
        after = "L" if j == n else ("L" if t[j] == "L" else "R")
        for k in range(i, j):
            t[k] = before if before == after else "L"
        i = j
    levels = [0 if x == "L" else 1 if x == "R" else 2 for x in t]  # I1 (EN, AN: 2)
    k = n - 1
    while k >= 0 and types[k] in ("WS", "S", "B"):  # L1: trailing spaces at the paragraph's level
        levels[k] = 0
        k -= 1
    return levels


def _visual_order(levels: list[int]) -> list[int]:
    """L2: from the highest level down to 1, reverse every run at that level or higher."""
    order = list(range(len(levels)))
    for level in range(max(levels, default=0), 0, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] < level:
                i += 1
                continue
            j = i
            while j < len(order) and levels[order[j]] >= level:
                j += 1
            order[i:j] = order[i:j][::-1]
            i = j
    return order


def _faces(
    line: str, types: list[str], families: tuple[fonts.Family, ...], before: str | None
) -> list[str | None]:
    """The face for each character (None for spaces), so that a word keeps one font if it can."""
    base = families[0]
    faces: list[str | None] = []
    for i, ch in enumerate(line):
        code = ord(ch)
        previous = faces[i - 1] if i else before
        if ch == " ":
            faces.append(None)
        elif ch in _DIRECTION_MARKS:
            faces.append("")  # not printed
        elif previous and (unicodedata.category(ch)[0] == "M" or ch in _KEPT_FORMAT):
            # A mark or joiner stays with its letter, which HarfBuzz shapes together.
            faces.append(previous if _has(families, previous, code) else face_for(ch, families))
        elif types[i] == "EN" and code in base.chars:
            faces.append(base.name)  # so digits in an Arabic name are shaped left to right
        elif types[i] in ("ON", "CS", "ES", "ET") and code in base.chars:
            faces.append(_neutral_face(line, i, types, previous, families))
        else:
            faces.append(face_for(ch, families))
    return faces


def _neutral_face(
    line: str, i: int, types: list[str], previous: str | None, families: tuple[fonts.Family, ...]
) -> str:
    """Punctuation joins the word's font when that font has it (one shaping run), else the base."""
    code = ord(line[i])
    if previous and _has(families, previous, code):
        return previous
    for j in range(i + 1, len(line)):
        if line[j] == " ":
            break
        if types[j] not in ("ON", "CS", "ES", "ET", "NSM"):
            face = face_for(line[j], families)
            return face if _has(families, face, code) else families[0].name
    return families[0].name


_face_cache: dict[str, str] = {}


def face_for(ch: str, families: tuple[fonts.Family, ...]) -> str:
    """The first bundled face that has the character (Hangul: NanumSquare first), else the base."""
    face = _face_cache.get(ch)
    if face is None:
        code = ord(ch)
        ordered = families
        if _HANGUL.match(ch):
            ordered = tuple(sorted(families, key=lambda f: f.name != "RD-Hangul"))
        face = next((f.name for f in ordered if code in f.chars), families[0].name)
        _face_cache[ch] = face
    return face


def _has(families: tuple[fonts.Family, ...], face: str, code: int) -> bool:
    return any(f.name == face and code in f.chars for f in families)


def _groups(line: str, order: list[int], faces: list[str | None]) -> list[list[int]]:
    """Runs in display order that ReportLab shapes as one: one face, no space in between."""
    groups: list[list[int]] = []
    for i in order:
        face = faces[i]
        if face == "":
            continue
        if face is not None and groups and faces[groups[-1][0]] == face:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups
