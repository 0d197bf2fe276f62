from datetime import UTC, datetime, timedelta

import pytest

from campaign_pipeline.sending.rules.polling import DEFAULT_SCHEDULE, first_poll, next_poll, parse_schedule

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_the_default_schedule_is_30_seconds_then_every_5_minutes_to_30():
    assert [offset.total_seconds() for offset in DEFAULT_SCHEDULE] == [30, 300, 600, 900, 1200, 1500, 1800]
    assert first_poll(T0) == T0 + timedelta(seconds=30)


def test_each_poll_leads_to_the_next_instant_and_the_schedule_ends():
    instants, when = [], first_poll(T0)
    while when is not None:
        instants.append(when)
        when = next_poll(T0, when)
    assert instants == [T0 + offset for offset in DEFAULT_SCHEDULE]


def test_a_late_poll_skips_the_instants_it_missed():
    assert next_poll(T0, T0 + timedelta(minutes=12)) == T0 + timedelta(minutes=15)
    assert next_poll(T0, T0 + timedelta(minutes=30)) is None
    assert next_poll(T0, T0 - timedelta(minutes=1)) == T0 + timedelta(seconds=30)  # polled by hand early


def test_a_schedule_can_be_configured_and_is_checked():
    schedule = parse_schedule("10, 60,120")
    assert schedule == (timedelta(seconds=10), timedelta(seconds=60), timedelta(seconds=120))
    assert next_poll(T0, T0 + timedelta(seconds=10), schedule) == T0 + timedelta(seconds=60)
    for text in ("", "60,10", "10,10", "0,5", "-1", "ten"):
        with pytest.raises(ValueError):
            parse_schedule(text)
