"""Remember window geometry, splitters and column widths between runs, per data folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QHeaderView, QSplitter, QWidget


class WindowState:
    def __init__(self, settings_file: Path) -> None:
        self._settings = QSettings(str(settings_file), QSettings.Format.IniFormat)

    def save(self, key: str, widget: QWidget | QSplitter | QHeaderView) -> None:
        if isinstance(widget, QSplitter | QHeaderView):
            self._settings.setValue(f"{key}/state", widget.saveState())
        else:
            self._settings.setValue(f"{key}/geometry", widget.saveGeometry())
        self._settings.sync()

    def restore(self, key: str, widget: QWidget | QSplitter | QHeaderView) -> bool:
        if isinstance(widget, QSplitter | QHeaderView):
            value = self._settings.value(f"{key}/state")
            return isinstance(value, QByteArray) and widget.restoreState(value)
        value = self._settings.value(f"{key}/geometry")
        return isinstance(value, QByteArray) and widget.restoreGeometry(value)
