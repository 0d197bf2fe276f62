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
from phonenumbers import timezone as phone_timezones

from campaign_pipeline.sending.rules.windows import Window

UTC = timezone.utc
HORIZON = timedelta(days=7)
_UNKNOWN = "Etc/Unknown"


def recipient_zones(phone: str, organization_zone: str) -> tuple[str, ...]:
    """libphonenumber's zones of an E.164 number; the organization's zone when it has none."""
    return _zones(phone) or (organization_zone,)


@functools.lru_cache(maxsize=65536)
def _zones(phone: str) -> tuple[str, ...]:
    zones = phone_timezones.time_zones_for_number(phonenumbers.parse(phone, None))
    return tuple(zone for zone in zones if zone != _UNKNOWN)


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
    candidates = sorted({instant for name in zones for instant in _openings(name, window.start, now, until)})
    return next((instant for instant in candidates if inside(zones, window, instant)), None)


def _openings(name: str, start_minute: int, since: datetime, until: datetime) -> Iterable[datetime]:
    """The instants in (since, until] when the zone may enter the window: every local
    occurrence of the window's start, and every clock change."""
    zone = _zone(name)
    first, last = since.astimezone(zone).date() - timedelta(days=1), until.astimezone(zone).date() + timedelta(days=1)
    start = time(start_minute // 60, start_minute % 60)
    day = first
    while day <= last:
        naive = datetime.combine(day, start)
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
