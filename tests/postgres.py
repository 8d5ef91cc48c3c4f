"""A private PostgreSQL server for a test: its own data directory in a temporary folder, on a
free port of 127.0.0.1, stopped (and its folder removed) afterwards.

Uses Debian's ``postgresql`` binaries (``make test`` installs the package when missing). PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` user. Without the binaries
the tests that need a server are skipped on a workstation and fail under CI.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name))
    return Path(versions[-1]).parent if versions else None


def require_binaries() -> Path:
    folder = binaries()
    if folder is not None:
        return folder
    missing = "PostgreSQL is not installed (apt-get install postgresql)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{missing}; `make test` installs it", pytrace=False)
    pytest.skip(missing)


def as_superuser(db_url: str, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the PostgreSQL client ``program`` (createuser, createdb, psql) as the server's
    ``postgres`` superuser on its Unix socket, as an administrator does on the database server
    (``sudo -u postgres createuser ...``)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    scratch = _socket_dirs[url.port]
    command = [str(require_binaries() / program), "-h", str(scratch), "-p", str(url.port),
               "-U", "postgres", *args]
    return subprocess.run(_as_server_user(command), capture_output=True, text=True, timeout=120,
                          cwd=scratch)


_socket_dirs: dict[int, Path] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    return [runuser or "/usr/sbin/runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def server(database: str = "gradebook", passwords: bool = False):
    """Start a server, create ``database``, yield its SQLAlchemy URL; stop it afterwards.

    With ``passwords``, connections over TCP need a password (scram-sha-256), as on a real
    server, and only the ``postgres`` superuser on the server's Unix socket (which
    :func:`as_superuser` uses) gets in without one."""
    folder = require_binaries()
    scratch = Path(tempfile.mkdtemp(prefix="rnn-postgres-"))
    data = scratch / "data"
    if os.geteuid() == 0:
        shutil.chown(scratch, "postgres")
    port = free_port()
    _socket_dirs[port] = scratch
    user = "postgres" if os.geteuid() == 0 else None

    def run(*command: str) -> None:
        done = subprocess.run(_as_server_user(list(command)), capture_output=True, text=True,
                              timeout=120, cwd=scratch)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}")

    auth = (["--auth-local=trust", "--auth-host=scram-sha-256"] if passwords else ["-A", "trust"])
    run(str(folder / "initdb"), "-D", str(data), *auth, "-U", user or "postgres",
        "--no-sync", "-E", "UTF8")
    # Tests need no durability: no fsync, a small footprint, only loopback and our socket dir.
    options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={scratch}"
               " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
               " -c shared_buffers=16MB -c max_connections=40")
    run(str(folder / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(scratch / "server.log"),
        "-w", "-t", "60", "start")
    try:
        run(str(folder / "createdb"), "-h", str(scratch), "-p", str(port), "-U", "postgres",
            database)
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        stopped = subprocess.run(
            _as_server_user([str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                             "stop"]), capture_output=True, text=True, timeout=60)
        if stopped.returncode == 0:
            shutil.rmtree(scratch, ignore_errors=True)


def wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
