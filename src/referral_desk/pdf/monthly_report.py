"""The monthly report as a PDF: summary pages, then the case list as a landscape table.

Plain data in (`ReportDocument`, every text already written out by the services), bytes out.
The summary (figures beside two earlier months, three bar charts) is laid out with Platypus;
the case list is drawn on the canvas row by row with its own pagination, because a month may
hold 10,000 cases (DESIGN.md: 8,400 rows took 4.0 s as a `LongTable`, 0.56 s drawn on the
canvas). Each list cell is one line, cut to its column with "…" when too long.

Cells mostly print in Noto Sans from one text object per page (set slightly condensed: eighteen
columns fit across A4). A cell in another script takes the bundled face that has its characters;
text that must be shaped (Arabic, Hebrew, Devanagari, Thai) goes through `text.paragraph`, which
orders and shapes it: slower, but such cells are few and each distinct text is laid out once.

Every page carries the office name, the report's title and month, and "Page x of y": the canvas
holds the pages back until the last one is known. Output is deterministic (invariant mode, the
document's own date), so the same document gives the same bytes.
"""

from __future__ import annotations

import functools
import io
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

from referral_desk.pdf import fonts, paging, text

Progress = Callable[[int, int], None]


# --- the document --------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    label: str
    values: tuple[str, ...] = ()  # one per comparison column; () makes the row a subheading
    indent: bool = False  # a part of the row above it (a row under a subheading)


@dataclass(frozen=True)
class FigureTable:
    """Figures under a heading, one column per compared month (`ReportDocument.comparison`)."""

    heading: str
    rows: tuple[FigureRow, ...]
    note: str = ""  # small print under the table: what the figures count


class ChartKind(StrEnum):
    COLUMNS = "columns"  # a bar per category and series
    HISTOGRAM = "histogram"  # touching bars: a distribution over ordered buckets
    SHARES = "shares"  # a horizontal bar per category, split by series into 100 %


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]  # one per category
    # Written on the bars instead of the number (shares: "79 %" as the tables word it).
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chart:
    """A bar chart. Its texts (the services' own labels) print in the base font: Latin, Greek
    and Cyrillic."""

    title: str
    kind: ChartKind
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    axis_label: str = ""  # what the value axis counts ("Cases")
    empty_text: str = ""  # printed instead of bars when every value is zero


@dataclass(frozen=True)
class ChartRow:
    """Charts side by side, sharing the page's width."""

    charts: tuple[Chart, ...]


@dataclass(frozen=True)
class ListColumn:
    header: str
    width: float  # relative: the columns are scaled together to the page's width
    right: bool = False  # right-aligned (money, durations)


@dataclass(frozen=True)
class CaseList:
    heading: str  # above the table on its first page
    columns: tuple[ListColumn, ...]
    rows: tuple[tuple[str, ...], ...]  # one string per column, as printed


@dataclass(frozen=True)
class ReportDocument:
    title: str  # "Monthly report"
    office_name: str
    subtitle: str  # the month, "October 2026"
    as_of: str  # when the figures were taken, printed under the title and in every footer
    comparison: tuple[str, ...]  # the figure tables' column headings: this month, then others
    summary: tuple[FigureTable | ChartRow, ...]  # in print order
    case_list: CaseList  # no rows: no list pages
    notice: str = ""  # a remark in a box under the title ("No cases were received ...")
    page_label: str = "Page {page} of {pages}"
    # PDF metadata
    author: str = ""
    subject: str = ""
    language: str = "en"
    created_at: datetime | None = None  # written into the file; None: no date


# --- geometry --------------------------------------------------------------------------------

_MM = 72 / 25.4
A4_SHORT, A4_LONG = 210 * _MM, 297 * _MM
# Portrait summary pages.
SUMMARY_MARGINS = SimpleNamespace(left=18 * _MM, right=18 * _MM, top=22 * _MM, bottom=18 * _MM)
# Landscape list pages: narrow side margins, so that eighteen columns fit.
LIST_MARGINS = SimpleNamespace(left=8 * _MM, right=8 * _MM, top=17 * _MM, bottom=13 * _MM)
HEADER_BASELINE = 10 * _MM  # from the top edge
FOOTER_BASELINE = 7 * _MM  # from the bottom edge
BAND_SIZE = 7.5  # the header and footer lines' type size

LIST_SIZE = 6.0  # the list's type size
LIST_CONDENSED = 0.92  # horizontal scale of the list's text (PDF Tz)
LIST_PITCH = 9.0  # one row
LIST_PADDING = 1.6  # left and right of each cell
LIST_HEADER_LEADING = 7.0
ELLIPSIS = "…"

_INK = "#1d1d1d"
_GREY = "#5c5c5c"
_RULE = "#9a9a9a"
_SHADE = "#eef1f4"
_ZEBRA = "#f5f6f8"
_PALETTE = ("#3b6ea5", "#e39b3b", "#c8503c", "#9aa3ad", "#5b9a68", "#8a6bb0")


def render_report(doc: ReportDocument, *, progress: Progress | None = None) -> bytes:
    """The report as PDF bytes; the same document always gives the same bytes.

    `progress(rows_drawn, rows)` follows the case list every few hundred rows; it may raise to
    cancel, which stops the rendering (nothing is returned).
    """
    rl = _reportlab()
    fontset = fonts.register()
    st = _styles(fontset.regular, fontset.bold)
    out = io.BytesIO()
    portrait, landscape = (A4_SHORT, A4_LONG), (A4_LONG, A4_SHORT)
    m, lm = SUMMARY_MARGINS, LIST_MARGINS
    template = rl.BaseDocTemplate(
        out,
        pagesize=portrait,
        leftMargin=m.left,
        rightMargin=m.right,
        topMargin=m.top,
        bottomMargin=m.bottom,
        title=doc.title and _join(doc.title, doc.subtitle, doc.office_name),
        author=doc.author,
        subject=doc.subject,
        creator="Referral Desk",
        lang=doc.language or None,
        invariant=1,
        pageCompression=1,
        displayDocTitle=True,
        initialFontName=fontset.regular,
    )
    summary_frame = _frame(rl, "summary", portrait, m)
    list_frame = _frame(rl, "list", landscape, lm)
    template.addPageTemplates(
        [
            rl.PageTemplate(id="summary", frames=[summary_frame], pagesize=portrait),
            rl.PageTemplate(id="list", frames=[list_frame], pagesize=landscape),
        ]
    )
    story = _summary(rl, doc, st, summary_frame.width)
    if doc.case_list.rows:
        painter = _ListPainter(rl, doc.case_list, list_frame.width, st, progress)
        story += [rl.NextPageTemplate("list"), rl.PageBreak()]
        story += painter.pages(list_frame.height)
    band = _Band(rl, doc, st)
    canvasmaker = functools.partial(rl.ReportCanvas, band=band, pdf_date=_pdf_date(doc.created_at))
    template.build(story, canvasmaker=canvasmaker)
    return out.getvalue()


def _frame(
    rl: SimpleNamespace, name: str, page: tuple[float, float], margins: SimpleNamespace
) -> Any:
    width, height = page
    return rl.Frame(
        margins.left,
        margins.bottom,
        width - margins.left - margins.right,
        height - margins.top - margins.bottom,
        id=name,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )


def _join(*parts: str) -> str:
    return " – ".join(part for part in parts if part)


def _pdf_date(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    stamp = moment.strftime("D:%Y%m%d%H%M%S")
    offset = moment.utcoffset()
    if offset is None:
        return stamp
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{stamp}{sign}{hours:02d}'{minutes:02d}'"


# --- the summary pages -----------------------------------------------------------------------


def _summary(
    rl: SimpleNamespace, doc: ReportDocument, st: SimpleNamespace, width: float
) -> list[Any]:
    story: list[Any] = [text.paragraph(doc.title, st.title)]
    if doc.subtitle:
        story.append(text.paragraph(doc.subtitle, st.subtitle))
    if doc.as_of:
        story.append(text.paragraph(doc.as_of, st.as_of))
    if doc.notice:
        story.append(text.paragraph(doc.notice, st.notice))
    for block in doc.summary:
        if isinstance(block, FigureTable):
            story.append(_figure_table(rl, block, doc.comparison, st, width))
        else:
            story.append(_chart_row(rl, block, st, width))
    return story


def _figure_table(
    rl: SimpleNamespace,
    table: FigureTable,
    comparison: tuple[str, ...],
    st: SimpleNamespace,
    width: float,
) -> Any:
    columns = len(comparison)
    value_width = min(30 * _MM, width * 0.5 / max(columns, 1))
    widths = [width - value_width * columns, *([value_width] * columns)]
    data: list[list[Any]] = [
        [
            text.paragraph(table.heading, st.table_heading),
            *(text.paragraph(c, st.column_heading) for c in comparison),
        ]
    ]
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 2.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.6),
        ("BACKGROUND", (0, 0), (-1, 0), rl.color(_SHADE)),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, rl.color("#7a7a7a")),
    ]
    for index, row in enumerate(table.rows, start=1):
        if not row.values:
            data.append([text.paragraph(row.label, st.subheading), *([""] * columns)])
            commands.append(("SPAN", (0, index), (-1, index)))
            continue
        label_style = st.label_indented if row.indent else st.label
        cells = [text.paragraph(row.label, label_style)]
        for column, value in enumerate(_padded(row.values, columns)):
            cells.append(text.paragraph(value, st.value if column == 0 else st.value_earlier))
        data.append(cells)
    if len(data) > 2:
        commands.append(("LINEBELOW", (0, 1), (-1, -2), 0.25, rl.color("#d0d0d0")))
    flowable = rl.Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    flowable.setStyle(rl.TableStyle(commands))
    parts: list[Any] = [flowable]
    if table.note:
        parts.append(text.paragraph(table.note, st.note))
    parts.append(rl.Spacer(1, 5 * _MM))
    return rl.KeepTogether(parts)


def _padded(values: tuple[str, ...], columns: int) -> list[str]:
    return [*values[:columns], *([""] * (columns - len(values)))]


# --- charts ----------------------------------------------------------------------------------

CHART_HEIGHT = 62 * _MM
SHARES_HEIGHT = 40 * _MM


def _chart_row(rl: SimpleNamespace, row: ChartRow, st: SimpleNamespace, width: float) -> Any:
    if not row.charts:
        return rl.Spacer(1, 0)
    gap = 8 * _MM
    each = (width - gap * (len(row.charts) - 1)) / len(row.charts)
    height = max(SHARES_HEIGHT if c.kind is ChartKind.SHARES else CHART_HEIGHT for c in row.charts)
    drawings = [_chart(rl, chart, each, height, st) for chart in row.charts]
    cells: list[Any] = []
    widths: list[float] = []
    for index, drawing in enumerate(drawings):
        if index:
            cells.append("")
            widths.append(gap)
        cells.append(drawing)
        widths.append(each)
    table = rl.Table([cells], colWidths=widths, hAlign="LEFT")
    table.setStyle(
        rl.TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return rl.KeepTogether([table, rl.Spacer(1, 6 * _MM)])


def _chart(
    rl: SimpleNamespace, chart: Chart, width: float, height: float, st: SimpleNamespace
) -> Any:
    g = rl.graphics
    drawing = g.Drawing(width, height)
    title_size = 9.0
    drawing.add(
        g.String(0, height - title_size, chart.title, fontName=st.bold, fontSize=title_size)
    )
    values = [v for series in chart.series for v in series.values]
    if not values or not any(values):
        drawing.add(
            g.Rect(
                0,
                0,
                width,
                height - 2 * title_size,
                fillColor=rl.color("#fafafa"),
                strokeColor=rl.color("#dddddd"),
                strokeWidth=0.5,
            )
        )
        drawing.add(
            g.String(
                width / 2,
                (height - 2 * title_size) / 2,
                chart.empty_text,
                fontName=st.regular,
                fontSize=8,
                fillColor=rl.color(_GREY),
                textAnchor="middle",
            )
        )
        return drawing
    if chart.kind is ChartKind.SHARES:
        _shares(rl, drawing, chart, width, height - 2 * title_size, st)
    else:
        _columns(rl, drawing, chart, width, height - 2 * title_size, st)
    return drawing


def _columns(
    rl: SimpleNamespace,
    drawing: Any,
    chart: Chart,
    width: float,
    height: float,
    st: SimpleNamespace,
) -> None:
    g = rl.graphics
    legend = len(chart.series) > 1
    bottom = 16.0 + (12.0 if legend else 0.0)
    left = 26.0
    bars = g.VerticalBarChart()
    bars.x, bars.y = left, bottom
    bars.width, bars.height = width - left - 4, height - bottom - 10
    bars.data = [list(series.values) for series in chart.series]
    bars.categoryAxis.categoryNames = list(chart.categories)
    label_size = 6.5
    slot = bars.width / max(len(chart.categories), 1)
    longest = max(
        (rl.string_width(c, st.regular, label_size) for c in chart.categories), default=0.0
    )
    axis = bars.categoryAxis
    axis.labels.fontName, axis.labels.fontSize = st.regular, label_size
    axis.labels.fillColor = rl.color(_INK)
    axis.strokeColor = rl.color(_RULE)
    axis.tickDown = 2
    if longest > slot - 2:  # crowded: slant the labels rather than let them overlap
        axis.labels.angle = 30
        axis.labels.boxAnchor = "ne"
        axis.labels.dx = 0
    top = max(max(series.values, default=0) for series in chart.series)
    step = _nice_step(top)
    value_axis = bars.valueAxis
    value_axis.valueMin = 0
    value_axis.valueMax = step * math.ceil(top * 1.12 / step)
    value_axis.valueStep = step
    value_axis.labels.fontName, value_axis.labels.fontSize = st.regular, label_size
    value_axis.labels.fillColor = rl.color(_GREY)
    value_axis.labelTextFormat = "{:,.0f}".format
    value_axis.strokeColor = rl.color(_RULE)
    value_axis.visibleGrid = True
    value_axis.gridStrokeColor = rl.color("#e3e3e3")
    value_axis.gridStrokeWidth = 0.4
    if chart.kind is ChartKind.HISTOGRAM:
        bars.groupSpacing = 1
        bars.barSpacing = 0
    else:
        bars.groupSpacing = max(4.0, slot * 0.25)
        bars.barSpacing = 1
    bars.barWidth = 10
    for index in range(len(chart.series)):
        bars.bars[index].fillColor = rl.color(_PALETTE[index % len(_PALETTE)])
        bars.bars[index].strokeColor = None
    bars.barLabelFormat = "{:,.0f}".format
    bars.barLabels.fontName, bars.barLabels.fontSize = st.regular, 6
    bars.barLabels.fillColor = rl.color(_INK)
    bars.barLabels.nudge = 5
    drawing.add(bars)
    if chart.axis_label:
        drawing.add(
            g.String(
                0,
                height + 1,
                chart.axis_label,
                fontName=st.regular,
                fontSize=6.5,
                fillColor=rl.color(_GREY),
            )
        )
    if legend:
        _legend(rl, drawing, chart, left, 2, st)


def _shares(
    rl: SimpleNamespace,
    drawing: Any,
    chart: Chart,
    width: float,
    height: float,
    st: SimpleNamespace,
) -> None:
    """One bar per category, its series as shares of the category's total, left to right."""
    g = rl.graphics
    totals = [
        sum(series.values[i] for series in chart.series) for i in range(len(chart.categories))
    ]
    shares = [
        [100 * v / total if total else 0 for v, total in zip(series.values, totals, strict=True)]
        for series in chart.series
    ]
    label_size = 7.0
    left = 6 + max(
        (rl.string_width(c, st.regular, label_size) for c in chart.categories), default=0
    )
    bars = g.HorizontalBarChart()
    bars.x, bars.y = left, 26
    bars.width, bars.height = width - left - 8, height - 30
    bars.data = shares
    axis = bars.categoryAxis
    axis.style = "stacked"
    axis.categoryNames = list(chart.categories)
    axis.reverseDirection = 1  # the first category on top
    axis.labels.fontName, axis.labels.fontSize = st.regular, label_size
    axis.labels.fillColor = rl.color(_INK)
    axis.strokeColor = None
    axis.visibleTicks = 0
    value_axis = bars.valueAxis
    value_axis.valueMin, value_axis.valueMax, value_axis.valueStep = 0, 100, 25
    value_axis.labels.fontName, value_axis.labels.fontSize = st.regular, 6.5
    value_axis.labels.fillColor = rl.color(_GREY)
    value_axis.labelTextFormat = "{:.0f}%".format
    value_axis.strokeColor = rl.color(_RULE)
    bars.groupSpacing = 6
    for index in range(len(chart.series)):
        bars.bars[index].fillColor = rl.color(_PALETTE[index % len(_PALETTE)])
        bars.bars[index].strokeColor = rl.color("#ffffff")
        bars.bars[index].strokeWidth = 0.5
    # The share in the segment, where there is room for it, worded as the tables word it.
    bars.barLabelFormat = "values"
    bars.barLabelArray = [
        [
            (series.labels[i] if series.labels else f"{share:.0f}%") if share >= 7 else ""
            for i, share in enumerate(row)
        ]
        for series, row in zip(chart.series, shares, strict=True)
    ]
    bars.barLabels.fontName, bars.barLabels.fontSize = st.regular, 6.5
    bars.barLabels.fillColor = rl.color("#ffffff")
    bars.barLabels.boxTarget = "mid"
    drawing.add(bars)
    _legend(rl, drawing, chart, left, 2, st)


def _legend(
    rl: SimpleNamespace, drawing: Any, chart: Chart, x: float, y: float, st: SimpleNamespace
) -> None:
    g = rl.graphics
    size = 6.5
    for index, series in enumerate(chart.series):
        colour = rl.color(_PALETTE[index % len(_PALETTE)])
        drawing.add(g.Rect(x, y, 6, 6, fillColor=colour, strokeColor=None))
        drawing.add(g.String(x + 8.5, y + 0.8, series.name, fontName=st.regular, fontSize=size))
        x += 8.5 + rl.string_width(series.name, st.regular, size) + 10


def _nice_step(top: float) -> float:
    """A round gridline step giving about five lines up to `top`: 1, 2, 5, 10, 20, 50 ..."""
    if top <= 5:
        return 1
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


# --- text cut to a width ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Fitted:
    """A text as it prints in a cell: runs of one face each, or a shaped paragraph."""

    width: float
    runs: tuple[tuple[str, str], ...] = ()  # (font name, text), drawn one after another
    paragraph: Any = None  # a wrapped Paragraph (text that needs shaping)


_TRAILING = " ,;:/-–"  # not left before "…"
_LINE_BREAKS = re.compile("[\r\n\t\x0b\x0c\x85\u2028\u2029]+")


class _Fitter:
    """Cuts texts to widths in the face(s) that have their characters; remembers each answer.

    `condensed` is the horizontal scale the runs are drawn at (paragraphs are not condensed).
    """

    def __init__(
        self, rl: SimpleNamespace, size: float, bold: bool, style: Any, condensed: float = 1.0
    ) -> None:
        self.rl, self.size, self.bold, self.style, self.condensed = rl, size, bold, style, condensed
        self.families = fonts.families()
        self.base = self.families[0]
        self.font = self.base.bold if bold else self.base.name
        self._faces = {f.name: (f.bold if bold else f.name) for f in self.families}
        self._cache: dict[tuple[str, float], _Fitted] = {}

    def fit(self, value: str, width: float) -> _Fitted:
        key = (value, width)
        fitted = self._cache.get(key)
        if fitted is None:
            fitted = self._cache[key] = self._fit(value, width)
        return fitted

    def measure(self, value: str) -> float:
        """The text's whole width, uncut."""
        return self.fit(value, math.inf).width

    def _fit(self, value: str, width: float) -> _Fitted:
        if value.isascii() and value.isprintable():
            measured = self._measure(((self.font, value),))
            if measured <= width:
                return _Fitted(measured, ((self.font, value),))
        value = _LINE_BREAKS.sub(" ", value)
        make = self._paragraph if text.needs_shaping(value) else self._runs
        whole = make(value)
        if whole.width <= width:
            return whole
        # The longest beginning that fits with "…" after it (binary search on its length).
        low, high = 0, len(value) - 1
        best = make(ELLIPSIS)
        while low <= high:
            middle = (low + high) // 2
            attempt = make(value[:middle].rstrip(_TRAILING) + ELLIPSIS)
            if attempt.width <= width:
                best, low = attempt, middle + 1
            else:
                high = middle - 1
        return best

    def _runs(self, value: str) -> _Fitted:
        runs: list[tuple[str, str]] = []
        for ch in value:
            if unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
                continue  # controls and invisible formatting print nothing
            code = ord(ch)
            face = (
                self.font
                if code in self.base.chars
                else self._faces[text.face_for(ch, self.families)]
            )
            if runs and runs[-1][0] == face:
                runs[-1] = (face, runs[-1][1] + ch)
            else:
                runs.append((face, ch))
        return _Fitted(self._measure(runs), tuple(runs))

    def _measure(self, runs: Sequence[tuple[str, str]]) -> float:
        width = sum(self.rl.string_width(value, font, self.size) for font, value in runs)
        return width * self.condensed

    def _paragraph(self, value: str) -> _Fitted:
        paragraph = text.paragraph(value, self.style)
        paragraph.wrap(100_000, 1_000)
        return _Fitted(max(paragraph.getActualLineWidths0(), default=0.0), paragraph=paragraph)


def _draw_fitted(canvas: Any, fitted: _Fitted, x: float, baseline: float, size: float) -> None:
    """A fitted text whose left end is at x (outside a text object: headers, footers)."""
    if fitted.paragraph is not None:
        _draw_paragraph(canvas, fitted.paragraph, x, baseline, size)
        return
    for font, value in fitted.runs:
        canvas.setFont(font, size)
        canvas.drawString(x, baseline, value)
        x += canvas.stringWidth(value, font, size)


def _draw_paragraph(canvas: Any, paragraph: Any, x: float, baseline: float, size: float) -> None:
    # Platypus puts a paragraph's first baseline one font size under its top.
    paragraph.drawOn(canvas, x, baseline - paragraph.height + size)


class _TextWriter:
    """Writes fitted texts into a page's content as one text block, each distinct run encoded once.

    ReportLab's text object measures every string it writes and formats every position with
    its pure-Python number formatter: a page of the list writes about a thousand strings, most
    of them repeats (statuses, amounts, names). Here a run's encoding (font subset and escaped
    bytes, from the font's own `splitString`) is remembered for the document, and positions are
    formatted by Python. Paragraphs (shaped text) are drawn by Platypus after the block.
    """

    def __init__(self, size: float, condensed: float) -> None:
        self.size, self.condensed = size, condensed
        self._encoded: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}

    def block(self, canvas: Any) -> _TextBlock:
        return _TextBlock(self, canvas)

    def encoded(self, canvas: Any, font_name: str, value: str) -> tuple[tuple[str, str], ...]:
        key = (font_name, value)
        parts = self._encoded.get(key)
        if parts is None:
            from reportlab.lib.rl_accel import escapePDF
            from reportlab.pdfbase.pdfmetrics import getFont

            font, doc = getFont(font_name), canvas._doc
            parts = self._encoded[key] = tuple(
                (font.getSubsetInternalName(subset, doc), escapePDF(chunk))
                for subset, chunk in font.splitString(value, doc)
            )
        return parts


class _TextBlock:
    def __init__(self, writer: _TextWriter, canvas: Any) -> None:
        self.writer, self.canvas = writer, canvas
        self.code = ["BT", f"{writer.condensed * 100:.4g} Tz"]
        self.font = ""
        self.shaped: list[tuple[Any, float, float]] = []

    def add(self, fitted: _Fitted, x: float, baseline: float) -> None:
        if fitted.paragraph is not None:
            self.shaped.append((fitted.paragraph, x, baseline))
            return
        writer, code = self.writer, self.code
        for font_name, value in fitted.runs:
            code.append(f"1 0 0 1 {x:.2f} {baseline:.2f} Tm")
            for subset, escaped in writer.encoded(self.canvas, font_name, value):
                if subset != self.font:
                    code.append(f"{subset} {writer.size:.4g} Tf")
                    self.font = subset
                code.append(f"({escaped}) Tj")
            if len(fitted.runs) > 1:
                x += self.canvas.stringWidth(value, font_name, writer.size) * writer.condensed

    def close(self) -> None:
        self.code += ["100 Tz", "ET"]  # the scale outlives the block: paragraphs are not condensed
        self.canvas._code.append(" ".join(self.code))
        for paragraph, x, baseline in self.shaped:
            _draw_paragraph(self.canvas, paragraph, x, baseline, self.writer.size)


# --- the case list ---------------------------------------------------------------------------


class _ListPainter:
    """Lays the case list out in pages of rows and draws each page straight onto the canvas."""

    def __init__(
        self,
        rl: SimpleNamespace,
        case_list: CaseList,
        width: float,
        st: SimpleNamespace,
        progress: Progress | None,
    ) -> None:
        self.rl, self.case_list, self.width, self.st = rl, case_list, width, st
        self.progress = progress
        self.reported = 0
        columns = case_list.columns
        total = sum(c.width for c in columns) or 1
        self.edges: list[float] = []  # each column's left edge
        self.widths: list[float] = []  # each column's full width
        x = 0.0
        for column in columns:
            self.edges.append(x)
            self.widths.append(width * column.width / total)
            x += self.widths[-1]
        self.inner = [max(w - 2 * LIST_PADDING, 1.0) for w in self.widths]
        self.text = _TextWriter(LIST_SIZE, LIST_CONDENSED)
        self.cells = _Fitter(rl, LIST_SIZE, False, st.cell, LIST_CONDENSED)
        self.heads = _Fitter(rl, LIST_SIZE, True, st.cell_bold, LIST_CONDENSED)
        self.header_lines = [
            self._header_lines(c.header, w) for c, w in zip(columns, self.inner, strict=True)
        ]
        lines = max((len(lines) for lines in self.header_lines), default=1)
        self.header_height = lines * LIST_HEADER_LEADING + 5

    def _header_lines(self, header: str, width: float) -> list[_Fitted]:
        """The heading in at most two lines, broken between words, each cut if it must be."""
        lines: list[str] = []
        for word in header.split():
            joined = f"{lines[-1]} {word}" if lines else word
            if lines and self.heads.measure(joined) <= width:
                lines[-1] = joined
            elif len(lines) < 2:
                lines.append(word)
            else:
                lines[-1] = joined  # a third line would be needed: the second one is cut
        return [self.heads.fit(line, width) for line in lines]

    def pages(self, height: float) -> list[Any]:
        """The flowables, a page of rows each, page breaks between them."""
        rows = self.case_list.rows
        heading = self.st.list_heading.leading + 4 if self.case_list.heading else 0.0
        first = max(int((height - heading - self.header_height) // LIST_PITCH), 1)
        per_page = max(int((height - self.header_height) // LIST_PITCH), 1)
        story: list[Any] = []
        start, count = 0, first
        while start < len(rows):
            end = min(start + count, len(rows))
            if story:
                story.append(self.rl.PageBreak())
            story.append(self.rl.ListPage(self, start, end, heading if start == 0 else 0.0))
            start, count = end, per_page
        return story

    def height(self, start: int, end: int, heading: float) -> float:
        return heading + self.header_height + (end - start) * LIST_PITCH

    def draw(self, canvas: Any, start: int, end: int, heading: float) -> None:
        top = self.height(start, end, heading)
        if heading:
            title = text.paragraph(self.case_list.heading, self.st.list_heading)
            _, h = title.wrap(self.width, heading)
            title.drawOn(canvas, 0, top - h)
            top -= heading
        self._draw_header(canvas, top)
        top -= self.header_height
        rows = self.case_list.rows
        canvas.saveState()
        canvas.setFillColor(self.rl.color(_ZEBRA))
        for index in range(start | 1, end, 2):  # every other row shaded, counted from the first
            y = top - (index - start + 1) * LIST_PITCH
            canvas.rect(0, y, self.width, LIST_PITCH, stroke=0, fill=1)
        canvas.setFillColor(self.rl.color(_INK))
        block = self.text.block(canvas)
        for index in range(start, end):
            baseline = top - (index - start + 1) * LIST_PITCH + 2.6
            for column, value in enumerate(rows[index]):
                if value:
                    self._cell(block, self.cells.fit(value, self.inner[column]), column, baseline)
        block.close()
        canvas.restoreState()
        self._report(end)

    def _cell(self, block: _TextBlock, fitted: _Fitted, column: int, baseline: float) -> None:
        x = self.edges[column] + LIST_PADDING
        if self.case_list.columns[column].right:
            x += self.inner[column] - fitted.width
        block.add(fitted, x, baseline)

    def _draw_header(self, canvas: Any, top: float) -> None:
        bottom = top - self.header_height
        canvas.saveState()
        canvas.setFillColor(self.rl.color(_SHADE))
        canvas.rect(0, bottom, self.width, self.header_height, stroke=0, fill=1)
        canvas.setStrokeColor(self.rl.color("#7a7a7a"))
        canvas.setLineWidth(0.6)
        canvas.line(0, bottom, self.width, bottom)
        canvas.setFillColor(self.rl.color(_INK))
        block = self.text.block(canvas)
        for column, lines in enumerate(self.header_lines):
            # Bottom-aligned: a one-line heading stands on the last line of the two-line ones.
            for number, fitted in enumerate(lines):
                baseline = bottom + 3 + (len(lines) - number - 1) * LIST_HEADER_LEADING
                self._cell(block, fitted, column, baseline)
        block.close()
        canvas.restoreState()

    def _report(self, done: int) -> None:
        total = len(self.case_list.rows)
        if self.progress is not None and (done - self.reported >= 250 or done == total):
            self.reported = done
            self.progress(done, total)


# --- header and footer on every page ---------------------------------------------------------


class _Band:
    """The lines above and below every page's text: office, title and month; date, page."""

    def __init__(self, rl: SimpleNamespace, doc: ReportDocument, st: SimpleNamespace) -> None:
        self.rl, self.doc = rl, doc
        self.bold = _Fitter(rl, BAND_SIZE, True, st.band_bold)
        self.regular = _Fitter(rl, BAND_SIZE, False, st.band)

    def draw(self, canvas: Any, page: int, pages: int) -> None:
        width, height = canvas._pagesize
        margins = SUMMARY_MARGINS if width < height else LIST_MARGINS
        left, right = margins.left, width - margins.right
        span = right - left
        canvas.saveState()
        canvas.setFillColor(self.rl.color(_INK))
        top = height - HEADER_BASELINE
        office = self.bold.fit(self.doc.office_name, span * 0.48)
        _draw_fitted(canvas, office, left, top, BAND_SIZE)
        title = self.regular.fit(_join(self.doc.title, self.doc.subtitle), span * 0.48)
        _draw_fitted(canvas, title, right - title.width, top, BAND_SIZE)
        canvas.setStrokeColor(self.rl.color(_RULE))
        canvas.setLineWidth(0.4)
        canvas.line(left, top - 2.2 * _MM, right, top - 2.2 * _MM)
        canvas.setFillColor(self.rl.color(_GREY))
        label = self.doc.page_label.replace("{page}", str(page)).replace("{pages}", str(pages))
        number = self.regular.fit(label, span * 0.3)
        _draw_fitted(canvas, number, right - number.width, FOOTER_BASELINE, BAND_SIZE)
        if self.doc.as_of:
            as_of = self.regular.fit(self.doc.as_of, span * 0.65)
            _draw_fitted(canvas, as_of, left, FOOTER_BASELINE, BAND_SIZE)
        canvas.restoreState()


# --- styles ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _styles(regular: str, bold: str) -> SimpleNamespace:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("report", fontName=regular, fontSize=9, leading=11.5, spaceAfter=0)

    def like(name: str, **changes: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, **changes)

    return SimpleNamespace(
        regular=regular,
        bold=bold,
        title=like("title", fontName=bold, fontSize=18, leading=22, spaceAfter=2),
        subtitle=like("subtitle", fontSize=12.5, leading=16, spaceAfter=3),
        as_of=like("as_of", fontSize=8, leading=10, textColor=HexColor(_GREY), spaceAfter=10),
        notice=like(
            "notice",
            fontName=bold,
            fontSize=10,
            leading=13,
            backColor=HexColor("#fff4dc"),
            borderColor=HexColor("#e0c07a"),
            borderWidth=0.5,
            borderPadding=(6, 8),
            leftIndent=8,
            rightIndent=8,
            spaceBefore=4,
            spaceAfter=16,
        ),
        table_heading=like("table_heading", fontName=bold, fontSize=9.5, leading=12),
        column_heading=like("column_heading", fontName=bold, fontSize=8.5, alignment=TA_RIGHT),
        subheading=like("subheading", fontName=bold, fontSize=8.5, leading=11),
        label=like("label", fontSize=8.5, leading=11),
        label_indented=like("label_indented", fontSize=8.5, leading=11, leftIndent=10),
        value=like("value", fontSize=8.5, leading=11, alignment=TA_RIGHT),
        value_earlier=like(
            "value_earlier",
            fontSize=8.5,
            leading=11,
            alignment=TA_RIGHT,
            textColor=HexColor(_GREY),
        ),
        note=like(
            "note",
            fontSize=7,
            leading=9,
            textColor=HexColor(_GREY),
            spaceBefore=2,
        ),
        list_heading=like("list_heading", fontName=bold, fontSize=10.5, leading=13),
        cell=like("cell", fontSize=LIST_SIZE, leading=LIST_PITCH),
        cell_bold=like("cell_bold", fontName=bold, fontSize=LIST_SIZE, leading=LIST_PITCH),
        band=like("band", fontSize=BAND_SIZE, leading=BAND_SIZE * 1.25),
        band_bold=like("band_bold", fontName=bold, fontSize=BAND_SIZE, leading=BAND_SIZE * 1.25),
    )


# --- ReportLab, imported on first use --------------------------------------------------------


@functools.cache
def _reportlab() -> SimpleNamespace:
    from reportlab import rl_config
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib.colors import HexColor
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import (
        BaseDocTemplate,
        Flowable,
        Frame,
        KeepTogether,
        NextPageTemplate,
        PageBreak,
        PageTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import Table as RLTable

    # As the letters set it (process-wide): binary streams, so the bytes do not depend on
    # whether a letter was printed first.
    rl_config.useA85 = 0

    class ListPage(Flowable):
        """One page of the case list: rows [start, end), drawn by the painter."""

        def __init__(self, painter: _ListPainter, start: int, end: int, heading: float) -> None:
            super().__init__()
            self.painter, self.start, self.end, self.heading = painter, start, end, heading

        def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
            return self.painter.width, self.painter.height(self.start, self.end, self.heading)

        def draw(self) -> None:
            self.painter.draw(self.canv, self.start, self.end, self.heading)

    class ReportCanvas(paging.numbered_canvas()):  # type: ignore[misc]
        """Holds the pages back until the last, then draws each one's header and footer."""

        def __init__(self, *args: Any, band: _Band, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.band = band

        def draw_page_furniture(self, number: int, pages: int) -> None:
            self.band.draw(self, number, pages)

    def string_width(value: str, font: str, size: float) -> float:
        return stringWidth(value, font, size)

    graphics = SimpleNamespace(
        Drawing=Drawing,
        Rect=Rect,
        String=String,
        VerticalBarChart=VerticalBarChart,
        HorizontalBarChart=HorizontalBarChart,
    )
    return SimpleNamespace(
        BaseDocTemplate=BaseDocTemplate,
        Frame=Frame,
        KeepTogether=KeepTogether,
        ListPage=ListPage,
        NextPageTemplate=NextPageTemplate,
        PageBreak=PageBreak,
        PageTemplate=PageTemplate,
        ReportCanvas=ReportCanvas,
        Spacer=Spacer,
        Table=RLTable,
        TableStyle=TableStyle,
        color=HexColor,
        graphics=graphics,
        string_width=string_width,
    )
