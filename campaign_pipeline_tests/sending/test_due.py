"""sending/due.py: which campaigns have a pass due, and the watermark of their run key."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.db.models import campaigns as campaign_rows
from campaign_pipeline.sending.db.models import messages
from campaign_pipeline.sending.due import RETRY_EVERY, due_passes
from campaign_pipeline.sending.kill_switch import set_kill_switch
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row


def scheduled(engine, write_dataset, name="c") -> int:
    dataset = write_dataset([dataset_row("+358401234567")], name=f"{name}.csv")
    campaign_id = campaigns.create_campaign(engine, "org-1", name=name, body="Hi", dataset=str(dataset))["id"]
    campaigns.schedule_campaign(engine, "org-1", campaign_id)
    return campaign_id


def test_a_waiting_campaign_is_due_again_when_another_finishes(engine, write_dataset):
    waiting = scheduled(engine, write_dataset, "waiting")
    other = scheduled(engine, write_dataset, "other")
    later = datetime.now(UTC) + timedelta(minutes=10)
    [first, _] = due_passes(engine, later)
    assert (first.campaign_id, first.reason) == (waiting, "scheduled")
    assert due_passes(engine, later)[0].run_key == first.run_key
    with engine.begin() as connection:
        connection.execute(update(campaign_rows).where(campaign_rows.c.id == other)
                           .values(status="sent", finished_at=later - timedelta(minutes=1)))
    [again] = due_passes(engine, later)
    assert again.campaign_id == waiting and again.run_key != first.run_key


def test_a_sending_campaign_with_only_future_deferrals_is_not_due(engine, write_dataset):
    campaign_id = scheduled(engine, write_dataset)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(update(campaign_rows).values(status="sending"))
        connection.execute(update(messages).values(status="deferred", not_before=now + timedelta(minutes=5)))
    assert due_passes(engine, now) == []
    [due] = due_passes(engine, now + timedelta(minutes=6))
    assert (due.campaign_id, due.reason) == (campaign_id, "deferred")
    assert due.watermark == now + timedelta(minutes=5)


def test_messages_left_submitting_make_a_pass_due(engine, write_dataset):
    campaign_id = scheduled(engine, write_dataset)
    with engine.begin() as connection:
        connection.execute(update(campaign_rows).values(status="sending"))
        connection.execute(update(messages).values(status="submitting"))
    [due] = due_passes(engine)
    assert (due.campaign_id, due.reason) == (campaign_id, "pending")


def test_a_pass_that_stopped_early_is_tried_again_every_few_minutes_under_a_new_key(engine, write_dataset):
    # A pass stopped by a provider down for the whole run leaves its messages pending: no
    # database fact changes, so without a retry number its key would stay the one used.
    campaign_id = scheduled(engine, write_dataset)
    with engine.begin() as connection:
        connection.execute(update(campaign_rows).values(status="sending"))
    [first] = due_passes(engine)
    now = first.watermark
    assert due_passes(engine, now + RETRY_EVERY / 2)[0].run_key == first.run_key
    [again] = due_passes(engine, now + RETRY_EVERY + timedelta(seconds=1))
    assert again.campaign_id == campaign_id and again.run_key != first.run_key
    assert due_passes(engine, now + RETRY_EVERY * 1.5)[0].run_key == again.run_key  # one per interval
    assert due_passes(engine, now + RETRY_EVERY * 2.5)[0].run_key not in (first.run_key, again.run_key)


def test_nothing_is_due_while_the_kill_switch_is_on(engine, write_dataset):
    scheduled(engine, write_dataset)
    later = datetime.now(UTC) + timedelta(minutes=10)
    set_kill_switch(engine, True)
    assert due_passes(engine, later) == []
    set_kill_switch(engine, False)
    assert len(due_passes(engine, later)) == 1
