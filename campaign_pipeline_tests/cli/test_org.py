"""`campaign-cli org set|show`: defaults, updates, validation, verbatim text."""

import pytest

from campaign_pipeline_tests.cli.helpers import output, run, usage_error

DEFAULTS = {"sender": None, "timezone": "Europe/Helsinki", "window": "09:00-20:00", "daily_quota": None,
            "mps": 10, "help_text": None}


def settings(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in ("created_at", "updated_at")}


def test_a_new_organization_has_the_defaults(campaign_db_url):
    created = output(run(campaign_db_url, "org", "set", "org-1"))
    assert settings(created) == {"id": "org-1", **DEFAULTS}
    assert created["created_at"].endswith("Z") and created["updated_at"].endswith("Z")
    assert output(run(campaign_db_url, "org", "show", "org-1", "--json")) == created


def test_set_changes_only_the_flags_given(campaign_db_url):
    run(campaign_db_url, "org", "set", "org-1", "--sender", "+358401234567", "--mps", "5", "--daily-quota", "1000")
    changed = output(run(campaign_db_url, "org", "set", "org-1", "--timezone", "America/New_York",
                         "--window", "00:00-24:00"))
    assert settings(changed) == {**DEFAULTS, "id": "org-1", "sender": "+358401234567", "mps": 5,
                                 "daily_quota": 1000, "timezone": "America/New_York", "window": "00:00-24:00"}
    cleared = output(run(campaign_db_url, "org", "set", "org-1", "--sender", "", "--daily-quota", "none"))
    assert cleared["sender"] is None and cleared["daily_quota"] is None and cleared["mps"] == 5


@pytest.mark.parametrize("sender", ["+358401234567", "PhotoShop", "Kuvat 2026", "MG" + "0123456789abcdef" * 2])
def test_each_kind_of_sender_is_accepted(campaign_db_url, sender):
    assert output(run(campaign_db_url, "org", "set", "org-1", "--sender", sender))["sender"] == sender


def test_the_text_show_lists_every_setting(campaign_db_url):
    run(campaign_db_url, "org", "set", "org-1", "--sender", "PhotoShop")
    result = run(campaign_db_url, "org", "show", "org-1")
    assert result.returncode == 0
    assert "PhotoShop" in result.stdout and "Europe/Helsinki" in result.stdout and "09:00-20:00" in result.stdout


@pytest.mark.parametrize(("flags", "named"), [
    (["--window", "25:00-07:00"], "25:00-07:00"),
    (["--window", "10:00-09:00"], "not before"),
    (["--window", "9-17"], "HH:MM-HH:MM"),
    (["--window", "09:00-24:30"], "24:30"),
    (["--timezone", "Mars/Olympus_Mons"], "Mars/Olympus_Mons"),
    (["--timezone", "../../etc/passwd"], "time zone"),
    (["--sender", "ThirteenChars"], "--sender"),
    (["--sender", "x'; DROP TABLE organizations; --"], "--sender"),
    (["--sender", "+0401234567"], "--sender"),
    (["--sender", "MG" + "0" * 31], "--sender"),
    (["--sender", "12345"], "--sender"),
    (["--mps", "0"], "--mps"),
    (["--mps", "fast"], "--mps"),
    (["--daily-quota", "-5"], "--daily-quota"),
    # Beyond the INTEGER column (PostgreSQL's 4 bytes) and beyond SQLite's 8: a usage error, not a crash.
    (["--mps", "2147483648"], "--mps"),
    (["--mps", "99999999999999999999"], "--mps"),
    (["--daily-quota", "9223372036854775808"], "--daily-quota"),
    (["--daily-quota", "99999999999999999999"], "--daily-quota"),
    (["--mps", "\uff11\uff10"], "--mps"),  # full-width digits: ASCII only, as every number typed
])
def test_every_bad_setting_is_exit_2_naming_it_and_changes_nothing(campaign_db_url, flags, named):
    before = output(run(campaign_db_url, "org", "set", "org-1", "--sender", "PhotoShop"))
    assert named in usage_error(run(campaign_db_url, "org", "set", "org-1", *flags))
    assert output(run(campaign_db_url, "org", "show", "org-1", "--json")) == before


def test_a_count_beyond_the_column_says_the_bound(campaign_db_url):
    assert "at most 2,147,483,647" in usage_error(run(campaign_db_url, "org", "set", "org-1", "--mps", "2147483648"))


def test_the_largest_count_the_column_holds_is_accepted(campaign_db_url):
    largest = output(run(campaign_db_url, "org", "set", "org-1", "--mps", "2147483647", "--daily-quota", "2147483647"))
    assert (largest["mps"], largest["daily_quota"]) == (2147483647, 2147483647)


def test_a_bad_setting_does_not_create_the_organization(campaign_db_url):
    usage_error(run(campaign_db_url, "org", "set", "org-2", "--mps", "5", "--window", "25:00-07:00"))
    assert "not found" in usage_error(run(campaign_db_url, "org", "show", "org-2"))


def test_star_and_blank_are_not_organization_ids(campaign_db_url):
    assert "--all" in usage_error(run(campaign_db_url, "org", "set", "*"))
    usage_error(run(campaign_db_url, "org", "set", " "))


def test_a_never_set_organization_is_not_found(campaign_db_url):
    assert "'org-9' not found" in usage_error(run(campaign_db_url, "org", "show", "org-9", "--json"))


def test_help_text_and_ids_come_back_verbatim_whatever_they_hold(campaign_db_url):
    text = ("Apua? Soita 'Kuvaamo' \"HELP\" 😀📸 -- ; DROP TABLE organizations; %s %% \\ \n\t"
            "ÄÖÅ 漢字 " * 200)[:10_000]
    organization_id = "org'; DELETE FROM suppressions; --😀"
    assert len(text) == 10_000
    created = output(run(campaign_db_url, "org", "set", organization_id, "--help-text", text, "--sender", "Kuvat"))
    assert created["help_text"] == text and created["id"] == organization_id
    shown = output(run(campaign_db_url, "org", "show", organization_id, "--json"))
    assert shown["help_text"] == text and shown["sender"] == "Kuvat"
    assert text in run(campaign_db_url, "org", "show", organization_id).stdout
