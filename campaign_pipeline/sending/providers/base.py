"""What every SMS provider adapter offers the dispatcher, and the outcomes it reports.

An adapter classifies; it never retries a create itself. The dispatcher owns
the ledger (the `submitting` row committed before the call) and the retries,
so that "sent exactly once" is decided in one place. What each outcome means
for the ledger (sending.md, "Exactly once"):

- `Accepted`: the provider holds the message: record its id and status.
- `Rejected`: permanent for this message: `failed` with the code; `opt_out`
  also adds a `provider_opt_out` suppression.
- `NotCreated`: surely nothing was created (429, a connection that could not
  be opened): safe to send again after `retry_delay`.
- `Uncertain`: the message may exist (5xx, a timeout or a closed connection
  after the request went out): reconcile with `find_message` before anything
  else; where `can_reconcile` is False the message becomes `unknown`.
- `AccountFailure` (raised): 401/403, bad credentials: the whole run fails.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from campaign_pipeline.http.retry import backoff_delay


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    status: str  # the provider's own status word: `queued`, `accepted`, `delivered`…
    segments: int | None = None  # as the provider counted them; None when it does not say


@dataclass(frozen=True)
class Rejected:
    code: str  # the provider's error code as text: "21211" (Twilio), "InvalidParameter" (SNS)
    message: str  # the provider's explanation, phone numbers masked
    opt_out: bool = False  # the recipient opted out at the provider: suppress the number


@dataclass(frozen=True)
class NotCreated:
    retry_after: float | None  # seconds the provider asked to wait, when it said
    reason: str


@dataclass(frozen=True)
class Uncertain:
    reason: str


SendOutcome = Accepted | Rejected | NotCreated | Uncertain


@dataclass(frozen=True)
class ProviderMessage:
    """A message as the provider lists it (reconciliation and polling)."""

    provider_id: str
    to: str
    body: str
    status: str
    error_code: str | None
    created_at: datetime  # timezone-aware
    segments: int | None = None


class ProviderError(Exception):
    """Base of the adapters' exceptions; messages never hold a credential."""


class ConfigurationError(ProviderError):
    """The environment does not say how to reach the provider (a usage error: exit 2)."""


class AccountFailure(ProviderError):
    """The provider refused the account itself (401/403): the whole run fails (exit 1)."""


class CannotReconcile(ProviderError):
    """This provider cannot list what was sent: an uncertain attempt stays unknown."""


class ProviderUnavailable(ProviderError):
    """The provider could not answer a list or fetch now: try again later, decide nothing."""


class RateLimited(ProviderUnavailable):
    """The provider answered a read with 429: wait `retry_after` seconds when it said
    (else back off, as for a create), then ask again."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class DeliveryStatus:
    """A message's status as the provider reports it now (polling)."""

    status: str
    error_code: str | None


@runtime_checkable
class Provider(Protocol):
    name: str
    can_reconcile: bool
    can_poll: bool  # False: the provider reports no status through its API (SNS)

    def send(self, to: str, body: str, sender: str, status_callback: str | None = None) -> SendOutcome:
        """Hand one message over: exactly one request, classified."""
        ...

    def find_message(self, to: str, body: str, sender: str, since: datetime,
                     exclude: Collection[str] = ()) -> ProviderMessage | None:
        """The message to `to` with `body` from `sender` created at or after `since`, or None
        when surely there is none; a message whose id is in `exclude` (already recorded for
        another message of ours) is never the answer. Raises CannotReconcile where the provider cannot
        list, ProviderUnavailable when the list cannot be read now."""
        ...

    def fetch_status(self, provider_id: str) -> DeliveryStatus | None:
        """One message's status now (one read), or None when the provider does not know
        the id. Raises RateLimited on 429, ProviderUnavailable when it cannot answer now,
        AccountFailure for the account's own faults."""
        ...

    def close(self) -> None: ...


# -- the retry policy the dispatcher applies to NotCreated ----------------------

MAX_ATTEMPTS = 6
BACKOFF_BASE = 0.5  # seconds
BACKOFF_MAX = 30.0


def retry_delay(
    outcome: NotCreated, attempt: int, rng: random.Random | None = None,
    base: float = BACKOFF_BASE, cap: float = BACKOFF_MAX,
) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempt counts from 0).

    The provider's Retry-After when it gave one (never less), else exponential
    backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)].
    """
    if outcome.retry_after is not None:
        return outcome.retry_after
    return backoff_delay(attempt, base, cap, rng or random)  # the portal client's policy, shared
