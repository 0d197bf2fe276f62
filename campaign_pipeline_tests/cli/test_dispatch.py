"""`campaign-cli dispatch` and `campaign test` as users run them: real processes on a real
database (SQLite and PostgreSQL), the proof provider, one rule at a time."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from campaign_pipeline.sending.db.models import attempts, messages, suppressions
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.providers.twilio_simulator import Rules, TwilioSimulator
from campaign_pipeline_tests.cli.helpers import logs, output, run, usage_error
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row, engine, write_dataset  # noqa: F401
from campaign_pipeline_tests.sending.providers.helpers import ACCOUNT, SENDER, TOKEN

PHONES = ("+358401111111", "+358402222222", "+358403333333")
HELSINKI = ZoneInfo("Europe/Helsinki")
WHOLE_DAY = {"window_start": "00:00", "window_end": "24:00"}


@pytest.fixture
def cli(campaign_db_url, engine, tmp_path):  # noqa: F811 (the fixture)
    set_organization(engine, "org-1", WHOLE_DAY)
    return lambda *args: run(campaign_db_url, *args, cwd=tmp_path)


def scheduled(cli, write_dataset, rows=None, body="Hei {first_name}", *extra, org="org-1", at=()):  # noqa: F811
    rows = rows or [dataset_row(phone, org, first_name=f"N{i}", subject_id=f"s{i}") for i, phone in enumerate(PHONES)]
    path = write_dataset(rows, "json", name=f"dataset-{len(rows)}-{abs(hash(body))}.json")
    created = output(cli("campaign", "create", "--org", org, "--name", "Spring", "--body", body,
                         "--dataset", path, *extra))
    output(cli("campaign", "schedule", created["id"], "--org", org, *at))
    return created["id"]


def statuses(engine, campaign_id):  # noqa: F811
    with engine.connect() as connection:
        rows = connection.execute(select(messages.c.phone, messages.c.status, messages.c.reason,
                                         messages.c.not_before, messages.c.attempts)
                                  .where(messages.c.campaign_id == campaign_id, messages.c.kind == "campaign")
                                  .order_by(messages.c.phone)).all()
    return {row.phone: row for row in rows}


def dispatched(result):
    document = output(result)
    assert set(document) == {"run_id", "campaigns"}
    return {c["id"]: c for c in document["campaigns"]}


def test_proof_dispatch_sends_everything_once_and_writes_its_reports(cli, write_dataset, engine, tmp_path):  # noqa: F811
    campaign_id = scheduled(cli, write_dataset)
    result = cli("dispatch", "--org", "org-1")
    document = json.loads(result.stdout)
    assert dispatched(result)[campaign_id] == {"id": campaign_id, "status": "sent", "handed_over": 3, "deferred": 0,
                                               "skipped": 0, "failed": 0, "pending": 0}
    assert {row.status for row in statuses(engine, campaign_id).values()} == {"delivered"}
    events = [entry["event"] for entry in logs(result.stderr)]
    assert "campaign_started" in events and "campaign_finished" in events
    folder = tmp_path / "output" / "campaigns" / str(campaign_id) / document["run_id"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["run"]["handed_over"] == 3 and summary["status"] == "sent"
    assert "handed over" in (folder / "summary.md").read_text()
    rows = list(csv.DictReader(io.StringIO((folder / "attempts.csv").read_text())))
    assert len(rows) == 3 and all(row["outcome"] == "accepted" and "*" in row["phone"] for row in rows)
    # Nothing is due any more: a second dispatch changes nothing.
    assert dispatched(cli("dispatch", "--org", "org-1")) == {}
    with engine.connect() as connection:
        assert len(connection.execute(select(attempts)).all()) == 3


def test_a_suppression_added_after_scheduling_is_honoured_at_hand_over(cli, write_dataset, engine):  # noqa: F811
    campaign_id = scheduled(cli, write_dataset)
    with engine.begin() as connection:
        connection.execute(insert(suppressions), [
            {"organization_id": "org-1", "phone": PHONES[0], "reason": "dnc", "source": "test",
             "created_at": datetime.now(UTC)},
            {"organization_id": "*", "phone": PHONES[1], "reason": "complaint", "source": "test",
             "created_at": datetime.now(UTC)},
            {"organization_id": "org-2", "phone": PHONES[2], "reason": "dnc", "source": "test",
             "created_at": datetime.now(UTC)}])
    counts = dispatched(cli("dispatch", "--org", "org-1"))[campaign_id]
    assert (counts["handed_over"], counts["skipped"]) == (1, 2)
    found = statuses(engine, campaign_id)
    assert (found[PHONES[0]].status, found[PHONES[0]].reason) == ("skipped", "suppressed")
    assert (found[PHONES[1]].status, found[PHONES[1]].reason) == ("skipped", "suppressed")
    assert found[PHONES[2]].status == "delivered"  # another organization's suppression is not this one's


def _window_after(now: datetime) -> tuple[str, datetime]:
    """A two-hour window starting two hours from now (Helsinki), and when it next opens.
    Two hours: on the night the clocks spring forward, a one-hour window of the
    skipped hour would not exist at all and open only the next day."""
    local = now.astimezone(HELSINKI)
    start = (local.hour + 2) % 24
    window = f"{start:02d}:00-{min(start + 2, 24):02d}:00"
    opens = local.replace(hour=start, minute=0, second=0, microsecond=0)
    if opens <= local:
        opens += timedelta(days=1)
    return window, opens.astimezone(UTC)


def test_outside_the_window_messages_are_deferred_to_the_exact_opening(cli, write_dataset, engine):  # noqa: F811
    window, opens = _window_after(datetime.now(UTC))
    campaign_id = scheduled(cli, write_dataset, None, "Hei {first_name}", "--window", window)
    counts = dispatched(cli("dispatch", "--campaign", campaign_id, "--org", "org-1"))[campaign_id]
    assert counts == {"id": campaign_id, "status": "sending", "handed_over": 0, "deferred": 3, "skipped": 0,
                      "failed": 0, "pending": 0}
    assert {(row.status, row.not_before) for row in statuses(engine, campaign_id).values()} == {("deferred", opens)}
    # Not due yet: the next dispatch leaves them alone.
    assert dispatched(cli("dispatch", "--org", "org-1"))[campaign_id]["deferred"] == 0


def test_a_number_whose_zones_never_share_the_window_is_skipped_no_window(cli, write_dataset, engine):  # noqa: F811
    toll_free = "+18002752273"  # libphonenumber: dozens of zones, Pago Pago to Guam
    rows = [dataset_row(toll_free, first_name="A", subject_id="s1"), dataset_row(PHONES[0], subject_id="s2")]
    set_organization(engine, "org-1", {"window_start": "09:00", "window_end": "10:00"})
    campaign_id = scheduled(cli, write_dataset, rows)
    dispatched(cli("dispatch", "--org", "org-1"))
    found = statuses(engine, campaign_id)
    assert (found[toll_free].status, found[toll_free].reason) == ("skipped", "no_window")
    assert found[PHONES[0]].status in ("delivered", "deferred")


def _zone_at_midday(now: datetime) -> ZoneInfo:
    """A fixed-offset zone where it is about noon now: its midnight is hours away,
    so a test about "today" and "tomorrow" does not depend on when it runs."""
    offset = (12 - now.hour + 12) % 24 - 12
    return ZoneInfo(f"Etc/GMT{-offset:+d}")  # POSIX signs: Etc/GMT-3 is UTC+3


def test_the_daily_quota_defers_the_rest_to_the_next_day(cli, write_dataset, engine):  # noqa: F811
    zone = _zone_at_midday(datetime.now(UTC))
    set_organization(engine, "org-1", {"daily_quota": 2, "timezone": zone.key})
    campaign_id = scheduled(cli, write_dataset)
    counts = dispatched(cli("dispatch", "--org", "org-1"))[campaign_id]
    assert (counts["handed_over"], counts["deferred"]) == (2, 1)
    tomorrow = (datetime.now(zone).date() + timedelta(days=1))
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).astimezone(UTC)
    deferred = [row for row in statuses(engine, campaign_id).values() if row.status == "deferred"]
    assert [row.not_before for row in deferred] == [midnight]
    # The quota is the organization's: a second campaign today hands over nothing.
    other = scheduled(cli, write_dataset, [dataset_row("+358404444444")])
    assert dispatched(cli("dispatch", "--org", "org-1"))[other]["handed_over"] == 0


def test_a_body_over_1600_characters_is_skipped_too_long(cli, write_dataset, engine):  # noqa: F811
    rows = [dataset_row(PHONES[0], first_name="x" * 1601, subject_id="s1"), dataset_row(PHONES[1], subject_id="s2")]
    campaign_id = scheduled(cli, write_dataset, rows)
    counts = dispatched(cli("dispatch", "--org", "org-1"))[campaign_id]
    assert (counts["handed_over"], counts["skipped"], counts["status"]) == (1, 1, "sent")
    assert statuses(engine, campaign_id)[PHONES[0]].reason == "too_long"


def test_kill_switch_pause_and_cancel_stop_hand_overs(cli, write_dataset, engine):  # noqa: F811
    campaign_id = scheduled(cli, write_dataset)
    output(cli("kill-switch", "on"))
    assert dispatched(cli("dispatch", "--org", "org-1"))[campaign_id]["handed_over"] == 0
    assert {row.status for row in statuses(engine, campaign_id).values()} == {"pending"}
    output(cli("kill-switch", "off"))
    output(cli("campaign", "pause", campaign_id, "--org", "org-1"))
    assert dispatched(cli("dispatch", "--org", "org-1")) == {}  # a paused campaign is not due
    assert dispatched(cli("dispatch", "--org", "org-1", "--campaign", campaign_id))[campaign_id]["handed_over"] == 0
    output(cli("campaign", "cancel", campaign_id, "--org", "org-1"))
    assert {row.status for row in statuses(engine, campaign_id).values()} == {"cancelled"}


def test_dry_run_forecasts_and_changes_nothing(cli, write_dataset, engine):  # noqa: F811
    set_organization(engine, "org-1", {"daily_quota": 1})
    campaign_id = scheduled(cli, write_dataset, None, "Hei {first_name} ☺")
    document = output(cli("dispatch", "--dry-run", "--org", "org-1"))
    (forecast,) = document["campaigns"]
    assert forecast["id"] == campaign_id and forecast["status"] == "scheduled"
    assert forecast["recipients"] == 3 and forecast["encoding"] == {"gsm7": 0, "ucs2": 3}
    assert forecast["ucs2_characters"] == {"☺": 3}
    assert forecast["messages"] == {"now": 1, "deferred": {"window": 0, "quota": 2},
                                    "skipped": {"suppressed": 0, "no_window": 0, "too_long": 0}}
    assert forecast["eta"] and forecast["finishes_in_window"] is False
    assert {row.status for row in statuses(engine, campaign_id).values()} == {"pending"}
    preview = output(cli("campaign", "preview", campaign_id, "--org", "org-1", "--json"))
    assert preview["messages"] == forecast["messages"]


def test_test_message_bypasses_the_rules_and_leaves_the_campaign_alone(cli, write_dataset, engine):  # noqa: F811
    path = write_dataset([dataset_row(PHONES[0], first_name="Anna")], "json")
    created = output(cli("campaign", "create", "--org", "org-1", "--name", "T", "--body", "Hei {first_name}",
                         "--dataset", path))
    with engine.begin() as connection:
        connection.execute(insert(suppressions).values(organization_id="*", phone="+358409876543", reason="dnc",
                                                       source="test", created_at=datetime.now(UTC)))
    sent = output(cli("campaign", "test", created["id"], "--org", "org-1", "--to", "040 987 6543"))
    assert sent["status"] == "delivered" and sent["kind"] == "test" and sent["campaign_status"] == "draft"
    with engine.connect() as connection:
        (row,) = connection.execute(select(messages).where(messages.c.kind == "test")).all()
    assert (row.phone, row.body) == ("+358409876543", "Hei Anna")
    shown = output(cli("campaign", "show", created["id"], "--org", "org-1", "--json"))
    assert shown["status"] == "draft" and sum(shown["messages"].values()) == 0
    output(cli("campaign", "schedule", created["id"], "--org", "org-1"))
    assert "it is scheduled" in usage_error(cli("campaign", "test", created["id"], "--org", "org-1", "--to",
                                                "0409876543"))


def test_test_message_is_refused_while_the_kill_switch_is_on(cli, write_dataset, engine):  # noqa: F811
    # The kill switch stops every hand-over; the test message bypasses only audience,
    # suppressions, hours and quota. Refused: exit 1 (not a usage mistake), one line.
    path = write_dataset([dataset_row(PHONES[0], first_name="Anna")], "json")
    created = output(cli("campaign", "create", "--org", "org-1", "--name", "T", "--body", "Hei", "--dataset", path))
    output(cli("kill-switch", "on"))
    refused = cli("campaign", "test", created["id"], "--org", "org-1", "--to", "040 987 6543")
    assert refused.returncode == 1 and refused.stdout == ""
    (entry,) = logs(refused.stderr)
    assert entry["level"] == "error" and entry["event"] == "run_failed" and "kill switch" in entry["message"]
    with engine.connect() as connection:
        assert connection.execute(select(messages.c.id)).all() == []
        assert connection.execute(select(attempts.c.message_id)).all() == []
    output(cli("kill-switch", "off"))
    assert output(cli("campaign", "test", created["id"], "--org", "org-1", "--to", "040 987 6543"))["status"] == (
        "delivered")


def test_usage_errors_change_nothing(cli, write_dataset, engine, campaign_db_url, tmp_path):  # noqa: F811
    campaign_id = scheduled(cli, write_dataset)
    assert "not found" in usage_error(cli("dispatch", "--org", "org-1", "--campaign", "999"))
    assert "not found" in usage_error(cli("dispatch", "--org", "org-2", "--campaign", campaign_id))
    assert "not found" in usage_error(cli("dispatch", "--campaign", "99999999999999999999999"))
    for mps in ("0", "99999999999999999999", "\u0661\u0660"):
        assert "--mps" in usage_error(cli("dispatch", "--mps", mps)), mps
    env_twilio = {"SMS_PROVIDER": "twilio"}
    missing = run_with(campaign_db_url, tmp_path, env_twilio, "dispatch")
    assert "TWILIO_ACCOUNT_SID" in usage_error(missing)
    no_sender = run_with(campaign_db_url, tmp_path, {**env_twilio, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
                                                     "TWILIO_AUTH_TOKEN": "x", "TWILIO_API_BASE": "http://127.0.0.1:9"},
                         "dispatch")
    assert "has no sender" in usage_error(no_sender)
    assert {row.status for row in statuses(engine, campaign_id).values()} == {"pending"}
    assert output(cli("campaign", "show", campaign_id, "--org", "org-1", "--json"))["status"] == "scheduled"


def run_with(url, cwd, extra_env, *args):
    import subprocess

    from campaign_pipeline_tests.cli.helpers import CLI, environment

    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env={**environment(url), **extra_env},
                          cwd=cwd, timeout=120)


@pytest.fixture
def twilio():
    """The Twilio simulator on 127.0.0.1, and the environment that sends through it."""
    with TwilioSimulator(ACCOUNT, TOKEN, rules=Rules(step_seconds=0.01)) as sim:
        yield sim, {"SMS_PROVIDER": "twilio", "TWILIO_API_BASE": sim.url, "TWILIO_ACCOUNT_SID": ACCOUNT,
                    "TWILIO_AUTH_TOKEN": TOKEN}


def test_a_sender_is_needed_only_by_campaigns_with_something_due(cli, write_dataset, engine, campaign_db_url,  # noqa: F811
                                                                 tmp_path, twilio):
    sim, env = twilio

    def live(*args):
        return run_with(campaign_db_url, tmp_path, env, "dispatch", *args)

    # o5 has no sender; its campaign starts in an hour: nothing is due, nothing to refuse.
    set_organization(engine, "o5", WHOLE_DAY)
    at = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="seconds")
    later = scheduled(cli, write_dataset, None, "Later", org="o5", at=("--at", at))
    assert dispatched(live("--campaign", later, "--org", "o5"))[later]["status"] == "scheduled"
    assert {row.status for row in statuses(engine, later).values()} == {"pending"}
    # o4's campaign is sending, every message deferred until its window opens; then its sender goes.
    set_organization(engine, "o4", {"sender": SENDER})
    window, opens = _window_after(datetime.now(UTC))
    waiting = scheduled(cli, write_dataset, None, "Waiting", "--window", window, org="o4")
    assert dispatched(cli("dispatch", "--org", "o4"))[waiting]["deferred"] == 3  # proof: all deferred
    output(cli("org", "set", "o4", "--sender", ""))
    # Another organization's due campaign still goes out, through the provider.
    set_organization(engine, "org-1", {"sender": SENDER})
    due = scheduled(cli, write_dataset, None, "Due now")
    result = dispatched(live())
    assert (result[due]["status"], result[due]["handed_over"]) == ("sent", 3)
    assert (result[waiting]["status"], result[waiting]["handed_over"]) == ("sending", 0)
    assert sim.stats["create"] == 3
    assert {(row.status, row.not_before) for row in statuses(engine, waiting).values()} == {("deferred", opens)}
    # --until-done would wait for o4's messages and send them: without a sender, a usage error at once.
    assert "organization o4 has no sender" in usage_error(live("--org", "o4", "--until-done"))
    # Once a campaign without a sender has something due, the dispatch refuses before anything changes.
    with engine.begin() as connection:
        connection.execute(update(messages).where(messages.c.campaign_id == waiting)
                           .values(not_before=datetime.now(UTC) - timedelta(seconds=1)))
    assert "organization o4 has no sender" in usage_error(live())
    assert {row.status for row in statuses(engine, waiting).values()} == {"deferred"}
    assert sim.stats["create"] == 3


def test_reconciling_what_a_paused_campaign_left_submitting_needs_the_sender(cli, write_dataset, engine,  # noqa: F811
                                                                            campaign_db_url, tmp_path, twilio):
    # Reconciliation looks the message up in the provider's list by sender: without one it
    # would find nothing and put back a message that may have been sent.
    _, env = twilio
    campaign_id = scheduled(cli, write_dataset)
    with engine.begin() as connection:
        connection.execute(update(messages).where(messages.c.campaign_id == campaign_id, messages.c.phone == PHONES[0])
                           .values(status="submitting"))
    output(cli("campaign", "pause", campaign_id, "--org", "org-1"))
    assert "organization org-1 has no sender" in usage_error(run_with(campaign_db_url, tmp_path, env, "dispatch"))
    assert statuses(engine, campaign_id)[PHONES[0]].status == "submitting"


def test_database_unreachable_is_exit_1(tmp_path):
    result = run("postgresql+psycopg2://nobody:secret@127.0.0.1:9/none", "dispatch", cwd=tmp_path)
    assert result.returncode == 1
    (entry,) = logs(result.stderr)
    assert entry["event"] == "run_failed" and "secret" not in result.stderr
    assert not Path(tmp_path / "output").exists()


def test_until_done_sleeps_until_deferred_messages_are_due(cli, write_dataset, engine):  # noqa: F811
    campaign_id = scheduled(cli, write_dataset)

    def defer(seconds):
        with engine.begin() as connection:
            connection.execute(update(messages).where(messages.c.campaign_id == campaign_id,
                                                      messages.c.phone == PHONES[2])
                               .values(status="deferred", not_before=datetime.now(UTC) + timedelta(seconds=seconds)))

    defer(600)
    without = dispatched(cli("dispatch", "--org", "org-1"))[campaign_id]
    assert (without["handed_over"], without["status"]) == (2, "sending")  # the deferred one waits
    defer(6)  # longer than the command takes to start on a busy machine
    result = cli("dispatch", "--org", "org-1", "--until-done")
    assert dispatched(result)[campaign_id] == {"id": campaign_id, "status": "sent", "handed_over": 1, "deferred": 0,
                                               "skipped": 0, "failed": 0, "pending": 0}
    assert any(entry["event"] == "dispatch_sleeping" for entry in logs(result.stderr))
    assert statuses(engine, campaign_id)[PHONES[2]].status == "delivered"


def test_progress_on_a_terminal_draws_a_bar(cli, write_dataset, engine, campaign_db_url, tmp_path):  # noqa: F811
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    from campaign_pipeline_tests.cli.helpers import CLI, environment

    count = 3000
    campaign_id = scheduled(cli, write_dataset, [dataset_row(f"+35840{n:07d}", subject_id=f"s{n}")
                                                 for n in range(count)])
    main, terminal = pty.openpty()  # stderr is a terminal; stdout stays the JSON document
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # as a terminal window has
    process = subprocess.Popen([CLI, "dispatch", "--org", "org-1", "--progress"], stdout=subprocess.PIPE,
                               stderr=terminal, env=environment(campaign_db_url), cwd=tmp_path)
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    assert json.loads(stdout)["campaigns"][0]["handed_over"] == count
    screen = drawn.decode("utf-8", "replace")
    assert f"/{count}" in screen and "%|" in screen and "dispatch" in screen, screen[-2000:]
    assert "\r" in screen  # redrawn in place, not lines
    assert statuses(engine, campaign_id)
