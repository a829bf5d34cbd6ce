"""The grammar of the model names the tool makes, in one place: K-fold mining, retraining, the round's model
choices and the model resolver all build and read names here, so a name written by one is read by the others.

- ``<learner>-r<N>-fold<k>-<sub-task>``: a fold model K-fold mining trained in round N;
- ``<learner>-kfold-r<N>``: the ensemble (the folds' vote) of round N;
- ``<learner>-r<N>-sft-<sub-task>`` and ``<learner>-r<N>-grpo-<sub-task>``: round N's retrained models;
- a pair: two models whose names differ only in ending ``-principal`` / ``-other``, answering one prompt each;
- ``file:<file name>``: predictions made elsewhere, read from a file, standing where a model's would.
"""

from __future__ import annotations

from pathlib import Path

from db.vocabulary import PAIR_SUBTASKS

#: The prefix of a "model" that is a predictions file.
FILE_PREFIX = "file:"


def fold_model_name(learner: str, round_no: int, fold: int, subtask: str) -> str:
    return f"{learner}-r{round_no}-fold{fold}-{subtask}"


def ensemble_name(learner: str, round_no: int | str) -> str:
    """``round_no`` may be a placeholder, such as ``"<N>"`` in a message that shows the pattern."""
    return f"{learner}-kfold-r{round_no}"


def sft_name(learner: str, round_no: int, subtask: str) -> str:
    return f"{learner}-r{round_no}-sft-{subtask}"


def grpo_name(learner: str, round_no: int, subtask: str) -> str:
    return f"{learner}-r{round_no}-grpo-{subtask}"


def pair_subtask(name: str) -> str | None:
    """The sub-task a pair member answers, by its name's ending; None for a name that is no pair member."""
    return next((t for t in PAIR_SUBTASKS if name.endswith(f"-{t}")), None)


def pair_sibling(name: str) -> str | None:
    """The name of the other model of ``name``'s pair (``…-principal`` ↔ ``…-other``); None for no pair member."""
    subtask = pair_subtask(name)
    if subtask is None:
        return None
    (other,) = (t for t in PAIR_SUBTASKS if t != subtask)
    return name[: -len(subtask)] + other


def file_model_name(path: str | Path) -> str:
    """How runs and reports name predictions read from ``path``."""
    return FILE_PREFIX + Path(path).name


def is_file_model(name: str) -> bool:
    return name.startswith(FILE_PREFIX)
