"""What happens to one due message now (sending.md, "Sending", steps 2, 3, 4 and 6).

Plain rules, no I/O: the dispatcher and the forecast (`dispatch --dry-run`,
`campaign preview`) both decide with `decide` and `split_quota`, so a dry run
says exactly what a dispatch would do now. Steps 1 (kill switch and state) and
5 (throttle) are the dispatcher's, since they are about the run, not the message.

Choice where the contract is silent: a body over 1,600 characters is skipped
(`too_long`) once it is inside its window, before the quota, so a message that
can never be handed over does not take one of the day's quota places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from campaign_pipeline.sending.rules.encoding import too_long
from campaign_pipeline.sending.rules.hours import next_window_time, possible_zones, quota_not_before, recipient_zones
from campaign_pipeline.sending.rules.windows import Window

GO, DEFER, SKIP = "go", "defer", "skip"


@dataclass(frozen=True)
class Decision:
    action: str  # go | defer | skip
    reason: str | None = None  # skip: suppressed, no_window, too_long; defer: window, quota
    not_before: datetime | None = None


GO_NOW = Decision(GO)


class Rules:
    """The organization's (or the campaign's) window and zone, at one instant; caches
    each zone set's next window, since an audience has few distinct ones. A number's
    zones are looked up (parsed) only when its possible zone sets would not all open
    the window at the same instant (hours.possible_zones)."""

    def __init__(self, window: Window, organization_zone: str, now: datetime) -> None:
        self.window, self.organization_zone, self.now = window, organization_zone, now
        self._opens: dict[tuple[str, ...], datetime | None] = {}
        self._quota_opens: dict[tuple[str, ...], datetime | None] = {}
        self._agreed: dict[tuple[int, frozenset], tuple[datetime | None] | None] = {}

    def zones(self, phone: str) -> tuple[str, ...]:
        return recipient_zones(phone, self.organization_zone)

    def _when(self, phone: str, known: dict, opening) -> datetime | None:
        """opening(zones) of the number's zones, each zone set's computed once."""
        candidates = possible_zones(phone, self.organization_zone)
        if candidates:
            agreed = self._agreement(candidates, known, opening)
            if agreed is not None:
                return agreed[0]
        return self._of(self.zones(phone), known, opening)

    def _agreement(self, candidates: frozenset, known: dict, opening) -> tuple[datetime | None] | None:
        """(the answer) when every possible zone set of a number gives the same one, else None."""
        key = (id(known), candidates)
        if key not in self._agreed:
            answers = {self._of(zones, known, opening) for zones in candidates}
            self._agreed[key] = (answers.pop(),) if len(answers) == 1 else None
        return self._agreed[key]

    @staticmethod
    def _of(zones: tuple[str, ...], known: dict, opening) -> datetime | None:
        if zones not in known:
            known[zones] = opening(zones)
        return known[zones]

    def _opening_now(self, zones: tuple[str, ...]) -> datetime | None:
        return next_window_time(zones, self.window, self.now)

    def zone_set(self, phone: str) -> tuple[str, ...]:
        """The number's zones for a forecast of later instants: without a parse when its
        possible zone sets all open the window now (Finland's Helsinki and Mariehamn keep
        the same hours), taking the widest of them."""
        candidates = possible_zones(phone, self.organization_zone)
        if not candidates:
            return self.zones(phone)
        if len(candidates) == 1:
            return next(iter(candidates))
        if self._agreement(candidates, self._opens, self._opening_now) is not None:
            return max(sorted(candidates), key=len)
        return self.zones(phone)

    def decide(self, phone: str, body: str, suppressed: bool) -> Decision:
        """Steps 2 (suppression), 3 (sending hours) and 6 (length)."""
        if suppressed:
            return Decision(SKIP, "suppressed")
        opens = self._when(phone, self._opens, self._opening_now)
        if opens is None:
            return Decision(SKIP, "no_window")
        if opens > self.now:
            return Decision(DEFER, "window", opens)
        if too_long(body):
            return Decision(SKIP, "too_long")
        return GO_NOW

    def over_quota(self, phone: str) -> Decision:
        """Step 4 for a message past the day's quota: deferred to the organization's next
        day, when all its zones are inside the window (none within 7 days: no_window)."""
        opens = self._when(phone, self._quota_opens,
                           lambda zones: quota_not_before(zones, self.window, self.organization_zone, self.now))
        return Decision(SKIP, "no_window") if opens is None else Decision(DEFER, "quota", opens)


def split_quota(phones: Sequence[str], quota_left: int | None, rules: Rules) -> tuple[int, list[Decision]]:
    """Of messages that may go now (in order), how many the quota lets go, and the
    decisions of the rest. `quota_left` None: no quota."""
    allowed = len(phones) if quota_left is None else max(0, min(len(phones), quota_left))
    return allowed, [rules.over_quota(phone) for phone in phones[allowed:]]
