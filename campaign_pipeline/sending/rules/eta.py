"""When the last message would be handed over (sending.md, "Dry run and forecast":
`eta`, "at the organization's --mps, quota and windows").

A dispatch hands messages over in their order, one every 1/mps seconds, each only
while all of its number's zones are inside the window and while the organization's
day has quota left; a message outside its window waits for its next opening, and
when the day's quota is used up everything waits for the organization's next day.
`last_hand_over` plays that out message by message on a clock of its own, so the
forecast knows about a window that closes before the audience is through and about
the quota of every later day, not only of today.

Times inside are POSIX seconds (floats): the loop runs once per message.
"""

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from campaign_pipeline.sending.rules.hours import HORIZON, next_day_start, next_window_time, window_close
from campaign_pipeline.sending.rules.windows import Window

UTC = timezone.utc


@dataclass(frozen=True)
class DailyQuota:
    per_day: int
    used_today: int  # handed over since the start of the organization's day
    zone: str  # the organization's: its days are the quota's


def last_hand_over(zone_sets: Sequence[tuple[str, ...]], window: Window, start: datetime, mps: float,
                   quota: DailyQuota | None = None) -> datetime | None:
    """The instant the last of these messages (each given by its number's zones, in the
    order a dispatch takes them) would be handed over, starting at `start`; None when
    none would (a number with no window within 7 days is skipped, as a dispatch does)."""
    spacing = 1.0 / mps
    windows = _Openings(window)
    clock = start.timestamp()
    # The throttle's clock is its last idle instant plus whole spacings since it (a
    # running sum of spacings would drift by their rounding).
    since, sent_since = clock, 0
    # Dispatch order: every message first comes up at the start; one outside its window
    # then waits in `later` for its next opening (a heap by that instant, then order).
    fresh, later = deque(range(len(zone_sets))), []
    day_ends, left = math.inf, math.inf
    if quota is not None:
        day_ends, left = next_day_start(quota.zone, start).timestamp(), quota.per_day - quota.used_today
    last = None
    while fresh or later:
        if fresh:
            order = fresh[0]
        else:
            ready, order = later[0]
            if ready > clock:
                clock, since, sent_since = ready, ready, 0
        if clock >= day_ends:
            day_ends, left = next_day_start(quota.zone, _instant(clock)).timestamp(), quota.per_day
        if left <= 0:
            clock, since, sent_since = day_ends, day_ends, 0  # the day's quota is used: wait for the next
            continue
        opens = windows.next_opening(zone_sets[order], clock)
        if fresh:
            fresh.popleft()
        else:
            heapq.heappop(later)
        if opens is None:
            continue
        if opens > clock:
            heapq.heappush(later, (opens, order))
            continue
        last, left, sent_since = clock, left - 1, sent_since + 1
        clock = since + sent_since * spacing
    return None if last is None else _instant(last)


class _Openings:
    """Each zone set's current (or next) stretch inside the window, kept until it ends:
    an audience has few distinct zone sets, and the clock only moves forward."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self._known: dict[tuple[str, ...], tuple[float, float | None, float]] = {}

    def next_opening(self, zones: tuple[str, ...], clock: float) -> float | None:
        """`clock` when the zones are all inside the window then, else when they next are
        (None: not within 7 days)."""
        known = self._known.get(zones)
        if known is None or not known[0] <= clock < known[2]:
            known = self._known[zones] = self._stretch(zones, clock)
        _, opens, _ = known
        return None if opens is None else max(opens, clock)

    def _stretch(self, zones: tuple[str, ...], clock: float) -> tuple[float, float | None, float]:
        """(from, opens, closes): valid for clocks in [from, closes)."""
        opens = next_window_time(zones, self.window, _instant(clock))
        if opens is None:
            return clock, None, math.inf
        closes = window_close(zones, self.window, opens) or opens + HORIZON  # looked at again then
        return clock, opens.timestamp(), closes.timestamp()


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)

