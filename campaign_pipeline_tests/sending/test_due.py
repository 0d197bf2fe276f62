"""sending/due.py: which campaigns have a pass due, and the watermark of their run key."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.db.models import campaigns as campaign_rows
from campaign_pipeline.sending.db.models import messages
from campaign_pipeline.sending.due import due_passes
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
