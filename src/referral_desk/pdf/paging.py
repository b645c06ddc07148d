"""Pages held back until the document's last, so that each one can say "Page x of y"."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def numbered_canvas() -> type[Any]:
    """A ReportLab canvas class; subclasses draw each page's header or footer in
    `draw_page_furniture`. Made on first use: start-up does not import ReportLab."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, pdf_date: str | None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if pdf_date is not None:  # the same bytes for the same document
                self.setDateFormatter(lambda *_: pdf_date)
            # A list the held pages' states share: restoring one must not roll it back.
            self._held: list[dict[str, Any]] = []
            self.pages_drawn = 0

        def showPage(self) -> None:  # ReportLab's name
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            if self._code:
                self.showPage()
            held = list(self._held)
            for number, state in enumerate(held, start=1):
                self.__dict__.update(state)
                self.draw_page_furniture(number, len(held))
                Canvas.showPage(self)
            self.pages_drawn = len(held)
            super().save()

        def draw_page_furniture(self, number: int, pages: int) -> None:
            raise NotImplementedError

    return NumberedCanvas
