"""The seeded synthetic-record generator used by the demo database."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import pytest

from pipeline.demo.synthetic import generate_records
from pipeline.domain.label_space import OTHER, PRINCIPAL
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS

REPO = Path(__file__).resolve().parents[3]
SHARED_DATA = REPO.parent / "shared" / "data"

# Any wording of the principal disease that 入院诊断 may use.
PRINCIPAL_PATTERNS = {
    "I10.x00x032": r"高血压(病)?\s*3级.*(极高危|很高危)",
    "I20.000": r"不稳定[型性]心绞痛",
    "I20.800x007": r"微血管[型性]心绞痛|X综合征",
    "I21.401": r"非ST段抬高[型性]心肌梗死",
    "I50.900x018": r"慢性(心功能不全|心力衰竭)急性(加重|失代偿)",
}


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    return generate_records(60, 5, seed=0)


def labelled(records: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in records if MAIN_KEY in r]


def test_deterministic_per_seed(records: list[dict[str, str]]) -> None:
    assert generate_records(60, 5, seed=0) == records
    assert generate_records(60, 5, seed=1) != records


def test_independent_of_string_hashing() -> None:
    code = "import json; from pipeline.demo.synthetic import generate_records as g; print(json.dumps(g(10, 2, 7)))"
    outs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        outs.append(
            subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True
            ).stdout
        )
    assert outs[0] == outs[1]


def test_counts_and_ids(records: list[dict[str, str]]) -> None:
    assert len(records) == 65
    ids = [r[ID_KEY] for r in records]
    assert len(set(ids)) == len(ids)
    assert ids[:60] == [f"DEMO{i:06d}" for i in range(1, 61)]
    assert ids[60:] == [f"DEMOU{i:05d}" for i in range(1, 6)]
    assert generate_records(0, 0) == []
    assert len(generate_records(3, 2, seed=5)) == 5


def test_sections_present_and_non_empty(records: list[dict[str, str]]) -> None:
    for r in records:
        for key in TEXT_SECTIONS:
            assert r[key].strip(), (r[ID_KEY], key)
        assert set(r) - {ID_KEY, MAIN_KEY, OTHER_KEY} == set(TEXT_SECTIONS)


def test_labels_in_label_space(records: list[dict[str, str]]) -> None:
    for r in labelled(records):
        main, others = r[MAIN_KEY], r[OTHER_KEY].split(";")
        assert main in PRINCIPAL
        assert 1 <= len(others) <= 7
        assert len(set(others)) == len(others)
        assert set(others) <= set(OTHER)
        assert main not in others


def test_labels_match_task_file(records: list[dict[str, str]]) -> None:
    path = SHARED_DATA / "label_space.json"
    if not path.exists():
        pytest.fail(f"the real data is missing: {path}")
    space = json.loads(path.read_text(encoding="utf-8"))
    mains = {x["code"] for x in space["main"]}
    others = {x["code"] for x in space["other"]}
    for r in labelled(records):
        assert r[MAIN_KEY] in mains
        assert set(r[OTHER_KEY].split(";")) <= others


def test_principals_balanced(records: list[dict[str, str]]) -> None:
    counts = Counter(r[MAIN_KEY] for r in labelled(records))
    assert set(counts) == set(PRINCIPAL)
    assert min(counts.values()) >= 8


def test_clinically_exclusive_codes_never_together() -> None:
    for r in labelled(generate_records(200, 0, seed=3)):
        codes = [r[MAIN_KEY], *r[OTHER_KEY].split(";")]
        assert sum(c.startswith("I10.") for c in codes) <= 1
        assert not ({"E11.900", "E14.900x001"} <= set(codes))
        assert (
            sum(
                c in {"I50.900x007", "I50.900x008", "I50.900x010", "I50.900x014", "I50.900x015", "I50.900x016"}
                for c in codes
            )
            <= 1
        )
        killip = {"I50.900x014", "I50.900x015", "I50.900x016"} & set(codes)
        assert not killip or r[MAIN_KEY] == "I21.401"
        if r[MAIN_KEY] == "I20.800x007":
            assert "I25.103" not in codes and "Z95.501" not in codes


def test_admission_diagnosis_names_principal(records: list[dict[str, str]]) -> None:
    for r in labelled(records):
        assert re.search(PRINCIPAL_PATTERNS[r[MAIN_KEY]], r["入院诊断"]), (r[MAIN_KEY], r["入院诊断"])


def _first(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m, (pattern, text)
    return float(m.group(1))


def test_measurements_match_principal(records: list[dict[str, str]]) -> None:
    for r in labelled(records):
        main, adm = r[MAIN_KEY], r["入院情况"]
        tni = _first(r"肌钙蛋白I ([\d.]+)ng/mL", adm)
        if main == "I10.x00x032":
            assert _first(r"BP (\d+)/\d+mmHg", adm) >= 180
        if main == "I21.401":
            assert tni > 0.034
        else:
            assert tni < 0.034
        if main == "I50.900x018":
            assert _first(r"BNP (\d+)pg/mL", adm) > 100
        if main == "I20.800x007":
            assert "未见有意义狭窄" in r["诊疗经过"]


def test_unlabelled_have_no_labels(records: list[dict[str, str]]) -> None:
    unlabelled = [r for r in records if r[ID_KEY].startswith("DEMOU")]
    assert len(unlabelled) == 5
    assert all(MAIN_KEY not in r and OTHER_KEY not in r for r in unlabelled)


def test_lengths_plausible(records: list[dict[str, str]]) -> None:
    for r in records:
        assert 600 <= sum(len(r[k]) for k in TEXT_SECTIONS) <= 2000


def test_wordings_cover_the_label_space() -> None:
    from pipeline.demo import cases, synthetic

    assert set(synthetic._DX) == set(PRINCIPAL) | set(OTHER)
    assert set(cases.PRINCIPALS) == set(PRINCIPAL)


def test_data_files_ship_with_the_package() -> None:
    """The phrase and label tables are read at import, so a non-editable install must carry them too."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["pipeline"]
    data = [p.relative_to(REPO / "pipeline").as_posix() for p in (REPO / "pipeline" / "demo").glob("*.json")]
    assert {"demo/labels.json", "demo/phrases.json"} <= set(data)
    assert all(any(fnmatch(d, pattern) for pattern in patterns) for d in data)


def test_fast() -> None:
    start = time.perf_counter()
    generate_records(60, 5, seed=11)
    assert time.perf_counter() - start < 1.0


def test_no_real_record_text_leaks(records: list[dict[str, str]]) -> None:
    path = SHARED_DATA / "ccl25_train_206.json"
    if not path.exists():
        pytest.fail(f"the real data is missing: {path}")
    real = json.loads(path.read_text(encoding="utf-8"))
    blob = "\n".join("\n".join(r.values()) for r in records)
    assert not [r[ID_KEY] for r in real if r[ID_KEY] in blob]
    # No run of 40 characters copied from any real record (shorter runs occur by chance: standard
    # examination phrases and sequences of official diagnosis names).
    width = 40
    windows = {
        t[i : i + width] for r in real for k, t in r.items() if k in TEXT_SECTIONS for i in range(len(t) - width + 1)
    }
    for r in records:
        for k in TEXT_SECTIONS:
            t = r[k]
            hits = [t[i : i + width] for i in range(len(t) - width + 1) if t[i : i + width] in windows]
            assert not hits, (r[ID_KEY], k, hits[:1])


def test_seed_0_is_pinned_byte_for_byte() -> None:
    """The tiny model's tokenizer and the demo database are built from seed 0: any change to the generator's
    tables or assembly that alters its output must be deliberate (update this hash and rebuild both)."""
    out = json.dumps(generate_records(seed=0), ensure_ascii=False, sort_keys=True).encode()
    assert hashlib.sha256(out).hexdigest() == "9699aaad12d7911cb965a45b038bd3a0f66f74a576a2f0c29330fd7e72ea12ce"
