"""A dispatch's reports (sending.md, "Reports and artifacts"): under
`<output root>/campaigns/<campaign id>/<run id>/`, `summary.json`, `summary.md`
and `attempts.csv` (phones masked), written together or not at all (local
folder or S3, files/storage.py). The output root is CAMPAIGN_OUTPUT_URI, else
`./output`, as for the datasets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, select

from campaign_pipeline.common.masking import mask_phone_expr
from campaign_pipeline.files.storage import S3_SCHEME, write_atomically
from campaign_pipeline.sending import ledger
from campaign_pipeline.sending.db.models import attempts, messages

ATTEMPT_COLUMNS = ("message_id", "phone", "attempt", "started", "finished", "outcome", "provider_status", "error_code")
_TIME = "%Y-%m-%dT%H:%M:%S%.3fZ"


def output_root(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("CAMPAIGN_OUTPUT_URI") or os.path.abspath("output")


def run_folder(root: str, campaign_id: int, run_id: str) -> str:
    return f"{root.rstrip('/')}/campaigns/{campaign_id}/{run_id}"


def attempts_csv(engine: Engine, campaign_id: int, run_id: str) -> tuple[bytes, int]:
    """One row per attempt this run made for the campaign, in the order they started."""
    query = (
        select(attempts.c.message_id, messages.c.phone, attempts.c.number, attempts.c.started_at,
               attempts.c.finished_at, attempts.c.outcome, attempts.c.provider_status, attempts.c.error_code)
        .join(messages, messages.c.id == attempts.c.message_id)
        .where(attempts.c.run_id == run_id, messages.c.campaign_id == campaign_id)
        .order_by(attempts.c.id))
    with engine.connect() as connection:
        # The driver's rows as they are: SQLAlchemy's per-value datetime processing cost ~3 s
        # for 10^5 attempts. SQLite gives the stored naive-UTC text, parsed here by column.
        compiled = query.compile(dialect=connection.dialect)
        rows = connection.exec_driver_sql(compiled.string, compiled.params if compiled.positiontup is None
                                          else tuple(compiled.params[n] for n in compiled.positiontup)).all()
    times = pl.String if connection.dialect.name == "sqlite" else pl.Datetime("us", "UTC")
    frame = pl.DataFrame(rows, orient="row", schema={
        "message_id": pl.Int64, "phone": pl.String, "attempt": pl.Int64, "started": times, "finished": times,
        "outcome": pl.String, "provider_status": pl.String, "error_code": pl.String})
    if times == pl.String:
        frame = frame.with_columns(pl.col("started", "finished").str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
                                   .dt.replace_time_zone("UTC"))
    frame = frame.with_columns(mask_phone_expr(pl.col("phone")).alias("phone"),
                               pl.col("started").dt.strftime(_TIME), pl.col("finished").dt.strftime(_TIME))
    return frame.select(ATTEMPT_COLUMNS).write_csv(line_terminator="\n").encode(), frame.height


def summary(engine: Engine, report, run_id: str, provider: str, attempt_count: int) -> dict:
    with engine.connect() as connection:
        statuses = ledger.counts(connection, report.id)
    seconds = max(0.0, (report.finished or report.started) - report.started)
    return {
        "run_id": run_id, "campaign_id": report.id, "organization_id": report.organization_id, "provider": provider,
        "status": report.status, "run": report.document(),
        "skipped_reasons": dict(report.skipped_reasons), "deferred_reasons": dict(report.deferred_reasons),
        "outcomes": dict(report.outcomes), "reconciled": dict(report.reconciled), "attempts": attempt_count,
        "messages": statuses, "provider_failure": report.failure, "stopped": report.note,
        "seconds": round(seconds, 3),
        "handed_over_per_second": round(report.handed_over / seconds, 1) if seconds > 0 else None,
    }


def summary_markdown(document: dict) -> str:
    run = document["run"]
    lines = [
        f"# Campaign {document['campaign_id']}: dispatch {document['run_id']}", "",
        f"- organization: {document['organization_id']}; provider: {document['provider']}",
        f"- campaign status at the end: **{document['status']}**",
        f"- this run: {run['handed_over']} handed over, {run['deferred']} deferred, {run['skipped']} skipped, "
        f"{run['failed']} failed; {run['pending']} left pending",
        f"- {document['attempts']} attempts in {document['seconds']} s"
        + (f" ({document['handed_over_per_second']} hand-overs/s)" if document["handed_over_per_second"] else ""),
    ]
    if document["provider_failure"]:
        lines.append(f"- **the provider failed the run**: {document['provider_failure']}")
    if document["stopped"]:
        lines.append(f"- stopped: {document['stopped']}")
    for title, key in (("Skipped by reason", "skipped_reasons"), ("Deferred by reason", "deferred_reasons"),
                       ("Outcomes of the attempts", "outcomes"), ("Reconciled", "reconciled"),
                       ("Messages per status now", "messages")):
        if document[key]:
            lines += ["", f"## {title}", "", "| | |", "| --- | ---: |"]
            lines += [f"| {name} | {count} |" for name, count in sorted(document[key].items())]
    return "\n".join(lines) + "\n"


def write_reports(engine: Engine, root: str, report, run_id: str, provider: str) -> str:
    """Writes the three files of one campaign's dispatch; returns their folder."""
    folder = run_folder(root, report.id, run_id)
    attempts_bytes, attempt_count = attempts_csv(engine, report.id, run_id)
    document = summary(engine, report, run_id, provider, attempt_count)
    if not folder.startswith(S3_SCHEME):
        Path(folder).mkdir(parents=True, exist_ok=True)
    write_atomically({
        f"{folder}/summary.json": (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode(),
        f"{folder}/summary.md": summary_markdown(document).encode(),
        f"{folder}/attempts.csv": attempts_bytes,
    })
    return folder
