"""A throwaway PostgreSQL server for tests: initdb into a temp folder, start on 127.0.0.1, stop at the end.

``postgres_server`` (session) starts one server per test process on a free port with trust auth for
127.0.0.1 only; ``postgres_url`` (function) creates a fresh database on it and returns its SQLAlchemy
URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/NAME``). When the PostgreSQL binaries are missing
the tests skip with the reason on a developer machine and fail in CI (``CI=true``), like Spark.
Running as root, ``initdb``/``pg_ctl`` run as the ``postgres`` user (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.store.conftest import running_in_ci


def postgres_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then the newest /usr/lib/postgresql/*/bin)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl", path=str(Path(found).resolve().parent)):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def postgres_missing_reason() -> str | None:
    """Why a test PostgreSQL cannot start here, or None."""
    if postgres_bin_dir() is None:
        return "no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root but there is no 'postgres' user to run initdb as"
    return None


def postgres_unavailable(reason: str) -> None:
    """Fail in CI, skip with the reason elsewhere."""
    if running_in_ci():
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    port: int
    folder: Path

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run(command: list[str]) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    result = subprocess.run(prefix + command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start on a free 127.0.0.1 port; the caller stops it with :func:`stop_postgres`."""
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None
    folder = Path(tempfile.mkdtemp(prefix="tgp-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    data = folder / "data"
    _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
          "--no-sync", "--locale=C"])
    port = free_port()
    options = f"-k {folder} -h 127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"),
          "-w", "-t", "30", "start"])
    return PostgresServer(port, folder)


def stop_postgres(server: PostgresServer) -> None:
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None
    try:
        _run([str(bin_dir / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL per test process (pytest-xdist workers each start their own)."""
    if (reason := postgres_missing_reason()) is not None:
        postgres_unavailable(reason)
    try:
        server = start_postgres()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        postgres_unavailable(str(exc))
        raise  # unreachable: postgres_unavailable always raises
    yield server
    stop_postgres(server)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the test server, as a SQLAlchemy URL."""
    return postgres_server.create_database()
