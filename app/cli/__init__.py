"""The ``sradit`` command (docs/architecture.md, "The command line"). Errors go to stderr without a traceback.

This module holds the root group; each submodule holds the commands of one stage of the loop and is
registered here. Commands import their heavy dependencies (torch, transformers, pipeline) inside their
bodies, so that `sradit --help` stays fast."""

from __future__ import annotations

import os

import click

from app.cli import augment, database, distill, export, ingest, jobs, labels, mining, review, rounds, training
from app.cli.common import Ctx


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sradit-studio")
@click.pass_context
def main(ctx: click.Context) -> None:
    """SRADIT Studio: badcases, expert-reviewed rewrites and retraining for ICD coding of Chinese EMRs."""
    # transformers draws a "Loading weights" bar for every model it loads; a command that loads ten fold models
    # buried its own output under them. Its own progress bars say what is happening instead.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    ctx.obj = Ctx()


for _module in (database, ingest, mining, jobs, augment, review, labels, export, rounds, training, distill):
    for _command in _module.COMMANDS:
        main.add_command(_command)
