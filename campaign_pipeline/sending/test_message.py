"""`campaign test`: one message of a draft campaign to one number (sending.md, "Test messages").

The body is rendered with the campaign's first audience row (dataset order;
placeholders stay as written when the audience is empty). It bypasses the
audience, suppressions, sending hours and quota, never the kill switch (refused:
a failed run, exit 1, nothing recorded), and leaves the campaign's
state alone; it still follows the ledger's discipline (the `submitting` row and
its attempt committed before the call) and is recorded as a message of kind
`test`, which `show` does not count and the quota does not count either.

The dispatcher's `_settle` does the calls and the retries. Two of its steps
assume a `sending` campaign and are the test message's own here: an uncertain
attempt that reconciliation finds absent is claimed again as the next attempt
(the campaign is a draft, which would stop a campaign claim), and a message
put back to `pending` (nothing created, retries exhausted) ends `skipped` with
reason `not_sent`: no later dispatch picks up a test message.
"""

from __future__ import annotations

from sqlalchemy import Engine, insert, update

from campaign_pipeline.common.errors import InputError, RunFailed
from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.common.masking import mask_phone
from campaign_pipeline.sending import campaigns, ledger, organizations, suppressions
from campaign_pipeline.sending.db.engine import writing
from campaign_pipeline.sending.db.models import attempts, messages, utc_now
from campaign_pipeline.sending.dispatcher import CampaignReport, Dispatcher, Settings, _Campaign
from campaign_pipeline.sending.ledger import Claimed
from campaign_pipeline.sending.providers import Provider
from campaign_pipeline.sending.rules import lifecycle
from campaign_pipeline.sending.rules.encoding import encoding_of, segments
from campaign_pipeline.sending.rules.templates import check_template, render_one
from campaign_pipeline.sending.throttle import Throttle


def send_test_message(engine: Engine, provider: Provider, log: JsonLog, organization_id: str,
                      campaign_id: int | str, to: str, region: str = "FI") -> tuple[dict, int]:
    """(the stdout document, the exit status: 1 when the provider failed). RunFailed while
    the kill switch is on: nothing is recorded, nothing handed over."""
    (phone,) = suppressions.normalize_each([to], region)
    with engine.connect() as connection:
        campaigns.require_organization(connection, organization_id)
        row = campaigns.get_campaign(connection, organization_id, campaign_id)
        lifecycle.target("test", row.status, campaign_id=row.id)  # a draft only
        organization = organizations.settings(connection, organization_id)
        audience = campaigns.read_audience(connection, organization_id, row.segment, day=row.day,
                                           dataset=row.dataset_path)
    if provider.name != "proof" and not organization.sender:
        raise InputError(f"organization {organization_id} has no sender: campaign-cli org set {organization_id} "
                         f"--sender S (SMS_PROVIDER={provider.name})")
    body = render_one(check_template(row.body), audience.row(0, named=True) if audience.height else None)
    claimed = _claim(engine, row.id, organization_id, phone, body, log.run_id)
    dispatcher = _TestDispatcher(engine, provider, log, Settings.from_env({}))
    campaign = _Campaign(row, organization, CampaignReport(row.id, organization_id, row.status))
    campaign.throttle = Throttle(organization.mps if dispatcher.live else None)
    answer = dispatcher._settle(campaign, claimed)
    if answer is not None:
        ledger.finish(engine, [answer], organization_id)
    _not_sent(engine, claimed.id)
    with engine.connect() as connection:
        stored = connection.execute(messages.select().where(messages.c.id == claimed.id)).first()
    log.info("test_message", campaign_id=row.id, organization_id=organization_id, to=mask_phone(phone),
             status=stored.status)
    document = {"id": stored.id, "campaign_id": row.id, "kind": "test", "to": mask_phone(phone),
                "status": stored.status, "provider_message_id": stored.provider_message_id,
                "error_code": stored.error_code, "campaign_status": row.status}
    return document, 1 if campaign.report.failure else 0


def _claim(engine: Engine, campaign_id: int, organization_id: str, phone: str, body: str, run_id: str) -> Claimed:
    """The test message, `submitting` with its first attempt, committed before the call."""
    now = utc_now()
    with writing(engine) as connection, connection.begin():
        # Step 1 of sending, in the transaction that would record the hand-over, as a
        # dispatcher's claim reads it: the kill switch stops test messages too.
        if ledger.why_stopped(connection, None):
            raise RunFailed("the kill switch is on: nothing is handed over, test messages included "
                            "(campaign-cli kill-switch off)")
        message_id = connection.execute(insert(messages).values(
            campaign_id=campaign_id, organization_id=organization_id, kind="test", phone=phone, body=body,
            encoding=encoding_of(body), segments=segments(body), status="submitting", attempts=1,
            handed_over_at=now, created_at=now, updated_at=now,
        ).returning(messages.c.id)).scalar_one()
        connection.execute(insert(attempts).values(message_id=message_id, organization_id=organization_id, number=1,
                                                   started_at=now, run_id=run_id))
    return Claimed(message_id, 1, phone, body, now)


class _TestDispatcher(Dispatcher):
    def _campaign_rules(self, campaign: _Campaign) -> int | None:
        return None  # a test message bypasses the campaign's state and the suppressions

    def _reclaim(self, campaign: _Campaign, claimed: Claimed) -> Claimed | None:
        """Absent after an uncertain attempt: the next attempt, unless the kill switch is on."""
        now = utc_now()
        with writing(self.engine) as connection, connection.begin():
            if ledger.why_stopped(connection, None):
                self._halt(campaign, "kill_switch")
                return None
            moved = connection.execute(
                update(messages).where(messages.c.id == claimed.id, messages.c.status == "pending",
                                       messages.c.attempts == claimed.attempt)
                .values(status="submitting", attempts=claimed.attempt + 1, handed_over_at=now, updated_at=now)
            ).rowcount
            if moved != 1:
                return None
            connection.execute(insert(attempts).values(message_id=claimed.id, organization_id=campaign.organization.id,
                                                       number=claimed.attempt + 1, started_at=now, run_id=self.run_id))
        return Claimed(claimed.id, claimed.attempt + 1, claimed.phone, claimed.body, now)


def _not_sent(engine: Engine, message_id: int) -> None:
    """A test message back at `pending` was not sent and never will be: `skipped`."""
    with writing(engine) as connection, connection.begin():
        connection.execute(update(messages).where(messages.c.id == message_id, messages.c.status == "pending")
                           .values(status="skipped", reason="not_sent", updated_at=utc_now()))
