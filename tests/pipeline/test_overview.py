"""What Home counts: each EMR once, however many dataset versions hold a copy of it."""

from __future__ import annotations

from sqlalchemy import Engine

from db.engine import write_session
from db.models import Dataset, Record
from pipeline.overview import overview


def _record(case_id: str, labelled: bool, origin: str = "original") -> Record:
    return Record(
        case_id=case_id,
        sections={"主诉": case_id},
        principal_code="I20.000" if labelled else None,
        other_codes=["I10.x00x032"] if labelled else None,
        content_hash=case_id,
        origin=origin,
    )


def test_dataset_versions_do_not_count_an_emr_twice(engine: Engine) -> None:
    with write_session(engine) as s:
        s.add(Dataset(name="train", records=[_record("a", True), _record("b", True)]))
        s.add(Dataset(name="test", records=[_record("t", False)]))
        # A round's dataset version: copies of the originals plus a variant of one of them.
        s.add(
            Dataset(name="train@r1", records=[_record("a", True), _record("b", True), _record("a#v0", True, "variant")])
        )
    ov = overview(engine)
    assert (ov.emrs, ov.labelled_emrs) == (3, 2)
    assert {d.name: (d.records, d.labelled, d.variants) for d in ov.datasets} == {
        "test": (1, 0, 0),
        "train": (2, 2, 0),
        "train@r1": (3, 3, 1),
    }
