"""What the installed app hands the programs it starts (the PDF viewer, via xdg-open).

PyInstaller points LD_LIBRARY_PATH (Linux), PATH (Windows) and QT_PLUGIN_PATH at the bundle
so that the app finds its own libraries. A program the app opens inherits that environment,
and a PDF viewer or xdg-open loading our libstdc++ or our Qt's plugins can fail to start: the
letter then silently never opens. Once Qt has started, the app needs none of it (the loader
and Qt have read their paths), so the system's own values go back.
"""

from __future__ import annotations

import os
import sys

# Set by PyInstaller's bootloader and its Qt run-time hook; no use to another program.
_BUNDLE_ONLY = ("QT_PLUGIN_PATH", "QML2_IMPORT_PATH")


def bundle_paths_in_environment() -> list[str]:
    """The environment variables that still point into the bundle (none once handed back)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return []
    return sorted(
        name
        for name in ("LD_LIBRARY_PATH", "PATH", "DYLD_LIBRARY_PATH", *_BUNDLE_ONLY)
        if bundle in os.environ.get(name, "")
    )


def hand_back_system_paths() -> list[str]:
    """After the QApplication exists: the started programs get the system's libraries.
    Returns the variables it changed."""
    changed = bundle_paths_in_environment()
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return changed  # the pip-installed app changes nothing
    for name in _BUNDLE_ONLY:
        os.environ.pop(name, None)
    for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        original = os.environ.pop(f"{name}_ORIG", None)  # PyInstaller keeps the user's own
        if original is not None:
            os.environ[name] = original
        elif name in os.environ:
            _drop_from_path(name, bundle)
    _drop_from_path("PATH", bundle)
    return changed


def _drop_from_path(name: str, bundle: str) -> None:
    kept = [part for part in os.environ.get(name, "").split(os.pathsep) if part and part != bundle]
    if kept:
        os.environ[name] = os.pathsep.join(kept)
    else:
        os.environ.pop(name, None)
