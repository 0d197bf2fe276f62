"""Commands racing on one campaign, as real concurrent processes: whatever the
interleaving, the campaign ends in one consistent state, it has messages iff
it was scheduled, and never two audiences."""

import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from campaign_pipeline.sending.db.models import campaigns, messages
from campaign_pipeline_tests.cli.helpers import environment, logs, output, run
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row, engine, write_dataset  # noqa: F401

AUDIENCE = 5_000  # big enough that a schedule's transaction lasts while the others arrive
RACERS = (
    ("schedule",), ("schedule",), ("cancel",), ("update", "--name", "Raced"), ("delete",),
)
# Each racer imports everything, then waits for the starting gun (a file) before its command runs.
WAITER = ("import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.005)\n"
          "from campaign_pipeline.cli import main\nsys.exit(main(sys.argv[2:]))")


@pytest.mark.parametrize("racers", [RACERS, RACERS[:4] + (("pause",),)], ids=["with-delete", "with-pause"])
def test_racing_commands_leave_one_consistent_state(campaign_db_url, engine, write_dataset, tmp_path,  # noqa: F811
                                                     racers):
    dataset = write_dataset([dataset_row(f"+35840{n:07d}", subject_id=f"s{n}") for n in range(AUDIENCE)])
    campaign_id = output(run(campaign_db_url, "campaign", "create", "--org", "org-1", "--name", "n", "--body",
                             "Hei {first_name}", "--dataset", dataset))["id"]
    gun = tmp_path / "go"
    processes = [
        subprocess.Popen([sys.executable, "-c", WAITER, str(gun), "campaign", command, str(campaign_id),
                          "--org", "org-1", *rest], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=environment(campaign_db_url), cwd=tmp_path)
        for command, *rest in racers
    ]
    time.sleep(3)  # every racer imported and waiting
    gun.touch()
    outcomes = []
    for (command, *_), process in zip(racers, processes):
        stdout, stderr = process.communicate(timeout=300)
        entries = logs(stderr)  # JSON lines only, no traceback, no phone
        assert process.returncode in (0, 2), stderr
        if process.returncode == 2:
            assert [entry["event"] for entry in entries if entry["level"] == "error"] == ["usage_error"]
            assert "not found" in entries[-1]["message"] or "it is " in entries[-1]["message"], entries
        outcomes.append((command, process.returncode == 0))
    won = {command for command, ok in outcomes if ok}

    with engine.connect() as connection:
        status = connection.execute(select(campaigns.c.status).where(campaigns.c.id == campaign_id)).scalar()
        counts = dict(connection.execute(
            select(messages.c.status, func.count()).where(messages.c.campaign_id == campaign_id)
            .group_by(messages.c.status)).all())
        distinct = connection.execute(
            select(func.count(func.distinct(messages.c.phone))).where(messages.c.campaign_id == campaign_id)).scalar()
    scheduled = sum(1 for command, ok in outcomes if ok and command == "schedule")
    assert scheduled <= 1
    if scheduled:
        assert "delete" not in won and sum(counts.values()) == distinct == AUDIENCE
        expected = {"scheduled": {"pending"}, "paused": {"pending"}, "cancelled": {"cancelled"}}
        assert status in expected and set(counts) == expected[status], (outcomes, status, counts)
        assert ("cancel" in won) == (status == "cancelled")
    else:
        assert counts == {} and "cancel" not in won and "pause" not in won
        assert status == (None if "delete" in won else "draft"), (outcomes, status)
