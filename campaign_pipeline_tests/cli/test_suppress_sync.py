"""`campaign-cli suppress sync --provider aws-sns` as a real process against moto's SNS
server on 127.0.0.1 (ThreadedMotoServer): the account's opted-out numbers become
`provider_opt_out` suppressions, idempotently."""

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from campaign_pipeline_tests.cli.helpers import logs, output, run, usage_error
from campaign_pipeline_tests.cli.test_suppress import exported

REGION = "eu-west-1"
# moto starts with eight fictional UK numbers, most of which libphonenumber rightly calls invalid;
# these are valid ones (Finnish mobiles). (moto answers in one page; paging: test_sns_provider.py.)
OPTED_OUT = [f"+3584012{i:05d}" for i in range(150)]


@pytest.fixture
def sns_env(moto_endpoint, monkeypatch):
    for name, value in (("AWS_ENDPOINT_URL_SNS", moto_endpoint), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_REGION", REGION)):
        monkeypatch.setenv(name, value)
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    saved = list(backend.opt_out_numbers)
    backend.opt_out_numbers[:] = OPTED_OUT
    yield backend
    backend.opt_out_numbers[:] = saved


def test_sync_adds_each_opted_out_number_once(campaign_db_url, sns_env):
    sns_env.opt_out_numbers.extend(["+358401234567", "+358401234567", "+447700900149"])  # the last is fictional
    first = run(campaign_db_url, "suppress", "sync", "--provider", "aws-sns", "--org", "org-1")
    assert output(first) == {"opted_out": 153, "added": 151, "already": 1, "invalid": 1}
    assert any(entry["event"] == "suppressions_synced" for entry in logs(first.stderr))
    rows = exported(campaign_db_url, "--org", "org-1")
    assert ["org-1", "+358401234567", "provider_opt_out", "aws-sns"] in rows and len(rows) == 151
    assert {tuple(row[2:]) for row in rows} == {("provider_opt_out", "aws-sns")}
    # Again, with one more number: only that one is new; nothing else changes.
    sns_env.opt_out_numbers.append("+358509876543")
    again = output(run(campaign_db_url, "suppress", "sync", "--provider", "aws-sns", "--org", "org-1"))
    assert (again["added"], again["already"]) == (1, 152)
    assert exported(campaign_db_url, "--org", "org-2") == []  # another organization is untouched


def test_sync_for_every_organization_and_a_suppression_kept_as_it_was(campaign_db_url, sns_env):
    output(run(campaign_db_url, "suppress", "add", "--all", "--reason", "complaint", OPTED_OUT[7]))
    result = output(run(campaign_db_url, "suppress", "sync", "--provider", "aws-sns", "--all"))
    assert (result["added"], result["already"]) == (149, 1)
    rows = exported(campaign_db_url, "--all")
    assert ["*", OPTED_OUT[7], "complaint", "cli"] in rows and len(rows) == 150  # the first row is kept


def test_sync_usage_and_provider_failures(campaign_db_url, monkeypatch):
    assert "--provider" in usage_error(run(campaign_db_url, "suppress", "sync", "--org", "org-1"))
    assert "invalid choice" in usage_error(run(campaign_db_url, "suppress", "sync", "--provider", "twilio",
                                               "--org", "org-1"))
    assert "--org" in usage_error(run(campaign_db_url, "suppress", "sync", "--provider", "aws-sns"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    assert "AWS_REGION" in usage_error(run(campaign_db_url, "suppress", "sync", "--provider", "aws-sns", "--all"))
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")  # nothing listens: unavailable, exit 1
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    failed = run(campaign_db_url, "suppress", "sync", "--provider", "aws-sns", "--all")
    assert failed.returncode == 1 and logs(failed.stderr)[-1]["event"] == "run_failed"
    assert exported(campaign_db_url) == []
