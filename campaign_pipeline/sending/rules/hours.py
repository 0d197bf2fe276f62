"""Recipients' sending hours and the quota's next day (sending.md, "Sending", steps 3 and 4).

A message may go when the local time in every one of the number's zones lies
in the window `[start, end)`. When it does not, the earliest instant when it
does is found exactly (to the microsecond) among a few candidates: the set of
instants when all zones are inside is a union of intervals, and each interval
begins either now or when one zone enters its window, which happens only at
that zone's local window start or at one of its clock changes (a start time
that falls in a spring-forward gap opens the window at the jump; a start in an
autumn fold happens twice). Each candidate is then checked in every zone.
"""

import functools
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers import timezone as phone_timezones
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from campaign_pipeline.sending.rules.windows import Window

UTC = timezone.utc
HORIZON = timedelta(days=7)
_UNKNOWN = "Etc/Unknown"


def recipient_zones(phone: str, organization_zone: str) -> tuple[str, ...]:
    """libphonenumber's zones of an E.164 number; the organization's zone when it has none."""
    return _zones(phone) or (organization_zone,)


def possible_zones(phone: str, organization_zone: str) -> frozenset[tuple[str, ...]] | None:
    """Every answer `recipient_zones` could give for this number, without parsing it.

    libphonenumber answers one of three things, by the number's type: nothing (an
    unknown type: then the organization's zone), its country's zones, or the zones of
    the longest listed prefix of its digits. The type needs a parse and a dozen pattern
    matches (~150 us a number, most of a 10^5 dispatch); the three candidates need a few
    dict lookups. A caller whose decision is the same for every candidate has it
    exactly without the type. None when the number is not plain E.164."""
    digits = phone[1:] if phone.startswith("+") else ""
    if not digits.isdigit():
        return None
    # Only the first digits matter (the country code, the longest listed prefix).
    return _possible_zones(digits[:max(3, TIMEZONE_LONGEST_PREFIX)], organization_zone)


@functools.lru_cache(maxsize=65536)
def _possible_zones(digits: str, organization_zone: str) -> frozenset[tuple[str, ...]] | None:
    country = next((digits[:n] for n in (1, 2, 3) if int(digits[:n]) in COUNTRY_CODE_TO_REGION_CODE), None)
    if country is None:
        return None
    geographic = next((TIMEZONE_DATA[digits[:n]] for n in range(TIMEZONE_LONGEST_PREFIX, 0, -1)
                       if digits[:n] in TIMEZONE_DATA), ())
    return frozenset(_known(zones) or (organization_zone,) for zones in (geographic, _country_zones(country), ()))


@functools.lru_cache(maxsize=1024)
def _country_zones(country: str) -> tuple[str, ...]:
    # As phonenumbers.timezone._country_level_time_zones_for_number reads the table.
    return next((TIMEZONE_DATA[country[:1 + n]] for n in range(TIMEZONE_LONGEST_PREFIX, 0, -1)
                 if country[:1 + n] in TIMEZONE_DATA), ())


def _known(zones: Iterable[str]) -> tuple[str, ...]:
    return tuple(zone for zone in zones if zone != _UNKNOWN)


@functools.lru_cache(maxsize=65536)
def _zones(phone: str) -> tuple[str, ...]:
    return _known(phone_timezones.time_zones_for_number(phonenumbers.parse(phone, None)))


def inside(zones: Iterable[str], window: Window, instant: datetime) -> bool:
    """Whether the local time of `instant` lies in the window in every zone."""
    return all(window.contains(_minute_of_day(instant.astimezone(_zone(name)))) for name in zones)


def _minute_of_day(local: datetime) -> float:
    return local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60


def next_window_time(zones: Iterable[str], window: Window, now: datetime,
                     within: timedelta = HORIZON) -> datetime | None:
    """`now` when every zone is inside the window, else the earliest later instant when all
    are, in UTC; None when no instant up to `now + within` has them all inside (`no_window`)."""
    zones = tuple(dict.fromkeys(zones))
    now = now.astimezone(UTC)
    if inside(zones, window, now):
        return now
    until = now + within
    candidates = sorted({instant for name in zones for instant in _crossings(name, window.start, now, until)})
    return next((instant for instant in candidates if inside(zones, window, instant)), None)


def window_close(zones: Iterable[str], window: Window, opened: datetime,
                 within: timedelta = HORIZON) -> datetime | None:
    """The first instant after `opened` (when every zone is inside the window) when one of
    them is not any more, in UTC; None when all stay inside up to `opened + within` (a
    whole-day window never closes). It can only close at a zone's local window end or
    at one of its clock changes."""
    zones = tuple(dict.fromkeys(zones))
    opened = opened.astimezone(UTC)
    until = opened + within
    candidates = sorted({instant for name in zones for instant in _crossings(name, window.end, opened, until)})
    return next((instant for instant in candidates if not inside(zones, window, instant)), None)


def _crossings(name: str, minute: int, since: datetime, until: datetime) -> Iterable[datetime]:
    """The instants in (since, until] when the zone may enter (or, given the window's end,
    leave) the window: every local occurrence of that minute of the day, and every clock
    change. Minute 1440 is the next day's midnight."""
    zone = _zone(name)
    first, last = since.astimezone(zone).date() - timedelta(days=1), until.astimezone(zone).date() + timedelta(days=1)
    day = first
    while day <= last:
        naive = datetime.combine(day, time()) + timedelta(minutes=minute)
        for fold in (0, 1):
            instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            if instant.astimezone(zone).replace(tzinfo=None) == naive and since < instant <= until:
                yield instant  # exists (a time in a spring gap does not; the jump stands for it)
        day += timedelta(days=1)
    for day_number in range(first.toordinal(), last.toordinal() + 1):
        for change in _clock_changes(name, date.fromordinal(day_number)):
            if since < change <= until:
                yield change


@functools.lru_cache(maxsize=16384)
def _clock_changes(name: str, day: date) -> tuple[datetime, ...]:
    """The instants of the UTC day when the zone's UTC offset changes (the first second of
    the new offset). Hourly probes, then bisection to the second: clocks change at most
    once an hour and on whole seconds."""
    zone = _zone(name)

    def offset(instant: datetime) -> timedelta:
        return instant.astimezone(zone).utcoffset()  # zone.utcoffset(instant) would read it as local time

    changes = []
    begin = datetime.combine(day, time(), tzinfo=UTC)
    for hour in range(24):
        low, high = begin + timedelta(hours=hour), begin + timedelta(hours=hour + 1)
        before = offset(low)
        if before == offset(high):
            continue
        while high - low > timedelta(seconds=1):
            middle = (low + (high - low) // 2).replace(microsecond=0)
            if offset(middle) == before:
                low = middle
            else:
                high = middle
        changes.append(high)
    return tuple(changes)


def day_start(zone_name: str, now: datetime) -> datetime:
    """The first instant of `now`'s day in the zone (the daily quota counts from it), in UTC."""
    zone = _zone(zone_name)
    return datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone).astimezone(UTC)


def next_day_start(zone_name: str, now: datetime) -> datetime:
    """The first instant of the day after `now`'s day in the zone (the daily quota's reset), in UTC.

    Local midnight with `fold=0`: in a fold that is its first occurrence; in a gap at
    midnight (clocks jump from 24:00 to 01:00) the offset before the jump, which is
    exactly the instant of the jump, when the new day begins.
    """
    zone = _zone(zone_name)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(), tzinfo=zone).astimezone(UTC)


def quota_not_before(zones: Iterable[str], window: Window, organization_zone: str,
                     now: datetime) -> datetime | None:
    """Over the daily quota: the earliest instant, from the start of the organization's next
    day, when all zones are inside the window (None: no window within 7 days of that start)."""
    return next_window_time(zones, window, next_day_start(organization_zone, now))


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
