"""Background jobs: `jobs list`, `jobs cancel`, and `worker --lane cpu|gpu`, which runs a lane's jobs."""

from __future__ import annotations

import click

from app.cli.common import Ctx, friendly, pass_ctx
from db.vocabulary import JOB_LANES


@click.group()
def jobs() -> None:
    """Background jobs."""


@jobs.command("list")
@pass_ctx
@friendly
def jobs_list(c: Ctx) -> None:
    """Jobs, newest first: id, kind, lane, status, progress, by, message."""
    from pipeline.jobs.runner import list_jobs

    for j in list_jobs(c.ready_engine()):
        click.echo(f"{j.id}\t{j.kind}\t{j.lane}\t{j.status}\t{j.progress:.0%}\t{j.created_by or ''}\t{j.message or ''}")


@jobs.command("cancel")
@click.argument("job_id", type=int)
@pass_ctx
@friendly
def jobs_cancel(c: Ctx, job_id: int) -> None:
    """Cancel a queued or running job."""
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import cancel

    click.echo(f"job {job_id}: {cancel(c.ready_engine(), job_id, cli_actor())}")


@click.command("worker")
@click.option("--lane", type=click.Choice(JOB_LANES), required=True, help="Whose jobs to run.")
@click.option("--poll", type=float, default=2.0, show_default=True, help="Seconds between looks at the queue.")
@pass_ctx
@friendly
def worker(c: Ctx, lane: str, poll: float) -> None:
    """Run the lane's queued jobs, one at a time, until stopped (Ctrl-C or SIGTERM).

    Start it on the machine that has what the lane needs — `--lane gpu` on a GPU server — with the same
    SRADIT_DB_URL (PostgreSQL) and SRADIT_DATA_DIR (a shared folder) as the app, and set
    SRADIT_GPU_WORKERS=external on the app so that it leaves that lane to this worker. A job running when
    the worker is stopped is ended and marked failed.
    """
    import os

    from pipeline.jobs.processes import HOST
    from pipeline.jobs.worker import install_stop_handlers, serve

    engine = c.ready_engine()
    stop = install_stop_handlers()
    click.echo(f"worker for the {lane} lane on {HOST} (pid {os.getpid()}): waiting for jobs", err=True)

    def report(job_id: int, status: str) -> None:
        click.echo(f"job {job_id}: {status}", err=True)

    ran = serve(engine, c.settings, lane, stop=stop, poll_seconds=poll, on_job=report)
    click.echo(f"worker stopped after {ran} job(s)", err=True)


COMMANDS: tuple[click.Command, ...] = (jobs, worker)
