"""The paper's rule-based rewards, as TRL reward callables (docs/method.md, "GRPO").

Every reward has TRL's signature ``reward(completions, **kwargs) -> list[float]``: ``completions`` are
strings or conversational lists (``[{"role": "assistant", "content": "..."}]``), and the gold columns of
the trl-grpo dataset arrive as keyword lists, one entry per completion: ``principal`` (the gold
principal code), ``others`` (the gold other codes) and ``task`` (``"principal"`` or ``"other"``).
TRL logs each reward under its ``__name__`` (``rewards/<name>/mean``).

- :func:`format_reward`: 0.1 for a well-formed ``<think>…</think><answer>…</answer>``.
- :func:`principal_reward`: 0.1 × format + 0.9 × [the answer names exactly the gold principal].
- :func:`other_reward`: 0.1 × format + 0.9 × F1(answered other codes, gold other codes).
- :func:`multi_reward`: the multi-task answer (both at once): 0.1 × format + 0.9 × the competition score of the
  record (0.5 × principal exact + 0.5 × other-code F1).
- :func:`task_reward`: one of these per row, by its ``task`` column, so one data set may mix them.
- :func:`hierarchical_task_reward` (an option, off by default: GRPO's ``reward: hierarchical``): the same with partial
  credit by the ICD hierarchy (DeepICD-R1's outcome reward): a principal answer earns 1 for the gold code, 0.5 for
  its category, 0.25 for its chapter (:func:`pipeline.domain.codes.code_credit`); other codes earn
  :func:`hierarchical_f1`.
- :func:`overlong_penalty` / :class:`OverlongPenalty`: the overlong shaping of eq. 3, lengths in tokens.

Answers hold disease names (or codes), separated by ；/;/、 or new lines; they are mapped back to codes
with the label space (:mod:`pipeline.domain.label_space`) through the project's parsers.

The principal answer must name exactly one candidate, the gold one: an answer that hedges by listing
several candidates earns no match reward even when the gold one is among them (the prompt asks for
exactly one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from db.vocabulary import SUBTASKS
from pipeline.domain import label_space
from pipeline.domain.codes import code_credit, split_code_list
from pipeline.domain.metric import set_f1
from pipeline.domain.parsers import answer_items, is_well_formed, items_to_codes, multi_answer_items
from pipeline.domain.prompts import name_to_code

FORMAT_WEIGHT = 0.1
MATCH_WEIGHT = 0.9

#: Disease name → code for the two sub-tasks' candidates.
PRINCIPAL_NAMES: dict[str, str] = name_to_code(label_space.PRINCIPAL)
OTHER_NAMES: dict[str, str] = name_to_code(label_space.OTHER)


def completion_text(completion: Any) -> str:
    """The text of one completion: a string as is; of a conversation, its last assistant turn."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence):
        turns = [m for m in completion if isinstance(m, Mapping)]
        assistant = [m for m in turns if m.get("role", "assistant") == "assistant"]
        chosen = assistant or turns
        return _content_text(chosen[-1].get("content")) if chosen else ""
    return str(completion)


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    # multimodal style: [{"type": "text", "text": "..."}, ...]
    parts = []
    for part in content:
        if isinstance(part, Mapping) and part.get("type", "text") == "text":
            parts.append(str(part.get("text", "")))
        elif isinstance(part, str):
            parts.append(part)
    return "".join(parts)


def _gold_others(value: Any) -> list[str]:
    """Gold other codes from a list, or from a ``;``-separated string (competition style)."""
    if value is None:
        return []
    if isinstance(value, str):
        codes, _bad = split_code_list(value)
        return codes
    return [str(c).strip() for c in value if str(c).strip()]


def _column(kwargs: Mapping[str, Any], name: str, n: int) -> list[Any]:
    if name not in kwargs or kwargs[name] is None:
        raise ValueError(f"reward needs the gold column {name!r} (got columns {sorted(kwargs)})")
    values = list(kwargs[name])
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} values for {n} completions")
    return values


def _format_score(text: str) -> float:
    return FORMAT_WEIGHT if is_well_formed(text) else 0.0


def predicted_principal(text: str, names: Mapping[str, str] = PRINCIPAL_NAMES) -> list[str]:
    """Every principal candidate the answer names (codes, in answer order)."""
    return items_to_codes(answer_items(text), names)


def predicted_others(text: str, names: Mapping[str, str] = OTHER_NAMES) -> list[str]:
    """Every other-diagnosis candidate the answer names (codes, in answer order)."""
    return items_to_codes(answer_items(text), names)


def hierarchical_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """F1 with partial credit: each predicted code earns its best :func:`code_credit` against the gold codes
    (precision), each gold code its best against the predicted ones (recall). With credits of 0 or 1 only it is
    the set F1; two empty sets agree perfectly, one empty set scores 0."""
    g, p = set(gold), set(pred)
    if not g and not p:
        return 1.0
    if not g or not p:
        return 0.0
    precision = sum(max(code_credit(c, x) for x in g) for c in p) / len(p)
    recall = sum(max(code_credit(c, x) for c in p) for x in g) / len(g)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _principal_match(codes: list[str], gold: str, hierarchical: bool) -> float:
    """The answer must name exactly one candidate; it scores 1 when that is the gold code (with ``hierarchical``,
    its credit by the hierarchy)."""
    if len(codes) != 1:
        return 0.0
    gold = str(gold).strip()
    return code_credit(codes[0], gold) if hierarchical else float(codes[0] == gold)


def _others_match(gold: Any, pred: list[str], hierarchical: bool) -> float:
    return (hierarchical_f1 if hierarchical else set_f1)(_gold_others(gold), pred)


def principal_score(text: str, gold: str, hierarchical: bool = False) -> float:
    return _format_score(text) + MATCH_WEIGHT * _principal_match(predicted_principal(text), gold, hierarchical)


def other_score(text: str, gold: Any, hierarchical: bool = False) -> float:
    return _format_score(text) + MATCH_WEIGHT * _others_match(gold, predicted_others(text), hierarchical)


def multi_score(text: str, gold_principal: str, gold_others: Any, hierarchical: bool = False) -> float:
    p_items, o_items = multi_answer_items(text)
    hit = _principal_match(items_to_codes(p_items, PRINCIPAL_NAMES), gold_principal, hierarchical)
    f1 = _others_match(gold_others, items_to_codes(o_items, OTHER_NAMES), hierarchical)
    return _format_score(text) + MATCH_WEIGHT * (0.5 * hit + 0.5 * f1)


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """0.1 for a well-formed ``<think>…</think><answer>…</answer>`` completion, else 0."""
    return [_format_score(completion_text(c)) for c in completions]


def principal_reward(completions: Sequence[Any], principal: Sequence[str] | None = None, **kwargs: Any) -> list[float]:
    """0.1 × format + 0.9 × [the answer names exactly one principal candidate, the gold one]."""
    gold = _column({"principal": principal}, "principal", len(completions))
    return [principal_score(completion_text(c), g) for c, g in zip(completions, gold, strict=True)]


def other_reward(completions: Sequence[Any], others: Sequence[Any] | None = None, **kwargs: Any) -> list[float]:
    """0.1 × format + 0.9 × F1 of the answered and gold other codes (two empty sets: F1 = 1)."""
    gold = _column({"others": others}, "others", len(completions))
    return [other_score(completion_text(c), g) for c, g in zip(completions, gold, strict=True)]


def multi_reward(
    completions: Sequence[Any],
    principal: Sequence[str] | None = None,
    others: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float]:
    """0.1 × format + 0.9 × (0.5 × [exactly the gold principal] + 0.5 × other-code F1), from one answer."""
    n = len(completions)
    golds = zip(
        _column({"principal": principal}, "principal", n), _column({"others": others}, "others", n), strict=True
    )
    return [multi_score(completion_text(c), p, o) for c, (p, o) in zip(completions, golds, strict=True)]


def _task_scores(
    completions: Sequence[Any],
    task: Sequence[str] | None,
    principal: Sequence[str] | None,
    others: Sequence[Any] | None,
    hierarchical: bool,
) -> list[float]:
    n = len(completions)
    tasks = _column({"task": task}, "task", n)
    out: list[float] = []
    for i, (c, t) in enumerate(zip(completions, tasks, strict=True)):
        text = completion_text(c)
        if t == "principal":
            out.append(principal_score(text, _column({"principal": principal}, "principal", n)[i], hierarchical))
        elif t == "other":
            out.append(other_score(text, _column({"others": others}, "others", n)[i], hierarchical))
        elif t == "multi":
            p, o = _column({"principal": principal}, "principal", n)[i], _column({"others": others}, "others", n)[i]
            out.append(multi_score(text, p, o, hierarchical))
        else:
            raise ValueError(f"row {i}: task {t!r} is not one of {', '.join(SUBTASKS)}")
    return out


def task_reward(
    completions: Sequence[Any],
    task: Sequence[str] | None = None,
    principal: Sequence[str] | None = None,
    others: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float]:
    """Per row, :func:`principal_reward`, :func:`other_reward` or :func:`multi_reward` by its ``task`` column."""
    return _task_scores(completions, task, principal, others, hierarchical=False)


def hierarchical_task_reward(
    completions: Sequence[Any],
    task: Sequence[str] | None = None,
    principal: Sequence[str] | None = None,
    others: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float]:
    """:func:`task_reward` with partial credit by the ICD hierarchy: code 1, category 0.5, chapter 0.25 (the
    principal), :func:`hierarchical_f1` (other codes)."""
    return _task_scores(completions, task, principal, others, hierarchical=True)


def overlong_penalty(length: int, l_max: int = 7000, l_cache: int = 6500) -> float:
    """Eq. 3: 0 while length ≤ l_max − l_cache; ((l_max − l_cache) − length) / l_cache up to l_max; −1 from l_max on.

    The penalty is continuous: it reaches −1 exactly at ``length == l_max``.
    """
    if l_cache <= 0 or l_cache > l_max:
        raise ValueError(f"need 0 < l_cache ≤ l_max (got l_max={l_max}, l_cache={l_cache})")
    free = l_max - l_cache
    if length <= free:
        return 0.0
    if length >= l_max:
        return -1.0
    return (free - length) / l_cache


class OverlongPenalty:
    """Eq. 3 as a TRL reward: token lengths from the ``completion_ids`` TRL passes to reward functions.

    TRL's ``GRPOTrainer._calculate_rewards`` calls every reward with ``completion_ids=`` (the completions'
    token ids, prompt excluded). Without them the completions are tokenized with ``tokenizer``.
    """

    def __init__(self, l_max: int = 7000, l_cache: int = 6500, tokenizer: Any = None) -> None:
        overlong_penalty(0, l_max, l_cache)  # validates the two lengths
        self.l_max, self.l_cache, self.tokenizer = l_max, l_cache, tokenizer
        self.__name__ = "overlong_penalty"

    def lengths(self, completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None) -> list[int]:
        if completion_ids is not None:
            return [len(ids) for ids in completion_ids]
        if self.tokenizer is None:
            raise ValueError("OverlongPenalty needs completion_ids (TRL passes them) or a tokenizer")
        texts = [completion_text(c) for c in completions]
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def __call__(
        self, completions: Sequence[Any], completion_ids: Sequence[Sequence[int]] | None = None, **kwargs: Any
    ) -> list[float]:
        return [overlong_penalty(n, self.l_max, self.l_cache) for n in self.lengths(completions, completion_ids)]

    def __repr__(self) -> str:
        return f"OverlongPenalty(l_max={self.l_max}, l_cache={self.l_cache})"
