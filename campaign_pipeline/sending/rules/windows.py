"""Sending windows, time zone names and `campaign schedule --at` (sending.md, "Organizations", "Campaigns").

Choices where the contract is silent:
- a window is exactly `HH:MM-HH:MM` (two ASCII digits each, no spaces inside;
  white space around the whole value is ignored); `24:00` is allowed as the end
  only; it is kept as minutes of the day, `[start, end)`;
- a time zone is a name of the IANA database as installed
  (`zoneinfo.available_timezones()`): no paths, no `localtime` or `Factory`,
  no offsets;
- `--at` is RFC 3339's date-time in ASCII digits: `YYYY-MM-DDTHH:MM:SS[.frac]` and `Z` or
  `±HH:MM` (`T`/`Z` in either case, or a space for `T`); seconds are required
  and so is the offset, since a time without one is ambiguous;
- the schedule rule's bounds are inclusive: exactly 14 days ahead and exactly
  one minute past are accepted.
"""

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

from campaign_pipeline.common.errors import InputError

DAY_MINUTES = 24 * 60
SCHEDULE_AHEAD = timedelta(days=14)
SCHEDULE_PAST = timedelta(minutes=1)


class WindowError(InputError, ValueError):
    """Not a sending window."""


class TimezoneError(InputError, ValueError):
    """Not an IANA time zone name."""


class ScheduleError(InputError, ValueError):
    """Not a usable `--at`."""


@dataclass(frozen=True, order=True)
class Window:
    """A daily sending window in local time: minutes since midnight, `[start, end)`."""

    start: int
    end: int

    def contains(self, minute_of_day: int | float) -> bool:
        return self.start <= minute_of_day < self.end

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ASCII digits, not \d: that also matches "０９" and "٠٩", which int() then reads.
_WINDOW = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})")


def parse_window(text: str) -> Window:
    """`HH:MM-HH:MM` with start before end in the same day; the end may be `24:00`."""
    match = _WINDOW.fullmatch(text.strip())
    if not match:
        raise WindowError(f"window {text!r} is not HH:MM-HH:MM (for example 09:00-20:00)")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    for hour, minute in ((start_h, start_m), (end_h, end_m)):
        if hour > 24:
            raise WindowError(f"window {text!r}: hour {hour} is not a time of day")
        if minute > 59:
            raise WindowError(f"window {text!r}: minute {minute} is not a time of day")
        if hour == 24 and minute:
            raise WindowError(f"window {text!r}: hour 24 is allowed only as 24:00, the end of the day")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start >= end:
        raise WindowError(f"window {text!r}: start {_hhmm(start)} is not before end {_hhmm(end)} "
                          "(a window lies within one day)")
    return Window(start, end)


# Files of the zoneinfo folder that are not zones of the IANA database's names.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(name for name in available_timezones()
                     if name not in _NOT_ZONES and not name.startswith(("posix/", "right/")))


def check_timezone(name: str) -> ZoneInfo:
    """The zone of an IANA time zone name, or TimezoneError."""
    if name not in _zone_names():
        raise TimezoneError(f"time zone {name!r} is not an IANA time zone name (for example Europe/Helsinki)")
    return ZoneInfo(name)


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?")


def parse_at(text: str, flag: str = "--at") -> datetime:
    """An RFC 3339 date-time with its offset, as an aware datetime in UTC."""
    match = _RFC3339.fullmatch(text.strip())
    if not match:
        raise ScheduleError(f"{flag} {text!r} is not an RFC 3339 date-time (for example 2026-12-03T09:00:00+02:00)")
    if not match.group(2):
        raise ScheduleError(f"{flag} {text!r} has no offset: add Z or ±HH:MM (for example 2026-12-03T09:00:00+02:00)")
    normalized = text.strip().upper().replace("Z", "+00:00")
    try:
        offset_hours = int(normalized[-6:-3])
        if abs(offset_hours) > 23:
            raise ValueError("offset out of range")
        return datetime.fromisoformat(normalized).astimezone(timezone.utc)
    except ValueError as error:
        raise ScheduleError(f"{flag} {text!r} is not a date and time ({error})") from None


def schedule_time(text: str | None, now: datetime) -> datetime:
    """When a campaign scheduled now with `--at text` starts: now when absent, else `--at`
    if it is at most 14 days ahead and at most a minute past."""
    if text is None:
        return now
    at = parse_at(text)
    if at > now + SCHEDULE_AHEAD:
        raise ScheduleError(f"--at {text!r} is more than 14 days ahead")
    if at < now - SCHEDULE_PAST:
        raise ScheduleError(f"--at {text!r} is in the past")
    return at
