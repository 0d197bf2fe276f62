"""Plain row-by-row reference implementation of the campaign dataset contract.

This is the oracle: the slow, obvious baseline of the benchmark and the
differential check for the columnar implementation. It reads a portal export
(JSON Lines, one Job object a line, gzip recognised by its magic bytes) and
returns the campaign dataset CSV and the exclusions CSV, following
/work/shared/contract/campaign-dataset.md rule by rule, one record at a time,
with nothing but the standard library and phonenumbers.

It deliberately imports nothing from campaign_pipeline.

    python benchmarks/rowwise.py EXPORT --out DATASET.csv --exclusions EXCL.csv \
        [--buyers | --non-buyers | --both] [--group NAME ...] [--job-id ID ...] \
        [--contact-source user|delivery] [--suppress FILE ...] [--region FI]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import gzip
import io
import json
import math
import re
import sys
import zlib
from fractions import Fraction

import phonenumbers

SELLING_STATUS = "webshop_selling"
SEGMENTS = ("buyer", "non_buyer")
BUYING_ORDER_STATUSES = ("paid", "shipped", "delivered")
ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
SMS_NUMBER_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)

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


class ExportUnreadable(Exception):
    """The export file cannot be read: not gzip/UTF-8, or a line that is not JSON."""


# ---------------------------------------------------------------------------
# Timestamps: RFC 3339 exactly as the contract reads it.
# ---------------------------------------------------------------------------

# [0-9], not \d: \d would also take other scripts' digits.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)
_SECONDS_PER_DAY = 86400
_DAYS_PER_400_YEARS = 146097


def parse_timestamp(value):
    """The instant of a timestamp, exact, or None when the value is not one.

    The instant is a Fraction of seconds counted from day 0 of the proleptic
    Gregorian calendar (0001-01-01 is day 1), in UTC.
    """
    if not isinstance(value, str):
        return None
    return _parse_timestamp_string(value)


@functools.lru_cache(maxsize=1 << 16)
def _parse_timestamp_string(value):
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if year < 1 or hour > 23 or minute > 59 or second > 59:
        return None
    try:
        day_number = datetime.date(year, month, day).toordinal()
    except ValueError:
        return None
    zone = match.group(8)
    offset_seconds = 0
    if zone != "Z":
        offset_hours, offset_minutes = int(zone[1:3]), int(zone[4:6])
        if offset_hours > 23 or offset_minutes > 59:
            return None
        offset_seconds = (offset_hours * 60 + offset_minutes) * 60
        if zone[0] == "-":
            offset_seconds = -offset_seconds
    whole = day_number * _SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset_seconds
    fraction = Fraction("0" + match.group(7)) if match.group(7) else Fraction(0)
    return Fraction(whole) + fraction


def format_utc_seconds(instant):
    """`YYYY-MM-DDTHH:MM:SSZ` of an instant from parse_timestamp, truncated to seconds."""
    whole = math.floor(instant)
    day_number, second_of_day = divmod(whole, _SECONDS_PER_DAY)
    # An offset can push an instant just outside years 1..9999; the calendar
    # repeats every 400 years, so shift into range and shift the year back.
    year_shift = 0
    while day_number < 1:
        day_number += _DAYS_PER_400_YEARS
        year_shift -= 400
    while day_number > datetime.date.max.toordinal():
        day_number -= _DAYS_PER_400_YEARS
        year_shift += 400
    day = datetime.date.fromordinal(day_number)
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    return (
        f"{day.year + year_shift:04d}-{day.month:02d}-{day.day:02d}"
        f"T{hour:02d}:{minute:02d}:{second:02d}Z"
    )


# ---------------------------------------------------------------------------
# Validation: portal-api.yaml, strict and whole-record.
# ---------------------------------------------------------------------------


def is_string(value):
    return isinstance(value, str)


def is_string_or_null(value):
    return value is None or isinstance(value, str)


def is_boolean_or_null(value):
    return value is None or isinstance(value, bool)


def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_timestamp(value):
    return parse_timestamp(value) is not None


def is_timestamp_or_null(value):
    return value is None or is_timestamp(value)


def has_required(obj, field, check):
    return field in obj and check(obj[field])


def has_optional(obj, field, check):
    return field not in obj or check(obj[field])


def is_valid_contact(contact, is_delivery):
    if not isinstance(contact, dict):
        return False
    checks = [
        has_optional(contact, "id", is_string),
        has_optional(contact, "phone", is_string_or_null),
        has_optional(contact, "email", is_string_or_null),
        has_optional(contact, "sms_consent", is_boolean_or_null),
        has_optional(contact, "sms_consent_at", is_timestamp_or_null),
        has_optional(contact, "locale", is_string_or_null),
    ]
    if is_delivery:
        checks.append(has_optional(contact, "created_at", is_timestamp))
    return all(checks)


def is_valid_order(order):
    if not isinstance(order, dict):
        return False
    status = order.get("status")
    return all(
        [
            has_required(order, "id", is_string),
            isinstance(status, str) and status in ORDER_STATUSES,
            has_required(order, "created_at", is_timestamp),
            has_optional(order, "total_cents", is_integer),
            has_optional(order, "currency", is_string),
        ]
    )


def is_valid_user(user):
    return user is None or is_valid_contact(user, is_delivery=False)


def is_valid_deliveries(deliveries):
    if not isinstance(deliveries, list):
        return False
    for delivery in deliveries:
        if not is_valid_contact(delivery, is_delivery=True):
            return False
    return True


def is_valid_orders(orders):
    if not isinstance(orders, list):
        return False
    for order in orders:
        if not is_valid_order(order):
            return False
    return True


def is_valid_subject(subject):
    if not isinstance(subject, dict):
        return False
    return all(
        [
            has_required(subject, "id", is_string),
            has_required(subject, "activity_id", is_string),
            has_required(subject, "first_name", is_string),
            has_required(subject, "last_name", is_string),
            has_required(subject, "updated_at", is_timestamp),
            has_optional(subject, "group_name", is_string_or_null),
            has_optional(subject, "access_key", is_string_or_null),
            has_optional(subject, "user", is_valid_user),
            has_optional(subject, "deliveries", is_valid_deliveries),
            has_optional(subject, "orders", is_valid_orders),
        ]
    )


def is_valid_activity(activity):
    if not isinstance(activity, dict):
        return False
    return all(
        [
            has_required(activity, "id", is_string),
            has_required(activity, "job_id", is_string),
            has_required(activity, "name", is_string),
            has_optional(activity, "group_name", is_string_or_null),
            has_optional(activity, "subjects", lambda value: isinstance(value, list)),
        ]
    )


def is_valid_job(job):
    return all(
        [
            has_required(job, "id", is_string),
            has_required(job, "organization_id", is_string),
            has_required(job, "name", is_string),
            has_required(job, "status", is_string),
            has_optional(job, "selling_ends_at", is_timestamp_or_null),
            has_optional(job, "updated_at", is_timestamp),
            has_optional(job, "activities", lambda value: isinstance(value, list)),
        ]
    )


def string_or_empty(value):
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------------
# Reading the export.
# ---------------------------------------------------------------------------


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def read_export(path):
    """The JSON values of the export's lines, in file order (blank lines skipped)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ExportUnreadable(f"{path}: broken gzip data ({error})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ExportUnreadable(f"{path}: not UTF-8 ({error.reason})") from None
    values = []
    for line_number, line in enumerate(text.split("\n"), start=1):
        if line.strip(" \t\r") == "":
            continue
        try:
            values.append(json.loads(line, parse_constant=_reject_constant))
        except ValueError:
            raise ExportUnreadable(f"{path}: line {line_number} is not JSON") from None
    return values


def exclusion(organization_id, segment, job_id, activity_id, subject_id, reason, detail=""):
    return {
        "organization_id": organization_id,
        "segment": segment,
        "job_id": job_id,
        "activity_id": activity_id,
        "subject_id": subject_id,
        "reason": reason,
        "detail": detail,
    }


def read_records(path, job_ids, exclusions):
    """Valid subject records, in file order; quarantine rows go to `exclusions`."""
    records = []
    for value in read_export(path):
        if not isinstance(value, dict):
            exclusions.append(exclusion("", "", "", "", "", "invalid_record", "not a JSON object"))
            continue
        job = value
        if job.get("status") != SELLING_STATUS:  # only the exact string equals it
            continue
        if job_ids and not (isinstance(job.get("id"), str) and job["id"] in job_ids):
            continue
        organization_id = string_or_empty(job.get("organization_id"))
        job_id = string_or_empty(job.get("id"))
        if not is_valid_job(job):
            exclusions.append(
                exclusion(organization_id, "", job_id, "", "", "invalid_record", "malformed job")
            )
            continue
        for activity in job.get("activities", []):
            if not is_valid_activity(activity):
                activity_id = string_or_empty(activity.get("id")) if isinstance(activity, dict) else ""
                exclusions.append(
                    exclusion(organization_id, "", job_id, activity_id, "", "invalid_record", "malformed activity")
                )
                continue
            for subject in activity.get("subjects", []):
                if not is_valid_subject(subject):
                    subject_id = string_or_empty(subject.get("id")) if isinstance(subject, dict) else ""
                    exclusions.append(
                        exclusion(
                            organization_id, "", job_id, activity["id"], subject_id,
                            "invalid_record", "malformed subject",
                        )
                    )
                    continue
                records.append(
                    {
                        "organization_id": organization_id,
                        "job_id": job_id,
                        "job_name": job["name"],
                        "activity_id": activity["id"],
                        "activity_name": activity["name"],
                        "activity_group_name": activity.get("group_name"),
                        "subject": subject,
                        "updated_at": parse_timestamp(subject["updated_at"]),
                    }
                )
    return records


# ---------------------------------------------------------------------------
# Phones and suppressions.
# ---------------------------------------------------------------------------


class PhoneBook:
    """phonenumbers, once per distinct string."""

    def __init__(self, region):
        self.region = region
        self.cache = {}

    def parse(self, raw):
        """(valid, sms_capable, e164, region) of a raw phone string."""
        if raw not in self.cache:
            self.cache[raw] = self._parse(raw)
        return self.cache[raw]

    def _parse(self, raw):
        try:
            number = phonenumbers.parse(raw, self.region)
        except phonenumbers.NumberParseException:
            return (False, False, None, None)
        if not phonenumbers.is_valid_number(number):
            return (False, False, None, None)
        sms_capable = phonenumbers.number_type(number) in SMS_NUMBER_TYPES
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return (True, sms_capable, e164, phonenumbers.region_code_for_number(number) or "")


def read_suppressions(paths, phone_book):
    """The E.164 numbers of the suppression files."""
    suppressed = set()
    for path in paths:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            lines = handle.read().splitlines()
        first = 0
        while first < len(lines) and lines[first].strip() == "":
            first += 1
        if first == len(lines):
            continue
        header = next(csv.reader([lines[first]]))
        phone_columns = [i for i, cell in enumerate(header) if cell.strip().lower() == "phone"]
        if phone_columns:
            column = phone_columns[0]
            entries = []
            for row in csv.reader(io.StringIO("\n".join(lines[first + 1 :]))):
                if len(row) > column:
                    entries.append(row[column].strip())
        else:
            entries = []
            for line in lines:
                entry = line.strip()
                if entry and not entry.startswith("#"):
                    entries.append(entry)
        for entry in entries:
            valid, _sms_capable, e164, _region = phone_book.parse(entry)
            if valid:
                suppressed.add(e164)
    return suppressed


def mask_phone(e164):
    # Six leading characters at most, and never fewer than four hidden.
    shown = max(0, min(6, len(e164) - 6))
    return e164[:shown] + "*" * (len(e164) - shown - 2) + e164[-2:]


# ---------------------------------------------------------------------------
# The rules.
# ---------------------------------------------------------------------------


def latest_records(records):
    """Rule 2: one record per (activity_id, subject_id); latest updated_at, ties first seen."""
    winners = {}
    for record in records:
        key = (record["activity_id"], record["subject"]["id"])
        if key not in winners or record["updated_at"] > winners[key]["updated_at"]:
            winners[key] = record
    return list(winners.values())


def buyer_keys(records):
    """Rule 3: the (job_id, subject_id) pairs with a paid/shipped/delivered order."""
    buyers = set()
    for record in records:
        for order in record["subject"].get("orders", []):
            if order["status"] in BUYING_ORDER_STATUSES:
                buyers.add((record["job_id"], record["subject"]["id"]))
    return buyers


def contact_candidates(subject):
    """Rule 5 priority: user, then deliveries newest first (ties: id by code point)."""
    candidates = []
    if isinstance(subject.get("user"), dict):
        candidates.append(("user", subject["user"]))

    def delivery_order(position_and_delivery):
        position, delivery = position_and_delivery
        created = parse_timestamp(delivery.get("created_at"))
        has_id = isinstance(delivery.get("id"), str)
        return (
            created is None,  # dated deliveries first,
            -created if created is not None else 0,  # newest first,
            not has_id,  # then those with an id,
            delivery["id"] if has_id else "",  # id ascending by code point,
            position,  # then array order
        )

    deliveries = sorted(enumerate(subject.get("deliveries", [])), key=delivery_order)
    for _position, delivery in deliveries:
        candidates.append(("delivery", delivery))
    return candidates


def choose_contact(candidates, phone_book, suppressed, organization_id=None, scoped=frozenset()):
    """Rule 5: ("chosen", source, contact, e164, region) or ("excluded", reason, detail).
    `suppressed` numbers suppress for every organization, `scoped` (organization_id, e164) pairs for one."""
    sms_capable = []
    for source, contact in candidates:
        phone = contact.get("phone")
        if not isinstance(phone, str):
            continue
        _valid, capable, e164, region = phone_book.parse(phone)
        if capable:
            sms_capable.append((source, contact, e164, region))
    for source, contact, e164, region in sms_capable:
        if contact.get("sms_consent") is True and e164 not in suppressed and (organization_id, e164) not in scoped:
            return ("chosen", source, contact, e164, region)
    if not sms_capable:
        return ("excluded", "no_phone", "")
    consented = [c for c in sms_capable if c[1].get("sms_consent") is True]
    if not consented:
        return ("excluded", "no_consent", mask_phone(sms_capable[0][2]))
    return ("excluded", "suppressed", mask_phone(consented[0][2]))


def output_group_name(record):
    subject_group = record["subject"].get("group_name")
    if isinstance(subject_group, str) and subject_group != "":
        return subject_group
    return string_or_empty(record["activity_group_name"])


def access_key_of(record):
    return string_or_empty(record["subject"].get("access_key"))


def build_rows(chosen):
    """Rule 7 and 8: one row per (organization_id, segment, phone), sorted."""
    groups = {}
    for item in chosen:
        key = (item["record"]["organization_id"], item["segment"], item["phone"])
        groups.setdefault(key, []).append(item)
    rows = []
    for (organization_id, segment, phone), members in groups.items():
        members.sort(
            key=lambda m: (m["record"]["job_id"], m["record"]["activity_id"], m["record"]["subject"]["id"])
        )
        primary = members[0]
        record = primary["record"]
        contact = primary["contact"]
        subject_ids = []
        access_keys = []
        for member in members:
            subject_id = member["record"]["subject"]["id"]
            if subject_id not in subject_ids:
                subject_ids.append(subject_id)
                access_keys.append(access_key_of(member["record"]))
        consent_at = parse_timestamp(contact.get("sms_consent_at"))
        rows.append(
            {
                "organization_id": organization_id,
                "segment": segment,
                "phone": phone,
                "region": primary["region"],
                "first_name": record["subject"]["first_name"],
                "last_name": record["subject"]["last_name"],
                "job_id": record["job_id"],
                "job_name": record["job_name"],
                "activity_id": record["activity_id"],
                "activity_name": record["activity_name"],
                "group_name": output_group_name(record),
                "subject_id": record["subject"]["id"],
                "access_key": access_key_of(record),
                "contact_source": primary["source"],
                "consent_at": format_utc_seconds(consent_at) if consent_at is not None else "",
                "locale": string_or_empty(contact.get("locale")),
                "subject_count": len(subject_ids),
                "subject_ids": ";".join(subject_ids),
                "access_keys": ";".join(access_keys),
            }
        )
    rows.sort(
        key=lambda r: (r["organization_id"], r["segment"], r["job_id"], r["activity_id"], r["subject_id"], r["phone"])
    )
    return rows


# ---------------------------------------------------------------------------
# CSV output.
# ---------------------------------------------------------------------------


def csv_field(value):
    text = str(value)
    if any(special in text for special in (",", '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_bytes(columns, rows):
    lines = [",".join(csv_field(column) for column in columns)]
    for row in rows:
        lines.append(",".join(csv_field(row[column]) for column in columns))
    return "".join(line + "\n" for line in lines).encode("utf-8")


# ---------------------------------------------------------------------------
# The whole build.
# ---------------------------------------------------------------------------


def build(
    export_path,
    *,
    segments=SEGMENTS,
    job_ids=None,
    groups=None,
    contact_sources=None,
    suppress_paths=(),
    region="FI",
    scoped_suppressions=(),
):
    """(dataset CSV bytes, exclusions CSV bytes) of a portal export.
    `scoped_suppressions`: (organization_id, phone as written) pairs, as the
    campaign database holds them for one organization."""
    phone_book = PhoneBook(region)
    suppressed = read_suppressions(suppress_paths, phone_book)
    scoped = set()
    for organization_id, phone in scoped_suppressions:
        valid, _capable, e164, _region = phone_book.parse(phone)
        if valid:
            scoped.add((organization_id, e164))
    exclusions = []
    records = read_records(export_path, list(job_ids or ()), exclusions)
    records = latest_records(records)
    buyers = buyer_keys(records)

    chosen = []
    for record in records:
        subject = record["subject"]
        segment = "buyer" if (record["job_id"], subject["id"]) in buyers else "non_buyer"
        if segment not in segments:
            continue

        def exclude(reason, detail=""):
            exclusions.append(
                exclusion(
                    record["organization_id"], segment, record["job_id"],
                    record["activity_id"], subject["id"], reason, detail,
                )
            )

        if groups and not (
            subject.get("group_name") in groups or record["activity_group_name"] in groups
        ):
            exclude("filtered_out", "group filter")
            continue
        candidates = contact_candidates(subject)
        if contact_sources:
            candidates = [c for c in candidates if c[0] in contact_sources]
            if not candidates:
                exclude("filtered_out", "contact source filter")
                continue
        outcome = choose_contact(candidates, phone_book, suppressed, record["organization_id"], scoped)
        if outcome[0] == "excluded":
            exclude(outcome[1], outcome[2])
            continue
        _, source, contact, e164, phone_region = outcome
        chosen.append(
            {
                "record": record,
                "segment": segment,
                "source": source,
                "contact": contact,
                "phone": e164,
                "region": phone_region,
            }
        )

    rows = build_rows(chosen)
    exclusions.sort(key=lambda e: tuple(e[column] for column in EXCLUSION_COLUMNS))
    return csv_bytes(DATASET_COLUMNS, rows), csv_bytes(EXCLUSION_COLUMNS, exclusions)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Row-by-row reference campaign dataset build.")
    parser.add_argument("export", help="portal export, JSON Lines, gzip or not")
    parser.add_argument("--out", help="dataset CSV (default: stdout)")
    parser.add_argument("--exclusions", help="exclusions CSV")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--buyers", dest="segments", action="store_const", const=("buyer",))
    which.add_argument("--non-buyers", dest="segments", action="store_const", const=("non_buyer",))
    which.add_argument("--both", dest="segments", action="store_const", const=SEGMENTS)
    parser.add_argument("--group", dest="groups", action="extend", nargs="+", metavar="NAME")
    parser.add_argument("--job-id", dest="job_ids", action="extend", nargs="+", metavar="ID")
    parser.add_argument(
        "--contact-source", dest="contact_sources", action="append", choices=("user", "delivery")
    )
    parser.add_argument("--suppress", dest="suppress_paths", action="extend", nargs="+", metavar="FILE", default=[])
    parser.add_argument("--region", default="FI")
    args = parser.parse_args(argv)
    try:
        dataset, excluded = build(
            args.export,
            segments=args.segments or SEGMENTS,
            job_ids=args.job_ids,
            groups=args.groups,
            contact_sources=args.contact_sources,
            suppress_paths=args.suppress_paths,
            region=args.region,
        )
    except (ExportUnreadable, OSError, UnicodeDecodeError) as error:
        print(json.dumps({"level": "error", "message": str(error)}), file=sys.stderr)
        return 2
    if args.out:
        with open(args.out, "wb") as handle:
            handle.write(dataset)
    else:
        sys.stdout.buffer.write(dataset)
    if args.exclusions:
        with open(args.exclusions, "wb") as handle:
            handle.write(excluded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
