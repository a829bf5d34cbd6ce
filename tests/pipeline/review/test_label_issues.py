"""Label issues on a real SQLite database: a flag is validated against the label space, holds its badcase out of
rewriting and augmentation, and reaches the engineer, whose acceptance makes a relabelled dataset version (audited,
with provenance) that mining, rewriting, augmentation, export and training's held-out guard take like any other;
a dismissal releases the badcase. The learner is the Oracle of the K-fold tests (mistakes known in advance)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from db.engine import read_session, write_session
from db.models import AuditEntry, Badcase, Dataset, Record, Round, Selection, Variant
from pipeline.augment.rewriting import RewriteConfig, generate_round
from pipeline.demo.synthetic import generate_records
from pipeline.domain.records import ID_KEY
from pipeline.errors import InputError
from pipeline.export.datasets import ExportConfig, export
from pipeline.ingest.importer import import_rows
from pipeline.mining.kfold import MiningConfig, mine
from pipeline.review.label_issues import (
    accept_label_issue,
    dismiss_label_issue,
    find_badcase,
    flag_label_issue,
    held_badcase_ids,
    label_issue_counts,
    list_label_issues,
)
from pipeline.rounds.config import RoundConfig
from pipeline.rounds.dashboard import round_rows
from pipeline.rounds.driver import claim
from pipeline.rounds.lifecycle import augment, next_round_dataset, set_stage
from tests.helpers import Counting, Oracle, row_counts

NEW_PRINCIPAL = "I21.401"
NEW_OTHERS = ["E78.500", "I25.103"]


@pytest.fixture
def wrong(engine: Engine) -> list[str]:
    """20 synthetic records in `train`, round 1 mined: the Oracle misses the principal code of three of them."""
    import_rows(engine, generate_records(n_labelled=20, n_unlabelled=0, seed=3), "train", "t", source="synthetic")
    with read_session(engine) as s:
        ids = list(
            s.scalars(
                select(Record.case_id)
                .where(Record.principal_code.not_in(["I50.900x018", NEW_PRINCIPAL]))
                .order_by(Record.id)
                .limit(3)
            )
        )
    mine(engine, lambda _fold: Oracle(set(ids), set(), []), MiningConfig(folds=2), "t")
    return ids


def _badcase(engine: Engine, case_id: str, round_no: int = 1) -> int:
    return find_badcase(engine, case_id, round_no)


def _codes(engine: Engine, dataset: str, case_id: str) -> tuple[str | None, list[str] | None]:
    with read_session(engine) as s:
        rec = s.scalar(
            select(Record)
            .join(Dataset, Dataset.id == Record.dataset_id)
            .where(Dataset.name == dataset, Record.case_id == case_id)
        )
        assert rec is not None
        return rec.principal_code, rec.other_codes


def test_codes_outside_the_label_space_are_refused_naming_the_code_and_nothing_is_written(
    engine: Engine, wrong: list[str]
) -> None:
    b = _badcase(engine, wrong[0])
    before = row_counts(engine)
    cases = [
        ("I99.999", NEW_OTHERS, "principal code 'I99.999' is not one of the task's principal codes"),
        (NEW_PRINCIPAL, ["E78.500", "Z99.999"], "other code 'Z99.999' is not among the task's other-diagnosis codes"),
        (NEW_PRINCIPAL, "E78.500;nonsense", "other code 'nonsense' is not an ICD-10 code"),
        (NEW_PRINCIPAL, [NEW_PRINCIPAL, "E78.500"], f"the other codes repeat the principal code '{NEW_PRINCIPAL}'"),
        (NEW_PRINCIPAL, [], "give at least one other code"),
        ("", NEW_OTHERS, "the principal code is missing"),
    ]
    for principal, others, message in cases:
        with pytest.raises(InputError, match="refused") as e:
            flag_label_issue(engine, b, principal, others, "expert")
        assert message in str(e.value), (principal, others, str(e.value))
    gold = _codes(engine, "train", wrong[0])
    with pytest.raises(InputError, match="are its gold codes"):
        flag_label_issue(engine, b, gold[0] or "", list(reversed(gold[1] or [])), "expert")
    with pytest.raises(InputError, match="no badcase 99999"):
        flag_label_issue(engine, 99999, NEW_PRINCIPAL, NEW_OTHERS, "expert")
    assert row_counts(engine) == before


def test_a_flag_reaches_the_engineer_and_its_acceptance_makes_a_relabelled_version(
    engine: Engine, wrong: list[str]
) -> None:
    flagged, dismissed, kept = (_badcase(engine, c) for c in wrong)
    old = _codes(engine, "train", wrong[0])
    # Spaces and a full-width separator are normalised; the proposal is stored as codes of the label space.
    issue = flag_label_issue(engine, flagged, f" {NEW_PRINCIPAL} ", "E78.500；I25.103", "expert", "chart says NSTEMI")
    other = flag_label_issue(engine, dismissed, NEW_PRINCIPAL, NEW_OTHERS, "expert2")
    with pytest.raises(InputError, match=f"already has label issue {issue}, open, flagged by expert"):
        flag_label_issue(engine, flagged, NEW_PRINCIPAL, ["E78.500"], "expert2")
    dismiss_label_issue(engine, other, "engineer", "the gold codes are right")
    assert held_badcase_ids(engine, 1) == {flagged}

    # Rewriting skips the flagged badcase; the dismissed one is back in.
    report = generate_round(engine, RewriteConfig(round_no=1, n=2), Counting(), "t")
    assert report.held == 1 and "1 held out by label issues" in report.lines()[0]
    with read_session(engine) as s:
        rewritten = set(s.scalars(select(Variant.badcase_id)))
    assert flagged not in rewritten and {dismissed, kept} <= rewritten

    # The engineer's list: open first, likeliest label errors first.
    with write_session(engine) as s:
        s.execute(update(Badcase).where(Badcase.id == flagged).values(label_error_confidence=0.2))
        s.execute(update(Badcase).where(Badcase.id == kept).values(label_error_confidence=0.9))
    third = flag_label_issue(engine, kept, NEW_PRINCIPAL, NEW_OTHERS, "expert")
    rows = list_label_issues(engine)
    assert [(r.id, r.status) for r in rows] == [(third, "open"), (issue, "open"), (other, "dismissed")]
    assert rows[1].proposed_others == ("E78.500", "I25.103") and rows[1].comment == "chart says NSTEMI"
    assert [r.id for r in list_label_issues(engine, status="open", round_no=1)] == [third, issue]

    accepted = accept_label_issue(engine, issue, "engineer", "checked the chart")
    assert (accepted.dataset, accepted.parent, accepted.case_id) == (f"train@L{issue}", "train", wrong[0])
    assert _codes(engine, accepted.dataset, wrong[0]) == (NEW_PRINCIPAL, NEW_OTHERS)
    assert _codes(engine, "train", wrong[0]) == old  # the old version is kept as it was
    with read_session(engine) as s:
        made = s.scalar(select(Dataset).where(Dataset.name == accepted.dataset))
        assert made is not None and made.provenance is not None
        n_new = len(s.scalars(select(Record.id).where(Record.dataset_id == made.id)).all())
        n_old = len(s.scalars(select(Record.id).join(Dataset).where(Dataset.name == "train")).all())
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.action.like("label_issue.%")))]
    assert n_new == n_old == 20
    assert made.provenance["kind"] == "relabel" and made.provenance["label_issue"] == issue
    assert made.provenance["old"] == {"principal": old[0], "others": old[1]}
    assert made.provenance["new"] == {"principal": NEW_PRINCIPAL, "others": NEW_OTHERS}
    assert sorted(actions) == [
        "label_issue.accept",
        "label_issue.dismiss",
        "label_issue.flag",
        "label_issue.flag",
        "label_issue.flag",
    ]

    # Resolved once only, with a clear message; a refused resolution writes nothing.
    before = row_counts(engine)
    with pytest.raises(InputError, match=f"label issue {issue} was already accepted by engineer: dataset train@L"):
        accept_label_issue(engine, issue, "engineer2")
    with pytest.raises(InputError, match=f"label issue {other} was dismissed by engineer"):
        accept_label_issue(engine, other, "engineer")
    with pytest.raises(InputError, match="already accepted"):
        dismiss_label_issue(engine, issue, "engineer")
    with pytest.raises(InputError, match="no label issue 999"):
        accept_label_issue(engine, 999, "engineer")
    with pytest.raises(InputError, match=f"already has label issue {issue}, accepted"):
        flag_label_issue(engine, flagged, NEW_PRINCIPAL, ["E78.500"], "expert")
    assert row_counts(engine) == before
    assert label_issue_counts(engine) == {1: {"open": 1, "accepted": 1, "dismissed": 1}}
    assert round_rows(engine)[0].label_issues == {"open": 1, "accepted": 1, "dismissed": 1}


def test_the_relabelled_version_flows_through_augmentation_rounds_export_and_the_held_out_guard(
    engine: Engine, wrong: list[str], tmp_path: Path
) -> None:
    from training.sft import eval_overlap

    flagged, still_open, kept = (_badcase(engine, c) for c in wrong)
    generate_round(engine, RewriteConfig(round_no=1, n=2), Counting(), "t")
    issue = flag_label_issue(engine, flagged, NEW_PRINCIPAL, NEW_OTHERS, "expert")
    flag_label_issue(engine, still_open, NEW_PRINCIPAL, NEW_OTHERS, "expert")
    # Round 1's experts chose a variant of every badcase; the flagged ones' are not merged.
    with write_session(engine) as s:
        for b in (flagged, still_open, kept):
            v = s.scalar(select(Variant.id).where(Variant.badcase_id == b, Variant.seq == 0))
            s.add(Selection(badcase_id=b, variant_id=v, method="engineer", decided_by="engineer"))
    accepted = accept_label_issue(engine, issue, "engineer")
    # Accepted while round 1 runs: its augmentation starts from the relabelled version.
    augmented = augment(engine, 1, "t")
    assert (augmented.dataset, augmented.added_variants) == ("train@r1", 1)
    assert _codes(engine, "train@r1", wrong[0]) == (NEW_PRINCIPAL, NEW_OTHERS)
    with read_session(engine) as s:
        merged = list(s.scalars(select(Record.case_id).where(Record.origin == "variant")))
    assert merged == [f"{wrong[2]}#r1v0"]
    set_stage(engine, 1, "done", augmented)

    # Accepted after the round: the next round starts on the version made from the round's augmentation.
    second = flag_label_issue(engine, kept, NEW_PRINCIPAL, ["E78.500"], "expert")
    later = accept_label_issue(engine, second, "engineer")
    assert (later.parent, later.dataset) == ("train@r1", f"train@L{second}")
    assert next_round_dataset(engine, "train") == later.dataset  # what the Rounds page says the round will use
    taken = claim(engine, "interactive", RoundConfig().as_dict(), "t")
    number = taken.number
    with read_session(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == number))
        assert rnd is not None and taken.created
        assert rnd.config["dataset"] == later.dataset
    assert _codes(engine, later.dataset, wrong[2]) == (NEW_PRINCIPAL, ["E78.500"])
    assert _codes(engine, later.dataset, wrong[0]) == (NEW_PRINCIPAL, NEW_OTHERS)  # the first correction stays
    assert _codes(engine, later.dataset, f"{wrong[2]}#r1v0") == (NEW_PRINCIPAL, ["E78.500"])  # its variant too

    # Mining and rewriting on the relabelled version work as on any dataset.
    mined = mine(engine, lambda _fold: Oracle({wrong[1]}, set(), []), MiningConfig(later.dataset, 2, 0, number), "t")
    assert mined.n_badcases == 1
    report = generate_round(engine, RewriteConfig(round_no=number, n=2), Counting(), "t")
    assert (report.generated, report.held) == (2, 0)

    # Export of the round and training's held-out guard: the records keep their 病案标识.
    out = export(engine, ExportConfig(number, "trl-sft", tmp_path / "exports"), "t")
    train_file = next(out.path.glob("train*.jsonl"))
    rows = [json.loads(line) for line in train_file.read_text(encoding="utf-8").splitlines()]
    assert any(r["case_id"] == wrong[0] for r in rows)
    records = generate_records(n_labelled=20, n_unlabelled=0, seed=3)
    held_out = tmp_path / "eval.json"
    held_out.write_text(json.dumps([r for r in records if r[ID_KEY] in wrong[:2]], ensure_ascii=False), "utf-8")
    assert eval_overlap(train_file, held_out) == sorted(wrong[:2])
    unseen = tmp_path / "unseen.json"
    unseen.write_text(json.dumps([{**records[0], ID_KEY: "ZY009999999999"}], ensure_ascii=False), "utf-8")
    assert eval_overlap(train_file, unseen) == []
    assert accepted.dataset in {d for d in _dataset_names(engine)}


def _dataset_names(engine: Engine) -> list[str]:
    with read_session(engine) as s:
        return list(s.scalars(select(Dataset.name)))
