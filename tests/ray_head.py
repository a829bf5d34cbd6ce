"""A Ray head on loopback for the tests and CI: token authentication on, every socket on 127.0.0.1, stopped by the
process ids of its own processes (never `ray stop`, which would end any Ray on the machine).

CI starts one for the whole run (``eval "$(python -m tests.ray_head start DIR)"`` prints the variables the tests
read, ``python -m tests.ray_head stop DIR`` ends it); a run on a developer's machine without
``SRADIT_TEST_RAY_ADDRESS`` starts one per test session (tests/conftest.py, ``ray_head``). The head declares 2
GPUs it does not have: Ray only counts them, so a CPU machine shows jobs and fold trainings asking for GPUs being
placed and run two at a time (the CPU build of torch never looks at CUDA_VISIBLE_DEVICES).
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ADDRESS_ENV = "SRADIT_TEST_RAY_ADDRESS"
GPUS, CPUS = 2, 4


@dataclass(frozen=True)
class Head:
    address: str  #: the Jobs API, http://127.0.0.1:PORT
    token: str
    temp_dir: Path

    @property
    def env(self) -> dict[str, str]:
        """What a client (the app, a test) needs to reach it."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token, ADDRESS_ENV: self.address}


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start(temp_dir: Path, timeout: float = 180.0) -> Head:
    """A head whose files live in ``temp_dir`` (short: Ray puts Unix sockets there)."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    gcs, dash, client, agent, agent_grpc, metrics, env_agent, node, obj = _free_ports(9)
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        # Without it Ray listens on every interface and uses the host's own address: tests stay on loopback.
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        # A job's `python` is the one with this project installed, as on a node set up by the README.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    cmd = [
        str(bin_dir / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1",
        "--port", str(gcs), "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dash),
        "--ray-client-server-port", str(client), "--dashboard-agent-listen-port", str(agent),
        "--dashboard-agent-grpc-port", str(agent_grpc), "--metrics-export-port", str(metrics),
        "--runtime-env-agent-port", str(env_agent), "--node-manager-port", str(node),
        "--object-manager-port", str(obj),
        "--num-cpus", str(CPUS), "--num-gpus", str(GPUS), "--temp-dir", str(temp_dir), "--disable-usage-stats",
    ]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ray start failed ({done.returncode}): {done.stderr[-2000:]}")
    head = Head(f"http://127.0.0.1:{dash}", token, temp_dir)
    # The client server names neither the folder nor a parent of the head's: it is found by the GCS address.
    (temp_dir / "gcs-address").write_text(f"127.0.0.1:{gcs}", encoding="utf-8")
    _wait_for_jobs_api(head, timeout)
    return head


def use(head: Head) -> None:
    """Make this process a client of ``head``. Before Ray is imported: Ray reads its authentication mode and token
    once, when it loads."""
    if "ray" in sys.modules and os.environ.get("RAY_AUTH_TOKEN") != head.token:
        raise RuntimeError("Ray was imported before the test head's token was set: it would not authenticate")
    os.environ.update(head.env)


def _wait_for_jobs_api(head: Head, timeout: float) -> None:
    """Asked from a process of its own, so that the caller's Ray (if any) keeps its own settings."""
    probe = f"from ray.job_submission import JobSubmissionClient as C; C({head.address!r}).list_jobs()"
    env = {**os.environ, **head.env}
    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        last = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        time.sleep(1.0)
    raise RuntimeError(f"the Ray head's Jobs API at {head.address} did not answer in {timeout:.0f} s: {last}")


def pids(temp_dir: Path) -> list[int]:
    """The processes of the head whose files are in ``temp_dir``: those that name it in their command line (GCS,
    raylet, dashboard, log monitor) or name its GCS (the client server), and everything they started (workers,
    agents, jobs)."""
    markers = [str(temp_dir).encode()]
    gcs = temp_dir / "gcs-address"
    if gcs.is_file():
        markers.append(b"--address=" + gcs.read_bytes().strip())
    parent: dict[int, int] = {}
    roots = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if any(m in cmdline for m in markers):
            roots.add(int(entry.name))
    found, grew = set(roots), True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in found} - found
        found |= more
        grew = bool(more)
    return sorted(found)


def stop(temp_dir: Path, grace: float = 10.0) -> int:
    """End the head's processes, SIGTERM then SIGKILL; returns how many there were."""
    victims = pids(temp_dir)
    for pid in victims:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in victims):
        time.sleep(0.2)
    for pid in victims:
        _signal(pid, signal.SIGKILL)
    return len(victims)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def main(argv: list[str]) -> int:
    """``start DIR`` prints ``export`` lines for the shell; ``stop DIR`` ends that head."""
    action, temp_dir = argv[0], Path(argv[1])
    if action == "start":
        head = start(temp_dir)
        for key, value in head.env.items():
            print(f"export {key}={shlex.quote(value)}")
        print(f"ray head: {head.address}, files in {temp_dir}", file=sys.stderr)
        return 0
    print(f"ray head: stopped {stop(temp_dir)} processes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
