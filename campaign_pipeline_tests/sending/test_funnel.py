"""A campaign's delivery funnel read from the database (SQLite and PostgreSQL),
as `campaign show` returns it."""

from sqlalchemy import event

from campaign_pipeline.sending import campaigns, funnel
from campaign_pipeline_tests.sending.delivery_fixtures import FUNNEL, funnel_campaign, handed_over_campaign


def test_the_funnel_counts_the_campaigns_own_messages_replies_and_opt_outs(engine):
    campaign_id = funnel_campaign(engine)
    other, _ = handed_over_campaign(engine, "org-1", {"+358401230000": "delivered"})  # the same phone, later
    with engine.connect() as connection:
        assert funnel.campaign_funnel(connection, campaign_id) == FUNNEL
        assert funnel.campaign_funnel(connection, other)["replies"] == 0  # the replies came before it
    shown = campaigns.show_campaign(engine, "org-1", campaign_id)
    assert shown["funnel"] == FUNNEL
    assert shown["messages"]["failed"] == 3 and shown["messages"]["skipped"] == 2  # the test message is not counted
    assert funnel.delivery_of(engine, campaign_id) == {
        "id": campaign_id, "organization_id": "org-1", "name": "autumn", "status": "sent", "funnel": FUNNEL}
    assert funnel.delivery_of(engine, 10**9) is None


def test_the_funnel_is_two_grouped_queries_not_one_per_message(engine):
    campaign_id = funnel_campaign(engine)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with engine.connect() as connection:
            funnel.campaign_funnel(connection, campaign_id)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2 and "GROUP BY" in selects[0] and "count(" in selects[1]


def test_a_campaign_never_handed_over_has_an_empty_funnel(engine):
    campaign_id, _ = handed_over_campaign(engine, "org-1", {"+358401111111": "skipped", "+358402222222": "pending"},
                                          campaign_status="scheduled")
    shown = campaigns.show_campaign(engine, "org-1", campaign_id)["funnel"]
    assert (shown["messages"], shown["handed_over"], shown["segments"]) == (2, 0, 0)
    assert set(shown["percent"].values()) == {None}
