"""One throwaway PostgreSQL server for the test session (initdb + pg_ctl,
127.0.0.1 only, a free port, a data directory removed afterwards).

PostgreSQL refuses to run as root; as root the binaries run as the `postgres`
user. Without the server binaries the tests that need it fail loudly: CI
installs them (Debian's `postgresql` package), and a database path that is
silently skipped is a path never tested.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def find_initdb() -> str | None:
    found = shutil.which("initdb")
    if found:
        return found
    # Debian keeps the server binaries off PATH, one directory per major version.
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return candidates[-1] if candidates else None


def without_libpq_settings(env) -> dict:
    """The environment minus libpq's PG* variables (PGSSLMODE, PGOPTIONS, ...),
    which would otherwise reach every connection to the throwaway server."""
    return {k: v for k, v in env.items() if not k.startswith("PG")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One throwaway PostgreSQL cluster under a private directory."""

    def __init__(self, bindir: Path, *, durable: bool = False):
        self.bindir = bindir
        self.durable = durable
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
        self.host = "127.0.0.1"
        self.port = 0
        self.started = False
        self.superuser_password = secrets.token_hex(16)

    def _own(self, path: Path) -> None:
        if self.owner:
            os.chown(path, *self.owner)

    def run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        env = {**without_libpq_settings(os.environ), "LC_ALL": "C", "LANG": "C"}
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
            # Tests do not need a commit to survive a crash; a benchmark of durable commits does.
            speed = "" if self.durable else " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            options = (f"-p {self.port} -k {self.sockets} -c listen_addresses={self.host}"
                       f"{speed} -c max_connections=200")
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

    def admin(self):
        """A psycopg2 connection as the superuser, autocommit (CREATE DATABASE needs it)."""
        import psycopg2

        connection = psycopg2.connect(host=self.host, port=self.port, user="postgres",
                                      password=self.superuser_password, dbname="postgres")
        connection.autocommit = True
        return connection

    def create_role_and_database(self, role: str, password: str, database: str) -> None:
        admin = self.admin()
        try:
            with admin.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD %s', (password,))
                cursor.execute(f'CREATE DATABASE "{database}" OWNER "{role}"')
        finally:
            admin.close()

    def drop_database(self, database: str) -> None:
        admin = self.admin()
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            admin.close()


def serve(*, durable: bool = False) -> Iterator[PostgresServer]:
    """Starts the server with libpq's PG* variables cleared for its lifetime;
    yields it and removes it afterwards. `durable`: fsync and synchronous
    commit on, as in production (the tests' default is off: faster)."""
    initdb = find_initdb()
    if initdb is None:
        pytest.fail("PostgreSQL server binaries not found (no initdb on PATH or in /usr/lib/postgresql/*/bin):"
                    " install PostgreSQL 15 (Debian: apt-get install postgresql)")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("PG"):
                patch.delenv(name)
        server = PostgresServer(Path(os.path.realpath(initdb)).parent, durable=durable)
        try:
            server.init()
            server.start()
            yield server
        finally:
            server.stop()


class CampaignDatabases:
    """Fresh, empty databases on the shared server, one per test, owned by a
    non-superuser role as in production."""

    ROLE = "campaign"

    def __init__(self, server: PostgresServer):
        self.server = server
        self.password = secrets.token_hex(16)

    def create(self) -> tuple[str, str]:
        name = f"campaign_{secrets.token_hex(6)}"
        self.server.create_role_and_database(self.ROLE, self.password, name)
        url = f"postgresql+psycopg2://{self.ROLE}:{self.password}@{self.server.host}:{self.server.port}/{name}"
        return name, url
