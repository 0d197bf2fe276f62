import polars as pl

from campaign_pipeline.dataset import columns as C
from campaign_pipeline.dataset.access_keys import apply_access_keys, subjects_needing_keys
from campaign_pipeline.dataset.dataset import campaign_dataset


def enriched(*rows):
    """(subject_id, activity_id, access_key, reason) records sharing one phone."""
    full = []
    for subject_id, activity_id, key, reason in rows:
        row = {name: None for name in C.ENRICHED}
        row.update(organization_id="o", segment="buyer", job_id="j", activity_id=activity_id,
                   subject_id=subject_id, access_key=key, reason=reason,
                   phone=None if reason else "+358401234567", region=None if reason else "FI",
                   contact_source=None if reason else "user")
        full.append(row)
    return pl.DataFrame(full, schema=C.ENRICHED)


def test_only_chosen_subjects_missing_a_key_are_asked_for_once_each():
    records = enriched(("s2", "a1", None, None), ("s2", "a2", "", None), ("s1", "a1", "K1", None),
                       ("s3", "a1", None, "no_phone"))
    assert subjects_needing_keys(records) == ["s2"]


def test_generated_keys_fill_the_gaps_and_keep_existing_keys():
    records = enriched(("s1", "a1", "K1", None), ("s1", "a2", "", None), ("s2", "a1", None, None))
    applied = apply_access_keys(records, {"s1": "NEW1", "s2": "NEW2"}, {})
    assert applied.get_column("access_key").to_list() == ["K1", "NEW1", "NEW2"]
    assert campaign_dataset(applied, "buyer").get_column("access_keys").to_list() == ["K1;NEW2"]


def test_a_permanent_failure_excludes_every_chosen_record_and_the_next_member_becomes_primary():
    records = enriched(("s1", "a1", None, None), ("s1", "a2", "K1", None), ("s2", "a3", None, None))
    applied = apply_access_keys(records, {"s2": "K2"}, {"s1": 409})
    excluded = applied.filter(pl.col("reason").is_not_null())
    assert excluded.select("subject_id", "reason", "detail", "phone").rows() == [
        ("s1", "access_key_failed", "HTTP 409", None), ("s1", "access_key_failed", "HTTP 409", None)]
    row = campaign_dataset(applied, "buyer").row(0, named=True)
    assert (row["subject_id"], row["subject_ids"], row["access_keys"]) == ("s2", "s2", "K2")
