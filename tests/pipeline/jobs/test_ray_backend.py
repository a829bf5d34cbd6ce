"""The ray backend against a real Ray head on loopback (tests/ray_head.py) and a real PostgreSQL database: a job runs
as a Ray job and its row says where; cancel stops it there; a job whose process is killed is failed with Ray's
message; a wrong or missing token, an unreachable address, SQLite, and a data folder the cluster does not see are
each refused with a message, writing no job."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.engine import make_engine, read_session
from db.models import Job
from pipeline.database import init_database
from pipeline.errors import SraditError
from pipeline.jobs.processes import HOST
from pipeline.jobs.ray_backend import client
from pipeline.jobs.runner import backend_log, cancel, job_status, reconcile, submit
from pipeline.settings import Settings
from tests.databases import fresh_pg_database, require_pg_url
from tests.helpers import ROOT, wait_for
from tests.pipeline.jobs.job_handlers import TABLE, OkParams, SleepParams
from tests.ray_head import Head

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_pg_url()
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    init_database(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(pg_url: str, tmp_path: Path, ray_head: Head) -> Settings:
    return Settings(
        db_url=pg_url, data_dir=tmp_path / "var", job_table=TABLE, job_backend="ray", ray_address=ray_head.address
    )


def _ended(engine: Engine, job_id: int) -> bool:
    reconcile(engine)
    return job_status(engine, job_id).status not in ("queued", "running")


def _jobs(engine: Engine) -> int:
    with read_session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Job)) or 0)


def test_a_job_runs_as_a_ray_job_and_its_row_says_where(engine: Engine, settings: Settings) -> None:
    cpu = submit(engine, settings, OkParams(5), "tester", "cpu")
    gpu = submit(engine, settings, OkParams(6), "tester", "gpu")
    for job_id in (cpu, gpu):
        wait_for(lambda job_id=job_id: _ended(engine, job_id), timeout=120)
    rows = {j: job_status(engine, j) for j in (cpu, gpu)}
    assert [rows[j].status for j in (cpu, gpu)] == ["succeeded", "succeeded"]
    assert rows[gpu].result == {"value": 6}
    assert all(r.backend == "ray" and r.worker_host == HOST for r in rows.values())
    # In Ray's own job list, under the id the row keeps.
    ray = {d.submission_id: d for d in client(settings.ray_address).list_jobs()}
    assert ray[rows[gpu].backend_id or ""].metadata == {"sradit_job": str(gpu), "kind": "ok"}
    ray_status = client(settings.ray_address).get_job_status
    wait_for(lambda: str(ray_status(rows[cpu].backend_id or "").value) == "SUCCEEDED", timeout=30)
    # Its log comes from Ray, and stays in its folder once the job has ended; a gpu-lane job was given a GPU.
    logs = {j: backend_log(engine, j) or "" for j in (cpu, gpu)}
    assert f"job {gpu} succeeded" in logs[gpu] and "ok_job done for tester" in logs[gpu]
    assert f"job {gpu} succeeded" in Path(rows[gpu].log_path or "").read_text(encoding="utf-8")
    assert f"job {cpu}: Ray gave it GPUs none" in logs[cpu]
    assert re.search(rf"job {gpu}: Ray gave it GPUs \d$", logs[gpu], re.M), logs[gpu]


def test_cancel_stops_the_ray_job(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, SleepParams(600), "tester", "gpu")
    wait_for(lambda: job_status(engine, job_id).progress > 0, timeout=120)
    pid = job_status(engine, job_id).pid or 0
    assert cancel(engine, job_id, "tester") == "cancelled"
    ray = client(settings.ray_address)
    sid = job_status(engine, job_id).backend_id or ""
    wait_for(lambda: str(ray.get_job_status(sid).value) == "STOPPED", timeout=60)
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)
    assert job_status(engine, job_id).status == "cancelled"


def test_a_killed_job_process_is_failed_with_ray_s_message(engine: Engine, settings: Settings) -> None:
    job_id = submit(engine, settings, SleepParams(600), "tester", "cpu")
    wait_for(lambda: job_status(engine, job_id).progress > 0, timeout=120)
    os.kill(job_status(engine, job_id).pid or 0, signal.SIGKILL)
    wait_for(lambda: _ended(engine, job_id), timeout=60)
    job = job_status(engine, job_id)
    assert job.status == "failed"
    assert (job.message or "").startswith(f"Ray job {job.backend_id} failed:"), job.message


def test_sqlite_with_the_ray_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SraditError, match="a cluster needs PostgreSQL"):
        Settings(db_url=f"sqlite:///{tmp_path / 'x.db'}", job_backend="ray")


def test_an_address_where_no_cluster_answers_is_refused_and_writes_no_job(engine: Engine, settings: Settings) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = replace(settings, ray_address=f"http://127.0.0.1:{port}")
    with pytest.raises(SraditError, match=f"the Ray cluster at http://127.0.0.1:{port} does not answer"):
        submit(engine, nowhere, OkParams(), "tester", "cpu")
    assert _jobs(engine) == 0


def _sradit(settings: Settings, env: dict[str, str], *args: str, prefix: tuple[str, ...] = ()) -> tuple[int, str]:
    """``sradit`` as its own process (Ray reads its token once, when it loads)."""
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")},
        "SRADIT_DB_URL": settings.db_url,
        "SRADIT_DATA_DIR": str(settings.data_dir),
        "SRADIT_JOB_BACKEND": "ray",
        "SRADIT_RAY_ADDRESS": settings.ray_address,
        "SRADIT_JOB_TABLE": TABLE,
        "PYTHONPATH": str(ROOT),
        **env,
    }
    cmd = [*prefix, sys.executable, "-c", "from app.cli import main; main()", *args]
    done = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("token", ["wrong", None])
def test_a_wrong_or_missing_token_is_refused(
    engine: Engine, settings: Settings, tmp_path: Path, token: str | None
) -> None:
    # HOME elsewhere: Ray's own token file (~/.ray/auth_token) must not stand in for the one left out.
    env = {"RAY_AUTH_MODE": "token", "HOME": str(tmp_path)} | ({"RAY_AUTH_TOKEN": token} if token else {})
    code, out = _sradit(settings, env, "jobs", "cluster")
    assert code != 0 and "Traceback" not in out
    said = "it has a wrong token" if token else "it has no token"
    assert f"the Ray cluster at {settings.ray_address} refused this app: {said}" in out
    assert _jobs(engine) == 0


def test_a_data_folder_the_cluster_does_not_see_is_refused(engine: Engine, settings: Settings, ray_head: Head) -> None:
    """The app's side in a mount namespace of its own, with an empty file system mounted over its data folder: the
    cluster's probe writes its token into the real folder, which this app does not see — as a node without the
    shared storage would."""
    settings.data_dir.mkdir(parents=True)
    inner = f'mount -t tmpfs none {settings.data_dir} && exec "$@"'
    prefix = ("unshare", "-m", "--propagation", "private", "sh", "-c", inner, "sh")
    can = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False).returncode == 0
    if not can:
        message = "unshare -m is not permitted here (CI runs as root, where it is)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    code, out = _sradit(settings, {**ray_head.env}, "jobs", "cluster", prefix=prefix)
    assert code != 0 and "Traceback" not in out
    assert f"does not see the data folder {settings.data_dir.resolve()}" in out
    assert _jobs(engine) == 0
    # The same command outside the namespace passes: the refusal was the folder's.
    code, out = _sradit(settings, {**ray_head.env}, "jobs", "cluster")
    assert code == 0, out
    assert "token accepted" in out


def test_one_machine_needs_no_ray() -> None:
    """`make run` installs no Ray: the app, its pages' services, the CLI and a lane worker never import it."""
    code = (
        "import sys, app.cli, app.services.jobs, app.services.rounds, pipeline.jobs.worker, pipeline.jobs.runner; "
        "print('ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "False"
