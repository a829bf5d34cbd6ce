"""Identifying badcases: out-of-fold predictions (`kfold`), the badcase library, and `predict`."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.common import Ctx, friendly, pass_ctx, progress_bar
from db.vocabulary import BADCASE_ERRORS
from pipeline.domain.vocabulary import INFERENCE_MODES


@click.command("kfold")
@click.option(
    "--model",
    "model_name",
    default="baseline",
    show_default=True,
    help='Any model name; a learner (kind = "sft") is trained per fold and its ensemble registered.',
)
@click.option(
    "--predictions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Out-of-fold predictions made elsewhere (submission format), mined instead of a model's.",
)
@click.option("--dataset", default="train", show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--round", "round_no", type=int, help="Round to mine into (default: a new round).")
@click.option("--threshold", default=0.5, show_default=True, help="Other-code F1 below which a record is a badcase.")
@click.option("--out", type=click.Path(path_type=Path), help="Also write the out-of-fold predictions as a submission.")
@pass_ctx
@friendly
def kfold_cmd(
    c: Ctx,
    model_name: str,
    predictions: Path | None,
    dataset: str,
    folds: int,
    seed: int,
    round_no: int | None,
    threshold: float,
    out: Path | None,
) -> None:
    """Out-of-fold predictions for every labelled record, and the badcases among them."""
    from app.services.jobs import run_command
    from pipeline.audit import cli_actor
    from pipeline.domain.model_names import file_model_name
    from pipeline.mining.kfold import MiningConfig

    if predictions is not None:
        model_name = file_model_name(predictions)
    cfg = MiningConfig(dataset, folds, seed, round_no, threshold, model_name, str(predictions) if predictions else None)
    bar, update = progress_bar(f"{folds}-fold {model_name}")
    with bar:
        result = run_command(c.ready_engine(), c.settings, cfg, cli_actor(), update)
    for line in result["lines"]:
        click.echo(line)
    if out is not None:
        from app.services.mining import write_run_submission

        n = write_run_submission(c.engine, result["run_id"], out)
        click.echo(f"{n} out-of-fold predictions written to {out}")


@click.group()
def badcases() -> None:
    """The badcase library."""


@badcases.command("list")
@click.option("--round", "round_no", type=int, help="Only this round.")
@click.option("--error", "error_type", type=click.Choice(BADCASE_ERRORS))
@click.option("--code", help="Only badcases involving this code (gold or predicted).")
@pass_ctx
@friendly
def badcases_list(c: Ctx, round_no: int | None, error_type: str | None, code: str | None) -> None:
    """One line per badcase: round, 病案标识, error types, gold → predicted principal, missing / extra codes."""
    from pipeline.mining.badcases import list_badcases

    rows = list_badcases(c.ready_engine(), round_no, error_type, code)
    click.echo("round\t病案标识\terrors\tprincipal (gold→pred)\tother F1\tmissing\textra")
    for r in rows:
        click.echo(
            f"{r.round_no}\t{r.case_id}\t{','.join(r.error_types)}\t{r.gold_principal}→{r.predicted_principal or '-'}"
            f"\t{r.other_f1:.2f}\t{';'.join(r.missing) or '-'}\t{';'.join(r.extra) or '-'}"
        )
    click.echo(f"{len(rows)} badcases", err=True)


@click.command("predict")
@click.option("--model", "model_name", default="baseline", show_default=True, help="Any model (`sradit model list`).")
@click.option("--dataset", required=True, help="Dataset whose records are predicted, e.g. testA.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Submission file to write.")
@click.option("--inference", type=click.Choice(INFERENCE_MODES), help="Override the model's inference.")
@click.option("--train-dataset", default="train", show_default=True, help="What the baseline trains on.")
@pass_ctx
@friendly
def predict_cmd(c: Ctx, model_name: str, dataset: str, out: Path, inference: str | None, train_dataset: str) -> None:
    """Write a competition submission for every record of a dataset."""
    from app.services.mining import predict_dataset
    from pipeline.audit import cli_actor

    bar, update = progress_bar(f"predict {dataset}")
    with bar:
        run_id, n, report = predict_dataset(
            c.ready_engine(), c.settings, model_name, dataset, out, cli_actor(), inference, train_dataset, update
        )
    click.echo(f"{n} predictions written to {out} (run {run_id})")
    for line in report.lines() if report else []:
        click.echo(line)


COMMANDS: tuple[click.Command, ...] = (kfold_cmd, badcases, predict_cmd)
