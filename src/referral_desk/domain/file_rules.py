"""Which files a case may hold: the type comes from the bytes, never from the name.

Pure rules on bytes and names; reading files from disk is the services' business.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import filetype

DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024
SNIFF_BYTES = 8192  # enough for every signature we accept (DICOM's sits at byte 128)
MAX_NAME_CHARS = 200

# MIME type -> what staff call it. Anything else is refused.
ACCEPTED_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG image",
    "image/png": "PNG image",
    "image/tiff": "TIFF image",
    "application/dicom": "DICOM image",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "text/plain": "Plain text",
}
_EXECUTABLE_MIMES = {
    "application/x-msdownload",
    "application/x-executable",
    "application/x-mach-binary",
    "application/x-sharedlib",
    "application/x-elf",
}


class FileRefusedError(ValueError):
    """A file the office will not store, with a message that says why."""


@dataclass(frozen=True)
class FileKind:
    mime: str
    label: str


def classify(
    head: bytes, *, size: int, name: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> FileKind:
    """The accepted kind of a file from its first bytes, or FileRefusedError naming the problem."""
    if size == 0:
        raise FileRefusedError(f"'{name}' is empty.")
    if size > max_bytes:
        raise FileRefusedError(
            f"'{name}' is {_megabytes(size)}; the limit is {_megabytes(max_bytes)}."
        )
    if head.startswith(b"#!"):
        raise FileRefusedError(f"'{name}' is a script; scripts and programs are never stored.")
    guess = filetype.guess(head[:SNIFF_BYTES])
    if guess is not None:
        if guess.mime in _EXECUTABLE_MIMES:
            raise FileRefusedError(f"'{name}' is a program; scripts and programs are never stored.")
        if guess.mime in ACCEPTED_TYPES:
            return FileKind(guess.mime, ACCEPTED_TYPES[guess.mime])
        raise FileRefusedError(
            f"'{name}' is a {guess.extension.upper()} file ({guess.mime}), which a case cannot "
            f"hold. Accepted: {', '.join(sorted(set(ACCEPTED_TYPES.values())))}."
        )
    if _looks_like_text(head):
        return FileKind("text/plain", ACCEPTED_TYPES["text/plain"])
    raise FileRefusedError(
        f"'{name}' is not a recognised document or image, whatever its name says. "
        f"Accepted: {', '.join(sorted(set(ACCEPTED_TYPES.values())))}."
    )


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end in the middle of a character; anything earlier is not text.
        return exc.start >= len(head) - 3
    return True


# C0 and C1 controls, characters Windows reserves, and the bidi embeddings, overrides and
# isolates that make "invoice\u202efdp.txt" show as "invoicetxt.pdf".
_CONTROL_OR_RESERVED = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"|?*\u202a-\u202e\u2066-\u2069]')
# Half of a UTF-16 pair: how Python reads a Linux file name that is not UTF-8 (an old
# Latin-1 "M\xfcller.pdf"). No database or disk can hold it as text.
_BROKEN_CHARACTER = re.compile("[\ud800-\udfff]")
# Windows drops dots and spaces at either end, so "report. " would not be the name saved.
_DOTS_AND_SPACES = re.compile(r"^[\s.]+|[\s.]+$")
# Devices on Windows, whatever the extension: a copy saved as "con.txt" goes to the console.
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789\u00b9\u00b2\u00b3"}
)
# Disks allow 255 bytes of UTF-8 (Linux, macOS); the viewer's copy may add ".jpeg".
MAX_NAME_BYTES = 240


def _shorten(text: str, chars: int, size: int) -> str:
    """The start of `text`: at most `chars` characters and `size` bytes, no half character."""
    return text[:chars].encode()[:size].decode(errors="ignore")


def clean_file_name(name: str) -> str:
    """Only the last path part, no control or reserved characters, a sane length, and never a
    name Windows keeps for a device.

    '../../etc/passwd' becomes 'passwd'; 'C:\\scans\\CT 1.dcm' becomes 'CT 1.dcm'; 'con.txt'
    becomes '_con.txt'.
    """
    readable = _BROKEN_CHARACTER.sub("\ufffd", name)
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", readable))[-1]
    base = _DOTS_AND_SPACES.sub("", _CONTROL_OR_RESERVED.sub("", base))
    if not base:
        raise FileRefusedError(f"'{readable}' has no usable file name.")
    if base.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        base = f"_{base}"
    if len(base) > MAX_NAME_CHARS or len(base.encode()) > MAX_NAME_BYTES:
        # Keep the extension: it tells people what they hold.
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            room = len(ext) + 1, len(ext.encode()) + 1
            base = f"{_shorten(stem, MAX_NAME_CHARS - room[0], MAX_NAME_BYTES - room[1])}.{ext}"
        else:
            base = _DOTS_AND_SPACES.sub("", _shorten(base, MAX_NAME_CHARS, MAX_NAME_BYTES))
    return base


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
