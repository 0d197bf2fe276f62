"""`campaign-cli replies`: what people wrote back, keywords left out, phones masked."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from campaign_pipeline.sending import replies
from campaign_pipeline.sending.db.models import replies as reply_rows
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline_tests.cli.helpers import output, run, usage_error
from campaign_pipeline_tests.sending.campaign_fixtures import engine  # noqa: F401 (the fixture)
from campaign_pipeline_tests.sending.delivery_fixtures import handed_over_campaign, provider_id

SENDER = "+358451234567"
ANNA, BERT = "+358401234567", "+358407654321"


def reply(engine, phone, body, *, days_ago=0, to=SENDER):
    received = replies.receive(engine, replies.Inbound(provider_id(), phone, to, body))
    if days_ago:
        with engine.begin() as connection:
            connection.execute(update(reply_rows).where(reply_rows.c.body == body).values(
                received_at=datetime.now(UTC) - timedelta(days=days_ago)))
    return received


def test_replies_lists_what_people_wrote_masked_oldest_first(engine, campaign_db_url):  # noqa: F811
    set_organization(engine, "org-1", {"sender": SENDER})
    set_organization(engine, "org-2", {"sender": "+358459999999"})
    campaign_id, _ = handed_over_campaign(engine, "org-1", {ANNA: "delivered"})
    reply(engine, ANNA, "Thanks!\nWhen are\tthe photos ready?", days_ago=2)
    reply(engine, ANNA, "STOP")
    reply(engine, BERT, "Who is this?")
    reply(engine, ANNA, " help ")
    reply(engine, BERT, "Other organization", to="+358459999999")

    listed = output(run(campaign_db_url, "replies", "--org", "org-1", "--json"))["replies"]
    assert [(r["phone"], r["body"], r["campaign_id"]) for r in listed] == [
        ("+35840*****67", "Thanks!\nWhen are\tthe photos ready?", campaign_id), ("+35840*****21", "Who is this?", None)]
    assert listed[0]["received_at"].endswith("Z") and isinstance(listed[0]["message_id"], int)

    text = run(campaign_db_url, "replies", "--org", "org-1", "--unmasked")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert [line.split("\t")[1:] for line in lines] == [
        [ANNA, str(campaign_id), "Thanks! When are the photos ready?"], [BERT, "", "Who is this?"]]

    only = output(run(campaign_db_url, "replies", "--org", "org-1", "--campaign", campaign_id, "--json"))
    assert [r["body"] for r in only["replies"]] == ["Thanks!\nWhen are\tthe photos ready?"]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = output(run(campaign_db_url, "replies", "--org", "org-1", "--since", since, "--json"))
    assert [r["body"] for r in recent["replies"]] == ["Who is this?"]


def test_replies_usage_errors(engine, campaign_db_url):  # noqa: F811
    campaign_id, _ = handed_over_campaign(engine, "org-2", {ANNA: "delivered"})
    assert "not found" in usage_error(run(campaign_db_url, "replies", "--org", "org-1", "--campaign", campaign_id))
    assert "not found" in usage_error(run(campaign_db_url, "replies", "--org", "nobody"))
    assert "--since" in usage_error(run(campaign_db_url, "replies", "--org", "org-1", "--since", "yesterday"))
    assert "--org" in usage_error(run(campaign_db_url, "replies"))
