"""A campaign's delivery funnel (sending.md, "Delivery and replies"): from the
messages handed over to the provider down to those delivered, with what failed
and why, the replies and the opt-outs they brought, and the segments paid for.

Pure shaping of counts the database grouped (sending/funnel.py reads them);
`campaign show` prints it and the Dagster asset `campaign_delivery` draws it,
both with the lines and bars made here.

The steps, each counted among the campaign's own messages (test messages are
not in a campaign's funnel):
- handed_over: reached the provider (lifecycle.HANDED_OVER_STATUSES);
- sent: went on to the carrier (`sent`, `delivered`, `undelivered`): Twilio's
  `failed` never left it, `undelivered` left it and did not arrive;
- delivered, undelivered, failed: the outcomes; failed and undelivered broken
  down by the provider's error code;
- replies: inbound messages linked to the campaign's messages; opt_outs: the
  recipients among them who replied a STOP keyword;
- segments: what the provider bills, summed over the messages handed over.
Percentages are of the messages handed over (None while there are none).
"""

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from campaign_pipeline.sending.rules.lifecycle import HANDED_OVER_STATUSES, MESSAGE_STATUSES

SENT_STATUSES = frozenset({"sent", "delivered", "undelivered"})
# The rows of the funnel as people read it, with the percentage next to each.
STEPS = ("handed_over", "sent", "delivered", "undelivered", "failed", "replies", "opt_outs")
LABELS = {"handed_over": "handed over", "opt_outs": "opt-outs"}
NO_CODE = "none"  # a failure the provider gave no error code for (a JSON key must be text)
BAR_WIDTH = 20
_EIGHTHS = " ▏▎▍▌▋▊▉"


class StatusGroup(NamedTuple):
    """Messages of one status and error code: how many, and their segments."""

    status: str
    error_code: str | None
    messages: int
    segments: int


def status_counts(groups: Iterable[StatusGroup]) -> dict[str, int]:
    """Messages per status, every status present (0 when none)."""
    counts = dict.fromkeys(MESSAGE_STATUSES, 0)
    for group in groups:
        counts[group.status] = counts.get(group.status, 0) + group.messages
    return counts


def shape(groups: Iterable[StatusGroup], replies: int = 0, opt_outs: int = 0) -> dict:
    """The funnel document of a campaign from its grouped messages and replies."""
    groups = list(groups)
    counts = status_counts(groups)
    handed_over = sum(counts[status] for status in HANDED_OVER_STATUSES)
    funnel = {
        "messages": sum(counts.values()),
        "handed_over": handed_over,
        "sent": sum(counts[status] for status in SENT_STATUSES),
        "delivered": counts["delivered"],
        "undelivered": counts["undelivered"],
        "failed": counts["failed"],
        "failed_by_error_code": _by_code(groups, "failed"),
        "undelivered_by_error_code": _by_code(groups, "undelivered"),
        "replies": replies,
        "opt_outs": opt_outs,
        "segments": sum(g.segments for g in groups if g.status in HANDED_OVER_STATUSES),
    }
    funnel["percent"] = {step: percent(funnel[step], handed_over) for step in STEPS}
    return funnel


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, to one decimal; None of nothing."""
    return round(100 * part / whole, 1) if whole else None


def bar(part: int, whole: int, width: int = BAR_WIDTH) -> str:
    """A bar of `width` characters at most, in eighths of a character; a part above
    zero always shows (a sliver), so a rare failure is not drawn as none."""
    if not whole or part <= 0:
        return ""
    eighths = max(1, round(8 * width * min(part, whole) / whole))
    return "█" * (eighths // 8) + _EIGHTHS[eighths % 8].strip()


def lines(funnel: Mapping) -> list[str]:
    """The funnel for people: one line a step with count, percentage and bar, each
    failure's error codes under it, then the segments."""
    whole = funnel["handed_over"]
    width = max(len(str(funnel[step])) for step in (*STEPS, "segments"))
    out = [f"funnel ({funnel['messages']} messages, {whole} handed over):"]
    for step in STEPS:
        shown = funnel["percent"][step]
        share = "     -" if shown is None else f"{shown:5.1f}%"
        out.append(f"  {_label(step):<13}{funnel[step]:>{width}}  {share}  {bar(funnel[step], whole)}".rstrip())
        for code, count in funnel.get(f"{step}_by_error_code", {}).items():
            out.append(f"    {_code(code):<11}{count:>{width}}")
    out.append(f"  {'segments':<13}{funnel['segments']:>{width}}")
    return out


def markdown(funnel: Mapping, title: str = "Delivery") -> str:
    """The funnel as Markdown: a table of the steps with their bars, and the error
    codes of what did not arrive (for Dagster's metadata)."""
    whole = funnel["handed_over"]
    rate = funnel["percent"]["delivered"]
    headline = ("Nothing handed over yet." if rate is None
                else f"**{rate:.1f}% delivered**: {funnel['delivered']} of {whole} messages handed over.")
    out = [f"### {title}", "", headline, "", "| step | messages | % of handed over | |", "| --- | ---: | ---: | --- |"]
    for step in STEPS:
        shown = funnel["percent"][step]
        out.append(f"| {_label(step)} | {funnel[step]} | {'-' if shown is None else f'{shown:.1f}%'} "
                   f"| `{bar(funnel[step], whole) or ' '}` |")
    codes = [(status, code, count) for status in ("failed", "undelivered")
             for code, count in funnel[f"{status}_by_error_code"].items()]
    if codes:
        out += ["", "| outcome | error code | messages |", "| --- | --- | ---: |"]
        out += [f"| {status} | {_code(code)} | {count} |" for status, code, count in codes]
    out += ["", f"{funnel['messages']} messages, {funnel['segments']} segments billed."]
    return "\n".join(out)


def _by_code(groups: list[StatusGroup], status: str) -> dict[str, int]:
    """Error code -> messages of that status, most frequent first."""
    codes: dict[str, int] = {}
    for group in groups:
        if group.status == status and group.messages:
            key = group.error_code or NO_CODE
            codes[key] = codes.get(key, 0) + group.messages
    return dict(sorted(codes.items(), key=lambda item: (-item[1], item[0])))


def _label(step: str) -> str:
    return LABELS.get(step, step)


def _code(code: str) -> str:
    return "no code" if code == NO_CODE else code
