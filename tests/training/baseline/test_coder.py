"""The CPU baseline coder: API, persistence, well-formed output, label errors, a sanity score.

Quality targets (the 5-fold figures) live in ``bench/bench_baseline.py``; here only a 2-fold sanity
check against a trivial majority baseline, so the file runs in well under 20 s on two cores.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

import training.baseline.coder as coder_module
from pipeline.domain.codes import split_code_list
from pipeline.domain.label_space import OTHER, PRINCIPAL
from pipeline.domain.metric import score
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from tests.helpers import SHARED_DATA, synthetic_record
from training.baseline.coder import BaselineCoder
from training.baseline.config import BaselineConfig, MissingLabelsError, ModelFormatError, NotFittedError

DATA = SHARED_DATA / "ccl25_train_206.json"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    # The real data is always present in CI: a missing file is a failure, never a skip.
    assert DATA.is_file(), f"real training data missing: {DATA}"
    data = json.loads(DATA.read_text(encoding="utf-8"))
    assert len(data) == 206
    return data


@pytest.fixture(scope="module")
def fitted(records: list[dict]) -> BaselineCoder:
    return BaselineCoder().fit(records)


# -- labels ----------------------------------------------------------------------------------------------


def test_missing_other_codes_raise_naming_the_record(records: list[dict]) -> None:
    bad = dict(records[0])
    bad[ID_KEY] = "NO-OTHER-CODES-42"
    del bad[OTHER_KEY]
    with pytest.raises(MissingLabelsError, match="NO-OTHER-CODES-42") as info:
        BaselineCoder().fit([*records[1:20], bad])
    assert isinstance(info.value, ValueError)


def test_missing_principal_code_raises_naming_the_record(records: list[dict]) -> None:
    bad = dict(records[1])
    bad[ID_KEY] = "NO-PRINCIPAL-7"
    bad[MAIN_KEY] = "  "
    with pytest.raises(ValueError, match="NO-PRINCIPAL-7"):
        BaselineCoder().fit([bad, *records[2:20]])


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        BaselineCoder().predict([synthetic_record("S", "I20.000", "I25.103", "冠心病")])


# -- predictions -----------------------------------------------------------------------------------------


def test_predictions_are_well_formed(fitted: BaselineCoder, records: list[dict]) -> None:
    out = fitted.predict(records[:60])
    assert len(out) == 60
    for main, others in out:
        assert main in PRINCIPAL
        assert set(others) <= set(OTHER)
        assert main not in others
        assert len(others) == len(set(others)) >= 1


def test_save_load_round_trip_gives_identical_predictions(
    fitted: BaselineCoder, records: list[dict], tmp_path: Path
) -> None:
    target = tmp_path / "models" / "baseline"
    fitted.save(target)
    assert (target / "config.json").is_file()
    loaded = BaselineCoder.load(target)
    assert loaded.config == fitted.config
    part = records[::7]
    assert loaded.predict(part) == fitted.predict(part)
    p1, o1 = fitted.predict_proba(part)
    p2, o2 = loaded.predict_proba(part)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(o1, o2)


def test_save_replaces_an_existing_model_atomically(fitted: BaselineCoder, tmp_path: Path) -> None:
    target = tmp_path / "baseline"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    fitted.save(target)
    assert not (target / "stale.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["baseline"]  # no temp or backup directory left behind
    BaselineCoder.load(target)


def test_load_rejects_a_directory_that_is_no_model(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError):
        BaselineCoder.load(tmp_path)


def test_fit_reports_progress_and_works_on_a_tiny_synthetic_set() -> None:
    recs = [
        synthetic_record(f"T{i}", main, others, dx)
        for i, (main, others, dx) in enumerate(
            [
                ("I20.000", "I25.103;E11.900", "1.冠心病不稳定型心绞痛2.2型糖尿病"),
                ("I20.000", "I25.103；I48.x01", "1.冠心病不稳定型心绞痛2.房颤"),
                ("I20.000", "I25.103 ; E11.900", "1.冠心病不稳定型心绞痛2.糖尿病"),
                ("I10.x00x032", "E11.900", "1.高血压病3级很高危2.2型糖尿病"),
                ("I10.x00x032", "I48.x01", "1.高血压病(3级 极高危)2.心房颤动"),
                ("I10.x00x032", "E11.900;I48.x01", "1.高血压病3级(很高危)2.糖尿病3.房颤"),
            ]
        )
    ]
    calls: list[tuple[int, int]] = []
    coder = BaselineCoder(BaselineConfig(inner_folds=2)).fit(recs, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    preds = coder.predict(recs)
    assert all(main in {"I20.000", "I10.x00x032"} and main not in rest for main, rest in preds)


def test_global_threshold_strategy_is_tuned(records: list[dict]) -> None:
    coder = BaselineCoder(BaselineConfig(threshold_strategy="global", inner_folds=3)).fit(records[:120])
    assert coder.threshold in coder.config.threshold_grid
    assert all(len(rest) >= 1 for _, rest in coder.predict(records[120:140]))


# -- quality sanity ----------------------------------------------------------------------------------------


def test_two_fold_score_beats_a_majority_baseline(records: list[dict]) -> None:
    gold = {r[ID_KEY]: (r[MAIN_KEY], split_code_list(r[OTHER_KEY])[0]) for r in records}
    y = [r[MAIN_KEY] for r in records]
    pred, trivial = {}, {}
    for tr, va in StratifiedKFold(n_splits=2, shuffle=True, random_state=0).split(records, y):
        train = [records[i] for i in tr]
        # The trivial baseline: the commonest principal code, and the other codes found in at least
        # half of the training records (the commonest one if none is).
        main_counts = Counter(r[MAIN_KEY] for r in train)
        other_counts = Counter(c for r in train for c in split_code_list(r[OTHER_KEY])[0])
        majority_main = main_counts.most_common(1)[0][0]
        common = [c for c, n in other_counts.items() if n >= len(train) / 2] or [other_counts.most_common(1)[0][0]]
        majority = (majority_main, [c for c in common if c != majority_main])
        part = [records[i] for i in va]
        for r, p in zip(part, BaselineCoder().fit(train).predict(part), strict=True):
            pred[r[ID_KEY]] = p
            trivial[r[ID_KEY]] = majority
    model, base = score(gold, pred), score(gold, trivial)
    assert model.n_missing == 0
    assert model.score > base.score + 15, (model.lines(), base.lines())
    assert model.principal_accuracy > base.principal_accuracy
    assert model.other_f1 > base.other_f1


def test_predictions_do_not_depend_on_the_number_of_processes(
    fitted: BaselineCoder, records: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coder_module, "PREDICT_CHUNK", 100)

    def with_workers(n: int) -> BaselineCoder:
        coder = copy.copy(fitted)
        coder.config = replace(fitted.config, predict_workers=n)
        return coder

    assert len(records) >= 200  # two chunks of at least 100: really two processes
    P1, O1 = with_workers(1).predict_proba(records)
    P2, O2 = with_workers(2).predict_proba(records)
    assert np.array_equal(P1, P2) and np.array_equal(O1, O2)
    assert with_workers(2).predict(records) == with_workers(1).predict(records)
