"""Provider news on the database (sending.md, "Delivery and replies"): statuses only
move forward, whatever order and however often they come; the campaign rollup."""

import itertools
import random
import threading

import pytest
from sqlalchemy import update

from campaign_pipeline.sending import delivery
from campaign_pipeline.sending.db.models import messages
from campaign_pipeline.sending.rules import lifecycle
from campaign_pipeline_tests.sending.delivery_fixtures import (
    add_test_message, campaign_status, handed_over_campaign, message_rows, provider_id,
)

TIMELINE = ["accepted", "queued", "sending", "sent"]


def test_a_status_moves_forward_only_and_keeps_the_error_code(engine):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "accepted"})
    sid = sids["+358401111111"]
    assert delivery.apply_status(engine, sid, "sent") == delivery.MOVED
    assert delivery.apply_status(engine, sid, "queued") == delivery.STALE  # late
    assert delivery.apply_status(engine, sid, "sent") == delivery.STALE  # twice
    assert delivery.apply_status(engine, sid, "undelivered", "30003") == delivery.MOVED
    assert delivery.apply_status(engine, sid, "delivered") == delivery.STALE  # outcomes share the last rank
    assert delivery.apply_status(engine, sid, "failed", "30008") == delivery.STALE
    assert message_rows(engine, campaign_id) == {"+358401111111": ("undelivered", "30003")}


def test_unknown_ids_and_statuses_outside_the_order_change_nothing(engine):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "queued", "+358402222222": "pending",
                                                               "+358403333333": "unknown"})
    assert delivery.apply_status(engine, provider_id(), "delivered") == delivery.UNMATCHED
    for status in ("read", "received", "canceled", "submitting", "pending", ""):
        assert delivery.apply_status(engine, sids["+358401111111"], status) == delivery.IGNORED
    # `unknown` is outside the order: provider news does not move it (lifecycle.moves_forward).
    assert delivery.apply_status(engine, sids["+358403333333"], "delivered") == delivery.STALE
    assert message_rows(engine, campaign_id) == {
        "+358401111111": ("queued", None), "+358402222222": ("pending", None), "+358403333333": ("unknown", None)}


def test_the_sql_rank_is_lifecycle_moves_forward(engine):
    statuses = lifecycle.MESSAGE_STATUSES
    pairs = list(itertools.product(statuses, sorted(delivery.PROVIDER_STATUSES)))
    phones = {f"+3584010{i:05d}": current for i, (current, _) in enumerate(pairs)}
    sids = {phone: provider_id() for phone in phones}  # pending ones too: news for any of them
    campaign_id, _ = handed_over_campaign(engine, "org-1", phones, sids=sids)
    with engine.begin() as connection:  # give every message its provider id, handed over or not
        for phone, sid in sids.items():
            connection.execute(update(messages).where(messages.c.phone == phone,
                                                      messages.c.campaign_id == campaign_id)
                               .values(provider_message_id=sid))
    for phone, (current, new) in zip(phones, pairs):
        outcome = delivery.apply_status(engine, sids[phone], new)
        assert (outcome == delivery.MOVED) == lifecycle.moves_forward(current, new), (current, new)
    final = message_rows(engine, campaign_id)
    for phone, (current, new) in zip(phones, pairs):
        assert final[phone][0] == (new if lifecycle.moves_forward(current, new) else current)


def test_shuffled_duplicated_callbacks_from_threads_end_in_each_final_status(engine):
    outcomes = ["delivered"] * 6 + ["undelivered", "failed"]
    phones = {f"+35840200{i:04d}": "accepted" for i in range(40)}
    campaign_id, sids = handed_over_campaign(engine, "org-1", phones)
    expected, news = {}, []
    rng = random.Random(7)
    for phone in phones:
        final = rng.choice(outcomes)
        code = None if final == "delivered" else "30003"
        expected[phone] = (final, code)
        for status in TIMELINE[1:] + [final]:
            news += [(sids[phone], status, code if status == final else None)] * rng.randint(1, 3)
    rng.shuffle(news)
    chunks = [news[i::8] for i in range(8)]
    errors = []

    def deliver(chunk):
        try:
            for sid, status, code in chunk:
                delivery.apply_status(engine, sid, status, code)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert message_rows(engine, campaign_id) == expected
    assert campaign_status(engine, campaign_id) == "sent"


def test_a_sent_campaign_fails_when_its_last_handed_over_message_fails(engine):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {
        "+358401111111": "sent", "+358402222222": "sent", "+358403333333": "skipped"})
    delivery.apply_status(engine, sids["+358401111111"], "failed", "30005")
    assert campaign_status(engine, campaign_id) == "sent"  # one still on its way
    delivery.apply_status(engine, sids["+358402222222"], "undelivered", "30003")
    assert campaign_status(engine, campaign_id) == "failed"


def test_one_delivered_message_keeps_the_campaign_sent(engine):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "sent", "+358402222222": "sent"})
    delivery.apply_status(engine, sids["+358401111111"], "delivered")
    delivery.apply_status(engine, sids["+358402222222"], "failed", "30005")
    assert campaign_status(engine, campaign_id) == "sent"


def test_a_campaign_still_sending_is_left_to_the_dispatcher(engine):
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "sent", "+358402222222": "pending"},
                                             campaign_status="sending")
    delivery.apply_status(engine, sids["+358401111111"], "failed", "30005")
    assert campaign_status(engine, campaign_id) == "sending"


def test_test_messages_take_no_part_in_the_rollup(engine):
    # Nothing of the campaign's own handed over, every test message failed: it stays sent.
    campaign_id, _ = handed_over_campaign(engine, "org-1", {"+358401111111": "skipped"})
    test_sid = add_test_message(engine, campaign_id, "sent")
    delivery.apply_status(engine, test_sid, "failed", "30005")
    with engine.begin() as connection:
        assert not delivery.roll_up(connection, campaign_id)
    assert campaign_status(engine, campaign_id) == "sent"
    # Its own message failed, a test message delivered: failed all the same.
    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358402222222": "sent"})
    add_test_message(engine, campaign_id, "delivered")
    delivery.apply_status(engine, sids["+358402222222"], "undelivered", "30003")
    assert campaign_status(engine, campaign_id) == "failed"


STATUS_SETS = [
    {"failed": 2}, {"undelivered": 1, "failed": 1, "skipped": 3}, {"failed": 1, "unknown": 1},
    {"failed": 1, "delivered": 1}, {"skipped": 2}, {"failed": 1, "sent": 1}, {"cancelled": 1, "undelivered": 2},
    {"failed": 1, "submitting": 1}, {"undelivered": 1, "queued": 1}, {"skipped": 1, "cancelled": 1, "pending": 1},
]


@pytest.mark.parametrize("counts", STATUS_SETS, ids=lambda counts: "+".join(sorted(counts)))
def test_roll_up_agrees_with_the_rule(engine, counts):
    phones, n = {}, 0
    for status, count in counts.items():
        for _ in range(count):
            n += 1
            phones[f"+3584030{n:05d}"] = status
    campaign_id, _ = handed_over_campaign(engine, "org-1", phones)
    with engine.begin() as connection:
        changed = delivery.roll_up(connection, campaign_id)
    assert campaign_status(engine, campaign_id) == lifecycle.campaign_rollup(counts)
    assert changed == (lifecycle.campaign_rollup(counts) == "failed")


def test_a_batch_of_news_moves_forward_only_and_rolls_up_once_committed(engine):
    from campaign_pipeline.sending.db.models import utc_now
    from campaign_pipeline.sending.delivery import StatusUpdate, apply_statuses

    campaign_id, sids = handed_over_campaign(engine, "org-1", {"+358401111111": "queued", "+358402222222": "sent"})
    failing_id, failing = handed_over_campaign(engine, "org-1", {"+358403333333": "sent"})
    at = utc_now()
    news = [
        StatusUpdate(sids["+358401111111"], "delivered", None, at),
        StatusUpdate(sids["+358401111111"], "sent", None, at),  # late, in the same batch
        StatusUpdate(sids["+358402222222"], "read", None, at),  # outside the order
        StatusUpdate(provider_id(), "delivered", None, at),  # nobody's
        StatusUpdate(failing["+358403333333"], "undelivered", "30003", at),
        StatusUpdate(failing["+358403333333"], "undelivered", "30003", at),  # twice
    ]
    assert apply_statuses(engine, news).moved == 2
    assert message_rows(engine, campaign_id) == {"+358401111111": ("delivered", None),
                                                 "+358402222222": ("sent", None)}
    assert message_rows(engine, failing_id) == {"+358403333333": ("undelivered", "30003")}
    assert campaign_status(engine, failing_id) == "failed" and campaign_status(engine, campaign_id) == "sent"
    assert apply_statuses(engine, []).moved == 0
