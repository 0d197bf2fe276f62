import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from campaign_pipeline.sending.rules.hours import (
    inside, next_day_start, next_window_time, quota_not_before, recipient_zones, window_close,
)
from campaign_pipeline.sending.rules.windows import Window, parse_window

UTC = timezone.utc
DAY = parse_window("09:00-20:00")
HELSINKI = ("Europe/Helsinki",)


ZONES_WITH_ODD_CLOCKS = ["Europe/Helsinki", "America/New_York", "America/St_Johns", "Australia/Lord_Howe",
                         "Pacific/Chatham", "America/Santiago", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Guam",
                         "Europe/London"]
CLOCK_CHANGES = ["2026-10-25T01:00:00Z", "2026-11-01T06:00:00Z", "2027-03-14T07:00:00Z", "2027-03-28T01:00:00Z",
                 "2026-09-06T04:00:00Z", "2026-09-26T14:00:00Z", "2026-10-03T15:30:00Z", "2027-04-03T14:00:00Z",
                 "2027-04-03T15:00:00Z"]  # EU, US, Santiago, Chatham, Lord Howe (30 minutes)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_finnish_mobile_is_in_helsinki_and_a_zoneless_number_in_the_organizations_zone():
    assert recipient_zones("+358401234567", "America/New_York") == ("Europe/Helsinki", "Europe/Mariehamn")
    assert recipient_zones("+12125550123", "Europe/Helsinki") == ("America/New_York",)
    # a valid number libphonenumber gives only Etc/Unknown for (international freephone): the organization's zone
    assert recipient_zones("+80012345678", "Europe/Stockholm") == ("Europe/Stockholm",)


def test_a_us_toll_free_number_spans_every_north_american_zone():
    zones = recipient_zones("+18005550199", "Europe/Helsinki")
    assert len(zones) == 42 and "Pacific/Pago_Pago" in zones and "Pacific/Guam" in zones


def test_inside_now_is_now():
    now = at("2026-12-02T12:00:00Z")  # 14:00 in Helsinki
    assert inside(HELSINKI, DAY, now)
    assert next_window_time(HELSINKI, DAY, now) == now


@pytest.mark.parametrize(("now", "expected"), [
    ("2026-12-02T18:30:00Z", "2026-12-03T07:00:00Z"),  # 20:30 local: tomorrow 09:00 (+02:00)
    ("2026-12-02T17:59:59Z", "2026-12-02T17:59:59Z"),  # 19:59:59 local: still inside
    ("2026-12-02T18:00:00Z", "2026-12-03T07:00:00Z"),  # 20:00 is the end, outside
    ("2026-12-02T06:59:30Z", "2026-12-02T07:00:00Z"),  # to the second
    ("2027-03-27T19:00:00Z", "2027-03-28T06:00:00Z"),  # the night clocks go forward: 09:00 is +03:00
    ("2026-10-24T19:00:00Z", "2026-10-25T07:00:00Z"),  # the night clocks go back: 09:00 is +02:00
])
def test_the_next_window_opening(now, expected):
    assert next_window_time(HELSINKI, DAY, at(now)) == at(expected)
    assert not inside(HELSINKI, DAY, at(expected) - timedelta(seconds=1)) or now == expected


def test_a_window_start_in_the_spring_gap_opens_when_the_clocks_jump():
    # 2027-03-28 in Helsinki: 03:00 becomes 04:00 at 01:00Z; 03:30 never happens, 04:00 is inside
    window = parse_window("03:30-05:00")
    assert next_window_time(HELSINKI, window, at("2027-03-27T23:00:00Z")) == at("2027-03-28T01:00:00Z")
    assert ZoneInfo("Europe/Helsinki").utcoffset(datetime(2027, 3, 28, 4, 0)) == timedelta(hours=3)


def test_a_window_in_the_autumn_fold_is_open_twice():
    # 2026-10-25 in Helsinki: 04:00 becomes 03:00 at 01:00Z, so 03:30-04:00 happens twice
    window = parse_window("03:30-04:00")
    assert next_window_time(HELSINKI, window, at("2026-10-25T00:45:00Z")) == at("2026-10-25T00:45:00Z")
    assert next_window_time(HELSINKI, window, at("2026-10-25T01:10:00Z")) == at("2026-10-25T01:30:00Z")
    assert not inside(HELSINKI, window, at("2026-10-25T01:10:00Z"))


def test_every_zone_must_be_inside():
    zones = ("Europe/Helsinki", "America/New_York")  # 09-20 is 07-18Z and 14-01Z in December
    assert next_window_time(zones, DAY, at("2026-12-02T12:00:00Z")) == at("2026-12-02T14:00:00Z")
    assert next_window_time(zones, DAY, at("2026-12-02T18:00:00Z")) == at("2026-12-03T14:00:00Z")
    # on 2027-03-14 New York moves to -04:00 (Helsinki stays +02:00 until 03-28): 13:00Z opens it
    assert next_window_time(zones, DAY, at("2027-03-14T10:00:00Z")) == at("2027-03-14T13:00:00Z")


def test_a_us_toll_free_number_has_a_short_window_in_winter_and_none_in_summer():
    zones = recipient_zones("+18005550199", "Europe/Helsinki")
    # December: Guam (+10) is the day after Pago Pago (-11); wall clocks spread from Guam to St John's
    # (-03:30) over 10.5 hours, so 09-20 holds all of them from 09:00 to 09:30 in Guam (23:00-23:30Z)
    december = at("2026-12-02T12:00:00Z")
    assert next_window_time(zones, DAY, december) == at("2026-12-02T23:00:00Z")
    assert next_window_time(zones, DAY, at("2026-12-02T23:29:59Z")) == at("2026-12-02T23:29:59Z")
    assert next_window_time(zones, DAY, at("2026-12-02T23:30:00Z")) == at("2026-12-03T23:00:00Z")
    assert next_window_time(zones, parse_window("09:00-19:31"), december) == at("2026-12-02T23:00:00Z")
    assert next_window_time(zones, parse_window("09:00-19:30"), december) is None
    # July: daylight saving time widens the spread to 11.5 hours: never a moment for 09-20
    assert next_window_time(zones, DAY, at("2026-07-02T12:00:00Z")) is None
    assert next_window_time(zones, Window(0, 1440), december) == december


def _brute_force(zones, window, now, within):
    """Every whole minute, with an inside test written out again: the reference."""
    def all_inside(instant):
        locals_ = [instant.astimezone(ZoneInfo(zone)) for zone in zones]
        return all(window.start <= t.hour * 60 + t.minute + t.second / 60 < window.end for t in locals_)
    if all_inside(now):
        return now
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute <= now + within:
        if all_inside(minute):
            return minute
        minute += timedelta(minutes=1)
    return None


def test_next_window_time_agrees_with_a_minute_by_minute_search_across_clock_changes():
    rng = random.Random(7)
    for _ in range(60):
        zones = tuple(rng.sample(ZONES_WITH_ODD_CLOCKS, rng.choice([1, 1, 2, 3])))
        start = rng.randrange(0, 1439)
        window = Window(start, rng.randint(start + 1, min(1440, start + rng.choice([30, 180, 900]))))
        now = at(rng.choice(CLOCK_CHANGES)) + timedelta(minutes=rng.randint(-1500, 1500), seconds=rng.choice([0, 17]))
        within = timedelta(hours=36)
        assert next_window_time(zones, window, now, within=within) == _brute_force(zones, window, now, within), (
            zones, window, now)


def _brute_force_close(zones, window, opened, within):
    """Every whole minute after the opening: the first one outside, the reference."""
    minute = opened.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute <= opened + within:
        if not all(window.start <= t.hour * 60 + t.minute < window.end
                   for t in (minute.astimezone(ZoneInfo(zone)) for zone in zones)):
            return minute
        minute += timedelta(minutes=1)
    return None


def test_the_window_closes_at_the_first_local_end_of_any_zone():
    noon = at("2026-12-02T10:00:00Z")  # 12:00 in Helsinki, 05:00 in New York
    assert window_close(HELSINKI, DAY, noon) == at("2026-12-02T18:00:00Z")  # 20:00 in Helsinki
    both = ("Europe/Helsinki", "America/New_York")
    opened = next_window_time(both, DAY, noon)
    assert opened == at("2026-12-02T14:00:00Z")  # 09:00 in New York, 16:00 in Helsinki
    assert window_close(both, DAY, opened) == at("2026-12-02T18:00:00Z")
    assert window_close(HELSINKI, parse_window("00:00-24:00"), noon) is None  # the whole day never closes
    assert window_close(HELSINKI, parse_window("08:00-24:00"), noon) == at("2026-12-02T22:00:00Z")  # midnight


def test_window_close_agrees_with_a_minute_by_minute_search_across_clock_changes():
    rng = random.Random(11)
    checked = 0
    while checked < 60:
        zones = tuple(rng.sample(ZONES_WITH_ODD_CLOCKS, rng.choice([1, 1, 2, 3])))
        start = rng.randrange(0, 1439)
        window = Window(start, rng.randint(start + 1, min(1440, start + rng.choice([30, 180, 900]))))
        now = at(rng.choice(CLOCK_CHANGES)) + timedelta(minutes=rng.randint(-1500, 1500))
        opened = next_window_time(zones, window, now, within=timedelta(hours=36))
        if opened is None or opened.second or opened.microsecond:
            continue  # the reference walks whole minutes
        within = timedelta(hours=36)
        assert window_close(zones, window, opened, within=within) == _brute_force_close(zones, window, opened,
                                                                                        within), (zones, window, opened)
        checked += 1


def test_nothing_within_seven_days_is_no_window():
    evening = at("2026-12-02T19:00:00Z")  # 21:00 in Helsinki
    assert next_window_time(HELSINKI, DAY, evening, within=timedelta(hours=2)) is None
    assert next_window_time(HELSINKI, DAY, evening, within=timedelta(hours=12)) == at("2026-12-03T07:00:00Z")
    assert next_window_time(HELSINKI, parse_window("09:00-09:01"), evening) == at("2026-12-03T07:00:00Z")


@pytest.mark.parametrize(("zone", "now", "expected"), [
    ("Europe/Helsinki", "2026-12-02T12:00:00Z", "2026-12-02T22:00:00Z"),
    ("Europe/Helsinki", "2026-12-02T22:30:00Z", "2026-12-03T22:00:00Z"),  # already the 3rd there
    ("Europe/Helsinki", "2027-03-27T12:00:00Z", "2027-03-27T22:00:00Z"),
    ("Europe/Helsinki", "2027-03-28T12:00:00Z", "2027-03-28T21:00:00Z"),  # summer time since the morning
    # Santiago skips from 24:00 to 01:00 on 2026-09-06: that day begins at 04:00Z, local 01:00
    ("America/Santiago", "2026-09-05T15:00:00Z", "2026-09-06T04:00:00Z"),
])
def test_the_organizations_next_day_starts_at_its_first_local_instant(zone, now, expected):
    assert next_day_start(zone, at(now)) == at(expected)


def test_over_quota_waits_for_the_window_from_the_organizations_next_day():
    now = at("2026-12-02T12:00:00Z")  # the organization's next day starts at 22:00Z (Helsinki midnight)
    assert quota_not_before(HELSINKI, DAY, "Europe/Helsinki", now) == at("2026-12-03T07:00:00Z")
    assert quota_not_before(("America/New_York",), DAY, "Europe/Helsinki", now) == at("2026-12-02T22:00:00Z")
    # 12 hours apart: an 11-hour window never holds both
    assert quota_not_before(("Europe/Helsinki", "Pacific/Honolulu"), DAY, "Europe/Helsinki", now) is None


def test_possible_zones_always_hold_the_zones_libphonenumber_gives():
    # Every region's example numbers of three types, and neighbours of them (invalid ones too).
    import phonenumbers

    from campaign_pipeline.sending.rules.hours import possible_zones

    rng = random.Random(3)
    checked = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                     phonenumbers.PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            phone = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for candidate in (phone, phone[:-2] + f"{rng.randrange(100):02d}", phone[:-3]):
                for organization_zone in ("Europe/Helsinki", "America/New_York"):
                    try:
                        zones = recipient_zones(candidate, organization_zone)
                    except phonenumbers.NumberParseException:
                        continue  # too short to be a number at all
                    assert zones in possible_zones(candidate, organization_zone), candidate
                    checked += 1
    assert checked > 1000


def test_a_number_is_parsed_only_when_its_possible_zones_disagree(monkeypatch):
    from campaign_pipeline.sending.rules import handover, hours
    from campaign_pipeline.sending.rules.handover import Rules

    parsed = []
    monkeypatch.setattr(handover, "recipient_zones",
                        lambda phone, zone: parsed.append(phone) or hours.recipient_zones(phone, zone))
    rules = Rules(DAY, "Europe/Helsinki", at("2026-12-02T12:00:00Z"))
    assert rules.decide("+358401234567", "x", False).action == "go"  # Helsinki, Mariehamn or Helsinki: all open
    assert parsed == []
    night = Rules(DAY, "Europe/Helsinki", at("2026-12-02T04:00:00Z"))  # 06:00 in Helsinki, 23:00 in New York
    assert night.decide("+12125550123", "x", False).not_before == at("2026-12-02T14:00:00Z")
    assert parsed == ["+12125550123"]
