"""installer/build.py on this machine: the Linux one-folder app, built by PyInstaller, passes
its self-test and the upgrade check, and installs for a user from its archive.

The build takes about a minute, once for the whole module; CI runs it (the README's test
command), so a change that breaks the frozen app fails the suite, not an office's install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from referral_desk import __version__
from referral_desk.paths import resolve_paths
from referral_desk.services.database import open_database
from tests.installer.conftest import INSTALLER

pytest.importorskip("PyInstaller", reason="PyInstaller is not installed: pip install -e '.[test]'")
pytestmark = [
    pytest.mark.installer,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        sys.platform != "linux", reason="the Windows and macOS builds run on their own runners"
    ),
]

# Nothing of what the app never loads (Qt Quick, QML, Qt Network, Qt's translations...), and a
# download an office can fetch: it was 279 MB before the spec left those out, 236 MB after.
BUNDLE_LIMIT = 260_000_000


@dataclass(frozen=True)
class Built:
    output: str
    dist: Path
    bundle: Path
    archive: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("build")
    done = subprocess.run(
        [
            sys.executable,
            str(INSTALLER / "build.py"),
            "--dist",
            str(folder / "dist"),
            "--work",
            str(folder / "work"),
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=850,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    archives = list((folder / "dist").glob("referral-desk-*.tar.gz"))
    assert len(archives) == 1
    yield Built(done.stdout, folder / "dist", folder / "dist" / "referral-desk", archives[0])


def test_the_frozen_app_passes_its_self_test_and_opens_offices_of_the_pip_app(
    built: Built,
) -> None:
    assert f"Referral Desk {__version__} (installed build) self-test" in built.output
    assert "self-test passed" in built.output
    # The PDF viewer it opens gets the system's libraries, and Qt still finds its plugins.
    window = next(line for line in built.output.splitlines() if line.startswith("ok  window"))
    assert "LD_LIBRARY_PATH" in window and "QT_PLUGIN_PATH" in window
    assert "an office made by the pip-installed app opens with its 30 cases" in built.output
    assert "is upgraded, its copy kept (before-upgrade-from-" in built.output
    assert (built.dist / "build-report.json").exists()


def test_the_bundle_carries_what_the_app_loads_and_leaves_out_what_it_does_not(
    built: Built,
) -> None:
    inside = built.bundle / "_internal"
    files = [p for p in built.bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    names = {p.name for p in files}

    assert (inside / "referral_desk" / "db" / "migrations" / "versions").is_dir()
    assert (inside / "referral_desk" / "resources" / "fonts" / "NotoSans-Regular.ttf").exists()
    assert "libqoffscreen.so" in names and "libqxcb.so" in names and "libqsvgicon.so" in names
    unused = [n for n in names if any(q in n for q in ("Qt6Quick", "Qt6Qml", "Qt6Network"))]
    assert unused == []
    assert not any(n.endswith(".qm") for n in names)  # Qt's translations: windows are English
    assert sum(p.stat().st_size for p in files) < BUNDLE_LIMIT


def test_the_frozen_self_test_refuses_an_office_and_leaves_it_alone(
    built: Built, tmp_path: Path
) -> None:
    office = resolve_paths(tmp_path / "office")
    open_database(office).dispose()
    before = office.database.read_bytes()

    done = subprocess.run(
        [str(built.bundle / "referral-desk"), "--self-test", "--data-dir", str(office.data_dir)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )

    assert done.returncode == 1 and "holds a Referral Desk office" in done.stderr
    assert office.database.read_bytes() == before


def _install_sh(
    folder: Path, home: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SUDO_"))}
    env.update(HOME=str(home), **extra)
    return subprocess.run(
        ["sh", str(folder / "install.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_linux_archive_installs_for_the_user_and_uninstalls_keeping_the_data(
    built: Built, tmp_path: Path
) -> None:
    with tarfile.open(built.archive) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    home = tmp_path / "home with space"
    data = home / ".local" / "share" / "ReferralDesk"
    data.mkdir(parents=True)
    (data / "referral-desk.sqlite").write_bytes(b"the office's data")
    app = home / ".local" / "opt" / "referral-desk"
    app.mkdir(parents=True)
    (app / "left-from-an-older-version.so").write_bytes(b"old")

    installed = _install_sh(unpacked, home)

    assert installed.returncode == 0, installed.stderr
    entry = (home / ".local/share/applications/referral-desk.desktop").read_text()
    assert f'Exec="{app}/referral-desk"' in entry
    assert (home / ".local/share/icons/hicolor/256x256/apps/referral-desk.png").exists()
    assert not (app / "left-from-an-older-version.so").exists()  # replaced whole
    version = subprocess.run(
        [str(home / ".local/bin/referral-desk"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert version.stdout.strip() == f"referral-desk {__version__}"

    # Replacing the files of a running app breaks it: install.sh waits for it to be closed.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home)}
    running = subprocess.Popen(
        [str(app / "referral-desk"), "--demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)
        refused = _install_sh(unpacked, home)
    finally:
        running.kill()
        running.wait(timeout=60)
    assert refused.returncode == 1 and "Referral Desk is open" in refused.stderr
    as_root = _install_sh(unpacked, home, SUDO_USER="maria")
    assert as_root.returncode == 1 and "without sudo" in as_root.stderr

    removed = _install_sh(unpacked, home, "--uninstall")

    assert removed.returncode == 0, removed.stderr
    assert "data stays" in removed.stdout
    assert not app.exists()
    assert not (home / ".local/share/applications/referral-desk.desktop").exists()
    assert not (home / ".local/bin/referral-desk").exists()
    assert (data / "referral-desk.sqlite").read_bytes() == b"the office's data"
