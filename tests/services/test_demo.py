from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path

from referral_desk.domain.enums import CaseStatus
from referral_desk.services import demo
from referral_desk.services.database import open_database_file
from tests.conftest import NOW


def _dump(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT c.reference, p.given_names, p.family_name, c.status, c.received_at "
            "FROM cases c JOIN patients p ON p.id = c.patient_id ORDER BY c.id"
        ).fetchall()
    conn.close()
    return rows


def test_demo_data_is_the_same_for_the_same_seed(tmp_path: Path) -> None:
    dumps = []
    for name in ("a", "b"):
        db = open_database_file(tmp_path / f"{name}.sqlite")
        demo.generate(db, 200, seed=7, now=NOW)
        db.dispose()
        dumps.append(_dump(tmp_path / f"{name}.sqlite"))
    assert dumps[0] == dumps[1]


def test_demo_office_has_every_status_and_names_in_many_scripts(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 1500, seed=1, now=NOW)
    rows = _dump(db.path)
    assert {CaseStatus(r[3]) for r in rows} == set(CaseStatus)
    scripts = {unicodedata.name(str(r[2])[0]).split()[0] for r in rows}
    assert {"LATIN", "CYRILLIC", "GREEK", "ARABIC", "DEVANAGARI", "CJK", "HANGUL"} <= scripts
    received = sorted(str(r[4]) for r in rows)
    assert received[0] < "2025-07" and received[-1] > "2026-11"  # 18 months up to now
    db.dispose()


def test_demo_continues_the_reference_numbers_of_an_existing_office(tmp_path: Path) -> None:
    db = open_database_file(tmp_path / "demo.sqlite")
    demo.generate(db, 30, seed=1, now=NOW)
    demo.generate(db, 30, seed=2, now=NOW)
    references = [r[0] for r in _dump(db.path)]
    assert len(references) == len(set(references)) == 60
    db.dispose()
