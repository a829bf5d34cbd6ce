"""The ``sradit`` command (DESIGN.md, "Command line"). Errors go to stderr without a traceback."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from db.models import BADCASE_ERRORS, ROLES
from pipeline.errors import SraditError

F = TypeVar("F", bound=Callable[..., Any])


def _friendly(fn: F) -> F:
    """Turn user errors into a message and exit code 1; SRADIT_DEBUG=1 shows tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SraditError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except Exception as e:  # an unexpected failure still gets one line, not a traceback
            if os.environ.get("SRADIT_DEBUG"):
                raise
            click.echo(f"error: {type(e).__name__}: {e} (set SRADIT_DEBUG=1 for the traceback)", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class Ctx:
    """Settings and the engine, created lazily so that `--help` touches no database."""

    def __init__(self) -> None:
        from pipeline.settings import Settings

        self.settings = Settings.from_env()
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from pipeline.database import engine_for

            self._engine = engine_for(self.settings)
        return self._engine

    def ready_engine(self) -> Any:
        """The engine of a database whose schema is current (else a clear error)."""
        from pipeline.database import require_schema

        require_schema(self.engine)
        return self.engine


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sradit-studio")
@click.pass_context
def main(ctx: click.Context) -> None:
    """SRADIT Studio: badcases, expert-reviewed rewrites and retraining for ICD coding of Chinese EMRs."""
    ctx.obj = Ctx()


# --- db ---------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database."""


@db.command("init")
@pass_ctx
@_friendly
def db_init(c: Ctx) -> None:
    """Create the database or migrate it to the newest schema (SRADIT_DB_URL)."""
    from pipeline.database import init_database

    revision = init_database(c.engine)
    click.echo(f"database {c.settings.db_url} is at revision {revision}")


# --- codes ------------------------------------------------------------------------------------


@main.group()
def codes() -> None:
    """The ICD-10 dictionary and the task's label space."""


@codes.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@pass_ctx
@_friendly
def codes_import(c: Ctx, file: Path) -> None:
    """Load a dictionary from TSV/CSV (header `code name`) or xlsx (columns 疾病编码, 疾病名称)."""
    from pipeline.audit import cli_actor
    from pipeline.ingest.dictionary import import_dictionary

    s = import_dictionary(c.ready_engine(), file, c.settings.max_import_bytes, cli_actor())
    click.echo(f"{s.total} codes: {s.inserted} new, {s.updated} renamed, {s.unchanged} unchanged")


@codes.command("show")
@click.argument("code")
@pass_ctx
@_friendly
def codes_show(c: Ctx, code: str) -> None:
    """Print a code's name (and its role in the label space)."""
    from pipeline.ingest.dictionary import lookup

    info = lookup(c.ready_engine(), code)
    if info.name is None:
        hint = "".join(f"\n  {k}\t{n}" for k, n in info.neighbours)
        raise SraditError(f"code {info.code!r} is not in the dictionary" + (f"; codes nearby:{hint}" if hint else ""))
    roles = f"\t[label space: {', '.join(info.roles)}]" if info.roles else ""
    click.echo(f"{info.code}\t{info.name}{roles}")


# --- records ----------------------------------------------------------------------------------


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dataset", required=True, help="Dataset to import into (created if new), e.g. train or testA.")
@pass_ctx
@_friendly
def import_cmd(c: Ctx, file: Path, dataset: str) -> None:
    """Import EMRs from competition JSON, JSONL, CSV or xlsx; all or nothing."""
    from pipeline.audit import cli_actor
    from pipeline.ingest.importer import import_file

    summary = import_file(c.ready_engine(), file, dataset, cli_actor(), c.settings.max_import_bytes)
    click.echo(summary.line())


@main.command("score")
@click.option("--gold", required=True, type=click.Path(path_type=Path), help="Gold labels, competition format.")
@click.option("--pred", required=True, type=click.Path(path_type=Path), help="Predictions, submission format.")
@pass_ctx
@_friendly
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


# --- demo and users ---------------------------------------------------------------------------


@main.command("demo")
@click.option("--force", is_flag=True, help="Drop an existing database and build the demo anew.")
@click.option("--if-missing", is_flag=True, help="Do nothing when the database already exists (used by `make run`).")
@pass_ctx
@_friendly
def demo_cmd(c: Ctx, force: bool, if_missing: bool) -> None:
    """Build the demo database from the project's own synthetic records, and print its accounts."""
    from app.services.demo import build_demo
    from pipeline.demo.database import has_data

    if if_missing and has_data(c.engine):
        click.echo(f"database {c.settings.db_url} exists; keeping it (`sradit demo --force` rebuilds it)")
        return
    demo = build_demo(c.engine, c.settings, force=force)
    click.echo(f"demo database {c.settings.db_url}")
    for line in demo.lines():
        click.echo("  " + line)
    click.echo("accounts (demo only — change them before real use):")
    for role, (name, password) in demo.base.accounts.items():
        click.echo(f"  {role:<9} {name} / {password}")


@main.group()
def user() -> None:
    """Accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--password", help="At least 8 characters; without it a password is generated and printed.")
@pass_ctx
@_friendly
def user_add(c: Ctx, name: str, role: str, password: str | None) -> None:
    """Add an account."""
    from pipeline.accounts.users import add_user
    from pipeline.audit import cli_actor

    generated = add_user(c.ready_engine(), name, role, password, cli_actor())
    click.echo(f"added {role} {name}" + (f" with password {generated}" if generated else ""))


# --- models, mining and prediction ------------------------------------------------------------


@main.group()
def model() -> None:
    """Models."""


@model.command("tiny")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to write the model into.")
@click.option("--seed", default=0, show_default=True)
@_friendly
def model_tiny(out: Path, seed: int) -> None:
    """Build the tiny offline Qwen2 (random weights) that stands in for an LLM in tests."""
    from training.tiny_model import build_tiny_model

    click.echo(f"tiny Qwen2 written to {build_tiny_model(out, seed=seed)}")


@model.command("list")
@pass_ctx
@_friendly
def model_list(c: Ctx) -> None:
    """The models of the models file (SRADIT_MODELS), and the built-in baseline."""
    from training.registry import load_models

    for spec in load_models(c.settings.models).values():
        where = spec.path or spec.url or "built in"
        click.echo(f"{spec.name}\t{spec.kind}\t{spec.engine or '-'}\t{spec.inference}\t{where}")


def _bar(label: str) -> Any:
    """A click progress bar driven by progress(done, total) callbacks."""
    bar = click.progressbar(length=1000, label=label, file=sys.stderr)
    state = {"done": 0}

    def update(done: int, total: int) -> None:
        target = int(1000 * done / total) if total else 1000
        bar.update(max(0, target - state["done"]))
        state["done"] = max(state["done"], target)

    return bar, update


@main.command("kfold")
@click.option("--model", "model_name", default="baseline", show_default=True, help="A model of the models file.")
@click.option("--dataset", default="train", show_default=True)
@click.option("--folds", default=5, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--round", "round_no", type=int, help="Round to mine into (default: a new round).")
@click.option("--threshold", default=0.5, show_default=True, help="Other-code F1 below which a record is a badcase.")
@click.option("--out", type=click.Path(path_type=Path), help="Also write the out-of-fold predictions as a submission.")
@pass_ctx
@_friendly
def kfold_cmd(
    c: Ctx,
    model_name: str,
    dataset: str,
    folds: int,
    seed: int,
    round_no: int | None,
    threshold: float,
    out: Path | None,
) -> None:
    """Out-of-fold predictions for every labelled record, and the badcases among them."""
    from app.services.mining import KFOLD_HANDLER, kfold_params
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import run_foreground
    from pipeline.mining.kfold import MiningConfig

    cfg = MiningConfig(dataset, folds, seed, round_no, threshold, model_name)
    bar, update = _bar(f"{folds}-fold {model_name}")
    with bar:
        result = run_foreground(
            c.ready_engine(), c.settings, "kfold", KFOLD_HANDLER, kfold_params(cfg, cli_actor()), cli_actor(), update
        )
    for line in result["lines"]:
        click.echo(line)
    if out is not None:
        from app.services.mining import write_run_submission

        n = write_run_submission(c.engine, result["run_id"], out)
        click.echo(f"{n} out-of-fold predictions written to {out}")


@main.group()
def badcases() -> None:
    """The badcase library."""


@badcases.command("list")
@click.option("--round", "round_no", type=int, help="Only this round.")
@click.option("--error", "error_type", type=click.Choice(BADCASE_ERRORS))
@click.option("--code", help="Only badcases involving this code (gold or predicted).")
@pass_ctx
@_friendly
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


@main.command("predict")
@click.option("--model", "model_name", default="baseline", show_default=True)
@click.option("--dataset", required=True, help="Dataset whose records are predicted, e.g. testA.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Submission file to write.")
@click.option("--inference", type=click.Choice(["greedy", "tcecp"]), help="Override the model's inference.")
@click.option("--train-dataset", default="train", show_default=True, help="What the baseline trains on.")
@pass_ctx
@_friendly
def predict_cmd(c: Ctx, model_name: str, dataset: str, out: Path, inference: str | None, train_dataset: str) -> None:
    """Write a competition submission for every record of a dataset."""
    from app.services.mining import predict_dataset
    from pipeline.audit import cli_actor

    bar, update = _bar(f"predict {dataset}")
    with bar:
        run_id, n, report = predict_dataset(
            c.ready_engine(), c.settings, model_name, dataset, out, cli_actor(), inference, train_dataset, update
        )
    click.echo(f"{n} predictions written to {out} (run {run_id})")
    for line in report.lines() if report else []:
        click.echo(line)


@main.group()
def jobs() -> None:
    """Background jobs."""


@jobs.command("list")
@pass_ctx
@_friendly
def jobs_list(c: Ctx) -> None:
    """Jobs, newest first."""
    from pipeline.jobs.runner import list_jobs

    for j in list_jobs(c.ready_engine()):
        click.echo(f"{j.id}\t{j.kind}\t{j.status}\t{j.progress:.0%}\t{j.created_by or ''}\t{j.message or ''}")


@jobs.command("cancel")
@click.argument("job_id", type=int)
@pass_ctx
@_friendly
def jobs_cancel(c: Ctx, job_id: int) -> None:
    """Cancel a queued or running job."""
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import cancel

    click.echo(f"job {job_id}: {cancel(c.ready_engine(), job_id, cli_actor())}")


# --- rewrites -----------------------------------------------------------------------------------


@main.command("rewrite")
@click.option("--round", "round_no", type=int, required=True)
@click.option("--n", default=20, show_default=True, help="Variants per badcase.")
@click.option("--generator", type=click.Choice(["rules", "llm"]), default="rules", show_default=True)
@click.option("--model", "model_name", help="LLM (models file) for --generator llm.")
@click.option("--temperature", default=0.9, show_default=True)
@click.option("--seed", default=0, show_default=True)
@pass_ctx
@_friendly
def rewrite_cmd(
    c: Ctx, round_no: int, n: int, generator: str, model_name: str | None, temperature: float, seed: int
) -> None:
    """Generate N label-preserving variants per badcase of a round (stop and rerun: it resumes)."""
    from app.services.rewrite import REWRITE_HANDLER, rewrite_params
    from pipeline.audit import cli_actor
    from pipeline.augment.rewriting import RewriteConfig
    from pipeline.jobs.runner import run_foreground

    cfg = RewriteConfig(round_no, n, generator, model_name, temperature, seed)
    bar, update = _bar(f"rewrite round {round_no}")
    with bar:
        result = run_foreground(
            c.ready_engine(),
            c.settings,
            "rewrite",
            REWRITE_HANDLER,
            rewrite_params(cfg, cli_actor()),
            cli_actor(),
            update,
        )
    for line in result["lines"]:
        click.echo(line)


@main.command("filter")
@click.option("--round", "round_no", type=int, required=True)
@click.option("--policy-model", help="An LLM (models file) for the policy-verification filter; skipped without.")
@pass_ctx
@_friendly
def filter_cmd(c: Ctx, round_no: int, policy_model: str | None) -> None:
    """Run the filter chain over a round's variants and rank the survivors for review."""
    from app.services.rewrite import FILTER_HANDLER
    from pipeline.audit import cli_actor
    from pipeline.jobs.runner import run_foreground

    params = {"round_no": round_no, "policy_model": policy_model, "actor": cli_actor()}
    bar, update = _bar(f"filter round {round_no}")
    with bar:
        result = run_foreground(c.ready_engine(), c.settings, "filter", FILTER_HANDLER, params, cli_actor(), update)
    for line in result["lines"]:
        click.echo(line)


@main.group()
def rewrites() -> None:
    """Variants."""


@rewrites.command("show")
@click.argument("case_id")
@click.option("--round", "round_no", type=int)
@click.option("--text", "show_text", is_flag=True, help="Also print each variant's 入院诊断 and 现病史.")
@pass_ctx
@_friendly
def rewrites_show(c: Ctx, case_id: str, round_no: int | None, show_text: bool) -> None:
    """A badcase's variants, ranked first, with every filter verdict."""
    from pipeline.augment.filter_chain import badcase_variants

    found = badcase_variants(c.ready_engine(), case_id, round_no)
    if not found:
        raise SraditError(f"{case_id} is not a badcase" + (f" of round {round_no}" if round_no else ""))
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
            click.echo(
                f"  {rank:>4} v{v.seq:<3} {state:<10} similarity {sim:<7} {v.generator}: {', '.join(v.edits[:4])}"
            )
            if v.error:
                click.echo(f"        error: {v.error}")
            for name, (passed, reason) in v.verdicts.items():
                click.echo(f"        {'✓' if passed else '✗'} {name:<10} {reason}")
            if show_text and v.sections:
                for key in ("入院诊断", "现病史"):
                    click.echo(f"        {key}：{v.sections.get(key, '')}")


# --- export -------------------------------------------------------------------------------------


@main.command("export")
@click.option("--round", "round_no", type=int, required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["trl-sft", "trl-grpo", "llamafactory", "verl", "competition"]), required=True
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the versioned dataset.")
@click.option(
    "--selection",
    type=click.Choice(["best", "approved"]),
    default="best",
    show_default=True,
    help="best: each badcase's selected variant; approved: every variant approved by majority.",
)
@click.option("--min-score", type=int, help="Only variants whose mean expert score is at least this.")
@click.option("--task", type=click.Choice(["both", "principal", "other", "multi"]), default="both", show_default=True)
@click.option("--fold", type=int, help="Write a K-fold split whose evaluation set is this fold.")
@pass_ctx
@_friendly
def export_cmd(
    c: Ctx, round_no: int, fmt: str, out: Path, selection: str, min_score: int | None, task: str, fold: int | None
) -> None:
    """Write the training set (originals + approved variants) in a trainer's format."""
    from pipeline.audit import cli_actor
    from pipeline.export.datasets import ExportConfig, export

    r = export(c.ready_engine(), ExportConfig(round_no, fmt, out, selection, min_score, task, fold), cli_actor())
    counts = ", ".join(f"{k} {v}" for k, v in r.row_counts.items())
    click.echo(f"export {r.export_id} (v{r.version}) written to {r.path}\n  {counts}\n  sha256 {r.checksum}")


# --- rounds -------------------------------------------------------------------------------------


@main.group("round")
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
@_friendly
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
        bar, update = _bar(f"{kind:<8}")
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
@_friendly
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


# --- training -----------------------------------------------------------------------------------


@main.command("train", context_settings={"ignore_unknown_options": True})
@click.argument("kind", type=click.Choice(["sft", "grpo"]))
@click.option(
    "--config",
    "config",
    required=True,
    type=click.Path(path_type=Path),
    help="YAML or TOML run configuration (configs/sft.yaml, configs/grpo.yaml).",
)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a configuration key.")
@_friendly
def train_cmd(kind: str, config: Path, overrides: tuple[str, ...]) -> None:
    """TRL training (also runs under `accelerate launch -m training.train_entry KIND CONFIG`)."""
    from training.train_entry import main as train_main

    args = [kind, str(config)] + [x for o in overrides for x in ("--set", o)]
    code = train_main(args)
    if code:
        sys.exit(code)
