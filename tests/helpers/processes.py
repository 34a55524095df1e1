"""Commands run in processes of their own, from the repository, with this checkout first
on the path: plainly, or with a small or read-only file system mounted on a folder.

A mount is made in a user and mount namespace of the command's own (``unshare``), so it
is seen by that command alone and goes away with it, and no privilege is needed where
the kernel allows unprivileged user namespaces; the test is skipped where it does not.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.paths import REPO

_MOUNT_FAILED = 99


def run_from_repo(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``command`` from the repository; return what it did (its output as text)."""
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def run_on_tmpfs(folder: Path, options: str, command: list[str]) -> subprocess.CompletedProcess:
    """Run ``command`` with a tmpfs mounted on ``folder`` with ``options`` (``size=256k``,
    ``ro``); return what it did."""
    if not shutil.which("unshare"):
        pytest.skip("unshare is not installed")
    mount = f'mount -t tmpfs -o {options} tmpfs "$0" || exit {_MOUNT_FAILED}; exec "$@"'
    done = run_from_repo(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, str(folder)]
        + command
    )
    if done.returncode == _MOUNT_FAILED or done.stderr.startswith("unshare:"):
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {done.stderr.strip()}")
    return done
