"""Export the app icon from its SVG source: resources/icons/referral-desk.{png,ico,icns}.

    python installer/make_icons.py

Run it after changing resources/icons/referral-desk.svg and commit what it writes. Qt draws
the SVG (the same renderer that draws it in the app); Pillow packs the sizes each platform
wants into .ico (Windows) and .icns (macOS).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from PIL import Image

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SOURCE = ICONS / "referral-desk.svg"
PNG_SIZE = 256  # the Linux desktop entry's icon and the README's
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 96, 128, 256)  # Explorer, taskbar, high-DPI
ICNS_SIZE = 1024  # Pillow makes the smaller sizes of the .icns from it


def render(size: int) -> Image.Image:
    """The SVG drawn at `size` pixels square, anti-aliased, on transparency."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"{SOURCE} is not an SVG that Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA")


def main() -> int:
    render(PNG_SIZE).save(ICONS / "referral-desk.png", optimize=True)
    # Each .ico size drawn from the SVG at that size: crisper than scaling one big picture down.
    pictures = [render(size) for size in ICO_SIZES]
    pictures[-1].save(
        ICONS / "referral-desk.ico",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=pictures[:-1],
    )
    render(ICNS_SIZE).save(ICONS / "referral-desk.icns")
    for name in ("referral-desk.png", "referral-desk.ico", "referral-desk.icns"):
        print(f"wrote {ICONS / name} ({(ICONS / name).stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
