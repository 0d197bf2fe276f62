"""Campaign use cases over a real database, SQLite and PostgreSQL both."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import insert, select, update

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.db.models import campaigns as campaigns_table
from campaign_pipeline.sending.db.models import dataset_days, dataset_rows, messages
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.rules.lifecycle import MESSAGE_STATUSES, IllegalTransition
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row

BODY = "Hei {first_name}! Kuvat: https://x.fi/{access_key}"


@pytest.fixture
def dataset(write_dataset):
    return write_dataset([
        dataset_row("+358401111111", first_name=" Anna ", access_key="K1", subject_id="s1"),
        dataset_row("+358402222222", first_name="Émile", access_key="K2", subject_id="s2"),
        dataset_row("+358403333333", first_name="Юрий", access_key="K3", subject_id="s3"),
        dataset_row("+358401111111", first_name="Repeat", access_key="K4", subject_id="s4"),
        dataset_row("+358404444444", organization_id="org-2", subject_id="s5"),
        dataset_row("+358405555555", segment="non_buyer", subject_id="s6"),
    ])


def create(engine, dataset, org="org-1", **extra):
    values = {"name": "Spring", "body": BODY, "dataset": dataset} | extra
    return campaigns.create_campaign(engine, org, **values)["id"]


def campaign_messages(engine, campaign_id) -> pl.DataFrame:
    with engine.connect() as connection:
        rows = connection.execute(
            select(messages.c.phone, messages.c.subject_id, messages.c.body, messages.c.encoding,
                   messages.c.segments, messages.c.status, messages.c.kind, messages.c.organization_id)
            .where(messages.c.campaign_id == campaign_id).order_by(messages.c.phone)).all()
    return pl.DataFrame([tuple(r) for r in rows], orient="row",
                        schema=["phone", "subject_id", "body", "encoding", "segments", "status", "kind", "org"])


def status_of(engine, campaign_id) -> str:
    with engine.connect() as connection:
        return connection.execute(select(campaigns_table.c.status).where(campaigns_table.c.id == campaign_id)).scalar()


def test_create_makes_a_draft_and_show_prints_every_field(engine, dataset):
    created = campaigns.create_campaign(engine, "org-1", name="Spring", body=BODY, dataset=dataset,
                                        segment="buyer", window="10:00-18:00")
    assert created == {"id": created["id"], "status": "draft"}
    shown = campaigns.show_campaign(engine, "org-1", created["id"])
    assert {key: shown[key] for key in ("organization_id", "name", "status", "segment", "day", "window",
                                         "scheduled_at")} == {
        "organization_id": "org-1", "name": "Spring", "status": "draft", "segment": "buyer", "day": None,
        "window": "10:00-18:00", "scheduled_at": None}
    assert shown["dataset"] == str(dataset.resolve())
    assert shown["created_at"].endswith("Z") and shown["updated_at"].endswith("Z")
    assert shown["messages"] == dict.fromkeys(MESSAGE_STATUSES, 0)


@pytest.mark.parametrize("text", ['It\'s "quoted"; DROP TABLE campaigns; -- 😀 {{x}}', "ä" * 10_000])
def test_names_and_bodies_are_stored_verbatim(engine, dataset, text):
    campaign_id = create(engine, dataset, name=text, body=text)
    shown = campaigns.show_campaign(engine, "org-1", campaign_id)
    assert shown["name"] == text and shown["body"] == text
    assert [c["name"] for c in campaigns.list_campaigns(engine, "org-1")] == [text]


def test_bad_input_at_create_changes_nothing(engine, dataset, tmp_path):
    cases = [
        (dict(org="org-9"), "organization org-9 not found"),
        (dict(body="Hei {nickname}"), "nickname"),
        (dict(body="   "), "empty"),
        (dict(body="Hei {first_name"), "brace"),
        (dict(dataset=tmp_path / "nope.csv"), "does not exist"),
        (dict(window="25:00-07:00"), "25:00"),
        (dict(name=""), "name"),
        (dict(segment="everyone"), "segment"),
    ]
    for extra, words in cases:
        with pytest.raises(InputError, match=words):
            create(engine, **({"dataset": dataset} | extra))
    assert campaigns.list_campaigns(engine, "org-1") == []


def test_a_day_never_loaded_or_failed_is_a_usage_error_naming_why(engine):
    with pytest.raises(InputError) as error:
        campaigns.create_campaign(engine, "org-1", name="n", body="b", day="2026-12-01")
    assert str(error.value) == (
        "dataset of 2026-12-01 (buyer) was never loaded: build it in Dagster, or its checks failed")
    with engine.begin() as connection:
        connection.execute(insert(dataset_days).values(
            day=date(2026, 12, 1), segment="buyer", status="checks_failed", failed_checks="one_row_per_phone",
            row_count=0, loaded_at=datetime.now(UTC)))
    with pytest.raises(InputError, match="2026-12-01 \\(buyer\\) failed its checks: one_row_per_phone"):
        campaigns.create_campaign(engine, "org-1", name="n", body="b", day="2026-12-01")
    with pytest.raises(InputError, match="not a day"):
        campaigns.create_campaign(engine, "org-1", name="n", body="b", day="1.12.2026")


def test_a_loaded_day_is_the_audience_in_dataset_order(engine):
    with engine.begin() as connection:
        connection.execute(insert(dataset_days).values(
            day=date(2026, 12, 1), segment="buyer", status="loaded", row_count=3, loaded_at=datetime.now(UTC)))
        for position, (phone, org, name) in enumerate(
            [("+358409999999", "org-1", "Zed"), ("+358401111111", "org-1", "Ann"), ("+358402222222", "org-2", "X")]
        ):
            row = dataset_row(phone, organization_id=org, first_name=name, subject_count=2)
            connection.execute(insert(dataset_rows).values(day=date(2026, 12, 1), position=position, **row))
    campaign_id = campaigns.create_campaign(engine, "org-1", name="n", body="{first_name} {subject_count}",
                                            day="2026-12-01")["id"]
    assert campaigns.show_campaign(engine, "org-1", campaign_id)["day"] == "2026-12-01"
    campaigns.schedule_campaign(engine, "org-1", campaign_id)
    frozen = campaign_messages(engine, campaign_id)
    assert dict(zip(frozen["phone"], frozen["body"])) == {"+358401111111": "Ann 2", "+358409999999": "Zed 2"}


def test_schedule_freezes_one_message_per_phone_with_rendered_body_encoding_and_segments(engine, dataset):
    campaign_id = create(engine, dataset)
    result = campaigns.schedule_campaign(engine, "org-1", campaign_id)
    assert result["status"] == "scheduled" and result["messages"] == 3
    frozen = campaign_messages(engine, campaign_id)
    assert frozen.rows() == [
        ("+358401111111", "s1", "Hei Anna! Kuvat: https://x.fi/K1", "gsm7", 1, "pending", "campaign", "org-1"),
        ("+358402222222", "s2", "Hei Émile! Kuvat: https://x.fi/K2", "gsm7", 1, "pending", "campaign", "org-1"),
        ("+358403333333", "s3", "Hei Юрий! Kuvat: https://x.fi/K3", "ucs2", 1, "pending", "campaign", "org-1"),
    ]
    shown = campaigns.show_campaign(engine, "org-1", campaign_id)
    assert shown["status"] == "scheduled" and shown["messages"]["pending"] == 3
    assert sum(shown["messages"].values()) == 3


def test_schedule_at_a_time_and_the_limits_of_at(engine, dataset):
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    campaign_id = create(engine, dataset)
    for at, words in (("2026-12-02T11:58:00Z", "past"), ("2026-12-16T12:01:00Z", "14 days"),
                      ("2026-12-03T09:00:00", "offset")):
        with pytest.raises(InputError, match=words):
            campaigns.schedule_campaign(engine, "org-1", campaign_id, at=at, now=now)
    assert status_of(engine, campaign_id) == "draft" and campaign_messages(engine, campaign_id).height == 0
    result = campaigns.schedule_campaign(engine, "org-1", campaign_id, at="2026-12-03T09:00:00+02:00", now=now)
    assert result["scheduled_at"] == "2026-12-03T07:00:00Z"
    assert campaigns.show_campaign(engine, "org-1", campaign_id)["scheduled_at"] == "2026-12-03T07:00:00Z"
    with engine.connect() as connection:
        stamps = connection.execute(select(messages.c.created_at, messages.c.updated_at, messages.c.attempts)
                                    .where(messages.c.campaign_id == campaign_id)).all()
    assert set(stamps) == {(now, now, 0)} and len(stamps) == 3


def test_a_dataset_that_cannot_be_read_at_schedule_leaves_a_draft(engine, dataset):
    campaign_id = create(engine, dataset)
    dataset.write_text("phone\n+358401111111\n")
    with pytest.raises(InputError, match="missing columns"):
        campaigns.schedule_campaign(engine, "org-1", campaign_id)
    dataset.unlink()
    with pytest.raises(InputError, match="does not exist"):
        campaigns.schedule_campaign(engine, "org-1", campaign_id)
    assert status_of(engine, campaign_id) == "draft" and campaign_messages(engine, campaign_id).height == 0


def test_an_empty_audience_schedules_with_no_message(engine, write_dataset):
    campaign_id = create(engine, write_dataset([dataset_row(organization_id="org-2")]))
    assert campaigns.schedule_campaign(engine, "org-1", campaign_id)["messages"] == 0
    assert status_of(engine, campaign_id) == "scheduled"


def test_another_organizations_campaign_is_not_found_in_the_same_words(engine, dataset):
    campaign_id = create(engine, dataset)
    for action in ("show_campaign", "delete_campaign", "schedule_campaign", "pause_campaign",
                   "resume_campaign", "cancel_campaign"):
        with pytest.raises(InputError) as foreign:
            getattr(campaigns, action)(engine, "org-2", campaign_id)
        with pytest.raises(InputError) as missing:
            getattr(campaigns, action)(engine, "org-2", campaign_id + 1000)
        assert str(foreign.value) == f"campaign {campaign_id} not found"
        assert str(missing.value) == f"campaign {campaign_id + 1000} not found"
        with pytest.raises(InputError, match="organization org-9 not found"):
            getattr(campaigns, action)(engine, "org-9", campaign_id)
    with pytest.raises(InputError, match="campaign abc not found"):
        campaigns.show_campaign(engine, "org-1", "abc")
    assert status_of(engine, campaign_id) == "draft"


def test_update_and_delete_only_a_draft(engine, dataset):
    campaign_id = create(engine, dataset)
    campaigns.update_campaign(engine, "org-1", campaign_id, name="Renamed", body="Moi {first_name}")
    shown = campaigns.show_campaign(engine, "org-1", campaign_id)
    assert (shown["name"], shown["body"]) == ("Renamed", "Moi {first_name}")
    with pytest.raises(InputError, match="unknown column|nickname"):
        campaigns.update_campaign(engine, "org-1", campaign_id, body="{nickname}")
    with pytest.raises(InputError, match="nothing to update"):
        campaigns.update_campaign(engine, "org-1", campaign_id)
    campaigns.schedule_campaign(engine, "org-1", campaign_id)
    for action in (lambda: campaigns.update_campaign(engine, "org-1", campaign_id, name="x"),
                   lambda: campaigns.delete_campaign(engine, "org-1", campaign_id),
                   lambda: campaigns.schedule_campaign(engine, "org-1", campaign_id)):
        with pytest.raises(IllegalTransition, match=f"campaign {campaign_id}: it is scheduled"):
            action()
    other = create(engine, dataset)
    assert campaigns.delete_campaign(engine, "org-1", other) == {"id": other, "deleted": True}
    with pytest.raises(InputError, match=f"campaign {other} not found"):
        campaigns.show_campaign(engine, "org-1", other)
    assert campaign_messages(engine, campaign_id).height == 3  # the scheduled one keeps its audience


def test_pause_resume_cancel(engine, dataset):
    campaign_id = create(engine, dataset)
    with pytest.raises(IllegalTransition, match="cannot pause campaign .*: it is draft"):
        campaigns.pause_campaign(engine, "org-1", campaign_id)
    with pytest.raises(IllegalTransition, match="it is draft"):
        campaigns.cancel_campaign(engine, "org-1", campaign_id)
    campaigns.schedule_campaign(engine, "org-1", campaign_id)
    assert campaigns.pause_campaign(engine, "org-1", campaign_id)["status"] == "paused"
    with pytest.raises(IllegalTransition, match="it is paused"):
        campaigns.pause_campaign(engine, "org-1", campaign_id)
    assert campaigns.resume_campaign(engine, "org-1", campaign_id)["status"] == "scheduled"
    with pytest.raises(IllegalTransition, match="cannot resume .*: it is scheduled"):
        campaigns.resume_campaign(engine, "org-1", campaign_id)
    # `sending` is dispatch's move; a paused sending campaign resumes sending.
    with engine.begin() as connection:
        connection.execute(update(campaigns_table).values(status="sending"))
        connection.execute(update(messages).where(messages.c.phone == "+358401111111").values(status="delivered"))
    campaigns.pause_campaign(engine, "org-1", campaign_id)
    assert campaigns.resume_campaign(engine, "org-1", campaign_id)["status"] == "sending"
    campaigns.pause_campaign(engine, "org-1", campaign_id)
    assert campaigns.cancel_campaign(engine, "org-1", campaign_id)["messages_cancelled"] == 2
    counts = campaigns.show_campaign(engine, "org-1", campaign_id)["messages"]
    assert (counts["delivered"], counts["cancelled"], counts["pending"]) == (1, 2, 0)
    for action in ("pause_campaign", "resume_campaign", "cancel_campaign", "delete_campaign"):
        with pytest.raises(IllegalTransition, match="it is cancelled"):
            getattr(campaigns, action)(engine, "org-1", campaign_id)


def test_list_by_status_and_the_ids_dagster_partitions_need(engine, dataset):
    first, second, foreign = create(engine, dataset), create(engine, dataset), create(engine, dataset, "org-2")
    campaigns.schedule_campaign(engine, "org-1", second)
    assert [c["id"] for c in campaigns.list_campaigns(engine, "org-1")] == [first, second]
    assert [c["id"] for c in campaigns.list_campaigns(engine, "org-1", status="scheduled")] == [second]
    assert campaigns.list_campaigns(engine, "org-1", status="sent") == []
    assert campaigns.list_campaign_ids(engine, ["draft"]) == [first, foreign]
    assert campaigns.list_campaign_ids(engine, ["scheduled", "sending"]) == [second]
    with pytest.raises(InputError, match="organization org-9 not found"):
        campaigns.list_campaigns(engine, "org-9")


def test_timestamps_move_with_changes(engine, dataset):
    campaign_id = create(engine, dataset)
    before = campaigns.show_campaign(engine, "org-1", campaign_id)
    later = datetime.now(UTC) + timedelta(seconds=1)
    campaigns.schedule_campaign(engine, "org-1", campaign_id, now=later)
    after = campaigns.show_campaign(engine, "org-1", campaign_id)
    assert after["created_at"] == before["created_at"] and after["updated_at"] >= before["updated_at"]


def test_an_organization_id_with_quotes_and_sql_survives_the_bulk_insert(engine, write_dataset):
    org = "o'rg\"; DROP TABLE messages; --"
    set_organization(engine, org, {})
    path = write_dataset([dataset_row("+358401111111", organization_id=org, first_name="O'Brien")])
    campaign_id = campaigns.create_campaign(engine, org, name="n", body="{first_name} '; --", dataset=path)["id"]
    assert campaigns.schedule_campaign(engine, org, campaign_id)["messages"] == 1
    frozen = campaign_messages(engine, campaign_id)
    assert frozen.select("org", "body").rows() == [(org, "O'Brien '; --")]
    assert campaigns.show_campaign(engine, org, campaign_id)["messages"]["pending"] == 1


def test_a_dataset_file_of_non_buyers_makes_a_non_buyer_campaign(engine, write_dataset):
    path = write_dataset([dataset_row("+358401111111", segment="non_buyer")])
    campaign_id = campaigns.create_campaign(engine, "org-1", name="n", body="x", dataset=path)["id"]
    assert campaigns.show_campaign(engine, "org-1", campaign_id)["segment"] == "non_buyer"
    assert campaigns.schedule_campaign(engine, "org-1", campaign_id)["messages"] == 1
    with pytest.raises(InputError, match="holds only non_buyer rows"):
        campaigns.create_campaign(engine, "org-1", name="n", body="x", dataset=path, segment="buyer")
