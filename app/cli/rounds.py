"""The whole loop: `round start` runs a round's stages as far as they go, `round status` shows where each stands."""

from __future__ import annotations

from typing import Any

import click

from app.cli.common import Ctx, friendly, pass_ctx, progress_bar


@click.group("round")
def round_group() -> None:
    """SRADIT rounds: identify → generate → filter → review → augment → retrain."""


@round_group.command("start")
@click.option("--non-interactive", is_flag=True, help="Approve by the filter chain alone (marked as such), no experts.")
@click.option("--dataset", default="train", show_default=True, help="Training set of round 1.")
@click.option("--model", "model_name", default="baseline", show_default=True)
@click.option("--n", default=20, show_default=True, help="Variants per badcase.")
@click.option("--generator", type=click.Choice(["rules", "llm"]), default="rules", show_default=True)
@click.option("--generator-model", help="LLM (models file) for --generator llm.")
@click.option("--policy-model", help="LLM (models file) for the policy filter.")
@click.option("--folds", default=5, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--threshold", default=0.5, show_default=True)
@pass_ctx
@friendly
def round_start(
    c: Ctx,
    non_interactive: bool,
    dataset: str,
    model_name: str,
    n: int,
    generator: str,
    generator_model: str | None,
    policy_model: str | None,
    folds: int,
    seed: int,
    threshold: float,
) -> None:
    """Start the next round, or continue the unfinished one, and run its stages as far as they go."""
    from app.services.rounds import start_or_continue
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import run_foreground
    from pipeline.rounds.lifecycle import RoundConfig

    engine, actor = c.ready_engine(), cli_actor()

    def run_stage(kind: str, handler: str, params: dict[str, Any]) -> dict[str, Any]:
        bar, update = progress_bar(f"{kind:<8}")
        with bar:
            return run_foreground(engine, c.settings, kind, handler, params, actor, update)

    cfg = RoundConfig(dataset, model_name, n, generator, generator_model, policy_model, folds, seed, threshold)
    mode = "non-interactive" if non_interactive else "interactive"
    number, status = start_or_continue(engine, c.settings, mode, cfg, actor, run_stage)
    if status == "in_review":
        click.echo(f"round {number} is waiting for expert review; run `sradit round start` again once it is done")
    else:
        click.echo(f"round {number}: {status}")
    _print_rounds(engine)


@round_group.command("status")
@pass_ctx
@friendly
def round_status(c: Ctx) -> None:
    """Where each round stands."""
    _print_rounds(c.ready_engine())


def _print_rounds(engine: Any) -> None:
    from pipeline.rounds.lifecycle import review_complete, rounds

    for r in rounds(engine):
        ident, train = r.results.get("identifying", {}), r.results.get("training", {})
        line = f"round {r.number}  {r.status:<12} {r.mode:<16} dataset {r.config.get('dataset')}"
        if ident:
            line += f"  badcases {ident.get('badcases')}  score {ident.get('score', 0):.2f}"
        if r.status == "in_review":
            decided, total = review_complete(engine, r.number)
            line += f"  reviewed {decided}/{total}"
        if train:
            line += f" → {train.get('score_after', 0):.2f}  fixed {train.get('fixed')}"
        click.echo(line)


COMMANDS: tuple[click.Command, ...] = (round_group,)
