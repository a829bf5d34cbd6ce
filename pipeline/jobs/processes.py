"""Processes of jobs: is one alive, and end a job's whole process tree.

Every job process starts a session of its own (``start_new_session``), so its process group id is its pid
and everything it spawns — loky/joblib workers, torch dataloader workers, ``accelerate`` ranks — is in
that group. Killing the group ends the tree even after its leader is gone (the group lives while any
member does), which is what keeps a killed worker's children from running on.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

#: This machine, as recorded on the jobs its workers run: a pid means something only where it was taken.
HOST = socket.gethostname()


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # gone already, or not ours to signal


def end_group(pgid: int, grace_seconds: float = 0.0) -> None:
    """End a job's process group: SIGTERM and ``grace_seconds`` to clean up first if asked, then SIGKILL."""
    if grace_seconds > 0:
        signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and group_alive(pgid):
            time.sleep(0.1)
    signal_group(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is in the group; zombies wait for their parent, not for us."""
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc (not Linux): any member, zombies included
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for name in entries:
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False
