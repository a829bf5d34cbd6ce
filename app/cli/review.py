"""The expert step: `review assign` — a round's badcases dealt to experts; `review agreement` — how far the experts
agree, in the statistics their leads know."""

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


@review_group.command("assign")
@click.option("--round", "round_no", type=int, required=True)
@click.option("--expert", "experts", multiple=True, required=True, help="An account to deal badcases to; repeat it.")
@click.option("--copies", type=int, default=1, show_default=True, help="Experts each badcase goes to.")
@pass_ctx
@friendly
def assign_cmd(c: Ctx, round_no: int, experts: tuple[str, ...], copies: int) -> None:
    """Deal the round's unfinished badcases to the experts named, evenly, each to COPIES of them: their "assigned to
    me" queue on the Review page. Run again, it adds only what is missing."""
    from pipeline.audit import cli_actor
    from pipeline.review.assignments import assign

    click.echo(assign(c.ready_engine(), round_no, experts, cli_actor(), copies).text())


COMMANDS: tuple[click.Command, ...] = (review_group,)
