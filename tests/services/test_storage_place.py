"""The app warns when its database lies on a network share, and never fails to start over it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from referral_desk.services import storage_place
from referral_desk.services.storage_place import (
    Mount,
    is_unc,
    mount_of,
    network_file_system,
    network_file_system_in,
    network_warning,
    parse_bsd_mount,
    parse_proc_mounts,
)

PROC_MOUNTS = r"""proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/nvme0n1p2 / ext4 rw,relatime,errors=remount-ro 0 0
tmpfs /run tmpfs rw,nosuid,nodev,size=1623400k,mode=755 0 0
nas:/export/office /mnt/office nfs4 rw,relatime,vers=4.2,rsize=1048576,addr=10.0.0.5 0 0
/dev/sdb1 /mnt/office/local\040disk ext4 rw,relatime 0 0
//nas/Praxis\040Daten /media/ana/Praxis\040Daten cifs rw,relatime,vers=3.1.1,uid=1000 0 0
//nas/share /mnt/share smb3 rw,relatime 0 0
ana@host:/srv /home/ana/remote fuse.sshfs rw,nosuid,nodev,relatime,user_id=1000 0 0
C:\134 /mnt/c 9p rw,noatime,aname=drvfs;path=C:\;uid=1000 0 0
/dev/sdc1 /mnt/usb vfat rw,relatime 0 0
//old/share /mnt/reused cifs rw,relatime 0 0
/dev/sdd1 /mnt/reused ext4 rw,relatime 0 0
garbage
"""


def _fs(path: str) -> str | None:
    return network_file_system_in(path, parse_proc_mounts(PROC_MOUNTS))


def test_the_mounts_table_is_read_with_its_octal_escapes() -> None:
    mounts = parse_proc_mounts(PROC_MOUNTS)
    assert Mount("/media/ana/Praxis Daten", "cifs", "//nas/Praxis Daten") in mounts
    assert Mount("/mnt/office/local disk", "ext4", "/dev/sdb1") in mounts
    assert Mount("/mnt/c", "9p", "C:\\") in mounts
    assert all(mount.point.startswith("/") for mount in mounts)  # the malformed line skipped


def test_a_database_on_a_network_share_is_named_by_its_file_system() -> None:
    assert _fs("/mnt/office/referral-desk") == "NFS"
    assert _fs("/mnt/office") == "NFS"
    assert _fs("/media/ana/Praxis Daten/Referral Desk") == "SMB/CIFS"
    assert _fs("/mnt/share/db") == "SMB/CIFS"
    assert _fs("/home/ana/remote/office") == "SSHFS"
    assert _fs("/mnt/c/Users/ana") == "9P"


def test_a_database_on_a_local_disk_is_not_warned_about() -> None:
    assert _fs("/home/ana/.local/share/ReferralDesk") is None
    assert _fs("/mnt/usb/ReferralDesk") is None
    assert _fs("/run/user/1000") is None


def test_the_longest_mount_point_above_the_folder_decides() -> None:
    # A local disk mounted inside the NFS share is local; a folder merely named like a share
    # ("/mnt/shared" beside "/mnt/share") is not inside it.
    assert _fs("/mnt/office/local disk/ReferralDesk") is None
    assert _fs("/mnt/office/local diskette") == "NFS"
    assert _fs("/mnt/shared/db") is None
    assert _fs("/media/ana/Praxis") is None


def test_a_later_mount_on_the_same_point_hides_the_earlier_one() -> None:
    mount = mount_of("/mnt/reused/office", parse_proc_mounts(PROC_MOUNTS))
    assert mount is not None and mount.fs_type == "ext4"
    assert _fs("/mnt/reused/office") is None


def test_macos_mount_output_is_read_too() -> None:
    listed = (
        "/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)\n"
        "/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse)\n"
        "//ana@nas._smb._tcp.local/Office on /Volumes/Office (smbfs, nodev, nosuid, "
        "mounted by ana)\n"
        "nas:/export on /Volumes/export (nfs, asynchronous)\n"
        "afp_0TQd2P4P1ifg0000000-1.2c000005 on /Volumes/Old Share (afpfs, nodev, nosuid)\n"
        "https://dav.example.org/ on /Volumes/dav (webdav, nodev, noexec, nosuid)\n"
    )
    mounts = parse_bsd_mount(listed)
    assert network_file_system_in("/Volumes/Office/Referral Desk", mounts) == "SMB/CIFS"
    assert network_file_system_in("/Volumes/export/db", mounts) == "NFS"
    assert network_file_system_in("/Volumes/Old Share/db", mounts) == "AFP (Apple File Sharing)"
    assert network_file_system_in("/Volumes/dav/x", mounts) == "WebDAV"
    assert network_file_system_in("/Users/ana/Library/Application Support", mounts) is None


def test_windows_network_paths_are_recognised() -> None:
    assert is_unc(r"\\nas\Office\referral-desk.sqlite")
    assert is_unc("//nas/Office/referral-desk.sqlite")
    assert is_unc(r"\\?\UNC\nas\Office\referral-desk.sqlite")
    assert not is_unc(r"\\?\C:\Users\ana\referral-desk.sqlite")
    assert not is_unc(r"\\.\C:\referral-desk.sqlite")
    assert not is_unc(r"C:\Users\ana\AppData\Local\ReferralDesk\referral-desk.sqlite")
    assert not is_unc("/home/ana/referral-desk.sqlite")


def test_a_folder_on_this_computers_disk_gets_no_warning(tmp_path: Path) -> None:
    database = tmp_path / "data" / "referral-desk.sqlite"
    assert network_file_system(database) is None  # the folder does not even exist yet
    assert network_warning(database) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's mounts table")
def test_the_warning_names_the_share_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = tmp_path / "Praxis Daten"
    share.mkdir()
    table = tmp_path / "mounts"
    escaped = str(share).replace(" ", "\\040")
    table.write_text(
        f"/dev/vda / ext4 rw 0 0\n//nas/Praxis\\040Daten {escaped} cifs rw,vers=3.0 0 0\n"
    )
    monkeypatch.setattr(storage_place, "MOUNT_TABLES", (str(tmp_path / "missing"), str(table)))
    # A new office: the database and its folder do not exist yet, the share does.
    database = share / "ReferralDesk" / "referral-desk.sqlite"
    assert network_file_system(database) == "SMB/CIFS"
    warning = network_warning(database)
    assert warning is not None
    for words in ("SMB/CIFS", "two computers", "own disk", "Settings ▸ Backups", "PostgreSQL"):
        assert words in warning
    assert network_warning(tmp_path / "elsewhere" / "referral-desk.sqlite") is None


def test_an_unreadable_or_garbled_mounts_table_gives_no_warning_and_no_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_place, "MOUNT_TABLES", (str(tmp_path / "missing"),))
    assert network_file_system(tmp_path / "db.sqlite") is None
    garbled = tmp_path / "garbled"
    garbled.write_bytes(b"\xff\xfe\x00 nonsense\n\\999 / \n")
    monkeypatch.setattr(storage_place, "MOUNT_TABLES", (str(garbled),))
    assert network_file_system(tmp_path / "db.sqlite") is None

    def broken(_folder: str) -> str | None:
        raise RuntimeError("the platform answered something unexpected")

    monkeypatch.setattr(storage_place, "_linux", broken)
    monkeypatch.setattr(storage_place, "_macos", broken)
    assert network_file_system(tmp_path / "db.sqlite") is None
    assert network_warning(tmp_path / "db.sqlite") is None
