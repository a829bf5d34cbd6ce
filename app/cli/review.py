"""The expert step: `review agreement` — how far the experts agree, in the statistics their leads know."""

from __future__ import annotations

import click

from app.cli.common import Ctx, friendly, pass_ctx


@click.group("review")
def review_group() -> None:
    """Expert review of a round's variants (the reviewing itself happens in the browser)."""


@review_group.command("agreement")
@click.option("--round", "round_no", type=int, required=True)
@pass_ctx
@friendly
def agreement_cmd(c: Ctx, round_no: int) -> None:
    """Cohen's kappa per pair of experts and Fleiss' kappa on decisions, Krippendorff's alpha on best picks
    (nominal) and scores (ordinal), each with its number of items; per-expert figures."""
    from pipeline.review.agreement import agreement_stats

    for line in agreement_stats(c.ready_engine(), round_no).lines():
        click.echo(line)


COMMANDS: tuple[click.Command, ...] = (review_group,)
