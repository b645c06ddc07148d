"""The fonts letters are set in: bundled, registered with ReportLab once, embedded as subsets.

Noto Sans carries Latin, Greek and Cyrillic and is the paragraphs' base font; the other faces take
over, character by character, for the scripts it lacks (see `pdf.text.markup`, which picks them).
Arabic, Hebrew, Devanagari and Thai need shaping (joined letters, conjuncts, reordered vowel
signs): ReportLab does it with HarfBuzz (`uharfbuzz`) for paragraphs whose style has `shaping=1`;
`pdf.text.paragraph` switches it on for the paragraphs that need it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from referral_desk.resource_files import resource_path

try:  # a dependency; without it text still prints, only unshaped
    import uharfbuzz
except ImportError:  # pragma: no cover - exercised only on a broken install
    uharfbuzz = None

SHAPING = uharfbuzz is not None


@dataclass(frozen=True)
class FontSet:
    regular: str
    bold: str


class Family:
    """One bundled face: the names to use in `<font face=...>` and the characters it has."""

    def __init__(self, name: str, regular_file: str, bold_file: str | None, shaped: bool) -> None:
        self.name = name  # the regular font's name, also the family name (`<b>` picks `bold`)
        self.bold = f"{name}-Bold" if bold_file else name
        self.shaped = shaped  # its script needs HarfBuzz (CJK and Hangul do not)
        self._files = (regular_file, bold_file)
        self._chars: Mapping[int, int] | None = None

    @property
    def chars(self) -> Mapping[int, int]:
        """Code point -> glyph id (the font's cmap); registers the face on first use."""
        if self._chars is None:
            with _lock:
                if self._chars is None:
                    self._chars = self._register()
        return self._chars

    def _register(self) -> Mapping[int, int]:
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        regular_file, bold_file = self._files
        faces = [TTFont(self.name, _path(regular_file), shapable=self.shaped)]
        if bold_file:
            faces.append(TTFont(self.bold, _path(bold_file), shapable=self.shaped))
        for face in faces:
            pdfmetrics.registerFont(face)
            if self.shaped and SHAPING:
                _fix_private_glyphs(face)
        # Families so `<b>` (and a stray `<i>`: no italic faces are bundled) find the right file.
        for is_bold, font in ((0, self.name), (1, self.bold)):
            for is_italic in (0, 1):
                addMapping(self.name, is_bold, is_italic, font)
        return faces[0].face.charToGlyph


# Base font first; the others in the order a character is looked up (Hangul is special-cased
# in text.py so that a Korean name never mixes NanumSquare and Droid glyphs). The last two are
# large (70 ms to read): they are registered when a text first needs them.
_FACES: tuple[tuple[str, str, str | None, bool], ...] = (
    ("RD-Sans", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf", True),
    ("RD-Arabic", "NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", True),
    ("RD-Hebrew", "NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf", True),
    ("RD-Devanagari", "NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf", True),
    ("RD-Thai", "NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf", True),
    ("RD-CJK", "DroidSansFallbackFull.ttf", None, False),  # no bold face: bold stays regular
    ("RD-Hangul", "NanumSquareR.ttf", "NanumSquareB.ttf", False),
)
# Characters that look the same shaped or not: Latin, Greek, Cyrillic without combining marks,
# common punctuation, CJK and precomposed Hangul (a regular-expression character class).
UNSHAPED = (
    "\u0020-\u02ff\u0370-\u0482\u048a-\u052f\u1e00-\u1fff\u2010-\u2027\u2030-\u205e"
    "\u20a0-\u20cf\u2100-\u214f\u3000-\u303f\u3041-\u3096\u309b-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff\uff01-\uffef"
)
_FEATURES = {"kern": True, "liga": True}
_lock = threading.RLock()
_registered: tuple[FontSet, tuple[Family, ...]] | None = None


def register() -> FontSet:
    """Register (once) the bundled fonts; safe to call for every letter and from any thread."""
    return _setup()[0]


def families() -> tuple[Family, ...]:
    """The bundled faces, base font first (registers them if needed)."""
    return _setup()[1]


def _setup() -> tuple[FontSet, tuple[Family, ...]]:
    global _registered
    if _registered is None:
        with _lock:
            if _registered is None:
                found = tuple(Family(*face) for face in _FACES)
                for family in found[:5]:
                    _ = family.chars
                if SHAPING:
                    _install_word_shaper()
                _registered = FontSet(found[0].name, found[0].bold), found
    return _registered


def _path(file: str) -> str:
    return str(resource_path(f"fonts/{file}"))


def _fix_private_glyphs(font: Any) -> None:
    """Number the glyphs a shaper may produce that have no character (ligatures, conjuncts).

    ReportLab gives each such glyph a private-use code point the first time it meets it, so the
    numbering (and the PDF bytes) would depend on which letters a process printed before. Giving
    them out now, in glyph order, makes a letter's bytes depend on the letter alone.
    """
    hb_font = font.hbFont()
    add_private = getattr(font, "hbAddPrivate", None)
    if add_private is None:  # pragma: no cover - another ReportLab version: keep its behaviour
        return
    face = font.face
    scale = 1000 / hb_font.face.upem
    for gid in range(hb_font.face.glyph_count):
        if gid and gid not in face.glyphToChar:
            name = hb_font.glyph_to_string(gid)
            add_private(name, gid, round(hb_font.get_glyph_h_advance(gid) * scale))


def _install_word_shaper() -> None:
    """Shape each run of one font within a word by itself.

    ReportLab (5.1) shapes a whole word with the HarfBuzz font of its first fragment, so a word that
    mixes fonts, such as a name followed by a comma the name's font lacks ("李文华,", "(أحمد)"),
    came out as empty boxes. Words whose characters need no shaping are left alone, which keeps
    Latin text exactly as unshaped ReportLab sets it (and fast).
    """
    from reportlab.platypus import paragraph

    original = getattr(paragraph, "shapeFragWord", None)
    if original is None or getattr(original, "referral_desk", False):
        return
    try:
        shaper = _word_shaper(original)
    except ImportError:  # pragma: no cover - a ReportLab without it: words shape its own way
        return
    shaper.referral_desk = True  # type: ignore[attr-defined]
    paragraph.shapeFragWord = shaper


def _word_shaper(original: Callable[..., Any]) -> Callable[..., Any]:
    import re

    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfbase.ttfonts import makeShapedFragWord

    simple = re.compile(f"[{UNSHAPED}]*")

    def shape_word(word: Any, features: dict[str, bool] | None = None, **kwargs: Any) -> Any:
        # Not ReportLab's default "dlig": it would print "محمد" with vowel marks nobody typed.
        features = _FEATURES if features is None else features
        parts = word[1:]
        if any(hasattr(style, "cbDefn") for style, _ in parts):
            return original(word, features, **kwargs)  # images and anchors: ReportLab's way
        if simple.fullmatch("".join(text for _, text in parts)):
            return word
        runs: list[list[Any]] = []
        for part in parts:
            if runs and runs[-1][-1][0].fontName == part[0].fontName:
                runs[-1].append(part)
            else:
                runs.append([part])
        if len(runs) == 1:
            return original(word, features, **kwargs)
        shaped = []
        for run in runs:
            width = sum(stringWidth(text, style.fontName, style.fontSize) for style, text in run)
            shaped.append(original([width, *run], features, **kwargs))
        result = makeShapedFragWord(word)([sum(run[0] for run in shaped)])
        for run in shaped:
            result.extend(run[1:])
        return result

    return shape_word
