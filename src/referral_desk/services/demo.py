"""Realistic, invented demo cases: every status, many scripts, deterministic for a seed.

Written with bulk inserts so that 100,000 cases take seconds, not minutes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from referral_desk.db.engine import Database
from referral_desk.db.models import (
    Case,
    CaseReason,
    Patient,
    ReferenceCounter,
    Referrer,
    StatusChange,
)
from referral_desk.domain import clock
from referral_desk.domain.clock import ClockFacts
from referral_desk.domain.enums import CaseStatus, Reason, Sex, Urgency
from referral_desk.domain.text import fold, full_name
from referral_desk.resource_files import resource_path
from referral_desk.services import search_index
from referral_desk.services.references import format_reference

S = CaseStatus
DEMO_ACTORS = ("maria.intake", "tom.office", "lena.coord")
CHUNK = 5_000

_DIAGNOSES: dict[str, list[tuple[str, str, str]]] = {
    # cancer type -> (diagnosis, stage, proposed treatment)
    "breast": [
        (
            "Invasive ductal carcinoma, ER+/PR+/HER2-",
            "IIA",
            "Lumpectomy, then adjuvant chemotherapy (AC-T)",
        ),
        ("Triple-negative breast cancer", "IIB", "Neoadjuvant chemotherapy with pembrolizumab"),
        ("Ductal carcinoma in situ", "0", "Mastectomy"),
    ],
    "lung": [
        (
            "Non-small cell lung cancer, adenocarcinoma, EGFR exon 19 deletion",
            "IIIA",
            "Chemoradiotherapy",
        ),
        (
            "Small cell lung cancer, limited stage",
            "Limited",
            "Cisplatin-etoposide with radiotherapy",
        ),
    ],
    "colorectal": [
        ("Adenocarcinoma of the sigmoid colon", "III", "Surgery, then FOLFOX for six months"),
        ("Rectal adenocarcinoma", "II", "Short-course radiotherapy, then surgery"),
    ],
    "prostate": [
        ("Prostate adenocarcinoma, Gleason 3+4", "T2a", "Radical prostatectomy"),
        (
            "Prostate adenocarcinoma, Gleason 4+4",
            "T3",
            "Radiotherapy with two years of hormone therapy",
        ),
    ],
    "acute_leukaemia": [
        (
            "Acute myeloid leukaemia, FLT3-ITD positive",
            "",
            "Induction chemotherapy (7+3) with midostaurin",
        ),
        ("Acute lymphoblastic leukaemia, B-cell", "", "Paediatric-inspired induction protocol"),
    ],
    "chronic_leukaemia": [
        ("Chronic lymphocytic leukaemia", "Binet A", "Watch and wait"),
        ("Chronic myeloid leukaemia, chronic phase", "", "Imatinib"),
    ],
    "lymphoma": [
        ("Diffuse large B-cell lymphoma", "IIIB", "R-CHOP, six cycles"),
        ("Hodgkin lymphoma, nodular sclerosis", "IIA", "ABVD, then radiotherapy"),
    ],
    "melanoma": [("Cutaneous melanoma, BRAF V600E", "IIIC", "Adjuvant nivolumab for one year")],
    "pancreatic": [
        (
            "Pancreatic ductal adenocarcinoma",
            "Borderline resectable",
            "FOLFIRINOX, then surgery if it responds",
        )
    ],
    "ovarian": [
        (
            "High-grade serous ovarian carcinoma",
            "IIIC",
            "Debulking surgery and carboplatin-paclitaxel",
        )
    ],
    "myeloma": [("Multiple myeloma", "ISS II", "VRd induction, then stem-cell transplant")],
    "sarcoma": [("Leiomyosarcoma of the thigh", "II", "Wide excision and radiotherapy")],
    "brain": [("Glioblastoma, IDH wild-type", "Grade 4", "Radiotherapy with temozolomide")],
    "head_neck": [("Oropharyngeal squamous cell carcinoma, HPV+", "II", "Chemoradiotherapy")],
}
_QUESTIONS = [
    "Is the diagnosis certain? Should the biopsy be looked at again?",
    "Is chemotherapy really necessary at my age?",
    "Are there clinical trials I could join?",
    "Can surgery wait until after my daughter's wedding next month?",
    "Is there a treatment with fewer side effects?",
    "What does the stage mean for my chances?",
    "Would a targeted therapy work for me?",
]
_HOLD_REASONS = [
    "Patient travelling, asked to wait",
    "Waiting for the patient's consent form",
    "Patient in hospital, will call back",
]
_CANCEL_REASONS = [
    "Patient decided to go ahead with the first plan",
    "Patient died before the review",
    "Duplicate request from another clinic",
    "Patient could not afford the review",
]


@dataclass(frozen=True)
class DemoResult:
    cases: int
    patients: int


def _load_names() -> dict[str, Any]:
    return json.loads(resource_path("demo_names.json").read_text(encoding="utf-8"))


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        names = _load_names()
        self.groups = names["patients"]
        self.weights = [g["weight"] for g in self.groups]
        self.referrers = names["referrers"]

    def patient(self) -> dict[str, Any]:
        rng = self.rng
        group = rng.choices(self.groups, self.weights)[0]
        sex = rng.choice([Sex.FEMALE, Sex.MALE])
        pool = group["given_female"] if sex is Sex.FEMALE else group["given_male"]
        families = (
            group.get("family_female", group["family"]) if sex is Sex.FEMALE else (group["family"])
        )
        given, family = rng.choice(pool), rng.choice(families)
        birth = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 72))
        return {
            "given_names": given,
            "family_name": family,
            "name_folded": fold(full_name(given, family)),
            "birth_date": birth,
            "sex": sex.value,
            "phone": f"+44 20 7946 {rng.randrange(0, 10_000):04d}",
            "email": "",
            "address": "",
            "preferred_language": group["language"],
            "consent_share_with_referrer": rng.random() < 0.8,
            "created_at": self.now,
            "updated_at": self.now,
            "version": 1,
        }

    def status_for_age(self, age: timedelta) -> CaseStatus:
        """Old cases have mostly finished; this week's are still moving."""
        rng = self.rng
        days = age.total_seconds() / 86400
        if days < 1:
            return rng.choice([S.NEW, S.AWAITING_RECORDS, S.AWAITING_RECORDS, S.READY_FOR_REVIEW])
        if days < 6:
            return rng.choices(
                [
                    S.AWAITING_RECORDS,
                    S.READY_FOR_REVIEW,
                    S.UNDER_REVIEW,
                    S.OPINION_RECEIVED,
                    S.ON_HOLD,
                    S.CANCELLED,
                ],
                [3, 2, 4, 2, 1, 0.3],
            )[0]
        if days < 20:
            return rng.choices(
                [
                    S.OPINION_RECEIVED,
                    S.LETTER_SENT,
                    S.CLOSED,
                    S.ON_HOLD,
                    S.CANCELLED,
                    S.UNDER_REVIEW,
                ],
                [1, 3, 4, 0.5, 0.5, 0.3],
            )[0]
        return rng.choices([S.CLOSED, S.LETTER_SENT, S.CANCELLED], [92, 0.5, 7])[0]


def _path_to(target: CaseStatus, rng: random.Random) -> list[CaseStatus]:
    main = [
        S.NEW,
        S.AWAITING_RECORDS,
        S.READY_FOR_REVIEW,
        S.UNDER_REVIEW,
        S.OPINION_RECEIVED,
        S.LETTER_SENT,
        S.CLOSED,
    ]
    if target in main:
        return main[: main.index(target) + 1]
    # On hold or cancelled from somewhere early in the workflow.
    stop = rng.choice([1, 1, 2, 3])
    return [*main[: stop + 1], target]


def generate(
    db: Database,
    count: int,
    *,
    seed: int = 1,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Add `count` invented cases received over the last 18 months, in every status."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    rng = random.Random(seed)
    builder = _Builder(rng, now)
    span = timedelta(days=548)
    received = sorted(now - span * rng.random() ** 1.15 for _ in range(count))

    with db.write() as session:
        referrer_ids: list[int] = []
        for name in builder.referrers:
            folded = fold(name)
            existing = session.scalar(select(Referrer.id).where(Referrer.name_folded == folded))
            if existing is None:
                existing = session.execute(
                    insert(Referrer).returning(Referrer.id),
                    {"name": name, "name_folded": folded, "created_at": now},
                ).scalar_one()
            referrer_ids.append(existing)
        counters = {c.year: c.last_number for c in session.scalars(select(ReferenceCounter))}
        next_case_id = (session.scalar(text("SELECT coalesce(max(id), 0) FROM cases")) or 0) + 1
        next_patient_id = (
            session.scalar(text("SELECT coalesce(max(id), 0) FROM patients")) or 0
        ) + 1

        patients_made = 0
        recent_patients: list[tuple[int, dict[str, Any]]] = []
        done = 0
        while done < count:
            chunk = received[done : done + CHUNK]
            patient_rows, case_rows, reason_rows, history_rows, docs = [], [], [], [], []
            for received_at in chunk:
                case_id = next_case_id
                next_case_id += 1
                if recent_patients and rng.random() < 0.08:  # a returning patient
                    patient_id, patient = rng.choice(recent_patients)
                else:
                    patient = builder.patient()
                    patient_id = next_patient_id
                    next_patient_id += 1
                    patient_rows.append({"id": patient_id, **patient})
                    recent_patients = [*recent_patients[-200:], (patient_id, patient)]
                year = received_at.year
                counters[year] = counters.get(year, 0) + 1
                reference = format_reference(year, counters[year])
                cancer_type = rng.choice([*list(_DIAGNOSES), "other", "thyroid", "gastric"])
                diagnosis, stage, treatment = rng.choice(
                    _DIAGNOSES.get(
                        cancer_type,
                        [
                            (
                                "Suspected malignancy, primary unclear",
                                "",
                                "Further imaging, then chemotherapy",
                            )
                        ],
                    )
                )
                leukaemia = cancer_type == "acute_leukaemia"
                urgency = Urgency.URGENT if leukaemia or rng.random() < 0.2 else Urgency.ROUTINE
                status = builder.status_for_age(now - received_at)
                row, history = _timeline(
                    rng, received_at, now, status, urgency, case_id, rng.choice(DEMO_ACTORS)
                )
                referrer_id = rng.choice(referrer_ids)
                start_days = rng.choice([None, 2, 3, 5, 10, 14, 21])
                case_rows.append(
                    {
                        "id": case_id,
                        "reference": reference,
                        "patient_id": patient_id,
                        "referrer_id": referrer_id,
                        "cancer_type": cancer_type,
                        "diagnosis": diagnosis,
                        "stage": stage,
                        "patient_questions": rng.choice(_QUESTIONS),
                        "first_diagnosis": diagnosis,
                        "proposed_treatment": treatment,
                        "treatment_start": (received_at + timedelta(days=start_days)).date()
                        if start_days
                        else None,
                        "urgency": urgency.value,
                        "created_by": history[0]["actor"],
                        "version": 1,
                        **row,
                    }
                )
                for reason in rng.sample(list(Reason), rng.choice([1, 1, 2, 3])):
                    reason_rows.append({"case_id": case_id, "reason": reason.value})
                history_rows.extend(history)
                docs.append(
                    (
                        case_id,
                        search_index.document(
                            reference,
                            full_name(patient["given_names"], patient["family_name"]),
                            builder.referrers[referrer_ids.index(referrer_id)],
                            cancer_type,
                            diagnosis,
                        ),
                    )
                )
            if patient_rows:
                session.execute(insert(Patient), patient_rows)
            patients_made += len(patient_rows)
            session.execute(insert(Case), case_rows)
            session.execute(insert(CaseReason), reason_rows)
            session.execute(insert(StatusChange), history_rows)
            search_index.insert_documents(session, docs)
            done += len(chunk)
            if progress:
                progress(done, count)
        for year, last in counters.items():
            session.execute(
                text(
                    "INSERT INTO reference_counters (year, last_number) VALUES (:y, :n) "
                    "ON CONFLICT (year) DO UPDATE SET last_number = max(last_number, :n)"
                ),
                {"y": year, "n": last},
            )
        session.commit()
    return DemoResult(count, patients_made)


def _timeline(
    rng: random.Random,
    received_at: datetime,
    now: datetime,
    status: CaseStatus,
    urgency: Urgency,
    case_id: int,
    actor: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Status history from intake to `status`, with times that fit the office's rhythm."""
    path = _path_to(status, rng)
    target_hours = 24 if urgency is Urgency.URGENT else 48
    steps = {
        S.AWAITING_RECORDS: timedelta(minutes=rng.randrange(5, 90)),
        S.READY_FOR_REVIEW: timedelta(hours=rng.uniform(2, 96)),
        S.UNDER_REVIEW: timedelta(hours=rng.uniform(0.5, 6)),
        # Most opinions on time, some late: the figures need both.
        S.OPINION_RECEIVED: timedelta(hours=rng.uniform(0.3, 1.25) * target_hours),
        S.LETTER_SENT: timedelta(hours=rng.uniform(2, 30)),
        S.CLOSED: timedelta(days=rng.uniform(1, 10)),
        S.ON_HOLD: timedelta(hours=rng.uniform(1, 48)),
        S.CANCELLED: timedelta(hours=rng.uniform(1, 72)),
    }
    times = [received_at]
    for step in path[1:]:
        times.append(times[-1] + steps[step])
    # Squeeze the steps so the last change is in the past.
    if times[-1] > now:
        room = (now - received_at) * 0.98
        scale = room / (times[-1] - received_at)
        times = [received_at + (t - received_at) * scale for t in times]
    history = []
    previous: CaseStatus | None = None
    for step, at in zip(path, times, strict=True):
        reason = ""
        if step is S.ON_HOLD:
            reason = rng.choice(_HOLD_REASONS)
        elif step is S.CANCELLED:
            reason = rng.choice(_CANCEL_REASONS)
        elif step is S.NEW:
            reason = "Case taken in"
        history.append(
            {
                "case_id": case_id,
                "from_status": previous.value if previous else None,
                "to_status": step.value,
                "at": at,
                "actor": actor,
                "reason": reason,
            }
        )
        previous = step
    by_status = dict(zip(path, times, strict=True))
    records_complete_at = by_status.get(S.READY_FOR_REVIEW)
    opinion_at = by_status.get(S.OPINION_RECEIVED)
    hold_since = by_status.get(S.ON_HOLD)
    held_from = path[-2].value if status is S.ON_HOLD else None
    facts = ClockFacts(status, urgency, records_complete_at, opinion_at, 0, hold_since)
    row = {
        "status": status.value,
        "held_from": held_from,
        "received_at": received_at,
        "records_complete_at": records_complete_at,
        "opinion_at": opinion_at,
        "hold_since": hold_since,
        "paused_seconds": 0,
        "due_at": clock.due_at(facts),
        "clock_sort": clock.CLOCK_SORT_ORDER[clock.clock_state(facts)],
        "created_at": received_at,
        "updated_at": times[-1],
        "updated_by": actor,
    }
    return row, history
