"""Background jobs: `jobs list` and `jobs cancel`."""

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
    """Jobs, newest first."""
    from pipeline.jobs.runner import list_jobs

    for j in list_jobs(c.ready_engine()):
        click.echo(f"{j.id}\t{j.kind}\t{j.status}\t{j.progress:.0%}\t{j.created_by or ''}\t{j.message or ''}")


@jobs.command("cancel")
@click.argument("job_id", type=int)
@pass_ctx
@friendly
def jobs_cancel(c: Ctx, job_id: int) -> None:
    """Cancel a queued or running job."""
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import cancel

    click.echo(f"job {job_id}: {cancel(c.ready_engine(), job_id, cli_actor())}")


COMMANDS: tuple[click.Command, ...] = (jobs,)
