"""The portal export generator: deterministic, valid JSON Lines, and as messy as promised.

The bundled sample is read back with plain json and the strict portal_records
types, and every kind of mess the generator promises is counted in the file
itself, not taken from the generator's own summary.
"""

import csv
import gzip
import json
import re
from collections import Counter, defaultdict
from datetime import datetime
from typing import get_args

import msgspec
import phonenumbers
import pytest

from campaign_pipeline.dataset import portal_records
from campaign_pipeline.dataset.phones import reference_parse
from campaign_pipeline.sample import SAMPLE_EXPORT, SAMPLE_SUPPRESSIONS
from campaign_pipeline.sample.generate import (
    GZIP_MEMBER_NAME,
    MALFORMED_KINDS,
    generate_export,
    main,
    regenerate_sample,
)
from campaign_pipeline.files.export_file import iter_export_lines

SELLING = portal_records.SELLING_STATUS
ORDER_STATUSES = get_args(portal_records.OrderStatus)
TIMESTAMP = re.compile(portal_records.TIMESTAMP_PATTERN)
SMS_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
GARBAGE = {"n/a": "slash", "-": "dash", "123": "123", "abc": "abc", "0000000000": "zeros", "": "empty"}
NOT_PHONES = {*GARBAGE, "ei ole", "040", "?"}
# A Swedish mobile in Swedish national spelling: under region FI it is not that
# mobile, which is the point of writing it.
SWEDISH_NATIONAL = re.compile(r"^07\d-\d{3} \d\d \d\d$")
SPECIAL_NAMES = ("Äijälä", "Öhman", "Åström", "José", "Müller", "Nguyễn")
SCHEMA_KEYS = {
    "job": {"id", "organization_id", "name", "status", "selling_ends_at", "updated_at", "activities"},
    "activity": {"id", "job_id", "name", "group_name", "subjects"},
    "subject": {"id", "activity_id", "first_name", "last_name", "group_name", "access_key", "updated_at",
                "user", "deliveries", "orders"},
    "user": {"id", "phone", "email", "sms_consent", "sms_consent_at", "locale"},
    "delivery": {"id", "phone", "email", "sms_consent", "sms_consent_at", "locale", "created_at"},
    "order": {"id", "status", "total_cents", "currency", "created_at"},
}
PHONE_SPELLINGS = {
    "national_spaced": r"0\d{2} \d{3} \d{4}",
    "national_compact": r"0\d{9}",
    "plus_358_spaced": r"\+358 \d{2} .+",
    "plus_358_compact": r"\+358\d{9}",
    "idd_00358": r"00358\d{9}",
    "358_without_plus": r"358\d{9}",
    "parentheses": r"\(0\d{2}\) \d{3}-\d{4}",
    "dash": r"0\d{2}-\d{7}",
}


# --- reading an export back --------------------------------------------------------


def is_valid(value: object, type_) -> bool:
    try:
        msgspec.json.decode(msgspec.json.encode(value), type=type_)
    except msgspec.ValidationError:
        return False
    return True


def is_valid_subject(record: dict) -> bool:
    """Types by portal_records, timestamps by the contract's pattern (which
    portal_records leaves to a later, columnar check inside subjects)."""
    if not is_valid(record, portal_records.Subject):
        return False
    contacts = ([record["user"]] if record.get("user") else []) + record.get("deliveries", [])
    stamps = [record["updated_at"], *(order["created_at"] for order in record.get("orders", []))]
    stamps += [contact["sms_consent_at"] for contact in contacts if contact.get("sms_consent_at")]
    stamps += [delivery["created_at"] for delivery in record.get("deliveries", []) if "created_at" in delivery]
    return all(TIMESTAMP.match(stamp) for stamp in stamps)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def sms_number(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    e164, _, sms_capable = reference_parse(text, "FI")
    return e164 if sms_capable else None


def subject_faults(record: dict) -> list[str]:
    """The malformations of a subject record, told apart the contract's way."""
    faults = []
    if "id" not in record:
        faults.append("subject_missing_id")
    elif isinstance(record["id"], int):
        faults.append("subject_integer_id")
    updated_at = record.get("updated_at")
    if updated_at is None:
        faults.append("subject_missing_updated_at")
    elif not re.search(r"(Z|[+-]\d\d:\d\d)$", updated_at):
        faults.append("subject_updated_at_without_offset")
    elif not TIMESTAMP.match(updated_at):
        faults.append("subject_impossible_date")
    deliveries = record.get("deliveries") or []
    contacts = ([record["user"]] if isinstance(record.get("user"), dict) else []) + deliveries
    if any(contact.get("sms_consent") == "yes" for contact in contacts):
        faults.append("subject_consent_yes")
    if any(order["status"] not in ORDER_STATUSES for order in record.get("orders") or []):
        faults.append("subject_order_status_outside_enum")
    if any(isinstance(delivery.get("created_at"), int) for delivery in deliveries):
        faults.append("subject_delivery_created_at_number")
    return faults


class ExportFacts:
    """What an export holds: `counts` of every kind of mess, observed in the file."""

    def __init__(self, path) -> None:
        self.counts: Counter[str] = Counter()
        self.records = 0
        self.unexplained_records: list[dict] = []  # invalid with no known fault, or the reverse
        self.consented_mobiles: set[str] = set()
        self.phones: list[str] = []
        self._by_key: dict[tuple, list[dict]] = defaultdict(list)
        self._activities_of: dict[tuple, set[str]] = defaultdict(set)
        self._buying: dict[tuple, list[bool]] = defaultdict(list)
        self._owners: dict[str, set[tuple]] = defaultdict(set)
        for line in iter_export_lines(path):
            self._line(line)
        self._people()

    def _line(self, line: bytes) -> None:
        job = json.loads(line)
        if not isinstance(job, dict):
            self.counts["line_not_an_object"] += 1
            return
        counts = self.counts
        counts[f"job_status_{job['status']}"] += 1
        counts.update(f"extra_field_on_job_{key}" for key in job.keys() - SCHEMA_KEYS["job"])
        job_valid = is_valid(job, portal_records.Job)
        if not job_valid:
            selling_with_number = job["status"] == SELLING and isinstance(job["organization_id"], int)
            counts["selling_job_integer_organization_id" if selling_with_number else "non_selling_job_malformed"] += 1
        for activity in job["activities"]:
            self._activity(job, activity, visible=job_valid and job["status"] == SELLING)

    def _activity(self, job: dict, activity: dict, visible: bool) -> None:
        counts = self.counts
        counts.update(f"extra_field_on_activity_{key}" for key in activity.keys() - SCHEMA_KEYS["activity"])
        group = activity.get("group_name", "<absent>")
        counts["activity_group_" + ("class" if re.fullmatch(r"\d[A-Z]", str(group)) else str(group))] += 1
        if "name" not in activity:
            counts["activity_missing_name"] += 1
        if not isinstance(activity["subjects"], list):
            counts["activity_subjects_not_array"] += 1
            return
        visible = visible and is_valid(activity, portal_records.Activity)
        for record in activity["subjects"]:
            self._record(job, record, visible)

    def _record(self, job: dict, record: dict, visible: bool) -> None:
        counts = self.counts
        self.records += 1
        faults = subject_faults(record)
        counts.update(faults)
        if len(faults) > 1 or (not faults) != is_valid_subject(record):
            self.unexplained_records.append(record)
        if isinstance(record.get("id"), str):
            self._by_key[(record["activity_id"], record["id"])].append(record)
        self._shape(record)
        if visible and not faults:
            self._visible(job, record)

    def _shape(self, record: dict) -> None:
        """The mess that is no fault: absent and null values, spellings, odd names."""
        counts = self.counts
        counts.update(f"extra_field_on_subject_{key}" for key in record.keys() - SCHEMA_KEYS["subject"])
        counts["user_" + ("absent" if "user" not in record else "null" if record["user"] is None else "present")] += 1
        key = record.get("access_key", "<absent>")
        counts["access_key_" + {"<absent>": "absent", None: "null", "": "empty"}.get(key, "string")] += 1
        group = record.get("group_name", "<absent>")
        counts["subject_group_" + {"<absent>": "absent", None: "null", "": "empty"}.get(group, "set")] += 1
        updated_at = record.get("updated_at")
        if isinstance(updated_at, str) and TIMESTAMP.match(updated_at):
            counts["offset_" + ("Z" if updated_at.endswith("Z") else updated_at[-6:])] += 1
            counts["fractional_seconds"] += "." in updated_at
        for name in (record["first_name"], record["last_name"]):
            counts["name_with_comma"] += "," in name
            counts["name_with_double_quote"] += '"' in name
            counts["name_with_apostrophe"] += "'" in name
            counts["name_non_ascii"] += not name.isascii()
            counts["name_with_stray_spaces"] += name != name.strip()
            counts.update(f"name_{special}" for special in SPECIAL_NAMES if special in name)
        deliveries = record.get("deliveries")
        counts[f"deliveries_{'absent' if deliveries is None else len(deliveries)}"] += 1
        if isinstance(record.get("user"), dict):
            self._contact(record["user"], "user")
        for delivery in deliveries or []:
            self._contact(delivery, "delivery")
            counts["delivery_created_at_missing"] += "created_at" not in delivery
        stamps = [instant(d["created_at"]) for d in deliveries or [] if isinstance(d.get("created_at"), str)]
        counts["delivery_created_at_tied"] += len(stamps) != len(set(stamps))
        for order in record.get("orders") or []:
            counts[f"order_{order['status']}"] += 1
            counts.update(f"extra_field_on_order_{key}" for key in order.keys() - SCHEMA_KEYS["order"])
        counts["orders_" + ("absent" if "orders" not in record else "none" if not record["orders"] else "some")] += 1

    def _contact(self, contact: dict, kind: str) -> None:
        counts = self.counts
        counts.update(f"extra_field_on_{kind}_{key}" for key in contact.keys() - SCHEMA_KEYS[kind])
        consent = contact.get("sms_consent", "<absent>")
        counts[f"consent_{consent}"] += 1
        counts["sms_consent_at_" + ("present" if contact.get("sms_consent_at") else "absent")] += 1
        counts[f"locale_{contact.get('locale', '<absent>')}"] += 1
        phone = contact.get("phone", "<absent>")
        if phone == "<absent>" or phone is None:
            counts[f"phone_{phone}"] += 1
            return
        self.phones.append(phone)
        if phone in GARBAGE:
            counts[f"phone_garbage_{GARBAGE[phone]}"] += 1
        if phone != phone.strip() or "  " in phone:
            counts["phone_stray_spaces"] += 1
        counts.update(f"phone_{name}" for name, pattern in PHONE_SPELLINGS.items() if re.fullmatch(pattern, phone))
        try:
            number = phonenumbers.parse(phone, "FI")
        except phonenumbers.NumberParseException:
            return
        if phonenumbers.is_valid_number(number):
            region = phonenumbers.region_code_for_number(number)
            number_type = phonenumbers.number_type(number)
            if number_type == phonenumbers.PhoneNumberType.FIXED_LINE:
                counts[f"phone_landline_{region}"] += 1
            elif number_type in SMS_TYPES and region != "FI":
                counts[f"phone_mobile_{region}"] += 1

    def _visible(self, job: dict, record: dict) -> None:
        """A valid record of a valid selling job: what the pipeline decides on."""
        person = (job["id"], record["id"])
        self._activities_of[person].add(record["activity_id"])
        orders = record.get("orders") or []
        self._buying[person].append(any(order["status"] in portal_records.BUYING_ORDER_STATUSES for order in orders))
        contacts = ([record["user"]] if isinstance(record.get("user"), dict) else []) + (record.get("deliveries") or [])
        for contact in contacts:
            number = sms_number(contact.get("phone"))
            if number:
                self._owners[number].add((job["organization_id"], job["id"], record["id"]))
                if contact.get("sms_consent") is True:
                    self.consented_mobiles.add(number)

    def _people(self) -> None:
        counts = self.counts
        for records in self._by_key.values():
            first = records[0]
            for again in records[1:]:
                if again == first:
                    counts["exact_repeats"] += 1
                elif instant(again["updated_at"]) != instant(first["updated_at"]):
                    counts["updated_repeats"] += 1
                else:
                    counts["same_instant_other_offset_repeats"] += 1
        counts["same_subject_in_two_activities"] = sum(len(a) > 1 for a in self._activities_of.values())
        counts["buyers"] = sum(any(b) for b in self._buying.values())
        counts["non_buyers"] = sum(not any(b) for b in self._buying.values())
        counts["buyers_via_one_of_their_records"] = sum(any(b) and not all(b) for b in self._buying.values())
        for owners in self._owners.values():
            organizations = {organization for organization, _, _ in owners}
            counts["phone_in_two_organizations"] += len(organizations) > 1
            for organization in organizations:
                mine = {(job, subject) for org, job, subject in owners if org == organization}
                siblings = len({subject for _, subject in mine}) > 1
                counts["siblings_sharing_a_phone_across_jobs"] += siblings and len({job for job, _ in mine}) > 1


@pytest.fixture(scope="module")
def sample() -> ExportFacts:
    return ExportFacts(SAMPLE_EXPORT)


@pytest.fixture(scope="module")
def fresh_sample(tmp_path_factory) -> tuple[dict, object, object]:
    folder = tmp_path_factory.mktemp("sample")
    export, suppressions = folder / "portal_export.jsonl.gz", folder / "suppressions.csv"
    return regenerate_sample(export, suppressions), export, suppressions


# --- determinism --------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path) -> None:
    first = tmp_path / "a" / "first.jsonl.gz"
    second = tmp_path / "b" / "second.jsonl.gz"
    generate_export(first, subjects=1500, seed=7, jobs=8)
    generate_export(second, subjects=1500, seed=7, jobs=8)
    assert first.read_bytes() == second.read_bytes()
    header = first.read_bytes()
    assert header[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
    assert GZIP_MEMBER_NAME.encode() + b"\0" in header[:64]

    plain = tmp_path / "plain.jsonl"
    generate_export(plain, subjects=1500, seed=7, jobs=8)
    assert plain.read_bytes() == gzip.decompress(first.read_bytes())

    other_seed = tmp_path / "other.jsonl"
    generate_export(other_seed, subjects=1500, seed=8, jobs=8)
    assert other_seed.read_bytes() != plain.read_bytes()


def test_bundled_sample_equals_a_fresh_regeneration(fresh_sample) -> None:
    # The content is compared, not the gzip stream: another zlib build may pack
    # the same bytes differently, and that is no drift.
    _, export, suppressions = fresh_sample
    assert gzip.decompress(export.read_bytes()) == gzip.decompress(SAMPLE_EXPORT.read_bytes()), (
        "the bundled sample drifted from the generator: run python -m campaign_pipeline.sample.generate --sample"
    )
    assert suppressions.read_bytes() == SAMPLE_SUPPRESSIONS.read_bytes()


# --- shape --------------------------------------------------------------------------


def test_a_small_export_is_valid_json_lines(tmp_path) -> None:
    path = tmp_path / "small.jsonl"
    summary = generate_export(path, subjects=300, seed=3, organizations=2, jobs=6)
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = data.decode("utf-8").split("\n")[:-1]
    values = [json.loads(line) for line in lines]
    assert sum(not isinstance(value, dict) for value in values) == 1
    assert [value for value in values if not isinstance(value, dict)] == [[]]
    # Serialized exactly as json.dumps(ensure_ascii=False, compact) writes it.
    for value, line in zip(values, lines):
        assert json.dumps(value, ensure_ascii=False, separators=(",", ":")) == line
    jobs = [value for value in values if isinstance(value, dict)]
    assert len(jobs) == 6 == summary["jobs"]
    assert all(isinstance(job["activities"], list) for job in jobs)
    assert ExportFacts(path).records == 300 == summary["subject_records"]


def test_bundled_sample_size_and_jobs(sample) -> None:
    assert SAMPLE_EXPORT.stat().st_size < 1_500_000
    assert 3000 <= sample.records <= 5000
    assert sample.counts[f"job_status_{SELLING}"] == 15
    for status in ("draft", "shooting", "processing", "closed"):
        assert sample.counts[f"job_status_{status}"] >= 1


def test_every_invalid_record_is_one_known_fault(sample) -> None:
    assert sample.unexplained_records == []


def test_most_records_are_clean(sample) -> None:
    malformed = sum(sample.counts[kind] for kind in MALFORMED_KINDS if kind.startswith("subject_"))
    assert 0.005 * sample.records < malformed < 0.05 * sample.records
    for kind in ("exact_repeats", "updated_repeats", "same_instant_other_offset_repeats"):
        assert sample.counts[kind] < 0.05 * sample.records


def test_the_summary_counts_what_the_file_holds(fresh_sample) -> None:
    summary, export, _ = fresh_sample
    facts = ExportFacts(export)
    assert summary["subject_records"] == facts.records
    assert summary["malformed"] == {kind: facts.counts[kind] for kind in MALFORMED_KINDS}
    for kind in ("exact_repeats", "updated_repeats", "same_instant_other_offset_repeats"):
        assert summary["mess"][kind] == facts.counts[kind], kind
    assert sum(summary["jobs_by_status"].values()) == summary["jobs"]


# --- the mess, each kind present in the bundled sample ------------------------------

EXPECTED_MESS = [
    *MALFORMED_KINDS,
    # jobs and activities
    "job_status_draft", "job_status_shooting", "job_status_processing", "job_status_closed",
    "activity_group_class", "activity_group_Staff", "activity_group_None", "activity_group_<absent>",
    "subject_group_set", "subject_group_null", "subject_group_empty", "subject_group_absent",
    # people and duplicates
    "same_subject_in_two_activities", "exact_repeats", "updated_repeats", "same_instant_other_offset_repeats",
    "siblings_sharing_a_phone_across_jobs", "phone_in_two_organizations",
    "buyers", "non_buyers", "buyers_via_one_of_their_records",
    *(f"order_{status}" for status in ORDER_STATUSES), "orders_absent", "orders_none", "orders_some",
    # contacts
    "user_present", "user_null", "user_absent",
    "deliveries_0", "deliveries_1", "deliveries_2", "deliveries_3", "deliveries_absent",
    "delivery_created_at_missing", "delivery_created_at_tied",
    "consent_True", "consent_False", "consent_None", "consent_<absent>",
    "sms_consent_at_present", "sms_consent_at_absent",
    "locale_fi-FI", "locale_sv-FI", "locale_en-GB", "locale_None",
    # phones
    *(f"phone_{name}" for name in PHONE_SPELLINGS), "phone_stray_spaces",
    "phone_landline_FI", "phone_landline_AX",
    "phone_mobile_SE", "phone_mobile_NO", "phone_mobile_EE", "phone_mobile_GB", "phone_mobile_US",
    *(f"phone_garbage_{name}" for name in GARBAGE.values()), "phone_None", "phone_<absent>",
    # keys, names, timestamps
    "access_key_string", "access_key_null", "access_key_absent", "access_key_empty",
    "name_with_comma", "name_with_double_quote", "name_with_apostrophe", "name_non_ascii", "name_with_stray_spaces",
    *(f"name_{special}" for special in SPECIAL_NAMES),
    "offset_Z", "offset_+02:00", "offset_+03:00", "offset_-05:00", "fractional_seconds",
]


@pytest.mark.parametrize("kind", EXPECTED_MESS)
def test_the_sample_holds(sample, kind) -> None:
    assert sample.counts[kind] > 0, f"no {kind} in the bundled sample"


@pytest.mark.parametrize("kind", ["job", "activity", "subject", "user", "delivery", "order"])
def test_the_sample_has_unknown_fields_on(sample, kind) -> None:
    assert any(key.startswith(f"extra_field_on_{kind}_") for key in sample.counts), f"no unknown field on a {kind}"


def test_phones_meant_to_be_valid_are_valid(sample) -> None:
    meant = [phone for phone in sample.phones if phone not in NOT_PHONES]
    invalid = [phone for phone in meant if not SWEDISH_NATIONAL.match(phone) and not _valid_phone(phone)]
    assert invalid == []


def _valid_phone(text: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(text, "FI"))


# --- the suppression list -----------------------------------------------------------


def test_suppressions_are_consented_mobiles_of_the_sample_spelled_every_way(sample) -> None:
    with open(SAMPLE_SUPPRESSIONS, encoding="utf-8", newline="") as lines:
        rows = list(csv.DictReader(lines))
    phones = [row["phone"] for row in rows]
    numbers = [sms_number(phone) for phone in phones]
    assert sum(number is None for number in numbers) == 1, "exactly one unparsable entry"
    listed = [number for number in numbers if number]
    assert 12 <= len(set(listed)) <= 18
    assert set(listed) <= sample.consented_mobiles
    assert any(phone.startswith("0") and not phone.startswith("00") for phone in phones), "national"
    assert any(phone.startswith("+358") for phone in phones)
    assert any(phone.startswith("00358") for phone in phones)
    assert any(" " in phone.strip() for phone in phones), "with spaces"
    assert all(row["reason"] for row in rows)


# --- the command --------------------------------------------------------------------


def test_command_writes_an_export_and_prints_its_summary(tmp_path, capsys) -> None:
    out = tmp_path / "cli.jsonl.gz"
    assert main(["--subjects", "200", "--jobs", "4", "--organizations", "2", "--seed", "5", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["subject_records"] == 200
    assert printed["bytes"] == out.stat().st_size
    assert ExportFacts(out).records == 200


@pytest.mark.parametrize("argv", [["--sample", "--subjects", "10"], ["--subjects", "10"], ["--out", "x.jsonl"]])
def test_command_usage_errors(argv) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
