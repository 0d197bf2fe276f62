"""Blocking checks of `campaign_sends`, run after each pass on the same partition:
the ledger is read back (sending/handover_audit.py) for a second hand-over of
one message key, a hand-over to a number suppressed before it, and one outside
its sending window. A failure marks the pass failed in Dagster and shows how
many and which messages (ids, masked phones)."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from campaign_pipeline.orchestration.sending.campaigns import campaign_partitions
from campaign_pipeline.orchestration.sending.resources import CampaignDatabase
from campaign_pipeline.orchestration.sending.sends import campaign_sends
from campaign_pipeline.sending.handover_audit import AUDITS

SHOWN = 10  # violations listed in the metadata; the count says how many in all

DESCRIPTIONS = {
    "no_double_handover": "No message key (campaign, phone) was handed to the provider twice "
                          "(two attempts that may have created a provider message).",
    "no_handover_to_suppressed": "No hand-over went to a number suppressed (for the organization or for "
                                 "every one) before that hand-over started.",
    "no_handover_outside_window": "Every hand-over started inside the sending window (the campaign's, else "
                                  "the organization's) in every time zone of the number.",
}


def _audit_check(name: str):
    audit = AUDITS[name]

    @asset_check(asset=campaign_sends, name=name, blocking=True, partitions_def=campaign_partitions,
                 description=DESCRIPTIONS[name])
    def _check(context: AssetCheckExecutionContext, campaign_database: CampaignDatabase) -> AssetCheckResult:
        from campaign_pipeline.common.masking import mask_phone

        engine = campaign_database.engine()
        try:
            found = audit(engine, int(context.partition_key))
        finally:
            engine.dispose()
        shown = "\n".join(f"| {v.message_id} | {mask_phone(v.phone)} | {v.detail} |" for v in found[:SHOWN])
        metadata = {"violations": len(found)}
        if found:
            metadata["first_violations"] = MetadataValue.md(f"| message | phone | what |\n|---|---|---|\n{shown}\n")
        return AssetCheckResult(passed=not found, severity=AssetCheckSeverity.ERROR, metadata=metadata)

    return _check


handover_checks = [_audit_check(name) for name in AUDITS]
