"""Files kept with a case: added from disk, stored once per content, read back, verified.

The bytes live inside the database (one backup holds everything), keyed by SHA-256 and
streamed in chunks, so a 100 MB scan never sits in memory twice.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import Blob, BlobText, Case, CaseDocument, CaseFile, DocumentType
from referral_desk.domain.access import Actor, Permission
from referral_desk.domain.audit import AuditAction
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.file_rules import (
    SNIFF_BYTES,
    FileKind,
    FileRefusedError,
    classify,
    clean_file_name,
)
from referral_desk.services import documents, pdf_text, records, search_index, settings
from referral_desk.services.acting import acting, check
from referral_desk.services.acting import record as audit_record
from referral_desk.services.atomic import create_beside
from referral_desk.services.case_state import CaseChange
from referral_desk.services.errors import NotFoundError, ServiceError, ValidationError

CHUNK = 1024 * 1024
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)
PDF = "application/pdf"


class FileRejectedError(ServiceError):
    """A file that was not stored, and why; nothing was saved."""


@dataclass(frozen=True)
class FileAdded:
    file_id: int | None  # None: it was already attached to this document
    name: str
    kind: str
    size: int
    new_content: bool  # False: the same bytes were already stored and are shared
    change: CaseChange

    @property
    def message(self) -> str:
        if self.file_id is None:
            said = f"'{self.name}' is already attached to this document; it was kept once."
        elif not self.new_content:
            said = f"'{self.name}' was added; the same file was already stored, so it is kept once."
        else:
            said = f"'{self.name}' was added."
        return f"{said} {self.change.message}".strip()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _raw(session: Session) -> sqlite3.Connection:
    connection = session.connection().connection.driver_connection
    assert isinstance(connection, sqlite3.Connection)
    return connection


def _open(path: Path, name: str) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise FileRejectedError(
            f"'{name}' was not found in {path.parent}; it may have been moved, renamed or deleted."
        ) from None
    except IsADirectoryError:
        raise FileRejectedError(f"'{name}' is a folder; choose the files inside it.") from None
    except PermissionError:
        if path.is_dir():  # Windows says "permission denied" when asked to open a folder
            raise FileRejectedError(f"'{name}' is a folder; choose the files inside it.") from None
        raise FileRejectedError(
            f"'{name}' cannot be read: you do not have permission to open it."
        ) from None
    except OSError as exc:
        raise FileRejectedError(f"'{name}' cannot be read ({exc.strerror or exc}).") from None
    except ValueError:  # NUL, or half a UTF-16 pair: no file on this disk can be named so
        raise FileRejectedError(
            f"'{name}' cannot be read: its name has characters no file here can have."
        ) from None


def _hash(stream: BinaryIO, size: int, name: str, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    done = 0
    try:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, size * 2)
    except OSError as exc:
        raise FileRejectedError(
            f"'{name}' could not be read to the end ({exc.strerror or exc}); nothing was stored."
        ) from None
    if done != size:
        raise FileRejectedError(
            f"'{name}' changed while it was being read; nothing was stored. Try again once "
            "it is saved completely."
        )
    return digest.hexdigest()


def _store(
    session: Session,
    stream: BinaryIO,
    *,
    sha256: str,
    size: int,
    kind: FileKind,
    name: str,
    now: datetime,
    progress: Progress | None,
) -> int:
    """Write the bytes into a new blob row, checking they are still the bytes hashed."""
    blob_id = session.execute(
        insert(Blob)
        .values(
            sha256=sha256,
            size=size,
            mime=kind.mime,
            created_at=now,
            text_state="pending" if kind.mime == PDF else "none",
            text_note="",
            content=func.zeroblob(size),
        )
        .returning(Blob.id)
    ).scalar_one()
    digest = hashlib.sha256()
    done = 0
    stream.seek(0)
    with _raw(session).blobopen("blobs", "content", blob_id) as blob:
        try:
            while done < size and (chunk := stream.read(min(CHUNK, size - done))):
                digest.update(chunk)
                blob.write(chunk)
                done += len(chunk)
                if progress:
                    progress(size + done, size * 2)
        except OSError as exc:
            raise FileRejectedError(
                f"'{name}' could not be read to the end ({exc.strerror or exc}); nothing was "
                "stored."
            ) from None
    if done != size or digest.hexdigest() != sha256:
        raise FileRejectedError(
            f"'{name}' changed while it was being added; nothing was stored. Try again once "
            "it is saved completely."
        )
    return blob_id


def add_file(
    db: Database,
    case_id: int,
    document_type: str,
    path: Path,
    *,
    actor: Actor,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> FileAdded:
    """Attach a file to one of the case's documents (added if the case did not have it).

    A requested document becomes received. The same bytes are stored once however many
    times they are added; the same file twice on one document is kept once and said so.
    """
    check(actor, Permission.EDIT_CASES, "add a file to a case")  # before reading it
    now = now or _utcnow()
    try:
        name = clean_file_name(path.name)
    except FileRefusedError as exc:
        raise FileRejectedError(str(exc)) from None
    with db.read() as session:
        limit = settings.max_file_bytes(session)
    with _open(path, name) as stream:
        try:
            size = os.fstat(stream.fileno()).st_size
            head = stream.read(SNIFF_BYTES)
            stream.seek(0)
        except OSError as exc:
            raise FileRejectedError(f"'{name}' cannot be read ({exc.strerror or exc}).") from None
        try:
            kind = classify(head, size=size, name=name, max_bytes=limit)
        except FileRefusedError as exc:
            raise FileRejectedError(str(exc)) from None
        sha256 = _hash(stream, size, name, progress)
        with acting(db, actor, Permission.EDIT_CASES, "add a file to a case") as session:
            record = session.get(Case, case_id)
            if record is None:
                raise NotFoundError(f"There is no case number {case_id}.")
            document_kind = session.get(DocumentType, document_type)
            if document_kind is None:
                raise ValidationError(
                    {"document_type": f"'{document_type}' is not a document type."}
                )
            blob_id = session.scalar(select(Blob.id).where(Blob.sha256 == sha256))
            new_content = blob_id is None
            if blob_id is None:
                blob_id = _store(
                    session,
                    stream,
                    sha256=sha256,
                    size=size,
                    kind=kind,
                    name=name,
                    now=now,
                    progress=progress,
                )
            elif progress:
                progress(size * 2, size * 2)  # already stored: nothing more to copy
            document = _document_for(record, document_type, document_kind, actor.name, now)
            if any(f.blob_id == blob_id and f.removed_at is None for f in document.files):
                return FileAdded(
                    None, name, kind.label, size, False, CaseChange(record.version, None)
                )
            attached = CaseFile(
                blob_id=blob_id,
                file_name=name,
                added_at=now,
                added_by=actor.name,
                removal_reason="",
            )
            document.files.append(attached)
            records.event(document, "file_added", actor=actor.name, now=now, detail=name)
            if document.status in (
                DocumentStatus.REQUESTED.value,
                DocumentStatus.NOT_AVAILABLE.value,
            ):
                document.status = DocumentStatus.RECEIVED.value
                document.received_at = now
                document.status_at = now
                document.status_by = actor.name
                document.status_reason = ""
                records.event(document, "received", actor=actor.name, now=now, detail=name)
            session.flush()
            file_id = attached.id
            search_index.reindex(session, [record.id])
            change = documents.finish(session, record, actor=actor.name, now=now)
    return FileAdded(file_id, name, kind.label, size, new_content, change)


def _document_for(
    record: Case, document_type: str, kind: DocumentType, actor: str, now: datetime
) -> CaseDocument:
    existing = next((d for d in record.documents if d.document_type == document_type), None)
    if existing is not None:
        return existing
    if not kind.active:
        raise ValidationError({"document_type": f"{kind.label} is no longer in use."})
    document = records.new_document(
        document_type, required=False, actor=actor, now=now, status=DocumentStatus.RECEIVED
    )
    record.documents.append(document)
    return document


def remove_file(
    db: Database, file_id: int, *, reason: str = "", actor: Actor, now: datetime | None = None
) -> CaseChange:
    """Take a file off its document. The row and the bytes stay, for the history."""
    now = now or _utcnow()
    with acting(db, actor, Permission.EDIT_CASES, "remove a file from a case") as session:
        attached = session.get(CaseFile, file_id)
        if attached is None:
            raise NotFoundError(f"There is no file number {file_id}.")
        if attached.removed_at is not None:
            raise ValidationError({"file": f"'{attached.file_name}' was already removed."})
        attached.removed_at = now
        attached.removed_by = actor.name
        attached.removal_reason = reason.strip()
        document = session.get(CaseDocument, attached.case_document_id)
        assert document is not None
        records.event(
            document,
            "file_removed",
            actor=actor.name,
            now=now,
            detail=f"{attached.file_name}{': ' + reason.strip() if reason.strip() else ''}",
        )
        session.flush()
        search_index.reindex(session, [document.case_id])
        return documents.finish(session, document.case, actor=actor.name, now=now)


def _stream_out(session: Session, blob_id: int, target: BinaryIO) -> str:
    digest = hashlib.sha256()
    with _raw(session).blobopen("blobs", "content", blob_id, readonly=True) as blob:
        while chunk := blob.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
    return digest.hexdigest()


def _write_copy(db: Database, file_id: int, target: Path) -> Path:
    """Write the file to `target` whole or not at all (temporary file, fsync, rename)."""
    with db.read() as session:
        attached = session.get(CaseFile, file_id)
        if attached is None:
            raise NotFoundError(f"There is no file number {file_id}.")
        expected = attached.blob.sha256
        try:
            handle, temporary = create_beside(target)
        except OSError as exc:
            raise ServiceError(
                f"Cannot write to {target.parent} ({exc.strerror or exc})."
            ) from None
        try:
            with os.fdopen(handle, "wb") as out:
                actual = _stream_out(session, attached.blob_id, out)
                out.flush()
                os.fsync(out.fileno())
            if actual != expected:
                raise ServiceError(
                    f"The stored copy of '{attached.file_name}' is damaged (its fingerprint "
                    "does not match); restore a backup. Nothing was written."
                )
            os.replace(temporary, target)
        except OSError as exc:
            raise ServiceError(
                f"Could not save '{target.name}' ({exc.strerror or exc}); nothing was written."
            ) from None
        finally:
            if temporary.exists():
                temporary.unlink()
    return target


def save_copy(db: Database, file_id: int, target: Path, *, actor: Actor) -> Path:
    """A copy of a case's file saved where the user chose: a patient's record leaving the
    database, so the audit trail says who took which."""
    words = "save a copy of a case's file"
    check(actor, Permission.VIEW_CASES, words)
    _write_copy(db, file_id, target)
    with acting(db, actor, Permission.VIEW_CASES, words) as session:
        attached = session.get(CaseFile, file_id)
        document = session.get(CaseDocument, attached.case_document_id) if attached else None
        if document is not None:
            audit_record(
                session,
                actor,
                AuditAction.EXPORT,
                "file",
                entity_id=file_id,
                case_id=document.case_id,
                patient_id=document.case.patient_id,
                detail=f"saved as {target.name}",
            )
            session.commit()
    return target


# The system viewer picks the program by the name's extension. A copy named "notes.bat" that
# holds text would run as a program on Windows, so the viewer's copy always ends with an
# extension of what the bytes really are: "notes.bat.txt".
VIEWER_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/tiff": (".tif", ".tiff"),
    "application/dicom": (".dcm", ".dicom"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "text/plain": (".txt", ".text"),
}


def viewer_name(name: str, mime: str) -> str:
    extensions = VIEWER_EXTENSIONS.get(mime, (".bin",))
    if Path(name).suffix.lower() in extensions:
        return name
    return f"{name}{extensions[0]}"


def export_for_viewing(db: Database, file_id: int, folder: Path) -> Path:
    """A fresh copy in a new folder inside `folder` (a private temporary folder), for the viewer.

    Named as stored, with the extension of its real type added when the name lacks it. A new
    folder each time: an earlier copy may still be open (and locked, on Windows) or edited.
    """
    with db.read() as session:
        attached = session.get(CaseFile, file_id)
        if attached is None:
            raise NotFoundError(f"There is no file number {file_id}.")
        name = viewer_name(attached.file_name, attached.blob.mime)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(prefix=f"{file_id}-", dir=folder)) / name
    except OSError as exc:
        raise ServiceError(f"Cannot write to {folder} ({exc.strerror or exc}).") from None
    return _write_copy(db, file_id, target)


def file_bytes(db: Database, file_id: int) -> bytes:
    with db.read() as session:
        attached = session.get(CaseFile, file_id)
        if attached is None:
            raise NotFoundError(f"There is no file number {file_id}.")
        return session.scalar(select(Blob.content).where(Blob.id == attached.blob_id)) or b""


@dataclass(frozen=True)
class DamagedFile:
    sha256: str
    names: tuple[str, ...]  # "RD-2026-00012: scan.pdf" for every place it is attached


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    damaged: tuple[DamagedFile, ...]
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.cancelled


def verify_files(
    db: Database,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> VerifyReport:
    """Re-hash every stored file against its SHA-256; name the cases of any that differ."""
    with db.read() as session:
        blobs = session.execute(select(Blob.id, Blob.sha256, Blob.size).order_by(Blob.id)).all()
        bad: list[DamagedFile] = []
        for index, (blob_id, sha256, size) in enumerate(blobs):
            if cancelled and cancelled():
                return VerifyReport(index, tuple(bad), cancelled=True)
            sink = _CountingSink()
            if _stream_out(session, blob_id, sink) != sha256 or sink.size != size:
                places = session.execute(
                    select(Case.reference, CaseFile.file_name)
                    .join(CaseDocument, CaseDocument.id == CaseFile.case_document_id)
                    .join(Case, Case.id == CaseDocument.case_id)
                    .where(CaseFile.blob_id == blob_id)
                    .order_by(Case.reference)
                ).all()
                bad.append(DamagedFile(sha256, tuple(f"{ref}: {name}" for ref, name in places)))
            if progress:
                progress(index + 1, len(blobs))
    return VerifyReport(len(blobs), tuple(bad))


class _CountingSink:
    def __init__(self) -> None:
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        return len(chunk)


def pending_text(db: Database) -> list[int]:
    """Stored PDFs whose text is not read yet."""
    with db.read() as session:
        return list(
            session.scalars(select(Blob.id).where(Blob.text_state == "pending").order_by(Blob.id))
        )


def extract_text(db: Database, blob_id: int) -> pdf_text.PdfText:
    """Read one PDF's text into the search index of every case holding it."""
    with db.read() as session:
        if session.get(Blob, blob_id) is None:
            raise NotFoundError(f"There is no stored file number {blob_id}.")
        # pypdf reads from the stored blob as a file: a 100 MB scan is never loaded whole.
        # A read transaction does not hold up other seats' writes (WAL).
        with _raw(session).blobopen("blobs", "content", blob_id, readonly=True) as stream:
            result = pdf_text.extract(stream)
    with db.write() as session:
        blob = session.get(Blob, blob_id)
        if blob is None or blob.text_state != "pending":
            return result  # another window got there first
        blob.text_state = "done" if result.readable else "skipped"
        blob.text_note = result.note
        if result.readable:
            session.add(BlobText(blob_id=blob_id, text=result.text))
        session.flush()
        case_ids = session.scalars(
            select(CaseDocument.case_id)
            .join(CaseFile, CaseFile.case_document_id == CaseDocument.id)
            .where(CaseFile.blob_id == blob_id)
            .distinct()
        ).all()
        search_index.reindex(session, case_ids)
        session.commit()
    return result


def extract_pending_text(db: Database, *, cancelled: Callable[[], bool] | None = None) -> int:
    """Work through the queue of unread PDFs; returns how many were done."""
    done = 0
    for blob_id in pending_text(db):
        if cancelled and cancelled():
            break
        extract_text(db, blob_id)
        done += 1
    return done
