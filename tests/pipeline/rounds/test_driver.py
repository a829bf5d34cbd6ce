"""The round's driver on real databases: one driver per round, even when two start at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session, write_session
from db.models import Job, Round
from pipeline.demo.synthetic import generate_records
from pipeline.errors import InputError
from pipeline.ingest.importer import import_rows
from pipeline.rounds.driver import claim, release, sync
from pipeline.rounds.lifecycle import set_stage


def _records(engine: Engine) -> None:
    import_rows(engine, generate_records(8, 0, seed=1), "train", "test", source="synthetic(seed=1)")


def test_two_starts_at_once_open_one_round_and_the_second_is_told_it_is_being_started(engine: Engine) -> None:
    """On PostgreSQL the second start used to end in a raw IntegrityError (two rounds numbered 1)."""
    _records(engine)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start() -> None:
        barrier.wait()
        try:
            outcomes.append(f"claimed {claim(engine, 'interactive', None, 'test').number}")
        except InputError as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(" (")[0] for o in outcomes) == ["claimed 1", "round 1 is already being started"]
    with read_session(engine) as s:
        assert s.scalars(select(Round.number)).all() == [1]


def test_a_released_round_can_be_continued_and_a_dead_drivers_claim_is_not_held(engine: Engine) -> None:
    _records(engine)
    first = claim(engine, "interactive", None, "test")
    with pytest.raises(InputError, match="round 1 is already being started"):
        claim(engine, "interactive", None, "test")
    release(engine, first)
    again = claim(engine, "interactive", None, "test", continue_only=True)
    assert (again.number, again.created) == (1, False)
    # A driver whose process is gone (killed terminal) is reconciled as failed and holds nothing.
    from db.engine import write_session

    with write_session(engine) as s:
        job = s.get(Job, again.job_id)
        assert job is not None
        job.pid = 2**22 + 12345  # no such process
    assert claim(engine, "interactive", None, "test").number == 1


def test_an_unknown_round_key_in_a_config_is_refused_by_name(engine: Engine, tmp_path: Path) -> None:
    _records(engine)
    with pytest.raises(InputError, match="unknown key 'nn'"):
        claim(engine, "interactive", {"nn": 3}, "test")


@pytest.mark.parametrize(
    ("learner", "number", "policy"),
    [
        ("tiny-sft", 1, "skipped: there is no GRPO policy yet (this round trains the first)"),
        ("tiny-sft", 2, "skipped: no round before round 2 registered a GRPO policy"),
        ("baseline", 2, "skipped: the baseline learner trains no GRPO policy"),
    ],
)
def test_a_skipped_policy_filter_says_why_for_its_own_round(
    engine: Engine, learner: str, number: int, policy: str
) -> None:
    """Round 2's report said "round 1 trains the first" of a policy that round 1 had not trained."""
    _records(engine)
    for n in range(1, number + 1):
        release(engine, claim(engine, "interactive", {"learner": learner, "mining": "kfold"}, "test"))
        if n < number:
            set_stage(engine, n, "done")
    set_stage(engine, number, "filtering")
    with write_session(engine) as s:
        rid = s.scalar(select(Round.id).where(Round.number == number))
        s.add(
            Job(
                kind="filter",
                status="succeeded",
                lane="cpu",
                config={"params": {"round_no": number, "label_model": None, "policy_model": None}},
                result={"passed": 0},
                created_by="test",
                round_id=rid,
                stage="filtering",
            )
        )
    filtering = sync(engine, number).results.filtering
    assert filtering is not None and filtering.policy == policy
