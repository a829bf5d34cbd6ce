"""The CPU baseline coder: character n-gram TF-IDF, clinical rule features and linear models.

It predicts, for a record in the competition format, one principal code and a set of other codes.
It trains on a few hundred records in a few seconds on two cores and needs nothing but scikit-learn,
so the project can mine badcases and run its demo without a GPU.

Feature blocks (each with its own weight in the config):

* ``text`` — TF-IDF of character 1–3-grams over the whole record (NFKC-normalised);
* ``diagnosis`` — TF-IDF of character 1–4-grams over 入院诊断 alone: the admission diagnosis names
  most of the diagnoses outright;
* ``rules`` — a synonym table of the label-space diseases written for this project (冠心病 =
  冠状动脉粥样硬化性心脏病, 房颤 = 心房颤动, 早搏 = 期前收缩, 血脂异常 = 高脂血症 …) matched with a
  simple negation scope (否认…, 无…, 未见…) and counted per part of the record (the first admission
  diagnosis, the whole admission diagnosis, history, hospital course, discharge); the hypertension
  grade and risk level (很高危 = 极高危); NYHA and Killip grades written as Ⅱ / II / 2 / 二; and a few
  numbers that separate the five principal diagnoses (worst coronary stenosis, occlusion, troponin in
  ng/mL, BNP, LVEF, highest blood pressure).

Models:

* principal — one-vs-rest logistic regressions (liblinear) on text + diagnosis + rules;
* each other code — a binary logistic regression on diagnosis + rules, plus that code's *own* rule
  columns (``CODE_RULES``) with a large weight, i.e. lightly regularised: on 200 records a generic
  model cannot find the one column that names its disease among 60,000, so it is pointed at it.
  The whole-record text block and the (out-of-fold) principal probabilities can be added too
  (``other_text_weight``, ``principal_feature_weight``); neither changed the 5-fold score measurably,
  so both are off by default, which makes fitting about three times faster.

The other-code set is chosen per record: the principal code is removed, and so is its family when it
belongs to an exclusive group (a grade-3 very-high-risk hypertension principal leaves no other
hypertension code); each exclusive group (one hypertension grade, one NYHA grade, one Killip grade …)
keeps only its most likely member; then either the top-k set that maximises the plug-in expected F1
(the default, no tuning needed), or every code above one global threshold tuned by inner CV.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from threadpoolctl import threadpool_limits

from pipeline.domain.codes import split_code_list
from pipeline.domain.metric import set_f1
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from pipeline.errors import InputError
from pipeline.parallel import map_chunks
from training.baseline.config import (
    _CONFIG_FILE,
    _MODEL_FILE,
    FORMAT_VERSION,
    BaselineConfig,
    MissingLabelsError,
    ModelFormatError,
    NotFittedError,
)
from training.baseline.features import _full_text, _sections
from training.baseline.rules import _own_rule_index, _rule_row
from training.baseline.selection import _choose_others
from training.char_ngrams import tfidf_fit_transform, tfidf_transform

__all__ = ["BaselineCoder"]

#: The fewest records a worker process predicts. A worker costs some 2 CPU-seconds before its first record (it
#: imports scikit-learn and unpickles the model, and its caches start empty) and a rewrite variant about 2 ms, so
#: a smaller share costs more than it saves: the filter job's batches of 1,000 variants judged in one process
#: took half the CPU time of two processes, and no more time on two cores (issue 28).
PREDICT_CHUNK = 1000


def _labels_of(records: Sequence[Mapping[str, str]]) -> tuple[list[str], list[list[str]]]:
    mains: list[str] = []
    others: list[list[str]] = []
    problems: list[str] = []
    ids: list[str] = []
    for n, r in enumerate(records):
        rid = str(r.get(ID_KEY) or f"#{n + 1}")
        main_raw = str(r.get(MAIN_KEY) or "").strip()
        other_raw = str(r.get(OTHER_KEY) or "").strip()
        if not main_raw or not other_raw:
            missing = [k for k, v in ((MAIN_KEY, main_raw), (OTHER_KEY, other_raw)) if not v]
            problems.append(f"record {rid}: no {' / '.join(missing)}")
            ids.append(rid)
            continue
        main_codes, bad_main = split_code_list(main_raw)
        codes, bad = split_code_list(other_raw)
        if bad_main or bad or len(main_codes) != 1 or not codes:
            problems.append(f"record {rid}: malformed codes {bad_main + bad or [main_raw, other_raw]}")
            ids.append(rid)
            continue
        main = main_codes[0]
        mains.append(main)
        others.append([c for c in codes if c != main])
    if problems:
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        raise MissingLabelsError(f"training record(s) without usable labels: {shown}", problems)
    return mains, others


@dataclass(frozen=True)
class _Blocks:
    text: sp.csr_matrix  #: TF-IDF of the whole record
    diagnosis: sp.csr_matrix  #: TF-IDF of 入院诊断
    rules: np.ndarray  #: rule features, unweighted (columns: RULE_FEATURE_NAMES)


class BaselineCoder:
    """Principal code + other codes from character n-gram TF-IDF, rule features and linear models."""

    def __init__(self, config: BaselineConfig | None = None) -> None:
        self.config = config or BaselineConfig()
        self._fitted = False
        self.principal_codes: list[str] = []
        self.other_codes: list[str] = []
        self.threshold: float = self.config.threshold
        self.fit_seconds: float = 0.0
        self._text_vec: TfidfVectorizer | None = None
        self._dx_vec: TfidfVectorizer | None = None
        self._principal_model: LogisticRegression | None = None
        self._other_models: list[LogisticRegression | None] = []
        self._own_index: list[np.ndarray] = []

    # -- features -----------------------------------------------------------------------------------
    def _features(self, records: Sequence[Mapping[str, str]], fit: bool = False) -> _Blocks:
        """The feature blocks of ``records`` (the vectorizers are fitted first when ``fit``)."""
        cfg = self.config
        secs = [_sections(r) for r in records]  # normalised once for the three blocks
        texts = [_full_text(sec) for sec in secs]
        if fit:
            self._text_vec = TfidfVectorizer(
                analyzer=cfg.analyzer,
                ngram_range=(cfg.ngram_min, cfg.ngram_max),
                max_features=cfg.max_features,
                min_df=min(cfg.min_df, max(1, len(records) // 2)),
                sublinear_tf=cfg.sublinear_tf,
                lowercase=True,
                dtype=np.float64,
            )
            text = tfidf_fit_transform(self._text_vec, texts)
        else:
            text = tfidf_transform(self._text_vec, texts)
        dx = [sec["入院诊断"] for sec in secs]
        if fit:
            self._dx_vec = TfidfVectorizer(
                analyzer="char",
                ngram_range=(1, cfg.diagnosis_ngram_max),
                min_df=1,
                sublinear_tf=cfg.sublinear_tf,
                lowercase=True,
                dtype=np.float64,
            )
            diagnosis = tfidf_fit_transform(self._dx_vec, dx)
        else:
            diagnosis = tfidf_transform(self._dx_vec, dx)
        rules = np.vstack([_rule_row(sec) for sec in secs])
        return _Blocks(sp.csr_matrix(text), sp.csr_matrix(diagnosis), rules)

    def _principal_matrix(self, F: _Blocks) -> sp.csr_matrix:
        cfg = self.config
        parts = [F.text]
        if cfg.diagnosis_weight > 0:
            parts.append(cfg.diagnosis_weight * F.diagnosis)
        if cfg.rule_weight > 0:
            parts.append(sp.csr_matrix(cfg.rule_weight * F.rules))
        return sp.hstack(parts, format="csr")

    def _other_matrix(self, F: _Blocks, principal_probs: np.ndarray) -> sp.csr_matrix:
        """The design matrix shared by the other-code models (each adds its own rule columns)."""
        cfg = self.config
        parts = []
        if cfg.other_text_weight > 0:
            parts.append(cfg.other_text_weight * F.text)
        if cfg.diagnosis_weight > 0:
            parts.append(cfg.diagnosis_weight * F.diagnosis)
        if cfg.rule_weight > 0:
            parts.append(sp.csr_matrix(cfg.rule_weight * F.rules))
        if cfg.principal_feature_weight > 0:
            parts.append(sp.csr_matrix(cfg.principal_feature_weight * principal_probs))
        if not parts:
            parts.append(sp.csr_matrix((F.rules.shape[0], 0)))
        return sp.hstack(parts, format="csr")

    def _new_principal_model(self) -> LogisticRegression | OneVsRestClassifier:
        cfg = self.config
        if cfg.principal_model == "multinomial":
            return LogisticRegression(C=cfg.principal_C, max_iter=5000, random_state=cfg.seed)
        return OneVsRestClassifier(
            LogisticRegression(C=cfg.principal_C, solver="liblinear", dual=True, max_iter=5000, random_state=cfg.seed)
        )

    def _new_other_model(self) -> LogisticRegression:
        # liblinear's primal (trust-region Newton) solver: with the heavily weighted own-rule columns
        # it converges in a few iterations, where the dual coordinate descent needs many passes.
        return LogisticRegression(
            C=self.config.other_C, solver="liblinear", max_iter=5000, random_state=self.config.seed
        )

    def _principal_proba(self, model: LogisticRegression, X: sp.csr_matrix) -> np.ndarray:
        """Probabilities in the order of ``self.principal_codes`` (a fold may lack a class)."""
        out = np.zeros((X.shape[0], len(self.principal_codes)))
        proba = model.predict_proba(X)
        col = {c: i for i, c in enumerate(self.principal_codes)}
        for j, c in enumerate(model.classes_):
            out[:, col[c]] = proba[:, j]
        return out

    def _code_matrix(self, Xo: sp.csr_matrix, R: np.ndarray, j: int) -> sp.csr_matrix:
        """The design matrix of other code ``j``: the shared one plus the code's own rule features."""
        own = self._own_index[j]
        w = self.config.own_rule_weight
        if w <= 0 or not len(own):
            return Xo
        return sp.hstack([Xo, sp.csr_matrix(w * R[:, own])], format="csr")

    def _other_proba(self, models: Sequence[LogisticRegression | None], Xo: sp.csr_matrix, R: np.ndarray) -> np.ndarray:
        out = np.zeros((Xo.shape[0], len(models)))
        for j, m in enumerate(models):
            if m is not None:
                out[:, j] = m.predict_proba(self._code_matrix(Xo, R, j))[:, 1]
        return out

    def _fit_others(
        self, Xo: sp.csr_matrix, R: np.ndarray, Y: np.ndarray, tick: Callable[[], None] | None = None
    ) -> list[LogisticRegression | None]:
        models: list[LogisticRegression | None] = []
        for j in range(Y.shape[1]):
            y = Y[:, j]
            if y.min() == y.max():  # this code never (or always) occurs in this part: no model
                models.append(None)
            else:
                models.append(self._new_other_model().fit(self._code_matrix(Xo, R, j), y))
            if tick:
                tick()
        return models

    # -- public API ---------------------------------------------------------------------------------
    def fit(
        self,
        records: Sequence[Mapping[str, str]],
        progress: Callable[[int, int], None] | None = None,
    ) -> BaselineCoder:
        """Train on labelled records; raises ``MissingLabelsError`` naming any record without labels.

        ``progress(done, total)`` is called after each step (features, inner folds, each model).
        """
        with self._threads():
            return self._fit(records, progress)

    def _threads(self) -> contextlib.AbstractContextManager:
        n = self.config.n_threads
        return threadpool_limits(limits=n) if n else contextlib.nullcontext()

    def _fit(
        self,
        records: Sequence[Mapping[str, str]],
        progress: Callable[[int, int], None] | None,
    ) -> BaselineCoder:
        start = time.perf_counter()
        cfg = self.config
        records = list(records)
        if not records:
            raise InputError("no training records")
        mains, others = _labels_of(records)
        self.principal_codes = sorted(set(mains))
        counts: dict[str, int] = {}
        for codes in others:
            for c in codes:
                counts[c] = counts.get(c, 0) + 1
        self.other_codes = sorted(c for c, n in counts.items() if n >= cfg.min_code_count)
        y_main = np.asarray(mains)
        Y = np.zeros((len(records), len(self.other_codes)), dtype=np.int64)
        col = {c: j for j, c in enumerate(self.other_codes)}
        for i, codes in enumerate(others):
            for c in codes:
                if c in col:
                    Y[i, col[c]] = 1

        tune = cfg.threshold_strategy == "global"
        folds = self._inner_folds(y_main)
        n_codes = len(self.other_codes)
        total = 1 + len(folds) + 1 + n_codes + (len(folds) * n_codes if tune else 0)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done, total)

        F = self._features(records, fit=True)
        X = self._principal_matrix(F)
        R = F.rules
        self._own_index = [_own_rule_index(c) for c in self.other_codes]
        tick()
        # Out-of-fold principal probabilities: the other-code models see what they will see at
        # prediction time (a model's guess, not the gold code).
        P_oof = np.zeros((len(records), len(self.principal_codes)))
        need_oof = cfg.principal_feature_weight > 0 or tune
        if len(self.principal_codes) > 1:
            for tr, va in folds:
                if not need_oof:
                    pass
                elif len(set(y_main[tr])) < 2:
                    P_oof[va] = 1.0 / len(self.principal_codes)
                else:
                    m = self._new_principal_model().fit(X[tr], y_main[tr])
                    P_oof[va] = self._principal_proba(m, X[va])
                tick()
            self._principal_model = self._new_principal_model().fit(X, y_main)
        else:
            P_oof[:] = 1.0
            self._principal_model = None
            for _ in folds:
                tick()
        tick()
        Xo = self._other_matrix(F, P_oof)
        self._other_models = self._fit_others(Xo, R, Y, tick)

        self.threshold = cfg.threshold
        if tune and n_codes:
            oof = np.zeros_like(Y, dtype=np.float64)
            for tr, va in folds:
                models = self._fit_others(Xo[tr], R[tr], Y[tr], tick)
                oof[va] = self._other_proba(models, Xo[va], R[va])
            principal_oof = [self.principal_codes[i] for i in P_oof.argmax(axis=1)]
            self.threshold = self._tune_threshold(oof, principal_oof, others)
        self._fitted = True
        self.fit_seconds = time.perf_counter() - start
        return self

    def _inner_folds(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        cfg = self.config
        _, counts = np.unique(y, return_counts=True)
        k = max(2, min(cfg.inner_folds, len(y)))
        if counts.min() >= k:
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=cfg.seed)
            return list(splitter.split(np.zeros(len(y)), y))
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(len(y))
        return [(np.setdiff1d(order, part), np.sort(part)) for part in np.array_split(order, k)]

    def _tune_threshold(self, oof: np.ndarray, principals: list[str], gold: list[list[str]]) -> float:
        cfg = self.config
        best_t, best_v = cfg.threshold, -1.0
        for t in cfg.threshold_grid:
            v = float(
                np.mean(
                    [
                        set_f1(
                            g,
                            _choose_others(pm, oof[i], self.other_codes, "global", t, cfg.min_other, cfg.max_other),
                        )
                        for i, (pm, g) in enumerate(zip(principals, gold, strict=True))
                    ]
                )
            )
            if v > best_v + 1e-12:
                best_t, best_v = t, v
        return float(best_t)

    def predict_proba(self, records: Sequence[Mapping[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """Principal probabilities (columns: ``principal_codes``) and other-code probabilities
        (columns: ``other_codes``)."""
        self._check_fitted()
        # Features are pure Python for the most part; each process gets a copy of the model (~6 MB).
        parts = map_chunks(
            functools.partial(_predict_chunk, self), list(records), self.config.predict_workers, PREDICT_CHUNK
        )
        return np.vstack([p for p, _ in parts]), np.vstack([o for _, o in parts])

    def _predict_proba(self, records: Sequence[Mapping[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        records = list(records)
        if not records:
            return np.zeros((0, len(self.principal_codes))), np.zeros((0, len(self.other_codes)))
        F = self._features(records)
        X = self._principal_matrix(F)
        if self._principal_model is None:
            P = np.ones((len(records), 1))
        else:
            P = self._principal_proba(self._principal_model, X)
        others = self._other_proba(self._other_models, self._other_matrix(F, P), F.rules)
        return P, others

    def predict(self, records: Sequence[Mapping[str, str]]) -> list[tuple[str, list[str]]]:
        """(principal code, other codes) per record, in order; the principal is never among the others."""
        return self.decide(*self.predict_proba(records))

    def decide(self, P: np.ndarray, others: np.ndarray) -> list[tuple[str, list[str]]]:
        """The codes :meth:`predict` gives for probabilities from :meth:`predict_proba`."""
        cfg = self.config
        out = []
        for i in range(P.shape[0]):
            main = self.principal_codes[int(np.argmax(P[i]))]
            rest = _choose_others(
                main, others[i], self.other_codes, cfg.threshold_strategy, self.threshold, cfg.min_other, cfg.max_other
            )
            out.append((main, rest))
        return out

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise NotFittedError("the baseline coder is not fitted: call fit() or load() first")

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the model to the directory ``path`` (replaced as a whole, never left half-written)."""
        self._check_fitted()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            state = {
                "format_version": FORMAT_VERSION,
                "principal_codes": self.principal_codes,
                "other_codes": self.other_codes,
                "threshold": self.threshold,
                "fit_seconds": self.fit_seconds,
                "text_vec": self._text_vec,
                "dx_vec": self._dx_vec,
                "principal_model": self._principal_model,
                "other_models": self._other_models,
                "own_index": self._own_index,
            }
            joblib.dump(state, tmp / _MODEL_FILE, compress=3)
            meta = {
                "format_version": FORMAT_VERSION,
                "kind": "sradit-baseline",
                "config": self.config.to_json(),
                "principal_codes": self.principal_codes,
                "other_codes": self.other_codes,
                "threshold": self.threshold,
            }
            (tmp / _CONFIG_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
            for f in (tmp / _MODEL_FILE, tmp / _CONFIG_FILE):
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            old = None
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
                old.rmdir()
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> BaselineCoder:
        """Read a model written by ``save``."""
        src = Path(path)
        if not (src / _CONFIG_FILE).is_file() or not (src / _MODEL_FILE).is_file():
            raise ModelFormatError(f"{src} is not a saved baseline model (need {_CONFIG_FILE} and {_MODEL_FILE})")
        meta = json.loads((src / _CONFIG_FILE).read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"{src}: model format {meta.get('format_version')!r}, this version reads {FORMAT_VERSION}"
            )
        state = joblib.load(src / _MODEL_FILE)
        coder = cls(BaselineConfig.from_json(meta["config"]))
        coder.principal_codes = list(state["principal_codes"])
        coder.other_codes = list(state["other_codes"])
        coder.threshold = float(state["threshold"])
        coder.fit_seconds = float(state.get("fit_seconds", 0.0))
        coder._text_vec = state["text_vec"]
        coder._dx_vec = state["dx_vec"]
        coder._principal_model = state["principal_model"]
        coder._other_models = list(state["other_models"])
        coder._own_index = list(state["own_index"])
        coder._fitted = True
        return coder


def _predict_chunk(coder: BaselineCoder, records: list[Mapping[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    with coder._threads():
        return coder._predict_proba(records)
