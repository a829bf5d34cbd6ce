"""The prompts export (``--format prompts``): what models trained elsewhere predict from.

Teams that train with LLaMA-Factory or verl run their models outside the tool and bring the predictions
back in the submission format. This module writes the prompts those predictions are made from, for a round:

- ``records.jsonl``: every labelled original record of the round's dataset (for out-of-fold predictions,
  ``sradit kfold --predictions FILE``), id = the record's 病案标识;
- ``variants.jsonl``: every variant generated in the round, decided or not (the label and policy filters
  judge each of them: ``sradit filter --label-predictions FILE --policy-predictions FILE``), id =
  ``<病案标识>#v<seq>``, the id the filter chain gives a variant (``Candidate.as_record``);
- ``label_space.json``: the candidate codes and the names the prompts use, to map answers back to codes;
- ``README.txt``: how to bring the predictions back.

One row per sub-task (``both``: a principal and an other row per id; ``multi``: one multi row), each with
the chat form (``messages``: system + user) and the plain form (``system`` + ``prompt``), so that chat
trainers and LLaMA-Factory / verl style ones read the same file. Rows are sorted and written with sorted
keys: the same database writes the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.engine import read_session
from db.models import Badcase, Record, Variant
from db.vocabulary import PAIR_SUBTASKS
from pipeline.domain import label_space
from pipeline.domain.prompts import task_messages
from pipeline.domain.records import ID_KEY
from pipeline.mining.kfold import round_dataset
from pipeline.rounds.lookup import round_id

RECORDS_FILE = "records.jsonl"
VARIANTS_FILE = "variants.jsonl"


def variant_key(case_id: str, seq: int) -> str:
    """A variant's id in prompts and prediction files (the filter chain's ``Candidate.as_record`` id)."""
    return f"{case_id}#v{seq}"


@dataclass(frozen=True)
class PromptSource:
    """One record or variant to prompt for: its id and its text sections."""

    id: str
    sections: dict[str, str]
    order: tuple[str, int]  #: (病案标识, variant seq or -1): sorts #v2 before #v10


def tasks_of(task: str) -> tuple[str, ...]:
    return PAIR_SUBTASKS if task == "both" else (task,)


def _round_variants(s: Session, round_no: int) -> list[PromptSource]:
    rid = round_id(s, round_no)
    rows = s.execute(
        select(Record.case_id, Variant.seq, Variant.sections)
        .join(Badcase, Badcase.id == Variant.badcase_id)
        .join(Record, Record.id == Badcase.record_id)
        .where(Badcase.round_id == rid, Variant.status == "generated")
    ).all()
    return sorted(
        (
            PromptSource(variant_key(case_id, seq), dict(sections or {}), (case_id, seq))
            for case_id, seq, sections in rows
        ),
        key=lambda x: x.order,
    )


def round_variant_ids(engine: Engine, round_no: int) -> list[str]:
    """The ids of every generated variant of a round: what a predictions file for the filters must cover."""
    with read_session(engine) as s:
        return [x.id for x in _round_variants(s, round_no)]


def collect_prompts(engine: Engine, round_no: int) -> dict[str, list[PromptSource]]:
    """The round dataset's labelled originals and the round's generated variants, sorted."""
    with read_session(engine) as s:
        ds = round_dataset(s, round_no)
        originals = s.execute(
            select(Record.case_id, Record.sections).where(
                Record.dataset_id == ds.id, Record.origin == "original", Record.principal_code.is_not(None)
            )
        ).all()
        records = sorted(
            (PromptSource(case_id, dict(sections), (case_id, -1)) for case_id, sections in originals),
            key=lambda x: x.order,
        )
        variants = _round_variants(s, round_no)
    return {RECORDS_FILE: records, VARIANTS_FILE: variants}


def prompt_rows(sources: list[PromptSource], task: str) -> list[dict[str, Any]]:
    rows = []
    for x in sources:
        record = {ID_KEY: x.id, **x.sections}
        for t in tasks_of(task):
            messages = task_messages(t, record)
            rows.append(
                {
                    "id": x.id,
                    "task": t,
                    "messages": messages,
                    "system": messages[0]["content"],
                    "prompt": messages[1]["content"],
                }
            )
    return rows


def _readme(round_no: int, task: str, counts: dict[str, int]) -> str:
    tasks = " and ".join(tasks_of(task))
    return f"""SRADIT Studio: prompts of round {round_no} ({tasks} sub-task{"s" if task == "both" else ""})

Files
  {RECORDS_FILE:<16} {counts[RECORDS_FILE]:>6} rows  every labelled original record of the round's dataset
  {VARIANTS_FILE:<16} {counts[VARIANTS_FILE]:>6} rows  every variant generated in round {round_no}
  label_space.json         the candidate codes and the disease names the prompts use

Each row is one prompt: {{"id", "task", "messages", "system", "prompt"}}. "messages" is the chat form
(system + user turns); "system" and "prompt" are the same text for trainers that take a system string and
a plain prompt (LLaMA-Factory's system/instruction columns, verl's prompt). With the task "both" every id has
a principal row and an other row; "multi" rows ask for both answers at once.

Ids
  an original record: its 病案标识 (e.g. ZY010000000001)
  a variant:          <病案标识>#v<seq> (e.g. ZY010000000001#v3), the id the filter chain uses

Bringing predictions back
  Write one row per id in the competition's submission format, codes (not names) with the principal code
  first: {{"病案标识": "<id>", "预测结果": "[main|o1;o2]"}}, as a JSON list or JSONL. Answers are disease
  names: map them to codes with label_space.json and join each id's principal and other answers.

  the variants, for the filters (every variant of {VARIANTS_FILE} needs a row in each file it is given to):
    sradit filter --round {round_no} --label-predictions LABEL.json --policy-predictions POLICY.json
  the originals, as out-of-fold predictions (each record predicted by the model of the fold that held it out),
  mined into a new round (round {round_no} keeps its own badcases):
    sradit kfold --predictions OOF.json
"""


def write_prompts(sources: dict[str, list[PromptSource]], round_no: int, task: str, folder: Path) -> dict[str, int]:
    """Write the prompt files, the label space and the README into ``folder``; rows per file."""
    counts: dict[str, int] = {}
    for name, items in sources.items():
        rows = prompt_rows(items, task)
        (folder / name).write_text(
            "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows), encoding="utf-8"
        )
        counts[name] = len(rows)
    space = {"principal": dict(label_space.PRINCIPAL), "other": dict(label_space.OTHER)}
    (folder / "label_space.json").write_text(
        json.dumps(space, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    (folder / "README.txt").write_text(_readme(round_no, task, counts), encoding="utf-8")
    return {name.split(".")[0]: n for name, n in counts.items()}
