"""`campaign-cli campaign ...` and `messages export` as users run them: real
processes on a real database (SQLite and PostgreSQL), exit codes, stdout, stderr."""

import csv
import io
import json
import subprocess
import sys

import pytest

from campaign_pipeline.sending.organizations import set_organization
from campaign_pipeline.sending.rules.lifecycle import MESSAGE_STATUSES
from campaign_pipeline_tests.cli.helpers import logs, output, run, usage_error
from campaign_pipeline_tests.sending.campaign_fixtures import dataset_row, engine, write_dataset  # noqa: F401
from campaign_pipeline_tests.sending.delivery_fixtures import FUNNEL, funnel_campaign

PHONES = ("+358401111111", "+358402222222", "+358403333333")


@pytest.fixture
def cli(campaign_db_url, engine, tmp_path):  # noqa: F811 (the fixture)
    """campaign-cli on the `engine` fixture's database (organizations org-1 and org-2)."""
    return lambda *args: run(campaign_db_url, *args, cwd=tmp_path)


@pytest.fixture
def dataset(write_dataset):  # noqa: F811 (the fixture)
    return write_dataset([
        dataset_row(PHONES[0], first_name="Anna", access_key="K1", subject_id="s1"),
        dataset_row(PHONES[1], first_name="Ünal", access_key="K2", subject_id="s2"),
        dataset_row(PHONES[2], first_name="Юрий", access_key="K3", subject_id="s3"),
        dataset_row("+358409999999", organization_id="org-2"),
    ], "json")


def create(cli, dataset, *extra):
    created = output(cli("campaign", "create", "--org", "org-1", "--name", "Spring", "--body",
                         "Hei {first_name}, kuvat: {access_key}", "--dataset", dataset, *extra))
    assert created == {"id": created["id"], "status": "draft"}
    return created["id"]


def test_a_campaign_from_create_to_cancel(cli, dataset):
    campaign_id = create(cli, dataset)
    assert output(cli("campaign", "schedule", campaign_id, "--org", "org-1"))["status"] == "scheduled"
    shown = output(cli("campaign", "show", campaign_id, "--org", "org-1", "--json"))
    assert shown["status"] == "scheduled" and shown["messages"] == dict.fromkeys(MESSAGE_STATUSES, 0) | {"pending": 3}
    for required in ("id", "organization_id", "name", "status", "segment", "day", "dataset", "window",
                     "scheduled_at", "created_at", "updated_at"):
        assert required in shown
    assert output(cli("campaign", "pause", campaign_id, "--org", "org-1"))["status"] == "paused"
    assert output(cli("campaign", "resume", campaign_id, "--org", "org-1"))["status"] == "scheduled"
    cancelled = output(cli("campaign", "cancel", campaign_id, "--org", "org-1"))
    assert cancelled == {"id": campaign_id, "status": "cancelled", "messages_cancelled": 3}
    listed = output(cli("campaign", "list", "--org", "org-1", "--json"))
    assert [(c["id"], c["status"]) for c in listed] == [(campaign_id, "cancelled")]
    text = cli("campaign", "list", "--org", "org-1", "--status", "cancelled").stdout
    assert text.startswith(f"{campaign_id}\tcancelled\t")
    assert "status: cancelled" in cli("campaign", "show", campaign_id, "--org", "org-1").stdout


def test_preview_is_the_same_before_and_after_scheduling_and_changes_nothing(cli, dataset, engine):  # noqa: F811
    # The whole day: with the default 09:00-20:00 the window may open or close
    # between the two previews, and the test is about the frozen audience, not hours.
    set_organization(engine, "org-1", {"window_start": "00:00", "window_end": "24:00"})
    campaign_id = create(cli, dataset)
    def forecast():  # eta moves with the clock: the rest must not
        document = output(cli("campaign", "preview", campaign_id, "--org", "org-1", "--json"))
        assert set(document) >= {"messages", "eta", "finishes_in_window"}
        return {key: value for key, value in document.items() if key not in ("eta", "finishes_in_window")}

    before = forecast()
    assert {key: before[key] for key in ("recipients", "segments", "encoding", "ucs2_characters")} == {
        "recipients": 3, "segments": 3, "encoding": {"gsm7": 2, "ucs2": 1},
        "ucs2_characters": {"Ю": 1, "й": 1, "р": 1, "и": 1}}
    assert sum(before["messages"]["deferred"].values()) + before["messages"]["now"] == 3
    shown = output(cli("campaign", "show", campaign_id, "--org", "org-1", "--json"))
    assert shown["status"] == "draft" and sum(shown["messages"].values()) == 0
    output(cli("campaign", "schedule", campaign_id, "--org", "org-1"))
    assert forecast() == before
    assert "recipients: 3" in cli("campaign", "preview", campaign_id, "--org", "org-1").stdout


def test_messages_export_is_the_contract_csv(cli, dataset, tmp_path):
    campaign_id = create(cli, dataset)
    output(cli("campaign", "schedule", campaign_id, "--org", "org-1"))
    out = tmp_path / "messages.csv"
    written = cli("messages", "export", "--org", "org-1", "--campaign", campaign_id, "--out", out)
    assert written.returncode == 0 and written.stdout == "" and logs(written.stderr)
    text = out.read_text()
    assert cli("messages", "export", "--org", "org-1", "--campaign", campaign_id).stdout == text
    assert text.splitlines()[0] == (
        "campaign_id,organization_id,kind,phone,subject_id,status,reason,encoding,segments,attempts,"
        "provider_message_id,not_before,handed_over_at,updated_at,body")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["phone"] for row in rows] == list(PHONES)
    assert rows[0] | {"updated_at": "T"} == {
        "campaign_id": str(campaign_id), "organization_id": "org-1", "kind": "campaign", "phone": PHONES[0],
        "subject_id": "s1", "status": "pending", "reason": "", "encoding": "gsm7", "segments": "1",
        "attempts": "0", "provider_message_id": "", "not_before": "", "handed_over_at": "",
        "updated_at": "T", "body": "Hei Anna, kuvat: K1"}
    assert rows[0]["updated_at"].endswith("Z") and len(rows[0]["updated_at"]) == 20
    assert rows[2]["body"] == "Hei Юрий, kuvat: K3" and rows[2]["encoding"] == "ucs2"


@pytest.mark.parametrize("target", ["folder", "folder/missing/m.csv", "/proc/x/y.csv", "folder/file/m.csv"])
def test_an_export_target_that_cannot_be_written_is_exit_2_and_writes_nothing(cli, dataset, tmp_path, target):
    # As build's --out: checked before any work, one line, nothing left behind.
    campaign_id = create(cli, dataset)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "file").write_text("x")
    out = target.replace("folder", str(folder)) if target.startswith("folder") else target
    message = usage_error(cli("messages", "export", "--org", "org-1", "--campaign", campaign_id, "--out", out))
    assert "--out" in message and out in message
    assert sorted(p.name for p in folder.iterdir()) == ["file"]


def test_bad_input_is_one_json_line_exit_2_and_changes_nothing(cli, dataset, tmp_path):
    campaign_id = create(cli, dataset)
    other_shape = tmp_path / "other.csv"
    other_shape.write_text("phone,first_name\n+358401111111,Anna\n")
    cases = [
        (("campaign", "show", campaign_id, "--org", "org-2"), f"campaign {campaign_id} not found"),
        (("campaign", "schedule", 9999, "--org", "org-1"), "campaign 9999 not found"),
        (("campaign", "list", "--org", "org-9"), "organization org-9 not found"),
        (("campaign", "create", "--org", "org-1", "--name", "n", "--body", "b", "--dataset", tmp_path / "nope.csv"),
         "does not exist"),
        (("campaign", "create", "--org", "org-1", "--name", "n", "--body", "b", "--dataset", other_shape),
         "missing columns organization_id, segment, region"),
        (("campaign", "create", "--org", "org-1", "--name", "n", "--body", "b", "--day", "2026-12-01"),
         "dataset of 2026-12-01 (buyer) was never loaded: build it in Dagster, or its checks failed"),
        (("campaign", "schedule", campaign_id, "--org", "org-1", "--at", "2020-01-01T00:00:00Z"), "past"),
        (("campaign", "pause", campaign_id, "--org", "org-1"), f"cannot pause campaign {campaign_id}: it is draft"),
        (("campaign", "create", "--org", "org-1", "--name", "n"), "required"),
        (("messages", "export", "--org", "org-2", "--campaign", campaign_id), f"campaign {campaign_id} not found"),
    ]
    for args, words in cases:
        assert words in usage_error(cli(*args)), args
    listed = output(cli("campaign", "list", "--org", "org-1", "--json"))
    assert [(c["id"], c["status"]) for c in listed] == [(campaign_id, "draft")]


def test_text_is_stored_verbatim_and_logs_show_no_phone_or_body(cli, dataset):
    name = 'Kevät "25"; DROP TABLE campaigns; -- 😀 ' + "x" * 10_000
    body = "Hei {first_name} 😀 {{not a placeholder}} ' \" ; -- " + "y" * 9_000
    campaign_id = output(cli("campaign", "create", "--org", "org-1", "--name", name, "--body", body,
                             "--dataset", dataset))["id"]
    shown = output(cli("campaign", "show", campaign_id, "--org", "org-1", "--json"))
    assert (shown["name"], shown["body"]) == (name, body)
    scheduled = cli("campaign", "schedule", campaign_id, "--org", "org-1")
    exported = cli("messages", "export", "--org", "org-1", "--campaign", campaign_id)
    assert "Hei Anna 😀 {not a placeholder}" in exported.stdout
    stderr = json.dumps(logs(scheduled.stderr) + logs(exported.stderr), ensure_ascii=False)
    assert not any(phone[4:] in stderr for phone in PHONES)
    assert "Hei Anna" not in stderr and "yyyy" not in stderr


def test_help_loads_no_database_library():
    probe = ("import sys\nfrom campaign_pipeline.cli import _parser\n_parser()\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'polars', 'dagster'}))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"
    helped = run("sqlite://", "campaign", "--help")
    assert helped.returncode == 0 and "schedule" in helped.stdout


def test_show_draws_the_delivery_funnel_and_gives_it_in_json(cli, engine):  # noqa: F811 (the fixture)
    campaign_id = funnel_campaign(engine)
    assert output(cli("campaign", "show", campaign_id, "--org", "org-1", "--json"))["funnel"] == FUNNEL
    text = cli("campaign", "show", campaign_id, "--org", "org-1")
    assert text.returncode == 0, text.stderr
    funnel = text.stdout.split("funnel (12 messages, 9 handed over):\n")[1].splitlines()
    assert funnel == [
        "  handed over   9  100.0%  ████████████████████",
        "  sent          5   55.6%  ███████████▏",
        "  delivered     4   44.4%  ████████▉",
        "  undelivered   1   11.1%  ██▎",
        "    30003       1",
        "  failed        3   33.3%  ██████▋",
        "    30005       2",
        "    no code     1",
        "  replies       3   33.3%  ██████▋",
        "  opt-outs      1   11.1%  ██▎",
        "  segments     18",
    ]
    assert "status: sent" in text.stdout and "messages:" in text.stdout
