"""`campaign-cli suppress add|remove|import|export`, as real processes."""

import json
import signal
import time

import pytest

from campaign_pipeline_tests.cli.helpers import logs, output, popen, run, usage_error

HEADER = "organization_id,phone,reason,source,created_at"


def exported(url, *scope) -> list[list[str]]:
    result = run(url, "suppress", "export", *scope)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER
    return [line.split(",")[:4] for line in lines[1:]]


def test_add_export_remove_in_any_format(campaign_db_url):
    assert output(run(campaign_db_url, "suppress", "add", "--org", "org-1", "040 123 4567", "+358 50 765 4321")) == {
        "added": 2, "already": 0, "invalid": 0}
    assert output(run(campaign_db_url, "suppress", "add", "--all", "--reason", "complaint", "0401234567")) == {
        "added": 1, "already": 0, "invalid": 0}
    assert output(run(campaign_db_url, "suppress", "add", "--org", "org-1", "00358401234567")) == {
        "added": 0, "already": 1, "invalid": 0}
    assert output(run(campaign_db_url, "suppress", "add", "--org", "org-2", "--region", "SE", "070-123 45 67")) == {
        "added": 1, "already": 0, "invalid": 0}
    assert exported(campaign_db_url) == [
        ["*", "+358401234567", "complaint", "cli"], ["org-1", "+358401234567", "dnc", "cli"],
        ["org-1", "+358507654321", "dnc", "cli"], ["org-2", "+46701234567", "dnc", "cli"]]
    assert exported(campaign_db_url, "--all") == [["*", "+358401234567", "complaint", "cli"]]
    assert exported(campaign_db_url, "--org", "org-2") == [["org-2", "+46701234567", "dnc", "cli"]]
    assert output(run(campaign_db_url, "suppress", "remove", "--org", "org-1", "040 123 4567", "0409999999")) == {
        "removed": 1, "absent": 1, "invalid": 0}
    assert exported(campaign_db_url, "--org", "org-1") == [["org-1", "+358507654321", "dnc", "cli"]]


def test_export_to_a_file(campaign_db_url, tmp_path):
    run(campaign_db_url, "suppress", "add", "--org", "org-1", "0401234567")
    folder = tmp_path / "exports"
    folder.mkdir()
    result = run(campaign_db_url, "suppress", "export", "--out", folder / "out.csv")
    assert result.returncode == 0 and result.stdout == ""
    lines = (folder / "out.csv").read_text().splitlines()
    assert lines[0] == HEADER and lines[1].startswith("org-1,+358401234567,dnc,cli,") and lines[1].endswith("Z")
    assert [p.name for p in folder.iterdir()] == ["out.csv"]  # no temporary left


def test_import_reads_the_files_build_reads_and_counts(campaign_db_url, tmp_path):
    csv_file = tmp_path / "optouts.csv"
    csv_file.write_text('name,Phone\n"Aho, Anna",040 123 4567\nBo,+358401234567\nCe,not a number\nDe,050 765 4321\n')
    assert output(run(campaign_db_url, "suppress", "import", "--org", "org-1", "--reason", "unsubscribe",
                      csv_file)) == {"added": 2, "already": 1, "invalid": 1}
    plain = tmp_path / "plain.txt"
    plain.write_text("# list\n0401234567\n\n0407777777\n")
    assert output(run(campaign_db_url, "suppress", "import", "--org", "org-1", plain)) == {
        "added": 1, "already": 1, "invalid": 0}
    assert exported(campaign_db_url) == [
        ["org-1", "+358401234567", "unsubscribe", "import:optouts.csv"],
        ["org-1", "+358407777777", "dnc", "import:plain.txt"],
        ["org-1", "+358507654321", "unsubscribe", "import:optouts.csv"]]


@pytest.mark.parametrize("args", [
    ["add", "--org", "org-1", "--reason", "because", "0401234567"],
    ["add", "--org", "org-1", "--region", "XX", "0401234567"],
    ["add", "--org", "org-1", "--all", "0401234567"],
    ["add", "0401234567"],
    ["add", "--org", "*", "0401234567"],
    ["import", "--org", "org-1", "/no/such/file.csv"],
    ["import", "--org", "org-1", "--region", "ZZ", "FILE"],
    ["export", "--org", "org-1", "--all"],
    ["export", "--out", "/no/such/dir/out.csv"],
    ["export", "--out", "/proc/x/y.csv"],
    ["export", "--out", "DIR"],
])
def test_every_bad_input_is_exit_2_in_one_json_line_and_changes_nothing(campaign_db_url, tmp_path, args):
    run(campaign_db_url, "suppress", "add", "--org", "org-1", "0405555555")
    before = run(campaign_db_url, "suppress", "export").stdout
    good_file = tmp_path / "good.txt"
    good_file.write_text("0401234567\n")
    folder = tmp_path / "exports"
    folder.mkdir()
    named = {"FILE": str(good_file), "DIR": str(folder)}
    usage_error(run(campaign_db_url, "suppress", *[named.get(a, a) for a in args]))
    assert run(campaign_db_url, "suppress", "export").stdout == before
    assert list(folder.iterdir()) == []  # nothing half-written


def test_an_invalid_number_is_counted_and_skipped_never_fatal(campaign_db_url):
    # sending.md, "Suppressions": an entry that does not parse is counted as invalid and skipped.
    added = run(campaign_db_url, "suppress", "add", "--org", "org-1", "0401234569", "garbage", "123456789012345678")
    assert output(added) == {"added": 1, "already": 0, "invalid": 2}
    assert "123456789012345678" not in added.stderr
    assert exported(campaign_db_url) == [["org-1", "+358401234569", "dnc", "cli"]]
    assert output(run(campaign_db_url, "suppress", "add", "--org", "org-1", "garbage")) == {
        "added": 0, "already": 0, "invalid": 1}
    assert output(run(campaign_db_url, "suppress", "remove", "--org", "org-1", "12", "040 123 4569", "0409999999")) == {
        "removed": 1, "absent": 1, "invalid": 1}
    assert output(run(campaign_db_url, "suppress", "remove", "--org", "org-1", "nothing")) == {
        "removed": 0, "absent": 0, "invalid": 1}
    assert exported(campaign_db_url) == []


def test_two_processes_importing_and_adding_at_once_neither_fail_nor_duplicate(campaign_db_url, tmp_path):
    output(run(campaign_db_url, "db", "upgrade"))
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("".join(f"+35840{n:07d}\n" for n in range(0, 60_000)))
    second.write_text("".join(f"040 {n:07d}\n" for n in range(30_000, 90_000)))
    processes = [popen(campaign_db_url, "suppress", "import", "--org", "org-1", first),
                 popen(campaign_db_url, "suppress", "import", "--org", "org-1", second),
                 popen(campaign_db_url, "suppress", "add", "--org", "org-1", "+358400000001", "+358409999999")]
    results = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in results]
    counts = [json.loads(out) for out, _ in results]
    for _, err in results:
        logs(err)
    assert counts[0]["added"] + counts[1]["added"] + counts[2]["added"] == 90_001
    assert counts[0]["added"] + counts[0]["already"] == 60_000
    assert counts[1]["added"] + counts[1]["already"] == 60_000
    rows = exported(campaign_db_url, "--org", "org-1")
    assert len(rows) == len({row[1] for row in rows}) == 90_001


def test_an_import_killed_half_way_leaves_the_database_as_it_was(campaign_db_url, tmp_path):
    run(campaign_db_url, "suppress", "add", "--org", "org-1", "0405555555")
    before = run(campaign_db_url, "suppress", "export").stdout
    big = tmp_path / "big.txt"
    big.write_text("".join(f"+3584{n:08d}\n" for n in range(600_000)))
    process = popen(campaign_db_url, "suppress", "import", "--org", "org-1", big)
    # The import logs suppressions_writing once its transaction has begun to write.
    while True:
        line = process.stderr.readline()
        assert line, "the import ended before it wrote"
        if json.loads(line)["event"] == "suppressions_writing":
            break
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL and out == ""  # killed before it could report
    assert run(campaign_db_url, "suppress", "export").stdout == before
    # and the database still works: the same import, whole this time
    assert output(run(campaign_db_url, "suppress", "import", "--org", "org-1", big)) == {
        "added": 600_000, "already": 0, "invalid": 0}
