"""A writer killed with SIGKILL at random moments loses no acknowledged case.

One database is reused across the kills: it grows, and each new writer starts on the WAL
the killed one left behind (checks run on a copy), so later kills land on a large WAL, in
WAL recovery's aftermath and around the writer's own checkpoints.
"""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest

from referral_desk.services import audit_log
from referral_desk.services.database import open_database_file
from tests.reliability import (
    CAN_FORK,
    NO_FORK,
    Acknowledged,
    KillOutcome,
    kill_once,
    prepare_crash_database,
)

pytestmark = pytest.mark.skipif(not CAN_FORK, reason=NO_FORK)

KILLS = 30
SEED = 20261123


def test_no_acknowledged_case_is_lost_when_the_writer_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "office.sqlite"
    prepare_crash_database(path)
    acknowledged = Acknowledged()
    rng = random.Random(SEED)
    outcomes: list[KillOutcome] = []
    for kill in range(KILLS):
        outcome = kill_once(
            path, tmp_path / "after-crash", acknowledged, rng, max_delay_s=0.25, seed=kill + 1
        )
        outcomes.append(outcome)
        assert outcome.problems == (), f"kill {kill + 1}: {outcome.problems}"
        assert outcome.lost == (), f"kill {kill + 1} lost acknowledged work: {outcome.lost}"

    print(
        f"\n{KILLS} kills, {len(acknowledged.references)} acknowledged cases, "
        f"{acknowledged.edits} edits, 0 lost, 0 corrupt; median reopen+check "
        f"{statistics.median(o.reopen_s for o in outcomes) * 1000:.0f} ms"
    )
    assert len(acknowledged.references) >= KILLS  # the writers really wrote between kills

    # The office carries on with the very file that was killed thirty times.
    db = open_database_file(path)
    try:
        trail = audit_log.verify_chain(db)
        assert trail.ok, trail.problem
    finally:
        db.dispose()
