"""delivery.apply_statuses: a batch of provider news in one transaction, as if
applied one by one, all or nothing, and safe from several writers at once."""

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from campaign_pipeline.sending import delivery
from campaign_pipeline.sending.db import driver_statements
from campaign_pipeline.sending.db.models import messages, utc_now
from campaign_pipeline.sending.delivery import StatusUpdate
from campaign_pipeline_tests.sending.delivery_fixtures import (
    campaign_status, handed_over_campaign, message_rows, poison, provider_id,
)


def news(sid, status, code=None):
    return StatusUpdate(sid, status, code, utc_now())


def test_outcomes_are_per_update_as_if_applied_one_by_one(engine):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "accepted",
                                                               "+358402222222": "delivered"})
    first, second, unknown = sids["+358401111111"], sids["+358402222222"], provider_id()
    batch = [news(first, "sent"), news(first, "undelivered", "30003"), news(first, "queued"),
             news(first, "failed", "30005"), news(second, "sent"), news(first, "read"), news(unknown, "delivered")]
    applied = delivery.apply_statuses(engine, batch)
    # The furthest update of a message wins (the first of equal rank); the others are stale.
    assert applied.outcomes == (delivery.STALE, delivery.MOVED, delivery.STALE, delivery.STALE, delivery.STALE,
                                delivery.IGNORED, delivery.UNMATCHED)
    assert applied.moved == 1
    assert message_rows(engine, campaign_id) == {"+358401111111": ("undelivered", "30003"),
                                                 "+358402222222": ("delivered", None)}
    assert delivery.apply_statuses(engine, []).outcomes == ()


def test_the_end_is_the_same_whatever_the_order_and_the_batches(engine):
    rng = random.Random(11)
    phones = [f"+35840500{i:04d}" for i in range(60)]
    everything, expected = [], {}
    for phone in phones:
        final, code = rng.choice([("delivered", None), ("undelivered", "30003"), ("failed", "30007")])
        expected[phone] = (final, code)
        everything.append([(phone, status, code if status == final else None)
                           for status in ("queued", "sending", "sent", final) for _ in range(rng.randint(1, 2))])
    ends = []
    for trial in range(4):
        campaign_id, sids = handed_over_campaign(engine, "org-1", dict.fromkeys(phones, "accepted"))
        updates = [news(sids[phone], status, code) for group in everything for phone, status, code in group]
        rng.shuffle(updates)
        if trial == 0:
            delivery.apply_statuses(engine, updates)  # one batch
        elif trial == 1:
            for update in updates:  # one by one
                delivery.apply_statuses(engine, [update])
        else:  # batches of any size
            while updates:
                size = rng.randint(1, 40)
                delivery.apply_statuses(engine, updates[:size])
                updates = updates[size:]
        ends.append(message_rows(engine, campaign_id))
    assert ends == [expected] * 4


def test_a_batch_that_fails_anywhere_changes_nothing(engine):
    phones = {f"+35840600{i:04d}": "accepted" for i in range(driver_statements.CHUNK_ROWS + 20)}
    last = "SM" + "f" * 32  # sorts after every other id: its chunk runs after others were updated
    campaign_id, sids = handed_over_campaign(engine, "org-1", phones, sids={"+358406000000": last})
    poison(engine, last)
    with pytest.raises(Exception, match="poisoned"):
        delivery.apply_statuses(engine, [news(sid, "failed", "30005") for sid in sids.values()])
    assert set(message_rows(engine, campaign_id).values()) == {("accepted", None)}
    assert campaign_status(engine, campaign_id) == "sent"


def test_the_campaign_rolls_up_after_a_batch_of_failures(engine):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "sent", "+358402222222": "sent"})
    delivery.apply_statuses(engine, [news(sid, "failed", "30005") for sid in sids.values()])
    assert campaign_status(engine, campaign_id) == "failed"


def test_a_repeated_failure_rolls_up_a_campaign_whose_rollup_was_missed(engine):
    """The provider retries a failure answered 500 when its status committed but its
    rollup (a transaction of its own) failed: the retry, stale, still rolls up."""
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "failed", "+358402222222": "sent"})
    delivery.apply_statuses(engine, [news(sids["+358402222222"], "delivered")])
    assert campaign_status(engine, campaign_id) == "sent"
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "failed",
                                                               "+358402222222": "undelivered"})
    assert campaign_status(engine, campaign_id) == "sent"  # as a lost rollup leaves it
    applied = delivery.apply_statuses(engine, [news(sids["+358402222222"], "undelivered", "30003")])
    assert applied.outcomes == (delivery.STALE,)
    assert campaign_status(engine, campaign_id) == "failed"


def test_time_and_error_code_are_those_of_the_winning_update(engine):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "sent"})
    at = utc_now() - timedelta(minutes=5)
    sid = sids["+358401111111"]
    delivery.apply_statuses(engine, [StatusUpdate(sid, "undelivered", "30003", at), news(sid, "sent")])
    delivery.apply_statuses(engine, [news(sid, "queued")])  # stale: keeps the code
    with engine.connect() as connection:
        row = connection.execute(select(messages.c.status_at, messages.c.error_code)
                                 .where(messages.c.provider_message_id == sid)).one()
    assert row.status_at == at and row.error_code == "30003"


def test_writers_racing_over_the_same_messages_in_any_order_neither_deadlock_nor_lose(engine):
    """Each writer's batch holds the same messages in another order; sorted by provider id,
    their locks are taken in one order (PostgreSQL would otherwise detect deadlocks)."""
    phones = {f"+35840700{i:04d}": "accepted" for i in range(200)}
    campaign_id, sids = handed_over_campaign(engine, "org-1", phones)
    statuses = ["queued", "sending", "sent", "delivered"]
    errors, start = [], threading.Barrier(6)

    def write(seed):
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(6):
                batch = [news(sid, rng.choice(statuses)) for sid in sids.values()]
                rng.shuffle(batch)
                delivery.apply_statuses(engine, batch)
            delivery.apply_statuses(engine, [news(sid, "delivered") for sid in sids.values()])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(message_rows(engine, campaign_id).values()) == {("delivered", None)}
