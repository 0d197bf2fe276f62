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


def test_suppressed_rows_are_counted_by_their_organization_and_every_organization():
    rows = dataset(("o", "buyer", "+358401234567", "j", "s"), ("p", "buyer", "+358401234567", "j", "s"))

    def suppressions(*pairs):
        return pl.DataFrame(list(pairs), schema={"organization_id": pl.String, "phone": pl.String}, orient="row")

    assert invariants.suppressed_rows(rows, suppressions(("*", "+358401234567"))) == 2
    assert invariants.suppressed_rows(rows, suppressions(("o", "+358401234567"))) == 1
    assert invariants.suppressed_rows(rows, suppressions(("q", "+358401234567"), ("*", "+358409999999"))) == 0
    assert invariants.suppressed_rows(rows, suppressions()) == 0


def test_accounting_finds_records_in_no_row_ids_without_record_and_missing_exclusions():
    records = enriched(("o", "buyer", "+1", "s1", None), ("o", "buyer", "+1", "s2", None), ("o", "buyer", None, "s3", "no_phone"))
    excluded = pl.DataFrame([{n: "x" for n in C.EXCLUSIONS}], schema=C.EXCLUSIONS)
    assert invariants.unaccounted_records(records, [dataset(("o", "buyer", "+1", "j", "s1;s2"))], excluded) == {
        "records_in_no_row": 0, "ids_listed_without_record": 0, "exclusions_missing_or_extra": 0}
    assert invariants.unaccounted_records(records, [dataset(("o", "buyer", "+1", "j", "s1;s9"))], excluded.head(0)) == {
        "records_in_no_row": 1, "ids_listed_without_record": 1, "exclusions_missing_or_extra": 1}


def test_rows_per_organization_and_the_organizations_that_changed_suddenly():
    rows = dataset(("o", "buyer", "+1", "j", "s"), ("o", "buyer", "+2", "j", "s"), ("p", "buyer", "+1", "j", "s"))
    assert invariants.rows_per_organization(rows) == {"o": 2, "p": 1}
    assert invariants.rows_per_organization(rows.head(0)) == {}
    yesterday = {"falls": 100, "grows": 100, "steady": 100, "gone": 10, "edge": 100}
    today = {"falls": 49, "grows": 151, "steady": 120, "edge": 150, "new": 7}
    assert invariants.sudden_changes(yesterday, today, 0.5) == [
        {"organization_id": "falls", "yesterday": 100, "today": 49, "change": -0.51},
        {"organization_id": "gone", "yesterday": 10, "today": 0, "change": -1.0},
        {"organization_id": "grows", "yesterday": 100, "today": 151, "change": 0.51},
    ]
    assert invariants.sudden_changes({}, today, 0.5) == []  # a first day
    assert invariants.sudden_changes(yesterday, today, 2.0) == []
