from __future__ import annotations

import io
import zipfile

import pytest

from referral_desk.domain.file_rules import (
    DEFAULT_MAX_FILE_BYTES,
    FileRefusedError,
    classify,
    clean_file_name,
)


def _zip(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


SAMPLES = {
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64),
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    "image/tiff": b"II*\x00\x08\x00\x00\x00" + bytes(64),
    "application/dicom": bytes(128) + b"DICM" + bytes(64),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _zip(
        {"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"}
    ),
    "application/vnd.oasis.opendocument.text": _zip(
        {"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"}
    ),
    "text/plain": b"Bone marrow: 62 % blasts. Flow: CD34+, CD117+.\n",
}


@pytest.mark.parametrize(("mime", "head"), SAMPLES.items())
def test_accepted_types_are_recognised_from_their_bytes(mime: str, head: bytes) -> None:
    assert classify(head, size=len(head), name="scan.bin").mime == mime


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64), "is a program"),  # an .exe renamed .pdf
        (b"\x7fELF\x02\x01\x01" + bytes(64), "is a program"),
        (b"#!/bin/sh\nrm -rf ~\n", "is a script"),
        (_zip({"x.txt": "x"}), "cannot hold"),
        (b"\x00\x01\x02\x03garbage" * 10, "not a recognised document"),
    ],
)
def test_programs_scripts_and_unknown_bytes_are_refused(head: bytes, message: str) -> None:
    with pytest.raises(FileRefusedError, match=message):
        classify(head, size=len(head), name="report.pdf")


def test_empty_and_oversize_files_are_refused_with_the_numbers() -> None:
    with pytest.raises(FileRefusedError, match=r"'x\.pdf' is empty"):
        classify(b"", size=0, name="x.pdf")
    with pytest.raises(FileRefusedError, match=r"100\.0 MB"):
        classify(SAMPLES["application/pdf"], size=DEFAULT_MAX_FILE_BYTES + 1, name="ct.pdf")
    assert classify(SAMPLES["application/pdf"], size=5_000_000, name="ct.pdf", max_bytes=10**7)


def test_text_cut_in_the_middle_of_a_character_is_still_text() -> None:
    head = "Résumé ".encode() * 50 + "é".encode()[:1]  # the sample ends inside 'é'
    assert classify(head, size=10_000, name="notes.txt").mime == "text/plain"


@pytest.mark.parametrize(
    ("given", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\scans\\CT thorax 1.dcm", "CT thorax 1.dcm"),
        ("report\x00\x1b[31m.pdf", "report[31m.pdf"),
        ("Befund Müller.pdf", "Befund Müller.pdf"),
        ("..hidden.pdf.", "hidden.pdf"),
        ("病理报告.pdf", "病理报告.pdf"),
        ("scan\x85\x9b2J.pdf", "scan2J.pdf"),  # C1 controls are control characters too
        ("invoice\u202efdp.txt", "invoicefdp.txt"),  # shown as "invoicetxt.pdf" otherwise
        ("a\u2066b\u2069.pdf", "ab.pdf"),
        ("रिपोर्ट क्\u200dष.pdf", "रिपोर्ट क्\u200dष.pdf"),  # a joiner is part of the spelling
    ],
)
def test_file_names_lose_paths_and_control_characters(given: str, clean: str) -> None:
    assert clean_file_name(given) == clean


def test_a_very_long_name_keeps_its_extension() -> None:
    cleaned = clean_file_name("a" * 500 + ".pdf")
    assert len(cleaned) == 200 and cleaned.endswith(".pdf")


@pytest.mark.parametrize("name", ["", "../", "\x00\x01", "..."])
def test_a_name_with_nothing_left_is_refused(name: str) -> None:
    with pytest.raises(FileRefusedError, match="no usable file name"):
        clean_file_name(name)
