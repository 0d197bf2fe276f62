"""Reply keywords (sending.md, "Delivery and replies"): the whole body, trimmed, any case."""

import pytest

from campaign_pipeline.sending.rules.keywords import HELP, START, STOP, keyword_action

STOPS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE", "STOP ALL"]


@pytest.mark.parametrize("body", STOPS + ["stop", " Stop\n", "\tstop all ", "Stop  All", "unsubscribe"])
def test_stop_keywords(body):
    assert keyword_action(body) == STOP


@pytest.mark.parametrize("body", ["START", "yes", " Unstop "])
def test_start_keywords(body):
    assert keyword_action(body) == START


@pytest.mark.parametrize("body", ["HELP", "info", " Help\r\n"])
def test_help_keywords(body):
    assert keyword_action(body) == HELP


@pytest.mark.parametrize("body", ["", "   ", "stop please", "please stop", "STOP!", "S T O P", "helpful", "yes!",
                                  "Thanks, see you", "STOPP", "ＳＴＯＰ"])
def test_anything_else_is_a_plain_reply(body):
    assert keyword_action(body) is None


def test_advanced_opt_out_type_counts_for_stop_and_start_only():
    # Twilio's Advanced Opt-Out may have custom keywords (a Finnish "LOPETA"); it has already
    # blocked the number for STOP, so the product records it. Its HELP it answers itself.
    assert keyword_action("LOPETA", opt_out_type="STOP") == STOP
    assert keyword_action("ALOITA", opt_out_type="start") == START
    assert keyword_action("APUA", opt_out_type="HELP") is None
    assert keyword_action("hello", opt_out_type="") is None
