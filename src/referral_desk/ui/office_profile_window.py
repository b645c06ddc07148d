"""Administration: what heads the office's letters (name, address, contacts, who signs) and
the two images printed on them, the logo and the signature.

Nothing is stored until Save; the services check the details and the images and store them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from referral_desk.db.engine import Database
from referral_desk.domain.access import Actor, Permission
from referral_desk.services import office
from referral_desk.services.errors import ServiceError, ValidationError
from referral_desk.services.office import ImageName, OfficeDetails, OfficeProfile
from referral_desk.ui.case_form import ERROR_STYLE
from referral_desk.ui.letters_panel import documents_folder
from referral_desk.ui.permissions import allow, make_read_only, refusal
from referral_desk.ui.specialists_window import FieldWithMessage
from referral_desk.ui.window_state import WindowState

IMAGE_NAMES: Final[tuple[ImageName, ...]] = ("logo", "signature")
IMAGE_CAPTIONS = {"logo": "Logo", "signature": "Signature"}
IMAGE_HINTS = {
    "logo": "Printed at the top of every letter. PNG or JPEG, up to "
    f"{office.MAX_IMAGE_BYTES // 1024 // 1024} MB; a wide logo on a white or transparent "
    "background prints best.",
    "signature": "Printed above the signatory's name. A scan of the signature in dark ink on "
    "white, PNG or JPEG.",
}
THUMBNAIL = {"logo": QSize(240, 90), "signature": QSize(240, 70)}
THUMBNAIL_STYLE = "background: #ffffff; border: 1px solid #c8c8c8; color: #777777;"
UNCHANGED = object()  # an image the user has not touched since the window loaded


def _align_labels(*forms: QFormLayout) -> None:
    """The boxes' fields start at one line, as if they were one form."""
    labels = [
        form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
        for form in forms
        for row in range(form.rowCount())
        if form.itemAt(row, QFormLayout.ItemRole.LabelRole) is not None
    ]
    widest = max((label.sizeHint().width() for label in labels if label), default=0)
    for label in labels:
        if label is not None:
            label.setMinimumWidth(widest)


class ImageField(QWidget):
    """A thumbnail of the logo or signature, with Choose file… and Remove."""

    changed = Signal()

    def __init__(
        self, which: ImageName, refused: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.which, self._refused = which, refused
        self.data: bytes | None = None
        self.thumbnail = QLabel(objectName=f"{which}_thumbnail")
        self.thumbnail.setFixedSize(THUMBNAIL[which])
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet(THUMBNAIL_STYLE)
        self.choose_button = QPushButton("Choose file…", objectName=f"choose_{which}")
        self.remove_button = QPushButton("Remove", objectName=f"remove_{which}")
        allow(self.choose_button, refused)
        hint = QLabel(IMAGE_HINTS[which])
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555555;")
        self.message = QLabel(objectName=f"{which}_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QVBoxLayout()
        buttons.addWidget(self.choose_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.thumbnail)
        row.addLayout(buttons)
        side = QVBoxLayout()
        side.addWidget(hint)
        side.addStretch(1)
        row.addLayout(side, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.message)

    def show_image(self, data: bytes | None) -> None:
        self.data = data
        pixmap = QPixmap()
        if data and pixmap.loadFromData(data):
            box = self.thumbnail.size() - QSize(8, 8)
            self.thumbnail.setPixmap(
                pixmap.scaled(
                    box,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            self.thumbnail.setPixmap(QPixmap())
            self.thumbnail.setText(f"no {self.which}")
        allow(
            self.remove_button,
            self._refused,
            enabled=data is not None,
            tooltip=f"Print letters without the {self.which}",
        )

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


class OfficeProfileWindow(QWidget):
    """A window of its own (Settings ▸ Office profile…), with Save and Close."""

    changed = Signal()  # saved: letters made from now on carry the new letterhead

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
        # The letterhead is the administrator's; others may read it.
        self._refused = refusal(actor, Permission.OFFICE_SETTINGS, "change the office profile")
        self._dirty = False
        self._loading = False
        # What Save will do to each image: UNCHANGED, new bytes, or None (remove).
        self._pending: dict[ImageName, object] = dict.fromkeys(IMAGE_NAMES, UNCHANGED)
        self.setObjectName("office_profile_window")
        self.setWindowTitle("Office profile · Referral Desk")
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)

        intro = QLabel(
            "What heads every letter the office sends. Letters already made keep the "
            "letterhead they were printed with."
        )
        intro.setWordWrap(True)
        self._fields: dict[str, FieldWithMessage] = {}
        self.name = QLineEdit(objectName="office_name")
        self.name.setPlaceholderText(office.DEFAULT_OFFICE_NAME)
        self.address = QPlainTextEdit(objectName="office_address")
        self.address.setTabChangesFocus(True)
        self.address.setPlaceholderText("Street and number\nPostcode and town\nCountry")
        lines = self.address.fontMetrics().lineSpacing()
        self.address.setFixedHeight(lines * 4 + 14)
        self.phone = QLineEdit(objectName="office_phone")
        self.email = QLineEdit(objectName="office_email")
        self.email.setPlaceholderText("e.g. office@example.org")
        self.website = QLineEdit(objectName="office_website")
        self.signatory_name = QLineEdit(objectName="office_signatory_name")
        self.signatory_name.setPlaceholderText("who signs the letters")
        self.signatory_title = QLineEdit(objectName="office_signatory_title")
        self.signatory_title.setPlaceholderText("e.g. Patient coordinator")
        self.editors: dict[str, QLineEdit | QPlainTextEdit] = {
            "name": self.name,
            "address": self.address,
            "phone": self.phone,
            "email": self.email,
            "website": self.website,
            "signatory_name": self.signatory_name,
            "signatory_title": self.signatory_title,
        }
        for editor in self.editors.values():
            editor.textChanged.connect(self._mark_dirty)

        office_box = QGroupBox("Letterhead")
        office_form = QFormLayout(office_box)
        office_form.addRow("Office &name", self._field("name", self.name))
        office_form.addRow("&Address", self._field("address", self.address))
        office_form.addRow("&Phone", self._field("phone", self.phone))
        office_form.addRow("&E-mail", self._field("email", self.email))
        office_form.addRow("&Website", self._field("website", self.website))
        signed_box = QGroupBox("Signed by")
        signed_form = QFormLayout(signed_box)
        signed_form.addRow("Na&me", self._field("signatory_name", self.signatory_name))
        signed_form.addRow("&Title", self._field("signatory_title", self.signatory_title))

        self.images: dict[ImageName, ImageField] = {}
        images_box = QGroupBox("Images on the letters")
        images_form = QFormLayout(images_box)
        for which in IMAGE_NAMES:
            field = ImageField(which, self._refused)
            field.choose_button.clicked.connect(lambda _=False, w=which: self.choose_image(w))
            field.remove_button.clicked.connect(lambda _=False, w=which: self.remove_image(w))
            self.images[which] = field
            images_form.addRow(IMAGE_CAPTIONS[which], field)

        _align_labels(office_form, signed_form, images_form)
        self.message = QLabel(objectName="office_profile_message")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Discard
            | QDialogButtonBox.StandardButton.Close
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("save_office_profile")
        self.save_button.clicked.connect(self.save)
        self.revert_button = buttons.button(QDialogButtonBox.StandardButton.Discard)
        self.revert_button.setText("&Undo changes")
        self.revert_button.clicked.connect(self.reload)
        buttons.rejected.connect(self.close)
        if self._refused:
            for box in (office_box, signed_box):
                make_read_only(box, self._refused)
            self.save_button.hide()
            self.revert_button.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(office_box)
        layout.addWidget(signed_box)
        layout.addWidget(images_box)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.resize(720, 740)
        if self._state:
            self._state.restore("office_profile_window", self)
        self.reload()

    def _field(self, name: str, editor: QWidget) -> FieldWithMessage:
        field = FieldWithMessage(editor)
        self._fields[name] = field
        return field

    # --- showing ---------------------------------------------------------------------------
    def reload(self) -> None:
        """Show what is stored, dropping unsaved edits."""
        profile = office.get_profile(self._db)
        self._loading = True
        try:
            for name, editor in self.editors.items():
                value = getattr(profile, name)
                if isinstance(editor, QPlainTextEdit):
                    editor.setPlainText(value)
                else:
                    editor.setText(value)
            for which, field in self.images.items():
                field.show_image(office.office_image(self._db, which))
                field.show_message("")
        finally:
            self._loading = False
        self._pending = dict.fromkeys(IMAGE_NAMES, UNCHANGED)
        self.show_errors({})
        self._show_default_note(profile)
        self._set_dirty(False)

    def refresh(self) -> None:
        """Another window or seat changed data: show it unless the user is editing."""
        if not self._dirty:
            self.reload()

    def _show_default_note(self, profile: OfficeProfile) -> None:
        if not profile.name:
            self.say(
                f"Letters print “{office.DEFAULT_OFFICE_NAME}” until the office's name is "
                "saved here."
            )
        else:
            self.say("")

    def say(self, text: str, *, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if problem else "")

    def error_text(self, name: str) -> str:
        """The message under a field or an image ('' when there is none)."""
        if name in self.images:
            field = self.images[name]  # type: ignore[index]
            return field.message.text() if field.message.isVisibleTo(self) else ""
        shown = self._fields[name]
        return shown.message.text() if shown.message.isVisibleTo(self) else ""

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, field in self._fields.items():
            field.show_message(errors.get(name, ""))
        for which, image_field in self.images.items():
            if which in errors:
                image_field.show_message(errors[which])
        first = next((self._fields[n] for n in self._fields if n in errors), None)
        if first is not None:
            first.setFocus()

    # --- editing ---------------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        if not self._loading:
            self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty and self._refused is None
        self.save_button.setEnabled(self._dirty)
        self.revert_button.setEnabled(self._dirty)

    @property
    def has_unsaved_edits(self) -> bool:
        return self._dirty

    def details(self) -> OfficeDetails:
        return OfficeDetails(
            name=self.name.text(),
            address=self.address.toPlainText(),
            phone=self.phone.text(),
            email=self.email.text(),
            website=self.website.text(),
            signatory_name=self.signatory_name.text(),
            signatory_title=self.signatory_title.text(),
        )

    def choose_image(self, which: ImageName, path: Path | None = None) -> bool:
        """Take an image from a file; a file that cannot go on a letter is refused at once."""
        field = self.images[which]
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(
                self,
                f"Choose the {which} for the letters",
                str(documents_folder()),
                "Images (*.png *.jpg *.jpeg);;All files (*)",
            )
            if not chosen:
                return False
            path = Path(chosen)
        try:
            data = path.read_bytes()
        except OSError as exc:
            field.show_message(f"'{path.name}' cannot be read: {exc.strerror or exc}.")
            return False
        problem = office.check_image(which, data)
        if problem:
            field.show_message(f"{path.name}: {problem}")
            return False
        field.show_message("")
        field.show_image(data)
        self._pending[which] = data
        self._set_dirty(True)
        return True

    def remove_image(self, which: ImageName) -> None:
        self.images[which].show_image(None)
        self.images[which].show_message("")
        self._pending[which] = None
        self._set_dirty(True)

    def save(self) -> bool:
        if not self._dirty:
            return True
        try:
            office.set_office_details(self._db, self.details(), actor=self._actor)
            for which, pending in self._pending.items():
                if pending is not UNCHANGED:
                    assert pending is None or isinstance(pending, bytes)
                    office.set_image(self._db, which, pending, actor=self._actor)
        except ValidationError as exc:
            self.show_errors(exc.errors)
            self.say("Not saved: see the messages above.", problem=True)
            return False
        except ServiceError as exc:
            self.say(str(exc), problem=True)
            return False
        self.reload()
        self.say("Saved. Letters made from now on carry this letterhead.")
        self.changed.emit()
        return True

    def _confirm_leave(self) -> bool:
        """Nothing typed may be lost silently: save, discard or stay."""
        if not self._dirty:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            "Save the changes to the office profile?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self.reload()
            return True
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_leave():
            event.ignore()
            return
        if self._state:
            self._state.save("office_profile_window", self)
        super().closeEvent(event)
