"""CoT distillation: `cotd`, a teacher LLM's reasoning for every labelled record, stored for SFT targets."""

from __future__ import annotations

import click

from app.cli.common import Ctx, friendly, pass_ctx, progress_bar


@click.command("cotd")
@click.option("--teacher", required=True, help='The teacher: an LLM of the models file (kind = "llm").')
@click.option("--dataset", default="train", show_default=True, help="Dataset whose labelled records are explained.")
@click.option(
    "--subtasks", default="principal,other", show_default=True, help="Comma-separated: principal, other, multi."
)
@click.option("--batch-size", default=16, show_default=True, help="Prompts per call to the teacher.")
@click.option("--temperature", default=0.7, show_default=True, help="Sampling temperature (0: one greedy attempt).")
@click.option("--attempts", default=2, show_default=True, help="Tries per record and sub-task before it fails.")
@pass_ctx
@friendly
def cotd_cmd(
    c: Ctx, teacher: str, dataset: str, subtasks: str, batch_size: int, temperature: float, attempts: int
) -> None:
    """Have a teacher LLM write, for each labelled record and sub-task, the reasoning from the record to its gold
    diagnoses; learners with `cotd = true` think with it in their SFT targets. Stop and rerun: it resumes."""
    from app.services.distill import CotdParams
    from app.services.jobs import run_command
    from pipeline.audit import cli_actor

    params = CotdParams(
        teacher,
        dataset,
        tuple(s.strip() for s in subtasks.split(",") if s.strip()),
        batch_size=batch_size,
        temperature=temperature,
        max_attempts=attempts,
    )
    bar, update = progress_bar(f"cotd {teacher}")
    with bar:
        result = run_command(c.ready_engine(), c.settings, params, cli_actor(), update)
    for line in result["lines"]:
        click.echo(line)


COMMANDS: tuple[click.Command, ...] = (cotd_cmd,)
