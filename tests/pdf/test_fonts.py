"""The bundled fonts: shipped with their licences, embeddable by ReportLab, registered once."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

from pypdf import PdfReader
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph, SimpleDocTemplate

from referral_desk.pdf import fonts
from referral_desk.resource_files import resource_path

FONT_DIR = resource_path("fonts")


def test_every_bundled_font_is_truetype_and_named_with_its_licence_in_the_readme() -> None:
    readme = (FONT_DIR / "README.md").read_text(encoding="utf-8")
    files = sorted(FONT_DIR.glob("*.ttf"))
    assert len(files) == 13
    for path in files:
        data = path.read_bytes()
        assert data[:4] == b"\x00\x01\x00\x00"  # TrueType outlines: ReportLab cannot embed CFF
        assert path.stem.removesuffix("-Regular").removesuffix("-Bold") in readme
    for licence in ("OFL-1.1-Noto.txt", "OFL-1.1-Nanum.txt", "Apache-2.0-Droid.txt"):
        assert licence in readme
        assert (FONT_DIR / licence).stat().st_size > 4000  # the whole text, not a pointer


def test_register_gives_the_base_faces_once_from_any_thread() -> None:
    with ThreadPoolExecutor(4) as pool:
        sets = list(pool.map(lambda _: fonts.register(), range(8)))
    assert set(sets) == {fonts.FontSet("RD-Sans", "RD-Sans-Bold")}
    for name in ("RD-Sans", "RD-Sans-Bold", "RD-Arabic-Bold", "RD-Devanagari"):
        assert pdfmetrics.getFont(name).fontName == name


def test_bold_markup_in_the_base_font_uses_the_bold_face() -> None:
    fontset = fonts.register()
    out = io.BytesIO()
    style = ParagraphStyle("body", fontName=fontset.regular)
    SimpleDocTemplate(out).build([Paragraph("plain <b>bold</b> <i>no italic face</i>", style)])
    resources = PdfReader(out).pages[0]["/Resources"]["/Font"].values()
    names = {str(font.get_object()["/BaseFont"]).split("+")[-1] for font in resources}
    assert {"NotoSans-Regular", "NotoSans-Bold"} <= names


def test_every_family_has_its_script() -> None:
    samples = {
        "RD-Sans": "ZoëŁСоколовΣοφία",
        "RD-Arabic": "أحمد١٢٣",
        "RD-Hebrew": "שרה",
        "RD-Devanagari": "राजेश",
        "RD-Thai": "สมชาย",
        "RD-CJK": "李文华佐藤健さん",
        "RD-Hangul": "김서연",
    }
    for family in fonts.families():
        assert all(ord(ch) in family.chars for ch in samples[family.name]), family.name
