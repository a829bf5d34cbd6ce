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
    assert "score            100.00" in out.output

    # Half the records predicted with the right principal and no other code; the rest missing.
    half = [{ID_KEY: r[ID_KEY], "预测结果": f"[{r[MAIN_KEY]}|]"} for r in gold[:103]]
    (tmp_path / "half.json").write_text(json.dumps(half, ensure_ascii=False), encoding="utf-8")
    out = cli("score", "--gold", str(shared_data / "ccl25_train_206.json"), "--pred", str(tmp_path / "half.json"))
    assert "score            25.00" in out.output
    assert "principal acc.   50.00" in out.output
    assert "missing preds    103 (scored 0)" in out.output
