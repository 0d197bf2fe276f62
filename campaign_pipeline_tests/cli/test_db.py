"""`campaign-cli db upgrade` and what every database command shares."""

import subprocess
import sys

from campaign_pipeline_tests.cli.helpers import logs, output, run

HEAVY = ("sqlalchemy", "alembic", "polars", "dagster", "psycopg2")


def test_db_upgrade_applies_the_migrations_and_is_idempotent(campaign_db_url):
    from campaign_pipeline.sending.db.engine import head_revision

    assert head_revision() == "0003"  # the newest migration file: 0003 indexes replies by message
    assert head_revision() == _alembic_head()
    assert output(run(campaign_db_url, "db", "upgrade")) == {"revision": head_revision()}
    assert output(run(campaign_db_url, "db", "upgrade")) == {"revision": head_revision()}


def _alembic_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from campaign_pipeline.sending.db.engine import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_an_up_to_date_database_is_opened_without_loading_alembic(campaign_db_url):
    # Alembic's import is a fifth of a dispatch's start; an up-to-date database needs none of it.
    probe = ("import sys; from campaign_pipeline.sending.db.engine import open_database; "
             f"open_database({campaign_db_url!r}); print('alembic' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    again = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False"), first.stderr + again.stderr


def test_an_unreachable_database_is_exit_1_in_one_line_with_the_password_masked():
    result = run("postgresql+psycopg2://campaign:pa55word@127.0.0.1:9/campaign", "db", "upgrade")
    assert result.returncode == 1
    (entry,) = logs(result.stderr)
    assert entry["event"] == "run_failed" and "unreachable" in entry["message"]
    assert "pa55word" not in result.stderr and "127.0.0.1:9/campaign" in entry["message"]


def test_the_default_database_is_the_state_folder_of_the_current_folder(tmp_path):
    result = subprocess.run([sys.executable, "-m", "campaign_pipeline.cli", "kill-switch", "status"], cwd=tmp_path,
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".state" / "campaign.db").is_file()


def test_help_imports_no_database_library():
    probe = ("import sys\nfrom campaign_pipeline.cli import _parser\n_parser()\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
    for command in ("db", "org", "suppress", "kill-switch"):
        assert command in run("sqlite:///unused", "--help").stdout
