"""Augmenting the training set: `export` writes originals + approved variants for a trainer."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.common import Ctx, friendly, pass_ctx
from pipeline.domain.vocabulary import EXPORT_FORMATS, EXPORT_SELECTIONS, EXPORT_TASKS


@click.command("export")
@click.option("--round", "round_no", type=int, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    required=True,
    help="A trainer's format, or prompts: every record's and variant's prompts, for models run elsewhere.",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the versioned dataset.")
@click.option(
    "--selection",
    type=click.Choice(EXPORT_SELECTIONS),
    default="best",
    show_default=True,
    help="best: each badcase's selected variant; approved: every variant approved by majority.",
)
@click.option("--min-score", type=int, help="Only variants whose mean expert score is at least this.")
@click.option("--task", type=click.Choice(EXPORT_TASKS), default="both", show_default=True)
@click.option("--fold", type=int, help="Write a K-fold split whose evaluation set is this fold.")
@pass_ctx
@friendly
def export_cmd(
    c: Ctx, round_no: int, fmt: str, out: Path, selection: str, min_score: int | None, task: str, fold: int | None
) -> None:
    """Write the training set (originals + approved variants) in a trainer's format, or (--format prompts) the
    prompts of the round's records and variants for models that predict outside the tool."""
    from pipeline.audit import cli_actor
    from pipeline.export.datasets import ExportConfig, collect, export

    engine = c.ready_engine()
    cfg = ExportConfig(round_no, fmt, out, selection, min_score, task, fold)
    if fmt != "prompts" and not any(x.origin == "variant" for x in collect(engine, cfg)):
        click.echo("variants 0")
        click.echo(
            f"round {round_no} has no decided variant to export ({selection}): review its badcases on the Review "
            "page, or run `sradit round start --non-interactive` to let the filter chain choose (marked as such)",
            err=True,
        )
        sys.exit(2)
    r = export(engine, cfg, cli_actor())
    counts = ", ".join(f"{k} {v}" for k, v in r.row_counts.items())
    variants = sum(v for k, v in r.row_counts.items() if k.endswith("_variant_records"))
    click.echo(f"export {r.export_id} (v{r.version}) written to {r.path}\n  {counts}\n  sha256 {r.checksum}")
    if fmt != "prompts":
        click.echo(f"variants {variants}")


COMMANDS: tuple[click.Command, ...] = (export_cmd,)
