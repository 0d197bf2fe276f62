"""The production Dagster instance (`dagster.postgres.yaml`) against a real
PostgreSQL server: the `dagster asset materialize` command records its run,
materializations and check evaluations there, and nowhere else.

The module starts its own throwaway server (initdb + pg_ctl, 127.0.0.1 only, a
free port, a data directory it removes), so it needs nothing but the server
binaries. PostgreSQL refuses to run as root; as root the binaries run as the
`postgres` user.
"""

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, DagsterRunStatus

REPO = Path(__file__).resolve().parents[2]
INSTANCE_YAML = REPO / "dagster.postgres.yaml"
DAGSTER = str(Path(sys.executable).parent / "dagster")
DAY = "2026-11-23"
PG_ENV = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB")
EXPECTED_CHECKS = {
    ("campaign_dataset/buyer", "one_row_per_phone"), ("campaign_dataset/buyer", "contract_order"),
    ("campaign_dataset/buyer", "no_suppressed_phone"), ("campaign_dataset/non_buyer", "one_row_per_phone"),
    ("campaign_dataset/non_buyer", "contract_order"), ("campaign_dataset/non_buyer", "no_suppressed_phone"),
    ("exclusions", "every_record_accounted_for"),
}


def _find_initdb() -> str | None:
    found = shutil.which("initdb")
    if found:
        return found
    # Debian keeps the server binaries off PATH, one directory per major version.
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return candidates[-1] if candidates else None


def _without_libpq_settings(env) -> dict:
    """The environment minus libpq's PG* variables (PGSSLMODE, PGOPTIONS, ...),
    which would otherwise reach every connection to the throwaway server."""
    return {k: v for k, v in env.items() if not k.startswith("PG")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """One throwaway PostgreSQL cluster under a private directory."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.owner = None
        self.prefix = []
        if self.as_root:
            import pwd

            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root, and PostgreSQL refuses root: a `postgres` user is needed to run it")
            self.owner = (user.pw_uid, user.pw_gid)
            self.prefix = [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]
        # /tmp, not pytest's tmp_path: the postgres user must reach it, and the
        # socket path must stay under the ~107-byte Unix socket limit.
        self.base = Path(tempfile.mkdtemp(prefix="campaign-pg-", dir="/tmp" if self.as_root else None))
        self.data, self.sockets, self.log = self.base / "data", self.base / "sockets", self.base / "server.log"
        try:
            self.sockets.mkdir(mode=0o700)
            for path in (self.base, self.sockets):
                self._own(path)
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)
            raise
        self.port = 0
        self.started = False
        self.superuser_password = secrets.token_hex(16)

    def _own(self, path: Path) -> None:
        if self.owner:
            os.chown(path, *self.owner)

    def run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        env = {**_without_libpq_settings(os.environ), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run([*self.prefix, str(self.bindir / tool), *args], cwd=self.base, env=env,
                              capture_output=True, text=True, timeout=timeout)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def init(self) -> None:
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.superuser_password + "\n")
        self._own(pwfile)
        # Password auth over TCP, as in production; the socket (private dir) trusts its owner.
        done = self.run("initdb", "-D", str(self.data), "-U", "postgres", f"--pwfile={pwfile}",
                        "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8", "--no-locale",
                        "--no-sync")
        pwfile.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        for _ in range(3):  # another process may take the free port between probe and bind
            self.port = _free_port()
            options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
                       " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            done = self.run("pg_ctl", "start", "-w", "-t", "30", "-D", str(self.data), "-l", str(self.log),
                            "-o", options)
            if done.returncode == 0:
                self.started = True
                return
        raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{self._log_tail()}")

    def stop(self) -> None:
        if self.data.exists() and (self.started or (self.data / "postmaster.pid").exists()):
            done = self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30")
            if done.returncode != 0:
                self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30")
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    """A real PostgreSQL server on 127.0.0.1 with a `dagster` role and database;
    yields the DAGSTER_PG_* settings to reach it, and removes it afterwards."""
    initdb = _find_initdb()
    if initdb is None:
        pytest.skip("PostgreSQL server binaries not found (no initdb on PATH or in /usr/lib/postgresql/*/bin)")

    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("PG"):
                patch.delenv(name)
        yield from _serve(Path(os.path.realpath(initdb)).parent)


def _serve(bindir: Path):
    import psycopg2

    server = _Server(bindir)
    try:
        server.init()
        server.start()
        settings = {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(server.port),
                    "DAGSTER_PG_USER": "dagster", "DAGSTER_PG_PASSWORD": secrets.token_hex(16),
                    "DAGSTER_PG_DB": "dagster"}
        admin = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres",
                                 password=server.superuser_password, dbname="postgres")
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute("CREATE ROLE dagster LOGIN PASSWORD %s", (settings["DAGSTER_PG_PASSWORD"],))
                cursor.execute("CREATE DATABASE dagster OWNER dagster")
        finally:
            admin.close()
        yield settings
    finally:
        server.stop()


def connect(settings):
    import psycopg2

    return psycopg2.connect(host=settings["DAGSTER_PG_HOST"], port=int(settings["DAGSTER_PG_PORT"]),
                            user=settings["DAGSTER_PG_USER"], password=settings["DAGSTER_PG_PASSWORD"],
                            dbname=settings["DAGSTER_PG_DB"])


@pytest.fixture(scope="module")
def materialized(postgres, tmp_path_factory):
    """`dagster asset materialize` of every asset for DAY, with the production
    instance file as DAGSTER_HOME/dagster.yaml and the bundled sample export."""
    root = tmp_path_factory.mktemp("pg_instance")
    home, out = root / "home", root / "out"
    home.mkdir()
    shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    env = {k: v for k, v in _without_libpq_settings(os.environ).items()
           if k not in {"PORTAL_EXPORT", "PORTAL_URL", "PORTAL_TOKEN", "CAMPAIGN_SUPPRESS",
                        "CAMPAIGN_DATASET_FORMAT", *PG_ENV}}
    env.update(postgres, DAGSTER_HOME=str(home), CAMPAIGN_OUTPUT_URI=str(out))
    result = subprocess.run([DAGSTER, "asset", "materialize", "-m", "campaign_pipeline", "--select", "*",
                             "--partition", DAY], cwd=root, env=env, capture_output=True, text=True, timeout=180)
    return home, out, result


@pytest.fixture(scope="module")
def instance(materialized, postgres):
    """The instance the command wrote to, opened in this process from the same home."""
    home, _, _ = materialized
    with pytest.MonkeyPatch.context() as patch:
        for name, value in postgres.items():
            patch.setenv(name, value)
        opened = DagsterInstance.from_config(str(home))
        try:
            yield opened
        finally:
            opened.dispose()


def test_the_instance_file_takes_every_connection_setting_from_the_environment():
    config = yaml.safe_load(INSTANCE_YAML.read_text())
    db = config["storage"]["postgres"]["postgres_db"]
    assert {key: db[key] for key in ("hostname", "port", "username", "password", "db_name")} == {
        "hostname": {"env": "DAGSTER_PG_HOST"}, "port": {"env": "DAGSTER_PG_PORT"},
        "username": {"env": "DAGSTER_PG_USER"}, "password": {"env": "DAGSTER_PG_PASSWORD"},
        "db_name": {"env": "DAGSTER_PG_DB"}}
    # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which is not installed.
    assert db["scheme"] == "postgresql+psycopg2"
    assert config["telemetry"] == {"enabled": False}


def test_dagster_asset_materialize_succeeds_on_the_postgres_instance(materialized):
    _, out, result = materialized
    assert result.returncode == 0, result.stderr[-4000:]
    assert (out / "campaign_dataset" / DAY / "buyer.csv").exists()
    assert (out / "exclusions" / f"{DAY}.csv").exists()


def test_every_storage_is_postgres_and_nothing_went_to_sqlite(materialized, instance):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    home, _, _ = materialized
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert list(home.rglob("*.db")) == []


def test_the_run_is_recorded_as_a_success(materialized, instance):
    assert materialized[2].returncode == 0, materialized[2].stderr[-4000:]
    runs = instance.get_runs()
    assert len(runs) == 1
    assert runs[0].status == DagsterRunStatus.SUCCESS
    assert runs[0].tags.get("dagster/partition") == DAY


@pytest.mark.parametrize("key", [["campaign_dataset", "buyer"], ["exclusions"]])
def test_the_materializations_of_the_day_are_in_the_event_log(materialized, instance, key):
    assert materialized[2].returncode == 0, materialized[2].stderr[-4000:]
    (run,) = instance.get_runs()
    records = instance.fetch_materializations(AssetRecordsFilter(AssetKey(key), asset_partitions=[DAY]), limit=10)
    assert [(r.run_id, r.partition_key) for r in records.records] == [(run.run_id, DAY)]
    latest = instance.get_latest_materialization_event(AssetKey(key))
    assert latest is not None and latest.dagster_event.partition == DAY


def test_the_asset_checks_passed(materialized, instance):
    assert materialized[2].returncode == 0, materialized[2].stderr[-4000:]
    (run,) = instance.get_runs()
    evaluations = [entry.dagster_event.event_specific_data
                   for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]
    assert {(e.asset_key.to_user_string(), e.check_name) for e in evaluations} == EXPECTED_CHECKS
    assert len(evaluations) == len(EXPECTED_CHECKS)
    assert all(e.passed for e in evaluations)


def test_the_database_itself_holds_the_run_and_the_storage_tables(materialized, postgres):
    assert materialized[2].returncode == 0, materialized[2].stderr[-4000:]
    with closing(connect(postgres)) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT status FROM runs")
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
        assert cursor.fetchone()[0] >= 7
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        tables = {row[0] for row in cursor.fetchall()}
    # runs: run storage; event_logs: event log storage; jobs, job_ticks: schedule storage
    assert {"runs", "event_logs", "jobs", "job_ticks"} <= tables
