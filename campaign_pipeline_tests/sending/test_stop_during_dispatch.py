"""A STOP reply arriving while a dispatch of that organization is running stops that
number (sending.md, "Delivery and replies"; rule 2 of "Sending"): real processes,
`campaign-cli webhooks` and `campaign-cli dispatch`, the Twilio simulator (with
latency) posting the signed inbound STOP. On SQLite and PostgreSQL."""

import json
import subprocess
import time

from sqlalchemy import select

from campaign_pipeline.sending.db.models import messages, suppressions
from campaign_pipeline.sending.providers.twilio_simulator import Rules, TwilioSimulator
from campaign_pipeline_tests.cli.helpers import CLI
from campaign_pipeline_tests.sending.campaign_fixtures import engine, write_dataset  # noqa: F401
from campaign_pipeline_tests.sending.providers.helpers import SENDER, TOKEN
from campaign_pipeline_tests.sending.test_dispatch_exactly_once import (  # noqa: F401 (the campaign fixture)
    ACCOUNT, campaign, phones, twilio_env,
)
from campaign_pipeline_tests.sending.webhooks.helpers import WebhookServer

COUNT, MPS = 20, 4
# In the dispatcher's first batch (decided, suppressions read, at its start), handed
# over about four seconds in: the STOP lands between that batch's decision and its claim.
STOPPED = phones(COUNT)[15]


def test_a_stop_while_the_dispatch_runs_is_never_handed_over(campaign, campaign_db_url, engine, tmp_path):  # noqa: F811
    campaign_id = campaign(COUNT, mps=MPS)
    with TwilioSimulator(ACCOUNT, TOKEN, latency=0.05, rules=Rules(step_seconds=0.05)) as sim, \
            WebhookServer(campaign_db_url, token=TOKEN) as server:
        env = twilio_env(campaign_db_url, sim, CAMPAIGN_LEASE_SECONDS="60")
        dispatch = subprocess.Popen([CLI, "dispatch", "--org", "org-1"], env=env, cwd=tmp_path,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while sim.stats["created"] < 2 and time.monotonic() < deadline:  # the dispatch is under way
            time.sleep(0.02)
        assert sim.stats["created"] >= 2
        assert sim.inbound(server.url + "/twilio/inbound", STOPPED, SENDER, "STOP") == 200
        stopped_at = sim.stats["created"]
        out, err = dispatch.communicate(timeout=120)
    assert dispatch.returncode == 0, err
    assert stopped_at < 16, "the STOP came too late to test anything"
    created = sim.created_per_to()
    assert STOPPED not in created  # never handed over
    assert sorted(created) == sorted(set(phones(COUNT)) - {STOPPED}) and set(created.values()) == {1}
    with engine.connect() as connection:
        row = connection.execute(select(messages.c.status, messages.c.reason, messages.c.attempts)
                                 .where(messages.c.campaign_id == campaign_id, messages.c.phone == STOPPED)).one()
        reason = connection.execute(select(suppressions.c.reason).where(suppressions.c.phone == STOPPED,
                                                                        suppressions.c.organization_id == "org-1"))
        assert reason.scalar_one() == "stop_reply"
    assert tuple(row) == ("skipped", "suppressed", 0)
    report = json.loads(out)["campaigns"][0]
    assert (report["handed_over"], report["skipped"]) == (COUNT - 1, 1)
