"""`campaign-cli kill-switch on|off|status`."""

from campaign_pipeline_tests.cli.helpers import output, run, usage_error


def test_the_kill_switch_is_off_until_turned_on_and_stays_as_set(campaign_db_url):
    assert output(run(campaign_db_url, "kill-switch", "status")) == {"kill_switch": "off", "since": None}
    assert output(run(campaign_db_url, "kill-switch", "on"))["kill_switch"] == "on"
    status = output(run(campaign_db_url, "kill-switch", "status"))
    assert status["kill_switch"] == "on" and status["since"].endswith("Z")
    assert output(run(campaign_db_url, "kill-switch", "off"))["kill_switch"] == "off"
    assert output(run(campaign_db_url, "kill-switch", "status"))["kill_switch"] == "off"


def test_an_unknown_state_is_a_usage_error(campaign_db_url):
    assert "invalid choice" in usage_error(run(campaign_db_url, "kill-switch", "maybe"))
