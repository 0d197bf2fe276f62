"""Organizations' settings in the campaign database, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import event

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending import organizations as orgs


def test_a_never_set_organization_has_the_defaults_but_is_not_found(campaign_engine):
    with campaign_engine.connect() as connection:
        assert orgs.get(connection, "org-1") is None
        defaults = orgs.settings(connection, "org-1")
    assert (defaults.sender, defaults.timezone, defaults.window, defaults.daily_quota, defaults.mps) == (
        None, "Europe/Helsinki", "09:00-20:00", None, 10)
    assert (defaults.sending_window.start, defaults.sending_window.end) == (9 * 60, 20 * 60)


def test_the_upsert_is_one_statement_and_keeps_what_it_is_not_given(campaign_engine):
    orgs.set_organization(campaign_engine, "org-1", {"sender": "PhotoShop", "mps": 3})
    writes = []
    event.listen(campaign_engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *a: writes.append(statement) if statement.lstrip().startswith(
                     ("INSERT", "UPDATE")) else None)
    updated = orgs.set_organization(campaign_engine, "org-1", {"window_start": "08:00", "window_end": "24:00"})
    assert len(writes) == 1 and "ON CONFLICT" in writes[0]
    assert (updated.sender, updated.mps, updated.window) == ("PhotoShop", 3, "08:00-24:00")
    assert updated.updated_at >= updated.created_at
    with campaign_engine.connect() as connection:
        assert orgs.by_sender(connection, "PhotoShop").id == "org-1"
        assert orgs.by_sender(connection, "Other") is None


@pytest.mark.parametrize("sender", ["+358401234567", "Kuvat 2026", "A", "MG" + "ab" * 16])
def test_senders_of_each_shape(sender):
    assert orgs.check_sender(sender) == sender


@pytest.mark.parametrize("sender", ["", "12345", "Twelve chars", "+0401234567", "MG" + "ab" * 15 + "g1",
                                    "Kuvat;--", "Kuvät"])
def test_senders_of_no_shape(sender):
    with pytest.raises(InputError):
        orgs.check_sender(sender)
