"""Realistic, invented demo cases: every status, many scripts, deterministic for a seed.

Each case has the documents its cancer type's checklist asks for, in states that fit its
status, and open cases carry a few real files (stored once, shared) whose text is searchable.
Written with bulk inserts so that 100,000 cases take seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sqlite3
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from referral_desk.db.engine import Database
from referral_desk.db.models import (
    Blob,
    BlobText,
    Case,
    CaseReason,
    ChecklistItem,
    Patient,
    ReferenceCounter,
    Referrer,
    StatusChange,
)
from referral_desk.domain import clock
from referral_desk.domain.clock import ClockFacts
from referral_desk.domain.documents import DocumentStatus
from referral_desk.domain.enums import CaseStatus, Reason, Sex, Urgency
from referral_desk.domain.file_rules import SNIFF_BYTES, classify
from referral_desk.domain.text import fold, full_name
from referral_desk.domain.workflow import CLOSED_STATUSES
from referral_desk.pdf.report import render_report
from referral_desk.resource_files import resource_path
from referral_desk.services import pdf_text, search_index
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
    # Documents draw from their own stream: the cases of a seed stay what they always were.
    doc_rng = random.Random(f"documents-{seed}")
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
                actor = rng.choice(DEMO_ACTORS)
                row, history = _timeline(rng, received_at, now, status, urgency, case_id, actor)
                missing, last_change, document_text = records.add(
                    case_id, cancer_type, status, history, actor
                )
                row["missing_documents"] = missing
                if last_change is not None and last_change > row["updated_at"]:
                    row["updated_at"] = last_change  # a document arrived or was chased since
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
    return DemoResult(count, patients_made, records.documents_made, records.files_made)


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
