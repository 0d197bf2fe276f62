"""A campaign's delivery in Dagster: `campaign_delivery`, one partition per campaign
(`campaigns`), whose materialization reads the campaign's delivery funnel
(sending/funnel.py, the same that `campaign-cli campaign show` prints) and
reports it as metadata: the counts (which the UI plots across
materializations) and a Markdown table with a bar per step, drawn for a
manager to see at a glance how much arrived and why the rest did not.

Materializing it again later (as callbacks and polls bring outcomes) records
the funnel of that moment; it changes nothing in the campaign database.
"""

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from campaign_pipeline.orchestration.datasets.assets import OWNER, _as_failure
from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase

GROUP = "campaigns"  # with campaign_sends
# The funnel's counts, each a metadata entry of its own (plotted by the UI).
COUNTS = ("messages", "handed_over", "sent", "delivered", "undelivered", "failed", "replies", "opt_outs", "segments")


@asset(
    name="campaign_delivery",
    partitions_def=campaign_partitions,
    # After each pass: materializing the sends makes the funnel stale, not wrong.
    deps=[AssetKey("campaign_sends")],
    group_name=GROUP,
    kinds={"sqlalchemy"},
    owners=[OWNER],
    description="A campaign's delivery funnel (its id is the partition): messages handed over to the provider, "
    "sent, delivered, undelivered and failed (by error code), replies and opt-outs, segments billed, with a "
    "delivery-rate chart. Read from the campaign database, as `campaign-cli campaign show` shows it; "
    "materialize again to follow the outcomes as they arrive.",
)
def campaign_delivery(context: AssetExecutionContext, campaign_database: CampaignDatabase) -> MaterializeResult:
    from campaign_pipeline.sending.funnel import delivery_of
    from campaign_pipeline.sending.rules.funnel import markdown

    key, where = context.partition_key, campaign_database.where()
    if not (key.isascii() and key.isdigit()):
        raise Failure(description=f"partition {key!r} is no campaign id")
    with _as_failure():
        engine = campaign_database.existing_engine()
    if engine is None:
        raise Failure(description=f"no campaign database at {where}")
    try:
        with _as_failure():
            report = delivery_of(engine, int(key))
    finally:
        engine.dispose()
    if report is None:
        raise Failure(description=f"campaign {key} not found in {where}")
    funnel = report["funnel"]
    rate = funnel["percent"]["delivered"]
    context.log.info(f"campaign {key}: {funnel['delivered']} of {funnel['handed_over']} handed over delivered")
    return MaterializeResult(metadata={
        "organization_id": report["organization_id"],
        "campaign_status": report["status"],
        **{name: funnel[name] for name in COUNTS},
        # Nothing handed over yet: no rate rather than a 0 % that reads as a failure.
        "delivery_rate_percent": MetadataValue.null() if rate is None else MetadataValue.float(rate),
        "failed_by_error_code": MetadataValue.json(funnel["failed_by_error_code"]),
        "undelivered_by_error_code": MetadataValue.json(funnel["undelivered_by_error_code"]),
        "funnel": MetadataValue.md(markdown(funnel, f"Campaign {key} ({report['status']})")),
        "database": where,
    })
