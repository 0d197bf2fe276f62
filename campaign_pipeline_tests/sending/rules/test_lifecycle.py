import pytest

from campaign_pipeline.common.errors import InputError
from campaign_pipeline.sending.rules.lifecycle import (
    CAMPAIGN_STATES, CANCELLABLE_MESSAGE_STATUSES, COMMANDS, FINAL_MESSAGE_STATUSES, HANDED_OVER_STATUSES,
    MESSAGE_STATUSES, SKIP_REASONS, IllegalTransition, allowed_from, campaign_rollup, moves_forward, target,
)


def test_states_and_statuses_are_the_contracts():
    assert CAMPAIGN_STATES == ("draft", "scheduled", "sending", "paused", "sent", "cancelled", "failed")
    assert set(MESSAGE_STATUSES) == {
        "pending", "deferred", "submitting", "accepted", "queued", "sending", "sent", "delivered",
        "undelivered", "failed", "skipped", "cancelled", "unknown"}
    assert FINAL_MESSAGE_STATUSES == frozenset({"delivered", "undelivered", "failed", "skipped", "cancelled", "unknown"})
    assert SKIP_REASONS == ("suppressed", "no_window", "too_long")
    assert CANCELLABLE_MESSAGE_STATUSES == frozenset({"pending", "deferred"})
    assert "submitting" in HANDED_OVER_STATUSES and "skipped" not in HANDED_OVER_STATUSES


@pytest.mark.parametrize(("command", "sources", "result"), [
    ("update", {"draft"}, "draft"),
    ("delete", {"draft"}, None),
    ("schedule", {"draft"}, "scheduled"),
    ("test", {"draft"}, "draft"),
    ("pause", {"scheduled", "sending"}, "paused"),
    ("cancel", {"scheduled", "sending", "paused"}, "cancelled"),
    ("start", {"scheduled"}, "sending"),
    ("finish", {"sending"}, "sent"),
    ("fail", {"sent"}, "failed"),
])
def test_the_transition_table(command, sources, result):
    assert allowed_from(command) == frozenset(sources)
    for state in sources:
        assert target(command, state) == result


def test_resume_returns_to_where_the_campaign_was_paused():
    assert allowed_from("resume") == frozenset({"paused"})
    assert target("resume", "paused", paused_from="scheduled") == "scheduled"
    assert target("resume", "paused", paused_from="sending") == "sending"
    assert target("pause", "sending") == "paused"
    with pytest.raises(ValueError):
        target("resume", "paused", paused_from="draft")


def test_sent_and_failed_are_reached_only_by_sending():
    by_users = {command: target(command, min(allowed_from(command)), paused_from="sending")
                for command in COMMANDS if command not in ("start", "finish", "fail")}
    assert set(by_users) == {"update", "delete", "schedule", "test", "pause", "resume", "cancel"}
    assert not {"sent", "failed"} & set(by_users.values())


@pytest.mark.parametrize(("command", "current"), [
    ("pause", "draft"), ("update", "scheduled"), ("schedule", "sent"), ("resume", "sending"),
    ("cancel", "draft"), ("cancel", "cancelled"), ("delete", "paused"), ("test", "failed"),
])
def test_any_other_transition_is_a_usage_error_naming_the_current_state(command, current):
    with pytest.raises(IllegalTransition, match=f"cannot {command} campaign 12: it is {current}"):
        target(command, current, campaign_id=12)
    assert issubclass(IllegalTransition, InputError)
    error = IllegalTransition(command, current, 12)
    assert (error.command, error.current) == (command, current)


def test_an_unknown_command_is_a_programming_error():
    with pytest.raises(KeyError):
        allowed_from("launch")


def test_a_message_status_only_moves_forward():
    assert moves_forward("submitting", "accepted")
    assert moves_forward("accepted", "sent")
    assert moves_forward("sent", "delivered")
    assert moves_forward("queued", "failed")
    assert not moves_forward("delivered", "sent")  # a late `sent` after `delivered` is ignored
    assert not moves_forward("sent", "sent")
    assert not moves_forward("delivered", "undelivered")
    assert not moves_forward("failed", "delivered")
    assert not moves_forward("skipped", "sent")  # never handed over: provider news cannot apply


@pytest.mark.parametrize(("counts", "status"), [
    ({"failed": 2, "undelivered": 1, "skipped": 4}, "failed"),
    ({"failed": 2, "delivered": 1}, "sent"),
    ({"failed": 2, "unknown": 1}, "sent"),
    ({"skipped": 3, "cancelled": 1}, "sent"),  # nothing handed over: nothing failed
    ({"failed": 1, "sent": 1}, "sent"),  # still on its way
    ({}, "sent"),
    ({"undelivered": 1, "pending": 0, "delivered": 0}, "failed"),
])
def test_campaign_rollup(counts, status):
    assert campaign_rollup(counts) == status
