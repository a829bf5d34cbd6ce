"""Dataset versions: copying a version into a new one (a round's augmentation, a relabelling), and finding the
newest version of a lineage. A version is an ordinary dataset: its records are copies that keep their 病案标识,
so mining, rewriting, export and the held-out guard of training treat it like any other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.base import utcnow
from db.models import Dataset, Record
from pipeline.errors import InputError
from pipeline.ingest.validation import content_hash

#: provenance kind of a version that differs from its parent only in one record's gold codes
RELABEL = "relabel"


def copy_records(
    s: Session, source: Dataset, target: Dataset, relabel: Mapping[str, tuple[str, Sequence[str]]] | None = None
) -> dict[int, int]:
    """Copy every record of ``source`` into ``target`` (variants keep pointing at their parent's copy); returns
    old id → new id. ``relabel`` maps a 病案标识 to new gold codes (principal, others): its original record and
    the variants written from it get them, since a variant carries its parent's labels."""
    relabel = relabel or {}
    now = utcnow()
    new_ids: dict[int, int] = {}
    codes_of: dict[int, tuple[str, list[str]]] = {}  # old id of a relabelled original → its new codes
    for rec in s.scalars(select(Record).where(Record.dataset_id == source.id).order_by(Record.id)).all():
        # Parents come before their variants: ids are in insertion order.
        principal, others = rec.principal_code, rec.other_codes
        if rec.origin == "original" and rec.case_id in relabel:
            principal, others = relabel[rec.case_id][0], list(relabel[rec.case_id][1])
            codes_of[rec.id] = (principal, others)
        elif rec.parent_id in codes_of:
            principal, others = codes_of[rec.parent_id]
        changed = (principal, others) != (rec.principal_code, rec.other_codes)
        copy = Record(
            dataset_id=target.id,
            case_id=rec.case_id,
            sections=rec.sections,
            principal_code=principal,
            other_codes=others,
            content_hash=content_hash(rec.sections, principal, others) if changed else rec.content_hash,
            origin=rec.origin,
            parent_id=new_ids.get(rec.parent_id or -1),
            round_no=rec.round_no,
            fold=rec.fold,
            created_at=now,
            updated_at=now,
        )
        s.add(copy)
        s.flush()
        new_ids[rec.id] = copy.id
    return new_ids


def relabelled_version(
    s: Session,
    source: Dataset,
    name: str,
    case_id: str,
    principal: str,
    others: Sequence[str],
    provenance: Mapping[str, Any],
) -> Dataset:
    """A new version ``name``: ``source`` with the gold codes of record ``case_id`` (and its variants) replaced."""
    found = s.scalar(
        select(Record).where(Record.dataset_id == source.id, Record.case_id == case_id, Record.origin == "original")
    )
    if found is None:
        raise InputError(f"dataset {source.name!r} has no record {case_id}")
    if s.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
        raise InputError(f"there is already a dataset {name!r}")
    old = {"principal": found.principal_code, "others": list(found.other_codes or [])}
    target = Dataset(
        name=name,
        provenance={
            "kind": RELABEL,
            "parent": source.name,
            "parent_id": source.id,
            "case_id": case_id,
            "old": old,
            "new": {"principal": principal, "others": list(others)},
            **provenance,
        },
    )
    s.add(target)
    s.flush()
    copy_records(s, source, target, {case_id: (principal, others)})
    return target


def _relabel_children(s: Session) -> dict[int, list[Dataset]]:
    children: dict[int, list[Dataset]] = {}
    for ds in s.scalars(select(Dataset).order_by(Dataset.id)):  # few rows; JSON null and SQL NULL alike
        prov = ds.provenance or {}
        if prov.get("kind") == RELABEL and prov.get("parent_id") is not None:
            children.setdefault(int(prov["parent_id"]), []).append(ds)
    return children


def newest_relabel(s: Session, dataset: Dataset) -> Dataset:
    """``dataset``, or the newest relabelled version made from it (and from that one, and so on)."""
    children = _relabel_children(s)
    while children.get(dataset.id):
        dataset = children[dataset.id][-1]
    return dataset


def current_version(s: Session, name: str, augmented: Mapping[str, str]) -> Dataset:
    """The newest version of the lineage through ``name``, where a relabelling is made and the next round starts:
    from a version, the augmentation of a round that started on it (``augmented``: dataset → the version its round
    wrote; it took in the relabellings made before it), else its newest relabelling, and so on."""
    ds = s.scalar(select(Dataset).where(Dataset.name == name))
    if ds is None:
        raise InputError(f"there is no dataset {name!r}")
    children = _relabel_children(s)
    seen: set[int] = set()
    while ds.id not in seen:
        seen.add(ds.id)
        after = augmented.get(ds.name)
        nxt = s.scalar(select(Dataset).where(Dataset.name == after)) if after else None
        if nxt is None and children.get(ds.id):
            nxt = children[ds.id][-1]
        if nxt is None:
            break
        ds = nxt
    return ds
