"""The `proof` provider: sends nothing, accepts every message at once as delivered.

Everything around it runs for real (database, rules, ledger), so a campaign
can be rehearsed end to end without a provider account or a phone buzzing.

Reconciliation: proof remembers nothing between processes, and handing a
message over sends nothing, so an uncertain proof attempt (the process was
killed between `submitting` and the answer) is reported as not created and
may be "sent" again: a second proof send harms no one. `can_reconcile` is True
for that reason, so a proof run never leaves `unknown` messages behind.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Collection
from datetime import datetime

from campaign_pipeline.sending.providers.base import Accepted, DeliveryStatus, ProviderMessage, SendOutcome

PROOF_STATUS = "delivered"


class ProofProvider:
    name = "proof"
    can_reconcile = True
    can_poll = True

    def __init__(self) -> None:
        # One random part per provider, then a counter: as unique as a uuid per message
        # (provider_message_id is a unique column), a fraction of its cost, and the ids of
        # a run follow each other, so the unique index takes them in one place, not at
        # random places all over it (measured: part of the proof dispatch's SQLite time).
        self._prefix = f"proof-{uuid.uuid4().hex}-"
        self._numbers = itertools.count(1)

    def send(self, to: str, body: str, sender: str, status_callback: str | None = None) -> SendOutcome:
        return Accepted(provider_id=self.accept_all(1)[0], status=PROOF_STATUS, segments=None)

    def accept_all(self, count: int) -> list[str]:
        """The provider ids of `count` messages accepted at once (as `send` would, each
        `PROOF_STATUS`): the dispatcher's batch path, no call per message."""
        prefix, numbers = self._prefix, self._numbers
        return [f"{prefix}{number:012d}" for number in itertools.islice(numbers, count)]

    def find_message(self, to: str, body: str, sender: str, since: datetime,
                     exclude: Collection[str] = ()) -> ProviderMessage | None:
        return None  # nothing ever went out; sending again is harmless

    def fetch_status(self, provider_id: str) -> DeliveryStatus | None:
        # Its own record: every proof message was delivered the moment it was accepted.
        return DeliveryStatus(PROOF_STATUS, None) if provider_id.startswith("proof-") else None

    def close(self) -> None:
        pass
