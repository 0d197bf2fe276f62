"""Benchmark: one proof dispatch pass by `campaign-cli dispatch` and by Dagster's
`campaign_sends`, side by side, on SQLite.

    .venv/bin/python benchmarks/bench_campaign_sends.py [--recipients 20000]

Each side gets its own scheduled campaign of `--recipients` (bench_dispatch.py's
set-up: whole-day window, proof provider) and dispatches it once:
1. cli: `campaign-cli dispatch --campaign ID`, a process (wall clock);
2. dagster: `dagster asset materialize --select campaign_sends --partition ID`,
   a process with a Dagster instance of its own (wall clock: Dagster's start-up,
   the pass, the three blocking hand-over checks);
3. in-process: `materialize` of the asset and its checks in this process: the
   pass alone (the asset's own `seconds`) and the checks' share.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_dispatch import run_dispatch, scheduled  # noqa: E402

DAGSTER = str(Path(sys.executable).parent / "dagster")


def cli_pass(folder: Path, count: int) -> tuple[float, int]:
    url, campaign_id = scheduled(folder, count, mps=10)
    document, wall, _ = run_dispatch(url, {"CAMPAIGN_OUTPUT_URI": str(folder / "out")}, folder,
                                     "--campaign", str(campaign_id))
    return wall, document["campaigns"][0]["handed_over"]


def dagster_process_pass(folder: Path, count: int) -> float:
    from dagster import DagsterInstance

    url, campaign_id = scheduled(folder, count, mps=10)
    home = folder / "home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "CAMPAIGN_DB_URL": url, "CAMPAIGN_OUTPUT_URI": str(folder / "out")}
    env.pop("SMS_PROVIDER", None)
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    cwd = os.getcwd()
    os.chdir(home)  # dagster.yaml's paths are relative to the folder commands run in
    try:
        with DagsterInstance.get() as instance:
            instance.add_dynamic_partitions("campaigns", [str(campaign_id)])
    finally:
        os.chdir(cwd)
        if previous is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = previous
    started = time.perf_counter()
    result = subprocess.run([DAGSTER, "asset", "materialize", "-m", "campaign_pipeline", "--select", "campaign_sends",
                             "--partition", str(campaign_id)], cwd=home, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"dagster asset materialize failed: {result.stderr[-2000:]}")
    return wall


def dagster_in_process_pass(folder: Path, count: int) -> tuple[float, float, int]:
    from dagster import DagsterInstance, materialize

    from campaign_pipeline.orchestration.sending.handover_audit import handover_checks
    from campaign_pipeline.orchestration.sending.resources import CampaignDatabase, SmsProvider
    from campaign_pipeline.orchestration.sending.sends import campaign_sends

    url, campaign_id = scheduled(folder, count, mps=10)
    os.environ["CAMPAIGN_OUTPUT_URI"] = str(folder / "out")
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("campaigns", [str(campaign_id)])
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):  # Dagster's event log
            result = materialize([campaign_sends, *handover_checks], partition_key=str(campaign_id),
                                 instance=instance, resources={"campaign_database": CampaignDatabase(url=url),
                                                               "sms_provider": SmsProvider()})
        wall = time.perf_counter() - started
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert all(e.passed for e in result.get_asset_check_evaluations())
    return wall, metadata["seconds"].value, metadata["handed_over"].value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.pop("SMS_PROVIDER", None)
    work = Path(tempfile.mkdtemp(prefix="bench-campaign-sends-"))
    try:
        (work / "cli").mkdir(), (work / "dagster").mkdir(), (work / "inproc").mkdir()
        cli_wall, cli_handed = cli_pass(work / "cli", args.recipients)
        dagster_wall = dagster_process_pass(work / "dagster", args.recipients)
        in_wall, in_pass, in_handed = dagster_in_process_pass(work / "inproc", args.recipients)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.recipients
    print(f"proof dispatch pass of {n} recipients, SQLite")
    print(f"{'':38} {'wall s':>8} {'msg/s':>9}")
    print(f"{'campaign-cli dispatch (process)':38} {cli_wall:8.2f} {cli_handed / cli_wall:9.0f}")
    print(f"{'dagster asset materialize (process)':38} {dagster_wall:8.2f} {n / dagster_wall:9.0f}")
    print(f"{'materialize in-process: total':38} {in_wall:8.2f} {in_handed / in_wall:9.0f}")
    print(f"{'  of which the pass (asset seconds)':38} {in_pass:8.2f} {in_handed / in_pass:9.0f}")
    print(f"{'  the rest (Dagster, 3 checks)':38} {in_wall - in_pass:8.2f}")
    print(f"dagster process / cli process: {dagster_wall / cli_wall:.2f}x")


if __name__ == "__main__":
    main()
