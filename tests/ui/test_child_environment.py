"""The installed app's PDF viewer must not inherit the bundle's library paths."""

from __future__ import annotations

import os
import sys

import pytest

from referral_desk.ui.child_environment import (
    bundle_paths_in_environment,
    hand_back_system_paths,
)

BUNDLE = "/opt/referral-desk/_internal"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment PyInstaller's bootloader and Qt hook leave for the installed app."""
    monkeypatch.setattr(sys, "_MEIPASS", BUNDLE, raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", BUNDLE)
    monkeypatch.setenv("QT_PLUGIN_PATH", f"{BUNDLE}/PySide6/Qt/plugins")
    monkeypatch.setenv("QML2_IMPORT_PATH", f"{BUNDLE}/PySide6/Qt/qml")
    monkeypatch.setenv("PATH", os.pathsep.join([BUNDLE, "/usr/bin", "/bin"]))
    monkeypatch.delenv("LD_LIBRARY_PATH_ORIG", raising=False)
    return monkeypatch


def test_programs_the_installed_app_starts_get_the_systems_libraries(
    frozen: pytest.MonkeyPatch,
) -> None:
    assert bundle_paths_in_environment() == [
        "LD_LIBRARY_PATH",
        "PATH",
        "QML2_IMPORT_PATH",
        "QT_PLUGIN_PATH",
    ]

    hand_back_system_paths()

    assert bundle_paths_in_environment() == []
    assert "LD_LIBRARY_PATH" not in os.environ
    assert "QT_PLUGIN_PATH" not in os.environ
    assert os.environ["PATH"] == os.pathsep.join(["/usr/bin", "/bin"])


def test_the_users_own_library_path_comes_back(frozen: pytest.MonkeyPatch) -> None:
    frozen.setenv("LD_LIBRARY_PATH", f"{BUNDLE}:/home/me/lib")
    frozen.setenv("LD_LIBRARY_PATH_ORIG", "/home/me/lib")

    hand_back_system_paths()

    assert os.environ["LD_LIBRARY_PATH"] == "/home/me/lib"
    assert "LD_LIBRARY_PATH_ORIG" not in os.environ


def test_the_pip_installed_app_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    monkeypatch.setenv("QT_PLUGIN_PATH", "/somewhere/plugins")
    before = dict(os.environ)

    hand_back_system_paths()

    assert dict(os.environ) == before
