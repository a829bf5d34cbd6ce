"""The whole loop: `round start` runs a round's stages as far as they go, `round status` shows where each stands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from app.cli.common import Ctx, friendly, pass_ctx, progress_bar
from db.vocabulary import VARIANT_GENERATORS
from pipeline.domain.vocabulary import INFERENCE_MODES, MINING_MODES, RETRAIN_MODES


@click.group("round")
def round_group() -> None:
    """SRADIT rounds: identify → generate → filter → review → augment → retrain."""


@round_group.command("start")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Round configuration (YAML: mining, learner, folds, generator, rewrite_model, n, label_model, "
    "policy_model, inference, grpo_config, dataset, seed, threshold, retrain); the options below override it.",
)
@click.option("--non-interactive", is_flag=True, help="Approve by the filter chain alone (marked as such), no experts.")
@click.option(
    "--continue",
    "continue_only",
    is_flag=True,
    help="Go on with the unfinished round as it is stored (no --config or options); refused when none is open.",
)
@click.option("--dataset", help="Training set of round 1 [default: train].")
@click.option("--learner", "--model", "learner", help="The learner: baseline or a models-file learner [baseline].")
@click.option("--mining", type=click.Choice(MINING_MODES), help="kfold (§2.1) or policy (§2.4) [kfold].")
@click.option("--n", type=int, help="Variants per badcase [20].")
@click.option("--generator", type=click.Choice(VARIANT_GENERATORS), help="What writes the variants [rules].")
@click.option("--rewrite-model", "--generator-model", "rewrite_model", help="LLM (models file) for --generator llm.")
@click.option("--label-model", help="Label filter's model [auto].")
@click.option("--policy-model", help="Policy filter's model: auto, none or a name [auto].")
@click.option("--inference", type=click.Choice(INFERENCE_MODES), help="For mining and both filters [greedy].")
@click.option("--folds", type=int, help="K of K-fold mining [5].")
@click.option("--seed", type=int, help="Seed of folds and generation [0].")
@click.option("--threshold", type=float, help="Other-code F1 below which a record is a badcase [0.5].")
@click.option(
    "--retrain",
    type=click.Choice(RETRAIN_MODES),
    help="here: the round trains its learner; external: it waits for SFT and GRPO models registered for it [here].",
)
@pass_ctx
@friendly
def round_start(c: Ctx, config_file: Path | None, non_interactive: bool, continue_only: bool, **options: Any) -> None:
    """Start the next round, or continue the unfinished one, and run its stages as far as they go.

    A --config or options given while a round is open apply to the stages it has not started yet; settings of a
    stage it has started are refused (go on with `--continue`, or `sradit round abandon N` first)."""
    from app.services.jobs import run_command
    from app.services.rounds import start_round
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import RoundLink
    from pipeline.rounds.config import read_round_config
    from pipeline.rounds.external import waiting_for

    given = {k: v for k, v in options.items() if v is not None}
    if config_file:
        given = {**read_round_config(config_file), **given}
    engine, actor = c.ready_engine(), cli_actor()

    def run_stage(kind: str, params: Any, link: RoundLink) -> dict[str, Any]:
        bar, update = progress_bar(f"{link.stage} ({kind} job)")
        with bar:
            return run_command(engine, c.settings, params, actor, update, kind, link)

    mode = "non-interactive" if non_interactive else "interactive"
    number, status = start_round(engine, c.settings, mode, given or None, actor, run_stage, continue_only)
    waits = waiting_for(engine, number)
    if status == "in_review":
        click.echo(f"round {number} is waiting for expert review; run `sradit round start` again once it is done")
    elif waits is not None:
        click.echo(waits.waiting())
    else:
        click.echo(f"round {number}: {status}")
    _print_rounds(engine)


@round_group.command("abandon")
@click.argument("number", type=int)
@pass_ctx
@friendly
def round_abandon(c: Ctx, number: int) -> None:
    """Close an unfinished round where it stands (its badcases, variants and reviews are kept); the next
    `round start` opens a new round."""
    from pipeline.audit import cli_actor
    from pipeline.rounds.lifecycle import abandon_round

    abandon_round(c.ready_engine(), number, cli_actor())
    click.echo(f"round {number} abandoned")


@round_group.command("status")
@pass_ctx
@friendly
def round_status(c: Ctx) -> None:
    """Where each round stands (stages finished by hand included)."""
    _print_rounds(c.ready_engine())


def _print_rounds(engine: Any) -> None:
    from pipeline.rounds.dashboard import status_lines

    for line in status_lines(engine):
        click.echo(line)


COMMANDS: tuple[click.Command, ...] = (round_group,)
