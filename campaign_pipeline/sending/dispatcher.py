"""`campaign-cli dispatch`: hand due messages to the provider, exactly once, inside the
recipients' sending hours (sending.md, "Sending", "Exactly once").

Per campaign: take its lease (or leave it alone), move it `scheduled` ->
`sending` (while fewer than CAMPAIGN_MAX_SENDING others are), reconcile what an
earlier process left `submitting`, then work through its due messages in
batches: decide each (rules/handover.py: suppression, hours, length), defer or
skip what may not go, and hand over the rest through ledger.py's discipline
(claim committed before the call, the answer committed after). A keeper thread
renews the lease, re-reads the organization's share of --mps and watches the
kill switch and the campaign's state, so a pause is seen within half a second.

The proof provider (no rate to protect) runs inline, a batch per transaction.
A live provider: a batch (about two seconds of the rate) is claimed in one
transaction before any of its calls; a thread pool then calls the provider for
each message at its throttled instant (recorded as its hand-over time), and
the answers are recorded together every RECORD_EVERY seconds, so the database
sees a few transactions a second however high the rate. Claimed messages not
called when a stop comes are put back to `pending` together.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select, update

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.sending import campaigns as campaign_service
from campaign_pipeline.sending import delivery, leases, ledger, organizations
from campaign_pipeline.sending.db.engine import SENDING_LOCK, serialize, writing
from campaign_pipeline.sending.db.models import campaigns, utc_now
from campaign_pipeline.sending.due import LEFT_SUBMITTING, STOPPED_WITH_LEFTOVERS, due_now
from campaign_pipeline.sending.ledger import Answer, Claimed
from campaign_pipeline.sending.providers import (
    Accepted, AccountFailure, CannotReconcile, Provider, ProviderUnavailable, Rejected, Uncertain,
    retry_delay,
)
from campaign_pipeline.sending.providers.base import MAX_ATTEMPTS
from campaign_pipeline.sending.providers.proof import PROOF_STATUS, ProofProvider
from campaign_pipeline.sending.rules import lifecycle
from campaign_pipeline.sending.rules.handover import DEFER, GO, SKIP, Rules, split_quota
from campaign_pipeline.sending.rules.hours import day_start
from campaign_pipeline.sending.throttle import Throttle

MAX_SENDING_VARIABLE = "CAMPAIGN_MAX_SENDING"
DEFAULT_MAX_SENDING = 10
BATCH = 2000  # messages decided and (proof) claimed per transaction
LIVE_WORKERS = 32  # provider calls in flight; the throttle, not this, sets the pace
RECORD_EVERY = 0.2  # seconds between two recordings of a live batch's answers
# A live batch is claimed ~2 s before its last call; its numbers' suppressions are read
# again at most this long before each call, so a STOP a second old is always honoured.
SUPPRESSIONS_FRESH = 0.25
SUPPRESSIONS_READ_EVERY = 0.1
# ... and its sending hours are decided for the whole span its calls may take: a message
# goes only if still inside its window this long after the decision; a call made later
# than that has its hours decided again at its instant.
LIVE_HORIZON = timedelta(seconds=4)
WATCH_INTERVAL = 0.5  # kill switch and campaign state re-read at least this often
# Provider statuses a message may take when accepted; anything else reads as `accepted`.
_PROVIDER_STATUSES = frozenset({"accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed"})


@dataclass
class CampaignReport:
    """One campaign's counts in this run (the stdout document's entry)."""

    id: int
    organization_id: str
    status: str
    handed_over: int = 0
    deferred: int = 0
    skipped: int = 0
    failed: int = 0
    pending: int = 0
    skipped_reasons: Counter = field(default_factory=Counter)
    deferred_reasons: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    reconciled: Counter = field(default_factory=Counter)
    failure: str | None = None  # why the provider failed the run for this campaign
    note: str | None = None  # lease_held, waiting_max_sending, kill_switch, paused …
    started: float = field(default_factory=time.time)
    finished: float | None = None
    held_lease: bool = False

    def document(self) -> dict:
        return {"id": self.id, "status": self.status, "handed_over": self.handed_over, "deferred": self.deferred,
                "skipped": self.skipped, "failed": self.failed, "pending": self.pending}


@dataclass(frozen=True)
class Settings:
    max_sending: int = DEFAULT_MAX_SENDING
    lease_seconds: float = leases.DEFAULT_LEASE_SECONDS
    mps: int | None = None  # --mps: overrides the organization's
    status_callback: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], mps: int | None = None) -> Settings:
        from campaign_pipeline.common.values import checked, positive_number

        def number(name: str, default: float) -> float:
            text = env.get(name)
            return default if not text else checked(name, positive_number, text)

        base = env.get("CAMPAIGN_WEBHOOK_BASE_URL")
        return cls(max_sending=int(number(MAX_SENDING_VARIABLE, DEFAULT_MAX_SENDING)),
                   lease_seconds=number(leases.LEASE_SECONDS_VARIABLE, leases.DEFAULT_LEASE_SECONDS), mps=mps,
                   status_callback=f"{base.rstrip('/')}/twilio/status" if base else None)


# Crash points for the exactly-once proofs: CAMPAIGN_CRASH_AT=point:n kills this
# process (SIGKILL, as kill -9) the n-th time it passes `point`; unset, nothing happens.
CRASH_VARIABLE = "CAMPAIGN_CRASH_AT"
_crash_counts: Counter = Counter()
_crash_lock = threading.Lock()


def crash_point(name: str) -> None:
    wanted = os.environ.get(CRASH_VARIABLE)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    with _crash_lock:
        _crash_counts[name] += 1
        if _crash_counts[name] == int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)


class _Campaign:
    """What one campaign's dispatch needs while it runs."""

    def __init__(self, row, organization: organizations.Organization, report: CampaignReport) -> None:
        self.id, self.organization = row.id, organization
        self.window = organization.window_of(row)
        self.report = report
        self.stop = threading.Event()
        self.lock = threading.Lock()  # the report's counters, from worker threads
        self.throttle: Throttle | None = None


class Dispatcher:
    def __init__(self, engine: Engine, provider: Provider, log: JsonLog, settings: Settings,
                 rng: random.Random | None = None) -> None:
        self.engine, self.provider, self.log, self.settings = engine, provider, log, settings
        self.run_id = log.run_id
        self.holder = leases.holder_name(self.run_id)
        self.rng = rng or random.Random()
        self.live = provider.name != "proof"
        # SQLite has one writer at a time; threads that queue for it inside SQLite sleep in
        # its busy handler's coarse steps (measured: ~100 ms a statement with 8 workers), so
        # this process's writers queue here instead. PostgreSQL's row locks need no such help.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    def _write(self, change, *args, **kwargs):
        if self._write_lock is None:
            return change(*args, **kwargs)
        with self._write_lock:
            return change(*args, **kwargs)

    # -- which campaigns ---------------------------------------------------

    def due_campaigns(self, organization_id: str | None = None, campaign_id: int | str | None = None,
                      now: datetime | None = None) -> list:
        """Rows of the campaigns a dispatch looks at: `sending`, `scheduled` whose time has
        come, and `paused` or `cancelled` with messages left `submitting` (to reconcile);
        with --campaign that one whatever its state (NotFound when it is not)."""
        now = now or utc_now()
        with self.engine.connect() as connection:
            if organization_id is not None:
                campaign_service.require_organization(connection, organization_id)
            if campaign_id is not None:
                return [campaign_service.find_campaign(connection, campaign_id, organization_id)]
            query = select(campaigns).where(or_(
                campaigns.c.status == "sending",
                and_(campaigns.c.status == "scheduled", campaigns.c.scheduled_at <= now),
                and_(campaigns.c.status.in_(STOPPED_WITH_LEFTOVERS), LEFT_SUBMITTING)))
            if organization_id is not None:
                query = query.where(campaigns.c.organization_id == organization_id)
            return list(connection.execute(query.order_by(campaigns.c.id)))

    def check_senders(self, rows, until_done: bool = False) -> None:
        """A live provider needs a sender for each campaign of `rows` this run hands messages
        of over or reconciles (the provider's list is searched by sender): a usage error
        before anything changes. Those are the campaigns with a pass due now (due.py, what
        the Dagster sensor launches passes for), whatever the kill switch; with `until_done`
        also those the run waits for (a later start, deferred messages). A campaign with
        nothing due needs none: one organization's missing sender must not stop the others'."""
        if not self.live:
            return
        with self.engine.connect() as connection:
            due = {due_pass.campaign_id for due_pass in due_now(connection)}
            for row in rows:
                if not (row.id in due or (until_done and row.status in ("scheduled", "sending"))):
                    continue
                sender = organizations.settings(connection, row.organization_id).sender
                if not sender:
                    raise InputError(f"organization {row.organization_id} has no sender: campaign-cli org set "
                                     f"{row.organization_id} --sender S (SMS_PROVIDER={self.provider.name})")

    # -- one campaign ------------------------------------------------------------

    def dispatch(self, row) -> CampaignReport:
        with self.engine.connect() as connection:
            organization = organizations.settings(connection, row.organization_id)
        report = CampaignReport(row.id, row.organization_id, row.status)
        if row.status in STOPPED_WITH_LEFTOVERS:
            return self._settle_leftovers(row, organization, report)
        if row.status not in ("scheduled", "sending") or (row.status == "scheduled" and row.scheduled_at > utc_now()):
            report.note = "not_due"
            return self._close(report)
        if not self._take(row, organization, report):
            return self._close(report)
        campaign = _Campaign(row, organization, report)
        keeper = threading.Thread(target=self._keep, args=(campaign,), name=f"lease-{row.id}", daemon=True)
        try:
            if row.status == "scheduled" and not self._start(row.id):
                report.note = "waiting_max_sending"
                self.log.info("campaign_waiting", campaign_id=row.id, reason="max_sending",
                              max_sending=self.settings.max_sending)
                return self._close(report)
            campaign.throttle = Throttle(self._rate(campaign))
            keeper.start()
            self.log.info("campaign_dispatching", campaign_id=row.id, organization_id=row.organization_id,
                          provider=self.provider.name)
            if self._reconcile_left(campaign):
                self._work(campaign)
            self._finish_if_done(row.id)
        finally:
            campaign.stop.set()
            if keeper.is_alive():
                keeper.join()
            leases.release(self.engine, row.id, self.holder)
        return self._close(report)

    def _settle_leftovers(self, row, organization: organizations.Organization,
                          report: CampaignReport) -> CampaignReport:
        """A paused or cancelled campaign hands nothing over, but what a dead process left
        `submitting` is reconciled all the same (under the lease, as a pass would): found
        is recorded; absent is `pending` again when paused, `cancelled` when cancelled."""
        with self.engine.connect() as connection:
            left = connection.execute(select(LEFT_SUBMITTING).where(campaigns.c.id == row.id)).scalar()
        if not left:
            report.note = "not_due"
            return self._close(report)
        if not self._take(row, organization, report):
            return self._close(report)
        try:
            self._reconcile_left(_Campaign(row, organization, report))
            report.note = report.note or "reconciled_only"
        finally:
            leases.release(self.engine, row.id, self.holder)
        return self._close(report)

    def _take(self, row, organization: organizations.Organization, report: CampaignReport) -> bool:
        """The campaign's lease, for a pass; False (the report says why) when another
        dispatcher holds it, or when a live provider has no sender to send (and reconcile)
        by: check_senders refuses a run that starts so, but a campaign that comes due later
        in an --until-done run, or whose sender was cleared meanwhile, fails its pass here."""
        if self.live and not organization.sender:
            with self.engine.connect() as connection:
                due = any(due_pass.campaign_id == row.id for due_pass in due_now(connection))
            if not due:  # nothing to send or reconcile now: nothing to refuse (check_senders)
                report.note = "not_due"
                return False
            report.failure = (f"organization {organization.id} has no sender: "
                              f"campaign-cli org set {organization.id} --sender S")
            self.log.error("provider_failed", campaign_id=report.id, message=report.failure)
            return False
        if not leases.acquire(self.engine, row.id, row.organization_id, self.holder, self.settings.lease_seconds):
            self.log.info("lease_held", campaign_id=row.id, organization_id=row.organization_id)
            report.note = "lease_held"
            return False
        report.held_lease = True
        return True

    def _close(self, report: CampaignReport) -> CampaignReport:
        with self.engine.connect() as connection:
            report.status = connection.execute(select(campaigns.c.status).where(campaigns.c.id == report.id)).scalar()
            report.pending = ledger.counts(connection, report.id).get("pending", 0)
        report.finished = time.time()
        return report

    def _start(self, campaign_id: int) -> bool:
        """`scheduled` -> `sending` in one guarded statement, unless CAMPAIGN_MAX_SENDING
        others are sending."""
        now = utc_now()
        sending = campaigns.alias("sending_now")
        others = select(func.count()).select_from(sending).where(sending.c.status == "sending").scalar_subquery()
        with writing(self.engine) as connection, connection.begin():
            serialize(connection, SENDING_LOCK)  # the count below, then the start, one dispatcher at a time
            started = connection.execute(
                update(campaigns).where(campaigns.c.id == campaign_id,
                                        campaigns.c.status.in_(sorted(lifecycle.allowed_from("start"))),
                                        others < self.settings.max_sending)
                .values(status=lifecycle.target("start", "scheduled"), sending_started_at=now, updated_at=now)
            ).rowcount == 1
        if started:
            self.log.info("campaign_started", campaign_id=campaign_id)
        return started

    def _finish_if_done(self, campaign_id: int) -> None:
        """`sending` -> `sent` when nothing is pending, deferred or submitting, then the
        rollup (`failed` when every handed-over message failed)."""
        with writing(self.engine) as connection, connection.begin():
            counts = ledger.counts(connection, campaign_id)
            if any(counts.get(status) for status in ("pending", "deferred", "submitting")):
                return
            now = utc_now()
            done = connection.execute(
                update(campaigns).where(campaigns.c.id == campaign_id, campaigns.c.status == "sending")
                .values(status="sent", finished_at=now, updated_at=now)).rowcount == 1
            if done:  # the rollup the status callbacks apply too, in this same transaction
                delivery.roll_up(connection, campaign_id, now=now)
        if done:
            self.log.info("campaign_finished", campaign_id=campaign_id, messages=counts)

    # -- the keeper: lease, rate share, stop signals ---------------------------------

    def _rate(self, campaign: _Campaign) -> float | None:
        if not self.live:
            return None  # proof: nothing to protect, full speed
        mps = self.settings.mps or campaign.organization.mps
        with self.engine.connect() as connection:
            sharing = max(1, leases.live_leases(connection, campaign.organization.id))
        return mps / sharing

    def _keep(self, campaign: _Campaign) -> None:
        renew_every = self.settings.lease_seconds / 3
        last_renewal = time.monotonic()
        while not campaign.stop.wait(WATCH_INTERVAL):
            try:
                reason = ledger.stopped(self.engine, campaign.id)
                if reason:
                    self._halt(campaign, reason)
                    return
                if time.monotonic() - last_renewal >= renew_every:
                    if not leases.renew(self.engine, campaign.id, self.holder, self.settings.lease_seconds):
                        self._halt(campaign, "lease_lost")
                        return
                    last_renewal = time.monotonic()
                    campaign.throttle.set_rate(self._rate(campaign))
            except Exception as error:  # the database went away: stop handing over
                self._halt(campaign, f"database: {type(error).__name__}")
                return

    def _halt(self, campaign: _Campaign, reason: str) -> None:
        if not campaign.stop.is_set():
            campaign.report.note = campaign.report.note or reason
            self.log.info("dispatch_stopped", campaign_id=campaign.id, reason=reason)
            campaign.stop.set()

    # -- reconciliation ------------------------------------------------------------

    def _reconcile_left(self, campaign: _Campaign) -> bool:
        """Settles every message an earlier process left `submitting`; False when the
        provider could not say (then nothing new is handed over)."""
        with self.engine.connect() as connection:
            left = ledger.submitting(connection, campaign.id)
        for claimed in left:
            found = self._reconcile(campaign, claimed)
            if found == "unavailable":
                return False
            campaign.report.reconciled[found] += 1
        if left:
            self.log.info("reconciled", campaign_id=campaign.id, **dict(campaign.report.reconciled))
        return True

    def _reconcile(self, campaign: _Campaign, claimed: Claimed) -> str:
        """Asks the provider whether this attempt created a message: found (recorded), absent
        (back to pending: it may be sent again), unknown (cannot list), unavailable."""
        sender = campaign.organization.sender or ""
        try:
            with self.engine.connect() as connection:
                taken = ledger.recorded_provider_ids(connection, campaign.organization.id, claimed.phone, claimed.id)
            message = self.provider.find_message(claimed.phone, claimed.body, sender, claimed.started_at, taken)
        except CannotReconcile:
            self._write(ledger.finish, self.engine, [Answer(claimed.id, claimed.attempt, "unknown", "unknown")],
                          campaign.organization.id)
            return "unknown"
        except (ProviderUnavailable, AccountFailure) as error:
            self._fail(campaign, f"reconciliation: {error}")
            return "unavailable"
        if message is None:
            self._write(ledger.release, self.engine, claimed, "absent")
            return "absent"
        self._write(ledger.finish, self.engine, [Answer(claimed.id, claimed.attempt, _status(message.status), "reconciled",
                                           message.status, message.provider_id, message.error_code)],
                      campaign.organization.id)
        return "found"

    def _fail(self, campaign: _Campaign, reason: str) -> None:
        with campaign.lock:
            if campaign.report.failure is None:
                campaign.report.failure = reason
                self.log.error("provider_failed", campaign_id=campaign.id, message=reason)
        campaign.stop.set()

    # -- the work loop ---------------------------------------------------------------

    def _work(self, campaign: _Campaign) -> None:
        after = 0
        live = _LiveCalls(self, campaign) if self.live else None
        try:
            with self.engine.connect() as connection:
                left = ledger.counts(connection, campaign.id)
            # The bar's total: what may come due in this pass (deferred ones may still wait).
            total = left.get("pending", 0) + left.get("deferred", 0)
            with self.log.progress("dispatch", total=total, unit="messages") as progress:
                while not campaign.stop.is_set():
                    if live is not None:  # the next batch is read while the last half second of calls goes on
                        live.wait_below(self._batch_size(campaign) // 4)
                    now = utc_now()
                    with self.engine.connect() as connection:
                        batch = ledger.due(connection, campaign.id, now, self._batch_size(campaign), after)
                        suppressed = ledger.suppressed_among(connection, campaign.organization.id,
                                                             (m.phone for m in batch))
                    if not batch:
                        return
                    after = batch[-1].id
                    go = self._decide(campaign, batch, suppressed, now, None if live is None else LIVE_HORIZON)
                    if live is None:
                        self._hand_over_inline(campaign, go, now)
                    else:
                        live.hand_over(go)
                    report = campaign.report
                    progress.advance(len(batch))
                    progress.counters.update(handed_over=report.handed_over, deferred=report.deferred,
                                             skipped=report.skipped, failed=report.failed)
        finally:
            if live is not None:
                live.close()

    def _batch_size(self, campaign: _Campaign) -> int:
        """Proof: BATCH a transaction. Live: about two seconds of hand-overs, so the rules
        decided at the batch's start (hours, suppressions) are at most that old."""
        rate = campaign.throttle.rate
        return BATCH if rate is None else max(4, min(BATCH, int(rate * 2)))

    def _decide(self, campaign: _Campaign, batch, suppressed: set[str], now: datetime,
                horizon: timedelta | None = None) -> list:
        """Each due message: skipped, deferred or to go. With a horizon (live batches), to go
        only if it would still go at `now + horizon`, else deferred as decided then."""
        rules = Rules(campaign.window, campaign.organization.timezone, now)
        late = None if horizon is None else Rules(campaign.window, campaign.organization.timezone, now + horizon)
        skips, defers, go = {}, {}, []
        for due in batch:
            decision = rules.decide(due.phone, due.body, due.phone in suppressed)
            if late is not None and decision.action == GO:
                decision = late.decide(due.phone, due.body, False)
            if decision.action == GO:
                go.append(due)
            elif decision.action == SKIP:
                skips[due.id] = decision.reason
            else:
                defers[due.id] = (decision.not_before, decision.reason)
        self._apply(campaign, skips, defers)
        return go

    def _apply(self, campaign: _Campaign, skips: dict[int, str], defers: dict[int, tuple]) -> None:
        report = campaign.report
        if skips:
            skipped = self._write(ledger.skip, self.engine, skips)
            with campaign.lock:
                report.skipped += skipped
                report.skipped_reasons.update(skips.values())
        if defers:
            deferred = self._write(ledger.defer, self.engine, {i: when for i, (when, _) in defers.items()})
            with campaign.lock:
                report.deferred += deferred
                report.deferred_reasons.update(reason for _, reason in defers.values())

    def _quota(self, campaign: _Campaign, now: datetime) -> tuple[int | None, datetime | None]:
        quota = campaign.organization.daily_quota
        return (None, None) if quota is None else (quota, day_start(campaign.organization.timezone, now))

    def _over_quota(self, campaign: _Campaign, over: list[int], phones: dict[int, str], now: datetime) -> None:
        if not over:
            return
        rules = Rules(campaign.window, campaign.organization.timezone, now)
        _, decisions = split_quota([phones[i] for i in over], 0, rules)
        skips = {i: d.reason for i, d in zip(over, decisions) if d.action == SKIP}
        defers = {i: (d.not_before, d.reason) for i, d in zip(over, decisions) if d.action == DEFER}
        self._apply(campaign, skips, defers)

    def _count_suppressed(self, campaign: _Campaign, ids: list[int]) -> None:
        """Suppressed after the batch was decided (a STOP meanwhile): the claim, a retry's
        next attempt or the live call's last look (_LiveCalls) skipped them."""
        if ids:
            with campaign.lock:
                campaign.report.skipped += len(ids)
                campaign.report.skipped_reasons["suppressed"] += len(ids)

    def _hand_over_inline(self, campaign: _Campaign, go: list, now: datetime) -> None:
        """Proof (or any provider without a rate): one claim per batch, answers recorded
        per batch; the claim commits before any of its messages is handed over."""
        if not go:
            return
        claimed = self._claim(campaign, go, now)
        if claimed is None:
            return
        crash_point("claimed")
        if isinstance(self.provider, ProofProvider):
            # Proof accepts every message at once: its answers without a call and a retry
            # loop per message (measured: ~2 s of a 10^5 dispatch), the same discipline.
            status = _status(PROOF_STATUS)
            answers = [Answer(message.id, message.attempt, status, "accepted", PROOF_STATUS, provider_id)
                       for message, provider_id in zip(claimed, self.provider.accept_all(len(claimed)))]
        else:
            answers = []
            for message in claimed:
                answer = self._settle(campaign, message)
                if answer is not None:
                    answers.append(answer)
        crash_point("answered")
        self._write(ledger.finish, self.engine, answers, campaign.organization.id)
        crash_point("recorded")
        self._count(campaign, answers)

    def _count(self, campaign: _Campaign, answers: list[Answer]) -> None:
        with campaign.lock:
            for answer in answers:
                campaign.report.outcomes[answer.outcome] += 1
                if answer.outcome in ("rejected", "opt_out"):
                    campaign.report.failed += 1
                campaign.report.handed_over += 1

    def _settle(self, campaign: _Campaign, claimed: Claimed) -> Answer | None:
        """Calls the provider for a claimed message until its outcome is known. The Answer
        to record, or None when the message was put back (pending) or left submitting."""
        organization = campaign.organization
        sender = organization.sender or self.provider.name  # proof needs none; a live one has one (above)
        tries = 0
        while True:
            try:
                outcome = self.provider.send(claimed.phone, claimed.body, sender, self.settings.status_callback)
            except AccountFailure as error:
                self._write(ledger.release, self.engine, claimed, "account_failure")  # refused: nothing was created
                self._fail(campaign, str(error))
                return None
            if isinstance(outcome, Accepted):
                return Answer(claimed.id, claimed.attempt, _status(outcome.status), "accepted", outcome.status,
                              outcome.provider_id)
            if isinstance(outcome, Rejected):
                return Answer(claimed.id, claimed.attempt, "failed", "opt_out" if outcome.opt_out else "rejected",
                              "failed", None, outcome.code)
            if isinstance(outcome, Uncertain):
                self.log.warning("uncertain_attempt", campaign_id=campaign.id, message_id=claimed.id,
                                 attempt=claimed.attempt, reason=outcome.reason)
                found = self._reconcile(campaign, claimed)
                with campaign.lock:
                    campaign.report.reconciled[found] += 1
                    if found in ("found", "unknown"):
                        campaign.report.handed_over += 1
                        campaign.report.outcomes["reconciled" if found == "found" else "unknown"] += 1
                if found != "absent":
                    return None
                # Absent: the provider created nothing, the message is pending again; it is
                # claimed anew (a new attempt, the same checks as any claim) and sent again.
                tries += 1
                if tries >= MAX_ATTEMPTS or campaign.stop.is_set():
                    self._fail(campaign, f"retries exhausted for message {claimed.id}: {outcome.reason}")
                    return None
                if self.live and campaign.throttle.wait(campaign.stop) is None:
                    return None
                claimed = self._reclaim(campaign, claimed)
                if claimed is None:
                    return None
                continue
            tries += 1  # NotCreated
            if tries >= MAX_ATTEMPTS or campaign.stop.is_set():
                if self._write(ledger.release, self.engine, claimed, "not_created"):
                    self._fail(campaign, f"retries exhausted for message {claimed.id}: {outcome.reason}")
                return None
            delay = retry_delay(outcome, tries - 1, self.rng)
            self.log.info("retrying", campaign_id=campaign.id, message_id=claimed.id, attempt=claimed.attempt,
                          seconds=round(delay, 3), reason=outcome.reason)
            if campaign.stop.wait(delay) or (self.live and campaign.throttle.wait(campaign.stop) is None):
                self._write(ledger.release, self.engine, claimed, "not_created")
                return None
            # Just before the call: the next attempt's transaction looks at the kill switch, the
            # campaign's state and the suppressions again (the backoff may have lasted seconds).
            retried = self._write(ledger.retry, self.engine, claimed, "not_created", self.run_id, organization.id,
                                  self._campaign_rules(campaign))
            if retried.stopped:
                self._halt(campaign, retried.stopped)
            if retried.suppressed:
                self._count_suppressed(campaign, [claimed.id])
            if retried.claimed is None:
                return None
            claimed = retried.claimed

    def _campaign_rules(self, campaign: _Campaign) -> int | None:
        """The campaign whose state and suppressions a retry looks at again (a test
        message's dispatcher: None, it bypasses both)."""
        return campaign.id

    def _reclaim(self, campaign: _Campaign, claimed: Claimed) -> Claimed | None:
        """An uncertain attempt that reconciliation found absent is pending again: claim it
        as a new attempt (the same checks as any claim: kill switch, state, quota)."""
        again = self._claim(campaign, [claimed], utc_now())
        return again[0] if again else None

    def _claim(self, campaign: _Campaign, due: Sequence, now: datetime) -> list[Claimed] | None:
        """Claims these due messages (each with an id and a phone) in one transaction, which
        looks again at the kill switch, the campaign's state, the suppressions and the
        day's quota (ledger.claim), and books what it found; the claimed messages, or None
        when the campaign may hand nothing over now (it is halted)."""
        quota, since = self._quota(campaign, now)
        claim = self._write(ledger.claim, self.engine, campaign.id, campaign.organization.id, [m.id for m in due],
                            self.run_id, now, quota, since)
        if claim.stopped:
            self._halt(campaign, claim.stopped)
            return None
        self._count_suppressed(campaign, claim.suppressed)
        self._over_quota(campaign, claim.over_quota, {m.id: m.phone for m in due}, now)
        return claim.claimed


class _LiveCalls:
    """A live provider's hand-overs of one campaign's pass. Each batch is claimed in one
    transaction before any of its calls; a thread pool then calls the provider for each
    message at its throttled instant; answers are recorded together every RECORD_EVERY
    seconds. The next batch is claimed while the last calls of this one are in flight, so
    the throttle never waits for the database. Claims never called (a stop) go back to
    `pending` together at the end."""

    def __init__(self, dispatcher: Dispatcher, campaign: _Campaign) -> None:
        self.dispatcher, self.campaign = dispatcher, campaign
        self.pool = ThreadPoolExecutor(LIVE_WORKERS, thread_name_prefix="handover")
        self.lock = threading.Lock()
        self.answers: list[Answer] = []
        self.unsent: list[Claimed] = []
        self.calls: set = set()
        self.waiting: dict[int, str] = {}  # claimed, not yet called: id -> phone
        self.suppressed: list[Claimed] = []  # found suppressed at their call, not yet recorded
        # The suppressions of the numbers waiting, read again every SUPPRESSIONS_READ_EVERY by a
        # thread of their own, so no call waits on the database: (read started, numbers, found).
        self.fresh = threading.Lock()
        self.rules_lock, self.rules_second, self.rules = threading.Lock(), 0, None  # _inside_hours
        self.snapshot: tuple[float, frozenset[str], frozenset[str]] = (float("-inf"), frozenset(), frozenset())
        self.closed = threading.Event()
        self.reader = threading.Thread(target=self._read_suppressions, name="suppressions", daemon=True)
        self.reader.start()

    def _read_suppressions(self) -> None:
        while not self.closed.wait(SUPPRESSIONS_READ_EVERY):
            try:
                self._refresh()
            except Exception as error:  # noqa: BLE001 - the calls then read for themselves, and fail loudly
                self.dispatcher.log.warning("suppressions_read_failed", campaign_id=self.campaign.id,
                                            error=type(error).__name__)

    def _refresh(self, phone: str | None = None) -> tuple[float, frozenset[str], frozenset[str]]:
        with self.fresh:
            started = time.monotonic()
            with self.lock:
                phones = frozenset({*self.waiting.values(), *([phone] if phone else [])})
            if phones:
                with self.dispatcher.engine.connect() as connection:
                    found = frozenset(ledger.suppressed_among(connection, self.campaign.organization.id, phones))
            else:
                found = frozenset()
            self.snapshot = (started, phones, found)
            return self.snapshot

    def _suppressed_now(self, phone: str) -> bool:
        """Whether the number is suppressed, as read (for it) at most SUPPRESSIONS_FRESH ago:
        the reader thread's last read if it covered the number and is fresh enough, else a
        read of its own (a slow database: the call waits rather than go on stale news)."""
        started, phones, found = self.snapshot
        if phone not in phones or time.monotonic() - started > SUPPRESSIONS_FRESH:
            started, phones, found = self._refresh(phone)
        return phone in found

    def hand_over(self, go: list) -> None:
        dispatcher, campaign = self.dispatcher, self.campaign
        if not go:
            return
        now = utc_now()
        claimed = dispatcher._claim(campaign, go, now)
        if claimed is None:
            return
        for _ in claimed:  # a passage per message claimed (the proofs kill at the n-th)
            crash_point("claimed")
        with self.lock:
            self.waiting.update((message.id, message.phone) for message in claimed)
        deadline = (now + LIVE_HORIZON).timestamp()  # the span its hours were decided for (_decide)
        self.calls.update(self.pool.submit(self._call, message, deadline) for message in claimed)

    def _call(self, claimed: Claimed, deadline: float) -> None:
        instant = self.campaign.throttle.wait(self.campaign.stop)
        if instant is not None and instant > deadline and not self._inside_hours(claimed, instant):
            instant = None  # held back past its window's end: back to pending, decided anew next pass
        suppressed = instant is not None and self._suppressed_now(claimed.phone)
        with self.lock:
            self.waiting.pop(claimed.id, None)
            if instant is None:
                self.unsent.append(claimed)
            elif suppressed:
                self.suppressed.append(claimed)
        if instant is None or suppressed:
            return
        answer = self.dispatcher._settle(self.campaign, claimed)
        if answer is not None:
            crash_point("answered")
            with self.lock:
                self.answers.append(replace(answer, handed_over_at=datetime.fromtimestamp(instant, UTC)))

    def _inside_hours(self, claimed: Claimed, instant: float) -> bool:
        """A call made later than the span its batch's hours were decided for (a slow
        provider, a rate the calls cannot keep): its hours decided again for the end of
        the second it is in (one Rules a second, its zone caches shared by the calls)."""
        second = int(instant) + 1
        with self.rules_lock:
            if self.rules_second != second:
                self.rules_second = second
                self.rules = Rules(self.campaign.window, self.campaign.organization.timezone,
                                   datetime.fromtimestamp(second, UTC))
            rules = self.rules
        return rules.decide(claimed.phone, claimed.body, False).action == GO

    def wait_below(self, count: int) -> None:
        """Records answers as they come until at most `count` calls are left in flight."""
        while len(self.calls) > count:
            done, self.calls = wait(self.calls, timeout=RECORD_EVERY)
            for future in done:
                future.result()
            self.record()

    def record(self) -> None:
        with self.lock:
            ready, stopped = self.answers[:], self.suppressed[:]
            self.answers.clear()
            self.suppressed.clear()
        if stopped:
            skipped = self.dispatcher._write(ledger.skip_uncalled, self.dispatcher.engine, stopped, "suppressed")
            self.dispatcher._count_suppressed(self.campaign, [c.id for c in stopped][:skipped])
        if ready:
            self.dispatcher._write(ledger.finish, self.dispatcher.engine, ready, self.campaign.organization.id)
            for _ in ready:
                crash_point("recorded")
            self.dispatcher._count(self.campaign, ready)

    def close(self) -> None:
        try:
            self.wait_below(0)
        finally:
            self.pool.shutdown(wait=True)
            self.closed.set()
            self.reader.join()
            self.record()
            if self.unsent:
                self.dispatcher._write(ledger.release_all, self.dispatcher.engine, self.unsent, "stopped")


def _status(provider_status: str) -> str:
    return provider_status if provider_status in _PROVIDER_STATUSES else "accepted"


def wait_seconds(engine: Engine, rows, now: datetime) -> float | None:
    """How long `--until-done` sleeps before the next pass: until the earliest deferred
    message, scheduled start or lease expiry among these campaigns (None: nothing left)."""
    moments = []
    with engine.connect() as connection:
        for row in rows:
            status = connection.execute(select(campaigns.c.status, campaigns.c.scheduled_at)
                                        .where(campaigns.c.id == row.id)).first()
            if status.status == "scheduled":
                moments.append(max(status.scheduled_at, now))
                continue
            if status.status != "sending":
                continue
            counts = ledger.counts(connection, row.id)
            if counts.get("pending") or counts.get("submitting"):
                expiry = leases.lease_expiry(connection, row.id)
                moments.append(min(expiry, now + timedelta(seconds=1)) if expiry else now)
            elif counts.get("deferred"):
                moments.append(ledger.next_not_before(connection, row.id))
    if not moments:
        return None
    return max(0.0, (min(moments) - now).total_seconds())


def _merge(total: CampaignReport | None, report: CampaignReport) -> CampaignReport:
    """One campaign's counts over the passes of an `--until-done` run."""
    if total is None:
        return report
    for name in ("handed_over", "deferred", "skipped", "failed"):
        setattr(total, name, getattr(total, name) + getattr(report, name))
    for name in ("skipped_reasons", "deferred_reasons", "outcomes", "reconciled"):
        getattr(total, name).update(getattr(report, name))
    total.status, total.pending, total.finished = report.status, report.pending, report.finished
    total.failure = total.failure or report.failure
    total.note = report.note
    total.held_lease = total.held_lease or report.held_lease
    return total


def _passes(dispatcher: Dispatcher, rows, organization_id: str | None, campaign_id: int | str | None,
            until_done: bool, sleep) -> dict[int, CampaignReport]:
    """One pass over the due campaigns; with `until_done`, more as deferred messages come due."""
    reports: dict[int, CampaignReport] = {}
    while True:
        for row in rows:
            reports[row.id] = _merge(reports.get(row.id), dispatcher.dispatch(row))
        if not until_done or any(r.failure for r in reports.values()):
            return reports
        wait = wait_seconds(dispatcher.engine, rows, utc_now())
        if wait is None:
            return reports
        dispatcher.log.info("dispatch_sleeping", seconds=round(wait, 3))
        sleep(min(max(wait, 0.2), 60.0))
        rows = dispatcher.due_campaigns(organization_id, campaign_id)


@dataclass
class DispatchRun:
    """What one `dispatch` run did: each campaign's report and the folder of its artifacts."""

    run_id: str
    reports: dict[int, CampaignReport]
    folders: dict[int, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        """The exit status: 1 when the provider failed the run for some campaign."""
        return 1 if any(r.failure for r in self.reports.values()) else 0

    def document(self) -> dict:
        return {"run_id": self.run_id, "campaigns": [r.document() for r in self.reports.values()]}


def run_dispatch(engine: Engine, provider: Provider, log: JsonLog, settings: Settings, *,
                 organization_id: str | None = None, campaign_id: int | str | None = None, until_done: bool = False,
                 output_root: str | None = None, sleep=time.sleep, keep_frozen: bool = False) -> tuple[dict, int]:
    """The whole `dispatch` command: (the stdout document, the exit status)."""
    run = dispatch_run(engine, provider, log, settings, organization_id=organization_id, campaign_id=campaign_id,
                       until_done=until_done, output_root=output_root, sleep=sleep, keep_frozen=keep_frozen)
    return run.document(), run.status


def dispatch_run(engine: Engine, provider: Provider, log: JsonLog, settings: Settings, *,
                 organization_id: str | None = None, campaign_id: int | str | None = None, until_done: bool = False,
                 output_root: str | None = None, sleep=time.sleep, keep_frozen: bool = False) -> DispatchRun:
    """One `dispatch` run (the command's, and Dagster's `campaign_sends` pass), with its reports.
    `keep_frozen`: the process ends with the run, so the objects frozen for it (below) need
    not be handed back to the collector (that costs a full collection, ~0.2 s)."""
    dispatcher = Dispatcher(engine, provider, log, settings)
    rows = dispatcher.due_campaigns(organization_id, campaign_id)
    dispatcher.check_senders(rows, until_done)
    # A full garbage collection walks every object the libraries made at import (SQLAlchemy,
    # polars, httpx...): 40-110 ms with every thread stopped, which bunched a live pass's calls
    # past its rate. What lives now lives for the run anyway: collections leave it alone
    # until it ends (then a long-lived process, a test session, collects it again).
    gc.freeze()
    try:
        reports = _passes(dispatcher, rows, organization_id, campaign_id, until_done, sleep)
        run = DispatchRun(dispatcher.run_id, reports)
        if output_root is not None:
            from campaign_pipeline.sending.artifacts import write_reports

            for report in reports.values():
                if report.held_lease:
                    run.folders[report.id] = write_reports(engine, output_root, report, dispatcher.run_id,
                                                           provider.name)
                    log.info("dispatch_reports", campaign_id=report.id, folder=run.folders[report.id])
    finally:
        if not keep_frozen:
            gc.unfreeze()
    failed = [r for r in reports.values() if r.failure]
    log.info("dispatch_done", campaigns=len(reports), handed_over=sum(r.handed_over for r in reports.values()),
             failed_campaigns=len(failed))
    return run
