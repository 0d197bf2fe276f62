"""Reconciliation attributes one provider message to at most one of our messages: two
campaigns of an organization with the same body to the same number, the second's
attempt left uncertain, must not take the first's message as its own."""

import io

from sqlalchemy import select, update

from campaign_pipeline.common.logs import JsonLog
from campaign_pipeline.sending import ledger
from campaign_pipeline.sending.db.models import campaigns, messages, utc_now
from campaign_pipeline.sending.dispatcher import Dispatcher, Settings
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.providers.twilio import TwilioProvider
from campaign_pipeline.sending.providers.twilio_simulator import TwilioSimulator
from campaign_pipeline_tests.sending.campaign_fixtures import engine, write_dataset  # noqa: F401
from campaign_pipeline_tests.sending.providers.helpers import ACCOUNT, SENDER, TO, TOKEN
from campaign_pipeline_tests.sending.test_dispatch_concurrency import scheduled_campaigns


def test_an_uncertain_attempt_is_not_matched_to_another_messages_provider_id(engine, write_dataset):  # noqa: F811
    set_organization(engine, "org-1", {"window_start": "00:00", "window_end": "24:00", "sender": SENDER})
    first, second = scheduled_campaigns(engine, write_dataset, 2, 1, phones=[TO])
    with TwilioSimulator(ACCOUNT, TOKEN) as sim, TwilioProvider.from_env(
            {"TWILIO_API_BASE": sim.url, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN}) as provider:
        dispatcher = Dispatcher(engine, provider, JsonLog(io.StringIO()), Settings())
        # The second campaign's message claimed (as by a process killed before its call) ...
        with engine.begin() as connection:
            connection.execute(update(campaigns).where(campaigns.c.id == second).values(status="sending"))
            (due,) = ledger.due(connection, second, utc_now(), 10)
        assert len(ledger.claim(engine, second, "org-1", [due.id], "killed", utc_now()).claimed) == 1
        # ... then the first campaign sends the same body to the same number.
        for campaign_id in (first, second):
            with engine.connect() as connection:
                row = connection.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
            dispatcher.dispatch(row)
        with engine.connect() as connection:
            recorded = connection.execute(select(messages.c.campaign_id, messages.c.provider_message_id)
                                          .order_by(messages.c.campaign_id)).all()
        sids = [message["sid"] for message in sim.messages()]
    assert len(sids) == 2  # the second was found absent and sent: one message each
    assert sorted(sid for _, sid in recorded) == sorted(sids)


def test_a_pass_for_an_organization_without_a_sender_fails_and_sends_nothing(engine, write_dataset):  # noqa: F811
    # The run's check refuses a due campaign without a sender before anything changes; one
    # that comes due later in an --until-done run (or whose sender was cleared meanwhile)
    # reaches the pass itself, which must not send under some other sender.
    set_organization(engine, "org-1", {"window_start": "00:00", "window_end": "24:00"})
    (campaign_id,) = scheduled_campaigns(engine, write_dataset, 1, 2)
    with TwilioSimulator(ACCOUNT, TOKEN) as sim, TwilioProvider.from_env(
            {"TWILIO_API_BASE": sim.url, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN}) as provider:
        with engine.connect() as connection:
            row = connection.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
        report = Dispatcher(engine, provider, JsonLog(io.StringIO()), Settings()).dispatch(row)
        assert sim.messages() == []
    assert "organization org-1 has no sender" in report.failure
    with engine.connect() as connection:
        assert set(connection.execute(select(messages.c.status).where(messages.c.campaign_id == campaign_id))
                   .scalars()) == {"pending"}
