"""`messages export` over a real database (SQLite and PostgreSQL): the contract's
columns, kind then phone order, RFC 3339 UTC times, test messages included."""

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, update

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.db.models import messages
from campaign_pipeline.sending.messages_export import COLUMNS, export_messages
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row


def test_export_sorts_by_kind_then_phone_and_writes_times_in_utc(engine, write_dataset):
    path = write_dataset([dataset_row("+358409999999", first_name="Zoë", subject_id="s9"),
                          dataset_row("+358401111111", first_name='A, "quoted"\nline', subject_id="s1")])
    campaign_id = campaigns.create_campaign(engine, "org-1", name="n", body="Hei {first_name}", dataset=path)["id"]
    noon = datetime(2026, 12, 2, 12, 0, 5, 123456, tzinfo=UTC)
    with engine.begin() as connection:  # a test message (issue 10 sends them), before the audience exists
        connection.execute(insert(messages).values(
            campaign_id=campaign_id, organization_id="org-1", kind="test", phone="+358400000000", body="test",
            encoding="gsm7", segments=1, status="delivered", attempts=1, provider_message_id="proof-1",
            handed_over_at=noon, created_at=noon, updated_at=noon))
    campaigns.schedule_campaign(engine, "org-1", campaign_id)
    with engine.begin() as connection:
        connection.execute(update(messages).where(messages.c.phone == "+358409999999").values(
            status="deferred", not_before=noon))
    data, count = export_messages(engine, "org-1", campaign_id)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert count == 3 and list(rows[0]) == list(COLUMNS)
    assert [(r["kind"], r["phone"]) for r in rows] == [
        ("campaign", "+358401111111"), ("campaign", "+358409999999"), ("test", "+358400000000")]
    assert rows[0]["body"] == 'Hei A, "quoted"\nline' and rows[1]["body"] == "Hei Zoë"
    assert (rows[1]["status"], rows[1]["not_before"], rows[1]["handed_over_at"]) == (
        "deferred", "2026-12-02T12:00:05Z", "")
    assert (rows[2]["handed_over_at"], rows[2]["updated_at"], rows[2]["provider_message_id"]) == (
        "2026-12-02T12:00:05Z", "2026-12-02T12:00:05Z", "proof-1")
    assert campaigns.show_campaign(engine, "org-1", campaign_id)["messages"]["delivered"] == 0  # tests not counted


def test_export_of_a_draft_is_the_header_and_another_organization_gets_not_found(engine, write_dataset):
    campaign_id = campaigns.create_campaign(engine, "org-1", name="n", body="x",
                                            dataset=write_dataset([dataset_row()]))["id"]
    assert export_messages(engine, "org-1", campaign_id) == ((",".join(COLUMNS) + "\n").encode(), 0)
    with pytest.raises(InputError, match=f"campaign {campaign_id} not found"):
        export_messages(engine, "org-2", campaign_id)
