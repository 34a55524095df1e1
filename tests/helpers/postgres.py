"""A real PostgreSQL server for a test: Debian's ``postgresql``, started in a temporary
folder on a free port of 127.0.0.1, whose one user logs in with a password.

``initdb`` and ``postgres`` refuse to run as root, so as root they run as the ``postgres``
user (``runuser``) in a folder it owns, outside pytest's private temporary folders. The
test is skipped, with the reason, where the package is not installed (``make test``
installs it as root, as it installs Chromium).
"""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.serve import free_port

USER = "fashion"


def postgres_bin() -> Path:
    """The folder of Debian's PostgreSQL programs (the newest version's), or a skip."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        pytest.skip(
            "Debian's postgresql is not installed: `make test` installs it as root "
            "(apt-get install postgresql)."
        )
    return found[-1].parent


@contextmanager
def postgres_server(password: str) -> Iterator[str]:
    """A fresh server with the database ``postgres`` and the user ``fashion`` whose
    password is ``password``; its URL (``postgresql://fashion:…@127.0.0.1:PORT/postgres``).
    Stopped, and its folder removed, afterwards."""
    programs = postgres_bin()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="fashion_lit-postgres-"))
    try:
        if as_postgres:
            shutil.chown(folder, "postgres", "postgres")
        pwfile = folder / "password"
        pwfile.write_text(password + "\n")
        if as_postgres:
            shutil.chown(pwfile, "postgres", "postgres")
        data = folder / "data"
        run = [*as_postgres, str(programs / "initdb"), "-D", str(data), "-U", USER]
        run += ["--pwfile", str(pwfile), "--auth", "scram-sha-256", "-E", "UTF8", "--no-sync"]
        subprocess.run(run, check=True, capture_output=True, timeout=120)
        pwfile.unlink()
        port = free_port()
        options = f"-p {port} -k {folder} -h 127.0.0.1 -c fsync=off"
        pg_ctl = [*as_postgres, str(programs / "pg_ctl"), "-D", str(data), "-w"]
        subprocess.run(
            [*pg_ctl, "-l", str(folder / "server.log"), "-o", options, "start"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        try:
            yield f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
