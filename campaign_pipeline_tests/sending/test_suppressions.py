"""Suppressions in the campaign database, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from campaign_pipeline.core.errors import InputError
from campaign_pipeline.sending import suppressions
from campaign_pipeline.sending.db.models import suppressions as table


def rows(campaign_engine):
    with campaign_engine.connect() as connection:
        return sorted((r.organization_id, r.phone, r.reason, r.source) for r in connection.execute(select(table)))


def test_import_counts_added_already_and_invalid(campaign_engine):
    suppressions.add(campaign_engine, "org-1", ["+358401234567"], "dnc", "cli")
    entries = ["040 123 4567", "050 765 4321", "+358 50 765 4321", "n/a", "0507654321", "", "123"]
    counts = suppressions.import_entries(campaign_engine, "org-1", entries, "FI", "unsubscribe", "import:a.csv")
    # 0401234567 existed; 0507654321 is new once and repeated twice; three entries are not numbers
    assert counts.as_dict() == {"added": 1, "already": 3, "invalid": 3}
    assert rows(campaign_engine) == [("org-1", "+358401234567", "dnc", "cli"),
                            ("org-1", "+358507654321", "unsubscribe", "import:a.csv")]


def test_adding_an_existing_suppression_keeps_the_first(campaign_engine):
    suppressions.add(campaign_engine, "org-1", ["+358401234567"], "complaint", "cli")
    assert suppressions.add(campaign_engine, "org-1", ["+358401234567"], "dnc", "other") == {
        "added": 0, "already": 1, "invalid": 0}
    assert rows(campaign_engine) == [("org-1", "+358401234567", "complaint", "cli")]


def test_scopes_are_separate_and_star_is_every_organization(campaign_engine):
    suppressions.add(campaign_engine, "*", ["+358401111111"], "dnc", "cli")
    suppressions.add(campaign_engine, "org-1", ["+358402222222"], "dnc", "cli")
    suppressions.add(campaign_engine, "org-2", ["+358403333333"], "dnc", "cli")
    with campaign_engine.connect() as connection:
        assert suppressions.is_suppressed(connection, "org-1", "+358401111111")
        assert suppressions.is_suppressed(connection, "org-1", "+358402222222")
        assert not suppressions.is_suppressed(connection, "org-1", "+358403333333")
        assert suppressions.is_suppressed(connection, "org-9", "+358401111111")
    frame = suppressions.suppressed_numbers(campaign_engine, ["org-1"])
    assert sorted(frame.iter_rows()) == [("*", "+358401111111"), ("org-1", "+358402222222")]
    assert suppressions.suppressed_numbers(campaign_engine, []).columns == ["organization_id", "phone"]


def test_remove_touches_only_its_scope(campaign_engine):
    suppressions.add(campaign_engine, "*", ["+358401111111"], "dnc", "cli")
    suppressions.add(campaign_engine, "org-1", ["+358401111111", "+358402222222"], "dnc", "cli")
    assert suppressions.remove(campaign_engine, "org-1", ["+358401111111", "+358409999999"]) == {"removed": 1, "absent": 1}
    assert rows(campaign_engine) == [("*", "+358401111111", "dnc", "cli"), ("org-1", "+358402222222", "dnc", "cli")]


def test_one_at_a_time_inside_a_transaction_and_start_removes_only_a_stop_reply(campaign_engine):
    with campaign_engine.begin() as connection:
        assert suppressions.add_one(connection, "org-1", "+358401111111", "stop_reply", "stop_reply")
        assert not suppressions.add_one(connection, "org-1", "+358401111111", "dnc", "cli")
        assert suppressions.add_one(connection, "org-1", "+358402222222", "dnc", "cli")
    with campaign_engine.begin() as connection:
        assert not suppressions.remove_one(connection, "org-1", "+358402222222", reason="stop_reply")
        assert suppressions.remove_one(connection, "org-1", "+358401111111", reason="stop_reply")
    assert rows(campaign_engine) == [("org-1", "+358402222222", "dnc", "cli")]


def test_export_is_sorted_by_its_columns_with_utc_z_times(campaign_engine):
    suppressions.add(campaign_engine, "org-2", ["+358402222222"], "dnc", "cli")
    suppressions.add(campaign_engine, "*", ["+358403333333", "+358401111111"], "complaint", 'import:"odd, name".csv')
    suppressions.add(campaign_engine, "org-1", ["+358401111111"], "dnc", "cli")
    text = suppressions.export_csv(suppressions.export_rows(campaign_engine, None))
    lines = text.splitlines()
    assert lines[0] == "organization_id,phone,reason,source,created_at"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["*", "+358401111111"], ["*", "+358403333333"], ["org-1", "+358401111111"], ["org-2", "+358402222222"]]
    assert lines[1].startswith('*,+358401111111,complaint,"import:""odd, name"".csv",')
    stamp = datetime.strptime(lines[-1].rsplit(",", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 120
    only_star = suppressions.export_csv(suppressions.export_rows(campaign_engine, "*")).splitlines()
    assert [line.split(",")[0] for line in only_star[1:]] == ["*", "*"]
    empty = suppressions.export_csv(suppressions.export_rows(campaign_engine, "org-9"))
    assert empty == "organization_id,phone,reason,source,created_at\n"


def test_an_invalid_number_given_one_by_one_names_it_masked(campaign_engine):
    with pytest.raises(InputError) as raised:
        suppressions.normalize_each(["040 123 4567", "12345678901234567890"], "FI")
    assert "1234567890123456" not in str(raised.value) and "***" in str(raised.value)
    with pytest.raises(InputError, match="region"):
        suppressions.normalize_each(["040 123 4567"], "XX")


def test_an_unknown_reason_is_refused(campaign_engine):
    with pytest.raises(InputError, match="reason"):
        suppressions.add(campaign_engine, "org-1", ["+358401234567"], "because", "cli")
    assert rows(campaign_engine) == []


def test_a_large_import_is_counted_exactly(campaign_engine):
    numbers = [f"+35840{n:07d}" for n in range(50_000)]
    suppressions.add(campaign_engine, "org-1", numbers[:1000], "dnc", "cli")
    counts = suppressions.import_entries(campaign_engine, "org-1", numbers + numbers[:10], "FI", "dnc", "import:x")
    assert counts.as_dict() == {"added": 49_000, "already": 1010, "invalid": 0}
    with campaign_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(table)).scalar() == 50_000
