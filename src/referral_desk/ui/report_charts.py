"""The Reports screen's charts (Qt Charts): cases per week, the turnaround distribution and the
concordance mix of one month, drawn from the MonthlyReport as it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCharts import (
    QAbstractBarSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QCursor, QFont, QPainter
from PySide6.QtWidgets import QGridLayout, QLabel, QStackedWidget, QToolTip, QWidget

from referral_desk.domain.reports import TURNAROUND_BUCKETS, MonthlyReport, bucket_label
from referral_desk.domain.specialists import Concordance

BAR_COLOUR = QColor("#3b6ea8")
DIAGNOSIS_COLOUR = QColor("#3b6ea8")
TREATMENT_COLOUR = QColor("#e0913a")


@dataclass(frozen=True)
class Bars:
    """One set of bars: a name for the legend and tooltips, a value per category."""

    name: str
    values: Sequence[int]
    colour: QColor


def nice_axis(largest: int, most_intervals: int = 5) -> tuple[int, int]:
    """(top, tick count) for a count axis: whole-number steps of 1, 2 or 5 times a power of
    ten, with room above the tallest bar for its label."""
    wanted = max(largest * 1.15, 1)
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            intervals = -(-wanted // step)  # ceiling
            if intervals <= most_intervals:
                return int(intervals * step), int(intervals) + 1
        magnitude *= 10


def bar_chart(
    title: str,
    categories: Sequence[str],
    bars: Sequence[Bars],
    *,
    x_title: str,
    y_title: str = "Cases",
    axis_labels: Sequence[str] | None = None,
) -> QChart:
    """Bars per category, counts on top; `axis_labels` may be HTML (tooltips use `categories`)."""
    chart = QChart()
    chart.setTitle(title)
    title_font = QFont(chart.titleFont())
    title_font.setBold(True)
    title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
    chart.setTitleFont(title_font)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.setBackgroundRoundness(0)
    chart.setMargins(QMargins(6, 6, 6, 6))

    series = QBarSeries()
    for group in bars:
        bar_set = QBarSet(group.name)
        bar_set.append([float(v) for v in group.values])
        bar_set.setColor(group.colour)
        bar_set.setBorderColor(group.colour.darker(115))
        bar_set.setLabelColor(QColor("#222222"))
        bar_set.hovered.connect(
            lambda shown, i, g=group: _tip(shown, f"{g.name}: {g.values[i]:,} · {categories[i]}")
        )
        series.append(bar_set)
    series.setBarWidth(0.75 if len(bars) > 1 else 0.6)
    series.setLabelsVisible(True)
    series.setLabelsPosition(QAbstractBarSeries.LabelsPosition.LabelsOutsideEnd)
    series.setLabelsFormat("@value")
    chart.addSeries(series)

    x_axis = QBarCategoryAxis()
    x_axis.append(list(axis_labels or categories))
    x_axis.setTitleText(x_title)
    x_axis.setGridLineVisible(False)
    chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(x_axis)

    largest = max((v for group in bars for v in group.values), default=0)
    top, ticks = nice_axis(largest)
    y_axis = QValueAxis()
    y_axis.setRange(0, top)
    y_axis.setTickCount(ticks)
    y_axis.setLabelFormat("%d")
    y_axis.setTitleText(y_title)
    chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(y_axis)

    for axis in (x_axis, y_axis):
        axis_font = QFont(axis.titleFont())
        axis_font.setBold(False)
        axis.setTitleFont(axis_font)
    legend = chart.legend()
    legend.setVisible(len(bars) > 1)
    legend.setAlignment(Qt.AlignmentFlag.AlignBottom)
    return chart


def _tip(shown: bool, text: str) -> None:
    if shown:
        QToolTip.showText(QCursor.pos(), text)
    else:
        QToolTip.hideText()


def weekly_chart(report: MonthlyReport) -> QChart:
    made_on = report.generated_at.astimezone(report.zone).date()
    so_far = " (so far)" if made_on <= report.month.last_day else ""  # the last weeks are short
    return bar_chart(
        f"Cases received per week, {report.month.label}{so_far}",
        [week.label for week in report.weeks],
        [Bars("Cases received", [week.count for week in report.weeks], BAR_COLOUR)],
        x_title="Week (Monday to Sunday, cut at the month's edges)",
    )


def two_lines(label: str) -> str:
    """'72 h or more' over two centred lines: on one it was cut to '72 h or…' at the
    window's usual size."""
    first, found, rest = label.partition(" or ")
    return f'<div align="center">{first}<br>or {rest}</div>' if found else label


def turnaround_chart(report: MonthlyReport) -> QChart:
    delivered = sum(report.turnaround_histogram)
    title = "Turnaround of the opinions delivered"
    title += f" ({delivered:,})" if delivered else ": none delivered yet"
    labels = [bucket_label(low, high) for low, high in TURNAROUND_BUCKETS]
    return bar_chart(
        title,
        labels,
        [Bars("Opinions", list(report.turnaround_histogram), BAR_COLOUR)],
        x_title="Records complete to opinion, time on hold left out",
        y_title="Opinions",
        axis_labels=[two_lines(label) for label in labels],
    )


def concordance_chart(report: MonthlyReport) -> QChart:
    figures = report.figures
    return bar_chart(
        "Second opinion compared with the first",
        [kind.label for kind in Concordance],
        [
            Bars(
                "Diagnosis",
                [figures.diagnosis_concordance.get(k, 0) for k in Concordance],
                DIAGNOSIS_COLOUR,
            ),
            Bars(
                "Treatment",
                [figures.treatment_concordance.get(k, 0) for k in Concordance],
                TREATMENT_COLOUR,
            ),
        ],
        x_title="Opinions delivered in the month",
        y_title="Opinions",
    )


class ChartsPanel(QStackedWidget):
    """The three charts; for a month without cases, a sentence instead of empty axes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("report_charts")
        self.weekly = self._view("weekly_chart")
        self.turnaround = self._view("turnaround_chart")
        self.concordance = self._view("concordance_chart")
        charts = QWidget()
        grid = QGridLayout(charts)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.weekly, 0, 0)
        grid.addWidget(self.turnaround, 0, 1)
        grid.addWidget(self.concordance, 1, 0, 1, 2)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)
        self.empty = QLabel(objectName="charts_empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("font-size: 14pt; color: #555555;")
        self.addWidget(charts)
        self.addWidget(self.empty)

    @staticmethod
    def _view(name: str) -> QChartView:
        view = QChartView(objectName=name)
        view.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.setMinimumSize(320, 200)
        return view

    def show_report(self, report: MonthlyReport) -> None:
        if not report.rows:
            self.empty.setText(f"No cases were received in {report.month.label}.")
            self.setCurrentWidget(self.empty)
            return
        for view, chart in (
            (self.weekly, weekly_chart(report)),
            (self.turnaround, turnaround_chart(report)),
            (self.concordance, concordance_chart(report)),
        ):
            old = view.chart()
            view.setChart(chart)  # the view owns the new chart and lets go of the old one
            old.deleteLater()
        self.setCurrentIndex(0)
