"""The portal's records as strict types: portal-api.yaml, read the contract's way.

Validation is whole-record and strict (campaign-dataset.md, "Precise readings"):
JSON types exactly as the schema says, `null` only where nullable, unknown fields
ignored, and timestamps RFC 3339 `YYYY-MM-DDTHH:MM:SS[.frac](Z|+-HH:MM)` with a
real calendar date. msgspec checks all of it in C, which is what lets a million
subject records be validated in a few seconds.

Timestamps stay strings here: msgspec's own datetime type also takes `t`, `z`, a
space and `+0200`, which the contract rules out, so a pattern decides validity and
polars turns the valid strings into instants later, a column at a time.
"""

from typing import Annotated, Literal

import msgspec

# A real calendar date (leap years included; year 0000 is no year), a real time
# of day (no leap second) and an offset of at most 23:59; ASCII digits only. The
# body reads the same in Python's `re` and in Rust's regex (polars), so one
# definition serves both; only the anchors differ (`$` in Python also takes a
# trailing newline, so Python gets `\A..\Z`).
_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    rf"{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    rf"|{_LEAP_YEAR}-02-29"
)
_TIMESTAMP = (
    rf"(?:{_DATE})T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
TIMESTAMP_PATTERN = rf"\A{_TIMESTAMP}\Z"
TIMESTAMP_PATTERN_POLARS = rf"^{_TIMESTAMP}$"

Timestamp = Annotated[str, msgspec.Meta(pattern=TIMESTAMP_PATTERN)]

# Inside subjects, a million records carry several timestamps each: there the
# text is only typed here and checked against TIMESTAMP_PATTERN_POLARS by
# decode.py a column at a time (msgspec's per-value regex costs ~1 us a call).
TimestampText = str

BUYING_ORDER_STATUSES = ("paid", "shipped", "delivered")
OrderStatus = Literal["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]


class Order(msgspec.Struct):
    id: str
    status: OrderStatus
    created_at: TimestampText
    total_cents: int | msgspec.UnsetType = msgspec.UNSET
    currency: str | msgspec.UnsetType = msgspec.UNSET


class Contact(msgspec.Struct):
    id: str | msgspec.UnsetType = msgspec.UNSET
    phone: str | None = None
    email: str | None = None
    sms_consent: bool | None = None
    sms_consent_at: TimestampText | None = None
    locale: str | None = None


class Delivery(Contact):
    created_at: TimestampText | msgspec.UnsetType = msgspec.UNSET


class Subject(msgspec.Struct):
    id: str
    activity_id: str
    first_name: str
    last_name: str
    updated_at: TimestampText
    group_name: str | None = None
    access_key: str | None = None
    user: Contact | None = None
    deliveries: list[Delivery] = []
    orders: list[Order] = []


class Activity(msgspec.Struct):
    """An activity of a portal export; `subjects` is left raw for the next stage."""

    id: str
    job_id: str
    name: str
    group_name: str | None = None
    subjects: msgspec.Raw = msgspec.Raw(b"[]")


class Job(msgspec.Struct):
    """A job of a portal export; `activities` are validated one by one."""

    id: str
    organization_id: str
    name: str
    status: str
    selling_ends_at: Timestamp | None = None
    updated_at: Timestamp | msgspec.UnsetType = msgspec.UNSET
    activities: list[msgspec.Raw] = []


class Identity(msgspec.Struct):
    """Whatever ids a malformed record still carries, for its quarantine row."""

    id: object = None
    organization_id: object = None
    status: object = None


SELLING_STATUS = "webshop_selling"
