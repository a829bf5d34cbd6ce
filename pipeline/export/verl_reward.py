"""The paper's rule-based rewards as verl's custom reward function — shipped, not imported.

The ``verl`` export copies this file into its folder as ``reward.py``, with the label space's name → code
tables written into ``PRINCIPAL_NAMES`` / ``OTHER_NAMES``; verl loads it through
``custom_reward_function.path=<folder>/reward.py custom_reward_function.name=compute_score``. It imports
nothing but the standard library, so it runs on verl's workers without this project installed.

It computes exactly what ``training.rewards`` computes for the project's own GRPO (a test checks both on one
table of completions): 0.1 for a well-formed ``<think>…</think><answer>…</answer>``, plus 0.9 × [the answer
names exactly the gold principal] (``sradit/principal``), 0.9 × F1 of the answered and gold other codes
(``sradit/other``), or 0.9 × (0.5 × principal + 0.5 × F1) from one answer (``sradit/multi``). Names map to codes
as the project's parsers map them (exact, then with spaces and bracket widths folded, or a code written as such).

``compute_score_hierarchical`` (``custom_reward_function.name=compute_score_hierarchical``; off by default) is
``training.rewards.hierarchical_task_reward``: partial credit by the ICD hierarchy, the same code 1, its category
0.5, its chapter 0.25, and the other codes' F1 with those credits.

Overlong shaping (eq. 3) needs the response length, which verl does not pass to a custom reward function:
``verl_grpo.sh`` documents verl's own ``overlong_buffer`` (the DAPO reward manager) for it.
"""

from __future__ import annotations

import re

PRINCIPAL_NAMES: dict[str, str] = {}  # filled in by the export: disease name → code
OTHER_NAMES: dict[str, str] = {}  # filled in by the export

FORMAT_WEIGHT, MATCH_WEIGHT = 0.1, 0.9
_FOLD = str.maketrans(
    {"【": "[", "】": "]", "［": "[", "］": "]", "｜": "|", "＜": "<", "＞": ">", "／": "/", "：": ":"}
)
_ANSWER_RE = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
_WELL_FORMED_RE = re.compile(r"^\s*<think>.*?</think>\s*<answer>(.*?)</answer>\s*$", re.S)
_ITEM_SPLIT_RE = re.compile(r"[;；,，、\n|]+")
_ENUM_RE = re.compile(r"(^|[;；,，、\n|])\s*(?:\d{1,2}\s*[.、)）]|[-*•])\s*")
_MULTI_LABEL_RE = re.compile(r"^\s*(主要诊断|其他诊断)\s*:?\s*", re.M)
_CODE_RE = re.compile(r"^[A-Z][0-9]{2}[0-9A-Za-z.†*/+]*$")
_CODE_FULLWIDTH = str.maketrans({"．": ".", "　": " ", "Ｘ": "x", "／": "/", "＊": "*"})


def _normalise_code(raw: str) -> str:
    code = raw.translate(_CODE_FULLWIDTH).replace(" ", "").strip()
    return code[:1].upper() + "".join("x" if ch in "xX" else ch.upper() for ch in code[1:])


def _well_formed(text: str) -> bool:
    m = _WELL_FORMED_RE.match(text)
    return bool(m and m.group(1).strip() and text.count("<think>") == 1 and text.count("<answer>") == 1)


def _answer(text: str) -> str | None:
    found = _ANSWER_RE.findall(text.translate(_FOLD))
    return found[-1].strip() if found else None


def _items(body: str) -> list[str]:
    items: list[str] = []
    for raw in _ITEM_SPLIT_RE.split(_ENUM_RE.sub(r"\1", body)):
        item = raw.strip().strip("。.\"'“”「」")
        if item and item not in items:
            items.append(item)
    return items


def _fold_name(name: str) -> str:
    return re.sub(r"\s+", "", name.translate(str.maketrans("（）［］", "()[]")))


def _codes(items: list[str], names: dict[str, str]) -> list[str]:
    folded = {_fold_name(n): c for n, c in names.items()}
    known = set(names.values())
    codes: list[str] = []
    for item in items:
        code = names.get(item) or folded.get(_fold_name(item))
        if code is None:
            candidate = _normalise_code(item)
            code = candidate if candidate in known else None
        if code is not None and code not in codes:
            codes.append(code)
    return codes


def _f1(gold: list[str], pred: list[str]) -> float:
    g, p = set(gold), set(pred)
    if not g and not p:
        return 1.0
    if not g or not p:
        return 0.0
    return 2 * len(g & p) / (len(g) + len(p))


# The ICD-10 chapters as category ranges and the credits of pipeline.domain.codes (copied: this file imports nothing).
_CHAPTERS = (
    ("A00", "B99"), ("C00", "D48"), ("D50", "D89"), ("E00", "E90"), ("F00", "F99"), ("G00", "G99"),
    ("H00", "H59"), ("H60", "H95"), ("I00", "I99"), ("J00", "J99"), ("K00", "K93"), ("L00", "L99"),
    ("M00", "M99"), ("N00", "N99"), ("O00", "O99"), ("P00", "P96"), ("Q00", "Q99"), ("R00", "R99"),
    ("S00", "T98"), ("V01", "Y98"), ("Z00", "Z99"), ("U00", "U85"),
)  # fmt: skip
_CREDIT_CODE, _CREDIT_CATEGORY, _CREDIT_CHAPTER = 1.0, 0.5, 0.25


def _chapter(code: str) -> int | None:
    for number, (first, last) in enumerate(_CHAPTERS, start=1):
        if first <= code[:3] <= last:
            return number
    return None


def _credit(predicted: str, gold: str) -> float:
    if predicted == gold:
        return _CREDIT_CODE
    if len(gold) >= 3 and predicted[:3] == gold[:3]:
        return _CREDIT_CATEGORY
    same = _chapter(predicted)
    return _CREDIT_CHAPTER if same is not None and same == _chapter(gold) else 0.0


def _hierarchical_f1(gold: list[str], pred: list[str]) -> float:
    g, p = set(gold), set(pred)
    if not g and not p:
        return 1.0
    if not g or not p:
        return 0.0
    precision = sum(max(_credit(c, x) for x in g) for c in p) / len(p)
    recall = sum(max(_credit(c, x) for c in p) for x in g) / len(g)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _gold(ground_truth: str) -> tuple[str, list[str]]:
    """``[principal|o1;o2]`` → (principal, other codes)."""
    body = str(ground_truth).translate(_FOLD).strip().strip("[]")
    principal, _, others = body.partition("|")
    return principal.strip(), [c.strip() for c in re.split(r"[;；,，、]", others) if c.strip()]


def _multi_items(text: str) -> tuple[list[str], list[str]]:
    body = _answer(text)
    if body is None:
        body = text.translate(_FOLD)
    parts = _MULTI_LABEL_RE.split(body)
    found: dict[str, str] = {}
    for label, content in zip(parts[1::2], parts[2::2], strict=True):
        found.setdefault(label, content)
    if not found:
        return _items(body), []
    return _items(found.get("主要诊断", "")), _items(found.get("其他诊断", ""))


def _score(data_source: str, solution_str: str, ground_truth: str, hierarchical: bool) -> float:
    text = str(solution_str)
    task = str(data_source).rsplit("/", 1)[-1]
    principal, others = _gold(ground_truth)
    fmt = FORMAT_WEIGHT if _well_formed(text) else 0.0
    body = _answer(text)
    items = _items(text if body is None else body)

    def match(named: list[str]) -> float:
        if len(named) != 1:
            return 0.0
        return _credit(named[0], principal) if hierarchical else float(named[0] == principal)

    f1 = _hierarchical_f1 if hierarchical else _f1
    if task == "principal":
        return fmt + MATCH_WEIGHT * match(_codes(items, PRINCIPAL_NAMES))
    if task == "other":
        return fmt + MATCH_WEIGHT * f1(others, _codes(items, OTHER_NAMES))
    if task == "multi":
        p_items, o_items = _multi_items(text)
        hit = match(_codes(p_items, PRINCIPAL_NAMES))
        return fmt + MATCH_WEIGHT * (0.5 * hit + 0.5 * f1(others, _codes(o_items, OTHER_NAMES)))
    raise ValueError(f"data_source {data_source!r} is not sradit/principal, sradit/other or sradit/multi")


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None) -> float:
    """verl's custom reward: the reward of one completion for its row's sub-task (from ``data_source``)."""
    return _score(data_source, solution_str, ground_truth, hierarchical=False)


def compute_score_hierarchical(
    data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None
) -> float:
    """:func:`compute_score` with partial credit by the ICD hierarchy (the project's ``reward: hierarchical``)."""
    return _score(data_source, solution_str, ground_truth, hierarchical=True)
