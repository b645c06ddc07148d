"""User text in letters: every script printed in a font that has it, shaped, and literal.

The PDFs are read back with pypdf, as a reader's program would. Shaped scripts do not read back
character for character: ReportLab writes each glyph with the character its font's cmap gives
it, so Arabic letters come back as their contextual forms (U+FExx, "presentation forms") and
Devanagari conjuncts as private-use characters. The tests compare Arabic after NFKC (which maps
the forms back to letters) and take those forms as the proof that the letters were joined.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import unicodedata
from xml.sax.saxutils import unescape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from referral_desk.pdf import fonts, text

NAMES = {
    "latin": "Zoë Müller-Łukasiewicz",
    "cyrillic": "Алексей Соколов",
    "greek": "Σοφία Παπαδοπούλου",
    "arabic": "أحمد سعيد حداد",
    "devanagari": "राजेश अय्यर / सुनीता शर्मा",
    "cjk": "李文华 / 佐藤健 / 김서연",
    "hebrew": "שרה כהן",
    "thai": "สมชาย ใจดี",
}
LITERAL = "<b>not bold</b> & {x} &amp; <font face='x'> &lt;"


@pytest.fixture(autouse=True)
def _invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rl_config, "invariant", 1)


def style(bold: bool = False) -> ParagraphStyle:
    fontset = fonts.register()
    return ParagraphStyle(
        "body", fontName=fontset.bold if bold else fontset.regular, fontSize=11, leading=15
    )


def render(*paragraphs: str, bold: bool = False) -> bytes:
    out = io.BytesIO()
    flow = [text.paragraph(p, style(bold)) for p in paragraphs]
    SimpleDocTemplate(out, pagesize=A4, invariant=1).build(flow)
    return out.getvalue()


def extracted(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def embedded_fonts(pdf: bytes) -> set[str]:
    """Font names without the subset prefix ("AAAAAA+NotoSans-Regular" -> "NotoSans-Regular")."""
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/FontDescriptor" in font and "/FontFile2" in font["/FontDescriptor"]:
                names.add(str(font["/BaseFont"]).split("+")[-1])
    return names


def test_names_in_every_script_are_printed_in_an_embedded_font_that_has_them() -> None:
    pdf = render(*NAMES.values())
    assert embedded_fonts(pdf) == {
        "NotoSans-Regular",
        "NotoSansArabic-Regular",
        "NotoSansDevanagari-Regular",
        "NotoSansHebrew-Regular",
        "NotoSansThai-Regular",
        "DroidSansFallback",
        "NanumSquareR",
    }
    readable = unicodedata.normalize("NFKC", extracted(pdf))
    assert "\uffff" not in readable  # what an empty box (a glyph the font lacks) reads back as
    for script in ("latin", "cyrillic", "greek", "cjk", "thai"):
        assert NAMES[script] in readable
    for word in NAMES["arabic"].split() + NAMES["hebrew"].split():
        assert word in readable
    # Conjunct-free words read back whole; "अय्यर" and "शर्मा" are single conjunct glyphs.
    for word in ("राजेश", "सुनीता", "अ", "श"):
        assert word in readable


def test_arabic_is_joined_and_devanagari_shaped() -> None:
    pdf = extracted(render(NAMES["arabic"], NAMES["devanagari"]))
    # Joined letters: initial, medial and final forms (ح in "حداد" is initial: U+FEA3).
    assert "\ufea3" in pdf
    assert sum("\ufe70" <= ch <= "\ufeff" for ch in pdf) >= 8
    # The reph in "शर्मा" and the conjunct in "अय्यर" are glyphs no single character has.
    assert any("\ue000" <= ch <= "\uf8ff" for ch in pdf)


def test_arabic_words_are_laid_out_right_to_left() -> None:
    # In display order (left to right) the last word of the name comes first.
    marked = text.markup("Dear أحمد سعيد حداد, your case")
    assert marked.index("حداد") < marked.index("سعيد") < marked.index("أحمد")
    assert marked.startswith("Dear ") and marked.endswith(" your case")
    # Digits keep reading left to right, on the left of the name they follow.
    marked = text.markup("محمد 123")
    assert marked.index("123") < marked.index("محمد")


def test_text_that_looks_like_markup_prints_literally() -> None:
    pdf = render(LITERAL)
    assert LITERAL in extracted(pdf)
    assert embedded_fonts(pdf) == {"NotoSans-Regular"}  # "<b>" made nothing bold


def test_line_breaks_in_the_text_start_new_lines() -> None:
    lines = extracted(render("Room 12\r\nSecond floor\nBerlin")).splitlines()
    assert lines[:3] == ["Room 12", "Second floor", "Berlin"]


def test_a_bold_paragraph_prints_every_script_in_bold() -> None:
    pdf = render("Zoë أحمد राजेश 김서연", bold=True)
    assert {
        "NotoSans-Bold",
        "NotoSansArabic-Bold",
        "NotoSansDevanagari-Bold",
        "NanumSquareB",
    } == embedded_fonts(pdf)


def test_punctuation_next_to_a_name_in_another_script_is_printed() -> None:
    # ReportLab shapes a word in its first font: "(أحمد)" and "李文华," mix two fonts in a word.
    readable = unicodedata.normalize("NFKC", extracted(render("Dear (أحمد) and 李文华, and शर्मा.")))
    assert "\uffff" not in readable
    assert "أحمد" in readable and "李文华," in readable


def test_each_character_is_set_in_a_face_that_has_it() -> None:
    families = {family.name: family for family in fonts.families()}
    sample = " ".join(NAMES.values()) + " «أحمد» (١٢٣) 12.5% ١٢٫٥ Dr.أحمد किरण, 佐藤さん。"
    marked = text.markup(sample)
    for face, run in re.findall(r'<font face="([^"]+)">([^<]*)</font>', marked):
        for ch in run:
            assert ord(ch) in families[face].chars, (face, ch)
    plain = re.sub(r"<font [^>]*>[^<]*</font>", "", marked)
    assert all(ord(ch) in families["RD-Sans"].chars for ch in plain)


def test_control_characters_and_broken_text_are_dropped() -> None:
    assert text.markup("a\x00b\ud800c\ufffe\x1b") == "abc"
    assert text.markup("tab\there") == "tab here"
    assert text.markup("") == ""


def test_only_paragraphs_that_need_it_are_shaped() -> None:
    body = style()
    assert text.paragraph("Zoë Müller, Σοφία, 李文华", body).style.shaping == 0
    assert text.paragraph("أحمد", body).style.shaping == 1
    assert text.paragraph("राजेश", body).style.shaping == 1


def test_the_same_letter_gives_the_same_bytes_whatever_was_printed_before() -> None:
    # Shaped glyphs without a character get private code points; they must not depend on the
    # order in which a process first met them.
    script = (
        "import sys, io\n"
        "from reportlab import rl_config\n"
        "rl_config.invariant = 1\n"
        "from reportlab.lib.styles import ParagraphStyle\n"
        "from reportlab.platypus import SimpleDocTemplate\n"
        "from referral_desk.pdf import fonts, text\n"
        "st = ParagraphStyle('b', fontName=fonts.register().regular)\n"
        "def pdf(t):\n"
        "    out = io.BytesIO()\n"
        "    SimpleDocTemplate(out, invariant=1).build([text.paragraph(t, st)])\n"
        "    return out.getvalue()\n"
        "if sys.argv[1] == 'after': pdf('क्षमा श्री ज्ञान سلام')\n"
        "sys.stdout.buffer.write(pdf('शर्मा अय्यर क्षमा السلام'))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, order], capture_output=True, check=True
        ).stdout
        for order in ("first", "after")
    ]
    assert runs[0] == runs[1]
    assert runs[0].startswith(b"%PDF")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=60))
def test_any_text_becomes_a_paragraph_that_prints(value: str) -> None:
    out = io.BytesIO()
    para = text.paragraph(value, style())
    SimpleDocTemplate(out, pagesize=A4).build([para, Paragraph(text.markup(value), style(True))])
    assert out.getvalue().startswith(b"%PDF")


MIXED = st.text(
    alphabet=st.sampled_from(
        list("أحمد سعيد حداد١٢٣٫ राजेश शर्मा्ि 李文华김서연 שרה Zoë 12.5%$-,.()[]«»!<&>\n\u200d\u200f")
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(MIXED)
def test_mixed_scripts_keep_every_character_once_in_a_face_that_has_it(value: str) -> None:
    families = {family.name: family for family in fonts.families()}
    marked = text.markup(value)
    runs = re.findall(r'<font face="([^"]+)">([^<]*)</font>', marked)
    for face, run in runs:
        assert all(ord(ch) in families[face].chars for ch in unescape(run))
    printed = unescape(re.sub(r"<font [^>]*>|</font>", "", marked).replace("<br/>", "\n"))
    expected = value.replace("\u200f", "")
    canonical = str.maketrans(")]»>", "([«<")  # brackets are mirrored right to left
    assert sorted(printed.translate(canonical)) == sorted(expected.translate(canonical))
