"""`sradit import` and `score` on the real records of ../shared/data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY


def test_import_and_score_on_the_real_records(cli: Any, shared_data: Path, tmp_path: Path) -> None:
    cli("db", "init")
    assert "206 labelled" in cli("import", str(shared_data / "ccl25_train_206.json"), "--dataset", "train").output
    assert "200 unlabelled" in cli("import", str(shared_data / "ccl25_testA_200.json"), "--dataset", "testA").output

    gold = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))
    perfect = [{ID_KEY: r[ID_KEY], "预测结果": f"[{r[MAIN_KEY]}|{r[OTHER_KEY]}]"} for r in gold]
    (tmp_path / "perfect.json").write_text(json.dumps(perfect, ensure_ascii=False), encoding="utf-8")
    out = cli("score", "--gold", str(shared_data / "ccl25_train_206.json"), "--pred", str(tmp_path / "perfect.json"))
    assert out.stdout.splitlines()[0] == "score  100.00  (f1)"
    recall = cli(
        "score",
        "--gold",
        str(shared_data / "ccl25_train_206.json"),
        "--pred",
        str(tmp_path / "perfect.json"),
        "--metric",
        "recall",
    )
    assert recall.stdout.splitlines()[0] == "score  100.00  (recall)"

    # Half the records predicted with the right principal and no other code; the rest missing.
    half = [{ID_KEY: r[ID_KEY], "预测结果": f"[{r[MAIN_KEY]}|]"} for r in gold[:103]]
    (tmp_path / "half.json").write_text(json.dumps(half, ensure_ascii=False), encoding="utf-8")
    out = cli("score", "--gold", str(shared_data / "ccl25_train_206.json"), "--pred", str(tmp_path / "half.json"))
    assert out.stdout.splitlines()[0] == "score  25.00  (f1)"
    assert "principal acc.   50.00" in out.output
    assert "missing preds    103 (scored 0)" in out.stderr and "missing" not in out.stdout


def test_score_equals_both_published_formulas_when_the_principal_is_repeated(
    cli: Any, shared_data: Path, tmp_path: Path
) -> None:
    """Every real record predicted with its principal code repeated among the other codes (as some models
    write): the scorer must not drop it. Expected values computed here from the two formulas directly."""
    gold = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))
    preds, f1, recall = [], 0.0, 0.0
    for i, r in enumerate(gold):
        others = [c.strip() for c in r[OTHER_KEY].replace("；", ";").split(";") if c.strip()]
        kept = others[: max(1, len(others) // 2)] if i % 2 else others  # every other record misses half
        preds.append({ID_KEY: r[ID_KEY], "预测结果": f"[{r[MAIN_KEY]}|{';'.join([r[MAIN_KEY], *kept])}]"})
        g, p = set(others), {r[MAIN_KEY], *kept}
        f1 += 0.5 + 0.5 * (2 * len(g & p) / (len(g) + len(p)))
        recall += 0.5 + 0.5 * len(g & p) / len(g)
    (tmp_path / "repeated.json").write_text(json.dumps(preds, ensure_ascii=False), encoding="utf-8")
    args = ("score", "--gold", str(shared_data / "ccl25_train_206.json"), "--pred", str(tmp_path / "repeated.json"))
    assert cli(*args).stdout.splitlines()[0] == f"score  {100 * f1 / len(gold):.2f}  (f1)"
    assert cli(*args, "--metric", "recall").stdout.splitlines()[0] == f"score  {100 * recall / len(gold):.2f}  (recall)"
    assert 100 * f1 / len(gold) < 99.0  # the repeated principal costs F1: nothing was cleaned away


def test_score_refuses_predictions_for_none_of_the_gold_records(cli: Any, shared_data: Path, tmp_path: Path) -> None:
    """The wrong pair of files printed `score 0.00 (f1)` and exited 0, as if a model had scored 0."""
    gold = shared_data / "ccl25_train_206.json"
    (tmp_path / "other.json").write_text(
        json.dumps([{ID_KEY: "ZZ999", "预测结果": "[I10.x00x002|]"}, {ID_KEY: "ZZ998", "预测结果": "?"}]),
        encoding="utf-8",
    )
    out = cli("score", "--gold", str(gold), "--pred", str(tmp_path / "other.json"), ok=False)
    assert out.exit_code == 1 and out.stdout == ""
    assert "none of the 2 predictions" in out.output and "'ZZ999' here): are these the right files?" in out.output
