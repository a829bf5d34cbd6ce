"""Retraining: `train sft|grpo` with TRL, and the models it trains and predicts with (`model tiny`, `model list`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.common import Ctx, friendly, pass_ctx, progress_bar
from db.vocabulary import SUBTASKS
from pipeline.domain.vocabulary import FRAMEWORKS, TRAINERS
from pipeline.errors import InputError


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


@model.command("ensemble")
@click.argument("name")
@click.option("--url", required=True, help="The OpenAI-compatible server's base URL (http://HOST:8000/v1).")
@click.option(
    "--member",
    "members",
    multiple=True,
    required=True,
    metavar="FOLD=PRINCIPAL,OTHER",
    help="A fold's models as the server names them (a sub-task pair), or FOLD=MULTI; one per fold.",
)
@click.option("--score", "scores", multiple=True, metavar="FOLD=VALUE", help="A fold's held-out score (breaks ties).")
@click.option("--round", "round_no", type=int, help="The round whose data trained the folds.")
@click.option("--dataset", help="The dataset version (or export) the folds were trained on.")
@click.option("--vote-share", type=float, default=0.5, show_default=True, help="Share of folds an other code needs.")
@click.option("--max-tokens", type=int, default=1500, show_default=True, help="Answer length asked of each member.")
@click.option("--api-key-env", help="Environment variable holding the server's API key (never stored).")
@pass_ctx
@friendly
def model_ensemble(
    c: Ctx,
    name: str,
    url: str,
    members: tuple[str, ...],
    scores: tuple[str, ...],
    round_no: int | None,
    dataset: str | None,
    vote_share: float,
    max_tokens: int,
    api_key_env: str | None,
) -> None:
    """Register a K-fold ensemble served by an OpenAI-compatible endpoint (`vllm serve --enable-lora` with one
    adapter per fold and sub-task); every --model then votes with it, its members queried concurrently."""
    from app.services.models import register_endpoint_ensemble
    from pipeline.audit import cli_actor

    register_endpoint_ensemble(
        c.ready_engine(),
        c.settings,
        name,
        url,
        {fold: names.split(",") for fold, names in _fold_values(members, "--member")},
        {fold: _number(value, "--score") for fold, value in _fold_values(scores, "--score")},
        round_no=round_no,
        dataset=dataset,
        vote_share=vote_share,
        max_tokens=max_tokens,
        api_key_env=api_key_env,
        actor=cli_actor(),
    )
    click.echo(f"registered ensemble {name}: {len(members)} members at {url}")


def _fold_values(values: tuple[str, ...], option: str) -> list[tuple[int, str]]:
    out = []
    for value in values:
        fold, sep, rest = value.partition("=")
        if not sep or not fold.strip().isdigit() or not rest.strip():
            raise InputError(f"{option} {value!r}: write FOLD=VALUE, with FOLD a number (0, 1, …)")
        out.append((int(fold), rest.strip()))
    folds = [f for f, _ in out]
    if len(set(folds)) != len(folds):
        raise InputError(f"{option}: fold {next(f for f in folds if folds.count(f) > 1)} is given twice")
    return out


def _number(value: str, option: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{option}: {value!r} is not a number") from None


@click.command("train", context_settings={"ignore_unknown_options": True})
@click.argument("kind", type=click.Choice((*TRAINERS, *FRAMEWORKS)))
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    help="(sft, grpo) YAML or TOML run configuration (configs/sft.yaml, configs/grpo.yaml).",
)
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="(sft, grpo) Override a configuration key."
)
@click.option("--export", "export_id", type=int, help="(llamafactory, verl) The export whose trainer files run.")
@click.option("--model", "base", help="(llamafactory, verl) The model to start from: a folder or a registered model.")
@click.option("--name", help="(llamafactory, verl) The name the trained model is registered under.")
@click.option("--gpus", type=int, default=8, show_default=True, help="(llamafactory, verl) GPUs of one node to use.")
@click.option(
    "--on",
    "where",
    type=click.Choice(["here", "cluster"]),
    help="(llamafactory, verl) Here, or as a job on the Ray cluster (needs SRADIT_JOB_BACKEND=ray); default: where "
    "the job backend sends jobs.",
)
@pass_ctx
@friendly
def train_cmd(
    c: Ctx,
    kind: str,
    config: Path | None,
    overrides: tuple[str, ...],
    export_id: int | None,
    base: str | None,
    name: str | None,
    gpus: int,
    where: str | None,
) -> None:
    """TRL training: `train sft|grpo --config FILE` (also runs under `accelerate launch -m training.train_entry KIND
    CONFIG`). The paper's trainers on an export: `train llamafactory|verl --export ID --model M --name NAME`, which
    runs the export's own trainer files as a job and registers what they trained (README, "Running on a cluster")."""
    if kind in FRAMEWORKS:
        _framework(c, kind, export_id, base, name, gpus, where)
        return
    if config is None:
        raise click.UsageError(f"`sradit train {kind}` needs --config FILE")
    from training.train_entry import main as train_main

    args = [kind, str(config)] + [x for o in overrides for x in ("--set", o)]
    code = train_main(args)
    if code:
        sys.exit(code)


def _framework(
    c: Ctx, kind: str, export_id: int | None, base: str | None, name: str | None, gpus: int, where: str | None
) -> None:
    from dataclasses import replace

    from app.services.framework_training import FrameworkTrainParams
    from app.services.jobs import run_command
    from pipeline.audit import cli_actor

    missing = [opt for opt, v in (("--export", export_id), ("--model", base), ("--name", name)) if v is None]
    if missing:
        raise click.UsageError(f"`sradit train {kind}` needs {', '.join(missing)}")
    settings = c.settings
    if where == "cluster" and settings.job_backend != "ray":
        raise click.UsageError("--on cluster needs SRADIT_JOB_BACKEND=ray (README, Running on a cluster)")
    if where == "here":
        settings = replace(settings, job_backend="local")
    params = FrameworkTrainParams(kind, int(export_id or 0), str(base), str(name), gpus)
    bar, update = progress_bar(f"{kind} on export {export_id}")
    with bar:
        result = run_command(c.ready_engine(), settings, params, cli_actor(), update)
    for line in result["lines"]:
        click.echo(line)


COMMANDS: tuple[click.Command, ...] = (model, train_cmd)
