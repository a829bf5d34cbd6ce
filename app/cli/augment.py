"""Generating and filtering variants: `rewrite`, `filter`, and `rewrites show` to inspect them."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.common import Ctx, friendly, pass_ctx, progress_bar
from db.vocabulary import VARIANT_GENERATORS
from pipeline.domain.vocabulary import LABEL_CHECKS
from pipeline.errors import SraditError


@click.command("rewrite")
@click.option("--round", "round_no", type=int, required=True)
@click.option("--n", default=20, show_default=True, help="Variants per badcase.")
@click.option("--generator", type=click.Choice(VARIANT_GENERATORS), default="rules", show_default=True)
@click.option("--model", "model_name", help="LLM (models file) for --generator llm.")
@click.option("--temperature", default=0.9, show_default=True)
@click.option("--seed", default=0, show_default=True)
@pass_ctx
@friendly
def rewrite_cmd(
    c: Ctx, round_no: int, n: int, generator: str, model_name: str | None, temperature: float, seed: int
) -> None:
    """Generate N label-preserving variants per badcase of a round (stop and rerun: it resumes)."""
    from app.services.jobs import run_command
    from pipeline.audit import cli_actor
    from pipeline.augment.rewriting import RewriteConfig
    from pipeline.jobs.runner import RoundLink
    from pipeline.rounds.lookup import round_id

    engine = c.ready_engine()
    # Resolved first: an unknown round is refused before anything is loaded or printed.
    link = RoundLink(round_id(engine, round_no), "generating")  # the round counts it as its generating stage
    cfg = RewriteConfig(round_no, n, generator, model_name, temperature, seed)
    bar, update = progress_bar(f"rewrite round {round_no}")
    with bar:
        result = run_command(engine, c.settings, cfg, cli_actor(), update, link=link)
    for line in result["lines"]:
        click.echo(line)


@click.command("filter")
@click.option("--round", "round_no", type=int, required=True)
@click.option(
    "--label-predictions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Predictions made elsewhere for every variant of the round (submission format, ids <病案标识>#v<seq> "
    "as in `export --format prompts`), for the label-consistency filter.",
)
@click.option(
    "--label-model",
    help="A model for the label-consistency filter: a registered SFT model or ensemble, or an LLM of the models "
    "file (default: the baseline trained on the round's training set).",
)
@click.option(
    "--policy-predictions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Predictions made elsewhere for every variant of the round, for the policy-verification filter.",
)
@click.option(
    "--policy-model",
    help="A model for the policy-verification filter (TCECP): an LLM of the models file or a registered model; "
    "skipped without this or --policy-predictions.",
)
@click.option(
    "--label-check",
    type=click.Choice(LABEL_CHECKS),
    default="predict",
    show_default=True,
    help="predict: the label model must predict the gold codes (the paper); gold: its likelihood of the gold answer "
    "must hold up on the variant as on the original (needs a language model as --label-model).",
)
@pass_ctx
@friendly
def filter_cmd(
    c: Ctx,
    round_no: int,
    label_predictions: Path | None,
    label_model: str | None,
    policy_predictions: Path | None,
    policy_model: str | None,
    label_check: str,
) -> None:
    """Run the filter chain over a round's variants and rank the survivors for review."""
    from app.services.jobs import run_command
    from app.services.rewrite import filter_params
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import RoundLink
    from pipeline.rounds.lookup import round_id

    engine = c.ready_engine()
    link = RoundLink(round_id(engine, round_no), "filtering")  # the round counts it as its filtering stage
    params = filter_params(
        round_no,
        policy_model=policy_model,
        label_model=label_model,
        label_predictions=label_predictions,
        policy_predictions=policy_predictions,
        label_check=label_check,
    )
    bar, update = progress_bar(f"filter round {round_no}")
    with bar:
        result = run_command(engine, c.settings, params, cli_actor(), update, link=link)
    for line in result["lines"]:
        click.echo(line)


@click.group()
def rewrites() -> None:
    """Variants."""


@rewrites.command("label-checks")
@click.option("--round", "round_no", type=int, required=True)
@click.option("--label-model", required=True, help="The label model both checks use (SFT model, ensemble or LLM).")
@pass_ctx
@friendly
def rewrites_label_checks(c: Ctx, round_no: int, label_model: str) -> None:
    """Measure the two label checks side by side on a round's variants (predict and compare, against the gold
    answer's likelihood); the round's verdicts are left as they are."""
    from app.services.rewrite import compare_label_checks

    for line in compare_label_checks(c.ready_engine(), c.settings, round_no, label_model).lines():
        click.echo(line)


@rewrites.command("show")
@click.argument("case_id")
@click.option("--round", "round_no", type=int)
@click.option(
    "--text", "show_text", is_flag=True, help="Also print the original, then each variant with its changes marked."
)
@pass_ctx
@friendly
def rewrites_show(c: Ctx, case_id: str, round_no: int | None, show_text: bool) -> None:
    """A badcase's variants, ranked first, with every filter verdict and every edit; with --text the original's
    sections, then each variant's, changes marked [-removed-]{+added+}."""
    from app.textdiff import diff_text
    from pipeline.augment.filter_chain import badcase_original, badcase_variants
    from pipeline.domain.records import TEXT_SECTIONS

    engine = c.ready_engine()
    found = badcase_variants(engine, case_id, round_no)
    if not found:
        raise SraditError(f"{case_id} is not a badcase" + (f" of round {round_no}" if round_no else ""))
    original = badcase_original(engine, case_id)
    if show_text:
        click.echo("original")
        for key in TEXT_SECTIONS:
            if original.get(key):
                click.echo(f"  {key}：{original[key]}")
    for number, views in found:
        click.echo(f"round {number}: {len(views)} variants")
        for v in views:
            state = (
                "failed"
                if v.status == "failed"
                else ("PASS" if v.passed else "fail" if v.passed is False else "unfiltered")
            )
            rank = f"#{v.rank}" if v.rank else "  "
            sim = f"{v.similarity:.1f}%" if v.similarity is not None else "-"
            click.echo(f"  {rank:>4} v{v.seq:<3} {state:<10} similarity {sim:<7} {v.generator}")
            for edit in v.edits:
                click.echo(f"        edit: {edit}")
            if v.error:
                click.echo(f"        error: {v.error}")
            for name, (passed, reason) in v.verdicts.items():
                click.echo(f"        {'✓' if passed else '✗'} {name:<10} {reason}")
            if show_text and v.sections:
                click.echo(f"        variant {v.seq}")
                for key in TEXT_SECTIONS:
                    before = original.get(key, "")
                    after = v.sections.get(key, before)
                    if before or after:
                        marked = diff_text(before, after) if before != after else after
                        click.echo(f"          {key}{'' if before == after else ' (changed)'}：{marked}")


COMMANDS: tuple[click.Command, ...] = (rewrite_cmd, filter_cmd, rewrites)
