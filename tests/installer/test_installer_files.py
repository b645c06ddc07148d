"""The installer's files that need no build: the self-test verdict, icons, desktop entry."""

from __future__ import annotations

import configparser
from types import ModuleType

import pytest
from PIL import Image, ImageChops

from tests.installer.conftest import INSTALLER, ROOT, load_script

ICONS = ROOT / "resources" / "icons"
PASSING = (
    "Referral Desk 0.1.0 (installed build) self-test in /tmp/x\n"
    "ok  database: created\n"
    "ok  backup: made\n"
    "self-test passed in 1.2 s\n"
)


def test_a_clean_self_test_passes_the_build(build_script: ModuleType) -> None:
    assert build_script.self_test_problems(0, PASSING, "") == []


@pytest.mark.parametrize(
    ("returncode", "stdout", "stderr", "named"),
    [
        (1, PASSING, "", "exit status 1"),
        (0, PASSING, "QFont: cannot find font\n", "unexpected error output"),
        (0, PASSING.replace("ok  backup: made", "Traceback (most recent"), "", "Traceback"),
        (0, PASSING.replace(" (installed build)", ""), "", "installed build"),
        (0, PASSING.replace("self-test passed in 1.2 s\n", ""), "", "never said"),
    ],
)
def test_anything_but_a_clean_self_test_fails_the_build(
    build_script: ModuleType, returncode: int, stdout: str, stderr: str, named: str
) -> None:
    problems = build_script.self_test_problems(returncode, stdout, stderr)

    assert any(named in problem for problem in problems), problems


def test_the_exported_icons_are_drawn_from_the_current_svg(qapp: object) -> None:
    """Editing the SVG without running installer/make_icons.py would ship the old icon."""
    make_icons = load_script("make_icons")
    exported = Image.open(ICONS / "referral-desk.png").convert("RGBA")
    drawn = make_icons.render(make_icons.PNG_SIZE)

    # A newer Qt may smooth an edge a shade differently; a changed shape or colour is more.
    difference = ImageChops.difference(exported, drawn).convert("L").point(lambda v: v > 32)
    changed = difference.histogram()[1] / (exported.width * exported.height)
    assert changed < 0.005, "run `python installer/make_icons.py` and commit its files"


def test_the_windows_icon_has_every_size_explorer_asks_for() -> None:
    icon = Image.open(ICONS / "referral-desk.ico")

    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(icon.info["sizes"])


def test_the_mac_icon_goes_up_to_retina_512() -> None:
    icon = Image.open(ICONS / "referral-desk.icns")

    assert icon.size == (1024, 1024)
    assert (512, 512, 2) in icon.info["sizes"]


def test_the_linux_desktop_entry_launches_the_app_from_the_menu() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(INSTALLER / "linux" / "referral-desk.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]

    assert desktop["Type"] == "Application"
    assert desktop["Name"] == "Referral Desk"
    assert desktop["Exec"] == "@EXEC@"  # install.sh writes the installed program's path
    assert desktop["Icon"] == "referral-desk"
    assert desktop["Terminal"] == "false"
    assert desktop["Categories"].endswith(";") and "MedicalSoftware" in desktop["Categories"]


def test_a_library_missing_from_the_build_machine_fails_the_build_only_if_the_app_keeps_its_user(
    build_script: ModuleType,
) -> None:
    log = (
        "WARNING: Library not found: could not resolve 'libxcb-cursor.so.0', dependency of "
        "'/venv/PySide6/Qt/plugins/platforms/libqxcb.so'.\n"
        "WARNING: Library not found: could not resolve 'libgtk-3.so.0', dependency of "
        "'/venv/PySide6/Qt/plugins/platformthemes/libqgtk3.so'.\n"
    )

    missing = build_script.missing_libraries(log, {"libqxcb.so", "libQt6Core.so.6"})

    assert missing == ["libqxcb.so needs libxcb-cursor.so.0"]  # the GTK theme is left out
