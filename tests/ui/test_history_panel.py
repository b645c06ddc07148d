from __future__ import annotations

from dataclasses import replace

from pytestqt.qtbot import QtBot

from referral_desk.db.engine import Database
from referral_desk.domain.enums import CaseStatus, Urgency
from referral_desk.services import audit_log, cases
from referral_desk.ui.history_panel import HistoryPanel
from tests.conftest import case, manager, patient, staff


def test_the_history_tab_shows_the_case_trail_with_each_change(qtbot: QtBot, db: Database) -> None:
    mine = cases.create_case(db, case(), patient=patient(), actor=staff("maria"))
    other = cases.create_case(db, case(), patient=patient(family_name="Okafor"), actor=staff("tom"))
    detail = cases.get_case(db, mine.id)
    cases.update_case(
        db,
        mine.id,
        expected_version=detail.version,
        patient=replace(detail.patient, phone="+49 30 1234567"),
        case=replace(detail.case, urgency=Urgency.URGENT),
        actor=staff("maria"),
    )
    audit_log.opened_case(db, mine.id, actor=manager("nadia"))

    panel = HistoryPanel(db, mine.id)
    qtbot.addWidget(panel)
    panel.show()
    texts = panel.entry_texts()
    assert texts[:3] == [
        "opened the case",
        "changed the case: Urgency",
        "changed patient Zoë Müller: Phone",
    ]
    assert texts[-2:] == ["created the case", "created patient Zoë Müller"]
    assert "created document (Referral letter)" in texts
    assert not any(other.reference in t or "Okafor" in t for t in texts)
    assert panel.count_label.text() == f"{len(texts)} entries"

    tree = panel.tree
    who = [tree.topLevelItem(i).text(1) for i in range(3)]
    assert who == ["nadia", "maria", "maria"]
    change = tree.topLevelItem(1)
    assert change.isExpanded() and change.child(0).text(0) == "Urgency: Routine → Urgent"
    assert tree.topLevelItem(2).child(0).text(0) == "Phone: — → +49 30 1234567"
    created = tree.topLevelItem(len(texts) - 2)
    assert not created.isExpanded()
    lines = [created.child(i).text(0) for i in range(created.childCount())]
    assert "Cancer type: Breast" in lines and "Urgency: Routine" in lines

    panel.show_openings.setChecked(False)
    assert panel.entry_texts()[0] == "changed the case: Urgency"
    assert panel.count_label.text() == f"{len(texts)} entries (1 opening hidden)"

    cases.change_status(
        db, mine.id, CaseStatus.CANCELLED, reason="Patient withdrew", actor=staff("tom")
    )
    panel.refresh()
    assert panel.entry_texts()[0] == "changed the case: Status"
    assert panel.tree.topLevelItem(0).child(0).text(0) == "Status: Awaiting records → Cancelled"
