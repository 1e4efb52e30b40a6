"""A throwaway PostgreSQL server for the multi-worker tests: Debian's `postgresql` binaries
(/usr/lib/postgresql/<version>/bin), a cluster initialised in a temporary folder, listening on a free
port of 127.0.0.1 only (its unix socket in that folder), with a password-protected role. Stopped and
removed when the session ends.

PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` system user the
package creates (commands run through `runuser`); as any other user, to that user. Without the binaries
or the driver the tests skip, except with AICAM_REQUIRE_POSTGRES=1 (CI), where they fail.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROLE = "aicam"


def _unavailable(reason: str) -> None:
    if os.environ.get("AICAM_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (AICAM_REQUIRE_POSTGRES=1: the PostgreSQL tests must run)")
    pytest.skip(reason)


def _bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries."""
    found = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin") if (Path(d) / "postgres").exists()
             and (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()]
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0, default=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    port: int
    password: str
    root: Path
    as_owner: list[str]
    bin_dir: Path

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of `database` (psycopg 3), password included."""
        return f"postgresql+psycopg://{ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=ROLE, password=self.password,
                             dbname="postgres", autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def postgres():
    bin_dir = _bin_dir()
    if bin_dir is None:
        _unavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): apt-get install postgresql")
    try:
        import psycopg  # noqa: F401  (the driver of the postgresql+psycopg:// URLs)
    except ImportError:
        _unavailable("psycopg is not installed: pip install -e '.[postgres]'")
    as_owner: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root, and there is no `postgres` system user to own the cluster")
        as_owner = ["runuser", "-u", "postgres", "--"]
    # Not under pytest's tmp_path: its parents are private to root, and the server's user must reach it.
    root = Path(tempfile.mkdtemp(prefix="aicam-postgres-"))
    password = "pw-" + secrets.token_urlsafe(18)
    (root / "password").write_text(password + "\n")
    if owner is not None:
        for path in (root, root / "password"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    data = root / "data"
    started = False
    try:
        _run([*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", ROLE, f"--pwfile={root / 'password'}",
              "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync"], cwd=root)
        for attempt in range(3):  # the free port may be taken between the probe and the start
            port = _free_port()
            options = (f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            try:
                _run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
                      "-o", options, "-w", "-t", "60", "start"], cwd=root)
                started = True
                break
            except RuntimeError:
                if attempt == 2:
                    raise RuntimeError(f"PostgreSQL did not start:\n{(root / 'server.log').read_text()[-3000:]}")
        yield PostgresServer(port, password, root, as_owner, bin_dir)
    finally:
        if started:
            subprocess.run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           cwd=root, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
