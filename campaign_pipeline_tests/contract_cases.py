"""The campaign dataset contract as executable cases.

Each ContractCase is a small portal export (one Job object a line) with the
dataset rows and exclusion rows that /work/shared/contract/campaign-dataset.md
(rules 1-8, "Precise readings") and portal-api.yaml demand of it. The expected
values are written from the contract by hand, not produced by any
implementation. `run_case` runs one case against any implementation with the
signature

    build(export_path, *, segments, job_ids, groups, contact_sources,
          suppress_paths, region) -> (dataset_csv: bytes, exclusions_csv: bytes)

and checks the parsed CSVs and their exact bytes (header, `\\n` line ends,
quoting only where RFC 4180 needs it).

Phones used below (default region FI unless a case says otherwise):

    written          E.164            masked
    040 123 4567     +358401234567    +35840*****67
    050 123 4567     +358501234567    +35850*****67
    045 123 4567     +358451234567    +35845*****67
    040 765 4321     +358407654321    +35840*****21
    044 123 4567     +358441234567    +35844*****67
    041 234 5678     +358412345678    +35841*****78
    050 765 4321     +358507654321    +35850*****21
    045 765 4321     +358457654321    +35845*****21
    040 111 2222     +358401112222    +35840*****22
    050 333 4444     +358503334444    +35850*****44

Not SMS-capable: 09 1234567 (fixed line), 010 123 4567 (UAN, and so is
070 123 4567 read in FI), 0600 123456 (premium rate); not valid: 12345,
+44 7700 900123; not parsable: "call my mum", "".
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

DATASET_COLUMNS = (
    "organization_id",
    "segment",
    "phone",
    "region",
    "first_name",
    "last_name",
    "job_id",
    "job_name",
    "activity_id",
    "activity_name",
    "group_name",
    "subject_id",
    "access_key",
    "contact_source",
    "consent_at",
    "locale",
    "subject_count",
    "subject_ids",
    "access_keys",
)
EXCLUSION_COLUMNS = (
    "organization_id",
    "segment",
    "job_id",
    "activity_id",
    "subject_id",
    "reason",
    "detail",
)
BOTH = ("buyer", "non_buyer")


@dataclass(frozen=True)
class ContractCase:
    name: str
    lines: list[Any]
    expected_rows: list[dict[str, Any]]
    expected_exclusions: list[dict[str, str]]
    segments: tuple[str, ...] = BOTH
    job_ids: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    contact_sources: tuple[str, ...] | None = None
    suppress: tuple[str, ...] = ()
    region: str = "FI"
    # Extras beyond the brief's fields (all defaulted):
    gzip: bool = False  # write the export gzip-compressed
    export_name: str | None = None  # file name; default export.jsonl / export.jsonl.gz
    unreadable: bool = False  # the build must raise ExportUnreadable
    note: str = field(default="", compare=False)


# ---------------------------------------------------------------------------
# Phones.
# ---------------------------------------------------------------------------

PA, EA, MA = "040 123 4567", "+358401234567", "+35840*****67"
PB, EB, MB = "050 123 4567", "+358501234567", "+35850*****67"
PC, EC, MC = "045 123 4567", "+358451234567", "+35845*****67"
PD, ED, MD = "040 765 4321", "+358407654321", "+35840*****21"
PE, EE = "044 123 4567", "+358441234567"
PF, EF, MF = "041 234 5678", "+358412345678", "+35841*****78"
PG, EG = "050 765 4321", "+358507654321"
PH, EH = "045 765 4321", "+358457654321"
PI, EI = "040 111 2222", "+358401112222"
PJ, EJ = "050 333 4444", "+358503334444"
LANDLINE = "09 1234567"
UAN = "010 123 4567"
PREMIUM = "0600 123456"

# ---------------------------------------------------------------------------
# Builders of portal objects. MISSING drops a key; any keyword that is not a
# parameter is added to (or overrides) the object as is.
# ---------------------------------------------------------------------------

MISSING: Any = object()
SELLING = "webshop_selling"
UPDATED = "2026-03-01T10:00:00+02:00"
LATER = "2026-03-01T11:00:00+02:00"
CONSENT_AT = "2026-02-01T12:00:00+02:00"
CONSENT_AT_UTC = "2026-02-01T10:00:00Z"
CREATED = "2026-02-10T09:00:00+02:00"


def _obj(fields: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = {**fields, **extra}
    return {key: value for key, value in merged.items() if value is not MISSING}


def job(*activities, id="J1", org="O1", name="Spring 2026", status=SELLING, **extra):
    return _obj(
        {
            "id": id,
            "organization_id": org,
            "name": name,
            "status": status,
            "selling_ends_at": "2026-04-30T23:59:59+03:00",
            "updated_at": "2026-02-20T08:00:00+02:00",
            "activities": list(activities),
        },
        extra,
    )


def activity(*subjects, id="A1", job_id="J1", name="Class 5B", group="5B", **extra):
    return _obj(
        {"id": id, "job_id": job_id, "name": name, "group_name": group, "subjects": list(subjects)},
        extra,
    )


def subject(
    id="S1",
    *,
    activity_id="A1",
    first="Aino",
    last="Virtanen",
    updated=UPDATED,
    group=None,
    key=None,
    user=None,
    deliveries=(),
    orders=(),
    **extra,
):
    return _obj(
        {
            "id": id,
            "activity_id": activity_id,
            "first_name": first,
            "last_name": last,
            "group_name": group,
            "access_key": key,
            "updated_at": updated,
            "user": user,
            "deliveries": deliveries,
            "orders": orders,
        },
        extra,
    )


def user(phone, *, consent=True, consent_at=CONSENT_AT, locale="fi-FI", id="U1", **extra):
    return _obj(
        {
            "id": id,
            "phone": phone,
            "email": "someone@example.com",
            "sms_consent": consent,
            "sms_consent_at": consent_at,
            "locale": locale,
        },
        extra,
    )


def delivery(phone, created_at=CREATED, *, consent=True, consent_at=CONSENT_AT, locale="fi-FI", id="D1", **extra):
    return _obj(
        {
            "id": id,
            "phone": phone,
            "email": "someone@example.com",
            "sms_consent": consent,
            "sms_consent_at": consent_at,
            "locale": locale,
            "created_at": created_at,
        },
        extra,
    )


def order(status="paid", *, id="OR1", created_at="2026-03-02T12:00:00+02:00", total_cents=2500, currency="EUR", **extra):
    return _obj(
        {"id": id, "status": status, "total_cents": total_cents, "currency": currency, "created_at": created_at},
        extra,
    )


# ---------------------------------------------------------------------------
# Expected rows.
# ---------------------------------------------------------------------------


def row(
    phone,
    *,
    subject_id="S1",
    org="O1",
    segment="non_buyer",
    region="FI",
    first="Aino",
    last="Virtanen",
    job_id="J1",
    job_name="Spring 2026",
    activity_id="A1",
    activity_name="Class 5B",
    group="5B",
    key="",
    source="user",
    consent_at=CONSENT_AT_UTC,
    locale="fi-FI",
    subject_ids=None,
    access_keys=None,
):
    subject_ids = subject_id if subject_ids is None else subject_ids
    access_keys = key if access_keys is None else access_keys
    return {
        "organization_id": org,
        "segment": segment,
        "phone": phone,
        "region": region,
        "first_name": first,
        "last_name": last,
        "job_id": job_id,
        "job_name": job_name,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "group_name": group,
        "subject_id": subject_id,
        "access_key": key,
        "contact_source": source,
        "consent_at": consent_at,
        "locale": locale,
        "subject_count": len(subject_ids.split(";")),
        "subject_ids": subject_ids,
        "access_keys": access_keys,
    }


def excl(reason, subject_id="S1", *, segment="non_buyer", detail="", org="O1", job_id="J1", activity_id="A1"):
    return {
        "organization_id": org,
        "segment": segment,
        "job_id": job_id,
        "activity_id": activity_id,
        "subject_id": subject_id,
        "reason": reason,
        "detail": detail,
    }


def bad_subject(subject_id, *, org="O1", job_id="J1", activity_id="A1"):
    return excl("invalid_record", subject_id, segment="", detail="malformed subject",
                org=org, job_id=job_id, activity_id=activity_id)


def bad_activity(activity_id, *, org="O1", job_id="J1"):
    return excl("invalid_record", "", segment="", detail="malformed activity",
                org=org, job_id=job_id, activity_id=activity_id)


def bad_job(job_id, *, org="O1"):
    return excl("invalid_record", "", segment="", detail="malformed job", org=org, job_id=job_id, activity_id="")


NOT_AN_OBJECT = excl("invalid_record", "", segment="", detail="not a JSON object", org="", job_id="", activity_id="")


CASES: list[ContractCase] = []


def case(name, lines, rows, exclusions, **options):
    CASES.append(ContractCase(name, lines, rows, exclusions, **options))


# ===========================================================================
# Rule 1: records. Strict, whole-record validation; quarantine rows.
# ===========================================================================

case(
    "r1_valid_record_becomes_row",
    [job(activity(subject("S1", key="AK1", user=user(PA))))],
    [row(EA, key="AK1")],
    [],
)

case(
    "r1_unknown_fields_ignored",
    [
        job(
            activity(
                subject(
                    "S1",
                    user=user(PA, verified="yes", sms_consent_source=7),
                    orders=[order("paid", refund=None, lines=[{"sku": 1}])],
                    favourite_colour=["blue"],
                ),
                photographer={"id": 5},
            ),
            studio=None,
            tags=["a", 1],
        )
    ],
    [row(EA, segment="buyer")],
    [],
)

case(
    "r1_optional_fields_absent",
    [
        {
            "id": "J1",
            "organization_id": "O1",
            "name": "Spring 2026",
            "status": SELLING,
            "activities": [
                {
                    "id": "A1",
                    "job_id": "J1",
                    "name": "Class 5B",
                    "subjects": [
                        {"id": "S1", "activity_id": "A1", "first_name": "Aino", "last_name": "Virtanen",
                         "updated_at": UPDATED, "user": {"phone": PA, "sms_consent": True}},
                        {"id": "S2", "activity_id": "A1", "first_name": "Eero", "last_name": "Virtanen",
                         "updated_at": UPDATED},
                        {"id": "S3", "activity_id": "A1", "first_name": "Liisa", "last_name": "Virtanen",
                         "updated_at": UPDATED, "deliveries": [{"phone": PB, "sms_consent": True}],
                         "orders": [{"id": "OR1", "status": "paid", "created_at": UPDATED}]},
                    ],
                }
            ],
        }
    ],
    [
        row(EB, subject_id="S3", segment="buyer", first="Liisa", group="", source="delivery", consent_at="", locale=""),
        row(EA, subject_id="S1", group="", consent_at="", locale=""),
    ],
    [excl("no_phone", "S2")],
)

case(
    "r1_nullable_fields_null",
    [
        job(
            activity(
                subject(
                    "S1",
                    group=None,
                    key=None,
                    user=None,
                    deliveries=[
                        {"id": "D1", "phone": PA, "email": None, "sms_consent": True,
                         "sms_consent_at": None, "locale": None, "created_at": CREATED}
                    ],
                ),
                group=None,
            ),
            selling_ends_at=None,
        )
    ],
    [row(EA, group="", source="delivery", consent_at="", locale="")],
    [],
)

case(
    "r1_malformed_job",
    [
        # organization_id not a string; nothing under it is read (not even its bad subject)
        job(activity(subject("S1", first=None), subject("S2", user=user(PA))), id="J1", org=7),
        job(activity(subject("S2", user=user(PB))), id=MISSING),
        job(id=9),
        job(id="J3", name=None),
        job(id="J4", activities={"A1": {}}),
        job(id="J5", updated_at=None),
        job(id="J6", selling_ends_at="2026-04-30"),
        job(id="J8", org=MISSING),
        job(id="J10", activities=None),
        job(
            activity(subject("S1", user=user(PA)), id="A7", job_id="J7"),
            id="J7",
            selling_ends_at=None,
            updated_at=MISSING,
        ),
    ],
    [row(EA, job_id="J7", activity_id="A7")],
    [
        bad_job("J1", org=""),
        bad_job("J8", org=""),
        bad_job(""),
        bad_job(""),
        bad_job("J10"),
        bad_job("J3"),
        bad_job("J4"),
        bad_job("J5"),
        bad_job("J6"),
    ],
)

case(
    "r1_malformed_activity",
    [
        job(
            activity(subject("S1", user=user(PA)), id="A1"),
            activity(subject("S2", user=user(PB)), id="A2", name=MISSING),
            "A3",
            activity(id="A4", subjects={"S4": subject("S4", activity_id="A4", user=user(PC))}),
            activity(subject("S5", activity_id="A5", user=user(PC)), id="A5", group=5),
            activity(subject("S6", activity_id="A6", user=user(PC)), id="A6", job_id=None),
            activity(subject("S7", user=user(PC)), id=7),
            {"id": "A8", "job_id": "J1", "name": "No subjects key"},
            activity(id="A9", subjects=None),
            activity(subject("S2", activity_id="A10", user=user(PB)), id="A10", group=None),
            None,
        )
    ],
    [
        row(EA, subject_id="S1"),
        row(EB, subject_id="S2", activity_id="A10", group=""),
    ],
    [
        bad_activity(""),
        bad_activity(""),
        bad_activity(""),
        bad_activity("A2"),
        bad_activity("A4"),
        bad_activity("A5"),
        bad_activity("A6"),
        bad_activity("A9"),
    ],
)

case(
    "r1_malformed_subject_fields",
    [
        job(
            activity(
                subject("S1", user=user(PA), favourite_colour="blue"),
                subject("S2", first=MISSING, user=user(PB)),
                subject("S3", last=None, user=user(PB)),
                subject("S4", activity_id=MISSING, user=user(PB)),
                subject("S5", updated=MISSING, user=user(PB)),
                subject("S6", group=5, user=user(PB)),
                subject("S7", key=123, user=user(PB)),
                subject("S8", orders=None, user=user(PB)),
                subject("S9", deliveries=None, user=user(PB)),
                subject("S10", user="0401234567"),
                subject("S11", user=[]),
                subject(12, user=user(PB)),
                "S13",
                subject(None, user=user(PB)),
                subject(MISSING, user=user(PB)),
                subject("S14", first=["Aino"], user=user(PB)),
                subject("S15", deliveries={"D1": delivery(PB)}),
                subject("S16", updated="", user=user(PB)),
                subject("S17", key=False, user=user(PB)),
                subject("S18", activity_id=1, user=user(PB)),
            )
        )
    ],
    [row(EA)],
    [
        bad_subject(""),
        bad_subject(""),
        bad_subject(""),
        bad_subject(""),
        bad_subject("S10"),
        bad_subject("S11"),
        bad_subject("S14"),
        bad_subject("S15"),
        bad_subject("S16"),
        bad_subject("S17"),
        bad_subject("S18"),
        bad_subject("S2"),
        bad_subject("S3"),
        bad_subject("S4"),
        bad_subject("S5"),
        bad_subject("S6"),
        bad_subject("S7"),
        bad_subject("S8"),
        bad_subject("S9"),
    ],
)

case(
    "r1_malformed_subject_contacts",
    [
        job(
            activity(
                subject("S1", user={}, deliveries=[delivery(PA)]),
                subject("S2", user=user(PB, consent="yes")),
                subject("S3", user=user(PB, consent=1)),
                subject("S4", user=user(401234567)),
                subject("S5", user=user(PB, id=None)),
                subject("S6", user=user(PB, consent_at="2026-02-01 12:00:00+02:00")),
                subject("S7", user=user(PB, locale=5)),
                subject("S8", user=user(PB, email=False)),
                subject("S9", deliveries=[delivery(PB, None)]),
                subject("S10", deliveries=[delivery(PB, "2026-02-01T12:00:00")]),
                subject("S11", deliveries=["0401234567"]),
                subject("S12", deliveries=[delivery(PB, id=5)]),
                subject("S13", deliveries=[delivery(PA), delivery(PB, consent="true")]),
                subject("S14", user=user(PB, consent=0)),
                subject("S15", user=user(PB, consent_at=1770000000)),
                subject("S16", user=True),
                subject("S17", deliveries=[None]),
            )
        )
    ],
    [row(EA, source="delivery")],
    [
        bad_subject("S10"),
        bad_subject("S11"),
        bad_subject("S12"),
        bad_subject("S13"),
        bad_subject("S14"),
        bad_subject("S15"),
        bad_subject("S16"),
        bad_subject("S17"),
        bad_subject("S2"),
        bad_subject("S3"),
        bad_subject("S4"),
        bad_subject("S5"),
        bad_subject("S6"),
        bad_subject("S7"),
        bad_subject("S8"),
        bad_subject("S9"),
    ],
)

case(
    "r1_malformed_subject_orders",
    [
        job(
            activity(
                subject(
                    "S1",
                    user=user(PA),
                    orders=[
                        order("pending", total_cents=0),
                        {"id": "OR2", "status": "cancelled", "created_at": UPDATED},
                    ],
                ),
                subject("S2", user=user(PB), orders=[order("PAID")]),
                subject("S3", user=user(PB), orders=[order("unknown")]),
                subject("S4", user=user(PB), orders=[order(MISSING)]),
                subject("S5", user=user(PB), orders=[order(id=5)]),
                subject("S6", user=user(PB), orders=[order(created_at=MISSING)]),
                subject("S7", user=user(PB), orders=[order(total_cents=25.0)]),
                subject("S8", user=user(PB), orders=[order(total_cents=True)]),
                subject("S9", user=user(PB), orders=[order(total_cents="2500")]),
                subject("S10", user=user(PB), orders=[order(currency=None)]),
                subject("S11", user=user(PB), orders={}),
                subject("S12", user=user(PB), orders=["paid"]),
                subject("S13", user=user(PB), orders=[order(total_cents=None)]),
                subject("S14", user=user(PB), orders=[order(None)]),
                subject("S15", user=user(PB), orders=[order(created_at="2026-03-02")]),
                subject("S16", user=user(PB), orders=[order(), order(id=None)]),
            )
        )
    ],
    [row(EA)],
    [
        bad_subject("S10"),
        bad_subject("S11"),
        bad_subject("S12"),
        bad_subject("S13"),
        bad_subject("S14"),
        bad_subject("S15"),
        bad_subject("S16"),
        bad_subject("S2"),
        bad_subject("S3"),
        bad_subject("S4"),
        bad_subject("S5"),
        bad_subject("S6"),
        bad_subject("S7"),
        bad_subject("S8"),
        bad_subject("S9"),
    ],
)

case(
    "r1_timestamps",
    [
        job(
            activity(
                # valid
                subject("S1", updated="2026-03-01T10:00:00Z", user=user(PA)),
                subject("S2", updated="2026-03-01T10:00:00.123456789+05:30", user=user(PB)),
                subject("S3", updated="2024-02-29T10:00:00Z", user=user(PC)),
                subject("S26", updated="2026-03-01T10:00:00-00:00", user=user(PD)),
                subject("S30", updated="0001-01-01T00:00:00+01:00", user=user(PE)),
                subject("S31", updated="9999-12-31T23:59:59-23:59", user=user(PF)),
                # not valid
                subject("S4", updated="2026-03-01t10:00:00Z", user=user(PG)),
                subject("S5", updated="2026-03-01T10:00:00z", user=user(PG)),
                subject("S6", updated="2026-03-01 10:00:00Z", user=user(PG)),
                subject("S7", updated="2026-03-01T10:00:00+0200", user=user(PG)),
                subject("S8", updated="2026-03-01T10:00:00", user=user(PG)),
                subject("S9", updated="2026-02-29T10:00:00Z", user=user(PG)),
                subject("S10", updated="2026-04-31T10:00:00Z", user=user(PG)),
                subject("S11", updated="2026-13-01T10:00:00Z", user=user(PG)),
                subject("S12", updated="2026-03-01T24:00:00Z", user=user(PG)),
                subject("S13", updated="2026-03-01T10:60:00Z", user=user(PG)),
                subject("S14", updated="2026-03-01T10:00:60Z", user=user(PG)),
                subject("S15", updated="2026-03-01T10:00:00+24:00", user=user(PG)),
                subject("S16", updated="2026-03-01T10:00:00+02:60", user=user(PG)),
                subject("S17", updated="0000-03-01T10:00:00Z", user=user(PG)),
                subject("S18", updated="2026-03-01T10:00:00.Z", user=user(PG)),
                subject("S19", updated="2026-3-01T10:00:00Z", user=user(PG)),
                subject("S20", updated="2026-03-01T10:00Z", user=user(PG)),
                subject("S21", updated=1772352000, user=user(PG)),
                subject("S22", updated="2026-03-01T10:00:00Z\n", user=user(PG)),
                subject("S23", updated="\u0662\u0660\u0662\u0666-03-01T10:00:00Z", user=user(PG)),
                subject("S24", updated=" 2026-03-01T10:00:00Z", user=user(PG)),
                subject("S25", updated="2026-03-01T10:00:00,5Z", user=user(PG)),
                subject("S27", updated="2026-03-01T10:00:00+02:00:00", user=user(PG)),
                subject("S28", updated="+2026-03-01T10:00:00Z", user=user(PG)),
                subject("S29", updated="2026-03-01T10:00:00.5+02", user=user(PG)),
                subject("S32", updated="2026-00-10T10:00:00Z", user=user(PG)),
                subject("S33", updated="2026-03-00T10:00:00Z", user=user(PG)),
                subject("S34", updated="1900-02-29T10:00:00Z", user=user(PG)),
                subject("S35", updated=None, user=user(PG)),
            )
        )
    ],
    [
        row(EA, subject_id="S1"),
        row(EB, subject_id="S2"),
        row(ED, subject_id="S26"),
        row(EC, subject_id="S3"),
        row(EE, subject_id="S30"),
        row(EF, subject_id="S31"),
    ],
    [
        bad_subject(f"S{n}")
        for n in (10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 29,
                  32, 33, 34, 35, 4, 5, 6, 7, 8, 9)
    ],
    note="2024-02-29 is a real date; 2026-02-29 and 1900-02-29 are not",
)

case(
    "r1_not_json_object_lines",
    [
        "[1, 2]",
        '"a job"',
        "",
        "42",
        "   ",
        "null",
        "\t",
        "true",
        "{}",
        job(activity(subject("S1", user=user(PA)))),
    ],
    [row(EA)],
    [NOT_AN_OBJECT] * 5,
    note="{} has no selling status, so it is skipped silently",
)

case(
    "r1_unreadable_line",
    [job(activity(subject("S1", user=user(PA)))), "{not json"],
    [],
    [],
    unreadable=True,
)

case(
    "r1_unreadable_nan",
    [job(activity(subject("S1", user=user(PA)))), "NaN"],
    [],
    [],
    unreadable=True,
)

case(
    "r1_unreadable_truncated_line_of_non_selling_job",
    ['{"id": "J2", "organization_id": "O1", "name": "Old", "status": "closed", "activities": [',
     job(activity(subject("S1", user=user(PA))))],
    [],
    [],
    unreadable=True,
)

case(
    "r1_non_selling_jobs_skipped_before_validation",
    [
        job(activity(subject("S1", user=user(PA)))),
        job(activity(subject("S2", user=user(PB))), id="J2", org=7, status="draft"),
        job(id=MISSING, status="closed"),
        job(activity(subject("S3", first=None)), id="J3", status="WEBSHOP_SELLING"),
        job(activity(subject("S4", user=user(PB))), id="J4", status=MISSING),
        job(id="J5", status=None),
        job(id="J6", status=1),
        job(id="J7", status="webshop_selling "),
        job(id="J8", status=["webshop_selling"]),
        job(id="J9", status="closed", activities="not a list"),
    ],
    [row(EA)],
    [],
)

# ===========================================================================
# Rule 2: duplicates by (activity_id, subject_id); latest updated_at instant.
# ===========================================================================

case(
    "r2_latest_updated_at_wins",
    [
        job(
            activity(
                subject("S1", updated="2026-03-01T10:00:00+02:00", user=user(PA)),
                subject("S1", updated="2026-03-01T12:00:00+02:00", first="Aina", user=user(PB)),
                subject("S1", updated="2026-03-01T11:00:00+02:00", first="Aili", user=user(PC)),
            )
        )
    ],
    [row(EB, first="Aina")],
    [],
)

case(
    "r2_tie_across_offsets_first_seen_wins",
    [
        job(
            activity(
                subject("S1", updated="2026-03-01T10:00:00+02:00", user=user(PA)),
                subject("S2", updated="2026-03-01T08:00:00Z", user=user(PC)),
            )
        ),
        # the same job again (a repeated page), same instants written differently
        job(
            activity(
                subject("S1", updated="2026-03-01T08:00:00Z", first="Aina", user=user(PB)),
                subject("S2", updated="2026-03-01T03:00:00-05:00", first="Aina", user=user(PD)),
            )
        ),
    ],
    [row(EA, subject_id="S1"), row(EC, subject_id="S2")],
    [],
)

case(
    "r2_instants_not_strings",
    [
        job(
            activity(
                # 11:00+05:00 is 06:00Z, earlier than 07:00Z although its string sorts later
                subject("S1", updated="2026-03-01T11:00:00+05:00", user=user(PA)),
                subject("S1", updated="2026-03-01T07:00:00Z", user=user(PB)),
                subject("S2", updated="2026-03-01T07:00:00Z", user=user(PC)),
                subject("S2", updated="2026-03-01T11:00:00+05:00", user=user(PD)),
            )
        )
    ],
    [row(EB, subject_id="S1"), row(EC, subject_id="S2")],
    [],
)

case(
    "r2_fractional_seconds",
    [
        job(
            activity(
                subject("S1", updated="2026-03-01T10:00:00.5Z", user=user(PA)),
                subject("S1", updated="2026-03-01T12:00:00.500+02:00", user=user(PB)),
                subject("S2", updated="2026-03-01T10:00:00Z", user=user(PC)),
                subject("S2", updated="2026-03-01T10:00:00.001Z", user=user(PD)),
                subject("S3", updated="2026-03-01T10:00:00.999999999Z", user=user(PE)),
                subject("S3", updated="2026-03-01T10:00:00.99999999Z", user=user(PF)),
            )
        )
    ],
    [row(EA, subject_id="S1"), row(ED, subject_id="S2"), row(EE, subject_id="S3")],
    [],
)

case(
    "r2_invalid_records_do_not_compete",
    [
        job(
            activity(
                subject("S1", updated=UPDATED, user=user(PA)),
                subject("S1", updated=LATER, first=None, user=user(PB)),
                subject("S2", updated=LATER, last=None, user=user(PD)),
                subject("S2", updated=UPDATED, user=user(PC)),
            )
        )
    ],
    [row(EA, subject_id="S1"), row(EC, subject_id="S2")],
    [bad_subject("S1"), bad_subject("S2")],
)

case(
    "r2_repeated_invalid_record_is_quarantined_each_time",
    [
        job(activity(subject("S1", user=user(PA)), subject("S2", first=None))),
        job(activity(subject("S1", user=user(PA)), subject("S2", first=None))),
    ],
    [row(EA)],
    [bad_subject("S2"), bad_subject("S2")],
    note="duplicates collapse among valid records only; every bad record is one quarantine row",
)

case(
    "r2_enclosing_activity_and_job_ids",
    [
        job(
            activity(
                subject("S1", activity_id="A-elsewhere", updated=UPDATED, user=user(PA)),
                subject("S1", activity_id="A1", updated=LATER, user=user(PB)),
                subject("S2", activity_id="A2", user=user(PC)),
                id="A1",
                job_id="J-other",
            ),
            activity(subject("S2", activity_id="A2", user=user(PD)), id="A2", name="Class 6A", group="6A"),
        )
    ],
    [
        row(EB, subject_id="S1"),
        row(EC, subject_id="S2"),
        row(ED, subject_id="S2", activity_id="A2", activity_name="Class 6A", group="6A"),
    ],
    [],
    note="a record's activity and job are the enclosing ones, not its own activity_id / job_id fields",
)

# ===========================================================================
# Rule 3: segment per (job_id, subject_id), from surviving valid records.
# ===========================================================================

case(
    "r3_buying_order_statuses",
    [
        job(
            activity(
                subject("S1", user=user(PA), orders=[order("paid")]),
                subject("S2", user=user(PB), orders=[order("shipped")]),
                subject("S3", user=user(PC), orders=[order("delivered")]),
                subject("S4", user=user(PD), orders=[order("pending")]),
                subject("S5", user=user(PE), orders=[order("cancelled")]),
                subject("S6", user=user(PF), orders=[order("refunded")]),
                subject(
                    "S7",
                    user=user(PG),
                    orders=[order("cancelled"), order("refunded", id="OR2"), order("delivered", id="OR3")],
                ),
                subject("S8", user=user(PH), orders=[order("pending"), order("refunded", id="OR2")]),
                subject("S9", user=user(PI), orders=[]),
            )
        )
    ],
    [
        row(EA, subject_id="S1", segment="buyer"),
        row(EB, subject_id="S2", segment="buyer"),
        row(EC, subject_id="S3", segment="buyer"),
        row(EG, subject_id="S7", segment="buyer"),
        row(ED, subject_id="S4"),
        row(EE, subject_id="S5"),
        row(EF, subject_id="S6"),
        row(EH, subject_id="S8"),
        row(EI, subject_id="S9"),
    ],
    [],
)

case(
    "r3_segment_shared_within_job_only",
    [
        job(
            activity(subject("S1", user=user(PA), orders=[order("paid")])),
            activity(subject("S1", activity_id="A2", user=user(PB)), id="A2", name="Class 6A", group="6A"),
        ),
        job(
            activity(subject("S1", activity_id="A3", user=user(PC)), id="A3", job_id="J2"),
            id="J2",
            name="Autumn 2026",
        ),
    ],
    [
        row(EA, segment="buyer"),
        row(EB, segment="buyer", activity_id="A2", activity_name="Class 6A", group="6A"),
        row(EC, job_id="J2", job_name="Autumn 2026", activity_id="A3"),
    ],
    [],
)

case(
    "r3_segment_from_surviving_valid_records",
    [
        job(
            activity(
                subject("S1", updated=UPDATED, user=user(PA), orders=[order("paid")]),
                subject("S1", updated=LATER, user=user(PA)),
                subject("S3", user=user(PC)),
            ),
            activity(
                subject("S3", activity_id="A2", last=None, user=user(PC), orders=[order("paid")]),
                id="A2",
            ),
        )
    ],
    [row(EA, subject_id="S1"), row(EC, subject_id="S3")],
    [bad_subject("S3", activity_id="A2")],
)

case(
    "r3_segment_decided_before_group_filter",
    [
        job(
            activity(subject("S1", user=user(PA), orders=[order("paid")])),
            activity(subject("S1", activity_id="A2", user=user(PB)), id="A2", name="Class 6A", group="6A"),
        )
    ],
    [row(EB, segment="buyer", activity_id="A2", activity_name="Class 6A", group="6A")],
    [excl("filtered_out", "S1", segment="buyer", detail="group filter")],
    groups=("6A",),
)

_SEGMENT_SELECTION_LINES = [
    "[]",
    job(
        activity(
            subject("S1", user=user(PA), orders=[order("paid")]),
            subject("S2", user=user(PB)),
            subject("S3"),
            subject("S4", orders=[order("shipped")]),
            subject("S5", last=MISSING, user=user(PC), orders=[order("paid")]),
        )
    ),
]

case(
    "r3_only_buyers_selected",
    _SEGMENT_SELECTION_LINES,
    [row(EA, subject_id="S1", segment="buyer")],
    [NOT_AN_OBJECT, bad_subject("S5"), excl("no_phone", "S4", segment="buyer")],
    segments=("buyer",),
)

case(
    "r3_only_non_buyers_selected",
    _SEGMENT_SELECTION_LINES,
    [row(EB, subject_id="S2")],
    [NOT_AN_OBJECT, bad_subject("S5"), excl("no_phone", "S3")],
    segments=("non_buyer",),
)

case(
    "r3_both_segments_selected",
    _SEGMENT_SELECTION_LINES,
    [row(EA, subject_id="S1", segment="buyer"), row(EB, subject_id="S2")],
    [NOT_AN_OBJECT, bad_subject("S5"), excl("no_phone", "S4", segment="buyer"), excl("no_phone", "S3")],
)

case(
    "r3_unselected_segment_not_even_filtered_out",
    [
        job(
            activity(
                subject("S1", user=user(PA)),
                subject("S2", user=user(PB), orders=[order("paid")]),
            ),
            activity(
                subject("S3", activity_id="A2", user=user(PC), orders=[order("paid")]),
                subject("S4", activity_id="A2", user=user(PD)),
                id="A2",
                name="Class 6A",
                group="6A",
            ),
        )
    ],
    [row(EC, subject_id="S3", segment="buyer", activity_id="A2", activity_name="Class 6A", group="6A")],
    [excl("filtered_out", "S2", segment="buyer", detail="group filter")],
    segments=("buyer",),
    groups=("6A",),
)

# ===========================================================================
# Rule 4: filters (job ids, groups, contact source).
# ===========================================================================

case(
    "r4_job_ids_narrow_the_input",
    [
        job(activity(subject("S1", user=user(PA)), subject("S9", first=None))),
        job(
            activity(subject("S2", activity_id="A2", user=user(PB)), id="A2", job_id="J2"),
            id="J2",
            name="Autumn 2026",
        ),
        job(activity(subject("S3", user=user(PC))), id="J3", org=7),
    ],
    [row(EB, subject_id="S2", job_id="J2", job_name="Autumn 2026", activity_id="A2")],
    [],
    job_ids=("J2",),
)

case(
    "r4_job_ids_several",
    [
        job(activity(subject("S1", user=user(PA)))),
        job(activity(subject("S2", activity_id="A2", user=user(PB)), id="A2", job_id="J2"), id="J2"),
        job(activity(subject("S3", activity_id="A3", user=user(PC)), id="A3", job_id="J3"), id="J3"),
    ],
    [
        row(EA, subject_id="S1"),
        row(EC, subject_id="S3", job_id="J3", activity_id="A3"),
    ],
    [],
    job_ids=("J3", "J1"),
)

case(
    "r4_job_ids_missing_or_not_selling_give_nothing",
    [
        job(activity(subject("S1", user=user(PA)))),
        job(activity(subject("S3", activity_id="A3", user=user(PC)), id="A3", job_id="J3"), id="J3", status="closed"),
    ],
    [],
    [],
    job_ids=("J404", "J3"),
)

case(
    "r4_group_filter_subject_or_activity",
    [
        job(
            activity(
                subject("S1", group=None, user=user(PA)),
                subject("S2", group="6A", user=user(PB)),
            ),
            activity(
                subject("S3", activity_id="A2", group="5B", user=user(PC)),
                subject("S4", activity_id="A2", group=None, user=user(PD)),
                subject("S5", activity_id="A2", group="5b", user=user(PE)),
                id="A2",
                name="Class 6A",
                group="6A",
            ),
            activity(
                subject("S6", activity_id="A3", group="5B ", user=user(PF)),
                subject("S7", activity_id="A3", group="5B", user=user(PG)),
                id="A3",
                name="Extra",
                group=None,
            ),
        )
    ],
    [
        row(EA, subject_id="S1", group="5B"),
        row(EB, subject_id="S2", group="6A"),
        row(EC, subject_id="S3", activity_id="A2", activity_name="Class 6A", group="5B"),
        row(EG, subject_id="S7", activity_id="A3", activity_name="Extra", group="5B"),
    ],
    [
        excl("filtered_out", "S4", activity_id="A2", detail="group filter"),
        excl("filtered_out", "S5", activity_id="A2", detail="group filter"),
        excl("filtered_out", "S6", activity_id="A3", detail="group filter"),
    ],
    groups=("5B",),
)

case(
    "r4_group_filter_several_names",
    [
        job(
            activity(subject("S1", user=user(PA))),
            activity(subject("S2", activity_id="A2", user=user(PB)), id="A2", name="Class 6A", group="6A"),
            activity(subject("S3", activity_id="A3", user=user(PC)), id="A3", name="Class 7C", group="7C"),
        )
    ],
    [
        row(EA, subject_id="S1"),
        row(EB, subject_id="S2", activity_id="A2", activity_name="Class 6A", group="6A"),
    ],
    [excl("filtered_out", "S3", activity_id="A3", detail="group filter")],
    groups=("5B", "6A"),
)

case(
    "r4_contact_source_user",
    [
        job(
            activity(
                subject("S1", user=user(PA), deliveries=[delivery(PD)]),
                subject("S2", user=user(PB, consent=False), deliveries=[delivery(PC)]),
                subject("S3", user=None, deliveries=[delivery(PD)]),
                subject("S4", user={}, deliveries=[delivery(PE)]),
            )
        )
    ],
    [row(EA, subject_id="S1")],
    [
        excl("no_consent", "S2", detail=MB),
        excl("filtered_out", "S3", detail="contact source filter"),
        excl("no_phone", "S4"),
    ],
    contact_sources=("user",),
)

case(
    "r4_contact_source_delivery",
    [
        job(
            activity(
                subject(
                    "S1",
                    user=user(PA),
                    deliveries=[delivery(PB, consent_at="2026-02-15T09:00:00+02:00", locale="sv-FI")],
                ),
                subject("S2", user=user(PC)),
                subject("S3", user=user(PC), deliveries=[delivery(None)]),
                subject("S4", user=user(PE), deliveries=[delivery(PF, consent=False)]),
            )
        )
    ],
    [row(EB, subject_id="S1", source="delivery", consent_at="2026-02-15T07:00:00Z", locale="sv-FI")],
    [
        excl("filtered_out", "S2", detail="contact source filter"),
        excl("no_phone", "S3"),
        excl("no_consent", "S4", detail=MF),
    ],
    contact_sources=("delivery",),
)

case(
    "r4_group_filter_judged_before_contact_source",
    [
        job(
            activity(subject("S2", user=user(PB))),
            activity(
                subject("S1", activity_id="A2", user=user(PA)),
                subject("S3", activity_id="A2", deliveries=[delivery(PC)]),
                id="A2",
                name="Class 6A",
                group="6A",
            ),
        )
    ],
    [],
    [
        excl("filtered_out", "S2", detail="contact source filter"),
        excl("filtered_out", "S1", activity_id="A2", detail="group filter"),
        excl("filtered_out", "S3", activity_id="A2", detail="group filter"),
    ],
    groups=("5B",),
    contact_sources=("delivery",),
)

# ===========================================================================
# Rule 5: contact choice, reasons, suppressions, regions.
# ===========================================================================

case(
    "r5_user_before_deliveries",
    [job(activity(subject("S1", user=user(PA), deliveries=[delivery(PB, "2026-03-01T09:00:00+02:00")])))],
    [row(EA)],
    [],
)

case(
    "r5_user_without_consent_falls_to_delivery",
    [
        job(
            activity(
                subject(
                    "S1",
                    user=user(PA, consent=False),
                    deliveries=[delivery(PB, consent_at="2026-02-15T09:00:00+02:00", locale="sv-FI")],
                )
            )
        )
    ],
    [row(EB, source="delivery", consent_at="2026-02-15T07:00:00Z", locale="sv-FI")],
    [],
)

case(
    "r5_deliveries_newest_first_by_instant",
    [
        job(
            activity(
                subject(
                    "S1",
                    deliveries=[
                        delivery(PA, "2026-01-01T10:00:00+02:00", id="D1", locale="en-GB"),
                        delivery(PB, "2026-02-01T10:00:00+02:00", id="D2", locale="sv-FI"),
                    ],
                ),
                subject(
                    "S2",
                    deliveries=[
                        # 05:00Z is older than 06:00Z although its string sorts later
                        delivery(PC, "2026-02-01T10:00:00+05:00", id="D1"),
                        delivery(PD, "2026-02-01T06:00:00Z", id="D2"),
                    ],
                ),
            )
        )
    ],
    [
        row(EB, subject_id="S1", source="delivery", locale="sv-FI"),
        row(ED, subject_id="S2", source="delivery"),
    ],
    [],
)

case(
    "r5_delivery_tie_decided_by_id_code_point",
    [
        job(
            activity(
                subject(
                    "S1",
                    deliveries=[
                        delivery(PA, "2026-02-01T12:00:00+02:00", id="D2"),
                        delivery(PB, "2026-02-01T10:00:00Z", id="D10"),
                    ],
                )
            )
        )
    ],
    [row(EB, source="delivery")],
    [],
)

case(
    "r5_delivery_undated_and_idless_last",
    [
        job(
            activity(
                subject(
                    "S1",
                    deliveries=[
                        delivery(PA, MISSING, id="A0"),
                        delivery(PC, CREATED, id=MISSING),
                        delivery(PB, CREATED, id="D9"),
                    ],
                ),
                subject("S2", deliveries=[delivery(PD, CREATED, id=MISSING), delivery(PE, CREATED, id=MISSING)]),
                subject("S3", deliveries=[delivery(PF, CREATED, id="D1"), delivery(PG, CREATED, id="D1")]),
                subject("S4", deliveries=[delivery(PH, MISSING, id="D2"), delivery(PI, MISSING, id="D1")]),
            )
        )
    ],
    [
        row(EB, subject_id="S1", source="delivery"),
        row(ED, subject_id="S2", source="delivery"),
        row(EF, subject_id="S3", source="delivery"),
        row(EI, subject_id="S4", source="delivery"),
    ],
    [],
)

case(
    "r5_no_phone",
    [
        job(
            activity(
                subject("S1", user=None),
                subject("S2", user=user(None)),
                subject("S3", user=user("")),
                subject("S4", user=user("call my mum")),
                subject("S5", user=user("12345")),
                subject("S6", user=user(LANDLINE)),
                subject("S7", deliveries=[delivery(UAN)]),
                subject("S8", user=MISSING, deliveries=[{}]),
                subject("S9", user=user(PREMIUM)),
                subject("S10", user=user("+44 7700 900123")),
            )
        )
    ],
    [],
    [excl("no_phone", f"S{n}") for n in (1, 10, 2, 3, 4, 5, 6, 7, 8, 9)],
)

case(
    "r5_no_consent",
    [
        job(
            activity(
                subject("S1", user=user(PA, consent=False)),
                subject("S2", user=user(PB, consent=None), deliveries=[delivery(PC, consent=MISSING)]),
                subject("S3", user=user(LANDLINE, consent=True), deliveries=[delivery(PD, consent=False)]),
                subject(
                    "S4",
                    user=user("call my mum", consent=True),
                    deliveries=[
                        delivery(PE, "2026-01-01T10:00:00+02:00", consent=False, id="D1"),
                        delivery(PF, "2026-02-01T10:00:00+02:00", consent=None, id="D2"),
                    ],
                ),
            )
        )
    ],
    [],
    [
        excl("no_consent", "S1", detail=MA),
        excl("no_consent", "S2", detail=MB),
        excl("no_consent", "S3", detail=MD),
        excl("no_consent", "S4", detail=MF),
    ],
)

case(
    "r5_suppressed",
    [
        job(
            activity(
                subject("S1", user=user(PA)),
                subject("S2", user=user(PC, consent=False), deliveries=[delivery(PB)]),
                subject("S3", user=user(PA), deliveries=[delivery(PD, locale="sv-FI")]),
                subject("S4", user=user(PB), deliveries=[delivery(PA)]),
            )
        )
    ],
    [row(ED, subject_id="S3", source="delivery", locale="sv-FI")],
    [
        excl("suppressed", "S1", detail=MA),
        excl("suppressed", "S2", detail=MB),
        excl("suppressed", "S4", detail=MB),
    ],
    suppress=("+358401234567", "+358501234567"),
)

_SUPPRESSION_SUBJECTS = [
    job(
        activity(
            subject("S1", user=user("0401234567")),
            subject("S2", user=user("+358 50 123 4567")),
            subject("S3", user=user(PC)),
            subject("S4", user=user(PD)),
        )
    )
]
_SUPPRESSION_EXPECTED_ROWS = [row(ED, subject_id="S4")]
_SUPPRESSION_EXPECTED_EXCLUSIONS = [
    excl("suppressed", "S1", detail=MA),
    excl("suppressed", "S2", detail=MB),
    excl("suppressed", "S3", detail=MC),
]

case(
    "r5_suppression_plain_text_any_format",
    _SUPPRESSION_SUBJECTS,
    _SUPPRESSION_EXPECTED_ROWS,
    _SUPPRESSION_EXPECTED_EXCLUSIONS,
    suppress=(
        "# opt-outs 2026",
        "",
        "+358 40 123 4567",
        "   ",
        "  # indented comment",
        "# 040 765 4321",
        "  #0407654321",
        "00358501234567",
        "045 123 4567  ",
        "not a number",
        "12345",
    ),
)

case(
    "r5_suppression_csv_phone_column",
    _SUPPRESSION_SUBJECTS,
    _SUPPRESSION_EXPECTED_ROWS,
    _SUPPRESSION_EXPECTED_EXCLUSIONS,
    suppress=(
        "",
        "name, Phone ,note",
        'Aino,"+358 40 123 4567",x',
        '"Virtanen, Eero",050 123 4567,"said ""stop"""',
        "Bad,not a number,",
        "Short",
        "",
        "Other,045 123 4567",
    ),
)

case(
    "r5_suppression_csv_single_column_uppercase_header",
    [job(activity(subject("S1", user=user(PA)), subject("S2", user=user(PB))))],
    [row(EB, subject_id="S2")],
    [excl("suppressed", "S1", detail=MA)],
    suppress=("PHONE", "040 123 4567", "not a number"),
)

case(
    "r5_suppression_plain_when_no_phone_header",
    [job(activity(subject("S1", user=user(PA)), subject("S2", user=user(PB))))],
    [row(EB, subject_id="S2")],
    [excl("suppressed", "S1", detail=MA)],
    suppress=("phones", "0401234567"),
)

case(
    "r5_region_se",
    [
        job(
            activity(
                subject("S1", user=user("070-123 45 67")),
                subject("S2", user=user("+358 40 123 4567")),
                subject("S3", user=user("+46 70 765 43 21")),
                subject("S4", user=user("040 123 4567")),
            )
        )
    ],
    [
        row("+46701234567", subject_id="S1", region="SE"),
        row(EA, subject_id="S2", region="FI"),
    ],
    [
        excl("suppressed", "S3", detail="+46707****21"),
        excl("no_phone", "S4"),
    ],
    suppress=("070 765 43 21",),
    region="SE",
    note="in SE, 040 123 4567 is a Malmö fixed line; the suppression entry is a national SE number",
)

case(
    "r5_region_fi_default_reads_national_as_finnish",
    [
        job(
            activity(
                subject("S1", user=user("070-123 45 67")),
                subject("S2", user=user("+46 70 123 45 67")),
            )
        )
    ],
    [row("+46701234567", subject_id="S2", region="SE")],
    [excl("no_phone", "S1")],
    note="070 123 4567 in FI is a UAN (not SMS-capable)",
)

case(
    "r5_international_numbers",
    [
        job(
            activity(
                subject("S1", user=user("+1 201-555-0123")),
                subject("S2", user=user("+49 151 12345678")),
                subject("S3", user=user("+44 7700 900123")),
                subject("S4", user=user("+358 9 1234567")),
            )
        )
    ],
    [
        row("+12015550123", subject_id="S1", region="US"),
        row("+4915112345678", subject_id="S2", region="DE"),
    ],
    [excl("no_phone", "S3"), excl("no_phone", "S4")],
    note="US numbers are FIXED_LINE_OR_MOBILE, which is SMS-capable",
)

# ===========================================================================
# Rule 6: access keys (offline: nothing generated, missing stays empty).
# ===========================================================================

case(
    "r6_missing_access_key_stays_empty",
    [
        job(
            activity(
                subject("S1", key=None, user=user(PA)),
                subject("S2", key="", user=user(PB)),
                subject("S3", key=MISSING, user=user(PC)),
                subject("S4", key="AK4", user=user(PD)),
            )
        )
    ],
    [
        row(EA, subject_id="S1", key=""),
        row(EB, subject_id="S2", key=""),
        row(EC, subject_id="S3", key=""),
        row(ED, subject_id="S4", key="AK4"),
    ],
    [],
)

# ===========================================================================
# Rule 7: one message per (organization, segment, phone).
# ===========================================================================

case(
    "r7_phone_formats_merge_into_one_row",
    [
        job(
            activity(
                subject("S3", first="Liisa", key="AK3", user=user("00358 40 1234567")),
                subject("S1", first="Aino", key="AK1", user=user("040 123 4567")),
                subject("S4", first="Mikko", key="AK4", user=user("(040) 123-4567")),
                subject("S2", first="Eero", key="AK2", user=user("+358401234567")),
            )
        )
    ],
    [row(EA, subject_id="S1", key="AK1", subject_ids="S1;S2;S3;S4", access_keys="AK1;AK2;AK3;AK4")],
    [],
)

case(
    "r7_access_keys_keep_empty_slots",
    [
        job(
            activity(
                subject("S1", key="AK1", user=user(PA)),
                subject("S2", key=None, user=user(PA)),
                subject("S3", key="AK3", user=user(PA)),
                subject("S4", key="", user=user(PB)),
                subject("S5", key=None, user=user(PB)),
            )
        )
    ],
    [
        row(EA, subject_id="S1", key="AK1", subject_ids="S1;S2;S3", access_keys="AK1;;AK3"),
        row(EB, subject_id="S4", key="", subject_ids="S4;S5", access_keys=";"),
    ],
    [],
)

case(
    "r7_subject_listed_once_across_activities",
    [
        job(
            activity(
                subject("S1", key="K1a", user=user(PA)),
                subject("S2", first="Eero", key="K2", user=user(PA)),
                subject("S3", first="Liisa", key=None, user=user(PB)),
            ),
            activity(
                subject("S1", activity_id="A2", key="K1b", user=user(PA)),
                subject("S3", activity_id="A2", first="Liisa", key="K3b", user=user(PB)),
                id="A2",
                name="Class 6A",
                group="6A",
            ),
        )
    ],
    [
        row(EA, subject_id="S1", key="K1a", subject_ids="S1;S2", access_keys="K1a;K2"),
        row(EB, subject_id="S3", first="Liisa", key="", subject_ids="S3", access_keys=""),
    ],
    [],
    note="access_keys holds each listed subject's key from its first record in primary order",
)

case(
    "r7_siblings_share_a_phone_across_jobs",
    [
        job(
            activity(subject("S2", activity_id="A7", first="Aino", key="K2", user=user(PA)), id="A7", job_id="J2"),
            id="J2",
            name="Autumn 2026",
        ),
        job(activity(subject("S5", first="Eero", key="K5", user=user(PA)))),
        job(
            activity(subject("S1", activity_id="A9", first="Liisa", key="K1", user=user(PB)), id="A9", job_id="J9"),
            id="J9",
            name="Winter 2026",
        ),
        job(
            activity(subject("S9", activity_id="A10", first="Mikko", key="K9", user=user(PB)), id="A10", job_id="J10"),
            id="J10",
            name="Summer 2026",
        ),
    ],
    [
        row(EA, subject_id="S5", first="Eero", key="K5", subject_ids="S5;S2", access_keys="K5;K2"),
        row(
            EB,
            subject_id="S9",
            first="Mikko",
            job_id="J10",
            job_name="Summer 2026",
            activity_id="A10",
            key="K9",
            subject_ids="S9;S1",
            access_keys="K9;K1",
        ),
    ],
    [],
)

case(
    "r7_primary_supplies_every_row_field",
    [
        job(
            activity(
                subject(
                    "S1",
                    activity_id="A2",
                    first="Eero",
                    last="Korhonen",
                    group="6A-x",
                    key="K1",
                    deliveries=[delivery(PA, consent_at="2026-02-20T08:00:00Z", locale="sv-FI")],
                ),
                id="A2",
                job_id="J2",
                name="Class 6A",
                group="6A",
            ),
            id="J2",
            name="Autumn 2026",
        ),
        job(activity(subject("S2", first="Aino", key="K2", user=user(PA, consent_at="2026-01-05T12:00:00+02:00")))),
    ],
    [
        row(
            EA,
            subject_id="S2",
            first="Aino",
            key="K2",
            consent_at="2026-01-05T10:00:00Z",
            subject_ids="S2;S1",
            access_keys="K2;K1",
        )
    ],
    [],
)

case(
    "r7_same_phone_other_organization_or_segment",
    [
        job(
            activity(
                subject("S1", key="K1", user=user(PA), orders=[order("paid")]),
                subject("S2", key="K2", user=user(PA)),
            )
        ),
        job(
            activity(
                subject("S3", activity_id="A2", key="K3", user=user(PA), orders=[order("paid")]),
                subject("S4", activity_id="A2", key="K4", user=user(PA), orders=[order("delivered")]),
                id="A2",
                job_id="J2",
            ),
            id="J2",
            org="O2",
        ),
    ],
    [
        row(EA, subject_id="S1", segment="buyer", key="K1"),
        row(EA, subject_id="S2", key="K2"),
        row(EA, subject_id="S3", org="O2", segment="buyer", job_id="J2", activity_id="A2", key="K3",
            subject_ids="S3;S4", access_keys="K3;K4"),
    ],
    [],
)

case(
    "r7_primary_by_code_point",
    [
        job(
            activity(
                subject("s1", first="Lower", user=user(PA)),
                subject("\u00c43", first="Umlaut", user=user(PA)),
                subject("S2", first="Upper", user=user(PA)),
            ),
            activity(subject("S7", activity_id="A9", user=user(PB)), id="A9"),
            activity(subject("S8", activity_id="A10", first="Ten", user=user(PB)), id="A10"),
        )
    ],
    [
        row(EA, subject_id="S2", first="Upper", subject_ids="S2;s1;\u00c43", access_keys=";;"),
        row(EB, subject_id="S8", first="Ten", activity_id="A10", subject_ids="S8;S7", access_keys=";"),
    ],
    [],
)

# ===========================================================================
# Rule 8: order, by code point.
# ===========================================================================

case(
    "r8_rows_sorted_by_code_point",
    [
        job(activity(subject("S1", user=user(PA)), id="A1", job_id="J1"), id="J1", org="o1"),
        job(activity(subject("S2", activity_id="A2", user=user(PB)), id="A2", job_id="J2"), id="J2", org="O2"),
        job(activity(subject("S3", activity_id="A3", user=user(PC)), id="A3", job_id="J3"), id="J3", org="O10"),
        job(activity(subject("S4", activity_id="A4", user=user(PD)), id="A4", job_id="J4"), id="J4", org="\u00d61"),
        job(
            activity(subject("S5", activity_id="A5", user=user(PE), orders=[order("paid")]), id="A5", job_id="J5"),
            id="J5",
            org="O2",
        ),
    ],
    [
        row(EC, subject_id="S3", org="O10", job_id="J3", activity_id="A3"),
        row(EE, subject_id="S5", org="O2", segment="buyer", job_id="J5", activity_id="A5"),
        row(EB, subject_id="S2", org="O2", job_id="J2", activity_id="A2"),
        row(EA, subject_id="S1", org="o1"),
        row(ED, subject_id="S4", org="\u00d61", job_id="J4", activity_id="A4"),
    ],
    [],
)

case(
    "r8_exclusions_sorted_by_all_columns",
    [
        job(activity(subject("S9", activity_id="A5"), id="A5", job_id="J5"), id="J5", org="O2"),
        job(
            activity(
                subject("S3", user=user(PA, consent=False)),
                subject("S2"),
                subject("S1", orders=[order("paid")]),
            ),
            activity(subject(MISSING, activity_id="A2"), id="A2"),
        ),
        job(activity(id="A2", name=MISSING)),
        "[]",
    ],
    [],
    [
        NOT_AN_OBJECT,
        bad_activity("A2"),
        bad_subject("", activity_id="A2"),
        excl("no_phone", "S1", segment="buyer"),
        excl("no_phone", "S2"),
        excl("no_consent", "S3", detail=MA),
        excl("no_phone", "S9", org="O2", job_id="J5", activity_id="A5"),
    ],
)

# ===========================================================================
# Output columns and CSV form.
# ===========================================================================

case(
    "out_group_name_falls_back_to_activity",
    [
        job(
            activity(
                subject("S1", group=None, user=user(PA)),
                subject("S2", group="", user=user(PB)),
                subject("S3", group="7C", user=user(PC)),
            ),
            activity(
                subject("S4", activity_id="A2", group=None, user=user(PD)),
                subject("S5", activity_id="A2", group="", user=user(PE)),
                id="A2",
                name="Class X",
                group=None,
            ),
            activity(
                subject("S6", activity_id="A3", group="8D", user=user(PF)),
                subject("S7", activity_id="A3", group=MISSING, user=user(PG)),
                id="A3",
                name="Class Y",
                group=MISSING,
            ),
        )
    ],
    [
        row(EA, subject_id="S1", group="5B"),
        row(EB, subject_id="S2", group="5B"),
        row(EC, subject_id="S3", group="7C"),
        row(ED, subject_id="S4", activity_id="A2", activity_name="Class X", group=""),
        row(EE, subject_id="S5", activity_id="A2", activity_name="Class X", group=""),
        row(EF, subject_id="S6", activity_id="A3", activity_name="Class Y", group="8D"),
        row(EG, subject_id="S7", activity_id="A3", activity_name="Class Y", group=""),
    ],
    [],
)

case(
    "out_consent_at_in_utc_truncated",
    [
        job(
            activity(
                subject("S1", user=user(PA, consent_at="2026-02-01T12:34:56.789+02:00")),
                subject("S2", user=user(PB, consent_at="2026-12-31T22:30:00-05:00")),
                subject("S3", user=user(PC, consent_at="2026-02-01T10:00:00Z")),
                subject("S4", user=user(PD, consent_at=None)),
                subject("S5", user=user(PE, consent_at="2024-03-01T00:30:00+01:00")),
                subject("S6", user=user(PF, consent_at=MISSING)),
                subject("S7", user=user(PG, consent_at="2026-02-01T10:00:59.999999999Z")),
                subject("S8", user=user(PH, consent_at="2026-02-01T00:00:00.5-00:30")),
                subject("S9", user=user(PI, consent_at="2026-02-01T00:15:00+00:30")),
                subject("S10", user=user(PJ, consent_at="1969-12-31T23:59:59.5Z")),
            )
        )
    ],
    [
        row(EA, subject_id="S1", consent_at="2026-02-01T10:34:56Z"),
        row(EJ, subject_id="S10", consent_at="1969-12-31T23:59:59Z"),
        row(EB, subject_id="S2", consent_at="2027-01-01T03:30:00Z"),
        row(EC, subject_id="S3", consent_at="2026-02-01T10:00:00Z"),
        row(ED, subject_id="S4", consent_at=""),
        row(EE, subject_id="S5", consent_at="2024-02-29T23:30:00Z"),
        row(EF, subject_id="S6", consent_at=""),
        row(EG, subject_id="S7", consent_at="2026-02-01T10:00:59Z"),
        row(EH, subject_id="S8", consent_at="2026-02-01T00:30:00Z"),
        row(EI, subject_id="S9", consent_at="2026-01-31T23:45:00Z"),
    ],
    [],
    note="truncation keeps the written second, also before 1970 (floor, not toward zero)",
)

case(
    "out_locale_from_chosen_contact",
    [
        job(
            activity(
                subject("S1", user=user(PA, consent=False, locale="fi-FI"), deliveries=[delivery(PB, locale=None)]),
                subject("S2", user=user(PC, locale="sv-FI")),
                subject("S3", user=user(PD, locale=MISSING)),
            )
        )
    ],
    [
        row(EB, subject_id="S1", source="delivery", locale=""),
        row(EC, subject_id="S2", locale="sv-FI"),
        row(ED, subject_id="S3", locale=""),
    ],
    [],
)

case(
    "out_csv_quoting_only_where_needed",
    [
        job(
            activity(
                subject("S1", first="Anna, Maria", last='O"Brien', key='K"1', user=user(PA)),
                subject("S2", first=" Lead space ", last="semi;colon\ttab", key="K2", user=user(PB)),
                subject("S3", first='"', last="\u00c4\u00e4kk\u00f6nen \U0001f642", key="K'3", user=user(PC)),
                subject("S4"),
                name='Class "5B"\r\nmorning',
                group="5B, left",
            ),
            org="Org, Inc",
            name="Spring\nphotos",
        )
    ],
    [
        row(EA, subject_id="S1", org="Org, Inc", first="Anna, Maria", last='O"Brien', key='K"1',
            job_name="Spring\nphotos", activity_name='Class "5B"\r\nmorning', group="5B, left"),
        row(EB, subject_id="S2", org="Org, Inc", first=" Lead space ", last="semi;colon\ttab", key="K2",
            job_name="Spring\nphotos", activity_name='Class "5B"\r\nmorning', group="5B, left"),
        row(EC, subject_id="S3", org="Org, Inc", first='"', last="\u00c4\u00e4kk\u00f6nen \U0001f642", key="K'3",
            job_name="Spring\nphotos", activity_name='Class "5B"\r\nmorning', group="5B, left"),
    ],
    [excl("no_phone", "S4", org="Org, Inc")],
)

case("out_empty_export_is_header_only", [], [], [])

case("out_blank_lines_only_is_header_only", ["", "   ", "\t", ""], [], [])

case(
    "out_nothing_selling_is_header_only",
    [job(activity(subject("S1", user=user(PA))), status="closed")],
    [],
    [],
)

# ===========================================================================
# The same cases through gzip (recognised by its magic bytes, not the name).
# ===========================================================================

_GZIP_FAMILY = (
    "r1_valid_record_becomes_row",
    "r1_malformed_subject_fields",
    "r1_not_json_object_lines",
    "r1_unreadable_line",
    "r2_tie_across_offsets_first_seen_wins",
    "r5_suppression_csv_phone_column",
    "r7_siblings_share_a_phone_across_jobs",
    "out_csv_quoting_only_where_needed",
    "out_empty_export_is_header_only",
)
for _base in [c for c in CASES if c.name in _GZIP_FAMILY]:
    CASES.append(
        ContractCase(
            "gz__" + _base.name,
            _base.lines,
            _base.expected_rows,
            _base.expected_exclusions,
            segments=_base.segments,
            job_ids=_base.job_ids,
            groups=_base.groups,
            contact_sources=_base.contact_sources,
            suppress=_base.suppress,
            region=_base.region,
            gzip=True,
            unreadable=_base.unreadable,
        )
    )
for _base in [c for c in CASES if c.name in ("r1_valid_record_becomes_row", "r3_both_segments_selected")]:
    CASES.append(
        ContractCase(
            "gz_named_jsonl__" + _base.name,
            _base.lines,
            _base.expected_rows,
            _base.expected_exclusions,
            segments=_base.segments,
            gzip=True,
            export_name="export.jsonl",
        )
    )


# ---------------------------------------------------------------------------
# Running a case.
# ---------------------------------------------------------------------------


def csv_text(columns, rows) -> str:
    """What the contract's CSV must be, byte for byte (as text)."""

    def field(value):
        text = str(value)
        if any(special in text for special in (",", '"', "\r", "\n")):
            return '"' + text.replace('"', '""') + '"'
        return text

    lines = [",".join(field(c) for c in columns)]
    lines += [",".join(field(r[c]) for c in columns) for r in rows]
    return "".join(line + "\n" for line in lines)


def parse_csv(data: bytes, columns) -> list[dict[str, Any]]:
    text = data.decode("utf-8")
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table, "the CSV has no header"
    assert tuple(table[0]) == tuple(columns), f"header {table[0]!r}"
    rows = []
    for cells in table[1:]:
        assert len(cells) == len(columns), f"row with {len(cells)} cells: {cells!r}"
        record = dict(zip(columns, cells))
        if "subject_count" in record:
            record["subject_count"] = int(record["subject_count"])
        rows.append(record)
    return rows


def write_export(case: ContractCase, directory: Path) -> Path:
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in case.lines
    )
    data = text.encode("utf-8")
    if case.gzip:
        data = gzip.compress(data, mtime=0)
    name = case.export_name or ("export.jsonl.gz" if case.gzip else "export.jsonl")
    path = directory / name
    path.write_bytes(data)
    return path


def run_case(case: ContractCase, build: Callable[..., tuple[bytes, bytes]], tmp_path: Path) -> None:
    export_path = write_export(case, tmp_path)
    suppress_paths: list[str] = []
    if case.suppress:
        suppress_path = tmp_path / "suppress.txt"
        suppress_path.write_text("".join(line + "\n" for line in case.suppress), encoding="utf-8")
        suppress_paths.append(str(suppress_path))
    options = dict(
        segments=case.segments,
        job_ids=case.job_ids,
        groups=case.groups,
        contact_sources=case.contact_sources,
        suppress_paths=suppress_paths,
        region=case.region,
    )
    if case.unreadable:
        with pytest.raises(Exception) as raised:
            build(str(export_path), **options)
        assert type(raised.value).__name__ == "ExportUnreadable", repr(raised.value)
        return

    dataset, exclusions = build(str(export_path), **options)
    assert isinstance(dataset, bytes) and isinstance(exclusions, bytes)
    assert parse_csv(dataset, DATASET_COLUMNS) == case.expected_rows
    assert parse_csv(exclusions, EXCLUSION_COLUMNS) == case.expected_exclusions
    assert dataset.endswith(b"\n") and exclusions.endswith(b"\n")
    # Exact bytes: header, `\n` after every line, quoting only where RFC 4180 needs it.
    assert dataset.decode("utf-8") == csv_text(DATASET_COLUMNS, case.expected_rows)
    assert exclusions.decode("utf-8") == csv_text(EXCLUSION_COLUMNS, case.expected_exclusions)
