"""Acquisition in a process of its own, on a disk with too little room for the files."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.processes import run_from_repo, run_on_tmpfs

#: Acquires into argv[1] from the sources argv[2:-1] with the manifest argv[-1], in a
#: process of its own, and prints the outcome and what was left in the raw folder.
ACQUIRE_AND_REPORT = """
import json, os, sys
from fashion_lit.data.acquire import acquire, raw_folder
data, sources, checksums = sys.argv[1], sys.argv[2:-1], sys.argv[-1]
try:
    acquire(data, sources, checksums=checksums)
    outcome = {"error": None}
except Exception as error:
    outcome = {"error": type(error).__name__, "message": str(error)}
print(json.dumps({**outcome, "left": sorted(os.listdir(raw_folder(data)))}))
"""
DISK_ROOM = 256 * 1024  # room for the label files, not for the 490 kB of training images


def acquire_with_little_room(room: str, disk: Path, arguments: list[str]) -> dict:
    """Run ACQUIRE_AND_REPORT on a full disk: a tmpfs of DISK_ROOM bytes mounted on
    ``disk``, or a limit on the size of the files the process may write (``prlimit
    --fsize``, which makes larger writes fail with EFBIG)."""
    child = [sys.executable, "-c", ACQUIRE_AND_REPORT, str(disk / "data"), *arguments]
    if room == "tmpfs":
        done = run_on_tmpfs(disk, f"size={DISK_ROOM}", child)
    else:
        if not shutil.which("prlimit"):
            pytest.skip("prlimit is not installed")
        done = run_from_repo(["prlimit", f"--fsize={DISK_ROOM}", *child])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])
