"""When to ask the provider about a handed-over message (sending.md, "Delivery and replies").

The schedule is a list of offsets after hand-over: by default 30 s, then every
5 minutes up to 30 minutes, then no more (a message still not final by then
waits for a callback, or for `campaign-cli poll`, which asks about every
message whatever the schedule). Each poll stores the next instant, so the
due messages are one index range (`next_poll_at <= now`).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

DEFAULT_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=30), *(timedelta(minutes=minutes) for minutes in range(5, 31, 5)))


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """`"30,300,600"` (seconds after hand-over, increasing) -> offsets; ValueError naming the fault."""
    try:
        seconds = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"a poll schedule is seconds after hand-over separated by commas, got {text!r}") from None
    if not seconds or any(s <= 0 for s in seconds) or seconds != sorted(set(seconds)):
        raise ValueError(f"a poll schedule is increasing positive seconds, got {text!r}")
    return tuple(timedelta(seconds=s) for s in seconds)


def first_poll(handed_over_at: datetime, schedule: Sequence[timedelta] = DEFAULT_SCHEDULE) -> datetime | None:
    """The first instant to ask about a message handed over at `handed_over_at`."""
    return handed_over_at + schedule[0] if schedule else None


def next_poll(handed_over_at: datetime, polled_at: datetime,
              schedule: Sequence[timedelta] = DEFAULT_SCHEDULE) -> datetime | None:
    """After a poll at `polled_at`, the next instant of the schedule strictly later
    than it, or None when the schedule is over. A poll that ran late (the sensor was
    down) skips the instants it missed rather than asking several times at once."""
    for offset in schedule:
        when = handed_over_at + offset
        if when > polled_at:
            return when
    return None
