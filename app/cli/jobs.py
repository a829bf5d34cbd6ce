"""Background jobs: `jobs list`, `jobs cancel`, and `jobs cluster`, which checks the Ray cluster jobs go to."""

from __future__ import annotations

import click

from app.cli.common import Ctx, friendly, pass_ctx


@click.group()
def jobs() -> None:
    """Background jobs."""


@jobs.command("list")
@pass_ctx
@friendly
def jobs_list(c: Ctx) -> None:
    """Jobs, newest first: id, kind, lane, status, progress, by, message, backend (local or ray), its Ray job id
    and the machine (node) it runs on."""
    from pipeline.jobs.runner import list_jobs

    for j in list_jobs(c.ready_engine()):
        cells = [j.id, j.kind, j.lane, j.status, f"{j.progress:.0%}", j.created_by, " ".join((j.message or "").split())]
        cells += [j.backend, j.backend_id, j.worker_host]
        click.echo("\t".join("" if v is None else str(v) for v in cells))


@jobs.command("cancel")
@click.argument("job_id", type=int)
@pass_ctx
@friendly
def jobs_cancel(c: Ctx, job_id: int) -> None:
    """Cancel a queued or running job."""
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import cancel

    click.echo(f"job {job_id}: {cancel(c.ready_engine(), job_id, cli_actor())}")


@jobs.command("cluster")
@pass_ctx
@friendly
def jobs_cluster(c: Ctx) -> None:
    """Check the Ray cluster of SRADIT_JOB_BACKEND=ray: it answers, accepts the token, sees the data folder and
    reaches the database (a probe job; README, "Running on a cluster")."""
    from pipeline.jobs.ray_backend import check_cluster, forget_probe

    if c.settings.job_backend != "ray":
        raise click.UsageError("SRADIT_JOB_BACKEND is local: jobs run on this machine, there is no cluster to check")
    forget_probe(c.settings)
    check_cluster(c.settings)
    click.echo(
        f"the Ray cluster at {c.settings.ray_address} runs this app's jobs: token accepted, data folder "
        f"{c.settings.data_dir.resolve()} seen, database reached"
    )


COMMANDS: tuple[click.Command, ...] = (jobs,)
