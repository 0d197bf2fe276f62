"""Exactly once, proved against the Twilio simulator (a real HTTP server) with real
`campaign-cli dispatch` processes: kill -9 at every step of a hand-over, concurrent
dispatchers, every fault kind, a refused account, a provider that is down, the throttle.
On SQLite and PostgreSQL."""

import json
import signal
import subprocess
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaign_pipeline.sending.db.models import attempts, campaigns, messages, suppressions
from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.providers.twilio_simulator import Faults, Rules, TwilioSimulator
from campaign_pipeline_tests.cli.helpers import CLI, environment, logs, output, run
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row, engine, write_dataset  # noqa: F401
from campaign_pipeline_tests.sending.providers.helpers import SENDER, TOKEN

ACCOUNT = "AC" + "ab" * 16  # hex, as Twilio's are (all digits would read as a phone in the logs)

FINAL_OR_PROVIDER = {"accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed", "skipped",
                     "unknown"}


# A killed dispatcher's lease lives on this long; the next process waits it out.
LEASE = "1"


def after_lease() -> None:
    time.sleep(float(LEASE) + 0.2)


def phones(count: int) -> list[str]:
    return [f"+3584010{n:05d}" for n in range(count)]


@pytest.fixture
def simulator():
    with TwilioSimulator(ACCOUNT, TOKEN, rules=Rules(step_seconds=0.05)) as served:
        yield served


@pytest.fixture
def campaign(campaign_db_url, engine, write_dataset, tmp_path):  # noqa: F811 (fixtures)
    """A scheduled campaign of `count` recipients of org-1 (whole-day window, a sender)."""

    def _make(count: int, mps: int = 1000) -> int:
        set_organization(engine, "org-1", {"window_start": "00:00", "window_end": "24:00", "sender": SENDER,
                                           "mps": mps})
        rows = [dataset_row(phone, subject_id=f"s{n}", first_name=f"N{n}") for n, phone in enumerate(phones(count))]
        path = write_dataset(rows, "json")
        created = output(run(campaign_db_url, "campaign", "create", "--org", "org-1", "--name", "C", "--body",
                             "Hei {first_name}", "--dataset", path, cwd=tmp_path))
        output(run(campaign_db_url, "campaign", "schedule", created["id"], "--org", "org-1", cwd=tmp_path))
        return created["id"]

    return _make


def twilio_env(url: str, simulator: TwilioSimulator, token: str = TOKEN, **extra) -> dict:
    return {**environment(url), "SMS_PROVIDER": "twilio", "TWILIO_API_BASE": simulator.url,
            "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": token, "CAMPAIGN_LEASE_SECONDS": LEASE, **extra}


def dispatch(env: dict, cwd, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "dispatch", "--org", "org-1", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def ledger(engine, campaign_id):  # noqa: F811
    with engine.connect() as connection:
        rows = connection.execute(select(messages).where(messages.c.campaign_id == campaign_id,
                                                         messages.c.kind == "campaign")).all()
        tries = connection.execute(select(attempts)).all()
    return rows, tries


def assert_exactly_once(engine, simulator, campaign_id, count):  # noqa: F811
    rows, tries = ledger(engine, campaign_id)
    created = simulator.created_per_to()
    assert sorted(created) == phones(count), "a recipient got nothing"
    assert set(created.values()) == {1}, {to: n for to, n in created.items() if n != 1}
    assert {row.status for row in rows} <= FINAL_OR_PROVIDER, sorted({row.status for row in rows})
    sids = {message["sid"] for message in simulator.messages()}
    assert {row.provider_message_id for row in rows} == sids  # each recorded, none invented
    assert all(t.outcome is not None for t in tries), "an attempt left open"


def wait_for_submitting(engine, campaign_id, count, timeout=30.0):  # noqa: F811
    """Returns once at least `count` messages are between their claim and their answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            rows = connection.execute(select(messages.c.id).where(messages.c.campaign_id == campaign_id,
                                                                  messages.c.status == "submitting")).all()
        if len(rows) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"never {count} messages submitting at once")


def until_done(env, cwd, runs: int = 10) -> list[subprocess.CompletedProcess]:
    """Restarts dispatch (as cron would) until one finishes with nothing left."""
    results = []
    for _ in range(runs):
        result = dispatch(env, cwd)
        results.append(result)
        if any(entry["event"] == "lease_held" for entry in logs(result.stderr)):
            after_lease()
            continue
        if result.returncode == 0 and all(c["pending"] == 0 and c["status"] != "sending"
                                          for c in json.loads(result.stdout)["campaigns"]):
            break
    return results


@pytest.mark.parametrize("point", ["claimed", "answered", "recorded"])
def test_kill_9_at_each_step_of_a_hand_over_then_restart_sends_each_once(
        point, campaign, campaign_db_url, engine, simulator, tmp_path):  # noqa: F811
    campaign_id = campaign(20, mps=5)
    env = twilio_env(campaign_db_url, simulator)
    # A fresh process each time, killed at its 1st, 2nd, 3rd passage (at 5/s a batch claims 10
    # at once and answers are recorded a few at a time, so each kill leaves messages between
    # two commits, and some still to do).
    for nth in (1, 2, 3):
        after_lease()
        killed = dispatch({**env, "CAMPAIGN_CRASH_AT": f"{point}:{nth}"}, tmp_path)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    after_lease()
    final = until_done(env, tmp_path)
    assert final[-1].returncode == 0, final[-1].stderr
    assert_exactly_once(engine, simulator, campaign_id, 20)
    with engine.connect() as connection:
        assert connection.execute(select(campaigns.c.status).where(campaigns.c.id == campaign_id)).scalar() == "sent"


def test_kill_9_while_the_simulator_holds_the_answers(campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    faults = Faults(hang=0.5, hang_seconds=3.0, seed=7)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults, latency=0.01) as simulator:
        campaign_id = campaign(20)
        env = twilio_env(campaign_db_url, simulator)
        for _ in range(2):
            after_lease()
            process = subprocess.Popen([CLI, "dispatch", "--org", "org-1"], env=env, cwd=tmp_path,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_for_submitting(engine, campaign_id, 3)
            process.kill()  # SIGKILL, answers still held by the simulator
            process.communicate(timeout=30)
        time.sleep(3.5)  # every held answer has been created by now
        final = until_done(env, tmp_path)
        assert final[-1].returncode == 0, final[-1].stderr
        assert_exactly_once(engine, simulator, campaign_id, 20)
        reconciled = [e for r in final for e in logs(r.stderr) if e["event"] == "reconciled"]
        assert reconciled, "the restart found nothing to reconcile: the kill came too late to prove anything"


def test_every_fault_kind_together(campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    faults = Faults(rate_limit=0.1, unavailable=0.1, server_error=0.1, drop=0.1, hang=0.05, hang_seconds=0.5,
                    retry_after=0, seed=3)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults, rules=Rules(rejections={"7": 21211, "3": 21610})) as simulator:
        campaign_id = campaign(40)
        results = until_done(twilio_env(campaign_db_url, simulator), tmp_path)
        assert results[-1].returncode == 0, results[-1].stderr
        stats = simulator.stats
        for kind in ("rate_limit", "unavailable", "server_error", "drop"):
            assert stats.get(f"fault_{kind}"), (kind, stats)
        rows, _ = ledger(engine, campaign_id)
        rejected = {row.phone: row for row in rows if row.phone.endswith(("7", "3"))}
        assert {row.status for row in rejected.values()} == {"failed"}
        assert {row.error_code for row in rejected.values()} == {"21211", "21610"}
        with engine.connect() as connection:
            opted_out = set(connection.execute(select(suppressions.c.phone).where(
                suppressions.c.organization_id == "org-1", suppressions.c.reason == "provider_opt_out")).scalars())
        assert opted_out == {p for p in rejected if p.endswith("3")}
        created = simulator.created_per_to()
        assert set(created.values()) == {1} and len(created) == 40 - len(rejected)
        assert all(row.provider_message_id for row in rows if row.phone not in rejected)


def test_three_dispatchers_at_once_share_the_campaign_through_its_lease(
        campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    with TwilioSimulator(ACCOUNT, TOKEN, latency=0.01) as simulator:
        # Five seconds of sending: the three overlap even when a busy machine starts
        # them a few seconds apart (at 60/s the first was done before the others began).
        campaign_id = campaign(30, mps=6)
        env = twilio_env(campaign_db_url, simulator, CAMPAIGN_LEASE_SECONDS="60")
        processes = [subprocess.Popen([CLI, "dispatch", "--org", "org-1"], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = [process.communicate(timeout=120) for process in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], results
        held = [e for _, err in results for e in logs(err) if e["event"] == "lease_held"]
        handed = [json.loads(out)["campaigns"][0]["handed_over"] for out, _ in results if json.loads(out)["campaigns"]]
        assert sum(handed) == 30 and len(held) >= 1
        assert_exactly_once(engine, simulator, campaign_id, 30)


def test_a_refused_account_fails_the_run_and_marks_nothing_sent(
        campaign, campaign_db_url, engine, simulator, tmp_path):  # noqa: F811
    campaign_id = campaign(5)
    result = dispatch(twilio_env(campaign_db_url, simulator, token="wrong"), tmp_path)
    assert result.returncode == 1
    assert any(e["event"] == "provider_failed" for e in logs(result.stderr))
    assert "wrong" not in result.stderr
    rows, tries = ledger(engine, campaign_id)
    assert {row.status for row in rows} == {"pending"} and simulator.created_per_to() == {}
    # The calls made met the 401; the claimed ones not yet called when it came were never made.
    outcomes = [t.outcome for t in tries]
    assert "account_failure" in outcomes and set(outcomes) <= {"account_failure", "stopped"}, outcomes


def test_a_provider_down_the_whole_run_leaves_messages_pending(campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    campaign_id = campaign(2)
    env = {**environment(campaign_db_url), "SMS_PROVIDER": "twilio", "TWILIO_API_BASE": "http://127.0.0.1:9",
           "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN}
    result = dispatch(env, tmp_path, timeout=180)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["campaigns"][0]["pending"] == 2 and document["campaigns"][0]["handed_over"] == 0
    rows, tries = ledger(engine, campaign_id)
    assert {row.status for row in rows} == {"pending"} and all(t.outcome for t in tries)
    summary = json.loads((tmp_path / "output" / "campaigns" / str(campaign_id) / document["run_id"]
                          / "summary.json").read_text())
    assert "retries exhausted" in summary["provider_failure"]


def test_the_throttle_never_exceeds_mps_in_any_second(campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    with TwilioSimulator(ACCOUNT, TOKEN, latency=0.01) as simulator:
        campaign_id = campaign(45, mps=15)
        started = time.monotonic()
        result = dispatch(twilio_env(campaign_db_url, simulator, CAMPAIGN_LEASE_SECONDS="60"), tmp_path)
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        rows, _ = ledger(engine, campaign_id)
        moments = sorted(row.handed_over_at for row in rows)  # the recorded hand-overs
        assert len(moments) == 45
        for index, moment in enumerate(moments):
            within = [m for m in moments[index:] if (m - moment).total_seconds() < 1.0]
            assert len(within) <= 15, (moment, len(within))
        assert simulator.max_created_per_second() <= 15  # and as the provider received them
        assert elapsed >= 2.5  # 45 at 15/s cannot take less than ~3 s
        assert_exactly_once(engine, simulator, campaign_id, 45)


def test_kill_switch_mid_run_is_seen_within_a_second(campaign, campaign_db_url, engine, simulator, tmp_path):  # noqa: F811
    campaign_id = campaign(40, mps=5)
    env = twilio_env(campaign_db_url, simulator, CAMPAIGN_LEASE_SECONDS="60")
    process = subprocess.Popen([CLI, "dispatch", "--org", "org-1"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    output(run(campaign_db_url, "kill-switch", "on"))
    switched = datetime.now(UTC)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    rows, tries = ledger(engine, campaign_id)
    # Claimed in a batch, put back (`stopped`) when the switch came before their call.
    sent = [t for t in tries if t.outcome != "stopped"]
    late = [row for row in rows if row.handed_over_at and (row.handed_over_at - switched).total_seconds() > 1.0]
    assert not late and 0 < len(sent) < 40
    assert len(simulator.messages()) == len(sent)
    assert {row.status for row in rows} <= FINAL_OR_PROVIDER | {"pending"}
    assert json.loads(out)["campaigns"][0]["pending"] == 40 - len(sent)


@pytest.mark.parametrize(("script", "status", "code", "created", "tries"), [
    (("unavailable",), "queued", 0, 1, 2),  # a 503 that created nothing: reconciled absent, sent again
    (("rate_limit",) * 6, "skipped", 1, 0, 6),  # never created: not_sent, not left pending
], ids=["uncertain-absent", "not-sent"])
def test_campaign_test_sends_again_what_reconciliation_finds_absent(
        campaign_db_url, engine, write_dataset, tmp_path, script, status, code, created, tries):  # noqa: F811
    set_organization(engine, "org-1", {"sender": SENDER})
    path = write_dataset([dataset_row(phones(1)[0])], "json")
    draft = output(run(campaign_db_url, "campaign", "create", "--org", "org-1", "--name", "T", "--body", "Hei",
                       "--dataset", path, cwd=tmp_path))
    with TwilioSimulator(ACCOUNT, TOKEN, faults=Faults(script=script, retry_after=0)) as sim:
        result = subprocess.run([CLI, "campaign", "test", str(draft["id"]), "--org", "org-1", "--to", "0401000001"],
                                capture_output=True, text=True, env=twilio_env(campaign_db_url, sim), cwd=tmp_path,
                                timeout=120)
        assert result.returncode == code, result.stderr
        assert len(sim.messages()) == created
    with engine.connect() as connection:
        (row,) = connection.execute(select(messages).where(messages.c.kind == "test")).all()
        opened = connection.execute(select(attempts).where(attempts.c.message_id == row.id)).all()
    assert (row.status, row.attempts, len(opened)) == (status, tries, tries)
    assert row.reason == (None if status == "queued" else "not_sent")
    assert all(attempt.outcome is not None for attempt in opened)


def test_a_campaign_whose_every_message_is_rejected_ends_failed(campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    # The dispatcher's own rollup (delivery.roll_up), as it finishes: no callback will come.
    with TwilioSimulator(ACCOUNT, TOKEN, rules=Rules(rejections={"0": 21211, "1": 21610})) as simulator:
        campaign_id = campaign(2)
        results = until_done(twilio_env(campaign_db_url, simulator), tmp_path)
    assert results[-1].returncode == 0, results[-1].stderr
    with engine.connect() as connection:
        status = connection.execute(select(campaigns.c.status).where(campaigns.c.id == campaign_id)).scalar_one()
    assert status == "failed"
    assert {row.status for row in ledger(engine, campaign_id)[0]} == {"failed"}


def test_calls_slower_than_the_batch_hours_span_still_hand_each_message_over(
        campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    # One batch of 100 claimed at once, 32 calls in flight of 1.5 s each: the last calls go
    # ~4.5 s after the batch's hours were decided (dispatcher.LIVE_HORIZON, 4 s); their
    # hours are decided again at their instant (a whole-day window: they go).
    campaign_id = campaign(100)
    with TwilioSimulator(ACCOUNT, TOKEN, latency=1.5) as simulator:
        result = dispatch(twilio_env(campaign_db_url, simulator), tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["campaigns"][0]["handed_over"] == 100
        assert_exactly_once(engine, simulator, campaign_id, 100)


@pytest.mark.parametrize("then", ["cancel", "pause"])
def test_what_a_killed_dispatch_left_is_reconciled_after_a_cancel_or_a_pause(
        then, campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    # Killed while the simulator holds answers (those messages are created later) and with
    # claimed messages never called (absent): then the manager cancels or pauses. The next
    # dispatch must still settle every `submitting` message: found ones recorded, absent
    # ones `cancelled` in a cancelled campaign, `pending` in a paused one; none left over.
    from campaign_pipeline.sending.due import due_passes

    faults = Faults(hang=0.5, hang_seconds=2.0, seed=7)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults, latency=0.01) as simulator:
        campaign_id = campaign(20, mps=4)
        env = twilio_env(campaign_db_url, simulator)
        process = subprocess.Popen([CLI, "dispatch", "--org", "org-1"], env=env, cwd=tmp_path,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_submitting(engine, campaign_id, 3)
        process.kill()
        process.communicate(timeout=30)
        output(run(campaign_db_url, "campaign", then, campaign_id, "--org", "org-1", cwd=tmp_path))
        time.sleep(2.5)  # every held answer has been created, and the killed lease has expired
        assert [p.reason for p in due_passes(engine) if p.campaign_id == campaign_id] == ["reconcile"]
        result = dispatch(env, tmp_path)
        assert result.returncode == 0, result.stderr
        assert any(e["event"] == "reconciled" for e in logs(result.stderr))
        rows, tries = ledger(engine, campaign_id)
        assert "submitting" not in {row.status for row in rows} and all(t.outcome for t in tries)
        assert [p.campaign_id for p in due_passes(engine)] == []  # nothing left to settle
        assert set(simulator.created_per_to().values()) <= {1}
        assert {row.provider_message_id for row in rows} - {None} == {m["sid"] for m in simulator.messages()}
        unsent = {row.status for row in rows if row.provider_message_id is None}
        assert unsent == ({"cancelled"} if then == "cancel" else {"pending"}), unsent
        if then == "pause":
            output(run(campaign_db_url, "campaign", "resume", campaign_id, "--org", "org-1", cwd=tmp_path))
            final = until_done(env, tmp_path)
            assert final[-1].returncode == 0, final[-1].stderr
            assert_exactly_once(engine, simulator, campaign_id, 20)
