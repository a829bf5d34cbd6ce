"""The numpy character n-gram TF-IDF must give exactly scikit-learn's matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.domain.records import TEXT_SECTIONS
from training.char_ngrams import tfidf_fit_transform, tfidf_transform

TRAIN = ["冠心病  不稳定型心绞痛\n高血压3级", "心房颤动 NYHA Ⅲ级", "Abc\tdef  ghi", "否认糖尿病史。"]
UNSEEN = [
    "冠心病 新词汇☃ 不稳定型心绞痛",  # characters the vocabulary never saw break n-grams
    "",  # an empty document is an all-zero row
    "a",  # shorter than the longest n-gram
    "ABC   DEF\n\n\tGHI",  # upper case and runs of white space, folded as scikit-learn folds them
    "高血压3级" * 50,
]


def _sklearn_refused(vec: TfidfVectorizer) -> TfidfVectorizer:
    """The vectorizer with its own transform disabled, so a silent fallback fails the test."""

    def refuse(texts: object) -> None:
        raise AssertionError("fell back to scikit-learn's transform")

    vec.transform = refuse  # type: ignore[method-assign]
    return vec


def _same(a: sp.spmatrix, b: sp.spmatrix) -> None:
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    assert a.shape == b.shape
    assert (a != b).nnz == 0


@pytest.mark.parametrize(
    "options",
    [
        {"ngram_range": (1, 3), "sublinear_tf": True},
        {"ngram_range": (1, 4), "sublinear_tf": True, "min_df": 1},
        {"ngram_range": (2, 3), "sublinear_tf": False, "norm": "l1"},
        {"ngram_range": (1, 2), "use_idf": False, "lowercase": False},
    ],
)
def test_equals_scikit_learn_on_edge_cases(options: dict) -> None:
    vec = TfidfVectorizer(analyzer="char", **options).fit(TRAIN)
    expected = vec.transform(UNSEEN + TRAIN)
    _same(tfidf_transform(_sklearn_refused(vec), UNSEEN + TRAIN), expected)


def test_equals_scikit_learn_on_real_records(shared_data: Path) -> None:
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))
    texts = ["\n".join(f"{k}:{r.get(k) or ''}" for k in TEXT_SECTIONS) for r in rows]
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), max_features=60000, min_df=2, sublinear_tf=True)
    vec.fit(texts[:150])
    expected = vec.transform(texts[150:])
    _same(tfidf_transform(_sklearn_refused(vec), texts[150:]), expected)


def test_refitting_a_vectorizer_rebuilds_its_index() -> None:
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2)).fit(["ab"])
    tfidf_transform(vec, ["ab"])
    vec.fit(["xy", "yz"])
    _same(tfidf_transform(vec, ["xyz"]), vec.transform(["xyz"]))


def test_word_analyzers_fall_back_to_scikit_learn() -> None:
    vec = TfidfVectorizer(analyzer="word").fit(["the heart", "the lung"])
    _same(tfidf_transform(vec, ["heart lung lung"]), vec.transform(["heart lung lung"]))


@pytest.mark.parametrize(
    "params",
    [
        {"ngram_range": (1, 3), "min_df": 2, "sublinear_tf": True},
        {"ngram_range": (1, 3), "min_df": 1, "max_features": 3000},  # ties in frequency cut the same way
        {"ngram_range": (1, 4), "min_df": 1, "sublinear_tf": True},
        {"ngram_range": (2, 3), "min_df": 1, "lowercase": False},
    ],
)
def test_fitting_gives_scikit_learn_s_vectorizer_and_matrix_entry_for_entry(
    shared_data: Path, params: dict[str, object]
) -> None:
    """The vocabulary, the idf and the matrix, down to the order of each row's entries (the models read them in
    that order), on the real records and on the made-up edge cases."""
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))[:60]
    texts = ["\n".join(f"{k}:{r.get(k) or ''}" for k in TEXT_SECTIONS) for r in rows] + TRAIN + UNSEEN
    ours, theirs = TfidfVectorizer(analyzer="char", **params), TfidfVectorizer(analyzer="char", **params)
    X, expected = tfidf_fit_transform(ours, texts), sp.csr_matrix(theirs.fit_transform(texts))
    assert ours.vocabulary_ == theirs.vocabulary_ and (ours.idf_ == theirs.idf_).all()
    for part in ("indptr", "indices", "data"):
        assert (getattr(X, part) == getattr(expected, part)).all(), part
    assert "_count_vocab" not in vars(ours)  # nothing of the fast path stays on the pickled vectorizer
