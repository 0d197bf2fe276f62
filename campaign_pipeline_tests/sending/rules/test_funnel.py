"""The delivery funnel's shape, ratios and bars (rules/funnel.py)."""

from campaign_pipeline.sending.rules.funnel import StatusGroup, bar, lines, markdown, percent, shape, status_counts
from campaign_pipeline.sending.rules.lifecycle import MESSAGE_STATUSES

GROUPS = [
    StatusGroup("delivered", None, 6, 7),
    StatusGroup("undelivered", "30003", 1, 1),
    StatusGroup("failed", "30005", 1, 2),
    StatusGroup("failed", "30007", 2, 2),
    StatusGroup("failed", None, 1, 1),
    StatusGroup("sending", None, 1, 1),
    StatusGroup("unknown", None, 1, 1),
    StatusGroup("skipped", None, 3, 3),  # never handed over: not billed, not in the steps
    StatusGroup("pending", None, 2, 2),
]


def test_the_funnel_counts_each_step_among_the_messages_handed_over():
    funnel = shape(GROUPS, replies=4, opt_outs=1)
    assert {key: funnel[key] for key in ("messages", "handed_over", "sent", "delivered", "undelivered", "failed",
                                         "replies", "opt_outs", "segments")} == {
        "messages": 18, "handed_over": 13, "sent": 7, "delivered": 6, "undelivered": 1, "failed": 4,
        "replies": 4, "opt_outs": 1, "segments": 15}
    # Most frequent first; a failure without a code is `none`.
    assert list(funnel["failed_by_error_code"].items()) == [("30007", 2), ("30005", 1), ("none", 1)]
    assert funnel["undelivered_by_error_code"] == {"30003": 1}
    assert funnel["percent"] == {"handed_over": 100.0, "sent": 53.8, "delivered": 46.2, "undelivered": 7.7,
                                 "failed": 30.8, "replies": 30.8, "opt_outs": 7.7}


def test_nothing_handed_over_has_no_percentages_and_no_bars():
    funnel = shape([StatusGroup("pending", None, 3, 3)])
    assert funnel["handed_over"] == 0 and funnel["segments"] == 0
    assert set(funnel["percent"].values()) == {None}
    assert funnel["failed_by_error_code"] == {} and funnel["undelivered_by_error_code"] == {}
    assert "  handed over  0       -\n  sent         0       -" in "\n".join(lines(funnel))
    assert shape([])["messages"] == 0


def test_status_counts_name_every_status():
    counts = status_counts(GROUPS)
    assert tuple(counts) == MESSAGE_STATUSES and counts["failed"] == 4 and counts["queued"] == 0


def test_bars_grow_in_eighths_and_a_sliver_shows_a_rare_failure():
    assert bar(0, 10) == "" and bar(3, 0) == ""
    assert bar(10, 10) == "█" * 20
    assert bar(5, 10) == "█" * 10
    assert bar(1, 1000) == "▏"  # 0.16 of an eighth, still drawn
    assert bar(3, 16, width=4) == "▊"  # 6 eighths
    assert percent(1, 3) == 33.3 and percent(1, 0) is None


def test_lines_and_markdown_read_as_a_funnel():
    funnel = shape(GROUPS, replies=4, opt_outs=1)
    text = lines(funnel)
    assert text[0] == "funnel (18 messages, 13 handed over):"
    assert text[1] == "  handed over  13  100.0%  " + "█" * 20
    assert text[3].startswith("  delivered     6   46.2%  █████████")
    assert "    30007       2" in text and "    no code     1" in text
    assert text[-1] == "  segments     15"
    document = markdown(funnel, "Campaign 7")
    assert document.startswith("### Campaign 7\n\n**46.2% delivered**: 6 of 13 messages handed over.\n")
    assert "Nothing handed over yet." in markdown(shape([]))
    assert "| delivered | 6 | 46.2% | `█████████▎` |" in document
    assert "| failed | 30007 | 2 |" in document and "| undelivered | 30003 | 1 |" in document
