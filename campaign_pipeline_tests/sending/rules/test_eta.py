"""The forecast's `eta`: the last hand-over at the organization's --mps, quota and windows."""

from datetime import datetime, timedelta, timezone

from campaign_pipeline.sending.rules.eta import DailyQuota, last_hand_over
from campaign_pipeline.sending.rules.windows import parse_window

UTC = timezone.utc
HELSINKI = ("Europe/Helsinki",)
NEW_YORK = ("America/New_York",)
NEVER = ("Europe/Helsinki", "Pacific/Honolulu")  # 12 hours apart: never both inside 09-20
WHOLE_DAY = parse_window("00:00-24:00")
DAY = parse_window("09:00-20:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_inside_the_window_the_last_goes_after_n_minus_one_spacings():
    start = at("2026-12-02T10:00:00Z")
    assert last_hand_over([HELSINKI] * 501, DAY, start, mps=250) == start + timedelta(seconds=2)
    assert last_hand_over([HELSINKI], DAY, start, mps=10) == start
    assert last_hand_over([], DAY, start, mps=10) is None


def test_a_window_that_closes_before_the_audience_is_through_sends_the_rest_at_its_next_opening():
    window = parse_window("02:00-02:43")
    start = at("2026-12-08T02:39:00+02:00")  # 4 minutes left: 240 go today at 1 a second
    eta = last_hand_over([HELSINKI] * 359, window, start, mps=1)
    assert eta == at("2026-12-09T02:00:00+02:00") + timedelta(seconds=118)  # the other 119 tomorrow


def test_every_days_quota_counts_not_only_todays():
    start = at("2026-12-08T12:00:00+02:00")
    quota = DailyQuota(per_day=2, used_today=0, zone="Europe/Helsinki")
    # 2 today, 2 tomorrow from midnight, the fifth the day after
    assert last_hand_over([HELSINKI] * 5, WHOLE_DAY, start, mps=1, quota=quota) == at("2026-12-10T00:00:00+02:00")
    used = DailyQuota(per_day=2, used_today=2, zone="Europe/Helsinki")
    assert last_hand_over([HELSINKI] * 5, WHOLE_DAY, start, mps=1, quota=used) == at("2026-12-11T00:00:00+02:00")


def test_the_quota_day_is_the_organizations_and_the_window_the_recipients():
    start = at("2026-12-08T12:00:00Z")  # 14:00 in Helsinki, 07:00 in New York
    quota = DailyQuota(per_day=1, used_today=0, zone="Europe/Helsinki")
    # The first at New York's 09:00; the second at Helsinki's midnight (22:00 UTC), when
    # the quota's next day begins and it is still 17:00 in New York
    eta = last_hand_over([NEW_YORK, NEW_YORK], DAY, start, mps=1, quota=quota)
    assert eta == at("2026-12-08T22:00:00Z")
    # With a morning window, the second waits from Helsinki's midnight (17:00 in New
    # York) for New York's next 09:00
    eta = last_hand_over([NEW_YORK, NEW_YORK], parse_window("09:00-12:00"), start, mps=1, quota=quota)
    assert eta == at("2026-12-09T09:00:00-05:00")


def test_messages_outside_their_window_let_the_others_go_first():
    start = at("2026-12-08T12:00:00Z")  # Helsinki inside (14:00), New York not yet (07:00)
    eta = last_hand_over([NEW_YORK, HELSINKI, HELSINKI], DAY, start, mps=1)
    assert eta == at("2026-12-08T09:00:00-05:00")
    assert last_hand_over([HELSINKI, HELSINKI, NEW_YORK], DAY, start, mps=1) == eta


def test_a_number_with_no_window_is_left_out_as_a_dispatch_skips_it():
    start = at("2026-12-08T12:00:00Z")
    assert last_hand_over([NEVER], DAY, start, mps=1) is None
    assert last_hand_over([NEVER, HELSINKI, HELSINKI], DAY, start, mps=1) == start + timedelta(seconds=1)
