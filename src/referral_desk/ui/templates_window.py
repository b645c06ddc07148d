"""Administration: the wording of each kind of letter, with its placeholders, its versions,
and a preview of the draft as it prints, for a case or a sample patient.

Saving makes a new version; letters already made keep the version they were made with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QFontDatabase,
    QImage,
    QKeySequence,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.letters import LetterKind
from referral_desk.services import letter_templates, lookup
from referral_desk.services.errors import ConflictError, ServiceError, ValidationError
from referral_desk.services.letter_templates import TemplateDraft, TemplateInfo
from referral_desk.ui.background import Cancelled, Task
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.documents_panel import viewing_folder
from referral_desk.ui.formatting import local_time
from referral_desk.ui.money import user_locale
from referral_desk.ui.permissions import allow, refusal
from referral_desk.ui.specialists_window import FieldWithMessage
from referral_desk.ui.window_state import WindowState

FIELDS = ("title", "salutation", "body", "closing", "disclaimer")
RENDER_SCALE = 1.5  # 108 dpi: sharp when shrunk to the pane, small enough to draw quickly
PAGE_STYLE = "background: #ffffff; border: 1px solid #b0b0b0;"
PREVIEW_BACKGROUND = "QScrollArea, #preview_pages { background: #e6e6e6; }"
# PDFium is not thread-safe: one page drawing at a time, whichever window asks.
_PDFIUM_LOCK = threading.Lock()


class PreviewUnavailable(Exception):
    """The page images cannot be drawn here; the PDF itself can still be opened."""


def page_images(pdf: bytes, scale: float = RENDER_SCALE) -> list[QImage]:
    """Every page of the PDF as an image (on any thread: QImage, unlike QPixmap, may be made
    off the GUI thread)."""
    try:
        import pypdfium2 as pdfium  # loaded on the first preview, not at start-up
    except ImportError:
        raise PreviewUnavailable(
            "Page images need the pypdfium2 package, which is not installed. Open the preview "
            "in the PDF viewer instead."
        ) from None
    images: list[QImage] = []
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            for index in range(len(document)):
                page = document[index]
                bitmap = page.render(scale=scale, rev_byteorder=True, prefer_bgrx=True)
                image = QImage(
                    bytes(bitmap.buffer),
                    bitmap.width,
                    bitmap.height,
                    bitmap.stride,
                    QImage.Format.Format_RGBX8888,
                )
                images.append(image.copy())  # owns its pixels once the bitmap is gone
                bitmap.close()
                page.close()
        finally:
            document.close()
    return images


@dataclass(frozen=True)
class Preview:
    pdf: bytes
    images: list[QImage]
    problem: str = ""  # why there are no page images, when there are none


class PageView(QScrollArea):
    """The pages one under the other, as wide as the pane allows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preview_scroll")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setStyleSheet(PREVIEW_BACKGROUND)
        self._images: list[QImage] = []
        self.pages: list[QLabel] = []
        inner = QWidget(objectName="preview_pages")
        self._layout = QVBoxLayout(inner)
        self._layout.setSpacing(12)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self.placeholder = QLabel(objectName="preview_placeholder")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #555555;")
        self._layout.addWidget(self.placeholder)
        self._layout.addStretch(1)
        self.setWidget(inner)

    def show_text(self, text: str) -> None:
        self.show_pages([])
        self.placeholder.setText(text)
        self.placeholder.show()

    def show_pages(self, images: list[QImage]) -> None:
        for label in self.pages:
            label.hide()
            label.deleteLater()
        self.pages = []
        self._images = images
        for number, _image in enumerate(images, start=1):
            label = QLabel(objectName=f"preview_page_{number}")
            label.setStyleSheet(PAGE_STYLE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setToolTip(f"Page {number} of {len(images)}")
            self._layout.insertWidget(
                self._layout.count() - 1, label, 0, Qt.AlignmentFlag.AlignHCenter
            )
            self.pages.append(label)
        self.placeholder.setVisible(not images)
        self._fit()

    def _fit(self) -> None:
        width = max(self.viewport().width() - 24 - 2, 100)
        for label, image in zip(self.pages, self._images, strict=True):
            shown = min(width, image.width())
            pixmap = QPixmap.fromImage(image).scaledToWidth(
                shown, Qt.TransformationMode.SmoothTransformation
            )
            label.setPixmap(pixmap)
            label.setFixedSize(pixmap.size() + QSize(2, 2))

    def resizeEvent(self, event: object) -> None:  # type: ignore[override]
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()


class TemplatesWindow(QWidget):
    """A window of its own (Settings ▸ Letter templates…)."""

    changed = Signal()  # a new version saved

    def __init__(
        self,
        db: Database,
        actor: Actor,
        window_state: WindowState | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self._db, self._actor, self._state = db, actor, window_state
        # The wording is the coordinators'; others may read it and preview it.
        self._refused = refusal(actor, Permission.LETTERS, "change a letter template")
        self._current: TemplateInfo | None = None
        self._versions: list[TemplateInfo] = []
        self._kind = LetterKind.SUMMARY
        self._dirty = False
        self._loading = False
        self._task: Task | None = None
        self._serial = 0  # only the newest preview is shown
        self._preview_pdf: bytes | None = None
        self._last_editor: QLineEdit | QPlainTextEdit | None = None
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.open_in_viewer = lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        self.setObjectName("templates_window")
        self.setWindowTitle("Letter templates · Referral Desk")
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        QShortcut(QKeySequence(Qt.Key.Key_F5), self, self.preview)

        # The letter being edited
        self.kind = QComboBox(objectName="template_kind")
        for kind in LetterKind:
            self.kind.addItem(kind.label, kind)
        self.kind.currentIndexChanged.connect(self._kind_chosen)
        kind_label = QLabel("&Letter")
        kind_label.setBuddy(self.kind)
        self.version = QLabel(objectName="template_version")
        self.version.setStyleSheet("color: #555555;")
        self.version.setWordWrap(True)
        kind_row = QHBoxLayout()
        kind_row.addWidget(kind_label)
        kind_row.addWidget(self.kind)
        kind_row.addStretch(1)

        self.title = QLineEdit(objectName="template_title")
        self.title.setToolTip("The letter's title, printed above the text and as the PDF's title")
        self.salutation = QLineEdit(objectName="template_salutation")
        self.body = QPlainTextEdit(objectName="template_body")
        self.body.setTabChangesFocus(True)
        self.body.setToolTip(letter_templates.SYNTAX_HELP)
        self.closing = QLineEdit(objectName="template_closing")
        self.disclaimer = QPlainTextEdit(objectName="template_disclaimer")
        self.disclaimer.setTabChangesFocus(True)
        self.disclaimer.setFixedHeight(self.disclaimer.fontMetrics().lineSpacing() * 5 + 14)
        self.editors: dict[str, QLineEdit | QPlainTextEdit] = {
            "title": self.title,
            "salutation": self.salutation,
            "body": self.body,
            "closing": self.closing,
            "disclaimer": self.disclaimer,
        }
        for editor in self.editors.values():
            editor.textChanged.connect(self._mark_dirty)
            editor.setReadOnly(self._refused is not None)
        self._fields: dict[str, FieldWithMessage] = {}
        form = QFormLayout()
        form.addRow("&Title", self._field("title", self.title))
        form.addRow("&Salutation", self._field("salutation", self.salutation))
        form.addRow("&Body", self._field("body", self.body))
        form.addRow("&Closing", self._field("closing", self.closing))
        form.addRow("&Disclaimer", self._field("disclaimer", self.disclaimer))
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # The body takes the height the window has; the other fields keep theirs.
        for name, field in self._fields.items():
            vertical = (
                QSizePolicy.Policy.Expanding if name == "body" else QSizePolicy.Policy.Maximum
            )
            field.setSizePolicy(QSizePolicy.Policy.Preferred, vertical)
        syntax = QLabel(letter_templates.SYNTAX_HELP, objectName="template_syntax")
        syntax.setWordWrap(True)
        syntax.setStyleSheet("color: #555555;")
        self.message = QLabel(objectName="templates_message")
        self.message.setWordWrap(True)
        edit_buttons = QDialogButtonBox()
        self.save_button = edit_buttons.addButton(
            "Save as new &version", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.save_button.setObjectName("save_template")
        allow(
            self.save_button,
            self._refused,
            tooltip="Letters made from now on use this wording; letters already made keep "
            "theirs (Ctrl+S)",
        )
        self.save_button.clicked.connect(self.save)
        self.revert_button = edit_buttons.addButton(
            "&Undo changes", QDialogButtonBox.ButtonRole.ResetRole
        )
        self.revert_button.clicked.connect(lambda: self.load(self._kind))
        editor_pane = QWidget()
        editor_layout = QVBoxLayout(editor_pane)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        editor_layout.addLayout(kind_row)
        editor_layout.addWidget(self.version)
        editor_layout.addLayout(form, 1)
        editor_layout.addWidget(syntax)
        editor_layout.addWidget(self.message)
        editor_layout.addWidget(edit_buttons)

        # Placeholders and versions
        self.placeholders = QTreeWidget(objectName="template_placeholders")
        self.placeholders.setColumnCount(2)
        self.placeholders.setHeaderLabels(["Placeholder", "What it holds"])
        self.placeholders.setRootIsDecorated(False)
        self.placeholders.setWordWrap(True)
        self.placeholders.setAlternatingRowColors(True)
        self.placeholders.setToolTip("Double-click to insert at the cursor")
        self.placeholders.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.placeholders.header().setStretchLastSection(True)
        self.placeholders.itemActivated.connect(self._insert_placeholder)
        placeholders_box = QGroupBox("Placeholders (double-click to insert)")
        QVBoxLayout(placeholders_box).addWidget(self.placeholders)
        self.versions = QListWidget(objectName="template_versions")
        self.versions.setAlternatingRowColors(True)
        self.versions.setWordWrap(True)
        self.versions.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.versions.setToolTip("Double-click to edit from that version's wording")
        self.versions.itemActivated.connect(lambda _item: self.use_selected_version())
        self.use_version_button = QPushButton("Edit from this version", objectName="use_version")
        self.use_version_button.clicked.connect(lambda: self.use_selected_version())
        versions_box = QGroupBox("Versions")
        versions_layout = QVBoxLayout(versions_box)
        versions_layout.addWidget(self.versions)
        versions_layout.addWidget(self.use_version_button, 0, Qt.AlignmentFlag.AlignRight)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(placeholders_box)
        side.addWidget(versions_box)
        side.setStretchFactor(0, 3)
        side.setStretchFactor(1, 2)

        # The preview
        self.case_reference = QLineEdit(objectName="preview_case")
        self.case_reference.setPlaceholderText("a sample patient")
        self.case_reference.setToolTip(
            "Type a case reference to see the letter with that case's details; leave it empty "
            "for a made-up sample patient"
        )
        self.case_reference.returnPressed.connect(self.preview)
        case_label = QLabel("For &case")
        case_label.setBuddy(self.case_reference)
        self.preview_large = QCheckBox("Lar&ge print", objectName="preview_large_print")
        self.preview_button = QPushButton("&Preview", objectName="preview")
        self.preview_button.setToolTip("Draw the draft as it prints (F5)")
        self.preview_button.clicked.connect(lambda: self.preview())
        self.open_button = QPushButton("&Open in PDF viewer", objectName="open_preview")
        self.open_button.setToolTip("The preview as a PDF, to check it at full size or print it")
        self.open_button.clicked.connect(lambda: self.open_preview())
        preview_row = QHBoxLayout()
        preview_row.addWidget(case_label)
        preview_row.addWidget(self.case_reference, 1)
        preview_row.addWidget(self.preview_large)
        preview_row.addWidget(self.preview_button)
        preview_row.addWidget(self.open_button)
        self.case_message = QLabel(objectName="preview_case_message")
        self.case_message.setStyleSheet(ERROR_STYLE)
        self.case_message.setWordWrap(True)
        self.case_message.hide()
        self.preview_status = QLabel(objectName="preview_status")
        self.preview_status.setWordWrap(True)
        self.pages = PageView()
        self.pages.show_text(
            "Press Preview (F5) to see the draft as it prints, for a case or a sample patient."
        )
        preview_pane = QWidget()
        preview_layout = QVBoxLayout(preview_pane)
        preview_layout.setContentsMargins(0, 0, 0, 0)
        preview_layout.addLayout(preview_row)
        preview_layout.addWidget(self.case_message)
        preview_layout.addWidget(self.preview_status)
        preview_layout.addWidget(self.pages, 1)

        self.splitter = QSplitter(objectName="templates_splitter")
        self.splitter.addWidget(editor_pane)
        self.splitter.addWidget(side)
        self.splitter.addWidget(preview_pane)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setStretchFactor(2, 4)
        self.splitter.setSizes([540, 380, 600])
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(close)

        QApplication.instance().focusChanged.connect(self._focus_moved)  # type: ignore[union-attr]
        self.resize(1440, 880)
        if self._state:
            self._state.restore("templates_window", self)
            self._state.restore("templates_splitter", self.splitter)
        self.load(LetterKind.SUMMARY)
        self._update_buttons()

    def _field(self, name: str, editor: QWidget) -> FieldWithMessage:
        field = FieldWithMessage(editor)
        self._fields[name] = field
        return field

    # --- showing ---------------------------------------------------------------------------
    @property
    def current(self) -> TemplateInfo:
        assert self._current is not None
        return self._current

    @property
    def chosen_kind(self) -> LetterKind:
        return self._kind

    def load(self, kind: LetterKind) -> None:
        """Show the kind's current version, dropping unsaved edits."""
        self._kind = kind
        self._current = letter_templates.current_template(self._db, kind)
        self._versions = letter_templates.template_versions(self._db, kind)
        index = self.kind.findData(kind)
        if index != self.kind.currentIndex():
            self.kind.blockSignals(True)
            self.kind.setCurrentIndex(index)
            self.kind.blockSignals(False)
        self._show_draft(self._current.draft)
        self._set_dirty(False)
        self.show_errors({})
        self._show_version()
        self._show_placeholders()
        self._show_versions()
        self.say("")

    def refresh(self) -> None:
        """Another seat may have saved a version: show it unless the user is editing."""
        if not self._dirty:
            self.load(self._kind)
        else:
            self._versions = letter_templates.template_versions(self._db, self._kind)
            self._show_versions()

    def _show_draft(self, draft: TemplateDraft) -> None:
        self._loading = True
        try:
            for name, editor in self.editors.items():
                value = getattr(draft, name)
                if isinstance(editor, QPlainTextEdit):
                    editor.setPlainText(value)
                else:
                    editor.setText(value)
                    editor.setCursorPosition(0)
        finally:
            self._loading = False

    def _show_version(self) -> None:
        info = self.current
        text = (
            f"Version {info.version}, saved {local_time(info.created_at)} by {info.created_by}"
            if info.created_by
            else f"Version {info.version}"
        )
        if self._dirty:
            text += " · unsaved changes"
        self.version.setText(text)

    def _show_placeholders(self) -> None:
        self.placeholders.clear()
        for name, meaning in letter_templates.PLACEHOLDERS.get(self._kind, {}).items():
            item = QTreeWidgetItem([f"{{{name}}}", meaning])
            item.setData(0, Qt.ItemDataRole.UserRole, name)
            item.setFont(0, self._mono)
            hint = f"{meaning}\n\nDouble-click to insert {{{name}}} at the cursor"
            for column in (0, 1):
                item.setToolTip(column, hint)
            self.placeholders.addTopLevelItem(item)

    def _show_versions(self) -> None:
        self.versions.clear()
        current = self._current.version if self._current else None
        for info in self._versions:
            when = local_time(info.created_at)
            who = f" · {info.created_by}" if info.created_by else ""
            text = f"Version {info.version} · {when}{who}"
            if info.version == current:
                text += " (current)"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, info.version)
            self.versions.addItem(item)
        if self.versions.count():
            self.versions.setCurrentRow(0)
        allow(
            self.use_version_button,
            self._refused,
            enabled=self.versions.count() > 1,
            tooltip="Put the chosen version's wording in the editor; saving makes it the newest "
            "version",
        )

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if problem else "")

    def error_text(self, name: str) -> str:
        field = self._fields[name]
        return field.message.text() if field.message.isVisibleTo(self) else ""

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, field in self._fields.items():
            field.show_message(errors.get(name, ""))
        elsewhere = [text for name, text in errors.items() if name not in self._fields]
        if elsewhere:
            self.say(" ".join(elsewhere), problem=True)

    # --- editing ---------------------------------------------------------------------------
    def draft(self) -> TemplateDraft:
        return TemplateDraft(
            title=self.title.text(),
            salutation=self.salutation.text(),
            body=self.body.toPlainText(),
            closing=self.closing.text(),
            disclaimer=self.disclaimer.toPlainText(),
        )

    def _mark_dirty(self) -> None:
        if not self._loading:
            self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty and self._refused is None
        self.save_button.setEnabled(self._dirty)
        self.revert_button.setEnabled(self._dirty)
        if self._current is not None:
            self._show_version()

    @property
    def has_unsaved_edits(self) -> bool:
        return self._dirty

    def _focus_moved(self, _old: QWidget | None, new: QWidget | None) -> None:
        """Placeholders go where the user was typing, not into the list they clicked."""
        for editor in self.editors.values():
            if new is editor or (new is not None and editor.isAncestorOf(new)):
                self._last_editor = editor
                return

    def insert_placeholder(self, name: str) -> None:
        if self._refused:
            return
        editor = self._last_editor or self.body
        text = f"{{{name}}}"
        if isinstance(editor, QPlainTextEdit):
            editor.insertPlainText(text)
        else:
            editor.insert(text)
        editor.setFocus()

    def _insert_placeholder(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.insert_placeholder(str(item.data(0, Qt.ItemDataRole.UserRole)))

    def use_selected_version(self) -> bool:
        item = self.versions.currentItem()
        if item is None or self._refused:
            return False
        version = int(item.data(Qt.ItemDataRole.UserRole))
        info = next((v for v in self._versions if v.version == version), None)
        if info is None:
            return False
        self._show_draft(info.draft)
        self._set_dirty(info.draft != self.current.draft)
        self.show_errors({})
        self.say(
            f"The editor shows the wording of version {version}. Save it to make it the "
            "current wording again."
            if self._dirty
            else f"Version {version} is the current wording."
        )
        return True

    def _kind_chosen(self, index: int) -> None:
        kind = LetterKind(self.kind.itemData(index))
        if kind is self._kind:
            return
        if not self._confirm_leave():
            self.kind.blockSignals(True)  # stay on the unsaved edits
            self.kind.setCurrentIndex(self.kind.findData(self._kind))
            self.kind.blockSignals(False)
            return
        self.load(kind)
        self.pages.show_text("Press Preview (F5) to see this letter as it prints.")
        self._preview_pdf = None
        self._update_buttons()

    def save(self) -> bool:
        if not self._dirty:
            return True
        draft = self.draft()
        errors = letter_templates.check_template(self._kind, draft)
        if errors:
            self.show_errors(errors)
            self.say("Not saved: see the messages under the fields.", problem=True)
            return False
        try:
            version = letter_templates.save_template(
                self._db,
                self._kind,
                draft,
                actor=self._actor,
                expected_version=self.current.version,
            )
        except ValidationError as exc:
            self.show_errors(exc.errors)
            self.say("Not saved: see the messages under the fields.", problem=True)
            return False
        except ConflictError as exc:
            self.say(
                f"{exc} Copy your changes, then press Undo changes to see the newest version.",
                problem=True,
            )
            return False
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return False
        self.load(self._kind)
        self.say(
            f"Saved as version {version}. Letters made from now on use it; letters already "
            "made keep the wording they were printed with."
        )
        self.changed.emit()
        return True

    def _confirm_leave(self) -> bool:
        if not self._dirty:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to the {self._kind.label.lower()} wording as a new version?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self.load(self._kind)  # a hidden window shown again starts from what is stored
            return True
        return False

    # --- preview ---------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        self.open_button.setEnabled(self._preview_pdf is not None)

    def preview(self) -> Task | None:
        """Render the draft (even unsaved) and draw its pages, off the GUI thread."""
        draft = self.draft()
        errors = letter_templates.check_template(self._kind, draft)
        self.show_errors(errors)
        if errors:
            self.say("The preview needs the problems above fixed first.", problem=True)
            return None
        case_id: int | None = None
        reference = self.case_reference.text().strip()
        self.case_message.hide()
        if reference:
            try:
                case_id = lookup.case_id_for_reference(self._db, reference)
            except ServiceError as exc:
                self.case_message.setText(f"{exc} Leave the field empty for a sample patient.")
                self.case_message.show()
                return None
        if self._task is not None and self._task.running:
            self._task.cancel()  # its result is ignored: only the newest preview is shown
        self._serial += 1
        serial = self._serial
        db, kind, large = self._db, self._kind, self.preview_large.isChecked()
        locale = user_locale()  # dates and amounts as the real letters print them

        def work(task: Task) -> Preview:
            pdf = letter_templates.preview(
                db, kind, draft, case_id=case_id, large_print=large, locale=locale
            )
            task.report(1, 2)
            try:
                images = page_images(pdf)
            except PreviewUnavailable as exc:
                return Preview(pdf, [], str(exc))
            return Preview(pdf, images)

        task = Task(work, self)
        task.finished.connect(lambda result: self._previewed(serial, result))
        task.failed.connect(lambda exc: self._preview_failed(serial, exc))
        self._task = task
        who = reference.upper() if reference else "a sample patient"
        self.preview_status.setText(f"Drawing the {kind.label.lower()} for {who}…")
        self.preview_status.setStyleSheet("")
        task.start()
        return task

    def _previewed(self, serial: int, result: Preview) -> None:
        if serial != self._serial:
            return
        self._preview_pdf = result.pdf
        if result.images:
            self.pages.show_pages(result.images)
            count = len(result.images)
            reference = self.case_reference.text().strip().upper()
            self.preview_status.setText(
                f"{count} page{'s' if count != 1 else ''}, "
                + (f"for {reference}" if reference else "for a sample patient")
                + ". Not saved, nothing archived."
            )
        else:
            self.pages.show_text(result.problem)
            self.preview_status.setText(result.problem)
        self._update_buttons()

    def _preview_failed(self, serial: int, exc: BaseException) -> None:
        if serial != self._serial or isinstance(exc, Cancelled):
            return
        if isinstance(exc, ValidationError):
            self.show_errors(exc.errors)
            self.preview_status.setText("The preview needs the problems above fixed first.")
        elif isinstance(exc, ServiceError):
            self.preview_status.setText(str(exc))
        else:
            raise exc  # a bug: the exception hook reports it
        self.preview_status.setStyleSheet(ERROR_STYLE)

    def open_preview(self) -> Path | None:
        if self._preview_pdf is None:
            return None
        path = viewing_folder() / f"preview {self._kind.label.lower()}.pdf"
        try:
            path.write_bytes(self._preview_pdf)
        except OSError as exc:
            self.preview_status.setText(f"The preview cannot be written: {exc.strerror or exc}.")
            return None
        if self.open_in_viewer(path) is False:
            self.preview_status.setText("No PDF viewer is set up on this computer.")
        return path

    def wait_for_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task.wait()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_leave():
            event.ignore()
            return
        self.wait_for_task()
        if self._state:
            self._state.save("templates_window", self)
            self._state.save("templates_splitter", self.splitter)
        super().closeEvent(event)
