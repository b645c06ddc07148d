"""Property-based checks of attachment names, on a real SQLite file and real folders.

Whatever a file is called (path separators, "..", NUL and other control characters, names
Windows reserves, bidi overrides, broken characters, names too long for a disk), adding it is
either refused with a message or stores it under a safe name; and saving it back, or opening
it in the viewer, writes that one file inside the chosen folder and nothing anywhere else.
"""

from __future__ import annotations

import hashlib
import itertools
import ntpath
import operator
import os
import posixpath
import re
import shutil
import sys
import unicodedata
from collections import Counter
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral_desk.db.engine import Database
from referral_desk.domain.file_rules import (
    MAX_NAME_BYTES,
    MAX_NAME_CHARS,
    FileRefusedError,
    clean_file_name,
)
from referral_desk.services import cases, files
from referral_desk.services.errors import ServiceError
from referral_desk.services.files import VIEWER_EXTENSIONS, FileRejectedError
from tests.conftest import NOW, admin, case, patient
from tests.services.test_properties_intake import (
    BROKEN,
    EXAMPLES,
    PROPERTY,
    PURE,
    snapshot,
    table_names,
    weighted,
)

# Devices on Windows, whatever the extension or case: "con.txt" is the console.
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{port}{n}" for port in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]
}
UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"|?*/\\\u202a-\u202e\u2066-\u2069\ud800-\udfff]')
NAME_MAX_BYTES = 255  # a name's limit on Linux and macOS file systems (in UTF-8)
LONGEST_VIEWER_EXTENSION = max(len(e) for exts in VIEWER_EXTENSIONS.values() for e in exts)

PIECES = st.sampled_from(
    [
        "..", ".", "/", "\\", "\x00", "\x01", "\x1f", "\x7f", "\x9f", "\t", "\n", " ", "~",
        "CON", "con", "Nul", "PRN", "AUX", "COM1", "lpt9", "COM¹", "CONIN$", ".txt", ".pdf",
        ".PNG", ".tar.gz", "C:", "\\\\server\\share", "/etc/", "%2e%2e", "\u202e", "\u2066",
        "\u200f", "\u200e", "\ufeff", ":", "*", "?", "<", ">", '"', "|", "scan", "Befund Müller",
        "王芳", "تقرير", "\U0001f600", "e\u0301", "Å", "ﬁ", "...", "$", "'",
    ]
)  # fmt: skip
FILE_NAME = weighted(
    (3, st.text(max_size=30)),  # any code point but lone surrogates
    (4, st.lists(PIECES, max_size=8).map("".join)),
    (1, BROKEN.map(lambda s: f"scan{s}.pdf")),
    # Long, in one-, two-, three- and four-byte characters, with or without an extension.
    (
        1,
        st.builds(
            operator.add,
            st.builds(
                operator.mul, st.sampled_from(["a", "é", "王", "\U0001f600"]), st.integers(40, 300)
            ),
            st.sampled_from(["", ".pdf", ".jpeg", ".txt", "." + "x" * 12]),
        ),
    ),
)


def _is_safe(name: str) -> bool:
    """A name that stays inside any folder it is put in, on Windows, macOS and Linux, and that
    the viewer's copy (the name plus its real type's extension) can still be written under."""
    stem = name.split(".")[0].rstrip(" ").upper()
    return (
        0 < len(name) <= MAX_NAME_CHARS
        and not UNSAFE.search(name)
        and name == name.strip().strip(".").strip()  # no leading or trailing dots or spaces
        and name not in (".", "..")
        and stem not in WINDOWS_DEVICES
        and unicodedata.is_normalized("NFC", name)
        and len(name.encode()) + LONGEST_VIEWER_EXTENSION <= NAME_MAX_BYTES
    )


@PURE
@given(name=FILE_NAME)
def test_any_file_name_is_made_safe_or_refused_with_a_message(name: str) -> None:
    try:
        clean = clean_file_name(name)
    except FileRefusedError as exc:
        assert "no usable file name" in str(exc)
        return
    assert _is_safe(clean), repr(clean)
    assert clean_file_name(clean) == clean  # cleaning twice changes nothing more
    # One part, read the same on Windows and POSIX, inside the folder it is put in.
    for folder, rules in (
        (PureWindowsPath("C:/Users/maria/Documents"), ntpath),
        (PurePosixPath("/home/maria"), posixpath),
    ):
        placed = folder / clean
        assert placed.parent == folder and placed.name == clean
        assert rules.normpath(str(placed)) == str(placed)  # no ".." or "." to collapse


def _tree(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


_unique = itertools.count()

# Most files are refused for what they hold, before anything is written: the names are what
# is tested, and each stored file costs two commits and two copies written to disk.
CONTENT = st.sampled_from(
    ["text", "png", "same", "empty", "script", "program", "zip", "binary", "folder", "missing"]
)


def _content(kind: str) -> bytes:
    n = next(_unique)
    if kind == "text":
        return f"Befund {n}: no evidence of disease\n".encode()
    if kind == "png":
        return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + hashlib.sha256(str(n).encode()).digest()
    if kind == "same":
        return b"the same letter, added again\n"
    if kind == "script":
        return b"#!/bin/sh\nrm -rf ~\n"
    if kind == "program":
        return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)
    if kind == "binary":
        return b"\x00\x01\x02 not a document " + str(n).encode()
    if kind == "zip":
        return b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + hashlib.sha256(str(n).encode()).digest()
    return b""


def _put(source: Path, name: str, kind: str, content: bytes) -> Path:
    """The file as it lies on disk, when the disk can hold such a name. The path is returned
    either way: adding a file that is not there must be refused too."""
    path = source / name
    try:
        os.fsencode(path)  # NUL, or half a UTF-16 pair the disk's encoding cannot hold
        if "\x00" in name or not _inside(path, source):
            return path
    except (ValueError, UnicodeEncodeError):
        return path
    try:
        if kind == "folder":
            path.mkdir(parents=True, exist_ok=True)
        elif kind != "missing":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    except OSError:  # too long for the disk, or a folder of that name is in the way
        pass
    return path


def test_any_attached_file_is_stored_under_a_safe_name_and_saved_back_only_where_asked(
    db: Database, tmp_path: Path
) -> None:
    tables = table_names(db)
    case_ids = [
        cases.create_case(db, case(), patient=patient(), actor=admin(), now=NOW).id
        for _ in range(4)
    ]
    source, chosen, viewing = tmp_path / "from", tmp_path / "to", tmp_path / "viewing"
    for folder in (source, chosen, viewing):
        folder.mkdir()
    outcomes: Counter[str] = Counter()
    state = {"snapshot": snapshot(db, tables)}

    @PROPERTY
    @given(
        name=FILE_NAME,
        kind=CONTENT,
        case_id=st.sampled_from(case_ids),
        document_type=st.sampled_from(["pathology_report", "imaging_report", "blood_tests"]),
    )
    def attach(name: str, kind: str, case_id: int, document_type: str) -> None:
        content = _content(kind)
        path = _put(source, name, kind, content)
        tree, before = _tree(tmp_path), state["snapshot"]
        try:
            try:
                added = files.add_file(db, case_id, document_type, path, actor=admin(), now=NOW)
            except ServiceError as exc:
                outcomes["refused"] += 1
                assert isinstance(exc, FileRejectedError), f"{type(exc).__name__}: {exc}"
                assert str(exc).strip()
                assert snapshot(db, tables) == before, "a refused file changed the database"
                assert _tree(tmp_path) == tree
                return
            if added.file_id is None:  # the same bytes on the same document: kept once
                outcomes["kept once"] += 1
                assert snapshot(db, tables) == before
                return
            outcomes["stored"] += 1
            assert path.is_file() and kind in ("text", "png", "same")
            assert added.name == clean_file_name(path.name) and _is_safe(added.name)
            mime = "image/png" if kind == "png" else "text/plain"
            # Saved where the user chose, under the name the dialog suggests.
            target = chosen / files.viewer_name(added.name, mime)
            saved = files.save_copy(db, added.file_id, target, actor=admin())
            assert saved.resolve().parent == chosen.resolve()
            assert saved.read_bytes() == content
            # Opened in the viewer: a copy in a new folder inside the viewing folder, named
            # as stored (with its real type's extension), the same bytes.
            viewed = files.export_for_viewing(db, added.file_id, viewing)
            assert _inside(viewed, viewing) and viewed.parent.parent.resolve() == viewing.resolve()
            assert viewed.name == files.viewer_name(added.name, mime)
            assert viewed.read_bytes() == content
            # Nothing else appeared anywhere.
            assert _tree(tmp_path) - tree == {saved, viewed.parent, viewed}
            assert tree <= _tree(tmp_path)
            state["snapshot"] = snapshot(db, tables)
        finally:
            _clean(source, chosen, viewing)

    attach()
    assert outcomes["stored"] >= EXAMPLES // 8, outcomes
    assert outcomes["refused"] >= EXAMPLES // 5, outcomes
    assert outcomes["kept once"] >= 1, outcomes


def _clean(*folders: Path) -> None:
    for folder in folders:
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


# Found by the properties above.


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux keeps names that are not UTF-8")
def test_a_file_whose_name_on_disk_is_not_utf8_is_stored_with_a_replacement_character(
    db: Database, tmp_path: Path
) -> None:
    """An old Latin-1 name ("Befund_M\\xfcller.txt") crashed the save."""
    raw = os.fsencode(tmp_path) + b"/Befund_M\xfcller.txt"
    with open(raw, "wb") as out:
        out.write(b"no evidence of disease\n")
    case_id = cases.create_case(db, case(), patient=patient(), actor=admin(), now=NOW).id
    added = files.add_file(db, case_id, "pathology_report", Path(os.fsdecode(raw)), actor=admin())
    assert added.name == "Befund_M\ufffdller.txt"
    assert added.file_id is not None
    assert files.export_for_viewing(db, added.file_id, tmp_path / "viewing").name == added.name


def test_a_name_as_long_as_the_disk_allows_can_still_be_opened_and_saved_back(
    db: Database, tmp_path: Path
) -> None:
    """252 bytes on disk: the viewer's copy, with ".txt" added, was too long to write."""
    path = tmp_path / ("王" * 83 + ".md")
    path.write_bytes(b"# Befund\n")
    case_id = cases.create_case(db, case(), patient=patient(), actor=admin(), now=NOW).id
    added = files.add_file(db, case_id, "pathology_report", path, actor=admin())
    assert added.file_id is not None
    assert added.name.endswith(".md") and len(added.name.encode()) <= MAX_NAME_BYTES
    viewed = files.export_for_viewing(db, added.file_id, tmp_path / "viewing")
    assert viewed.name == f"{added.name}.txt" and viewed.read_bytes() == b"# Befund\n"
    saved = files.save_copy(db, added.file_id, tmp_path / viewed.name, actor=admin())
    assert saved.read_bytes() == b"# Befund\n"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("Nul.tar.gz", "_Nul.tar.gz"),
        ("COM1 .pdf", "_COM1 .pdf"),
        ("lpt9", "_lpt9"),
        ("C:\\scans\\aux.png", "_aux.png"),
        ("CONSENT.pdf", "CONSENT.pdf"),
        ("report. .", "report"),
        ("scan .pdf . ", "scan .pdf"),
    ],
)
def test_names_windows_keeps_for_devices_or_would_trim_are_stored_safely(
    given: str, stored: str
) -> None:
    assert clean_file_name(given) == stored


@pytest.mark.parametrize("name", ["scan\x00.pdf", "scan\ud83d.pdf"])
def test_a_path_no_file_can_have_is_refused_with_a_message(
    db: Database, tmp_path: Path, name: str
) -> None:
    case_id = cases.create_case(db, case(), patient=patient(), actor=admin(), now=NOW).id
    with pytest.raises(FileRejectedError, match="no file here can have"):
        files.add_file(db, case_id, "pathology_report", tmp_path / name, actor=admin())
