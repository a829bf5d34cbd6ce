"""PredictionsFile: predictions made elsewhere, read as a predictor, by 病案标识 (variants: 病案标识#v<seq>)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.ingest.submission import PredictionsFile
from pipeline.protocols import CodePrediction, Predictor

A, B, C = "ZY010000000001", "ZY020000000002", "ZY010000000003"


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def test_predicts_each_record_by_its_id_in_record_order(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "preds.json",
        [
            {"病案标识": f"{A}#v0", "预测结果": "[I20.000|I10.x00x032;E11.900]"},
            {"病案标识": A, "预测结果": "[I21.401|]"},
            {"病案标识": B, "预测结果": "no answer here"},  # unreadable: a prediction of nothing
        ],
    )
    predictor: Predictor = PredictionsFile(f)
    records = [{"病案标识": A, "主诉": "x"}, {"病案标识": f"{A}#v0"}, {"病案标识": B}]
    seen: list[tuple[int, int]] = []
    got = predictor.predict(records, progress=lambda done, total: seen.append((done, total)))
    assert got == [
        CodePrediction("I21.401", ()),
        CodePrediction("I20.000", ("I10.x00x032", "E11.900")),
        CodePrediction(None, (), parsed=False),
    ]
    assert got[2].parsed is False and seen[-1] == (3, 3)
    pf = PredictionsFile(f)
    assert pf.name == "preds.json" and len(pf) == 3 and B in pf and C not in pf


def test_jsonl_files_are_read_too(tmp_path: Path) -> None:
    f = tmp_path / "preds.jsonl"
    f.write_text(json.dumps({"病案标识": A, "预测结果": "[I10.x00x032|E78.500]"}) + "\n", encoding="utf-8")
    assert PredictionsFile(f).predict([{"病案标识": A}]) == [CodePrediction("I10.x00x032", ("E78.500",))]


def test_records_missing_from_the_file_are_named_with_the_file(tmp_path: Path) -> None:
    f = _write(tmp_path / "preds.json", [{"病案标识": A, "预测结果": "[I21.401|]"}])
    missing = [f"{B}#v{k}" for k in range(7)]
    with pytest.raises(InputError) as e:
        PredictionsFile(f).predict([{"病案标识": A}, *({"病案标识": m} for m in missing)])
    text = str(e.value)
    assert str(f) in text and "no prediction for 7 of the 8 records" in text
    assert all(m in text for m in missing[:5]) and missing[5] not in text and "and 2 more" in text
    with pytest.raises(InputError, match=r"no prediction for 1 of the 2 variants of round 1: ZY01"):
        PredictionsFile(f).require([A, f"{C}#v2"], "variants of round 1")


def test_a_malformed_file_is_refused_with_its_rows_named(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "bad.json",
        [
            {"病案标识": A, "预测结果": "[I21.401|]"},
            {"预测结果": "[I21.401|]"},
            {"病案标识": A, "预测结果": "[I20.000|]"},
        ],
    )
    with pytest.raises(InputError) as e:
        PredictionsFile(f)
    text = str(e.value)
    assert str(f) in text and "row 2: field 病案标识 is missing" in text
    assert f"record {A} (row 3): predicted twice" in text
    broken = tmp_path / "broken.json"
    broken.write_text('[{"病案标识": "ZY01"', encoding="utf-8")
    with pytest.raises(InputError, match="invalid JSON"):
        PredictionsFile(broken)
