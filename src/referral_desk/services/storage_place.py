"""Where the database file lies: on this computer's own disk, or on a network share.

SQLite relies on file locks that network file systems (NFS, SMB, ...) implement loosely or not
at all: two computers using one database file on a share can damage it (sqlite.org/useovernet).
The app warns; it does not refuse (a share used by one computer at a time can work).

Every check here answers None when unsure: a warning must never stop the app from starting.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# File system types (as /proc/mounts and BSD `mount` name them) that live on another computer,
# with the plain name a user may recognise.
NETWORK_TYPES: dict[str, str] = {
    "nfs": "NFS",
    "nfs4": "NFS",
    "cifs": "SMB/CIFS",
    "smb": "SMB/CIFS",
    "smb2": "SMB/CIFS",
    "smb3": "SMB/CIFS",
    "smbfs": "SMB/CIFS",
    "afpfs": "AFP (Apple File Sharing)",
    "webdav": "WebDAV",
    "davfs": "WebDAV",
    "fuse.davfs2": "WebDAV",
    "9p": "9P",
    "afs": "AFS",
    "openafs": "AFS",
    "coda": "Coda",
    "ncp": "NetWare",
    "ncpfs": "NetWare",
    "ceph": "CephFS",
    "fuse.ceph": "CephFS",
    "fuse.ceph-fuse": "CephFS",
    "glusterfs": "GlusterFS",
    "fuse.glusterfs": "GlusterFS",
    "lustre": "Lustre",
    "gpfs": "IBM Spectrum Scale (GPFS)",
    "beegfs": "BeeGFS",
    "orangefs": "OrangeFS",
    "pvfs2": "OrangeFS",
    "ocfs2": "OCFS2",
    "gfs2": "GFS2",
    "fuse.sshfs": "SSHFS",
    "sshfs": "SSHFS",
    "fuse.s3fs": "S3",
    "fuse.rclone": "rclone",
    "fuse.gcsfuse": "Google Cloud Storage",
    "fuse.juicefs": "JuiceFS",
}

MOUNT_TABLES = ("/proc/self/mounts", "/proc/mounts")  # Linux: this process's view first
WINDOWS_NETWORK = "a Windows network share"
WINDOWS_REMOTE_DRIVE = "a network drive"
_DRIVE_REMOTE = 4  # GetDriveTypeW
_MNT_LOCAL = 0x00001000  # macOS statfs f_flags: "this is a local file system"


@dataclass(frozen=True)
class Mount:
    point: str  # where it is mounted, unescaped
    fs_type: str
    source: str = ""


def parse_proc_mounts(text: str) -> list[Mount]:
    """The lines of /proc/mounts (source, mount point, type, options, 0, 0), in order.

    The kernel writes a space, tab, newline or backslash in a path as an octal escape
    (`\\040`, `\\011`, `\\012`, `\\134`). Malformed lines are skipped.
    """
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        source, point, fs_type = fields[:3]
        mounts.append(Mount(_unescape(point), fs_type.lower(), _unescape(source)))
    return mounts


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda found: chr(int(found.group(1), 8)), field)


_BSD_MOUNT = re.compile(r"^(?P<source>.*) on (?P<point>.*) \((?P<fs_type>[^,()]+)(?:,[^()]*)?\)$")


def parse_bsd_mount(text: str) -> list[Mount]:
    """The lines of macOS / BSD `mount` output: `//ana@nas/office on /Volumes/office (smbfs,
    nodev, nosuid, mounted by ana)`."""
    mounts = []
    for line in text.splitlines():
        found = _BSD_MOUNT.match(line.strip())
        if found:
            mounts.append(
                Mount(found.group("point"), found.group("fs_type").strip().lower(), found["source"])
            )
    return mounts


def _inside(path: str, point: str) -> bool:
    if point == "/":
        return path.startswith("/")
    point = point.rstrip("/")
    return path == point or path.startswith(point + "/")


def mount_of(path: str, mounts: Iterable[Mount]) -> Mount | None:
    """The mount that holds `path` (absolute, symlinks resolved): the longest mount point
    above it; of two mounts on one point, the later (it hides the earlier)."""
    best: Mount | None = None
    for mount in mounts:
        if _inside(path, mount.point) and (
            best is None or len(mount.point.rstrip("/")) >= len(best.point.rstrip("/"))
        ):
            best = mount
    return best


def network_name(fs_type: str) -> str | None:
    """The plain name of a network file system type; None for a local one."""
    fs_type = fs_type.lower()
    if fs_type in NETWORK_TYPES:
        return NETWORK_TYPES[fs_type]
    if fs_type.startswith("nfs"):
        return "NFS"
    return None


def network_file_system_in(path: str, mounts: Iterable[Mount]) -> str | None:
    mount = mount_of(path, mounts)
    return None if mount is None else network_name(mount.fs_type)


def is_unc(path_text: str) -> bool:
    r"""A Windows network path: `\\server\share\...`, `//server/share/...` or
    `\\?\UNC\server\share\...` (but not `\\?\C:\...` or `\\.\...`, which are local)."""
    text = path_text.replace("/", "\\")
    if text.upper().startswith("\\\\?\\UNC\\"):
        return True
    if text.startswith("\\\\?\\") or text.startswith("\\\\.\\"):
        return False
    return text.startswith("\\\\") and len(text) > 2 and text[2] != "\\"


def _existing_folder(path: Path) -> Path:
    """The database's folder, or the nearest folder above it that exists (a new office)."""
    folder = Path(os.path.abspath(path)).parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def network_file_system(path: Path) -> str | None:
    """The plain name of the network file system holding the database at `path` (its folder),
    or None when it is on a local disk or when that cannot be told."""
    try:
        if sys.platform == "win32":
            return _windows(path)
        folder = os.path.realpath(_existing_folder(Path(path)))
        if sys.platform == "darwin":
            return _macos(folder)
        return _linux(folder)
    except Exception:  # never stop the app for a warning
        return None


def network_warning(path: Path) -> str | None:
    """What to tell the user when the database lies on a network share; None otherwise."""
    fs = network_file_system(path)
    if fs is None:
        return None
    kind = fs if fs.startswith("a ") else f"a network share ({fs})"
    return (
        f"The database {path} lies on {kind}. SQLite can damage a database on a network "
        "share when two computers use it. Keep the database on this computer's own disk "
        "(Settings ▸ Backups can put the backups on a share); a later Referral Desk release "
        "brings a PostgreSQL option for offices with several seats."
    )


def _linux(folder: str) -> str | None:
    for table in MOUNT_TABLES:
        try:
            raw = Path(table).read_bytes()
        except OSError:
            continue
        return network_file_system_in(folder, parse_proc_mounts(os.fsdecode(raw)))
    return None


def _macos(folder: str) -> str | None:
    found = _macos_statfs(folder)
    if found is not None:
        fs_type, local = found
        name = network_name(fs_type)
        if name is None and not local:
            return f"a network file system ({fs_type})"
        return name
    try:
        listed = subprocess.run(
            ["/sbin/mount"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return network_file_system_in(folder, parse_bsd_mount(listed))


def _macos_statfs(folder: str) -> tuple[str, bool] | None:
    """(f_fstypename, MNT_LOCAL set) from macOS statfs(2) (64-bit inode layout)."""
    import ctypes
    import platform

    class StatFs(ctypes.Structure):
        _fields_ = [
            ("f_bsize", ctypes.c_uint32),
            ("f_iosize", ctypes.c_int32),
            ("f_blocks", ctypes.c_uint64),
            ("f_bfree", ctypes.c_uint64),
            ("f_bavail", ctypes.c_uint64),
            ("f_files", ctypes.c_uint64),
            ("f_ffree", ctypes.c_uint64),
            ("f_fsid", ctypes.c_int32 * 2),
            ("f_owner", ctypes.c_uint32),
            ("f_type", ctypes.c_uint32),
            ("f_flags", ctypes.c_uint32),
            ("f_fssubtype", ctypes.c_uint32),
            ("f_fstypename", ctypes.c_char * 16),
            ("f_mntonname", ctypes.c_char * 1024),
            ("f_mntfromname", ctypes.c_char * 1024),
            ("f_flags_ext", ctypes.c_uint32),
            ("f_reserved", ctypes.c_uint32 * 7),
        ]

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            statfs = libc["statfs$INODE64"]  # x86_64: the 64-bit-inode struct above
        except AttributeError:
            if platform.machine() != "arm64":
                return None  # only the old layout: let `mount` answer
            statfs = libc.statfs  # arm64 has only the 64-bit layout
        statfs.argtypes = [ctypes.c_char_p, ctypes.POINTER(StatFs)]
        statfs.restype = ctypes.c_int
        result = StatFs()
        if statfs(os.fsencode(folder), ctypes.byref(result)) != 0:
            return None
        fs_type = result.f_fstypename.decode("ascii", "replace").lower()
        return (fs_type, bool(result.f_flags & _MNT_LOCAL)) if fs_type else None
    except (OSError, AttributeError, ValueError):
        return None


def _windows(path: Path) -> str | None:
    text = os.path.abspath(path)
    if is_unc(text):
        return WINDOWS_NETWORK
    drive, _ = os.path.splitdrive(text)
    if len(drive) == 2 and drive[1] == ":":
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
        kernel32.GetDriveTypeW.argtypes = [ctypes.c_wchar_p]
        kernel32.GetDriveTypeW.restype = ctypes.c_uint
        if kernel32.GetDriveTypeW(drive + "\\") == _DRIVE_REMOTE:
            return WINDOWS_REMOTE_DRIVE
    return None
