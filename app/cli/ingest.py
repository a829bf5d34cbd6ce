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

    summary = import_file(
        c.ready_engine(), file, dataset, cli_actor(), c.settings.max_import_bytes, c.settings.max_record_chars
    )
    click.echo(summary.line())


@click.command("score")
@click.option("--gold", required=True, type=click.Path(path_type=Path), help="Gold labels, competition format.")
@click.option("--pred", required=True, type=click.Path(path_type=Path), help="Predictions, submission format.")
@click.option(
    "--metric",
    type=click.Choice(["f1", "recall"]),
    help="f1: 0.5·principal + 0.5·F1 of the other codes (the paper's eq. 6); recall: 0.5·principal + "
    "0.5·|pred ∩ gold|/|gold| (the task's published formula). Default: SRADIT_METRIC (f1).",
)
@pass_ctx
@friendly
def score_cmd(c: Ctx, gold: Path, pred: Path, metric: str | None) -> None:
    """Score a submission as submitted: `score  NN.NN  (f1)` first, then principal accuracy and the other-code
    F1 and recall; missing or unreadable predictions score 0 (warned on stderr)."""
    from pipeline.domain.metric import score
    from pipeline.errors import InputError
    from pipeline.ingest.submission import read_gold, read_predictions

    g = read_gold(gold, c.settings.max_import_bytes)
    p = read_predictions(pred, c.settings.max_import_bytes, as_submitted=True)
    report = score(g, p.labels, metric or c.settings.metric)
    ids = [*p.labels, *p.unparseable]
    if g and ids and not set(ids) & set(g):
        # Not one prediction is for a gold record: the wrong pair of files, not a model that scores 0.
        raise InputError(
            f"none of the {len(ids)} predictions in {pred} is for a record of {gold} ({len(g)} records; "
            f"病案标识 {next(iter(g))!r} there, {ids[0]!r} here): are these the right files?"
        )
    for line in report.lines()[: -len(report.warnings()) or None]:
        click.echo(line)
    for line in report.warnings():
        click.echo(line, err=True)
    if p.unparseable:
        shown = ", ".join(p.unparseable[:5])
        click.echo(f"unparseable      {len(p.unparseable)} predictions (scored 0): {shown}", err=True)


COMMANDS: tuple[click.Command, ...] = (import_cmd, score_cmd)
