import polars as pl

from campaign_pipeline.dataset import columns as C
from campaign_pipeline.dataset import invariants


def dataset(*rows):
    """Dataset rows from (organization_id, segment, phone, job_id, subject_ids)."""
    full = []
    for org, segment, phone, job_id, ids in rows:
        row = {name: "" for name in C.DATASET}
        row.update(organization_id=org, segment=segment, phone=phone, job_id=job_id, activity_id="a",
                   subject_id=ids.split(";")[0], subject_ids=ids, subject_count=len(ids.split(";")))
        full.append(row)
    return pl.DataFrame(full, schema=C.DATASET)


def enriched(*rows):
    """Enriched rows from (organization_id, segment, phone, subject_id, reason)."""
    full = []
    for org, segment, phone, subject_id, reason in rows:
        row = {name: None for name in C.ENRICHED}
        row.update(organization_id=org, segment=segment, phone=phone, subject_id=subject_id,
                   job_id="j", activity_id="a", reason=reason)
        full.append(row)
    return pl.DataFrame(full, schema=C.ENRICHED)


def test_repeated_phones_are_counted():
    assert invariants.repeated_phones(dataset(("o", "buyer", "+1", "j", "s1"), ("o", "buyer", "+2", "j", "s2"))) == 0
    assert invariants.repeated_phones(dataset(("o", "buyer", "+1", "j", "s1"), ("o", "buyer", "+1", "k", "s2"))) == 1


def test_rows_out_of_order_are_counted():
    assert invariants.rows_out_of_order(dataset(("o", "buyer", "+1", "j1", "s"), ("o", "buyer", "+2", "j2", "s"))) == 0
    assert invariants.rows_out_of_order(dataset(("o", "buyer", "+1", "j2", "s"), ("o", "buyer", "+2", "j1", "s"))) == 2


def test_suppressed_rows_are_counted():
    rows = dataset(("o", "buyer", "+358401234567", "j", "s"))
    assert invariants.suppressed_rows(rows, pl.Series(["+358401234567"])) == 1
    assert invariants.suppressed_rows(rows, pl.Series([], dtype=pl.String)) == 0


def test_accounting_finds_records_in_no_row_ids_without_record_and_missing_exclusions():
    records = enriched(("o", "buyer", "+1", "s1", None), ("o", "buyer", "+1", "s2", None), ("o", "buyer", None, "s3", "no_phone"))
    excluded = pl.DataFrame([{n: "x" for n in C.EXCLUSIONS}], schema=C.EXCLUSIONS)
    assert invariants.unaccounted_records(records, [dataset(("o", "buyer", "+1", "j", "s1;s2"))], excluded) == {
        "records_in_no_row": 0, "ids_listed_without_record": 0, "exclusions_missing_or_extra": 0}
    assert invariants.unaccounted_records(records, [dataset(("o", "buyer", "+1", "j", "s1;s9"))], excluded.head(0)) == {
        "records_in_no_row": 1, "ids_listed_without_record": 1, "exclusions_missing_or_extra": 1}
