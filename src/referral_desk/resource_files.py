"""Locate files shipped in `resources/`: inside the wheel, a source checkout, or a frozen build."""

from __future__ import annotations

import sys
from importlib import resources as importlib_resources
from pathlib import Path


def resource_path(name: str) -> Path:
    """Path of a shipped resource file, wherever the app was installed from."""
    candidates: list[Path] = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.append(Path(frozen_root) / "referral_desk" / "resources")
    candidates.append(Path(str(importlib_resources.files("referral_desk"))) / "resources")
    # Editable installs and source checkouts: the top-level resources/ folder.
    candidates.append(Path(__file__).resolve().parents[2] / "resources")
    for folder in candidates:
        path = folder / name
        if path.exists():
            return path
    raise FileNotFoundError(f"resource {name!r} not found in {[str(c) for c in candidates]}")
