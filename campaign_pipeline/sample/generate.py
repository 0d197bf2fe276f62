"""Deterministic, realistically messy portal exports, and the bundled sample.

A portal export is JSON Lines, one Job per line, each Job carrying its
`activities` and each Activity its `subjects`, the objects as portal-api.yaml
describes them (campaign-dataset.md, "Inputs"). Real exports are mostly clean with
a few per cent of everything the contract warns about, so that is what this writes:

- people: one subject id in a portrait and a class photo; pages that repeat a
  record, repeats with another `updated_at` (some the same instant in another
  offset); siblings under one parent's phone across the jobs of an organization;
  a phone known to two organizations;
- contacts: phones in every national and international spelling, landlines,
  foreign mobiles and garbage; consent true, false, null or absent; 0-3
  deliveries with tied or missing `created_at`;
- orders of every status, so buyers and non-buyers; names with commas, quotes
  and diacritics; unknown extra fields on every kind of object;
- malformed records of every kind "Precise readings" lists, and one JSON line
  that is not an object (never a line that is not JSON: that makes a file
  unreadable, which is another test).

Determinism: one `random.Random(seed)` makes every choice in a fixed order and
nothing reads the clock. Ids are a bijective mix of a counter, so they are unique
without being remembered; a family's phone is a pure function of the family's
number, so a sibling met jobs later finds it again without the generator storing
it. Memory stays flat: a job's line is written activity by activity, and at most
one class of pupils is alive at a time.

    python -m campaign_pipeline.sample.generate --subjects N [--seed S] [--jobs J]
        [--organizations O] --out PATH(.gz)
    python -m campaign_pipeline.sample.generate --sample
"""

from __future__ import annotations

import argparse
import calendar
import csv
import gzip
import json
import os
import queue
import random
import re
import sys
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import msgspec
import phonenumbers

from campaign_pipeline.dataset import portal_records
from campaign_pipeline.dataset.phones import reference_parse
from campaign_pipeline.sample import SAMPLE_EXPORT, SAMPLE_SUPPRESSIONS
from campaign_pipeline.files.export_file import iter_export_lines

SAMPLE_SETTINGS = {"subjects": 4000, "seed": 2026, "organizations": 3, "jobs": 20}

# The gzip header carries a name and a time; both are fixed so that the same
# seed gives the same bytes whatever the path and whenever it runs.
GZIP_MEMBER_NAME = "portal_export.jsonl"
_GZIP_LEVEL = 6

SELLING = portal_records.SELLING_STATUS
_ABSENT = object()  # a key left out of the object, unlike a JSON null


# --- time -------------------------------------------------------------------


def _utc(year: int, month: int, day: int) -> int:
    return calendar.timegm((year, month, day, 0, 0, 0))


# The reference period is the autumn 2026 photo season, whatever today is.
_JOB_UPDATES = (_utc(2026, 8, 15), _utc(2026, 10, 1))
_SELLING_ENDS = (_utc(2026, 12, 1), _utc(2026, 12, 21))
_SHOOTING = (_utc(2026, 9, 1), _utc(2026, 11, 16))
_ORDERING = (_utc(2026, 10, 1), _utc(2026, 12, 1))
_EARLIER_DELIVERIES = (_utc(2024, 9, 1), _utc(2026, 9, 1))
_CONSENTS = (_utc(2024, 8, 1), _utc(2026, 10, 1))

_OFFSET_SECONDS = {"Z": 0, "+03:00": 3 * 3600, "+02:00": 2 * 3600, "-05:00": -5 * 3600}
# Servers write UTC, Finnish users summer or winter time, one office is in the US.
_OFFSETS = ("Z",) * 4 + ("+03:00",) * 3 + ("+02:00",) * 2 + ("-05:00",)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

_IMPOSSIBLE_TIMESTAMPS = ("2026-02-30T10:00:00Z", "2026-09-31T08:15:00+03:00", "2026-11-31T12:00:00+02:00")


@lru_cache(maxsize=None)
def _iso_date(days_since_epoch: int) -> str:
    return date.fromordinal(_EPOCH_ORDINAL + days_since_epoch).isoformat()


def format_timestamp(instant: int, offset: str, fraction: str = "") -> str:
    """RFC 3339 for a Unix instant, written in the given offset.

    Cheaper than datetime per call, which matters at several timestamps per record.
    """
    local = instant + _OFFSET_SECONDS[offset]
    days, seconds = divmod(local, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_iso_date(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}{offset}"


# --- randomness and ids ---------------------------------------------------------
#
# Draws go through a bare `random()` callable: rng.choice and rng.randrange cost
# ten times as much, and a million subjects take a few dozen draws each.


def _below(random: Callable[[], float], n: int) -> int:
    return int(random() * n)


def _between(random: Callable[[], float], low: int, high: int) -> int:
    return low + int(random() * (high - low))


def _pick(random: Callable[[], float], options: Sequence):
    return options[int(random() * len(options))]


def _moment(random: Callable[[], float], window: tuple[int, int]) -> tuple[int, str, str]:
    """(instant, offset, fraction) of a timestamp within `window`; few have fractions."""
    instant = _between(random, *window)
    r = random()
    fraction = "" if r < 0.85 else f".{_below(random, 1000):03d}" if r < 0.96 else f".{_below(random, 10**6):06d}"
    return instant, _pick(random, _OFFSETS), fraction


_MASK64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    """SplitMix64's finalizer: a bijection on 64-bit integers that scatters neighbours."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class _Dice:
    """A small random stream of its own, a pure function of its seed.

    What the portal keeps per family (a parent's account) is drawn from the
    family's dice, so it comes out the same wherever the family is met, without
    the generator remembering it. Three draws per 64-bit mix keep it cheap.
    """

    __slots__ = ("_seed", "_bits")

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._bits = 1

    def random(self) -> float:
        if self._bits < 1 << 21:
            self._seed += 1
            self._bits = _mix64(self._seed) | 1 << 64  # the top bit marks what is left
        fraction = self._bits & 0x1FFFFF
        self._bits >>= 21
        return fraction / 0x200000


_KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: keys are typed by hand


def _access_key(bits: int) -> str:
    chars = []
    for _ in range(8):
        bits, index = divmod(bits, 32)
        chars.append(_KEY_ALPHABET[index])
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


# --- people -------------------------------------------------------------------

_PUPIL_FIRST_NAMES = (
    "Aino", "Eetu", "Väinö", "Emma", "Leo", "Olivia", "Elias", "Aada", "Onni", "Helmi",
    "Eino", "Sofia", "Oliver", "Lilja", "Ella", "Noah", "Saga", "Linnea", "Kerttu", "Ilmari",
    "Siiri", "Venla", "Juho", "Anni-Sofia", "José", "Zoë", "Mikaël", "Björn", "Minh Anh",
    'Johanna "Jonna"',
)
_ADULT_FIRST_NAMES = (
    "Tiina", "Jukka", "Sanna", "Mikko", "Päivi", "Kari", "Ulla-Maija", "Hans", "María José",
    "Pekka", "Riikka", "Jörg", 'Matti "Masa"',
)
_LAST_NAMES = (
    "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine",
    "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Saarinen", "Salminen", "Lindqvist",
    "Björk", "Kivelä", "Pääkkönen", "Rönkkö", "Wikström", "Holmberg", "Granström-Laine",
    "Äijälä", "Öhman", "Åström", "Müller", "Nguyễn", "García", "O'Brien", "D'Souza",
    "Smith, Jr.",
)


def _email_local_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name.lower() if c.isalnum())


_EMAIL_NAMES = tuple(_email_local_part(name) for name in _LAST_NAMES)
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

_LOCALES = ("fi-FI",) * 17 + ("sv-FI",) * 3 + ("en-GB",) * 2 + (None,) * 2 + (_ABSENT,)
_CONSENTS_GIVEN = (True,) * 13 + (False,) * 3 + (None,) * 2 + (_ABSENT,) * 2
_DELIVERY_COUNTS = (0,) * 7 + (1,) * 7 + (2,) * 4 + (3,) * 2

# --- phones -------------------------------------------------------------------

_FI_OPERATORS = ("40", "41", "44", "45", "46", "50")
_FI_AREA_CODES = ("9", "9", "9", "2", "3", "5", "6", "8", "14", "17", "19")
_NO_PREFIXES = ("40", "41", "46", "47", "48", "90", "91", "92", "93", "94", "95", "97", "98", "99")
_US_AREA_CODES = ("212", "415", "617", "312", "206")
_GARBAGE_PHONES = ("n/a", "-", "123", "abc", "0000000000", "", "ei ole", "040", "?")


def _weighted(*pairs: tuple[int, Callable[..., str]]) -> tuple[Callable[..., str], ...]:
    return tuple(spell for weight, spell in pairs for _ in range(weight))


# How people type a Finnish mobile (operator "40", subscriber "1234567"): mostly
# national or +358, now and then with the odd punctuation and stray spaces.
_FI_MOBILE_SPELLINGS = _weighted(
    (6, lambda o, s: f"0{o} {s[:3]} {s[3:]}"),
    (5, lambda o, s: f"0{o}{s}"),
    (4, lambda o, s: f"+358{o}{s}"),
    (2, lambda o, s: f"+358 {o} {s[:3]} {s[3:]}"),
    (1, lambda o, s: f"+358 {o} {s}"),
    (1, lambda o, s: f"00358{o}{s}"),
    (1, lambda o, s: f"358{o}{s}"),
    (1, lambda o, s: f"(0{o}) {s[:3]}-{s[3:]}"),
    (1, lambda o, s: f"0{o}-{s}"),
    (1, lambda o, s: f"+358 (0){o} {s}"),
    (1, lambda o, s: f" 0{o} {s} "),
    (1, lambda o, s: f"0{o}  {s[:3]} {s[3:]}"),
    (1, lambda o, s: f"+358 {o} {s[:3]} {s[3:]} "),
)
_FI_LANDLINE_SPELLINGS = _weighted(
    (3, lambda a, s: f"0{a} {s}"),
    (1, lambda a, s: f"+358 {a} {s[:4]} {s[4:]}"),
    (1, lambda a, s: f"0{a}{s}"),
    (1, lambda a, s: f"(0{a}) {s}"),
)
_ALAND_LANDLINE_SPELLINGS = _weighted(
    (2, lambda s: f"018 {s}"),
    (2, lambda s: f"+358 18 {s}"),
    (1, lambda s: f"+35818{s}"),
)
_FOREIGN_MOBILE_SPELLINGS = {
    "SE": _weighted(
        (3, lambda n: f"+46 {n[:2]} {n[2:5]} {n[5:7]} {n[7:]}"),
        (2, lambda n: f"+46{n}"),
        (1, lambda n: f"0046 {n}"),
        # Swedish national spelling: under the default region FI it reads as
        # a Finnish number, which is what really happens to such input.
        (1, lambda n: f"0{n[:2]}-{n[2:5]} {n[5:7]} {n[7:]}"),
    ),
    "NO": _weighted(
        (3, lambda n: f"+47 {n[:3]} {n[3:5]} {n[5:]}"),
        (1, lambda n: f"+47{n}"),
        (1, lambda n: f"0047 {n}"),
    ),
    "EE": _weighted(
        (3, lambda n: f"+372 {n[:4]} {n[4:]}"),
        (1, lambda n: f"+372{n}"),
    ),
    "GB": _weighted(
        (3, lambda n: f"+44 {n[:4]} {n[4:]}"),
        (1, lambda n: f"+44{n}"),
        (1, lambda n: f"0044 {n}"),
    ),
    "US": _weighted(
        (2, lambda n: f"+1 ({n[:3]}) {n[3:6]}-{n[6:]}"),
        (2, lambda n: f"+1 {n[:3]}-{n[3:6]}-{n[6:]}"),
        (1, lambda n: f"+1{n}"),
    ),
}
_FOREIGN_COUNTRIES = tuple(_FOREIGN_MOBILE_SPELLINGS)


def _foreign_mobile(country: str, h: int) -> str:
    """The digits after the country code of a valid mobile number of `country`."""
    if country == "SE":
        return f"7{'0236'[h % 4]}{h // 4 % 10**7:07d}"
    if country == "NO":
        return f"{_NO_PREFIXES[h % len(_NO_PREFIXES)]}{h // 16 % 10**6:06d}"
    if country == "EE":
        return f"5{h % 10**7:07d}"
    if country == "GB":
        return f"7{'458'[h % 3]}{h // 3 % 10**8:08d}"
    exchange = 200 + h // 8 % 800
    return f"{_US_AREA_CODES[h % 5]}{exchange}{h // 8000 % 10**4:04d}"


Phone = tuple[str, object]  # (kind, the parts its spellings are made of)


def _family_phone(h: int) -> Phone:
    """A family's phone, a pure function of the family's hash.

    Most families give a Finnish mobile; some a landline, an Åland landline or a
    foreign mobile, and a few something that is not a phone at all.
    """
    pick, h = h % 1000, h // 1000
    if pick < 850:
        return "fi_mobile", (_FI_OPERATORS[h % 6], f"{h // 6 % 10**7:07d}")
    if pick < 880:
        area = _FI_AREA_CODES[h % len(_FI_AREA_CODES)]
        return "fi_landline", (area, f"{h // 16 % 8 + 1}{h // 128 % 10**6:06d}")
    if pick < 890:
        return "aland_landline", (f"{h % 8 + 1}{h // 8 % 10**5:05d}",)
    if pick < 950:
        country = _FOREIGN_COUNTRIES[h % len(_FOREIGN_COUNTRIES)]
        return "foreign_mobile", (country, _foreign_mobile(country, h // 8))
    if pick < 980:
        return "garbage", _GARBAGE_PHONES[h % len(_GARBAGE_PHONES)]
    return "null", None


# --- jobs and activities ------------------------------------------------------

_NON_SELLING_STATUSES = ("draft", "shooting", "processing", "closed")
_SCHOOLS = (
    ("Kallion ala-aste", "fi"), ("Tapiolan koulu", "fi"), ("Sörnäisten peruskoulu", "fi"),
    ("Puolalanmäen koulu", "fi"), ("Kirkkojärven koulu", "fi"), ("Aurinkolahden peruskoulu", "fi"),
    ("Päiväkoti Touhula Pikku-Huopalahti", "fi"), ("Otaniemen lukio", "fi"),
    ("Rovaniemen Lyseonpuisto", "fi"), ("Brändö lågstadieskola", "sv"), ("Vasa övningsskola", "sv"),
    ("Mariehamns lyceum", "sv"), ("Helsinki International School", "en"),
    ("English School of Tampere", "en"),
)
# (job name, portraits, class photo, staff) in the school's language.
_WORDING = {
    "fi": ("{}, syksy 2026", "Yksilökuvat {}", "Luokkakuva {}", "Henkilökunta"),
    "sv": ("{} hösten 2026", "Porträtt {}", "Klassfoto {}", "Personal"),
    "en": ("{} – autumn 2026", "Portraits {}", "Class photo {}", "Staff"),
}
_PHOTOGRAPHERS = ("Kuvaamo Valo", "Studio Åkerlund", "Foto Nieminen Oy")

BUYING_STATUSES = portal_records.BUYING_ORDER_STATUSES
_NOT_BUYING_STATUSES = ("pending", "cancelled", "refunded")
_ORDER_STATUSES = BUYING_STATUSES + _NOT_BUYING_STATUSES
_STATUSES_OUTSIDE_ENUM = ("refund_requested", "PAID", "unknown", "Delivered")
_NOT_AN_ARRAY = ({"error": "upstream timeout"}, None, "[]")

# Per subject record: each malformed kind at 0.25 %, so 2 % in all.
_SUBJECT_FAULTS = (
    "subject_missing_id",
    "subject_integer_id",
    "subject_missing_updated_at",
    "subject_updated_at_without_offset",
    "subject_impossible_date",
    "subject_consent_yes",
    "subject_order_status_outside_enum",
    "subject_delivery_created_at_number",
)
_ACTIVITY_FAULTS = ("activity_missing_name", "activity_subjects_not_array")
_JOB_FAULTS = ("selling_job_integer_organization_id", "non_selling_job_malformed", "line_not_an_object")
MALFORMED_KINDS = _SUBJECT_FAULTS + _ACTIVITY_FAULTS + _JOB_FAULTS

# The summary's mess counts: subject records, people or contacts, as named.
MESS_KINDS = (
    "same_subject_in_two_activities",
    "exact_repeats",
    "updated_repeats",
    "same_instant_other_offset_repeats",
    "siblings_sharing_a_phone",
    "phone_shared_across_organizations",
    "buying_records",
    "buyers_via_one_of_their_records",
    "user_null",
    "user_absent",
    "access_key_null",
    "access_key_absent",
    "access_key_empty",
    "phone_fi_mobile",
    "phone_fi_landline",
    "phone_aland_landline",
    "phone_foreign_mobile",
    "phone_garbage",
    "phone_null",
    "phone_absent",
    "consent_false",
    "consent_null",
    "consent_absent",
    "delivery_created_at_tied",
    "delivery_created_at_missing",
    "names_with_stray_spaces",
    "extra_fields_on_jobs",
    "extra_fields_on_activities",
    "extra_fields_on_subjects",
    "extra_fields_on_contacts",
    "extra_fields_on_orders",
)


@dataclass(frozen=True)
class _JobPlan:
    id: str
    organization: int
    status: str
    school: tuple[str, str]
    budget: int  # subject records to write under this job
    fault: str | None
    showcase: bool  # the first selling job carries each malformed activity

    @property
    def wording(self) -> tuple[str, str, str, str]:
        return _WORDING[self.school[1]]


class _Person:
    """One subject id in one job: what stays the same across its records."""

    __slots__ = ("id", "first_name", "last_name", "access_key", "user", "deliveries",
                 "orders", "order_tags", "buyer", "first_tags", "records")

    def __init__(self) -> None:
        self.records = 0


class _ExportBuilder:
    """Makes the export's lines; every choice comes from one seeded RNG, in order."""

    def __init__(self, *, subjects: int, seed: int, organizations: int, jobs: int) -> None:
        self.rng = random.Random(seed)
        self.random = self.rng.random
        self.subjects = subjects
        self.tally: Counter[str] = Counter()
        self.records_written = 0
        self._id_salt = self.rng.getrandbits(64)
        self._family_salt = self.rng.getrandbits(64)
        self._partner_salt = self.rng.getrandbits(64)
        self._account_salt = self.rng.getrandbits(64)
        self._families = [0] * organizations  # families met so far, per organization
        self._organization_ids = [self._new_id("org") for _ in range(organizations)]
        self.plan = self._plan_jobs(jobs)
        self._left = 0  # records this job may still write
        self._reserve = 0  # of those, kept for the staff activity
        self._pending: list[tuple[dict, str]] = []  # repeats a later page will serve
        self._activity_index = 0
        self._showcase = False

    def _new_id(self, prefix: str) -> str:
        self._id_salt += 1
        return f"{prefix}-{_mix64(self._id_salt):016x}"

    def _timestamp(self, window: tuple[int, int]) -> str:
        return format_timestamp(*_moment(self.random, window))

    # jobs

    def _plan_jobs(self, count: int) -> list[_JobPlan]:
        """Statuses, organizations, schools and subject budgets of all jobs, up front.

        Every fourth job is not selling. One selling job (never the first) and one
        non-selling job are malformed; they get small budgets, since the pipeline
        reads nothing under them.
        """
        rng = self.rng
        statuses = [
            SELLING if i % 4 != 3 else _NON_SELLING_STATUSES[(i // 4) % len(_NON_SELLING_STATUSES)]
            for i in range(count)
        ]
        selling = [i for i, status in enumerate(statuses) if status == SELLING]
        others = [i for i, status in enumerate(statuses) if status != SELLING]
        faults: dict[int, str] = {}
        if len(selling) > 1:
            faults[rng.choice(selling[1:])] = "selling_job_integer_organization_id"
        if others:
            closed = [i for i in others if statuses[i] == "closed"]
            faults[(closed or others)[0]] = "non_selling_job_malformed"
        weights = [self._job_weight(statuses[i], faults.get(i)) for i in range(count)]
        budgets = _apportion(self.subjects, weights)
        schools = rng.sample(_SCHOOLS, len(_SCHOOLS))
        organizations = len(self._organization_ids)
        return [
            _JobPlan(
                id=self._new_id("job"),
                organization=i % organizations,
                status=statuses[i],
                school=schools[i % len(schools)],
                budget=budgets[i],
                fault=faults.get(i),
                showcase=i == selling[0],
            )
            for i in range(count)
        ]

    def _job_weight(self, status: str, fault: str | None) -> int:
        if fault:
            return 25
        if status == SELLING:
            return self.rng.randint(70, 130)
        return {"draft": 0, "shooting": 30, "processing": 60, "closed": 80}[status]

    def lines(self) -> Iterator[str]:
        """The export, in pieces; a job's line is written activity by activity."""
        for index, plan in enumerate(self.plan):
            yield from self._job_line(plan)
            if index == len(self.plan) // 2:
                # An API gateway's error page once slipped in as a JSON array.
                yield "[]\n"
                self.tally["line_not_an_object"] += 1

    def _job_line(self, plan: _JobPlan) -> Iterator[str]:
        yield _to_json(self._job(plan))[:-1] + ',"activities":['
        separator = ""
        for activity in self._activities(plan):
            yield separator + _to_json(activity)
            separator = ","
        yield "]}\n"

    def _job(self, plan: _JobPlan) -> dict:
        random = self.random
        job: dict = {"id": plan.id, "organization_id": self._organization_ids[plan.organization]}
        job["name"] = plan.wording[0].format(plan.school[0])
        job["status"] = plan.status
        if plan.status == SELLING:
            job["selling_ends_at"] = self._timestamp(_SELLING_ENDS)
        elif random() < 0.5:
            job["selling_ends_at"] = None
        job["updated_at"] = self._timestamp(_JOB_UPDATES)
        if random() < 0.2:
            job["school_code"] = f"{_below(random, 10**5):05d}"
            self.tally["extra_fields_on_jobs"] += 1
        if plan.fault == "selling_job_integer_organization_id":
            job["organization_id"] = 1000 + plan.organization  # a numeric id leaking from another system
        elif plan.fault == "non_selling_job_malformed":
            job["id"] = 1000 + _below(random, 9000)
            del job["name"]
        if plan.fault:
            self.tally[plan.fault] += 1
        self.tally[f"jobs_{plan.status}"] += 1
        return job

    # activities

    def _activities(self, plan: _JobPlan) -> Iterator[dict]:
        self._left = plan.budget
        self._activity_index = 0
        self._showcase = plan.showcase
        if plan.budget == 0:
            # Planned, nobody photographed yet.
            for k in range(2):
                yield self._activity(plan, plan.wording[1].format(_class_name(k)), _class_name(k))
            return
        self._reserve = min(40, max(3, plan.budget // 25))
        k = 0
        while self._left > self._reserve:
            yield from self._class_activities(plan, _class_name(k))
            k += 1
        self._reserve = 0
        yield self._staff_activity(plan)

    def _activity(self, plan: _JobPlan, name: str, group_name: object) -> dict:
        random = self.random
        fault = self._activity_fault()
        activity: dict = {"id": self._new_id("act"), "job_id": plan.id}
        if fault != "activity_missing_name":
            activity["name"] = name
        if group_name is not _ABSENT:
            activity["group_name"] = group_name
        if random() < 0.03:
            activity["photographer"] = _pick(random, _PHOTOGRAPHERS)
            self.tally["extra_fields_on_activities"] += 1
        activity["subjects"] = _pick(random, _NOT_AN_ARRAY) if fault == "activity_subjects_not_array" else []
        self.tally["activities"] += 1
        if fault:
            self.tally[fault] += 1
        return activity

    def _activity_fault(self) -> str | None:
        """Rare everywhere; the first selling job shows each kind once, so every export has them."""
        index = self._activity_index
        self._activity_index += 1
        if self._showcase and index in (1, 2):
            return _ACTIVITY_FAULTS[index - 1]
        r = self.random()
        return None if r >= 0.006 else _ACTIVITY_FAULTS[r < 0.003]

    def _class_activities(self, plan: _JobPlan, group: str) -> Iterator[dict]:
        """A class: everyone's portrait, and for half the classes a class photo too.

        A pupil in both is one subject id in two activities, with their orders on
        one of the two records only.
        """
        random = self.random
        pupils = [self._pupil(plan.organization) for _ in range(15 + _below(random, 12))]
        takes_class_photo = random() < 0.5
        in_class_photo = [takes_class_photo and random() < 0.92 for _ in pupils]
        orders_on_class_photo = [in_both and random() < 0.3 for in_both in in_class_photo]

        portrait_group = _pick(random, (group, group, group, None, None, _ABSENT))
        portraits = self._activity(plan, plan.wording[1].format(group), portrait_group)
        for pupil, in_both, orders_later in zip(pupils, in_class_photo, orders_on_class_photo):
            self._photograph(portraits, pupil, group, self._orders_here(pupil, not orders_later, in_both))
        yield self._close(portraits)

        if takes_class_photo:
            class_photo = self._activity(plan, plan.wording[2].format(group), group)
            for pupil, in_both, orders_later in zip(pupils, in_class_photo, orders_on_class_photo):
                if in_both:
                    self._photograph(class_photo, pupil, group, self._orders_here(pupil, orders_later, True))
            yield self._close(class_photo)

    def _staff_activity(self, plan: _JobPlan) -> dict:
        activity = self._activity(plan, plan.wording[3], "Staff")
        if isinstance(activity["subjects"], list):
            while self._left > len(self._pending):
                member = self._staff_member(plan.organization)
                self._photograph(activity, member, "Staff", (member.orders, member.order_tags))
        return self._close(activity)

    def _close(self, activity: dict) -> dict:
        """Serve the repeats that later pages of this activity brought."""
        for record, kind in self._pending:
            self._emit(activity["subjects"], record, (kind,))
        self._pending.clear()
        return activity

    # people

    def _pupil(self, organization: int) -> _Person:
        family, relation = self._family_for_pupil(organization)
        return self._person(family, relation, _PUPIL_FIRST_NAMES, buys=0.32, orders_anyway=0.12)

    def _staff_member(self, organization: int) -> _Person:
        return self._person(self._new_family(organization), (), _ADULT_FIRST_NAMES, buys=0.08, orders_anyway=0.05)

    def _family_for_pupil(self, organization: int) -> tuple[int, tuple[str, ...]]:
        """Mostly a new family; over a quarter are siblings of a child met before
        in the organization (often in another job), a few share a phone with
        another organization's family."""
        random = self.random
        families = self._families
        r = random()
        if r < 0.015 and len(families) > 1:
            other = (organization + 1 + _below(random, len(families) - 1)) % len(families)
            if families[other]:
                family = _family_number(other, _below(random, families[other]), len(families))
                return family, ("phone_shared_across_organizations",)
        elif r < 0.3 and families[organization]:
            family = _family_number(organization, _below(random, families[organization]), len(families))
            return family, ("siblings_sharing_a_phone",)
        return self._new_family(organization), ()

    def _new_family(self, organization: int) -> int:
        number = _family_number(organization, self._families[organization], len(self._families))
        self._families[organization] += 1
        return number

    def _person(
        self,
        family: int,
        relation: tuple[str, ...],
        first_names: tuple[str, ...],
        *,
        buys: float,
        orders_anyway: float,
    ) -> _Person:
        random = self.random
        family_hash = _mix64(self._family_salt + family)
        family_name = (family_hash >> 44) % len(_LAST_NAMES)
        person = _Person()
        person.id = self._new_id("subj")
        tags = ["people", *relation]
        person.first_name = _pick(random, first_names)
        # Most carry the family name; the rest another parent's.
        person.last_name = _LAST_NAMES[family_name] if random() >= 0.12 else _pick(random, _LAST_NAMES)
        if random() < 0.02:
            person.first_name, person.last_name = f" {person.first_name}", f"{person.last_name} "
            tags.append("names_with_stray_spaces")
        person.access_key = self._access_key_value(tags)
        phone = _family_phone(family_hash)
        person.user = self._user(family, phone, family_name, tags)
        partner_phone = _family_phone(_mix64(self._partner_salt + family))
        person.deliveries = self._deliveries(phone, partner_phone, family_name, tags)
        r = random()
        person.buyer = r < buys
        person.order_tags = []
        if r < buys + orders_anyway:
            person.orders = self._orders(person.buyer, person.order_tags)
        else:
            person.orders = [] if random() < 0.85 else _ABSENT
        person.first_tags = tags
        return person

    def _access_key_value(self, tags: list[str]) -> object:
        r = self.random()
        if r < 0.55:
            return _access_key(self.rng.getrandbits(40))
        if r < 0.85:
            tags.append("access_key_null")
            return None
        if r < 0.95:
            tags.append("access_key_absent")
            return _ABSENT
        tags.append("access_key_empty")
        return ""

    # contacts

    def _user(self, family: int, phone: Phone, name_index: int, tags: list[str]) -> object:
        """The parent's portal account linked to the subject, if any.

        An account is one per family: drawn from the family's own dice, it reads
        the same under every child, in every job.
        """
        r = self.random()
        if r < 0.10:
            tags.append("user_absent")
            return _ABSENT
        if r < 0.25:
            tags.append("user_null")
            return None
        account = _mix64(self._account_salt + family)
        dice = _Dice(account).random
        user = {"id": f"usr-{account:016x}"}
        _fill_contact(user, phone, name_index, tags, dice)
        if dice() < 0.02:
            user["verified"] = dice() < 0.5
            tags.append("extra_fields_on_contacts")
        return user

    def _deliveries(self, phone: Phone, partner_phone: Phone, name_index: int, tags: list[str]) -> object:
        """Contacts typed on earlier deliveries: the family's phone, the other
        parent's, or junk; `created_at` sometimes tied with the previous one, sometimes missing."""
        random = self.random
        count = _pick(random, _DELIVERY_COUNTS)
        if count == 0:
            return [] if random() < 0.85 else _ABSENT
        deliveries = []
        previous = None
        for _ in range(count):
            delivery: dict = {"id": self._new_id("dlv")}
            r = random()
            if r < 0.6:
                source = phone
            elif r < 0.88:
                source = partner_phone
            else:
                source = ("garbage", _pick(random, _GARBAGE_PHONES)) if r < 0.96 else ("null", None)
            _fill_contact(delivery, source, name_index, tags, random)
            r = random()
            if r < 0.06:
                tags.append("delivery_created_at_missing")
                previous = None
            else:
                if r < 0.18 and previous:
                    # The same moment, maybe written in another offset: the ids decide.
                    moment = (previous[0], _pick(random, _OFFSETS), previous[2])
                    tags.append("delivery_created_at_tied")
                else:
                    moment = _moment(random, _EARLIER_DELIVERIES)
                delivery["created_at"] = format_timestamp(*moment)
                previous = moment
            if random() < 0.02:
                delivery["channel"] = _pick(random, ("sms", "email", "web"))
                tags.append("extra_fields_on_contacts")
            deliveries.append(delivery)
        return deliveries

    # orders

    def _orders(self, buyer: bool, tags: list[str]) -> list[dict]:
        """One to three orders; a buyer's include one that was paid for."""
        random = self.random
        count = 1 + (random() < 0.3) + (random() < 0.1)
        if buyer:
            statuses = [_pick(random, BUYING_STATUSES)] + [_pick(random, _ORDER_STATUSES) for _ in range(count - 1)]
            tags.append("buying_records")
        else:
            statuses = [_pick(random, _NOT_BUYING_STATUSES) for _ in range(count)]
        return [self._order(status, tags) for status in statuses]

    def _order(self, status: str, tags: list[str]) -> dict:
        random = self.random
        order: dict = {"id": self._new_id("ord"), "status": status}
        if random() < 0.96:
            order["total_cents"] = 990 + 10 * _below(random, 1400)
        if random() < 0.96:
            order["currency"] = "EUR"
        order["created_at"] = self._timestamp(_ORDERING)
        if random() < 0.02:
            order["coupon"] = _pick(random, (None, "SYKSY26", "SISARALE"))
            tags.append("extra_fields_on_orders")
        return order

    def _orders_here(self, person: _Person, here: bool, both: bool) -> tuple[object, list[str]]:
        """The orders of this record: all of them, or on a person's other record
        at most a cancelled extra print, so a buyer is a buyer through one record."""
        if here:
            return person.orders, person.order_tags
        if person.buyer and both and self.random() < 0.15:
            return [self._order("cancelled", [])], []
        return ([] if self.random() < 0.85 else _ABSENT), []

    # subject records

    def _photograph(self, activity: dict, person: _Person, class_group: str, orders: tuple[object, list[str]]) -> None:
        """One subject record of `person` in `activity`, plus the repeats its pages may bring."""
        random = self.random
        subjects = activity["subjects"]
        if not isinstance(subjects, list) or self._left <= self._reserve:
            return
        moment = _moment(random, _SHOOTING)
        record: dict = {
            "id": person.id,
            "activity_id": activity["id"],
            "first_name": person.first_name,
            "last_name": person.last_name,
        }
        r = random()
        if r < 0.55:
            record["group_name"] = class_group
        elif r < 0.8:
            record["group_name"] = None
        elif r < 0.88:
            record["group_name"] = ""
        if person.access_key is not _ABSENT:
            record["access_key"] = person.access_key
        record["updated_at"] = format_timestamp(*moment)
        if person.user is not _ABSENT:
            record["user"] = person.user
        if person.deliveries is not _ABSENT:
            record["deliveries"] = person.deliveries
        order_list, order_tags = orders
        if order_list is not _ABSENT:
            record["orders"] = order_list
        if person.records == 0:
            tags = [*person.first_tags, *order_tags]
        else:
            tags = ["same_subject_in_two_activities", *order_tags]
            if person.buyer:
                tags.append("buyers_via_one_of_their_records")
        if random() < 0.02:
            record["student_number"] = f"{_below(random, 10**6):06d}"
            tags.append("extra_fields_on_subjects")
        malformed = random() < 0.02
        if malformed:
            tags.append(self._malform(record, moment))
        self._emit(subjects, record, tags)
        person.records += 1
        if not malformed:
            self._schedule_repeats(record, moment)

    def _emit(self, subjects: list, record: dict, tags: tuple[str, ...] | list[str]) -> None:
        if self._left <= self._reserve:
            return
        subjects.append(record)
        self._left -= 1
        self.records_written += 1
        self.tally.update(tags)

    def _schedule_repeats(self, record: dict, moment: tuple[int, str, str]) -> None:
        """A later page may serve this record again: as it was, edited at another
        time (earlier or later), or edited at the same instant written in another offset."""
        random = self.random
        r = random()
        if r >= 0.03:
            return
        instant, offset, fraction = moment
        if r < 0.015:
            self._pending.append((record, "exact_repeats"))
        elif r < 0.025:
            shift = (60 + _below(random, 14 * 86400)) * (1 if random() < 0.6 else -1)
            updated_at = format_timestamp(instant + shift, _pick(random, _OFFSETS))
            self._pending.append((self._edited(record, updated_at), "updated_repeats"))
        else:
            other = _pick(random, [o for o in _OFFSET_SECONDS if o != offset])
            updated_at = format_timestamp(instant, other, fraction)
            self._pending.append((self._edited(record, updated_at), "same_instant_other_offset_repeats"))

    def _edited(self, record: dict, updated_at: str) -> dict:
        again = dict(record)
        again["updated_at"] = updated_at
        user = record.get("user")
        if isinstance(user, dict):
            again["user"] = {**user, "sms_consent": _pick(self.random, (True, False, None))}
        else:
            again["first_name"] = record["first_name"].strip() + " "
        return again

    def _malform(self, record: dict, moment: tuple[int, str, str]) -> str:
        """Break the record in one of the ways "Precise readings" quarantines."""
        random = self.random
        fault = _pick(random, _SUBJECT_FAULTS)
        if fault == "subject_missing_id":
            del record["id"]
        elif fault == "subject_integer_id":
            record["id"] = 100_000 + _below(random, 9_900_000)
        elif fault == "subject_missing_updated_at":
            del record["updated_at"]
        elif fault == "subject_updated_at_without_offset":
            record["updated_at"] = format_timestamp(*moment)[: -len(moment[1])]
        elif fault == "subject_impossible_date":
            record["updated_at"] = _pick(random, _IMPOSSIBLE_TIMESTAMPS)
        elif fault == "subject_consent_yes":
            user = record.get("user")
            base = user if isinstance(user, dict) else {"id": self._new_id("usr"), "phone": "040 123 4567"}
            record["user"] = {**base, "sms_consent": "yes"}
        elif fault == "subject_order_status_outside_enum":
            orders = record.get("orders") or []
            record["orders"] = [*orders, self._order(_pick(random, _STATUSES_OUTSIDE_ENUM), [])]
        else:
            deliveries = record.get("deliveries") or [
                {"id": self._new_id("dlv"), "phone": "0401234567", "sms_consent": True}
            ]
            # Epoch seconds where a timestamp belongs.
            created_at = _between(random, *_EARLIER_DELIVERIES)
            record["deliveries"] = [{**deliveries[0], "created_at": created_at}, *deliveries[1:]]
        return fault

    # summary

    def summary(self, path: Path) -> dict:
        tally = self.tally
        return {
            "path": str(path),
            "subject_records": self.records_written,
            "organizations": len(self._organization_ids),
            "jobs": len(self.plan),
            "jobs_by_status": {status: tally[f"jobs_{status}"] for status in (SELLING, *_NON_SELLING_STATUSES)},
            "activities": tally["activities"],
            "people": tally["people"],
            "families": sum(self._families),
            "mess": {kind: tally[kind] for kind in MESS_KINDS},
            "malformed": {kind: tally[kind] for kind in MALFORMED_KINDS},
        }


def _fill_contact(contact: dict, phone: Phone, name_index: int, tags: list[str], random: Callable[[], float]) -> None:
    """Phone, email, consent and locale of a contact, drawn from `random`."""
    if random() < 0.01:
        tags.append("phone_absent")
    else:
        contact["phone"] = _spell_phone(phone, tags, random)
    r = random()
    if r < 0.85:
        contact["email"] = f"{_EMAIL_NAMES[name_index]}.{_below(random, 100)}@{_pick(random, _EMAIL_DOMAINS)}"
    elif r < 0.95:
        contact["email"] = None
    consent = _pick(random, _CONSENTS_GIVEN)
    if consent is _ABSENT:
        tags.append("consent_absent")
    else:
        contact["sms_consent"] = consent
        if consent is not True:
            tags.append("consent_false" if consent is False else "consent_null")
    # Consent usually has a time; a withdrawn one sometimes keeps it.
    r = random()
    if (consent is True and r < 0.85) or (consent is False and r < 0.2):
        contact["sms_consent_at"] = format_timestamp(*_moment(random, _CONSENTS))
    elif r > 0.9:
        contact["sms_consent_at"] = None
    locale = _pick(random, _LOCALES)
    if locale is not _ABSENT:
        contact["locale"] = locale


def _spell_phone(phone: Phone, tags: list[str], random: Callable[[], float]) -> str | None:
    kind, parts = phone
    tags.append(_PHONE_TAGS[kind])
    if kind == "fi_mobile":
        return _pick(random, _FI_MOBILE_SPELLINGS)(*parts)
    if kind == "fi_landline":
        return _pick(random, _FI_LANDLINE_SPELLINGS)(*parts)
    if kind == "aland_landline":
        return _pick(random, _ALAND_LANDLINE_SPELLINGS)(*parts)
    if kind == "foreign_mobile":
        country, digits = parts
        return _pick(random, _FOREIGN_MOBILE_SPELLINGS[country])(digits)
    return parts  # garbage as typed, or None


_PHONE_KINDS = ("fi_mobile", "fi_landline", "aland_landline", "foreign_mobile", "garbage", "null")
_PHONE_TAGS = {kind: f"phone_{kind}" for kind in _PHONE_KINDS}


def _family_number(organization: int, index: int, organizations: int) -> int:
    # Interleaved, so every organization's families have distinct numbers.
    return index * organizations + organization


def _class_name(k: int) -> str:
    return f"{k % 9 + 1}{'ABCDEFGHJK'[k // 9 % 10]}"


def _apportion(total: int, weights: list[int]) -> list[int]:
    """Split `total` in proportion to integer weights, exactly, without floats."""
    weight_sum = sum(weights) or 1
    shares = [total * weight // weight_sum for weight in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


# --- writing ------------------------------------------------------------------


def _to_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _BackgroundWriter:
    """Text in, UTF-8 blocks out, written by a thread of their own.

    zlib and file writes release the GIL, so compressing runs on a second core
    while the next activities are generated. One writer thread keeps the order.
    """

    _BLOCK = 1 << 20

    def __init__(self, binary) -> None:
        self._binary = binary
        self._parts: list[str] = []
        self._size = 0
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="export-writer", daemon=True)
        self._thread.start()

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._BLOCK:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._failure is not None:
            raise self._failure
        self._blocks.put("".join(self._parts).encode())
        self._parts.clear()
        self._size = 0

    def _drain(self) -> None:
        while (block := self._blocks.get()) is not None:
            if self._failure is None:
                try:
                    self._binary.write(block)
                except BaseException as failure:  # handed to the generating thread
                    self._failure = failure

    def __enter__(self) -> _BackgroundWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if exc_info[0] is None:
                self._hand_over()
        finally:
            self._blocks.put(None)
            self._thread.join()
        if self._failure is not None and exc_info[0] is None:
            raise self._failure


def _gzip_or_not(raw, path: Path):
    if not path.name.endswith(".gz"):
        return nullcontext(raw)
    return gzip.GzipFile(filename=GZIP_MEMBER_NAME, mode="wb", fileobj=raw, compresslevel=_GZIP_LEVEL, mtime=0)


@contextmanager
def _written_atomically(path: Path) -> Iterator[_BackgroundWriter]:
    """A writer whose bytes land at `path` only once all of them are written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as raw, _gzip_or_not(raw, path) as binary, _BackgroundWriter(binary) as out:
            yield out
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def generate_export(
    out_path: str | os.PathLike, *, subjects: int, seed: int = 2026, organizations: int = 3, jobs: int = 20
) -> dict:
    """Write a portal export of `subjects` subject records; return what it holds.

    The same arguments give the same bytes. Gzip when the path ends with `.gz`.
    The summary counts subject records, people or contacts per kind of mess,
    and every malformed record, activity, job and line.
    """
    if subjects < 0 or organizations < 1 or jobs < 1:
        raise ValueError("subjects must be >= 0, organizations and jobs >= 1")
    path = Path(out_path)
    builder = _ExportBuilder(subjects=subjects, seed=seed, organizations=organizations, jobs=jobs)
    with _written_atomically(path) as out:
        for piece in builder.lines():
            out.write(piece)
    return builder.summary(path)


# --- the bundled sample's suppression list ------------------------------------

_SUPPRESSION_REASONS = ("opt-out", "do-not-contact", "complaint", "blacklist")


_TIMESTAMP = re.compile(portal_records.TIMESTAMP_PATTERN)


def _timestamps_valid(subject: portal_records.Subject) -> bool:
    # portal_records leaves a subject's timestamps as plain text (the pipeline
    # checks them a column at a time), so the contract's pattern is applied here.
    contacts = [contact for contact in (subject.user, *subject.deliveries) if contact is not None]
    stamps = [subject.updated_at, *(order.created_at for order in subject.orders)]
    stamps += [contact.sms_consent_at for contact in contacts if contact.sms_consent_at is not None]
    stamps += [d.created_at for d in subject.deliveries if d.created_at is not msgspec.UNSET]
    return all(_TIMESTAMP.match(stamp) for stamp in stamps)


def consented_mobiles(export_path: Path) -> list[str]:
    """E.164 numbers that a valid record of a selling job gives as a consented
    mobile (in user or a delivery), in order of first appearance."""
    job_decoder = msgspec.json.Decoder(portal_records.Job)
    activity_decoder = msgspec.json.Decoder(portal_records.Activity)
    list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
    subject_decoder = msgspec.json.Decoder(portal_records.Subject)
    seen: dict[str, None] = {}
    for line in iter_export_lines(export_path):
        try:
            job = job_decoder.decode(line)
        except msgspec.ValidationError:
            continue
        if job.status != SELLING:
            continue
        for raw_activity in job.activities:
            try:
                subjects = list_decoder.decode(activity_decoder.decode(raw_activity).subjects)
            except msgspec.ValidationError:
                continue
            for raw_subject in subjects:
                try:
                    subject = subject_decoder.decode(raw_subject)
                except msgspec.ValidationError:
                    continue
                if not _timestamps_valid(subject):
                    continue
                for contact in (subject.user, *subject.deliveries):
                    if contact is not None and contact.sms_consent is True and contact.phone:
                        e164, _, sms_capable = reference_parse(contact.phone, "FI")
                        if sms_capable:
                            seen.setdefault(e164)
    return list(seen)


def _spellings(e164: str) -> tuple[str, ...]:
    """Ways a person keeping a suppression list writes the number."""
    number = phonenumbers.parse(e164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if number.country_code != 358:
        return (international, e164, "00" + e164[1:])
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    compact = national.replace(" ", "")
    return (national, e164, international, "00" + e164[1:], compact, "00" + international[1:], f" {national} ")


def write_suppressions(export_path: Path, out_path: Path, *, seed: int, count: int = 15) -> int:
    """A suppression CSV of `count` numbers met in the export as consented
    mobiles (mostly Finnish, one foreign), spelled every which way, plus one
    entry that is no number. Returns the number of rows."""
    rng = random.Random(seed)
    numbers = consented_mobiles(export_path)
    finnish = [n for n in numbers if n.startswith("+358")]
    foreign = [n for n in numbers if not n.startswith("+358")]
    chosen = rng.sample(finnish, min(count - 1, len(finnish))) + rng.sample(foreign, min(1, len(foreign)))
    rows = []
    for i, e164 in enumerate(chosen):
        spellings = _spellings(e164)
        rows.append((spellings[i % len(spellings)], rng.choice(_SUPPRESSION_REASONS)))
    rows.insert(rng.randrange(len(rows) + 1), ("ei numeroa", "typo"))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("phone", "reason"))
        writer.writerows(rows)
    return len(rows)


def regenerate_sample(export_path: Path = SAMPLE_EXPORT, suppressions_path: Path = SAMPLE_SUPPRESSIONS) -> dict:
    """The bundled sample export and its suppression list, from the bundled settings."""
    summary = generate_export(export_path, **SAMPLE_SETTINGS)
    summary["suppressions"] = write_suppressions(export_path, suppressions_path, seed=SAMPLE_SETTINGS["seed"])
    return summary


# --- command line -------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m campaign_pipeline.sample.generate",
        description="Write a deterministic, realistically messy portal export (JSON Lines, gzip for .gz).",
    )
    parser.add_argument("--subjects", type=int, help="subject records to write")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--organizations", type=int, default=3)
    parser.add_argument("--out", type=Path, help="where to write; .gz compresses")
    parser.add_argument(
        "--sample", action="store_true", help="regenerate the bundled sample export and suppression list"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.sample:
        if args.subjects is not None or args.out is not None:
            parser.error("--sample takes no --subjects or --out: it uses the bundled settings")
        summary = regenerate_sample()
    else:
        if args.subjects is None or args.out is None:
            parser.error("--subjects and --out are required (or --sample)")
        try:
            summary = generate_export(
                args.out, subjects=args.subjects, seed=args.seed, organizations=args.organizations, jobs=args.jobs
            )
        except ValueError as error:
            parser.error(str(error))
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["bytes"] = Path(summary["path"]).stat().st_size
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
