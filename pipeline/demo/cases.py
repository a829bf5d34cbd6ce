"""The synthetic patients behind the demo records (:mod:`pipeline.demo.synthetic` writes their text).

A case is a principal diagnosis with other codes drawn from the task's label space, a sex and age, and the
durations, vital signs and laboratory values that agree with its codes. The label co-occurrence model is data,
in ``labels.json`` beside this module. Every draw comes from the caller's seeded generator, in a fixed order:
the demo records are pinned per seed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

_LABELS: dict[str, Any] = json.loads(files("pipeline.demo").joinpath("labels.json").read_text(encoding="utf-8"))

HT3, UA, MVA, NSTEMI, HF = "I10.x00x032", "I20.000", "I20.800x007", "I21.401", "I50.900x018"
PRINCIPALS: tuple[str, ...] = (HT3, UA, MVA, NSTEMI, HF)

HT_GRADES = ("I10.x00x023", "I10.x00x024", "I10.x00x027", "I10.x00x028", "I10.x00x031", HT3)
NYHA = ("I50.900x007", "I50.900x008", "I50.900x010")
KILLIP = ("I50.900x014", "I50.900x015", "I50.900x016")
DM = ("E11.900", "E14.900x001")
AF = ("I48.x01", "I48.x02")
BEATS = ("I49.100x001", "I49.100x002", "I49.300x001", "I49.300x002", "I49.400x002", "I49.400x003")

# The label co-occurrence model (labels.json). At most one code of each ``exclusive`` group per record (a
# principal counts as a member of its group); the other codes are drawn by their ``common_pool`` weights,
# which each principal's profile adds to or overrides.
_EXCLUSIVE: list[list[str]] = _LABELS["exclusive"]
_COMMON_POOL: dict[str, float] = _LABELS["common_pool"]


@dataclass(frozen=True)
class _Profile:
    core: tuple[tuple[tuple[str, ...], float], ...]  # (alternatives, probability), tried first
    extra: dict[str, float]  # added to / overriding the common pool weights
    banned: tuple[str, ...]
    ht_prob: float  # chance of a hypertension grade among the others

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> _Profile:
        core = tuple((tuple(alts), p) for alts, p in d["core"])
        return cls(core=core, extra=d["extra"], banned=tuple(d["banned"]), ht_prob=d["ht_prob"])


_PROFILES = {main: _Profile.from_json(d) for main, d in _LABELS["profiles"].items()}
_HT_WEIGHTS: dict[str, float] = _LABELS["ht_weights"]
_N_OTHER_WEIGHTS: list[float] = _LABELS["n_other_weights"]  # for 1..7 other codes


@dataclass
class Case:
    """One patient: record id, principal and other codes, sex, age, and what the text reports of them."""

    rid: str
    main: str
    others: list[str]
    sex: str
    age: int
    v: dict[str, float | int | str] = field(default_factory=dict)  # durations, vitals and labs

    def has(self, *codes: str) -> bool:
        return self.main in codes or any(c in self.others for c in codes)

    def first(self, codes: tuple[str, ...]) -> str | None:
        return next((c for c in codes if self.has(c)), None)


# ---------------------------------------------------------------- labels


def _conflicts(code: str, chosen: list[str]) -> bool:
    return any(code in g and any(c in g for c in chosen) for g in _EXCLUSIVE)


def _draw_others(rng: random.Random, main: str, sex: str) -> list[str]:
    prof = _PROFILES[main]
    banned = set(prof.banned) | {main} | ({"Z98.800x612"} if sex == "男" else set())
    target = rng.choices(range(1, 8), weights=_N_OTHER_WEIGHTS)[0]
    chosen: list[str] = [main]

    def add(code: str) -> None:
        if code not in banned and code not in chosen and not _conflicts(code, chosen):
            chosen.append(code)

    if rng.random() < prof.ht_prob:
        grades = [g for g in HT_GRADES if g not in banned]
        add(rng.choices(grades, weights=[_HT_WEIGHTS[g] for g in grades])[0])
    for alts, p in prof.core:
        if rng.random() < p:
            add(rng.choice(alts))
    pool = {**_COMMON_POOL, **prof.extra}
    codes = [c for c in pool if c not in banned]
    while len(chosen) - 1 < target:
        weights = [0.0 if c in chosen or _conflicts(c, chosen) else pool[c] for c in codes]
        if not any(weights):
            break
        add(rng.choices(codes, weights=weights)[0])
    return chosen[1:8]


# ---------------------------------------------------------------- numbers


def _vitals(rng: random.Random, c: Case) -> None:
    v = c.v
    ht = c.first(HT_GRADES)
    killip4 = c.has("I50.900x016")
    grade = {"I10.x00x023": 1, "I10.x00x024": 1, "I10.x00x027": 2, "I10.x00x028": 2}.get(ht or "", 3)
    v["max_sbp"] = rng.randint(*{1: (142, 158), 2: (162, 178), 3: (186, 230)}[grade])
    v["max_dbp"] = rng.randint(*{1: (90, 98), 2: (100, 108), 3: (104, 128)}[grade])
    if c.main == HT3:
        v["sbp"], v["dbp"] = rng.randint(182, 218), rng.randint(98, 124)
        v["max_sbp"], v["max_dbp"] = max(v["max_sbp"], v["sbp"]), max(v["max_dbp"], v["dbp"])
    elif killip4:
        v["sbp"], v["dbp"] = rng.randint(76, 88), rng.randint(44, 56)
    elif ht:  # treated hypertension: never above the grade's own highest reading
        v["sbp"], v["dbp"] = rng.randint(128, v["max_sbp"] - 4), rng.randint(72, v["max_dbp"] - 3)
    else:
        v["sbp"], v["dbp"] = rng.randint(106, 134), rng.randint(62, 84)
    af = c.has("I48.x01") or (c.has("I48.x02") and rng.random() < 0.4)
    v["af_now"] = int(af)
    if af:
        v["hr"] = rng.randint(96, 136)
    elif c.main == HF:
        v["hr"] = rng.randint(86, 116)
    elif c.main == NSTEMI:
        v["hr"] = rng.randint(68, 104)
    else:
        v["hr"] = rng.randint(60, 92)
    infection = c.has("J18.900", "J98.414")
    v["t"] = round(rng.uniform(37.6, 38.7), 1) if infection else round(rng.uniform(36.2, 36.9), 1)
    congested = c.main == HF or c.has("I50.907", "I50.900x015", "I50.900x016")
    v["rr"] = rng.randint(22, 28) if congested else rng.randint(16, 20)
    v["wbc"] = round(rng.uniform(10.6, 15.8), 2) if infection else round(rng.uniform(4.6, 8.9), 2)
    v["tni"] = round(rng.uniform(0.42, 18.5), 2) if c.main == NSTEMI else round(rng.uniform(0.003, 0.028), 3)
    v["ckmb"] = round(rng.uniform(28, 146), 1) if c.main == NSTEMI else round(rng.uniform(6, 19), 1)
    if c.main == HF:
        v["bnp"] = rng.randint(680, 4800)
    elif c.main == NSTEMI and c.has("I50.907", "I50.900x015", "I50.900x016", "I50.900x014"):
        v["bnp"] = rng.randint(420, 1800)
    else:
        v["bnp"] = rng.randint(16, 96)
    v["lvef"] = {
        HF: rng.randint(25, 46),
        NSTEMI: rng.randint(41, 58),
        UA: rng.randint(52, 66),
        MVA: rng.randint(58, 70),
        HT3: rng.randint(56, 68),
    }[c.main]
    v["k"] = round(rng.uniform(2.86, 3.41), 2) if c.has("E87.600") else round(rng.uniform(3.62, 4.85), 2)
    v["cr"] = rng.randint(142, 318) if c.has("N19.x00x002") else rng.randint(52, 98)
    v["ldl"] = round(rng.uniform(3.6, 5.1), 2) if c.has("E78.500") else round(rng.uniform(1.9, 3.3), 2)
    v["tg"] = round(rng.uniform(2.1, 4.6), 2) if c.has("E78.500") else round(rng.uniform(0.8, 1.6), 2)
    v["hba1c"] = round(rng.uniform(7.1, 9.8), 1) if c.has(*DM) else round(rng.uniform(5.2, 6.0), 1)
    v["glu"] = round(rng.uniform(7.4, 11.8), 1) if c.has(*DM) else round(rng.uniform(4.5, 5.9), 1)
    v["hcy"] = round(rng.uniform(18.5, 41.0), 1) if c.has("E72.101") else round(rng.uniform(7.8, 13.9), 1)
    v["spo2"] = rng.randint(88, 94) if congested else rng.randint(96, 99)


def duration(rng: random.Random, lo: int, hi: int, unit: str) -> str:
    """``lo`` to ``hi`` units, as a history words it ("3年", "3年余")."""
    return f"{rng.randint(lo, hi)}{unit}{rng.choice(('', '余', ''))}"


# (long, short) duration ranges per principal: the course of the illness and the recent change.
_DURATIONS: dict[str, tuple[tuple[int, int, str], tuple[int, int, str]]] = {
    HT3: ((2, 15, "年"), (1, 10, "天")),
    UA: ((1, 11, "个月"), (2, 10, "天")),
    MVA: ((2, 11, "个月"), (1, 3, "周")),
    NSTEMI: ((2, 7, "天"), (3, 20, "小时")),
    HF: ((2, 10, "年"), (3, 10, "天")),
}


def new_case(rng: random.Random, rid: str, main: str) -> Case:
    """A case of principal ``main``: sex and age, other codes, durations, then measurements, in that order."""
    if main == MVA:
        sex = "女" if rng.random() < 0.65 else "男"
        age = rng.randint(42, 72)
    else:
        sex = "男" if rng.random() < 0.6 else "女"
        age = rng.randint(48, 88) if main == HF else rng.randint(38, 84)
    c = Case(rid=rid, main=main, others=_draw_others(rng, main, sex), sex=sex, age=age)
    (l_lo, l_hi, l_unit), (s_lo, s_hi, s_unit) = _DURATIONS[main]
    long_hi = min(l_hi, c.age - 30) if l_unit == "年" else l_hi
    c.v["long"], c.v["short"] = duration(rng, l_lo, long_hi, l_unit), duration(rng, s_lo, s_hi, s_unit)
    _vitals(rng, c)
    return c
