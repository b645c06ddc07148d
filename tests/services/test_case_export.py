from __future__ import annotations

from datetime import timedelta

import pytest

from referral_desk.db.engine import Database
from referral_desk.domain.costs import LineKind, PaymentMethod
from referral_desk.services import cases, costs
from referral_desk.services import office as office_service
from referral_desk.services.case_export import (
    COLUMNS,
    amount_text,
    iter_json_records,
    iter_records,
    neutralise,
)
from referral_desk.services.case_list import CaseQuery
from tests.conftest import NOW, admin, case, patient


def test_exported_cases_carry_total_balance_and_currency_as_exact_text(db: Database) -> None:
    office_service.set_currency(db, "EUR", actor=admin())
    quoted = cases.create_case(
        db, case(), patient=patient(family_name="Quote"), actor=admin("t"), now=NOW
    )
    costs.add_line(
        db,
        quoted.id,
        costs.LineDraft("PET-CT scan", 1, 110000, needs_approval=True),
        actor=admin("t"),
    )
    owing = cases.create_case(
        db, case(), patient=patient(family_name="Owing"), actor=admin("t"), now=NOW
    )
    costs.add_line(
        db, owing.id, costs.LineDraft("Consultation", 2, 61725, LineKind.FINAL), actor=admin("t")
    )
    costs.add_payment(
        db,
        owing.id,
        costs.PaymentDraft(100001, NOW.date() - timedelta(days=1), PaymentMethod.INSURANCE),
        actor=admin("t"),
    )
    over = cases.create_case(
        db, case(), patient=patient(family_name="Over"), actor=admin("t"), now=NOW
    )
    costs.add_line(
        db, over.id, costs.LineDraft("Courier", 1, 6000, LineKind.FINAL), actor=admin("t")
    )
    costs.add_payment(
        db, over.id, costs.PaymentDraft(10000, NOW.date(), PaymentMethod.CASH), actor=admin("t")
    )
    cases.create_case(db, case(), patient=patient(family_name="Free"), actor=admin("t"), now=NOW)

    records = list(iter_records(db, CaseQuery(), now=NOW, actor=admin()))
    assert all(list(r) == list(COLUMNS) for r in records)
    rows = {r["patient"].split()[-1]: r for r in records}
    money = ("total", "total_is_estimate", "balance", "payment_status", "awaiting_approval")
    assert {k: rows["Quote"][k] for k in money} == {
        "total": "1100.00",
        "total_is_estimate": "yes",
        "balance": "0.00",
        "payment_status": "Nothing due",
        "awaiting_approval": "1",
    }
    assert {k: rows["Owing"][k] for k in money} == {
        "total": "1234.50",  # 2 × 617.25
        "total_is_estimate": "no",
        "balance": "234.49",
        "payment_status": "Partly paid",
        "awaiting_approval": "0",
    }
    assert (rows["Over"]["balance"], rows["Over"]["payment_status"]) == ("-40.00", "Overpaid")
    assert (rows["Free"]["total"], rows["Free"]["balance"]) == ("0.00", "0.00")
    assert {r["currency"] for r in records} == {"EUR"}

    typed = {
        r["patient"].split()[-1]: r
        for r in iter_json_records(db, CaseQuery(), now=NOW, actor=admin())
    }
    assert typed["Owing"]["total_minor"] == 123450 and typed["Owing"]["balance_minor"] == 23449
    assert typed["Quote"]["total_is_estimate"] is True and typed["Quote"]["awaiting_approval"] == 1
    assert "total" not in typed["Owing"] and "balance" not in typed["Owing"]
    assert typed["Over"]["balance_minor"] == -4000 and typed["Over"]["currency"] == "EUR"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123450, "EUR", "1234.50"),
        (-5, "EUR", "-0.05"),
        (0, "EUR", "0.00"),
        (123450, "JPY", "123450"),
        (1234567, "KWD", "1234.567"),
        (10**9 + 1, "EUR", "10000000.01"),
    ],
)
def test_amounts_are_exact_in_the_currency_places(minor: int, currency: str, text: str) -> None:
    assert amount_text(minor, currency) == text


def test_a_credit_balance_stays_a_number_and_formulas_are_still_neutralised() -> None:
    assert neutralise("-40.00") == "-40.00"
    assert neutralise("-40") == "-40"
    assert neutralise("-2+3") == "'-2+3"
    assert neutralise("=SUM(A1)") == "'=SUM(A1)"
    assert neutralise("-40.00e3") == "'-40.00e3"
    assert neutralise("+44 20 7946 0000") == "'+44 20 7946 0000"
