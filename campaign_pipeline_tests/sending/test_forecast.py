"""`campaign preview`'s forecast over a real database (SQLite and PostgreSQL): what a
dispatch would do, and when the last message would go at the organization's --mps,
quota and windows. The clock is fixed; the window and quota rules have their own
tests (rules/test_eta.py, rules/test_hours.py)."""

from datetime import UTC, datetime

from campaign_pipeline.sending import campaigns
from campaign_pipeline.sending.forecast import preview
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # 12:00 in Helsinki


def campaign_of(engine, write_dataset, recipients: int) -> int:
    rows = [dataset_row(f"+35840{i:07d}", subject_id=f"s{i}") for i in range(recipients)]
    created = campaigns.create_campaign(engine, "org-1", name="Spring", body="Hei {first_name}",
                                        dataset=write_dataset(rows))
    return created["id"]


def test_the_eta_counts_the_quota_of_every_day_not_only_todays(engine, write_dataset):
    set_organization(engine, "org-1", {"window_start": "00:00", "window_end": "24:00", "daily_quota": 2, "mps": 1})
    forecast = preview(engine, "org-1", campaign_of(engine, write_dataset, 5), now=NOW)
    assert forecast["messages"]["now"] == 2 and forecast["messages"]["deferred"] == {"window": 0, "quota": 3}
    assert forecast["eta"] == "2026-12-09T22:00:00Z"  # Helsinki's midnight of the day after tomorrow
    assert forecast["finishes_in_window"] is False


def test_the_eta_carries_what_the_window_cannot_take_today_to_its_next_opening(engine, write_dataset):
    set_organization(engine, "org-1", {"window_start": "09:00", "window_end": "12:02", "mps": 1})
    forecast = preview(engine, "org-1", campaign_of(engine, write_dataset, 200), now=NOW)
    assert forecast["messages"]["now"] == 200  # a dispatch now would start them all
    # 120 go before 12:02; the other 80 from 09:00 tomorrow (07:00 UTC), the last 79 s later
    assert forecast["eta"] == "2026-12-09T07:01:19Z"
    assert forecast["finishes_in_window"] is False


def test_a_campaign_scheduled_for_later_is_forecast_from_its_start(engine, write_dataset):
    set_organization(engine, "org-1", {"window_start": "09:00", "window_end": "20:00", "mps": 1})
    campaign_id = campaign_of(engine, write_dataset, 3)
    campaigns.schedule_campaign(engine, "org-1", campaign_id, at="2026-12-10T08:00:00Z", now=NOW)
    forecast = preview(engine, "org-1", campaign_id, now=NOW)
    assert forecast["messages"]["now"] == 3
    assert forecast["eta"] == "2026-12-10T08:00:02Z"
    assert forecast["finishes_in_window"] is True


def test_a_last_hand_over_at_the_windows_end_does_not_finish_in_it(engine, write_dataset):
    # The whole day in UTC, a quota of 1 already used today: the message goes at midnight,
    # the end of today's window [00:00, 24:00), which is tomorrow's.
    set_organization(engine, "org-1", {"timezone": "UTC", "window_start": "00:00", "window_end": "24:00",
                                       "daily_quota": 1})
    campaign_id = campaign_of(engine, write_dataset, 2)
    forecast = preview(engine, "org-1", campaign_id, now=NOW)
    assert forecast["eta"] == "2026-12-09T00:00:00Z" and forecast["finishes_in_window"] is False
