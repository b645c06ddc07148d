"""Two Referral Desk processes on one file: no "database is locked" reaches anyone, no saved
change is lost, and the second of two editors of one case is refused, not silently obeyed."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from referral_desk.db import audit_trail
from referral_desk.db.engine import Database
from referral_desk.db.integrity import inspect_file
from referral_desk.domain.access import Actor, UserRole
from referral_desk.services import audit_log, case_list, cases
from referral_desk.services.case_list import CaseQuery
from referral_desk.services.database import open_database_file
from referral_desk.services.errors import ConflictError
from tests.reliability import (
    ADMIN,
    CAN_FORK,
    NO_FORK,
    NOW,
    Channel,
    case_draft,
    fork,
    gather,
    patient_draft,
)

pytestmark = pytest.mark.skipif(not CAN_FORK, reason=NO_FORK)

SHARED_CASES = 4  # few cases, so the two offices keep editing the same ones
SECONDS = 3.0


def _office(tmp_path: Path) -> tuple[Path, list[int]]:
    path = tmp_path / "office.sqlite"
    db = open_database_file(path)
    try:
        ids = [
            cases.create_case(db, case_draft(n), patient=patient_draft(n), actor=ADMIN, now=NOW).id
            for n in range(SHARED_CASES)
        ]
    finally:
        db.dispose()
    return path, ids


def _edit(db: Database, case_id: int, marker: str, actor: Actor, channel: Channel) -> None:
    """Save a new diagnosis as a user would: open the case, save; refused, reopen and redo."""
    for _attempt in range(100):
        detail = cases.get_case(db, case_id, now=NOW)
        try:
            version = cases.update_case(
                db,
                case_id,
                expected_version=detail.version,
                patient=None,
                case=replace(detail.case, diagnosis=marker),
                actor=actor,
                now=NOW,
            )
        except ConflictError:
            channel.say("conflict", case_id)
            continue
        channel.say("edited", case_id, version, marker)
        return
    raise AssertionError(f"case {case_id}: refused 100 times in a row")


def _office_worker(path: Path, name: str, ids: list[int], seed: int, channel: Channel) -> None:
    db = open_database_file(path)
    actor = Actor(name, UserRole.ADMINISTRATOR)
    rng = random.Random(seed)
    channel.say("ready")
    deadline = time.monotonic() + float(channel.hear())
    n = seed * 10_000
    while time.monotonic() < deadline:
        n += 1
        roll = rng.random()
        try:
            if roll < 0.3:
                created = cases.create_case(
                    db, case_draft(n), patient=patient_draft(n), actor=actor, now=NOW
                )
                channel.say("created", created.reference)
            elif roll < 0.75:
                _edit(db, rng.choice(ids), f"{name}-{n}", actor, channel)
            else:
                page = case_list.fetch_page(db, CaseQuery(), now=NOW)
                cases.get_case(db, rng.choice(page.rows).id, now=NOW)
                channel.say("read", len(page.rows))
        except Exception as exc:  # every error is counted, the locking ones apart
            channel.say("failed", f"{type(exc).__name__}: {exc}")
    db.dispose()
    channel.say("done")


def test_two_processes_writing_at_once_lose_nothing_and_see_no_lock_error(
    tmp_path: Path,
) -> None:
    path, ids = _office(tmp_path)
    children = [
        fork(lambda channel, name=name, seed=seed: _office_worker(path, name, ids, seed, channel))
        for seed, name in enumerate(("ines", "maria"), start=1)
    ]
    try:
        for child in children:
            child.expect("ready")
        for child in children:
            child.tell(str(SECONDS))
        said = gather(children)
        statuses = [child.wait() for child in children]
    finally:
        for child in children:
            child.close()
    assert statuses == [0, 0], said

    created: list[str] = []
    edits: dict[int, list[tuple[int, str]]] = defaultdict(list)  # case -> (version, marker)
    failures: list[str] = []
    counts: dict[str, int] = defaultdict(int)
    for lines in said:
        assert lines[-1] == "done", lines[-3:]
        for line in lines:
            word, _, rest = line.partition(" ")
            counts[word] += 1
            if word == "created":
                created.append(rest)
            elif word == "edited":
                case_id, version, marker = rest.split(" ")
                edits[int(case_id)].append((int(version), marker))
            elif word in ("failed", "error"):
                failures.append(rest)
    lock_errors = [f for f in failures if "locked" in f.lower() or "busy" in f.lower()]
    print(f"\ntwo processes, {SECONDS:.0f} s: {dict(counts)}; lock errors {len(lock_errors)}")
    assert lock_errors == []
    assert failures == []
    assert counts["created"] and counts["edited"] and counts["read"]  # both really worked

    db = open_database_file(path)
    try:
        with db.read() as session:
            stored = set(session.execute(text("SELECT reference FROM cases")).scalars())
            final = {
                row[0]: (row[1], row[2])
                for row in session.execute(text("SELECT id, version, diagnosis FROM cases"))
            }
            trail = [
                (row[0], audit_trail.changes_from_json(row[1]))
                for row in session.execute(
                    text("SELECT case_id, changes FROM audit_entries WHERE case_id IS NOT NULL")
                )
            ]
        chain = audit_log.verify_chain(db)
    finally:
        db.dispose()
    assert set(created) <= stored, "an acknowledged new case is missing"
    assert len(stored) == SHARED_CASES + len(created)
    for case_id, saved in edits.items():
        versions = [version for version, _marker in saved]
        # Two saves acknowledged as the same version: one overwrote the other unseen.
        assert len(versions) == len(set(versions)), f"case {case_id}: {sorted(versions)}"
        newest_version, newest_marker = max(saved)
        assert final[case_id] == (newest_version, newest_marker), f"case {case_id}"
        diagnoses = {
            changes["diagnosis"][1]
            for cid, changes in trail
            if cid == case_id and changes
            if "diagnosis" in changes
        }
        assert {marker for _version, marker in saved} <= diagnoses  # each edit in the trail
    assert chain.ok, chain.problem
    assert inspect_file(path).ok


def _editor(path: Path, case_id: int, name: str, channel: Channel) -> None:
    db = open_database_file(path)
    detail = cases.get_case(db, case_id, now=NOW)
    channel.say("opened", detail.version)
    channel.hear()
    try:
        version = cases.update_case(
            db,
            case_id,
            expected_version=detail.version,
            patient=None,
            case=replace(detail.case, diagnosis=f"Diagnosis as {name} typed it"),
            actor=Actor(name, UserRole.STAFF),
            now=NOW,
        )
    except ConflictError as exc:
        channel.say("refused", exc)
    else:
        channel.say("saved", version)
    db.dispose()


def test_the_second_process_to_save_the_same_case_is_refused(tmp_path: Path) -> None:
    path, ids = _office(tmp_path)
    first, second = (
        fork(lambda channel, name=name: _editor(path, ids[0], name, channel))
        for name in ("ines", "maria")
    )
    try:
        opened = [first.expect("opened"), second.expect("opened")]
        assert opened[0] == opened[1]  # both screens show the same version
        first.tell("save")
        [saved] = first.expect("saved")
        second.tell("save")
        refusal = " ".join(second.expect("refused"))
        assert first.wait() == 0 and second.wait() == 0
    finally:
        first.close()
        second.close()

    assert "RD-2026-00001 was changed by someone else" in refusal
    assert "ines" in refusal and "your edits were not saved" in refusal
    db = open_database_file(path)
    try:
        detail = cases.get_case(db, ids[0], now=NOW)
        history = audit_log.case_history(db, ids[0])
    finally:
        db.dispose()
    assert detail.case.diagnosis == "Diagnosis as ines typed it"
    assert detail.version == int(saved) > int(opened[0][0])
    assert "maria" not in {row.actor for row in history}  # nothing of hers was written


def _lock_holder(path: Path, channel: Channel) -> None:
    db = Database(path)
    with db.writer_lock.held():
        channel.say("holding")
        channel.hear()
        with db.read() as session:  # reading needs no writer lock
            count = session.execute(text("SELECT count(*) FROM cases")).scalar_one()
        channel.say("cases", count)
    channel.say("released")
    db.dispose()


def _saver(path: Path, channel: Channel) -> None:
    db = open_database_file(path)
    channel.say("ready")
    channel.hear()
    channel.say("saving")
    created = cases.create_case(db, case_draft(99), patient=patient_draft(99), actor=ADMIN)
    channel.say("saved", created.reference)
    db.dispose()


def test_a_save_waits_for_another_process_saving_instead_of_failing(tmp_path: Path) -> None:
    path, _ids = _office(tmp_path)
    saver = fork(lambda channel: _saver(path, channel))
    started = [saver]
    try:
        saver.expect("ready")  # open before the other process saves (opening waits as well)
        holder = fork(lambda channel: _lock_holder(path, channel))
        started.append(holder)
        holder.expect("holding")
        saver.tell("save")
        saver.expect("saving")
        # While the other process holds the writer lock (for ~1 s here) the save waits.
        assert saver.read_line(timeout=1.0) is None and not saver.finished
        holder.tell("release")
        assert holder.expect("cases") == [str(SHARED_CASES)]  # not saved while held
        holder.expect("released")
        [reference] = saver.expect("saved")
        assert holder.wait() == 0 and saver.wait() == 0
    finally:
        for child in started:
            child.close()
    db = open_database_file(path)
    try:
        page = case_list.fetch_page(db, CaseQuery(text=reference), now=NOW)
    finally:
        db.dispose()
    assert [row.reference for row in page.rows] == [reference]
