"""The ray backend: each queued job a Ray job on a cluster, through the Ray Jobs API (docs/jobs.md, "Backends").

The app claims every queued job (Ray, not a lane, decides what runs when: a job waits in Ray's own queue until the
resources it asks for are free) and submits ``python -m pipeline.jobs.job_process ID`` with the job's settings as
environment variables and its resources as the entrypoint's reservation. The job writes its progress and its end
to the database, as on one machine; Ray's verdict (FAILED, STOPPED, a node that died) fails a job that could not.

The cluster's token is Ray's own (``RAY_AUTH_TOKEN`` or Ray's token file, read by Ray's client): this module never
reads, stores or prints it. Before the first job, :func:`check_cluster` sends a probe job that must write a token
file into the data folder and reach the database (:mod:`pipeline.jobs.ray_probe`).
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from db.engine import read_session, write_session
from db.models import Job
from pipeline.errors import SraditError
from pipeline.jobs.claims import claim
from pipeline.jobs.resources import Resources
from pipeline.jobs.runner import ROOT, record_end, settings_env
from pipeline.settings import Settings, database_key

#: A probe that passed is trusted this long before the next job checks the cluster again.
PROBE_VALID_SECONDS = 900.0
PROBE_TIMEOUT_SECONDS = 180.0
#: Ray's terminal states that mean the job's work did not finish.
_FAILED = {"FAILED", "STOPPED"}


@cache
def client(address: str) -> Any:
    """A Ray Jobs client for ``address`` — one a process: making one asks the head twice for its version, and
    reconcile asks after every running Ray job each time the Jobs page polls — or a :class:`SraditError` saying what
    is missing (not kept: the next call tries again)."""
    try:
        from ray.exceptions import AuthenticationError
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise SraditError(
            "SRADIT_JOB_BACKEND=ray needs Ray: pip install 'sradit-studio[ray]' (Ray 2.60) on this machine"
        ) from None
    try:
        return JobSubmissionClient(address)
    except AuthenticationError as e:
        why = "has a wrong token" if "Invalid authentication token" in str(e) else "has no token"
        raise SraditError(
            f"the Ray cluster at {address} refused this app: it {why}. Set RAY_AUTH_MODE=token and the cluster's "
            "token in RAY_AUTH_TOKEN (or Ray's token file, ~/.ray/auth_token) for the app"
        ) from None
    except (ConnectionError, OSError, RuntimeError, ValueError) as e:
        raise SraditError(
            f"the Ray cluster at {address} does not answer ({str(e).splitlines()[0][:200]}); check "
            "SRADIT_RAY_ADDRESS (http://HEAD:8265) and that the head runs"
        ) from None


def submission_id(settings: Settings, job_id: int) -> str:
    """The job's id in Ray's own job list: this database's folder name and the job's number."""
    return f"sradit-{database_key(settings.db_url)}-job-{job_id}"


class RayBackend:
    name = "ray"

    def __init__(self, address: str) -> None:
        self.address = address

    def start_queued(self, engine: Engine, settings: Settings, lanes: list[str]) -> list[int]:
        with read_session(engine) as s:
            waiting = s.scalar(
                select(Job.id).where(Job.status == "queued", Job.backend == "ray", Job.lane.in_(lanes)).limit(1)
            )
        if waiting is None:
            return []
        ray = client(self.address)
        started = []
        for lane in lanes:
            while True:
                with write_session(engine) as s:
                    job = claim(s, lane, exclusive=False, backend="ray")
                    if job is None:
                        break
                    job_id, config, kind = job.id, dict(job.config or {}), job.kind
                    job.worker_host = None  # the node is known once the job runs
                try:
                    sid = _submit(ray, settings, job_id, kind, config)
                except Exception as e:  # noqa: BLE001 — whatever Ray says is the job's message
                    record_end(engine, job_id, "failed", f"the Ray cluster refused it: {_first_line(e)}", None)
                    continue
                with write_session(engine) as s:
                    row = s.get(Job, job_id)
                    if row is not None:
                        row.backend_id = sid
                started.append(job_id)
        return started

    def death(self, job: Job, now: datetime) -> str | None:
        if job.backend_id is None:
            return None  # being submitted right now
        try:
            info = client(self.address).get_job_info(job.backend_id)
        except Exception:  # noqa: BLE001 — a cluster that does not answer now says nothing about the job
            return None
        status = str(getattr(info.status, "value", info.status))
        if status in _FAILED:
            return f"Ray job {job.backend_id} {status.lower()}: {_first_line(info.message or 'no message')}"
        if status == "SUCCEEDED":
            return f"Ray job {job.backend_id} ended without recording its result; see its log"
        return None

    def stop(self, job: Job) -> None:
        if job.backend_id is None:
            return
        try:
            client(self.address).stop_job(job.backend_id)
        except Exception:  # noqa: BLE001 — the row is cancelled already; a job Ray no longer has is stopped
            pass

    def logs(self, job: Job) -> str | None:
        if job.backend_id is None:
            return ""
        try:
            return str(client(self.address).get_job_logs(job.backend_id))
        except Exception:  # noqa: BLE001
            return None  # the cluster is gone: what the job's folder holds


def _submit(ray: Any, settings: Settings, job_id: int, kind: str, config: dict[str, Any]) -> str:
    res = Resources.read(config.get("resources"), f"job {job_id}", Resources())
    sid = submission_id(settings, job_id)
    ray.submit_job(
        entrypoint=f"python -m pipeline.jobs.job_process {job_id}",
        submission_id=sid,
        runtime_env=_runtime_env(settings),
        entrypoint_num_cpus=res.cpus,
        entrypoint_num_gpus=res.gpus,
        entrypoint_memory=int(res.memory_gb * 2**30) if res.memory_gb else None,
        metadata={"sradit_job": str(job_id), "kind": kind},
    )
    return sid


def _runtime_env(settings: Settings) -> dict[str, Any]:
    """What a job (or the probe) runs with on a node: this app's settings, and its checkout importable as for a
    local job (handlers of the tests' job tables live there)."""
    return {"env_vars": {**settings_env(settings), "PYTHONPATH": str(ROOT)}}


def _first_line(e: object) -> str:
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return lines[-1][:500] if lines else type(e).__name__


# --- the probe: the cluster sees the data folder and reaches the database -----------------------------------------


def check_cluster(settings: Settings) -> None:
    """Refuse, with what is missing, a cluster that cannot run this app's jobs: unreachable, refusing the token,
    not seeing the data folder at the same path, or whose nodes cannot reach the database. A probe that passed
    is remembered for :data:`PROBE_VALID_SECONDS`."""
    marker = settings.workspace / "cluster" / "probe.json"
    if _recent(marker, settings.ray_address):
        return
    ray = client(settings.ray_address)
    folder = marker.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SraditError(f"the data folder {folder} cannot be written ({e.strerror or e})") from None
    token = secrets.token_hex(16)
    answer = folder / f"probe-{token[:8]}.txt"
    sid = ray.submit_job(
        entrypoint=f"python -m pipeline.jobs.ray_probe {answer} {token}",
        runtime_env=_runtime_env(settings),
        entrypoint_num_cpus=0,
        metadata={"sradit_probe": "data folder and database"},
    )
    deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
    while not ray.get_job_status(sid).is_terminal():
        if time.monotonic() > deadline:
            ray.stop_job(sid)
            raise SraditError(
                f"the Ray cluster at {settings.ray_address} did not run a probe job within "
                f"{PROBE_TIMEOUT_SECONDS:.0f} s (Ray job {sid}); check `ray status` for free resources"
            )
        time.sleep(0.5)
    seen = answer.is_file() and answer.read_text(encoding="utf-8").strip() == token
    answer.unlink(missing_ok=True)
    logs = str(ray.get_job_logs(sid))
    if not seen:
        raise SraditError(
            f"the Ray cluster at {settings.ray_address} does not see the data folder {settings.data_dir.resolve()}: "
            "a probe job's token file did not come back. Its nodes must mount the same shared storage (NFS, "
            f"Lustre) at the same path. The probe said: {_probe_said(logs)}"
        )
    if str(ray.get_job_status(sid).value) != "SUCCEEDED":
        raise SraditError(
            f"the Ray cluster's nodes cannot reach the database: {_probe_said(logs)}. A cluster needs PostgreSQL "
            "that every node reaches at SRADIT_DB_URL"
        )
    marker.write_text(json.dumps({"address": settings.ray_address, "checked_at": time.time()}), encoding="utf-8")


def forget_probe(settings: Settings) -> None:
    """The next job checks the cluster again (`sradit jobs cluster` always does)."""
    (settings.workspace / "cluster" / "probe.json").unlink(missing_ok=True)


def _recent(marker: Path, address: str) -> bool:
    try:
        seen = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(seen.get("address") == address and time.time() - float(seen["checked_at"]) < PROBE_VALID_SECONDS)


def _probe_said(logs: str) -> str:
    lines = [ln for ln in logs.splitlines() if ln.startswith("probe:")]
    return lines[-1].removeprefix("probe:").strip() if lines else "nothing (see Ray's log of the probe job)"
