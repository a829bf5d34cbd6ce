"""Getting data in: records (`import`) and scoring a submission against gold labels (`score`)."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.common import Ctx, friendly, pass_ctx


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dataset", required=True, help="Dataset to import into (created if new), e.g. train or testA.")
@pass_ctx
@friendly
def import_cmd(c: Ctx, file: Path, dataset: str) -> None:
    """Import EMRs from competition JSON, JSONL, CSV or xlsx; all or nothing."""
    from pipeline.audit import cli_actor
    from pipeline.ingest.importer import import_file

    summary = import_file(c.ready_engine(), file, dataset, cli_actor(), c.settings.max_import_bytes)
    click.echo(summary.line())


@click.command("score")
@click.option("--gold", required=True, type=click.Path(path_type=Path), help="Gold labels, competition format.")
@click.option("--pred", required=True, type=click.Path(path_type=Path), help="Predictions, submission format.")
@pass_ctx
@friendly
def score_cmd(c: Ctx, gold: Path, pred: Path) -> None:
    """Print the competition score (×100), principal accuracy and mean other-F1."""
    from pipeline.domain.metric import score
    from pipeline.ingest.submission import read_gold, read_predictions

    g = read_gold(gold, c.settings.max_import_bytes)
    p = read_predictions(pred, c.settings.max_import_bytes)
    for line in score(g, p.labels).lines():
        click.echo(line)
    if p.unparseable:
        click.echo(f"unparseable      {len(p.unparseable)} predictions (scored 0): {', '.join(p.unparseable[:5])}")


COMMANDS: tuple[click.Command, ...] = (import_cmd, score_cmd)
