"""Polling the provider (sending.md, "Delivery and replies"): the Twilio simulator on
127.0.0.1 answers fetches, with the faults it injects on reads; the campaign
database is SQLite and PostgreSQL."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from campaign_pipeline.sending.db.models import messages, utc_now
from campaign_pipeline.sending.polling import poll, round_query
from campaign_pipeline.sending.providers.base import AccountFailure
from campaign_pipeline.sending.providers.sns import SnsProvider
from campaign_pipeline.sending.providers.twilio import TwilioProvider
from campaign_pipeline.sending.providers.twilio_simulator import Faults, Outcome, Rules, TwilioSimulator
from campaign_pipeline.sending.rules.lifecycle import POLLED_STATUSES
from campaign_pipeline.sending.rules.polling import DEFAULT_SCHEDULE
from campaign_pipeline_tests.sending.delivery_fixtures import campaign_status, handed_over_campaign, message_rows
from campaign_pipeline_tests.sending.providers.helpers import ACCOUNT, SENDER, TOKEN

STEP = 0.05  # seconds between two statuses in the simulator
UNDELIVERED = Rules(outcomes={"0": Outcome("undelivered", 30003)}, step_seconds=STEP)


def twilio(simulator: TwilioSimulator) -> TwilioProvider:
    return TwilioProvider(ACCOUNT, ACCOUNT, TOKEN, api_base=simulator.url)


def sent_campaign(engine, provider, phones, handed_over_ago=timedelta(minutes=1)):
    """Messages really created at the simulator, recorded as the dispatcher leaves them (`queued`)."""
    sids = {phone: provider.send(phone, "Hello", SENDER).provider_id for phone in phones}
    handed_over_at = utc_now() - handed_over_ago
    campaign_id, _ = handed_over_campaign(engine, "org-1", {phone: "queued" for phone in phones}, sids=sids,
                                          handed_over_at=handed_over_at)
    return campaign_id, sids, handed_over_at


def poll_columns(engine, campaign_id):
    with engine.connect() as connection:
        rows = connection.execute(select(messages.c.phone, messages.c.polls, messages.c.last_polled_at,
                                         messages.c.next_poll_at).where(messages.c.campaign_id == campaign_id))
        return {row.phone: row for row in rows}


def test_the_poll_statuses_are_the_models_partial_index_predicate():
    assert str(messages.c.status.in_(sorted(POLLED_STATUSES)).compile(compile_kwargs={"literal_binds": True})) \
        .replace("messages.", "") == "status IN ('accepted', 'queued', 'sending', 'sent')"


def test_poll_records_every_outcome_and_rolls_the_campaign_up(engine):
    phones = [f"+35840123450{i}" for i in range(10)]  # ...4500 ends in 0: undelivered
    with TwilioSimulator(ACCOUNT, TOKEN, rules=UNDELIVERED) as sim, twilio(sim) as provider:
        campaign_id, _, _ = sent_campaign(engine, provider, phones)
        failing_id, _, _ = sent_campaign(engine, provider, ["+358401111110"])
        time.sleep(STEP * 6)  # every message reached its outcome at the simulator
        report = poll(engine, provider, due_only=False, batch=4)
        assert sim.stats["fetch"] == 11
    assert (report.asked, report.moved, report.unavailable) == (11, 11, 0)
    rows = message_rows(engine, campaign_id)
    assert rows.pop("+358401234500") == ("undelivered", "30003")
    assert set(rows.values()) == {("delivered", None)}
    assert campaign_status(engine, campaign_id) == "sent"
    assert campaign_status(engine, failing_id) == "failed"  # its only message was undelivered
    assert all(row.polls == 1 for row in poll_columns(engine, campaign_id).values())
    # Nothing is left to ask about.
    with TwilioSimulator(ACCOUNT, TOKEN) as sim, twilio(sim) as provider:
        assert poll(engine, provider, due_only=False).asked == 0


def test_the_schedule_asks_only_due_messages_and_moves_each_along(engine):
    with TwilioSimulator(ACCOUNT, TOKEN, rules=Rules(step_seconds=3600)) as sim, twilio(sim) as provider:
        campaign_id, _, _ = sent_campaign(engine, provider, ["+358401234501", "+358401234502", "+358401234503",
                                                             "+358401234504"])
        now = utc_now()
        handed = {"+358401234501": now - timedelta(minutes=1), "+358401234502": now - timedelta(minutes=29),
                  "+358401234503": now - timedelta(minutes=31), "+358401234504": now - timedelta(seconds=10)}
        due = {"+358401234501": timedelta(seconds=30), "+358401234502": timedelta(minutes=25),
               "+358401234503": timedelta(minutes=30), "+358401234504": timedelta(seconds=30)}
        with engine.begin() as connection:
            for phone, at in handed.items():
                connection.execute(update(messages).where(messages.c.phone == phone)
                                   .values(handed_over_at=at, next_poll_at=at + due[phone]))
        report = poll(engine, provider, due_only=True)
        assert sim.stats["fetch"] == 3  # the one handed over 10 s ago is not due yet
    assert (report.asked, report.moved) == (3, 0)  # all still queued at the simulator
    rows = poll_columns(engine, campaign_id)
    assert rows["+358401234501"].next_poll_at == handed["+358401234501"] + timedelta(minutes=5)
    assert rows["+358401234502"].next_poll_at == handed["+358401234502"] + timedelta(minutes=30)
    assert rows["+358401234503"].next_poll_at is None  # the schedule is over: no more polls
    assert rows["+358401234504"].next_poll_at == handed["+358401234504"] + timedelta(seconds=30)
    assert [rows[p].polls for p in sorted(rows)] == [1, 1, 1, 0]
    assert rows["+358401234501"].last_polled_at >= now


def test_a_message_handed_over_by_the_dispatcher_is_first_due_30_seconds_later(engine):
    from campaign_pipeline.sending import ledger

    campaign_id, _ = handed_over_campaign(engine, "org-1", {"+358401234501": "pending"}, campaign_status="sending")
    with engine.connect() as connection:
        message_id = connection.execute(select(messages.c.id)).scalar_one()
    [claim] = ledger.claim(engine, campaign_id, "org-1", [message_id], "run-1", utc_now()).claimed
    before = utc_now()
    ledger.finish(engine, [ledger.Answer(claim.id, claim.attempt, "queued", "accepted", "queued", "SM" + "a" * 32)],
                  "org-1")
    next_at = poll_columns(engine, campaign_id)["+358401234501"].next_poll_at
    assert before + DEFAULT_SCHEDULE[0] <= next_at <= utc_now() + DEFAULT_SCHEDULE[0]


def test_a_429_on_reads_waits_the_retry_after_for_every_reader_then_asks_again(engine):
    faults = Faults(read_script=("rate_limit",) * 3, retry_after=1)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults, rules=Rules(step_seconds=0.01)) as sim, \
            twilio(sim) as provider:
        campaign_id, _, _ = sent_campaign(engine, provider, [f"+3584012345{i:02d}" for i in range(12)])
        time.sleep(0.1)
        started = time.monotonic()
        report = poll(engine, provider, due_only=False, concurrency=8)
        elapsed = time.monotonic() - started
        assert sim.stats["read_fault_rate_limit"] == 3 and sim.stats["fetch"] == 12
    assert (report.asked, report.moved, report.throttled, report.unavailable) == (12, 12, 3, 0)
    assert elapsed >= 1.0  # Retry-After: 1 was honoured
    assert set(message_rows(engine, campaign_id).values()) == {("delivered", None)}


def test_a_503_leaves_the_message_due_for_the_next_pass(engine):
    faults = Faults(read_script=("unavailable",))
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults, rules=Rules(step_seconds=0.01)) as sim, \
            twilio(sim) as provider:
        campaign_id, _, handed_over_at = sent_campaign(engine, provider, ["+358401234501", "+358401234502"])
        due_at = handed_over_at + timedelta(seconds=30)
        with engine.begin() as connection:
            connection.execute(update(messages).values(next_poll_at=due_at))
        time.sleep(0.1)
        first = poll(engine, provider, due_only=True, concurrency=1)
        assert (first.asked, first.moved, first.unavailable) == (2, 1, 1)
        left = [row for row in poll_columns(engine, campaign_id).values() if row.polls == 0]
        assert len(left) == 1 and left[0].next_poll_at == due_at
        second = poll(engine, provider, due_only=True)
        assert (second.asked, second.moved) == (1, 1)
    assert set(message_rows(engine, campaign_id).values()) == {("delivered", None)}


def test_a_refused_account_fails_the_pass(engine):
    with TwilioSimulator(ACCOUNT, TOKEN) as sim, twilio(sim) as provider:
        sent_campaign(engine, provider, ["+358401234501"])
        with TwilioProvider(ACCOUNT, ACCOUNT, "wrong-token", api_base=sim.url) as refused:
            with pytest.raises(AccountFailure):
                poll(engine, refused, due_only=False)


def test_the_time_budget_stops_a_pass_between_rounds(engine):
    with TwilioSimulator(ACCOUNT, TOKEN, latency=0.05) as sim, twilio(sim) as provider:
        sent_campaign(engine, provider, [f"+3584012345{i:02d}" for i in range(6)])
        report = poll(engine, provider, due_only=False, batch=2, concurrency=1, budget_seconds=0.15)
    assert report.stopped == "budget" and 2 <= report.asked < 6


def test_a_round_the_provider_could_not_answer_at_all_ends_the_pass(engine):
    # The provider went away after the hand-overs: every read fails. Asking the rest one
    # round after another would cost a timeout per round; one whole round unanswered
    # ends the pass, and every message keeps its place for the next one.
    with TwilioSimulator(ACCOUNT, TOKEN) as sim, twilio(sim) as provider:
        campaign_id, _, _ = sent_campaign(engine, provider, [f"+3584012345{i:02d}" for i in range(6)])
        closed = sim.url  # nothing listens there once the simulator stops
    with TwilioProvider(ACCOUNT, ACCOUNT, TOKEN, api_base=closed) as gone:
        report = poll(engine, gone, due_only=False, batch=2, concurrency=1)
    assert (report.asked, report.unavailable, report.stopped) == (2, 2, "unavailable")
    assert "could not answer about 2 of 2" in report.unavailable_note()
    assert {row.polls for row in poll_columns(engine, campaign_id).values()} == {0}


def test_sns_cannot_be_polled_and_is_left_alone(engine, moto_endpoint):
    campaign_id, _ = handed_over_campaign(engine, "org-1", {"+358401234501": "sent"})
    provider = SnsProvider.from_env({"AWS_ENDPOINT_URL_SNS": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                                     "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1"})
    report = poll(engine, provider, due_only=False)
    assert report.asked == 0 and "aws-sns" in report.note
    assert message_rows(engine, campaign_id)["+358401234501"] == ("sent", None)


def test_the_due_query_is_a_range_of_the_partial_index(engine):
    query = round_query(True, utc_now(), (utc_now(), 5))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table is read whole otherwise
        sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(explain + sql.replace("%", "%%")))
    assert "ix_messages_next_poll_at" in plan, plan
