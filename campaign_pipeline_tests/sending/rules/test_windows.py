from datetime import datetime, timedelta, timezone

import pytest

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending.rules.windows import (
    ScheduleError, TimezoneError, Window, WindowError, check_timezone, parse_at, parse_window, schedule_time,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("09:00-20:00", 540, 1200), ("00:00-24:00", 0, 1440), ("08:30-08:31", 510, 511), (" 09:00-20:00\n", 540, 1200),
])
def test_a_window_is_minutes_of_the_day(text, start, end):
    window = parse_window(text)
    assert (window.start, window.end) == (start, end)
    assert str(window) == text.strip()


@pytest.mark.parametrize(("text", "problem"), [
    ("25:00-07:00", "hour 25"),
    ("10:00-09:00", "start 10:00 is not before end 09:00"),
    ("09:00-09:00", "start 09:00 is not before end 09:00"),
    ("9-17", "HH:MM-HH:MM"),
    ("9:00-17:00", "HH:MM-HH:MM"),
    ("09:60-17:00", "minute 60"),
    ("24:00-24:00", "start 24:00"),
    ("09:00-24:30", "hour 24"),
    ("", "HH:MM-HH:MM"),
    # Exactly HH:MM-HH:MM in ASCII digits: no spaces inside, no other script's digits.
    ("09:00 - 17:00", "HH:MM-HH:MM"),
    ("09 :00-17:00", "HH:MM-HH:MM"),
    ("\uff10\uff19:\uff10\uff10-17:00", "HH:MM-HH:MM"),  # full-width
    ("\u0660\u0669:\u0660\u0660-17:00", "HH:MM-HH:MM"),  # Arabic-Indic
    ("09:00-1\u09ed:00", "HH:MM-HH:MM"),  # a Bengali seven
])
def test_a_bad_window_names_the_problem(text, problem):
    with pytest.raises(WindowError, match=problem) as raised:
        parse_window(text)
    assert repr(text) in str(raised.value)


def test_window_membership_is_half_open():
    window = Window(540, 1200)
    assert window.contains(540) and window.contains(1199)
    assert not window.contains(1200) and not window.contains(539)
    assert Window(0, 1440).contains(0) and Window(0, 1440).contains(1439)


def test_timezones_are_iana_names():
    assert check_timezone("Europe/Helsinki").key == "Europe/Helsinki"
    assert check_timezone("UTC").key == "UTC"
    for name in ["Europe/Helsinky", "", "../etc/passwd", "/usr/share/zoneinfo/UTC", "+02:00", "localtime"]:
        with pytest.raises(TimezoneError, match="IANA"):
            check_timezone(name)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-03T09:00:00+02:00", datetime(2026, 12, 3, 7, 0, tzinfo=timezone.utc)),
    ("2026-12-03T07:00:00Z", datetime(2026, 12, 3, 7, 0, tzinfo=timezone.utc)),
    ("2026-12-03t07:00:00.250z", datetime(2026, 12, 3, 7, 0, 0, 250000, tzinfo=timezone.utc)),
    ("2026-12-03 07:00:00-05:30", datetime(2026, 12, 3, 12, 30, tzinfo=timezone.utc)),
])
def test_at_is_rfc_3339(text, expected):
    assert parse_at(text) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("2026-12-03T09:00:00", "offset"),
    ("2026-12-03", "RFC 3339"),
    ("2026-12-03T09:00+02:00", "RFC 3339"),
    ("20261203T090000Z", "RFC 3339"),
    ("2026-13-03T09:00:00Z", "not a date"),
    ("2026-12-03T09:00:00+25:00", "not a date"),
    ("tomorrow", "RFC 3339"),
    ("\uff12026-12-03T09:00:00Z", "RFC 3339"),  # a full-width digit
    ("2026-12-03T09:00:00+0\u0662:00", "RFC 3339"),  # an Arabic-Indic digit in the offset
    ("2026-12-03T09:00:00.\u0665Z", "RFC 3339"),
])
def test_a_bad_at_names_the_problem(text, problem):
    with pytest.raises(ScheduleError, match=problem):
        parse_at(text)


def test_schedule_time_is_now_or_within_fourteen_days():
    assert schedule_time(None, NOW) == NOW
    assert schedule_time("2026-12-16T12:00:00Z", NOW) == NOW + timedelta(days=14)
    assert schedule_time("2026-12-02T11:59:00Z", NOW) == NOW - timedelta(minutes=1)
    with pytest.raises(ScheduleError, match="more than 14 days ahead"):
        schedule_time("2026-12-16T12:00:01Z", NOW)
    with pytest.raises(ScheduleError, match="in the past"):
        schedule_time("2026-12-02T11:58:59Z", NOW)


def test_window_and_schedule_errors_are_usage_errors():
    assert all(issubclass(error, InputError) and issubclass(error, ValueError)
               for error in (WindowError, TimezoneError, ScheduleError))
