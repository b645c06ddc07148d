"""Realistic, invented demo cases: every status, many scripts, deterministic for a seed.

Each case has the documents its cancer type's checklist asks for, in states that fit its
status, and open cases carry a few real files (stored once, shared) whose text is searchable.
A roster of specialists (made once per database) reviews them: assignments and opinions fit
each case's status, with a few declines, reassignments and major changes.
The office works in euros with a realistic fee schedule: specialists' fees are quoted on
assignment and charged once the opinion is in, some extra tests wait for the patient's
approval, and payments run from deposits and insurers to the odd refund.
Patients have postal addresses, an office without a letterhead gets the demo's, and the most
recent cases whose letter went out have their summary letter archived, as sent.
Written with bulk inserts so that 100,000 cases take seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import re
import sqlite3
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from referral_desk.db import audit_trail
from referral_desk.db.engine import Database
from referral_desk.db.models import (
    Assignment,
    Blob,
    BlobText,
    Case,
    CaseReason,
    ChecklistItem,
    FeeService,
    Patient,
    ReferenceCounter,
    Referrer,
    Setting,
    Specialist,
    SpecialistAbsence,
    SpecialistCancerType,
    StatusChange,
)
from referral_desk.domain import clock
from referral_desk.domain.access import Actor, UserRole
from referral_desk.domain.clock import ClockFacts
from referral_desk.domain.costs import ROLE_SERVICE_CODES, Approval, LineKind, PaymentMethod
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus, Reason, Sex, Urgency
from referral_desk.domain.file_rules import SNIFF_BYTES, classify
from referral_desk.domain.money import format_iso, minor_digits
from referral_desk.domain.specialists import (
    ROLE_DISCIPLINES,
    AssignmentStatus,
    Concordance,
    Discipline,
    Role,
    is_major_change,
)
from referral_desk.domain.text import fold, full_name
from referral_desk.domain.workflow import CLOSED_STATUSES
from referral_desk.pdf.report import render_report
from referral_desk.resource_files import resource_path
from referral_desk.services import office, pdf_text, search_index
from referral_desk.services.office import quotes_specialist_fee
from referral_desk.services.references import format_reference
from referral_desk.services.specialists import OPEN_FOR_REVIEW

S = CaseStatus
DEMO_ACTORS = ("maria.intake", "tom.office", "lena.coord")
# The demo's own set-up (roster, fee schedule, currency) in the audit trail.
DEMO_AUTHOR = "demo"
# Letters go out from the coordinator and the letterhead is the administrator's: the roles
# the demo office's accounts have, so the services let them act.
DEMO_COORDINATOR = Actor("lena.coord", UserRole.COORDINATOR)
DEMO_ADMINISTRATOR = Actor("admin", UserRole.ADMINISTRATOR)
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


_WAIVE_REASONS = [
    "Reviewer agreed to go ahead without it",
    "Never done at the first hospital; confirmed with the referrer",
    "Urgent: reviewing on the records we have",
]
_NOT_AVAILABLE_REASONS = [
    "Hospital archive cannot find it",
    "Referrer says it was never done",
    "Held by another hospital; the patient is asking for it",
]
_REQUESTED_DETAIL = "Required for this cancer type"  # what intake writes (services.records)
D = DocumentStatus


@dataclass(frozen=True)
class DemoResult:
    cases: int
    patients: int
    documents: int = 0
    files: int = 0
    assignments: int = 0
    opinions: int = 0
    cost_lines: int = 0
    payments: int = 0
    letters: int = 0


def _load_names() -> dict[str, Any]:
    return json.loads(resource_path("demo_names.json").read_text(encoding="utf-8"))


class _Builder:
    def __init__(self, rng: random.Random, now: datetime, places: random.Random) -> None:
        self.rng = rng
        self.places = places  # its own stream: the names of a seed stay what they were
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
            "address": self.address(),
            "preferred_language": group["language"],
            "consent_share_with_referrer": rng.random() < 0.8,
            "created_at": self.now,
            "updated_at": self.now,
            "version": 1,
        }

    def address(self) -> str:
        places = self.places
        street = f"{places.randrange(1, 240)} {places.choice(_STREETS)}"
        if places.random() < 0.25:
            street = f"Flat {places.randrange(1, 40)}, {street}"
        return f"{street}\n{places.choice(_TOWNS)}"

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
    months: int = 18,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Add `count` invented cases received over the last `months` months, in every status.

    More of them arrive in recent months, as in a growing office; fewer `months` make each
    month busier (the report benchmark's 10,000-case month in a 100,000-case office).
    """
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    rng = random.Random(seed)
    # Documents draw from their own stream: the cases of a seed stay what they always were.
    doc_rng = random.Random(f"documents-{seed}")
    # So do the reviewers and their opinions.
    review_rng = random.Random(f"reviews-{seed}")
    # And the costs and payments.
    cost_rng = random.Random(f"costs-{seed}")
    builder = _Builder(rng, now, random.Random(f"addresses-{seed}"))
    span = timedelta(days=round(months * 365.25 / 12))  # 18 months: 548 days, as ever
    received = sorted(now - span * rng.random() ** 1.15 for _ in range(count))

    with db.write() as session:
        # Core inserts bypass the audit hooks (a demo is not the office's work); the roster,
        # fee schedule and currency are written as records and are traced to the demo.
        session.info[audit_trail.ACTOR] = DEMO_AUTHOR
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
        _give_referrers_contacts(session, referrer_ids, builder.referrers, doc_rng)
        raw = _raw(session)
        last_document = session.scalar(text("SELECT coalesce(max(id), 0) FROM case_documents"))
        records = _Records(
            doc_rng,
            now,
            _checklists(session),
            _store_samples(session, now),
            next_document_id=(last_document or 0) + 1,
        )
        currency = _office_currency(session)
        scale = _scaler(currency)
        last_assignment = session.scalar(text("SELECT coalesce(max(id), 0) FROM assignments"))
        reviews = _Reviews(
            review_rng,
            now,
            _ensure_roster(session, now, scale),
            _open_load(session),
            next_assignment_id=(last_assignment or 0) + 1,
        )
        costs = _Costs(
            cost_rng,
            now,
            currency,
            _ensure_fee_schedule(session, now, scale),
            quotes_fees=quotes_specialist_fee(session),
        )
        counters = {c.year: c.last_number for c in session.scalars(select(ReferenceCounter))}
        next_case_id = (session.scalar(text("SELECT coalesce(max(id), 0) FROM cases")) or 0) + 1
        first_case_id = next_case_id
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
                actor = rng.choice(DEMO_ACTORS)
                row, history = _timeline(rng, received_at, now, status, urgency, case_id, actor)
                missing, last_change, document_text = records.add(
                    case_id, cancer_type, status, history, actor
                )
                row["missing_documents"] = missing
                if last_change is not None and last_change > row["updated_at"]:
                    row["updated_at"] = last_change  # a document arrived or was chased since
                reviews.add(
                    case_id,
                    cancer_type,
                    urgency,
                    row,
                    history,
                    actor,
                    (diagnosis, stage, treatment),
                )
                costs.add(
                    case_id,
                    row,
                    history,
                    reviews.case_assignments,
                    actor,
                    foreign=patient["preferred_language"] != "English",
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
                            document_text,
                        ),
                    )
                )
            if patient_rows:
                session.execute(insert(Patient.__table__), patient_rows)
            patients_made += len(patient_rows)
            # Core inserts of the tables: the ORM's bulk path costs seconds per 100,000 rows.
            session.execute(insert(Case.__table__), case_rows)
            session.execute(insert(CaseReason.__table__), reason_rows)
            session.execute(insert(StatusChange.__table__), history_rows)
            records.flush(raw)
            reviews.flush(raw)
            costs.flush(raw)
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
    _dress_office(db, now)
    return DemoResult(
        count,
        patients_made,
        records.documents_made,
        records.files_made,
        reviews.assignments_made,
        reviews.opinions_made,
        costs.lines_made,
        costs.payments_made,
        _archive_sent_letters(db, first_case_id),
    )


_STREETS = (
    "Alder Road",
    "Beacon Street",
    "Canal Walk",
    "Chestnut Avenue",
    "Elm Grove",
    "Harbour Lane",
    "Kingfisher Close",
    "Linden Way",
    "Market Place",
    "Mill Lane",
    "Orchard Rise",
    "Station Road",
    "Willow Crescent",
)
_TOWNS = ("London", "Croydon", "Harrow", "Ilford", "Kingston upon Thames", "Watford", "Slough")

# What heads the demo office's letters (the phone numbers are in Ofcom's range for drama).
DEMO_OFFICE = office.OfficeDetails(
    name="Second Opinion Desk (demo office)",
    address="4 Sample Court\nLondon",
    phone="+44 20 7946 0000",
    email="letters@example.org",
    website="www.example.org",
    signatory_name="Lena Hartmann",
    signatory_title="Patient coordinator",
)
# Letters are rendered one by one (about 15 ms each): a handful, whatever the size of the demo.
DEMO_LETTERS = 20


def _dress_office(db: Database, now: datetime) -> None:
    """An office without a name gets the demo letterhead, logo and signature."""
    profile = office.get_profile(db)
    if profile.name:
        return
    office.set_office_details(db, DEMO_OFFICE, actor=DEMO_ADMINISTRATOR)
    if not profile.has_logo:
        office.set_image(db, "logo", _logo_png(), actor=DEMO_ADMINISTRATOR, now=now)
    if not profile.has_signature:
        office.set_image(db, "signature", _signature_png(), actor=DEMO_ADMINISTRATOR, now=now)


def _archive_sent_letters(db: Database, first_case_id: int) -> int:
    """The summary letters of the most recent cases whose letter went out, archived as sent.

    Each is dated as its case moved to Letter sent and made by whoever moved it, so the
    Letters tab of those cases shows what a real office would have.
    """
    from referral_desk.domain.letters import LetterKind
    from referral_desk.services import letters

    with db.read() as session:
        sent = session.execute(
            select(StatusChange.case_id, StatusChange.at, StatusChange.actor)
            .join(Case, Case.id == StatusChange.case_id)
            .where(
                Case.id >= first_case_id,
                Case.status == S.LETTER_SENT.value,
                StatusChange.to_status == S.LETTER_SENT.value,
            )
            .order_by(StatusChange.at.desc(), StatusChange.case_id.desc())
            .limit(DEMO_LETTERS)
        ).all()
    for case_id, at, name in sent:
        sender = Actor(name, DEMO_COORDINATOR.role)  # who moved it: the coordinator
        made = letters.generate(
            db, case_id, LetterKind.SUMMARY, actor=sender, now=at - timedelta(minutes=20)
        )
        letters.mark_sent(db, [made.id], actor=sender, now=at)
    return len(sent)


def _png(width: int, height: int, rows: Sequence[bytes], colour: bool) -> bytes:
    """A PNG from raw rows (RGB when `colour`, else greyscale), written by hand: no imaging
    library is needed for a few demo pictures."""
    raw = b"".join(b"\x00" + row for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2 if colour else 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _logo_png(size: int = 96) -> bytes:
    """A teal disc with a white cross: plainly a placeholder logo."""
    teal, white = bytes((0, 118, 128)), bytes((255, 255, 255))
    middle, radius, arm = size / 2, size / 2 - 2, size // 10
    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            inside = (x - middle + 0.5) ** 2 + (y - middle + 0.5) ** 2 <= radius**2
            cross = abs(x - middle + 0.5) < arm or abs(y - middle + 0.5) < arm
            far = abs(x - middle + 0.5) < radius * 0.6 and abs(y - middle + 0.5) < radius * 0.6
            row += white if inside and cross and far else teal if inside else white
        rows.append(bytes(row))
    return _png(size, size, rows, colour=True)


def _signature_png(width: int = 220, height: int = 64) -> bytes:
    """A handwritten-looking stroke on white, for the signatory: loops that shrink and drift
    up a little, drawn as one continuous line."""
    pixels = [bytearray([255]) * width for _ in range(height)]
    previous: int | None = None
    for x in range(10, width - 10):
        t = (x - 10) / (width - 20)
        swing = 16 * (1 - 0.5 * t) * math.sin(x / (2.2 + 2.5 * t)) + 6 * _wave(x)
        y = min(height - 3, max(2, int(height * 0.6 - 10 * t + swing)))
        low, high = (y, y) if previous is None else sorted((previous, y))
        for row in range(low - 1, high + 2):  # join to the last point: no gaps on steep parts
            pixels[min(height - 1, max(0, row))][x] = 40
        previous = y
    return _png(width, height, [bytes(row) for row in pixels], colour=False)


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
        elif step is S.AWAITING_RECORDS:
            reason = "Records requested"  # as services.records says it
        elif step is S.READY_FOR_REVIEW:
            reason = "All required records received or waived"
        history.append(
            {
                "case_id": case_id,
                "from_status": previous.value if previous else None,
                "to_status": step.value,
                "at": at,
                # Only a coordinator sends letters.
                "actor": DEMO_COORDINATOR.name if step is S.LETTER_SENT else actor,
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
        "updated_by": history[-1]["actor"],
    }
    return row, history


# --- Documents ------------------------------------------------------------------------------


def _raw(session: Session) -> sqlite3.Connection:
    """The session's own connection (same transaction): plain executemany for bulk rows."""
    connection = session.connection().connection.driver_connection
    assert isinstance(connection, sqlite3.Connection)
    return connection


def _stamp(moment: datetime) -> str:
    """db.types.to_storage for an aware UTC datetime, ~4x faster (millions of these)."""
    return moment.isoformat(" ", "microseconds")[:26]


def _give_referrers_contacts(
    session: Session, referrer_ids: list[int], names: list[str], rng: random.Random
) -> None:
    """Invented phone numbers (Ofcom's drama range) and e-mails; real contacts are kept."""
    for referrer_id, name in zip(referrer_ids, names, strict=True):
        if "," not in name:  # "Patient self-referral": nobody to call
            continue
        doctor, place = (part.strip() for part in name.split(",", 1))
        words = re.findall(r"[a-z]+", fold(doctor.removeprefix("Dr.")))
        domain = "".join(re.findall(r"[a-z0-9]+", fold(place)))
        session.execute(
            update(Referrer)
            .where(Referrer.id == referrer_id, Referrer.phone == "", Referrer.email == "")
            .values(
                phone=f"+44 20 7946 0{rng.randrange(0, 1000):03d}",
                email=f"{words[0][0]}.{words[-1]}@{domain}.example",
            )
        )


def _checklists(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Every cancer type's checklist, read once: (document type, note) in checklist order."""
    lists: dict[str, list[tuple[str, str]]] = {}
    rows = session.execute(
        select(ChecklistItem.cancer_type, ChecklistItem.document_type, ChecklistItem.note).order_by(
            ChecklistItem.cancer_type, ChecklistItem.position, ChecklistItem.document_type
        )
    )
    for cancer_type, code, note in rows:
        lists.setdefault(cancer_type, []).append((code, note))
    return lists


@dataclass(frozen=True)
class _Sample:
    """A stored demo file and which documents it may be attached to."""

    name: str
    document_type: str
    cancer_types: frozenset[str] | None  # None: any cancer type
    blob_id: int
    text: str  # the PDF's text for the search; "" for images


_DEMO_NOTE = "Invented for the Referral Desk demo: not a real patient's record."


def _sample_files() -> list[tuple[str, str, frozenset[str] | None, bytes]]:
    """(file name, document type, cancer types, bytes): the same bytes for every run."""
    return [
        (
            "histopathology_core_biopsy.pdf",
            "pathology_report",
            frozenset({"breast"}),
            _pdf(
                "Histopathology report",
                "Left breast, 12 o'clock, ultrasound-guided core biopsy (3 cores)",
                [
                    "Macroscopy: three cores of pale tissue, 12 to 15 mm each.",
                    "Microscopy: invasive carcinoma of no special type (ductal), grade 2",
                    "(Nottingham score 3+2+2 = 7). No lymphovascular invasion in the cores.",
                    "Oestrogen receptor (ER): positive, Allred score 8/8.",
                    "Progesterone receptor (PR): positive, Allred score 6/8.",
                    "HER2: immunohistochemistry score 1+, HER2-negative; ISH not required.",
                    "Ki-67 proliferation index: 18%.",
                    "Conclusion: invasive ductal carcinoma, grade 2, ER+/PR+/HER2-.",
                ],
            ),
        ),
        (
            "ct_staging_report.pdf",
            "imaging_report",
            None,
            _pdf(
                "CT chest, abdomen and pelvis with contrast",
                "Staging before treatment",
                [
                    "Indication: newly diagnosed malignancy; staging.",
                    "Chest: no pulmonary nodules, no pleural effusion. No enlarged",
                    "mediastinal or hilar lymph nodes.",
                    "Abdomen: two subcentimetre hypodensities in liver segment VI, too small",
                    "to characterise, most likely simple cysts. No ascites.",
                    "Bones: no suspicious lytic or sclerotic lesions.",
                    "Conclusion: no convincing evidence of distant metastases. MRI of the",
                    "liver suggested if it would change management.",
                ],
            ),
        ),
        (
            "oncology_clinic_letter.pdf",
            "treatment_plan",
            None,
            _pdf(
                "Oncology clinic letter: proposed treatment",
                "Multidisciplinary team meeting outcome",
                [
                    "The case was discussed at our multidisciplinary team meeting.",
                    "Recommendation: systemic chemotherapy, to start within three weeks,",
                    "with a response assessment by CT after three cycles.",
                    "Side effects discussed: fatigue, nausea, hair loss, and the risk of",
                    "neutropenic infection (when to call the chemotherapy hotline).",
                    "The patient asked for a second opinion before consenting; we are",
                    "happy to send any further records the reviewer needs.",
                ],
            ),
        ),
        (
            "bone_marrow_report.pdf",
            "bone_marrow_report",
            frozenset({"acute_leukaemia"}),
            _pdf(
                "Bone marrow aspirate and trephine report",
                "Posterior iliac crest",
                [
                    "Aspirate: hypercellular particles; blasts 46% of nucleated cells,",
                    "Auer rods in occasional blasts. Reduced erythropoiesis.",
                    "Flow cytometry: blasts CD34+, CD117+, CD13+, CD33+, HLA-DR+, MPO+.",
                    "Cytogenetics: normal karyotype 46,XX[20].",
                    "Molecular: FLT3-ITD detected (allelic ratio 0.6); NPM1 mutated.",
                    "Conclusion: acute myeloid leukaemia, FLT3-ITD positive, NPM1 mutated.",
                ],
            ),
        ),
        ("consent_form_signed.png", "consent_form", None, _scanned_form_png()),
    ]


def _pdf(title: str, subtitle: str, lines: Sequence[str]) -> bytes:
    return render_report(title, subtitle, lines, footnote=_DEMO_NOTE)


def _scanned_form_png(width: int = 240, height: int = 320) -> bytes:
    """A small greyscale 'scan' of a signed form: lines of text and a signature."""
    pixels = [bytearray([250]) * width for _ in range(height)]
    for top in range(30, 230, 14):  # lines of print
        for y in range(top, top + 5):
            end = width - 24 - (top * 7) % 60
            pixels[y][24:end] = bytes([90]) * (end - 24)
    for x in range(40, 180):  # the signature
        y = 270 + int(12 * _wave(x))
        for dy in (0, 1):
            pixels[y + dy][x] = 20
    for x in range(30, 210):  # the line it is signed on
        pixels[290][x] = 120
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _wave(x: int) -> float:
    return math.sin(x / 6) * math.cos(x / 23)


def _store_samples(session: Session, now: datetime) -> list[_Sample]:
    """Store each sample file once (reusing bytes already there), its PDF text read once."""
    samples = []
    for name, document_type, cancer_types, content in _sample_files():
        kind = classify(content[:SNIFF_BYTES], size=len(content), name=name)
        sha256 = hashlib.sha256(content).hexdigest()
        blob_id = session.scalar(select(Blob.id).where(Blob.sha256 == sha256))
        if blob_id is None:
            state, note, body = "none", "", ""
            if kind.mime == "application/pdf":
                result = pdf_text.extract(content)
                state = "done" if result.readable else "skipped"
                note, body = result.note, result.text
            blob_id = session.execute(
                insert(Blob).returning(Blob.id),
                {
                    "sha256": sha256,
                    "size": len(content),
                    "mime": kind.mime,
                    "created_at": now,
                    "text_state": state,
                    "text_note": note,
                    "content": content,
                },
            ).scalar_one()
            if state == "done":
                session.execute(insert(BlobText), {"blob_id": blob_id, "text": body})
        else:  # stored before (an earlier demo, or a user added the same bytes)
            body = session.scalar(select(BlobText.text).where(BlobText.blob_id == blob_id)) or ""
        samples.append(_Sample(name, document_type, cancer_types, blob_id, body))
    return samples


@dataclass
class _Records:
    """Builds each case's documents, their history and files; writes them a chunk at a time."""

    rng: random.Random
    now: datetime
    checklists: dict[str, list[tuple[str, str]]]
    samples: list[_Sample]
    next_document_id: int
    documents_made: int = 0
    files_made: int = 0
    document_rows: list[tuple[Any, ...]] = field(default_factory=list)
    event_rows: list[tuple[Any, ...]] = field(default_factory=list)
    file_rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(
        self,
        case_id: int,
        cancer_type: str,
        status: CaseStatus,
        history: list[dict[str, Any]],
        actor: str,
    ) -> tuple[int, datetime | None, str]:
        """Documents for one case: (missing count, last document change, text of its PDFs)."""
        checklist = self.checklists.get(cancer_type, [])
        at = {S(h["to_status"]): h["at"] for h in history}
        if not checklist or S.AWAITING_RECORDS not in at:
            return 0, None, ""  # New: the checklist is applied when staff take the case on
        rng = self.rng
        requested = at[S.AWAITING_RECORDS]
        complete = at.get(S.READY_FOR_REVIEW)  # the last record arrived then
        end = at[S.CANCELLED] if status is S.CANCELLED else self.now
        with_files = status not in CLOSED_STATUSES
        last = rng.randrange(len(checklist))  # complete: the arrival that completed them
        received = [rng.random() < 0.5 for _ in checklist]  # incomplete: what is in so far
        if complete is None and all(received):
            received[last] = False  # Awaiting records: something is still missing
        requested_text = _stamp(requested)
        missing, latest, texts = 0, requested, {}
        day = timedelta(days=1)
        for index, (code, note) in enumerate(checklist):
            document_id = self.next_document_id
            self.next_document_id += 1
            status_at, reason = requested, ""
            if complete is not None:  # every record in (a few waived) by `complete`
                if index == last:
                    doc_status, status_at = D.RECEIVED, complete
                else:
                    doc_status = D.WAIVED if rng.random() < 0.04 else D.RECEIVED
                    status_at = requested + (complete - requested) * rng.random()
            elif received[index]:
                doc_status = D.WAIVED if rng.random() < 0.03 else D.RECEIVED
                status_at = requested + (end - requested) * rng.random()
            else:
                doc_status = D.REQUESTED
                missing += 1
                if rng.random() < 0.15:
                    doc_status = D.NOT_AVAILABLE
                    status_at = requested + (end - requested) * rng.random()
                    reason = rng.choice(_NOT_AVAILABLE_REASONS)
            waited = (status_at if doc_status.settles_requirement else end) - requested
            # (moment, stored moment, action, detail), in the order they happened.
            events = [(requested, requested_text, "requested", _REQUESTED_DETAIL)]
            chases: list[datetime] = []
            if waited > day and rng.random() < (0.3 if doc_status.settles_requirement else 0.6):
                chases = sorted(
                    requested + day + (waited - day) * rng.random()
                    for _ in range(rng.randint(1, min(4, waited // day)))
                )
                events.extend(
                    (moment, _stamp(moment), "chased", f"Chase number {n}")
                    for n, moment in enumerate(chases, 1)
                )
            last_chased = events[-1][1] if chases else None
            status_stamp = requested_text if status_at == requested else _stamp(status_at)
            received_stamp = None
            if doc_status is D.RECEIVED:
                received_stamp = status_stamp
                sample = self._sample_for(code, cancer_type) if with_files else None
                if sample is not None and rng.random() < 0.75:
                    events.append((status_at, status_stamp, "file_added", sample.name))
                    self.file_rows.append(
                        (document_id, sample.blob_id, sample.name, status_stamp, actor)
                    )
                    self.files_made += 1
                    if sample.text:
                        texts[sample.blob_id] = sample.text
                    events.append((status_at, status_stamp, "received", sample.name))
                else:
                    events.append((status_at, status_stamp, "received", ""))
            elif doc_status is D.WAIVED:
                reason = rng.choice(_WAIVE_REASONS)
                events.append((status_at, status_stamp, "waived", reason))
            elif doc_status is D.NOT_AVAILABLE:
                events.append((status_at, status_stamp, "not_available", reason))
                events.sort(key=lambda e: e[0])  # chases may follow; stable for equal times
            self.event_rows.extend(
                (document_id, stamp, actor, action, detail) for _, stamp, action, detail in events
            )
            self.document_rows.append(
                (
                    document_id,
                    case_id,
                    code,
                    True,
                    doc_status.value,
                    note,
                    "",
                    reason,
                    requested_text,
                    received_stamp,
                    status_stamp,
                    actor,
                    last_chased,
                    len(chases),
                )
            )
            latest = max(latest, events[-1][0])
        self.documents_made += len(checklist)
        # As search_index.reindex reads them: each distinct file once, in stored order.
        return missing, latest, "\n".join(texts[k] for k in sorted(texts))

    def _sample_for(self, document_type: str, cancer_type: str) -> _Sample | None:
        for sample in self.samples:
            if sample.document_type == document_type and (
                sample.cancer_types is None or cancer_type in sample.cancer_types
            ):
                return sample
        return None

    def flush(self, raw: sqlite3.Connection) -> None:
        raw.executemany(
            "INSERT INTO case_documents (id, case_id, document_type, required, status, note, "
            "comment, status_reason, requested_at, received_at, status_at, status_by, "
            "chased_at, chase_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.document_rows,
        )
        raw.executemany(
            "INSERT INTO document_events (case_document_id, at, actor, action, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            self.event_rows,
        )
        raw.executemany(
            "INSERT INTO case_files (case_document_id, blob_id, file_name, added_at, added_by, "
            "removal_reason) VALUES (?, ?, ?, ?, ?, '')",
            self.file_rows,
        )
        self.document_rows.clear()
        self.event_rows.clear()
        self.file_rows.clear()


# --- Specialists, assignments and opinions --------------------------------------------------

R = Role
A = AssignmentStatus
C = Concordance
# Status values as the rows hold them (plain strings: compared a few hundred thousand times).
_OPINION_STATUSES = frozenset(s.value for s in (S.OPINION_RECEIVED, S.LETTER_SENT, S.CLOSED))
# A ready case with a reviewer would be under review: early proposals come before that.
_EARLY_STATUSES = frozenset(s.value for s in (S.NEW, S.AWAITING_RECORDS))
_REVIEW_SLOTS = frozenset(s.value for s in OPEN_FOR_REVIEW)  # cases that take a slot
_UNDER_REVIEW, _READY = S.UNDER_REVIEW.value, S.READY_FOR_REVIEW.value
_TARGETS = {Urgency.URGENT: timedelta(hours=24), Urgency.ROUTINE: timedelta(hours=48)}
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class _RosterEntry:
    name: str
    title: str
    discipline: Discipline
    cancer_types: tuple[str, ...]
    capacity: int
    fee_minor: int
    phone: str
    email: str
    absences: tuple[tuple[int, int, str], ...] = ()  # first and last day from today, note
    inactive_days: int | None = None  # stopped taking cases this many days ago


MO, HA, RO, SO = (
    Discipline.MEDICAL_ONCOLOGY,
    Discipline.HAEMATOLOGY,
    Discipline.RADIATION_ONCOLOGY,
    Discipline.SURGICAL_ONCOLOGY,
)
# One specialist a line: name, title, discipline, sub-specialties, capacity, fee (minor units),
# phone (Ofcom's drama ranges), e-mail; absences are days from the demo's today.
# fmt: off
_ROSTER = (
    _RosterEntry("Margaret O'Connell", "Dr., FRCP", MO, ("breast", "ovarian", "cervical_uterine", "other"), 6, 65000, "+44 20 7946 0118", "m.oconnell@northbridge-cancer.example"),
    _RosterEntry("Jonas Bergström", "Prof. Dr. med.", MO, ("lung", "head_neck", "melanoma", "thyroid", "brain"), 5, 90000, "+44 20 7946 0342", "j.bergstrom@nordic-oncology.example", absences=((-3, 4, "Annual leave"),)),
    _RosterEntry("Αικατερίνη Παπαδοπούλου", "Dr., PhD", MO, ("colorectal", "gastric", "pancreatic", "liver"), 7, 60000, "+44 20 7946 0577", "a.papadopoulou@hellenic-oncology.example", absences=((5, 5, "Teaching day"),)),
    _RosterEntry("Дмитрий Соколов", "Prof.", HA, ("acute_leukaemia", "chronic_leukaemia", "myeloma"), 4, 75000, "+44 20 7946 0623", "d.sokolov@haematology-centre.example", absences=((12, 16, "Haematology congress"),)),
    _RosterEntry("李文华", "Dr.", HA, ("lymphoma", "acute_leukaemia", "chronic_leukaemia", "myeloma", "paediatric"), 5, 68000, "+44 20 7946 0781", "w.li@eastgate-hospital.example"),
    _RosterEntry("Ana Lucía Fernández", "Dra.", RO, ("breast", "prostate", "head_neck", "brain", "cervical_uterine"), 6, 45000, "+44 161 496 0245", "a.fernandez@clinica-sur.example"),
    _RosterEntry("राजेश अय्यर", "Dr., DNB", RO, ("lung", "prostate", "bladder_kidney", "other"), 5, 48000, "+44 161 496 0410", "r.iyer@city-cancer.example", absences=((-1, 1, "Conference"),)),
    _RosterEntry("佐藤健", "Prof.", SO, ("gastric", "liver", "pancreatic", "colorectal"), 4, 85000, "+44 161 496 0532", "k.sato@minato-surgical.example"),
    _RosterEntry("김서연", "Dr.", SO, ("breast", "thyroid", "sarcoma", "melanoma"), 3, 70000, "+44 161 496 0698", "s.kim@hangang-oncology.example", absences=((-60, -46, "Annual leave"), (40, 130, "Parental leave"))),
    _RosterEntry("فاطمة المنصور", "Dr., FRCPath", Discipline.PATHOLOGY, ("breast", "lung", "colorectal", "gastric", "prostate", "ovarian", "cervical_uterine", "other"), 8, 30000, "+44 113 496 0157", "f.almansour@gulf-pathology.example", absences=((9, 10, "Course"),)),
    _RosterEntry("Henrik Lindqvist", "Dr. med.", Discipline.PATHOLOGY, ("lymphoma", "acute_leukaemia", "chronic_leukaemia", "myeloma", "sarcoma", "brain", "paediatric"), 6, 32000, "+44 113 496 0288", "h.lindqvist@nordic-oncology.example"),
    _RosterEntry("Chloé Lefèvre", "Dr., FRCR", Discipline.RADIOLOGY, ("lung", "liver", "pancreatic", "brain", "head_neck", "sarcoma", "bladder_kidney", "colorectal"), 8, 25000, "+44 113 496 0399", "c.lefevre@imagerie-ouest.example", absences=((20, 27, "Annual leave"),)),
    _RosterEntry("Heinrich Vogt", "Prof. Dr. med.", MO, ("lung", "breast", "colorectal"), 5, 90000, "+44 20 7946 0904", "h.vogt@klinikum-mitte.example", inactive_days=120),
    _RosterEntry("Σοφία Νικολάου", "Dr.", Discipline.RADIOLOGY, ("breast", "prostate", "ovarian", "cervical_uterine", "melanoma", "thyroid"), 4, 24000, "+44 113 496 0466", "s.nikolaou@hellenic-oncology.example", inactive_days=40),
)
# fmt: on

_DECLINE_REASONS = [
    "Away at a conference that week",
    "Conflict of interest: treated the patient's relative",
    "Too many urgent cases this week",
    "Outside my sub-specialty",
]
_REPLACE_REASONS = [
    "Fell ill; the case cannot wait",
    "Patient asked for a reviewer who speaks their language",
    "Needs a different sub-specialist after all",
    "Could not meet the due time",
]
_OVERRIDE_FULL = [
    "Agreed by phone to take one more case",
    "Only one with this expertise; the manager approved the extra case",
]
# Concordance without a major change: confirmed, minor change, not assessed (cumulative odds).
_USUAL = (Concordance.CONFIRMED, Concordance.MINOR_CHANGE, Concordance.NOT_ASSESSED)
_DIAGNOSIS_ODDS = (80, 92, 100)
_TREATMENT_ODDS = (64, 94, 100)
_OVERRIDE_AWAY = "Nobody else free before the due time; agreed to review while away"
_MINOR_CHANGES = [
    "a scan after two cycles instead of three, to see early whether it works",
    "a lower starting dose, raised if it is well tolerated",
    "a medicine against nausea before every cycle",
    "a heart check (echocardiogram) before starting",
    "a dental check first, as the treatment can affect the jaw bone",
    "genetic counselling, as the result may matter for the family",
]
_MINOR_TESTS = [
    "one more marker test on the existing sample",
    "an additional genetic test on the existing sample",
    "a second look at the scans by a radiologist",
    "a PET-CT to complete the staging",
]
# (for the patient, for the referring doctor)
_MAJOR_TREATMENTS = [
    (
        "A different approach is recommended: surgery first, then further treatment decided on what is found.",
        "Recommend primary surgery; adjuvant therapy to be decided on the final pathology.",
    ),
    (
        "Chemotherapy is not needed now: careful monitoring with regular scans is safe.",
        "Low-risk features: active surveillance is appropriate; chemotherapy can be deferred.",
    ),
    (
        "A targeted medicine suits this tumour better than standard chemotherapy.",
        "Molecular profile supports first-line targeted therapy in place of chemotherapy.",
    ),
    (
        "A clinical trial open to the patient may be the better option; the treating team can refer.",
        "Eligible for an open phase III trial; suggest referral before starting standard treatment.",
    ),
]
_MAJOR_DIAGNOSES = [
    (
        "The specialist reads the samples differently: a new biopsy is needed to be sure of the diagnosis before any treatment.",
        "Morphology and immunoprofile do not support the reported diagnosis; recommend a repeat biopsy.",
    ),
    (
        "The specialist believes the cancer is of a different type than first reported, which changes the choice of treatment.",
        "Features favour a different histological subtype; treatment should follow the revised diagnosis.",
    ),
]


@dataclass(eq=False)  # compared by identity: one object per specialist
class _Reviewer:
    id: int
    name: str
    discipline: Discipline
    cancer_types: frozenset[str]
    capacity: int
    absences: tuple[tuple[int, int], ...]  # first and last day (ordinals)
    inactive_from: int | None  # first day no longer taking cases (ordinal)
    fee_minor: int = 0


def _ensure_roster(session: Session, now: datetime, scale: Callable[[int], int]) -> list[_Reviewer]:
    """The demo roster, made once: a second demo finds the specialists by name."""
    today = now.date()
    reviewers = []
    for entry in _ROSTER:
        folded = fold(entry.name)
        record = session.scalar(
            select(Specialist)
            .where(Specialist.name_folded == folded)
            .order_by(Specialist.id)
            .limit(1)
        )
        if record is None:
            record = Specialist(
                name=entry.name,
                name_folded=folded,
                title=entry.title,
                discipline=entry.discipline.value,
                phone=entry.phone,
                email=entry.email,
                fee_minor=scale(entry.fee_minor),
                capacity=entry.capacity,
                active=entry.inactive_days is None,
                created_at=now,
                updated_at=now,
                cancer_types=[SpecialistCancerType(cancer_type=c) for c in entry.cancer_types],
                absences=[
                    SpecialistAbsence(
                        first_day=today + timedelta(days=first),
                        last_day=today + timedelta(days=last),
                        note=note,
                    )
                    for first, last, note in entry.absences
                ],
            )
            session.add(record)
            session.flush()
        # As the office has them now (someone may have edited a demo specialist).
        inactive_from = None
        if not record.active:
            inactive_from = today.toordinal() - (entry.inactive_days or 0)
        reviewers.append(
            _Reviewer(
                id=record.id,
                name=record.name,
                discipline=Discipline(record.discipline),
                cancer_types=frozenset(c.cancer_type for c in record.cancer_types),
                capacity=max(record.capacity, 1),
                absences=tuple(
                    (a.first_day.toordinal(), a.last_day.toordinal()) for a in record.absences
                ),
                inactive_from=inactive_from,
                fee_minor=record.fee_minor,
            )
        )
    return reviewers


@dataclass(frozen=True, slots=True)
class _Assigned:
    """One assignment as the costs see it: whose fee was quoted, and whether it was withdrawn."""

    id: int
    reviewer: _Reviewer
    role: Role
    status: AssignmentStatus
    asked: datetime
    answered: datetime | None
    ended: datetime | None


def _open_load(session: Session) -> Counter[int]:
    """Cases already on each specialist's desk (an earlier demo, or the office's own)."""
    rows = session.execute(
        select(Assignment.specialist_id, func.count())
        .join(Case, Case.id == Assignment.case_id)
        .where(
            Assignment.status.in_([s.value for s in AssignmentStatus if s.current]),
            Case.status.in_(sorted(_REVIEW_SLOTS)),
        )
        .group_by(Assignment.specialist_id)
    )
    return Counter({specialist_id: count for specialist_id, count in rows})


def _sentence_case(text: str) -> str:
    """'Lumpectomy, then ...' -> 'lumpectomy, then ...'; 'R-CHOP' and 'FOLFOX' stay."""
    if len(text) > 1 and text[1].islower():
        return text[0].lower() + text[1:]
    return text


@dataclass
class _Reviews:
    """Assigns each case's reviewers and writes the opinions, in rows that fit its status.

    The choices follow the office's rules: the right discipline for the role, mostly the
    cancer type's sub-specialists, nobody away or inactive over the review, and for cases
    still on someone's desk, free slots first (an override reason when someone is full).
    """

    rng: random.Random
    now: datetime
    reviewers: list[_Reviewer]
    load: Counter[int]
    next_assignment_id: int
    assignments_made: int = 0
    opinions_made: int = 0
    assignment_rows: list[tuple[Any, ...]] = field(default_factory=list)
    opinion_rows: list[tuple[Any, ...]] = field(default_factory=list)
    case_assignments: list[_Assigned] = field(default_factory=list)  # the current case's
    by_role: dict[Role, list[_Reviewer]] = field(init=False)
    _blocked: dict[tuple[int, int], frozenset[int]] = field(default_factory=dict)
    _pool_cache: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_role = {
            role: [r for r in self.reviewers if r.discipline in ROLE_DISCIPLINES[role]]
            for role in Role
        }

    def add(
        self,
        case_id: int,
        cancer_type: str,
        urgency: Urgency,
        row: dict[str, Any],
        history: list[dict[str, Any]],
        actor: str,
        first_opinion: tuple[str, str, str],
    ) -> None:
        """Assignments (and the opinion) of one case; sets its specialist and major change."""
        self.case_assignments = []
        row["specialist_id"] = None
        row["major_change"] = False
        status = row["status"]
        target = _TARGETS[urgency]
        review = next((i for i, h in enumerate(history) if h["to_status"] == _UNDER_REVIEW), None)
        if review is None:
            if status in _EARLY_STATUSES and self.rng.random() < 0.06:
                self._early_proposal(case_id, cancer_type, target, row, history, actor)
            return
        if not self.by_role[R.PRIMARY]:
            return
        rng = self.rng
        t0 = history[review]["at"]
        ends = history[review + 1]["at"] if review + 1 < len(history) else self.now
        due = row["records_complete_at"] + target
        with_opinion = status in _OPINION_STATUSES
        on_desk = status in _REVIEW_SLOTS  # under review, or on hold from it
        span = ends - t0
        variant = rng.random() if span > _HOUR else 1.0
        if variant < 0.09:  # someone else was asked first
            first, _ = self._choose(R.PRIMARY, cancer_type, t0, due, on_desk=False)
            if variant < 0.05:  # they said no, and the case went back to ready for review
                answered = t0 + span * rng.uniform(0.05, 0.3)
                reason = rng.choice(_DECLINE_REASONS)
                self._row(
                    case_id,
                    first,
                    R.PRIMARY,
                    A.DECLINED,
                    t0,
                    actor,
                    answered=answered,
                    decline_reason=reason,
                )
                start = answered + span * rng.uniform(0.02, 0.15)
            else:  # reassigned with a reason; the status stays
                answered = t0 + span * rng.uniform(0.01, 0.1) if rng.random() < 0.5 else None
                start = t0 + span * rng.uniform(0.15, 0.4)
                self._row(
                    case_id,
                    first,
                    R.PRIMARY,
                    A.REPLACED,
                    t0,
                    actor,
                    answered=answered,
                    ended=start,
                    end_reason=rng.choice(_REPLACE_REASONS),
                )
            primary, override = self._choose(
                R.PRIMARY, cancer_type, start, due, on_desk=on_desk, exclude=first.id
            )
        else:
            start = t0
            primary, override = self._choose(R.PRIMARY, cancer_type, t0, due, on_desk=on_desk)
            first = primary
        history[review]["reason"] = f"Assigned to {first.name}"
        if variant < 0.05:
            history[review + 1 : review + 1] = [
                {
                    **history[review],
                    "from_status": _UNDER_REVIEW,
                    "to_status": _READY,
                    "at": answered,
                    "reason": f"{first.name} declined: {reason}",
                },
                {
                    **history[review],
                    "from_status": _READY,
                    "to_status": _UNDER_REVIEW,
                    "at": start,
                    "reason": f"Assigned to {primary.name}",
                },
            ]
        latest = self._current(
            case_id, primary, R.PRIMARY, start, ends, actor, override, with_opinion
        )
        row["specialist_id"] = primary.id
        # A second look at the slides or the scans for some.
        for role, share in ((R.PATHOLOGY, 0.12), (R.RADIOLOGY, 0.06)):
            if rng.random() < share and self.by_role[role]:
                asked = start + (ends - start) * rng.uniform(0.05, 0.5)
                reviewer, override = self._choose(role, cancer_type, asked, due, on_desk=on_desk)
                answered_at = self._current(
                    case_id, reviewer, role, asked, ends, actor, override, with_opinion
                )
                latest = max(latest, answered_at)
        if with_opinion:
            self._opinion(case_id, primary, row, history, actor, first_opinion)
        elif latest > row["updated_at"]:
            row["updated_at"] = latest  # accepted since the last change of status

    def _early_proposal(
        self,
        case_id: int,
        cancer_type: str,
        target: timedelta,
        row: dict[str, Any],
        history: list[dict[str, Any]],
        actor: str,
    ) -> None:
        """Asked early, while the records were still coming in; no answer yet."""
        at = {S(h["to_status"]): h["at"] for h in history}
        start = at.get(S.AWAITING_RECORDS, row["received_at"])
        end = at.get(S.READY_FOR_REVIEW, self.now)
        asked = start + (end - start) * self.rng.uniform(0.1, 0.9)
        if not self.by_role[R.PRIMARY]:
            return
        reviewer, override = self._choose(
            R.PRIMARY, cancer_type, asked, asked + target, on_desk=True
        )
        self._row(case_id, reviewer, R.PRIMARY, A.PROPOSED, asked, actor, override=override)
        row["specialist_id"] = reviewer.id
        row["updated_at"] = max(row["updated_at"], asked)

    def _current(
        self,
        case_id: int,
        reviewer: _Reviewer,
        role: Role,
        asked: datetime,
        ends: datetime,
        actor: str,
        override: str,
        with_opinion: bool,
    ) -> datetime:
        """The assignment that stands: accepted before the opinion, or maybe not yet answered."""
        rng = self.rng
        if with_opinion or rng.random() < 0.7:
            answered = asked + (ends - asked) * rng.uniform(0.02, 0.4)
            self._row(
                case_id,
                reviewer,
                role,
                A.ACCEPTED,
                asked,
                actor,
                answered=answered,
                override=override,
            )
            return answered
        self._row(case_id, reviewer, role, A.PROPOSED, asked, actor, override=override)
        return asked

    def _choose(
        self,
        role: Role,
        cancer_type: str,
        start: datetime,
        due: datetime,
        *,
        on_desk: bool,
        exclude: int | None = None,
    ) -> tuple[_Reviewer, str]:
        """Who takes the role, and the override reason their assignment needed ("" if none)."""
        rng = self.rng
        everyone, free, matching, free_weights, matching_weights = self._pools(
            role, cancer_type, start.toordinal(), max(due, start).toordinal(), exclude
        )
        if not free:  # everyone away: somebody reviews anyway, and the reason says why
            return self._took(rng.choice(everyone), on_desk), _OVERRIDE_AWAY
        expert = bool(matching) and rng.random() >= 0.08  # mostly the sub-specialists
        pool = matching if expert else free
        if not on_desk:
            return rng.choices(pool, cum_weights=matching_weights if expert else free_weights)[
                0
            ], ""
        # Still on someone's desk: free slots first, expertise before load, as the ranking does.
        for candidates in (pool, free):
            room = [r for r in candidates if self.load[r.id] < r.capacity]
            if room:
                chosen = rng.choices(room, [r.capacity - self.load[r.id] for r in room])[0]
                return self._took(chosen, on_desk), ""
        chosen = min(pool, key=lambda r: (self.load[r.id] / r.capacity, r.id))
        return self._took(chosen, on_desk), rng.choice(_OVERRIDE_FULL)

    def _pools(
        self, role: Role, cancer_type: str, first: int, last: int, exclude: int | None
    ) -> tuple[list[_Reviewer], list[_Reviewer], list[_Reviewer], list[int], list[int]]:
        """(everyone in the role, those free from day `first` to `last`, the free experts in
        the cancer type, and the cumulative capacities of both): a handful of distinct
        answers, asked for a hundred thousand cases."""
        blocked = self._blocked.get((first, last))
        if blocked is None:
            blocked = frozenset(
                r.id
                for r in self.reviewers
                if (r.inactive_from is not None and first >= r.inactive_from)
                or any(a <= last and b >= first for a, b in r.absences)
            )
            self._blocked[first, last] = blocked
        key = (role, cancer_type, blocked, exclude)
        pools = self._pool_cache.get(key)
        if pools is None:
            everyone = [r for r in self.by_role[role] if r.id != exclude] or self.by_role[role]
            free = [r for r in everyone if r.id not in blocked]
            matching = [r for r in free if cancer_type in r.cancer_types]
            pools = (
                everyone,
                free,
                matching,
                list(itertools.accumulate(r.capacity for r in free)),
                list(itertools.accumulate(r.capacity for r in matching)),
            )
            self._pool_cache[key] = pools
        return pools

    def _took(self, reviewer: _Reviewer, on_desk: bool) -> _Reviewer:
        if on_desk:
            self.load[reviewer.id] += 1
        return reviewer

    def _row(
        self,
        case_id: int,
        reviewer: _Reviewer,
        role: Role,
        status: AssignmentStatus,
        asked: datetime,
        actor: str,
        *,
        answered: datetime | None = None,
        override: str = "",
        decline_reason: str = "",
        ended: datetime | None = None,
        end_reason: str = "",
    ) -> None:
        assignment_id = self.next_assignment_id
        self.next_assignment_id += 1
        self.case_assignments.append(
            _Assigned(assignment_id, reviewer, role, status, asked, answered, ended)
        )
        self.assignment_rows.append(
            (
                assignment_id,
                case_id,
                reviewer.id,
                role,  # StrEnum members: sqlite3 stores them as their text
                status,
                _stamp(asked),
                actor,
                override,
                _stamp(answered) if answered else None,
                actor if answered else None,
                decline_reason,
                _stamp(ended) if ended else None,
                end_reason,
            )
        )
        self.assignments_made += 1

    def _opinion(
        self,
        case_id: int,
        reviewer: _Reviewer,
        row: dict[str, Any],
        history: list[dict[str, Any]],
        actor: str,
        first_opinion: tuple[str, str, str],
    ) -> None:
        rng = self.rng
        if rng.random() < 0.08:
            kind = rng.random()
            if kind < 0.7:
                diagnosis = C.CONFIRMED if rng.random() < 0.8 else C.MINOR_CHANGE
                treatment = C.MAJOR_CHANGE
            else:  # another diagnosis: usually another treatment too
                diagnosis = C.MAJOR_CHANGE
                treatment = C.MAJOR_CHANGE if kind < 0.9 else C.NOT_ASSESSED
        else:
            diagnosis = rng.choices(_USUAL, cum_weights=_DIAGNOSIS_ODDS)[0]
            treatment = rng.choices(_USUAL, cum_weights=_TREATMENT_ODDS)[0]
            if diagnosis is C.NOT_ASSESSED and treatment is C.NOT_ASSESSED:
                treatment = C.CONFIRMED
        summary, recommendation, notes = self._texts(diagnosis, treatment, first_opinion)
        received = row["opinion_at"]
        stamp = _stamp(received)
        self.opinion_rows.append(
            (
                case_id,
                reviewer.id,
                summary,
                recommendation,
                notes,
                diagnosis,
                treatment,
                stamp,
                stamp,
                actor,
            )
        )
        self.opinions_made += 1
        row["major_change"] = is_major_change([diagnosis, treatment])
        for change in history:
            if change["to_status"] == S.OPINION_RECEIVED:
                change["reason"] = "Opinion recorded"  # as services.opinions says it

    def _texts(
        self, diagnosis: Concordance, treatment: Concordance, first_opinion: tuple[str, str, str]
    ) -> tuple[str, str, str]:
        """(summary for the patient, recommendation, notes for the referring doctor)."""
        rng = self.rng
        first_diagnosis, stage, plan = first_opinion
        named, planned = _sentence_case(first_diagnosis), _sentence_case(plan)
        staged = f" Staging: {stage}." if stage else ""
        if diagnosis is C.CONFIRMED:
            to_patient = (
                f"The specialist has read all the records and agrees with the diagnosis: {named}."
            )
            to_doctor = f"Diagnosis confirmed on the pathology and imaging.{staged}"
        elif diagnosis is C.MINOR_CHANGE:
            test = rng.choice(_MINOR_TESTS)
            to_patient = f"The diagnosis of {named} is right; {test} would make one detail clearer."
            to_doctor = f"Diagnosis stands; suggest {test}."
        elif diagnosis is C.MAJOR_CHANGE:
            to_patient, to_doctor = rng.choice(_MAJOR_DIAGNOSES)
        else:
            to_patient = "The specialist did not re-examine the diagnosis; the question was about the treatment."
            to_doctor = "Diagnosis not re-assessed (no slides sent)."
        if treatment is C.CONFIRMED:
            to_patient += f" The planned treatment ({planned}) is a good choice."
            recommendation = f"Go ahead with {planned} as planned."
            to_doctor += " Proposed treatment is appropriate."
        elif treatment is C.MINOR_CHANGE:
            change = rng.choice(_MINOR_CHANGES)
            to_patient += f" The plan is right, with one addition: {change}."
            recommendation = f"Go ahead with {planned}, adding {change}."
            to_doctor += f" Agree with the plan; suggest {change}."
        elif treatment is C.MAJOR_CHANGE:
            for_patient, for_doctor = rng.choice(_MAJOR_TREATMENTS)
            to_patient += " " + for_patient
            recommendation = (
                for_patient + " Please talk it over with the treating oncologist before starting."
            )
            to_doctor += " " + for_doctor
        elif diagnosis is C.MAJOR_CHANGE:
            to_patient += " The treatment can be chosen once the diagnosis is settled."
            recommendation = (
                "Settle the diagnosis first, then decide on treatment with the treating oncologist."
            )
            to_doctor += " Treatment not assessed pending the revised diagnosis."
        else:
            to_patient += " The treatment was not part of the question; the treating team plans it."
            recommendation = "Plan the treatment with the treating oncologist as intended."
            to_doctor += " Treatment not assessed: the question was about the diagnosis."
        return to_patient, recommendation, to_doctor + " Happy to discuss by phone."

    def flush(self, raw: sqlite3.Connection) -> None:
        raw.executemany(
            "INSERT INTO assignments (id, case_id, specialist_id, role, status, assigned_at, "
            "assigned_by, override_reason, answered_at, answered_by, decline_reason, ended_at, "
            "end_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.assignment_rows,
        )
        raw.executemany(
            "INSERT INTO opinions (case_id, specialist_id, patient_summary, recommendation, "
            "referrer_notes, diagnosis_concordance, treatment_concordance, received_at, "
            "recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.opinion_rows,
        )
        self.assignment_rows.clear()
        self.opinion_rows.clear()


# --- Costs and payments ---------------------------------------------------------------------

DEMO_CURRENCY = "EUR"
# The demo office's prices in euro cents, set only where the office has no price yet.
_DEMO_PRICES = {
    "CONSULT": 60000,
    "PATH": 30000,
    "RAD": 25000,
    "TEST": 40000,
    "COURIER": 6000,
    "TRANSL": 12000,
}
# Additional tests a specialist may propose (code, name, price, how often): quoted first,
# done once the patient agrees to the cost.
_DEMO_TESTS = (
    ("IHC", "Additional immunohistochemistry", 15000, 4),
    ("FISH", "FISH test on the tumour sample", 35000, 3),
    ("MRI", "MRI scan", 45000, 2),
    ("PETCT", "PET-CT scan", 110000, 2),
    ("NGS", "Tumour gene panel (next-generation sequencing)", 120000, 1),
)
M = PaymentMethod
_METHODS = (M.CARD, M.BANK_TRANSFER, M.INSURANCE, M.CASH)
_METHOD_ODDS = tuple(itertools.accumulate((45, 30, 20, 5)))
_INSURERS = ("Allianz Care", "AXA Health", "Bupa Global", "Cigna Global", "DKV")
# How charged cases stand, by status (cumulative odds): letters go out with the invoice, so
# closed cases are mostly settled and fresh opinions mostly not yet.
_SETTLE = ("paid", "partly", "unpaid", "over_refunded", "over")
_SETTLE_ODDS = {
    S.CLOSED.value: tuple(itertools.accumulate((84, 7, 4, 4, 1))),
    S.LETTER_SENT.value: tuple(itertools.accumulate((55, 18, 22, 3, 2))),
    S.OPINION_RECEIVED.value: tuple(itertools.accumulate((20, 15, 65, 0, 0))),
}
# Still to be charged: many patients pay the quote (or half of it) in advance.
_UNCHARGED = frozenset(
    s.value for s in (S.NEW, S.AWAITING_RECORDS, S.READY_FOR_REVIEW, S.UNDER_REVIEW, S.ON_HOLD)
)
_LETTER_SENT, _CANCELLED = S.LETTER_SENT.value, S.CANCELLED.value
_OPINION_RECEIVED, _ON_HOLD = S.OPINION_RECEIVED.value, S.ON_HOLD.value
# What became of an extra test (cumulative odds): still open, after the opinion (done or
# declined long ago), and suggested by the opinion itself.
_TEST_OUTCOMES = ("pending", "approved", "charged", "declined")
_OUTCOMES = tuple(itertools.accumulate((50, 15, 15, 20)))
_OUTCOMES_DONE = tuple(itertools.accumulate((0, 0, 75, 25)))
_OUTCOMES_AFTER = tuple(itertools.accumulate((60, 20, 0, 20)))
_DAY = timedelta(days=1)
_ESTIMATE, _FINAL = LineKind.ESTIMATE.value, LineKind.FINAL.value
_NOT_NEEDED, _PENDING = Approval.NOT_NEEDED.value, Approval.PENDING.value
_APPROVED, _DECLINED = Approval.APPROVED.value, Approval.DECLINED.value
_CHARGEABLE = frozenset({_NOT_NEEDED, _APPROVED})  # pending and declined tests are not done


def _office_currency(session: Session) -> str:
    """The office's currency; an office that has recorded no money yet works in euros."""
    stored = session.get(Setting, office.CURRENCY)
    if stored is None:
        session.add(Setting(key=office.CURRENCY, value=DEMO_CURRENCY))
        return DEMO_CURRENCY
    return stored.value


def _scaler(currency: str) -> Callable[[int], int]:
    """Euro cents to the office currency's minor units (the same number of major units)."""
    shift = minor_digits(currency) - minor_digits(DEMO_CURRENCY)
    if shift >= 0:
        return lambda minor: minor * 10**shift
    return lambda minor: minor // 10**-shift


@dataclass(frozen=True, slots=True)
class _Service:
    id: int
    name: str
    price: int
    active: bool


def _ensure_fee_schedule(
    session: Session, now: datetime, scale: Callable[[int], int]
) -> dict[str, _Service]:
    """Realistic prices for the services the office has not priced, and the demo's tests."""
    services = {s.code: s for s in session.scalars(select(FeeService))}
    for code, price in _DEMO_PRICES.items():
        service = services.get(code)
        if service is not None and service.price_minor == 0:
            service.price_minor = scale(price)
            service.updated_at = now
    for code, name, price, _ in _DEMO_TESTS:
        if code not in services:
            services[code] = FeeService(
                code=code,
                name=name,
                price_minor=scale(price),
                needs_approval=True,
                active=True,
                created_at=now,
                updated_at=now,
            )
            session.add(services[code])
    session.flush()
    return {
        code: _Service(s.id, s.name, s.price_minor, s.active and s.price_minor > 0)
        for code, s in services.items()
    }


@dataclass(slots=True)
class _Line:
    service_id: int | None
    assignment_id: int | None
    description: str
    quantity: int
    price: int
    kind: str
    approval: str
    created_at: datetime
    updated_at: datetime
    approval_on: date | None = None
    version: int = 1
    removed: bool = False


@dataclass
class _Costs:
    """Each case's quotes, charges, the patient's answers to extra tests, payments and refunds.

    The rows, the history lines and the totals kept on the case are what services.costs
    would have written had staff done each step in the app at that moment.
    """

    rng: random.Random
    now: datetime
    currency: str
    services: dict[str, _Service]
    quotes_fees: bool  # the office quotes a specialist's fee on assignment
    lines_made: int = 0
    payments_made: int = 0
    line_rows: list[tuple[Any, ...]] = field(default_factory=list)
    payment_rows: list[tuple[Any, ...]] = field(default_factory=list)
    event_rows: list[tuple[Any, ...]] = field(default_factory=list)
    _money: dict[int, str] = field(default_factory=dict)
    _events: list[tuple[datetime, int, str, str]] = field(default_factory=list)
    _lines: list[_Line] = field(default_factory=list)
    # (amount, moment, the office's day, method, reference, reason)
    _payments: list[tuple[int, datetime, str, PaymentMethod, str, str]] = field(
        default_factory=list
    )
    _tests: list[_Service] = field(init=False)
    _test_odds: list[int] = field(init=False)
    _unit: int = field(init=False)  # one major unit, to round deposits and shares

    def __post_init__(self) -> None:
        tests = [
            (self.services[code], weight)
            for code, _, _, weight in _DEMO_TESTS
            if code in self.services and self.services[code].active
        ]
        self._tests = [service for service, _ in tests]
        self._test_odds = list(itertools.accumulate(weight for _, weight in tests))
        self._unit = 10 ** minor_digits(self.currency)

    def add(
        self,
        case_id: int,
        row: dict[str, Any],
        history: list[dict[str, Any]],
        assigned: list[_Assigned],
        actor: str,
        *,
        foreign: bool,
    ) -> None:
        """The costs of one case; sets its totals (and its last change, if a cost came later)."""
        rng, now = self.rng, self.now
        self._events, self._lines, self._payments = [], [], []
        status = row["status"]
        received = row["received_at"]
        at = {h["to_status"]: h["at"] for h in history}  # the last time in each status
        opinion_at = row["opinion_at"]

        translation = self.services.get("TRANSL")
        if foreign and translation and translation.active and rng.random() < 0.3:
            moment = received + min(now - received, _HOUR) * rng.uniform(0.1, 0.9)
            quantity = rng.randint(1, 3)  # reports to translate
            line = self._new(
                translation.id, None, translation.name, quantity, translation.price, moment
            )
            self._event(moment, f"Added {self._described(line)}.")

        anchor = None  # the primary reviewer's quoted fee: what a deposit is paid on
        for a in assigned:
            gone = {A.DECLINED: a.answered, A.REPLACED: a.ended}.get(a.status)
            quoted = self._quote(a, gone) if self.quotes_fees else None
            if quoted is not None and gone is None and a.role is R.PRIMARY:
                anchor = quoted
            if a.role is R.PATHOLOGY and gone is None and rng.random() < 0.6:
                # The slides went to the pathologist: charged with the review, like the rest.
                courier = self.services.get("COURIER")
                if courier and courier.active:
                    end = opinion_at or now
                    moment = a.asked + (end - a.asked) * rng.uniform(0.02, 0.2)
                    sent = self._new(courier.id, None, courier.name, 1, courier.price, moment)
                    self._event(moment, f"Added {self._described(sent)}.")

        # An extra test the reviewer asked for during the review (the case may be on hold
        # while the patient thinks about its cost).
        review_start = at.get(_UNDER_REVIEW)
        review_end = {_UNDER_REVIEW: now, _ON_HOLD: row["hold_since"]}.get(status, opinion_at)
        if status == _ON_HOLD and row["held_from"] != _UNDER_REVIEW:
            review_end = None
        if review_start and review_end and self._tests and rng.random() < 0.25:
            self._extra_test(review_start, review_end, _OUTCOMES_DONE if opinion_at else _OUTCOMES)

        charged_at = None
        if status in _OPINION_STATUSES:  # the review is done: what was quoted is charged
            end = at.get(_LETTER_SENT, now)
            charged_at = opinion_at + (end - opinion_at) * rng.uniform(0.05, 0.6)
            for line in self._lines:
                if line.kind == _ESTIMATE and not line.removed and line.approval in _CHARGEABLE:
                    self._charge(line, charged_at)
            if status == _OPINION_RECEIVED and self._tests and rng.random() < 0.3:
                # The opinion suggests a further test: quoted to the patient before the letter.
                self._extra_test(opinion_at, now, _OUTCOMES_AFTER)

        final = sum(
            line.quantity * line.price
            for line in self._lines
            if line.kind == _FINAL and not line.removed
        )
        if charged_at is not None and final > 0:
            self._settle(status, final, charged_at, anchor)
        elif anchor is not None and status in _UNCHARGED and rng.random() < 0.5:
            self._deposit(anchor, now)
        elif anchor is not None and status == _CANCELLED and rng.random() < 0.35:
            cancelled = at[_CANCELLED]
            self._deposit(anchor, cancelled)
            if rng.random() < 0.85:
                amount, _, _, method, _, _ = self._payments[-1]
                refunded = cancelled + min(now - cancelled, 10 * _DAY) * rng.uniform(0.05, 0.9)
                self._pay(-amount, refunded, method, "Case cancelled: the deposit returned")
        self._write(case_id, row, actor)

    def _quote(self, a: _Assigned, gone: datetime | None) -> _Line | None:
        """The reviewer's fee quoted on assignment (as services.costs.quote_specialist_fee
        does), and taken off again when they decline or are replaced."""
        service = self.services.get(ROLE_SERVICE_CODES[a.role])
        price = a.reviewer.fee_minor or (service.price if service else 0)
        if price <= 0:
            return None
        label = service.name if service else a.role.label
        line = self._new(
            service.id if service else None, a.id, f"{label}: {a.reviewer.name}", 1, price, a.asked
        )
        self._event(a.asked, f"Quoted {self._described(line, kind=False)} on assignment.")
        if gone is not None:
            line.removed = True
            self._event(
                gone, f"Removed {self._described(line)}: {a.reviewer.name} will not review."
            )
        return line

    def _extra_test(self, start: datetime, end: datetime, odds: tuple[int, ...]) -> None:
        """A test the specialist asks for: quoted, then maybe approved (and done) or declined."""
        rng = self.rng
        service = rng.choices(self._tests, cum_weights=self._test_odds)[0]
        proposed = start + (end - start) * rng.uniform(0.05, 0.4)
        line = self._new(
            service.id, None, service.name, 1, service.price, proposed, approval=_PENDING
        )
        self._event(proposed, f"Added {self._described(line)}.")
        outcome = rng.choices(_TEST_OUTCOMES, cum_weights=odds)[0]
        if outcome == "pending":
            return
        answered = proposed + (end - proposed) * rng.uniform(0.05, 0.5)
        line.approval = _DECLINED if outcome == "declined" else _APPROVED
        line.approval_on = answered.astimezone().date()  # the office's day, as services take it
        line.updated_at = answered
        line.version += 1
        self._event(
            answered,
            f"The patient {line.approval} '{line.description}' on {line.approval_on.isoformat()}.",
        )
        if outcome == "charged":
            self._charge(line, answered + (end - answered) * rng.uniform(0.1, 0.8))

    def _settle(self, status: str, final: int, charged_at: datetime, anchor: _Line | None) -> None:
        """Payments of a charged case: settled, partly, not yet, or paid twice (and refunded)."""
        rng, now = self.rng, self.now
        story = rng.choices(_SETTLE, cum_weights=_SETTLE_ODDS[status])[0]
        if story == "unpaid":
            return
        paid = 0
        if anchor is not None and rng.random() < 0.3:  # a deposit before the work
            paid = self._deposit(anchor, charged_at)
        after = charged_at + min(now - charged_at, 30 * _DAY) * rng.uniform(0.02, 0.6)
        method = self._method()
        due = final - paid
        if story == "partly":
            if paid and rng.random() < 0.5:
                return  # the deposit was all so far
            if method is M.INSURANCE:  # the insurer's share of the bill
                share = self._round(due * rng.choice((60, 70, 80, 90)) // 100, 1)
            else:  # a first instalment, in round figures
                share = self._round(due * rng.randint(30, 70) // 100, 50)
            if share > 0:
                self._pay(share, after, method)
            return
        if due > 0:
            self._pay(due, after, method)
        if story in ("over_refunded", "over"):
            twice = after + min(now - after, 20 * _DAY) * rng.uniform(0.05, 0.5)
            if method is M.INSURANCE or rng.random() < 0.5:  # the same bill paid again
                extra = due or final
                why = "Paid twice; the second payment returned"
                self._pay(extra, twice, method if method is not M.INSURANCE else M.BANK_TRANSFER)
            else:  # the insurer paid the whole bill as well
                extra = final
                why = "The insurer paid the bill as well; the patient's payment returned"
                self._pay(extra, twice, M.INSURANCE)
            if story == "over_refunded":
                back = twice + min(now - twice, 14 * _DAY) * rng.uniform(0.1, 0.9)
                self._pay(-extra, back, M.BANK_TRANSFER, why)

    def _deposit(self, anchor: _Line, before: datetime) -> int:
        """Part or all of the quoted fee, paid between the quote and `before`."""
        rng = self.rng
        moment = anchor.created_at + (before - anchor.created_at) * rng.uniform(0.1, 0.9)
        amount = anchor.price if rng.random() < 0.5 else self._round(anchor.price // 2, 1)
        if amount <= 0:
            return 0
        self._pay(amount, moment, rng.choice((M.CARD, M.BANK_TRANSFER)))
        return amount

    def _round(self, amount: int, major: int) -> int:
        """Down to a multiple of `major` whole units: part payments come in round figures."""
        step = major * self._unit
        return amount // step * step

    def _method(self) -> PaymentMethod:
        return self.rng.choices(_METHODS, cum_weights=_METHOD_ODDS)[0]

    def _reference(self, method: PaymentMethod, day: str) -> str:
        rng = self.rng
        if method is M.CARD:
            return f"POS {rng.randrange(100000, 1000000)}"
        if method is M.BANK_TRANSFER:
            return f"TRF {day.replace('-', '')}-{rng.randrange(1000, 10000)}"
        if method is M.INSURANCE:
            return f"{rng.choice(_INSURERS)} claim {rng.randrange(10**7, 10**8)}"
        return f"Receipt {rng.randrange(1000, 10000)}" if rng.random() < 0.7 else ""

    def _pay(self, amount: int, moment: datetime, method: PaymentMethod, reason: str = "") -> None:
        day = moment.astimezone().date().isoformat()  # the office's day, as services take it
        reference = self._reference(method, day) if amount > 0 else ""
        self._payments.append((amount, moment, day, method, reference, reason))
        # As services.costs.add_payment words it.
        action = (
            f"{'Refunded' if amount < 0 else 'Received'} {self._iso(abs(amount))}"
            f" by {method.label.lower()} on {day}"
            + (f" (ref. {reference})" if reference else "")
            + "."
        )
        self._event(moment, action, reason)

    def _new(
        self,
        service_id: int | None,
        assignment_id: int | None,
        description: str,
        quantity: int,
        price: int,
        moment: datetime,
        *,
        approval: str = _NOT_NEEDED,
    ) -> _Line:
        """A quoted line (the demo charges what was quoted, as the office does)."""
        line = _Line(
            service_id,
            assignment_id,
            description,
            quantity,
            price,
            _ESTIMATE,
            approval,
            moment,
            moment,
        )
        self._lines.append(line)
        return line

    def _charge(self, line: _Line, moment: datetime) -> None:
        line.kind = _FINAL
        line.updated_at = moment
        line.version += 1
        self._event(moment, f"Charged {self._described(line, kind=False)}.")

    def _event(self, moment: datetime, action: str, reason: str = "") -> None:
        self._events.append((moment, len(self._events), action, reason))

    def _iso(self, minor: int) -> str:
        text = self._money.get(minor)
        if text is None:
            text = self._money[minor] = format_iso(minor, self.currency)
        return text

    def _described(self, line: _Line, *, kind: bool = True) -> str:
        """As services.costs._describe: "estimate 'PET-CT scan', EUR 1100.00"."""
        quantity = f"{line.quantity} × " if line.quantity != 1 else ""
        described = f"'{line.description}', {quantity}{self._iso(line.price)}"
        return f"{line.kind} {described}" if kind else described

    def _write(self, case_id: int, row: dict[str, Any], actor: str) -> None:
        events = self._events
        events.sort()
        # Every line and payment was written at the moment of one of the case's events.
        stamps = {moment: _stamp(moment) for moment, _, _, _ in events}
        self.event_rows.extend(
            (case_id, stamps[moment], actor, action, reason) for moment, _, action, reason in events
        )
        final = estimated = pending = 0
        for line in self._lines:
            if line.removed:
                continue
            self.lines_made += 1
            # The totals as domain.costs.totals sums them.
            if line.kind == _FINAL:
                final += line.quantity * line.price
            elif line.approval != _DECLINED:
                estimated += line.quantity * line.price
                pending += line.approval == _PENDING
            self.line_rows.append(
                (
                    case_id,
                    line.service_id,
                    line.assignment_id,
                    line.description,
                    line.quantity,
                    line.price,
                    line.kind,
                    line.approval,
                    line.approval_on.isoformat() if line.approval_on else None,
                    actor if line.approval_on else None,
                    stamps[line.created_at],
                    actor,
                    stamps[line.updated_at],
                    actor,
                    line.version,
                )
            )
        paid = 0
        for amount, moment, day, method, reference, reason in self._payments:
            paid += amount
            self.payment_rows.append(
                (
                    case_id,
                    amount,
                    day,
                    method.value,
                    reference,
                    reason,
                    stamps[moment],
                    actor,
                )
            )
        self.payments_made += len(self._payments)
        row["charges_minor"] = final
        row["estimate_minor"] = estimated
        row["balance_minor"] = final - paid
        row["awaiting_approval"] = pending
        if events and events[-1][0] > row["updated_at"]:  # a cost change is a case change
            row["updated_at"] = events[-1][0]
            row["updated_by"] = actor

    def flush(self, raw: sqlite3.Connection) -> None:
        raw.executemany(
            "INSERT INTO cost_lines (case_id, service_id, assignment_id, description, quantity, "
            "unit_price_minor, kind, approval, approval_on, approval_by, created_at, created_by, "
            "updated_at, updated_by, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.line_rows,
        )
        raw.executemany(
            "INSERT INTO payments (case_id, amount_minor, paid_on, method, reference, reason, "
            "recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self.payment_rows,
        )
        raw.executemany(
            "INSERT INTO cost_events (case_id, at, actor, action, reason) VALUES (?, ?, ?, ?, ?)",
            self.event_rows,
        )
        self.line_rows.clear()
        self.payment_rows.clear()
        self.event_rows.clear()
