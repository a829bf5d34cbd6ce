"""`sradit kfold`, `badcases list` and `predict` with the baseline coder on the real records."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.domain.parsers import parse_submission


@pytest.fixture
def loaded(cli: Any, shared_data: Path) -> Any:
    cli("db", "init")
    cli("import", str(shared_data / "ccl25_train_206.json"), "--dataset", "train")
    cli("import", str(shared_data / "ccl25_testA_200.json"), "--dataset", "testA")
    return cli


def _score(output: str) -> str:
    m = re.search(r"^score\s+([0-9.]+)\s+\(f1\)$", output, re.M)
    assert m, output
    return m.group(1)


def test_kfold_score_matches_sradit_score_on_the_same_predictions(
    loaded: Any, shared_data: Path, tmp_path: Path
) -> None:
    oof = tmp_path / "oof.json"
    mined = loaded("kfold", "--out", str(oof)).output
    assert "round 1" in mined and "badcases" in mined
    scored = loaded("score", "--gold", str(shared_data / "ccl25_train_206.json"), "--pred", str(oof)).output
    assert _score(mined) == _score(scored)

    listed = loaded("badcases", "list", "--round", "1")
    n = int(re.search(r"badcases\s+(\d+)", mined).group(1))  # type: ignore[union-attr]
    assert len(listed.stdout.strip().splitlines()) == n + 1  # header + one line per badcase

    again = loaded("kfold", "--round", "1", ok=False)
    assert again.exit_code == 1 and "already been mined" in again.output


def test_predict_writes_a_valid_test_a_submission(loaded: Any, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "testA_submission.json"
    assert "200 predictions" in loaded("predict", "--dataset", "testA", "--out", str(out)).output
    rows = json.loads(out.read_text(encoding="utf-8"))
    ids = {r["病案标识"] for r in json.loads((shared_data / "ccl25_testA_200.json").read_text(encoding="utf-8"))}
    assert {r["病案标识"] for r in rows} == ids
    for r in rows:
        parsed = parse_submission(r["预测结果"])
        assert parsed is not None and parsed.main is not None, r


def test_unknown_model_is_a_clear_error(loaded: Any, tmp_path: Path) -> None:
    result = loaded("kfold", "--model", "nope", ok=False)
    assert result.exit_code == 1 and "no model named 'nope'" in result.output
