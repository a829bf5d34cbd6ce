"""Character n-gram TF-IDF of a fitted scikit-learn ``TfidfVectorizer``, computed with numpy.

scikit-learn cuts a document into character n-grams and looks each one up in a Python loop, three
dictionary look-ups per character: a 2,000-character EMR takes milliseconds, and that made the
label-consistency filter the bottleneck of rewrite filtering. Here every character becomes its index in
the vocabulary's alphabet, each n-gram one int64 built from those indices, and a whole batch is looked up
with one ``searchsorted``. The result equals ``vectorizer.transform`` (tests compare the two matrices);
vectorizers this cannot reproduce (word analyzers, custom preprocessors) fall back to scikit-learn.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils._sparse import _align_api_if_sparse

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


def _char_analyzer(vec: TfidfVectorizer) -> bool:
    return vec.analyzer == "char" and vec.input == "content" and vec.preprocessor is None and vec.strip_accents is None


def _supported(vec: TfidfVectorizer) -> bool:
    return _char_analyzer(vec) and hasattr(vec, "vocabulary_")


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


def tfidf_fit_transform(vec: TfidfVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
    """``vec.fit_transform(texts)``, its n-grams counted with numpy for character analyzers: scikit-learn counts them
    one by one in Python, most of a baseline coder's fit. Only the counting is replaced; scikit-learn sorts, prunes
    and weighs the vocabulary as ever, so the fitted vectorizer and the matrix are the same (tests compare them)."""
    if not _char_analyzer(vec) or vec.vocabulary is not None or not all(isinstance(t, str) for t in texts):
        return sp.csr_matrix(vec.fit_transform(texts))
    vec._count_vocab = functools.partial(_count_vocab, vec)  # type: ignore[method-assign]
    try:
        return sp.csr_matrix(vec.fit_transform(texts))
    finally:
        del vec._count_vocab  # the fitted vectorizer is pickled with the model: nothing of this may stay on it


def _count_vocab(vec: TfidfVectorizer, texts: Sequence[str], fixed_vocab: bool) -> tuple[dict[str, int], sp.sparray]:
    """scikit-learn's ``CountVectorizer._count_vocab`` (the vocabulary and the count matrix) for a character
    analyzer: every character becomes its place in the documents' alphabet, each n-gram one int64 key, and the
    documents' keys are counted with ``np.unique``."""
    docs = [_WHITE_SPACES.sub(" ", t.lower() if vec.lowercase else t) for t in texts]
    cps = [np.frombuffer(d.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) for d in docs]
    alphabet, inverse = np.unique(np.concatenate(cps) if cps else np.zeros(0, np.uint32), return_inverse=True)
    bits = max(1, len(alphabet).bit_length())  # digits run 1..len(alphabet)
    lo, hi = vec.ngram_range
    if fixed_vocab or hi * bits > 63 or not len(alphabet):
        return type(vec)._count_vocab(vec, texts, fixed_vocab)
    digits = inverse.astype(np.int64) + 1
    keys: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    start = 0
    for k, d in enumerate(cps):
        doc = digits[start : start + len(d)]
        start += len(d)
        for n in range(lo, min(hi, len(doc)) + 1):
            m = len(doc) - n + 1
            key = doc[:m].copy()
            for j in range(1, n):
                key = (key << bits) | doc[j : j + m]
            keys.append(key)
            owner.append(np.full(m, k, dtype=np.int64))
    all_keys = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    if not len(all_keys):
        return type(vec)._count_vocab(vec, texts, fixed_vocab)
    terms, first, term_of = np.unique(all_keys, return_index=True, return_inverse=True)
    # Columns in the order of first appearance, as scikit-learn numbers them: its later re-numbering in sorted order
    # keeps each row's entries in this order, and the models read them in it.
    column = np.empty(len(terms), dtype=np.int64)
    column[np.argsort(first)] = np.arange(len(terms))
    pairs, counts = np.unique(np.concatenate(owner) * len(terms) + column[term_of], return_counts=True)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(pairs // len(terms), minlength=len(docs)))))
    X = sp.csr_array(
        (counts.astype(np.intc), (pairs % len(terms)).astype(np.int32), indptr.astype(np.int32)),
        shape=(len(docs), len(terms)),
        dtype=vec.dtype,
    )
    X.sort_indices()
    return dict(zip(_decode(terms, alphabet, bits, hi), column.tolist(), strict=True)), _align_api_if_sparse(X)


def _decode(keys: np.ndarray, alphabet: np.ndarray, bits: int, longest: int) -> list[str]:
    """The n-grams that int64 ``keys`` stand for, in order (an n-gram of n characters has a key of n digits)."""
    out = np.empty(len(keys), dtype=object)
    for n in range(1, longest + 1):
        at = np.flatnonzero((keys >= (1 << (bits * (n - 1)))) & (keys < (1 << (bits * n))))
        chars = np.stack(
            [alphabet[((keys[at] >> (bits * (n - 1 - j))) & ((1 << bits) - 1)) - 1] for j in range(n)], axis=1
        )
        out[at] = np.ascontiguousarray(chars, dtype=np.uint32).view(f"<U{n}").ravel().tolist()
    return out.tolist()
