import io
import json
import time

import pytest

from campaign_pipeline.core.errors import InputError
from campaign_pipeline.core.logs import JsonLog


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_progress_reports_every_interval_even_while_the_work_stalls():
    stream = io.StringIO()
    log = JsonLog(stream, progress_interval=0.02)
    with log.progress("portal_fetch", unit="requests") as progress:
        progress.advance(3, subjects=500)
        time.sleep(0.15)  # nothing advances: the phase still reports
    reported = lines(stream)
    assert len(reported) >= 3 and {entry["event"] for entry in reported} == {"progress"}
    last = reported[-1]
    assert last["phase"] == "portal_fetch" and last["done"] == 3 and last["subjects"] == 500
    assert last["unit"] == "requests" and "total" not in last
    assert last["elapsed"] >= 0.02 and 0 < last["rate"] <= 3 / 0.02
    time.sleep(0.06)
    assert len(lines(stream)) == len(reported)  # stopped with its block


def test_progress_with_a_total_and_no_line_for_a_short_phase():
    stream = io.StringIO()
    log = JsonLog(stream, progress_interval=10)
    with log.progress("access_keys", total=7, unit="keys") as progress:
        progress.advance(7)
    assert stream.getvalue() == ""  # shorter than the interval: nothing to report
    assert progress.fields()["total"] == 7 and progress.fields()["done"] == 7


def test_the_interval_comes_from_the_environment_and_is_checked(monkeypatch):
    monkeypatch.setenv("CAMPAIGN_PROGRESS_INTERVAL", "0.01")
    stream = io.StringIO()
    with JsonLog(stream).progress("export_read", total=10, unit="bytes"):
        time.sleep(0.05)
    assert lines(stream) and lines(stream)[0]["total"] == 10
    monkeypatch.setenv("CAMPAIGN_PROGRESS_INTERVAL", "-1")
    with pytest.raises(InputError, match="CAMPAIGN_PROGRESS_INTERVAL: must be a number greater than 0"):
        with JsonLog(io.StringIO()).progress("export_read"):
            pass


def test_warning_lines_are_scrubbed_like_the_others():
    stream = io.StringIO()
    JsonLog(stream).warning("export_empty", message="call +358401234567")
    [entry] = lines(stream)
    assert entry["level"] == "warning" and "358401234567" not in entry["message"]
