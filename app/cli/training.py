"""Retraining: `train sft|grpo` with TRL, and the models it trains and predicts with (`model tiny`, `model list`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.common import Ctx, friendly, pass_ctx
from db.vocabulary import SUBTASKS
from pipeline.domain.vocabulary import TRAINERS


@click.group()
def model() -> None:
    """Models."""


@model.command("tiny")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to write the model into.")
@click.option("--seed", default=0, show_default=True)
@click.option("--answers", is_flag=True, help="Then teach it to answer both prompts (TRL SFT on CPU, a few minutes).")
@click.option("--steps", default=None, type=int, help="SFT steps of --answers (default: the teaching's 160).")
@friendly
def model_tiny(out: Path, seed: int, answers: bool, steps: int | None) -> None:
    """Build the tiny offline Qwen2 that stands in for an LLM: random weights, or taught to answer (--answers)."""
    if answers:
        from training.tiny_answers import build_answering_model

        s = build_answering_model(out, seed=seed, steps=steps, log=lambda line: click.echo(line, err=True))
        click.echo(f"tiny Qwen2 taught to answer written to {s['path']} ({s['steps']} steps, {s['seconds']:.0f} s)")
    else:
        from training.tiny_model import build_tiny_model

        click.echo(f"tiny Qwen2 written to {build_tiny_model(out, seed=seed)}")


@model.command("list")
@pass_ctx
@friendly
def model_list(c: Ctx) -> None:
    """Every model with its lineage: NAME KIND SUBTASK FOLD ROUND DATASET PARENT (`-` for none)."""
    from training.models.resolve import all_models

    rows = [e.columns() for e in all_models(c.ready_engine(), c.settings.models)]
    header = ["NAME", "KIND", "SUBTASK", "FOLD", "ROUND", "DATASET", "PARENT"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@model.command("show")
@click.argument("name")
@pass_ctx
@friendly
def model_show(c: Ctx, name: str) -> None:
    """One model: its lineage, folder, training config and metrics; an ensemble with its members and vote."""
    from app.services.models import describe

    for line in describe(c.ready_engine(), c.settings, name):
        click.echo(line)


@model.command("register")
@click.argument("name")
@click.option(
    "--path", required=True, type=click.Path(path_type=Path), help="The model's folder (weights + tokenizer)."
)
@click.option("--kind", required=True, type=click.Choice(TRAINERS))
@click.option("--subtask", type=click.Choice(SUBTASKS), help="What it answers (default: both).")
@click.option("--round", "round_no", type=int, help="The round whose data trained it.")
@click.option("--dataset", help="The dataset version it was trained on (an export's folder name, say).")
@click.option("--parent", help="What it was trained from (a base folder or a registered model).")
@click.option("--engine", type=click.Choice(["transformers", "vllm"]), default="transformers", show_default=True)
@pass_ctx
@friendly
def model_register(
    c: Ctx,
    name: str,
    path: Path,
    kind: str,
    subtask: str | None,
    round_no: int | None,
    dataset: str | None,
    parent: str | None,
    engine: str,
) -> None:
    """Register a model trained elsewhere (LLaMA-Factory, verl, …) so that every --model can use it."""
    from app.services.models import register_external
    from pipeline.audit import cli_actor

    register_external(
        c.ready_engine(), c.settings, name, path, kind, subtask, round_no, dataset, parent, engine, cli_actor()
    )
    click.echo(f"registered {name} ({kind}{', ' + subtask if subtask else ''}) at {path.resolve()}")


@click.command("train", context_settings={"ignore_unknown_options": True})
@click.argument("kind", type=click.Choice(TRAINERS))
@click.option(
    "--config",
    "config",
    required=True,
    type=click.Path(path_type=Path),
    help="YAML or TOML run configuration (configs/sft.yaml, configs/grpo.yaml).",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a configuration key.")
@friendly
def train_cmd(kind: str, config: Path, overrides: tuple[str, ...]) -> None:
    """TRL training (also runs under `accelerate launch -m training.train_entry KIND CONFIG`)."""
    from training.train_entry import main as train_main

    args = [kind, str(config)] + [x for o in overrides for x in ("--set", o)]
    code = train_main(args)
    if code:
        sys.exit(code)


COMMANDS: tuple[click.Command, ...] = (model, train_cmd)
