"""`make run`: build every asset of one day in this process and say what came out,
then (re)use a demo campaign of the day's first organization, schedule it and
dispatch it through the proof provider (sending/demo_campaign.py: nothing is
sent), and say where its run summary and messages export are.

A newcomer wants the files and their counts, not Dagster's event stream, so by
default the run's whole stderr (Dagster's events, the assets' JSON log lines,
warnings) goes to a file in the instance's storage, and stdout gets a short
summary. `--verbose` leaves stderr alone. The run is recorded in the Dagster
instance like any other, so `make dev` shows it.

    python -m campaign_pipeline.orchestration.datasets.run_day [--day YYYY-MM-DD] [--verbose]
"""

import argparse
import io
import os
import sys
import time
from contextlib import ExitStack, nullcontext, redirect_stderr
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagster import AssetKey, DagsterInstance

DATASETS = [AssetKey(["campaign_dataset", "buyer"]), AssetKey(["campaign_dataset", "non_buyer"])]
EXCLUSIONS = AssetKey("exclusions")
CHECKED = [AssetKey(["checked_dataset", "buyer"]), AssetKey(["checked_dataset", "non_buyer"])]
LOG_NAME = "last-run.log"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_day", description=__doc__.splitlines()[0])
    parser.add_argument("--day", default=datetime.now(UTC).date().isoformat(), help="the partition (default: today, UTC)")
    parser.add_argument("--verbose", action="store_true", help="Dagster's full event log on stderr")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    early = io.StringIO()  # what Dagster says while the instance loads, before the log file is known
    with redirect_stderr(early) if not args.verbose else nullcontext():
        instance = DagsterInstance.get()
    log_path = Path(instance.storage_directory()) / LOG_NAME
    with ExitStack() as stack:
        if not args.verbose:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(log_path.open("w", encoding="utf-8"))
            log.write(early.getvalue())
            stack.enter_context(redirect_stderr(log))
        from campaign_pipeline.definitions import defs

        job = defs.resolve_job_def("dataset_job")
        result = job.execute_in_process(instance=instance, partition_key=args.day, raise_on_error=False)
        demo = _demo(instance, args.day) if result.success else None
    seconds = time.perf_counter() - started
    details = "above" if args.verbose else f"in {_shown(str(log_path))}"
    if not result.success:
        for message in _failures(result):
            print(f"run_day: {message}", file=sys.stderr)
        print(f"run_day: the run for {args.day} failed after {seconds:.1f} s; Dagster's log is {details}", file=sys.stderr)
        return 1
    print(_summary(result, args.day, seconds))
    if isinstance(demo, str):
        print(f"run_day: the demo campaign: {demo}", file=sys.stderr)
        return 1
    print(_demo_summary(demo))
    if not args.verbose:
        print(f"Dagster's full log of the run: {_shown(str(log_path))} (or make run VERBOSE=1); make dev shows it in the UI.")
    return 0


def _summary(result, day: str, seconds: float) -> str:
    metadata = {
        event.asset_key: {name: value.value for name, value in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }
    snapshot = metadata.get(AssetKey("portal_snapshot"), {})
    enriched = metadata.get(AssetKey("enriched_subjects"), {})
    checks = result.get_asset_check_evaluations()
    lines = [
        f"Built {day} in {seconds:.1f} s from {snapshot.get('source', 'the portal')}: "
        f"{snapshot.get('job_lines', 0)} job lines, {enriched.get('records', 0)} subject records.",
    ]
    width = max(len(_shown(str(metadata[key].get("path", "")))) for key in [*DATASETS, EXCLUSIONS])
    for key in DATASETS:
        lines.append(f"  {_shown(str(metadata[key].get('path'))):<{width}}  {metadata[key]['rows']:>7} rows")
    excluded = metadata[EXCLUSIONS]
    reasons = ", ".join(f"{reason} {count}" for reason, count in excluded["by_reason"].items())
    lines.append(f"  {_shown(str(excluded.get('path'))):<{width}}  {excluded['rows']:>7} rows ({reasons})")
    lines.append(f"{sum(c.passed for c in checks)} of {len(checks)} asset checks passed.")
    loaded = {key.path[-1]: metadata[key] for key in CHECKED if key in metadata}
    if loaded:
        where = next(iter(loaded.values())).get("database", "")
        where = _shown(where.removeprefix("sqlite:///")) if where.startswith("sqlite:///") else where
        rows = ", ".join(f"{segment} {values['rows']} rows" for segment, values in loaded.items())
        lines.append(f"Loaded into the campaign database {where}: {rows} "
                     f"(campaign-cli campaign create --day {day} …).")
    return "\n".join(lines)


@dataclass(frozen=True)
class _DemoPass:
    demo: object  # sending/demo_campaign.py's Demo
    metadata: dict  # the campaign_sends materialization's
    summary_folder: str | None
    export_path: str
    exported: int


def _demo(instance: DagsterInstance, day: str):
    """The demo campaign (sending/demo_campaign.py), dispatched as `campaign_sends` of its
    partition with the proof provider whatever SMS_PROVIDER says, so `make dev` shows the
    pass; a _DemoPass, or the one line saying why it could not run."""
    from dagster import Definitions

    from campaign_pipeline.common.errors import InputError
    from campaign_pipeline.common.logs import JsonLog
    from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions
    from campaign_pipeline.orchestration.sending.handover_audit import handover_checks
    from campaign_pipeline.orchestration.sending.resources import SmsProvider, campaign_database_from_env
    from campaign_pipeline.orchestration.sending.sends import campaign_sends, campaign_sends_job
    from campaign_pipeline.sending.artifacts import output_root
    from campaign_pipeline.sending.demo_campaign import export_demo, latest_folder, prepare_demo

    database = campaign_database_from_env(os.environ)
    engine = database.engine()
    try:
        demo = prepare_demo(engine, datetime.fromisoformat(day).date(), JsonLog())
        instance.add_dynamic_partitions(campaign_partitions.name, [str(demo.campaign_id)])
        proof = Definitions(assets=[campaign_sends], asset_checks=handover_checks, jobs=[campaign_sends_job],
                            resources={"campaign_database": database, "sms_provider": SmsProvider()})
        result = proof.resolve_job_def(campaign_sends_job.name).execute_in_process(
            instance=instance, partition_key=str(demo.campaign_id), raise_on_error=False)
        if not result.success:
            return "; ".join(_failures(result)) or "the campaign_sends run failed"
        [event] = result.get_asset_materialization_events()
        metadata = {name: value.value for name, value in event.materialization.metadata.items()}
        root = output_root()
        export_path, exported = export_demo(engine, demo, root)
        return _DemoPass(demo, metadata, latest_folder(engine, root, demo.campaign_id), export_path, exported)
    except InputError as error:
        return str(error)
    finally:
        engine.dispose()


def _demo_summary(outcome: _DemoPass) -> str:
    demo, run = outcome.demo, outcome.metadata
    summary = f"{_shown(outcome.summary_folder)}/summary.md" if outcome.summary_folder else "none yet"
    return "\n".join([
        f"Demo campaign {demo.campaign_id} of organization {demo.organization_id} "
        f"({'created' if demo.created else 'reused'}), dispatched by campaign_sends with the proof provider "
        f"(nothing sent): {run['handed_over']} handed over, {run['deferred']} deferred, {run['skipped']} skipped; "
        f"campaign {run['campaign_status']}.",
        f"  latest run summary: {summary}",
        f"  messages export:    {_shown(outcome.export_path)}  {outcome.exported:>7} rows",
    ])


def _failures(result) -> list[str]:
    return [
        f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.error is not None
    ]


def _shown(path: str) -> str:
    """A path under the current folder, relative to it: shorter to read."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else path
    except ValueError:
        return path


if __name__ == "__main__":
    sys.exit(main())
