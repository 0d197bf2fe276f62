"""A STOP reply arriving while a dispatch of that organization is running stops that
number (sending.md, "Delivery and replies"; rule 2 of "Sending"): real processes,
`campaign-cli webhooks` and `campaign-cli dispatch`, the Twilio simulator (with
latency) posting the signed inbound STOP. On SQLite and PostgreSQL."""

import json
import subprocess
import time

from sqlalchemy import select

from campaign_pipeline.sending.db.models import attempts as attempts_table
from campaign_pipeline.sending.db.models import messages, suppressions
from campaign_pipeline.sending import suppressions as suppression_service
from campaign_pipeline.sending.providers.twilio_simulator import Faults, Rules, TwilioSimulator
from campaign_pipeline_tests.cli.helpers import CLI
from campaign_pipeline_tests.sending.campaign_fixtures import engine, write_dataset  # noqa: F401
from campaign_pipeline_tests.sending.providers.helpers import SENDER, TOKEN
from campaign_pipeline_tests.sending.test_dispatch_exactly_once import (  # noqa: F401 (the campaign fixture)
    ACCOUNT, campaign, phones, twilio_env,
)
from campaign_pipeline_tests.sending.webhooks.helpers import WebhookServer

COUNT, MPS = 20, 4  # live batches of 8 (two seconds of the rate), each claimed before its calls
# In the dispatcher's second batch, handed over about four seconds in: the STOP lands
# before that batch is claimed, and the claim's own look at the suppressions skips it.
STOPPED = phones(COUNT)[15]


def test_a_stop_while_the_dispatch_runs_is_never_handed_over(campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    campaign_id = campaign(COUNT, mps=MPS)
    with TwilioSimulator(ACCOUNT, TOKEN, latency=0.05, rules=Rules(step_seconds=0.05)) as sim, \
            WebhookServer(campaign_db_url, token=TOKEN) as server:
        dispatch = start_dispatch(campaign_db_url, sim, tmp_path)
        wait_for_created(sim, 2)  # the dispatch is under way
        assert sim.inbound(server.url + "/twilio/inbound", STOPPED, SENDER, "STOP") == 200
        stopped_at = sim.stats["created"]
        out, err = dispatch.communicate(timeout=120)
    assert dispatch.returncode == 0, err
    assert stopped_at < 16, "the STOP came too late to test anything"
    assert_stopped_only(sim, engine, campaign_id, phones(COUNT), STOPPED, json.loads(out), attempts=0)


def test_a_stop_for_a_claimed_message_before_its_call_is_honoured(campaign, campaign_db_url, engine,  # noqa: F811
                                                                   tmp_path):
    # One batch of 4 at 1 a second, all claimed before the first call: the STOP for a
    # number still waiting lands after its claim and at least ~0.9 s before its call,
    # so only the look at the suppressions just before each call (<= 0.25 s old) stops it.
    count = 4
    campaign_id = campaign(count, mps=1)
    with TwilioSimulator(ACCOUNT, TOKEN, latency=0.01) as sim, \
            WebhookServer(campaign_db_url, token=TOKEN) as server:
        dispatch = start_dispatch(campaign_db_url, sim, tmp_path)
        wait_for_created(sim, 1)
        stopped = sorted(set(phones(count)) - set(sim.created_per_to()))[-1]
        assert sim.inbound(server.url + "/twilio/inbound", stopped, SENDER, "STOP") == 200
        assert sim.stats["created"] == 1, "the STOP came too late to test anything"
        out, err = dispatch.communicate(timeout=120)
    assert dispatch.returncode == 0, err
    assert_stopped_only(sim, engine, campaign_id, phones(count), stopped, json.loads(out), attempts=1)
    with engine.connect() as connection:
        (message_id,) = connection.execute(select(messages.c.id).where(messages.c.phone == stopped)).one()
        outcome = connection.execute(select(attempts_table.c.outcome).where(attempts_table.c.message_id == message_id))
        assert outcome.scalar_one() == "stopped"  # opened by the claim, closed unused


def test_a_suppression_during_a_retry_backoff_is_honoured(campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    # The provider answers the first create for one number 429 (nothing created) with a
    # Retry-After of 2 s; the number is suppressed during that wait. The next attempt is
    # opened in a transaction that looks at the suppressions again: never created.
    count = 3
    campaign_id = campaign(count, mps=100)
    target = phones(count)[1]
    faults = Faults(per_to={target: ("rate_limit",)}, retry_after=2)
    with TwilioSimulator(ACCOUNT, TOKEN, faults=faults) as sim:
        dispatch = start_dispatch(campaign_db_url, sim, tmp_path)
        deadline = time.monotonic() + 60
        while not sim.stats.get("fault_rate_limit") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sim.stats.get("fault_rate_limit") == 1
        suppression_service.add(engine, "org-1", [target], "stop_reply", "test")
        out, err = dispatch.communicate(timeout=120)
        created = sim.created_per_to()
    assert dispatch.returncode == 0, err
    assert target not in created and sorted(created) == sorted(set(phones(count)) - {target})
    with engine.connect() as connection:
        row = connection.execute(select(messages.c.id, messages.c.status, messages.c.reason)
                                 .where(messages.c.campaign_id == campaign_id, messages.c.phone == target)).one()
        outcomes = connection.execute(select(attempts_table.c.outcome).where(attempts_table.c.message_id == row.id)
                                      .order_by(attempts_table.c.number)).scalars().all()
    assert (row.status, row.reason, outcomes) == ("skipped", "suppressed", ["not_created"])
    report = json.loads(out)["campaigns"][0]
    assert (report["handed_over"], report["skipped"]) == (count - 1, 1)


def start_dispatch(campaign_db_url, sim, cwd) -> subprocess.Popen:
    env = twilio_env(campaign_db_url, sim, CAMPAIGN_LEASE_SECONDS="60")
    return subprocess.Popen([CLI, "dispatch", "--org", "org-1"], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_created(sim, count: int) -> None:
    deadline = time.monotonic() + 60
    while sim.stats["created"] < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.stats["created"] >= count


def assert_stopped_only(sim, engine, campaign_id, audience, stopped, out, attempts) -> None:  # noqa: F811
    """Every number but `stopped` handed over once; `stopped` never, skipped as suppressed."""
    created = sim.created_per_to()
    assert stopped not in created  # never handed over
    assert sorted(created) == sorted(set(audience) - {stopped}) and set(created.values()) == {1}
    with engine.connect() as connection:
        row = connection.execute(select(messages.c.status, messages.c.reason, messages.c.attempts)
                                 .where(messages.c.campaign_id == campaign_id, messages.c.phone == stopped)).one()
        reason = connection.execute(select(suppressions.c.reason).where(suppressions.c.phone == stopped,
                                                                        suppressions.c.organization_id == "org-1"))
        assert reason.scalar_one() == "stop_reply"
    assert tuple(row) == ("skipped", "suppressed", attempts)
    report = out["campaigns"][0]
    assert (report["handed_over"], report["skipped"]) == (len(audience) - 1, 1)
