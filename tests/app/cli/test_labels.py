"""`sradit labels list|flag|accept|dismiss` on a real SQLite database, then the relabelled version mined (the
baseline coder, out of fold) and rewritten through the CLI like any dataset."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import Badcase, Record, Round, Variant
from tests.helpers import Cli, mine_synthetic, row_counts


@pytest.fixture
def flagged_round(cli: Cli, db_url: str) -> tuple[Cli, list[str]]:
    """Round 1 mined from 20 synthetic records; the Oracle missed the principal code of two of them."""
    cli("db", "init")
    engine = make_engine(db_url)
    ids = mine_synthetic(engine, misses=2)
    engine.dispose()
    return cli, ids


def test_flag_accept_dismiss_and_list_from_the_command_line(flagged_round: tuple[Cli, list[str]], db_url: str) -> None:
    cli, (first, second) = flagged_round
    before = row_counts(make_engine(db_url))
    bad = cli("labels", "flag", first, "--principal", "I21.401", "--others", "E78.500;Z99.999", ok=False)
    assert bad.exit_code == 1 and "other code 'Z99.999' is not among the task's other-diagnosis codes" in bad.output
    nobody = cli("labels", "flag", "ZY000000000000", "--principal", "I21.401", "--others", "E78.500", ok=False)
    assert nobody.exit_code == 1 and "record ZY000000000000 is not a badcase" in nobody.output
    assert row_counts(make_engine(db_url)) == before

    out = cli("labels", "flag", first, "--principal", "I21.401", "--others", "E78.500;I25.103", "--comment", "ECG")
    flagged = rf"label issue 1 flagged: record {first} \(round 1\), .* → I21\.401\|E78\.500;I25\.103"
    assert re.search(flagged, out.output)
    cli("labels", "flag", second, "--round", "1", "--principal", "I21.401", "--others", "E78.500")
    listed = cli("labels", "list").stdout.splitlines()
    assert listed[0].startswith("issue\tstatus\tround\t病案标识") and len(listed) == 3
    assert listed[1].split("\t")[:4] == ["1", "open", "1", first]

    accepted = cli("labels", "accept", "1", "--note", "checked the chart").stdout
    assert "dataset train@L1" in accepted.splitlines()
    again = cli("labels", "accept", "1", ok=False)
    assert again.exit_code == 1 and "label issue 1 was already accepted" in again.output and "train@L1" in again.output
    assert "the gold codes stand" in cli("labels", "dismiss", "2").stdout
    refused = cli("labels", "accept", "2", ok=False)
    assert refused.exit_code == 1 and "label issue 2 was dismissed" in refused.output
    everything = cli("labels", "list", "--status", "all", "--round", "1").stdout.splitlines()
    assert [line.split("\t")[1] for line in everything[1:]] == ["accepted", "dismissed"]
    assert everything[1].split("\t")[-1] == "train@L1"
    assert len(cli("labels", "list").stdout.splitlines()) == 1  # no open issue left

    # The round's generate stage leaves the accepted issue's badcase out, and says so; the dismissed one is rewritten.
    cli("round", "start")
    engine = make_engine(db_url)
    with read_session(engine) as s:
        generating = s.scalar(select(Round.results).where(Round.number == 1))["generating"]
        rewritten = set(s.scalars(select(Record.case_id).join(Badcase).join(Variant, Variant.badcase_id == Badcase.id)))
    assert generating["held_for_label_issues"] == 1 and generating["generated"] > 0
    assert rewritten == {second}
    engine.dispose()

    # The relabelled version is mined out of fold and rewritten like any dataset.
    mined = cli("kfold", "--dataset", "train@L1", "--folds", "2").output
    assert "round 2" in mined
    assert "round 2:" in cli("rewrite", "--round", "2", "--n", "1").output
