"""Label issues from the command line: `labels list|flag|accept|dismiss` — the engineer's side of an expert's flag
that a badcase's gold codes are wrong (the Label issues page does the same in the browser)."""

from __future__ import annotations

import click

from app.cli.common import Ctx, friendly, pass_ctx
from db.vocabulary import LABEL_ISSUE_STATUSES


@click.group("labels")
def labels_group() -> None:
    """Gold codes flagged as wrong: list, flag, accept (a relabelled dataset version) or dismiss."""


def _codes(principal: str, others: tuple[str, ...]) -> str:
    return f"{principal}|{';'.join(others)}"


@labels_group.command("list")
@click.option(
    "--status",
    type=click.Choice([*LABEL_ISSUE_STATUSES, "all"]),
    default="open",
    show_default=True,
)
@click.option("--round", "round_no", type=int, help="Only issues on this round's badcases.")
@pass_ctx
@friendly
def labels_list(c: Ctx, status: str, round_no: int | None) -> None:
    """One line per issue, open first and likeliest label errors first (the out-of-fold model's confidence that the
    gold codes are wrong): issue, status, round, 病案标识, confidence, gold → proposed, who flagged, new dataset."""
    from pipeline.review.label_issues import list_label_issues

    rows = list_label_issues(c.ready_engine(), None if status == "all" else status, round_no)
    click.echo("issue\tstatus\tround\t病案标识\tconfidence\tgold\tproposed\tflagged by\tdataset")
    for r in rows:
        confidence = "-" if r.confidence is None else f"{r.confidence:.2f}"
        click.echo(
            f"{r.id}\t{r.status}\t{r.round_no}\t{r.case_id}\t{confidence}\t{_codes(r.old_principal, r.old_others)}"
            f"\t{_codes(r.proposed_principal, r.proposed_others)}\t{r.flagged_by}\t{r.dataset or '-'}"
        )
    click.echo(f"{len(rows)} label issues", err=True)


@labels_group.command("flag")
@click.argument("case_id")
@click.option("--principal", required=True, help="The right principal code (one of the task's five).")
@click.option("--others", required=True, help="The right other codes, `;`-separated.")
@click.option("--round", "round_no", type=int, help="The round of the badcase [the newest where it is one].")
@click.option("--comment", help="Why the gold codes are wrong.")
@pass_ctx
@friendly
def labels_flag(c: Ctx, case_id: str, principal: str, others: str, round_no: int | None, comment: str | None) -> None:
    """Flag the gold codes of badcase CASE_ID (its 病案标识) as wrong, proposing the right ones."""
    from pipeline.audit import cli_actor
    from pipeline.review.label_issues import find_badcase, flag_label_issue, issues_of_badcase

    engine = c.ready_engine()
    badcase = find_badcase(engine, case_id, round_no)
    issue = flag_label_issue(engine, badcase, principal, others, cli_actor(), comment)
    r = next(i for i in issues_of_badcase(engine, badcase) if i.id == issue)
    click.echo(
        f"label issue {issue} flagged: record {r.case_id} (round {r.round_no}), "
        f"{_codes(r.old_principal, r.old_others)} → {_codes(r.proposed_principal, r.proposed_others)}; "
        "held out of rewriting and augmentation until an engineer accepts or dismisses it"
    )


@labels_group.command("accept")
@click.argument("issue_id", type=int)
@click.option("--note", help="Why it was accepted (kept with the issue).")
@pass_ctx
@friendly
def labels_accept(c: Ctx, issue_id: int, note: str | None) -> None:
    """Accept a label issue: a new dataset version with the record's gold codes replaced. Prints `dataset NAME`."""
    from pipeline.audit import cli_actor
    from pipeline.review.label_issues import accept_label_issue

    done = accept_label_issue(c.ready_engine(), issue_id, cli_actor(), note)
    click.echo(
        f"label issue {done.issue_id} accepted: record {done.case_id} relabelled in a new version of {done.parent}"
    )
    click.echo(f"dataset {done.dataset}")


@labels_group.command("dismiss")
@click.argument("issue_id", type=int)
@click.option("--note", help="Why the gold codes stand.")
@pass_ctx
@friendly
def labels_dismiss(c: Ctx, issue_id: int, note: str | None) -> None:
    """Dismiss a label issue: the gold codes stand and the badcase goes back to augmentation."""
    from pipeline.audit import cli_actor
    from pipeline.review.label_issues import dismiss_label_issue

    dismiss_label_issue(c.ready_engine(), issue_id, cli_actor(), note)
    click.echo(f"label issue {issue_id} dismissed: the gold codes stand")


COMMANDS: tuple[click.Command, ...] = (labels_group,)
