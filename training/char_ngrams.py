"""Character n-gram TF-IDF of a fitted scikit-learn ``TfidfVectorizer``, computed with numpy.

scikit-learn cuts a document into character n-grams and looks each one up in a Python loop, three
dictionary look-ups per character: a 2,000-character EMR takes milliseconds, and that made the
label-consistency filter the bottleneck of rewrite filtering. Here every character becomes its index in
the vocabulary's alphabet, each n-gram one int64 built from those indices, and a whole batch is looked up
with one ``searchsorted``. The result equals ``vectorizer.transform`` (tests compare the two matrices);
vectorizers this cannot reproduce (word analyzers, custom preprocessors) fall back to scikit-learn.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's own whitespace folding for char n-grams


@dataclass(frozen=True)
class _Index:
    vocabulary: dict[str, int]  #: the vocabulary this index was built from (a refit makes a new one)
    digits: np.ndarray  #: code point → the character's digit (its place in the vocabulary's alphabet + 1; 0: none)
    bits: int  #: bits per character in a key
    keys: np.ndarray  #: sorted n-gram keys
    columns: np.ndarray  #: the feature column of each key
    unigrams: np.ndarray  #: the feature column of each character digit (-1: not a feature), no search needed


_INDEXES: weakref.WeakKeyDictionary[TfidfVectorizer, _Index] = weakref.WeakKeyDictionary()


def _supported(vec: TfidfVectorizer) -> bool:
    return (
        vec.analyzer == "char"
        and vec.input == "content"
        and vec.preprocessor is None
        and vec.strip_accents is None
        and hasattr(vec, "vocabulary_")
    )


def _index(vec: TfidfVectorizer) -> _Index | None:
    found = _INDEXES.get(vec)
    if found is not None and found.vocabulary is vec.vocabulary_:
        return found
    alphabet = np.asarray(sorted({ord(ch) for term in vec.vocabulary_ for ch in term}), dtype=np.int64)
    bits = max(1, len(alphabet).bit_length())  # digits run 1..len(alphabet); 0 marks an unknown character
    if vec.ngram_range[1] * bits > 63:
        return None
    digit = {int(cp): i + 1 for i, cp in enumerate(alphabet)}
    keys = np.empty(len(vec.vocabulary_), dtype=np.int64)
    columns = np.empty(len(vec.vocabulary_), dtype=np.int64)
    for n, (term, col) in enumerate(vec.vocabulary_.items()):
        key = 0
        for ch in term:
            key = (key << bits) | digit[ord(ch)]
        keys[n], columns[n] = key, col
    order = np.argsort(keys)
    unigrams = np.full(len(alphabet) + 1, -1, dtype=np.int64)
    for term, col in vec.vocabulary_.items():
        if len(term) == 1:
            unigrams[digit[ord(term)]] = col
    table = np.zeros(int(alphabet[-1]) + 1 if len(alphabet) else 1, dtype=np.int64)
    table[alphabet] = np.arange(1, len(alphabet) + 1)
    built = _Index(vec.vocabulary_, table, bits, keys[order], columns[order], unigrams)
    _INDEXES[vec] = built
    return built


def _columns(index: _Index, text: str, ngram_range: tuple[int, int]) -> np.ndarray:
    """The vocabulary columns of every n-gram of one preprocessed document (repeats kept)."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    inside = cps < len(index.digits)
    digits = np.where(inside, index.digits[np.where(inside, cps, 0)], 0)
    unknown_before = np.concatenate(([0], np.cumsum(digits == 0)))
    lo, hi = ngram_range
    found: list[np.ndarray] = []
    if lo == 1:
        single = index.unigrams[digits]
        found.append(single[single >= 0])
    for n in range(max(lo, 2), min(hi, len(digits)) + 1):
        m = len(digits) - n + 1
        key = digits[:m].copy()
        for j in range(1, n):
            key = (key << index.bits) | digits[j : j + m]
        complete = unknown_before[n : n + m] == unknown_before[:m]  # an unknown character matches nothing
        at = np.searchsorted(index.keys, key)
        at[at == len(index.keys)] = 0
        hit = complete & (index.keys[at] == key)
        found.append(index.columns[at[hit]])
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def tfidf_transform(vec: TfidfVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
    """``vec.transform(texts)``, fast for character analyzers."""
    index = _index(vec) if _supported(vec) else None
    if index is None:
        return sp.csr_matrix(vec.transform(texts))
    width = len(vec.vocabulary_)
    if not texts:
        return sp.csr_matrix((0, width), dtype=vec.dtype)
    data: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    for text in texts:
        doc = _WHITE_SPACES.sub(" ", text.lower() if vec.lowercase else text)
        counts = np.bincount(_columns(index, doc, vec.ngram_range), minlength=width)
        present = np.flatnonzero(counts)
        indices.append(present)
        data.append(counts[present].astype(vec.dtype))
    X = sp.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), np.cumsum([0, *map(len, indices)])),
        shape=(len(texts), width),
        dtype=vec.dtype,
    )
    if vec.sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    if vec.use_idf:
        X.data *= vec.idf_[X.indices]
    if vec.norm is not None:
        X = normalize(X, norm=vec.norm, copy=False)
    return sp.csr_matrix(X)
