"""Dataset versions on a real SQLite database: a relabelled copy changes one record's codes (and its variants'),
keeps everything else, and says where it came from; the current version of a lineage follows rounds' augmentations
and relabellings."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from db.engine import read_session, write_session
from db.models import Dataset, Record, Round
from pipeline.demo.synthetic import generate_records
from pipeline.errors import InputError
from pipeline.ingest.importer import import_rows
from pipeline.ingest.validation import content_hash
from pipeline.ingest.versions import copy_records, current_version, newest_relabel, relabelled_version
from pipeline.rounds.lookup import augmentations


def _records(engine: Engine, name: str) -> dict[str, Record]:
    with read_session(engine) as s:
        return {
            r.case_id: r
            for r in s.scalars(select(Record).join(Dataset).where(Dataset.name == name).order_by(Record.id))
        }


def test_a_relabelled_version_changes_one_record_and_its_variants_only(engine: Engine) -> None:
    import_rows(engine, generate_records(n_labelled=6, n_unlabelled=0, seed=1), "train", "t", source="synthetic")
    old = _records(engine, "train")
    target_id = next(iter(old))
    with write_session(engine) as s:
        train = s.scalar(select(Dataset).where(Dataset.name == "train"))
        assert train is not None
        # train@r1: a copy plus a variant of the first record, as a round's augmentation writes it.
        augmented = Dataset(name="train@r1")
        s.add(augmented)
        s.flush()
        ids = copy_records(s, train, augmented)
        parent = old[target_id]
        s.add(
            Record(
                dataset_id=augmented.id,
                case_id=f"{target_id}#r1v0",
                sections=parent.sections,
                principal_code=parent.principal_code,
                other_codes=parent.other_codes,
                content_hash=parent.content_hash,
                origin="variant",
                parent_id=ids[parent.id],
                round_no=1,
            )
        )
        done = {"augmenting": {"dataset": "train@r1"}}
        s.add(Round(number=1, status="done", config={"dataset": "train"}, results=done))
    with write_session(engine) as s:
        source = current_version(s, "train", augmentations(s))
        assert source.name == "train@r1"
        made = relabelled_version(s, source, "train@L1", target_id, "I21.401", ["E78.500"], {"label_issue": 1})
        assert made.provenance is not None and made.provenance["parent"] == "train@r1"
        with pytest.raises(InputError, match="has no record NOPE"):
            relabelled_version(s, source, "train@L2", "NOPE", "I21.401", ["E78.500"], {})
        with pytest.raises(InputError, match="already a dataset 'train@L1'"):
            relabelled_version(s, source, "train@L1", target_id, "I21.401", ["E78.500"], {})
    new = _records(engine, "train@L1")
    assert set(new) == set(old) | {f"{target_id}#r1v0"}
    for case_id in (target_id, f"{target_id}#r1v0"):
        assert (new[case_id].principal_code, new[case_id].other_codes) == ("I21.401", ["E78.500"])
        assert new[case_id].content_hash == content_hash(new[case_id].sections, "I21.401", ["E78.500"])
    assert new[f"{target_id}#r1v0"].parent_id == new[target_id].id
    for case_id, rec in old.items():
        if case_id != target_id:
            assert (new[case_id].principal_code, new[case_id].content_hash) == (rec.principal_code, rec.content_hash)
    with read_session(engine) as s:
        assert current_version(s, "train", augmentations(s)).name == "train@L1"
        r1 = s.scalar(select(Dataset).where(Dataset.name == "train@r1"))
        assert r1 is not None and newest_relabel(s, r1).name == "train@L1"
        with pytest.raises(InputError, match="no dataset 'nope'"):
            current_version(s, "nope", {})
