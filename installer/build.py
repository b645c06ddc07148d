"""Build Referral Desk for the platform this runs on, smoke-test the frozen app, package it.

    python installer/build.py                 # build, test, package into dist/
    python installer/build.py --no-package    # build and test only (what the test suite does)

Run it with the Python of an environment where the project is installed with its build tools
(`pip install -e ".[installer]"`). It stops with status 1 at the first thing that fails, and
says what: a build whose frozen app cannot start, migrate, draw, make a letter or back up is
never packaged.

1. PyInstaller builds the one-folder app from installer/referral_desk.spec.
2. `referral-desk --self-test` runs in the frozen app, offscreen, in an empty folder: any error
   or unexpected output fails the build.
3. Upgrade: an office made by the pip-installed app (this environment's) opens in the frozen
   app with every case, and one on the previous schema is upgraded there, with its copy kept.
4. Packaging: Linux, a .tar.gz with a desktop entry and install.sh; Windows, the Inno Setup
   installer (ISCC); macOS, the .dmg (installer/macos/make_dmg.sh).

The figures (build time, bundle size, package size) are printed as a table and written to
<dist>/build-report.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"
SPEC = INSTALLER / "referral_desk.spec"
COMMAND = "referral-desk"
APP_NAME = "Referral Desk"
UPGRADE_CASES = 30
UPGRADE_PASSWORD = "upgrade-check-password"
TIMEOUT = 600  # seconds for any one step of the frozen app (a hang fails the build)

SIGN_COMMAND_ENV = "REFERRAL_DESK_SIGNTOOL"  # Windows: e.g. `signtool sign /a /fd sha256 ... $f`

WINDOWS = sys.platform == "win32"
MACOS = sys.platform == "darwin"


class BuildFailed(Exception):
    """A step failed; the message says which and why."""


@dataclass
class Report:
    version: str
    platform: str
    python: str
    seconds: dict[str, float] = field(default_factory=dict)
    bundle_bytes: int = 0
    bundle_files: int = 0
    package: str = ""
    package_bytes: int = 0


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]


def platform_tag() -> str:
    machine = platform.machine().lower().replace("amd64", "x86_64").replace("aarch64", "arm64")
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    return f"{system}-{machine}"


def environment_problem(version: str) -> str | None:
    """Is this Python one the app can be built from? Named before minutes are spent."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return 'PyInstaller is not installed here: run `pip install -e ".[installer]"` first.'
    from importlib import metadata

    try:
        installed = metadata.version(COMMAND)
    except metadata.PackageNotFoundError:
        return (
            f'Referral Desk is not installed in {sys.prefix}: run `pip install -e ".[installer]"`.'
        )
    if installed != version:
        return (
            f"This environment has Referral Desk {installed} installed, but pyproject.toml says "
            f"{version}: reinstall (`pip install -e .`) so the app shows the right version."
        )
    return None


# --- 1. Build --------------------------------------------------------------------------------


def build(dist: Path, work: Path) -> Path:
    """The one-folder app; its folder."""
    log = work / "pyinstaller.log"
    work.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(SPEC),
    ]
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    said = log.read_text(encoding="utf-8", errors="replace")
    if done.returncode != 0:
        tail = "\n".join(said.splitlines()[-30:])
        raise BuildFailed(f"PyInstaller failed (exit {done.returncode}); the end of {log}:\n{tail}")
    bundle = dist / COMMAND
    missing = missing_libraries(said, {p.name for p in bundle.rglob("*")})
    if missing:
        raise BuildFailed(
            "This machine lacks libraries that the app's kept binaries link to, so the bundle "
            "would fail on a desktop although its offscreen self-test passes (on Debian or "
            "Ubuntu, see installer/README.md for the packages):\n  " + "\n  ".join(missing)
        )
    return bundle


def missing_libraries(log: str, bundled: set[str]) -> list[str]:
    """PyInstaller's "could not resolve" warnings about binaries the bundle keeps (a plugin the
    spec leaves out may lack its libraries: GTK's theme plugin on a machine without GTK)."""
    found = re.findall(r"could not resolve '([^']+)', dependency of '([^']+)'", log)
    return sorted(
        {f"{Path(user).name} needs {name}" for name, user in found if Path(user).name in bundled}
    )


def program_in(bundle: Path) -> Path:
    """The console program: on macOS, inside the .app when there is one."""
    name = f"{COMMAND}.exe" if WINDOWS else COMMAND
    app = bundle.parent / f"{APP_NAME}.app" / "Contents" / "MacOS" / name
    return app if MACOS and app.exists() else bundle / name


def frozen_environment() -> dict[str, str]:
    """What the frozen app sees: nothing of this build's Python, no screen, no office."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "REFERRAL_DESK_", "QT_"))
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def run_frozen(program: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [str(program), *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=frozen_environment(),
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BuildFailed(
            f"`{program.name} {' '.join(args)}` did not finish in {TIMEOUT} s"
        ) from None


# --- 2. Self-test ------------------------------------------------------------------------------


def self_test_problems(returncode: int, stdout: str, stderr: str) -> list[str]:
    """What is wrong with a self-test run: anything but a clean pass is a failure."""
    problems: list[str] = []
    if returncode != 0:
        problems.append(f"exit status {returncode}")
    if stderr.strip():
        problems.append(f"unexpected error output:\n{stderr.rstrip()}")
    lines = stdout.splitlines()
    if not lines or "(installed build)" not in lines[0]:
        problems.append("the first line does not say the installed build ran")
    steps = lines[1:-1]
    strays = [line for line in steps if not line.startswith("ok  ")]
    if strays:
        problems.append("unexpected output: " + " | ".join(strays))
    if not steps:
        problems.append("no step reported")
    if not lines or not lines[-1].startswith("self-test passed"):
        problems.append("it never said `self-test passed`")
    return problems


def smoke_test(program: Path, scratch: Path) -> str:
    done = run_frozen(program, "--self-test", "--data-dir", str(scratch / "self-test"))
    problems = self_test_problems(done.returncode, done.stdout, done.stderr)
    if problems:
        raise BuildFailed(
            "The frozen app's self-test failed: "
            + "; ".join(problems)
            + f"\n--- its output ---\n{done.stdout}{done.stderr}"
        )
    return done.stdout


# --- 3. Upgrade --------------------------------------------------------------------------------


def _pip_app(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The pip-installed app of this environment (what offices had before the installer)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERRAL_DESK_")}
    return subprocess.run(
        [sys.executable, "-m", "referral_desk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


def _references(done: subprocess.CompletedProcess[str], who: str) -> list[str]:
    if done.returncode != 0:
        raise BuildFailed(f"{who} could not list the cases: {done.stderr.strip()}")
    return [row["reference"] for row in json.loads(done.stdout)]


def _step_back_one_schema(folder: Path) -> str:
    """The office as the previous schema had it: what a release ago left on an office's disk."""
    from alembic import command

    from referral_desk.db import migrate
    from referral_desk.db.engine import Database
    from referral_desk.paths import resolve_paths

    script = migrate._scripts()
    previous = script.get_revision(migrate.head_revision()).down_revision
    assert isinstance(previous, str), "the first schema has nothing before it"
    db = Database(resolve_paths(folder).database)
    try:
        config = migrate.alembic_config()
        with db.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, previous)
            connection.commit()
    finally:
        db.dispose()
    return previous


def upgrade_check(program: Path, scratch: Path) -> str:
    """An office made by the pip-installed app opens in the frozen one with every case; on the
    previous schema, the frozen app upgrades it (its migrations travel in the bundle)."""
    from referral_desk.services.accounts import DEMO_PASSWORD  # the demo office's accounts

    listing = ["cases", "list", "--format", "json", "--user", "admin"]
    for name in ("same-schema", "previous-schema"):
        folder = scratch / name
        made = _pip_app("demo", "--cases", str(UPGRADE_CASES), "--data-dir", str(folder))
        if made.returncode != 0:
            raise BuildFailed(f"The pip-installed app could not make an office: {made.stderr}")
    before = _references(
        _pip_app(*listing, "--data-dir", str(scratch / "same-schema"), stdin=DEMO_PASSWORD),
        "The pip-installed app",
    )
    after = _references(
        run_frozen(
            program, *listing, "--data-dir", str(scratch / "same-schema"), stdin=DEMO_PASSWORD
        ),
        "The frozen app",
    )
    if after != before:
        raise BuildFailed(
            f"The frozen app lists {len(after)} cases of an office where the pip-installed "
            f"app lists {len(before)}."
        )
    previous = _step_back_one_schema(scratch / "previous-schema")
    older = ["--data-dir", str(scratch / "previous-schema")]
    # Accounts came with schema 0006: an office from before gets its first administrator.
    added = run_frozen(
        program, "users", "add", "boss", "--role", "administrator", *older, stdin=UPGRADE_PASSWORD
    )
    if added.returncode != 0:
        raise BuildFailed(
            f"The frozen app could not open an office on schema {previous}: {added.stderr}"
        )
    upgraded = _references(
        run_frozen(program, *listing[:-1], "boss", *older, stdin=UPGRADE_PASSWORD),
        "The frozen app, upgrading an office,",
    )
    copies = list((scratch / "previous-schema" / "backups").glob("before-upgrade-*.sqlite"))
    if len(upgraded) != len(before) or not copies:
        raise BuildFailed(
            f"The frozen app upgraded an office on schema {previous} to {len(upgraded)} cases "
            f"(expected {len(before)}), with {len(copies)} copies kept before the upgrade."
        )
    return (
        f"ok  an office made by the pip-installed app opens with its {len(before)} cases\n"
        f"ok  an office on schema {previous} is upgraded, its copy kept ({copies[0].name})"
    )


# --- 4. Package --------------------------------------------------------------------------------


def package(bundle: Path, dist: Path, version: str) -> Path:
    if WINDOWS:
        return _windows_installer(bundle, dist, version)
    if MACOS:
        return _mac_disk_image(dist, version)
    return _linux_archive(bundle, dist, version)


def _linux_archive(bundle: Path, dist: Path, version: str) -> Path:
    linux = INSTALLER / "linux"
    for name in ("install.sh", "referral-desk.desktop"):
        shutil.copy2(linux / name, bundle / name)
    shutil.copy2(ROOT / "resources" / "icons" / "referral-desk.png", bundle / "referral-desk.png")
    archive = dist / f"{COMMAND}-{version}-{platform_tag()}.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=f"{COMMAND}-{version}")
    return archive


def _inno_compiler() -> Path:
    found = shutil.which("iscc")
    if found:
        return Path(found)
    # Each major version installs beside the others ("Inno Setup 6", "Inno Setup 7"): the newest.
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base:
            installed = sorted(Path(base).glob("Inno Setup */ISCC.exe"), reverse=True)
            if installed:
                return installed[0]
    raise BuildFailed(
        "Inno Setup 6.3 or later is not installed (ISCC.exe not found): install it from "
        "jrsoftware.org or with `choco install innosetup`, or build with --no-package."
    )


def _windows_installer(bundle: Path, dist: Path, version: str) -> Path:
    numeric = ".".join((re.findall(r"\d+", version) + ["0"] * 4)[:4])
    # A signing command, `$f` standing for the file (installer/README.md): the programs, then
    # (by Inno Setup) the installer and its uninstaller. Unsigned without it.
    # Written as Inno Setup wants it: `$q` for a double quote, `$$` for a dollar sign.
    sign = os.environ.get(SIGN_COMMAND_ENV, "")
    signing: list[str] = []
    if sign:
        for program in sorted(bundle.glob("*.exe")):
            command = sign.replace("$f", f'"{program}"').replace("$q", '"').replace("$$", "$")
            signed = subprocess.run(command, shell=True, check=False)
            if signed.returncode != 0:
                raise BuildFailed(f"Signing {program.name} failed (exit {signed.returncode}).")
        signing = [f"/Sreferraldesk={sign}", "/DSignTool=referraldesk"]
    _packaging_tool(
        "Inno Setup",
        str(_inno_compiler()),
        *signing,
        f"/DAppVersion={version}",
        f"/DAppNumericVersion={numeric}",
        f"/DBundle={bundle}",
        f"/DOutputDir={dist}",
        f"/DRoot={ROOT}",
        str(INSTALLER / "windows" / "referral_desk.iss"),
    )
    return dist / f"ReferralDesk-{version}-setup.exe"


def _mac_disk_image(dist: Path, version: str) -> Path:
    image = dist / f"ReferralDesk-{version}-{platform_tag()}.dmg"
    _packaging_tool(
        "make_dmg.sh",
        "bash",
        str(INSTALLER / "macos" / "make_dmg.sh"),
        str(dist / f"{APP_NAME}.app"),
        str(image),
    )
    return image


def _packaging_tool(name: str, *command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
    if done.returncode != 0:
        raise BuildFailed(f"{name} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


# --- Figures -------------------------------------------------------------------------------------


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def print_report(report: Report) -> None:
    rows = [(f"{step} (s)", f"{seconds:.1f}") for step, seconds in report.seconds.items()]
    rows.append(("bundle", f"{megabytes(report.bundle_bytes)} in {report.bundle_files:,} files"))
    if report.package:
        rows.append((Path(report.package).name, megabytes(report.package_bytes)))
    width = max(len(name) for name, _value in rows)
    print(f"\nReferral Desk {report.version}, {report.platform}, Python {report.python}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the app goes")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's scratch")
    parser.add_argument(
        "--no-package", action="store_true", help="build and test, but make no installer"
    )
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # a CI log in a narrow code page must not stop us
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    version = project_version()
    problem = environment_problem(version)
    if problem:
        print(f"build: {problem}", file=sys.stderr)
        return 1
    dist, work = args.dist.resolve(), args.work.resolve()
    report = Report(version, platform_tag(), platform.python_version())
    try:
        started = time.perf_counter()
        print(f"Building Referral Desk {version} for {report.platform}…", flush=True)
        bundle = build(dist, work)
        report.seconds["build"] = time.perf_counter() - started
        report.bundle_bytes, report.bundle_files = folder_size(bundle)
        program = program_in(bundle)
        # Windows may still hold a file of the frozen app a moment after it exits: a leftover
        # temporary folder is no reason to fail a build that passed.
        with tempfile.TemporaryDirectory(
            prefix="referral-desk-build-", ignore_cleanup_errors=True
        ) as scratch:
            started = time.perf_counter()
            print(smoke_test(program, Path(scratch)), end="", flush=True)
            report.seconds["self-test"] = time.perf_counter() - started
            started = time.perf_counter()
            print(upgrade_check(program, Path(scratch)), flush=True)
            report.seconds["upgrade check"] = time.perf_counter() - started
        if not args.no_package:
            started = time.perf_counter()
            made = package(bundle, dist, version)
            report.seconds["package"] = time.perf_counter() - started
            report.package, report.package_bytes = str(made), made.stat().st_size
    except BuildFailed as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    print_report(report)
    (dist / "build-report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
