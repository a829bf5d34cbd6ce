"""Record import on the real data: all or nothing, idempotent, updates in place, clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Job, Record
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS
from pipeline.errors import InputError
from pipeline.ingest.importer import import_file
from tests.helpers import row_counts

LIMIT = 2**30


def _records(shared_data: Path, name: str = "ccl25_train_206.json") -> list[dict[str, Any]]:
    return json.loads((shared_data / name).read_text(encoding="utf-8"))


def _write_json(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def test_real_train_and_test_sets_import(engine: Engine, shared_data: Path) -> None:
    train = import_file(engine, shared_data / "ccl25_train_206.json", "train", "test", LIMIT)
    test = import_file(engine, shared_data / "ccl25_testA_200.json", "testA", "test", LIMIT)
    assert (train.inserted, train.labelled, train.unlabelled) == (206, 206, 0)
    assert (test.inserted, test.labelled, test.unlabelled) == (200, 0, 200)
    original = _records(shared_data)[0]
    with read_session(engine) as s:
        rec = s.scalar(select(Record).where(Record.case_id == original[ID_KEY]))
        assert rec is not None
        assert rec.sections == {k: original[k] for k in TEXT_SECTIONS}
        assert rec.principal_code == original[MAIN_KEY]
        assert ";".join(rec.other_codes or []) == original[OTHER_KEY].replace(" ", "")


def test_reimport_changes_nothing_and_a_changed_record_is_updated(
    engine: Engine, shared_data: Path, tmp_path: Path
) -> None:
    path = shared_data / "ccl25_train_206.json"
    import_file(engine, path, "train", "test", LIMIT)
    with read_session(engine) as s:
        before = {r.case_id: (r.id, r.updated_at, r.content_hash) for r in s.scalars(select(Record))}
    again = import_file(engine, path, "train", "test", LIMIT)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 206)
    with read_session(engine) as s:
        assert {r.case_id: (r.id, r.updated_at, r.content_hash) for r in s.scalars(select(Record))} == before

    rows = _records(shared_data)
    rows[3]["主诉"] = rows[3]["主诉"] + "（补充）"
    changed = import_file(engine, _write_json(tmp_path / "changed.json", rows), "train", "test", LIMIT)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 205)
    with read_session(engine) as s:
        rec = s.scalar(select(Record).where(Record.case_id == rows[3][ID_KEY]))
        assert rec is not None and rec.id == before[rows[3][ID_KEY]][0]
        assert rec.sections["主诉"].endswith("（补充）")
        assert len(s.scalars(select(Record.id)).all()) == 206


def test_jsonl_csv_and_xlsx_import_the_same_records(engine: Engine, shared_data: Path, tmp_path: Path) -> None:
    rows = _records(shared_data)[:20]
    keys = [ID_KEY, *TEXT_SECTIONS, MAIN_KEY, OTHER_KEY]
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    with (tmp_path / "r.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    wb = Workbook()
    ws = wb.active
    ws.append(keys)
    for r in rows:
        ws.append([r[k] for k in keys])
    wb.save(tmp_path / "r.xlsx")

    first = import_file(engine, jsonl, "multi", "test", LIMIT)
    assert first.inserted == 20
    for name in ("r.csv", "r.xlsx"):
        again = import_file(engine, tmp_path / name, "multi", "test", LIMIT)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 20), name


def test_awkward_but_valid_input_is_accepted(engine: Engine, shared_data: Path, tmp_path: Path) -> None:
    rows = _records(shared_data)[:3]
    rows[0][OTHER_KEY] = " I10.x00x032 ；E11.900 ; E78.500；"
    rows[1]["诊疗经过"] = rows[1]["诊疗经过"] * (400_000 // len(rows[1]["诊疗经过"]) + 1)  # ~ several hundred KB
    rows[2]["主诉"] = "<script>alert('x')</script> & <b>胸痛</b>"
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(rows, ensure_ascii=False).encode("utf-8"))
    # A section over the default per-record limit (SRADIT_MAX_RECORD_CHARS) imports when the limit allows it.
    summary = import_file(engine, path, "awkward", "test", LIMIT, max_record_chars=1_000_000)
    assert summary.inserted == 3
    with read_session(engine) as s:
        got = {r.case_id: r for r in s.scalars(select(Record))}
    assert got[rows[0][ID_KEY]].other_codes == ["I10.x00x032", "E11.900", "E78.500"]
    assert len(got[rows[1][ID_KEY]].sections["诊疗经过"]) > 400_000
    assert got[rows[2][ID_KEY]].sections["主诉"] == rows[2]["主诉"]


def _bad_cases(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, list[str]]]:
    """name → (file content or a builder, fragments every one of which the error must contain)."""
    rid = rows[1][ID_KEY]

    def with_(i: int, **changes: Any) -> list[dict[str, Any]]:
        out = [dict(r) for r in rows]
        for k, v in changes.items():
            if v is None:
                del out[i][k]
            else:
                out[i][k] = v
        return out

    return {
        "missing section": (with_(1, 现病史=None), [f"record {rid} (row 2)", "section 现病史 is missing"]),
        "empty section": (with_(1, 入院诊断="  "), [f"record {rid} (row 2)", "section 入院诊断 is empty"]),
        "principal not a label": (
            with_(1, 主要诊断编码="E78.500"),
            [f"record {rid}", "主要诊断编码", "'E78.500' is not one of the task's principal codes"],
        ),
        "code unknown": (
            with_(1, 其他诊断编码="E78.500;Z99.999x999"),
            [f"record {rid}", "'Z99.999x999' is not in the ICD dictionary"],
        ),
        "malformed list": (
            with_(1, 其他诊断编码="E78.500;;高脂血症"),
            [f"record {rid}", "malformed code list", "'高脂血症'"],
        ),
        "duplicate id": (with_(4, **{ID_KEY: rid}), [f"record {rid} (row 5)", "repeats row 2"]),
        "missing id": (with_(2, **{ID_KEY: ""}), ["row 3: field 病案标识 is missing"]),
        "half labelled": (with_(1, 其他诊断编码=""), [f"record {rid}", "其他诊断编码 is empty"]),
        # The id grammar (issue 25): printable, no path separator, no leading formula sign, at most 64 characters.
        "escape in id": (
            with_(1, **{ID_KEY: "A1\x1b[31m"}),
            ["row 2: 病案标识 'A1\\x1b[31m' holds the control character U+001B"],
        ),
        "NUL in id": (with_(1, **{ID_KEY: "A1\x00"}), ["row 2: 病案标识", "control character U+0000"]),
        "formula id": (with_(1, **{ID_KEY: "=HYPERLINK(1)"}), ["row 2: 病案标识 '=HYPERLINK(1)' starts with '='"]),
        "path id": (with_(1, **{ID_KEY: "../../etc"}), ["row 2: 病案标识 '../../etc' holds a path separator"]),
        "long id": (with_(1, **{ID_KEY: "9" * 300}), ["row 2: 病案标识", "has 300 characters, over the limit of 64"]),
        # NUL cannot be stored in PostgreSQL (a raw DataError that printed the record's text); refused by name.
        "NUL in a section": (
            with_(1, 主诉="胸痛\x00三天"),
            [f"record {rid} (row 2): section 主诉 holds the control character U+0000"],
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing section",
        "empty section",
        "principal not a label",
        "code unknown",
        "malformed list",
        "duplicate id",
        "missing id",
        "half labelled",
        "escape in id",
        "NUL in id",
        "formula id",
        "path id",
        "long id",
        "NUL in a section",
    ],
)
def test_bad_records_import_nothing(case: str, engine: Engine, shared_data: Path, tmp_path: Path, cli: Any) -> None:
    import_file(engine, shared_data / "ccl25_train_206.json", "train", "test", LIMIT)
    before = row_counts(engine)
    rows = _records(shared_data)[:6]
    content, fragments = _bad_cases(rows)[case]
    path = _write_json(tmp_path / "bad.json", content)
    result = cli("import", str(path), "--dataset", "new", ok=False)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "nothing was imported" in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert row_counts(engine) == before


@pytest.mark.parametrize(
    ("name", "data", "fragments"),
    [
        ("bad.json", '[{"病案标识": "A1",\n  "主诉": oops}]'.encode(), ["invalid JSON at line 2, column 9"]),
        ("bad.jsonl", '{"病案标识": "A1"}\n{"病案标识": \n'.encode(), ["line 2", "invalid JSON"]),
        ("gbk.json", json.dumps([{"主诉": "胸痛"}], ensure_ascii=False).encode("gbk"), ["not UTF-8", "line 1"]),
        ("records.txt", b"hello", ["unknown file type '.txt'"]),
        ("empty.csv", b"", ["empty"]),
        ("notxlsx.xlsx", b"not a zip", ["not a readable xlsx"]),
    ],
)
def test_bad_files_import_nothing(
    name: str, data: bytes, fragments: list[str], engine: Engine, tmp_path: Path, cli: Any
) -> None:
    before = row_counts(engine)
    path = tmp_path / name
    path.write_bytes(data)
    result = cli("import", str(path), "--dataset", "new", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output, result.output
    assert row_counts(engine) == before


def test_a_file_over_the_limit_is_refused_with_a_message(engine: Engine, shared_data: Path) -> None:
    with pytest.raises(InputError, match="larger than the import limit"):
        import_file(engine, shared_data / "ccl25_train_206.json", "train", "test", max_bytes=1000)


def test_a_successful_import_records_its_job_and_audit(engine: Engine, shared_data: Path) -> None:
    import_file(engine, shared_data / "ccl25_testA_200.json", "testA", "tester", LIMIT)
    counts = row_counts(engine)
    assert counts["audit_log"] == 1 and counts["jobs"] == 1
    with read_session(engine) as s:
        job = s.scalar(select(Job))
        assert (
            job is not None
            and job.status == "succeeded"
            and job.result is not None
            and (job.result["inserted"], job.result["updated"], job.result["unchanged"]) == (200, 0, 0)
        )
        # the Jobs page's message column says it in words
        source = shared_data / "ccl25_testA_200.json"
        assert job.result["lines"] == [f"dataset testA: 200 records added, 0 updated, 0 unchanged ({source})"]


def test_a_record_over_the_size_limit_is_refused_by_name_and_row(
    engine: Engine, shared_data: Path, tmp_path: Path, cli: Any
) -> None:
    rows = _records(shared_data)
    rows[4]["现病史"] = "胸" * 200_001  # one section alone over the default limit (200,000 characters)
    path = _write_json(tmp_path / "huge.json", rows)
    before = row_counts(engine)
    result = cli("import", str(path), "--dataset", "train", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"record {rows[4][ID_KEY]} (row 5): the record's sections hold 2" in result.output, result.output
    assert "over the limit of 200,000 (SRADIT_MAX_RECORD_CHARS)" in result.output
    assert "1 problems; nothing was imported" in result.output
    assert row_counts(engine) == before

    # The limit is a setting: raised, the same file imports whole.
    cli.env["SRADIT_MAX_RECORD_CHARS"] = "300000"
    assert "206 records" in cli("import", str(path), "--dataset", "train").output


def test_the_record_size_limit_counts_every_section(engine: Engine, shared_data: Path, tmp_path: Path) -> None:
    rows = _records(shared_data)[:3]
    sizes = [sum(len(r[k]) for k in TEXT_SECTIONS) for r in rows]
    limit = sorted(sizes)[1]  # the largest record is over it, the other two are not
    path = _write_json(tmp_path / "three.json", rows)
    with pytest.raises(InputError) as refused:
        import_file(engine, path, "train", "test", LIMIT, max_record_chars=limit)
    big = sizes.index(max(sizes))
    assert refused.value.problems == [
        f"record {rows[big][ID_KEY]} (row {big + 1}): the record's sections hold {sizes[big]:,} characters, over "
        f"the limit of {limit:,} (SRADIT_MAX_RECORD_CHARS)"
    ]
    assert import_file(engine, path, "train", "test", LIMIT, max_record_chars=max(sizes)).inserted == 3


def test_an_xlsx_id_is_read_as_text_exactly_or_refused(engine: Engine, shared_data: Path, tmp_path: Path) -> None:
    """A 20-digit id in a text cell, or in a numeric cell written exactly, keeps every digit; one Excel stored as a
    double (15 significant digits) has lost digits already and is refused by row, not silently changed."""
    rows = _records(shared_data)[:3]
    header = list(rows[0])
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row, rid in zip(rows, ["12345678901234567890", 12345678901234567891, 3.0], strict=True):
        ws.append([rid if k == ID_KEY else row[k] for k in header])
    wb.save(tmp_path / "ids.xlsx")
    # openpyxl writes a big int as a double: write the second id's cell as the exact integer another tool would.
    import zipfile

    with zipfile.ZipFile(tmp_path / "ids.xlsx") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b"1.234567890123457e+19" in parts[sheet]
    parts[sheet] = parts[sheet].replace(b"1.234567890123457e+19", b"12345678901234567891")
    with zipfile.ZipFile(tmp_path / "ids.xlsx", "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    import_file(engine, tmp_path / "ids.xlsx", "xlsx", "test", LIMIT)
    with read_session(engine) as s:
        ids = set(s.scalars(select(Record.case_id)))
    assert {"12345678901234567890", "12345678901234567891", "3"} <= ids

    ws.cell(row=2, column=header.index(ID_KEY) + 1, value=12345678901234567890)  # stored as a double
    wb.save(tmp_path / "lossy.xlsx")
    with pytest.raises(InputError) as e:
        import_file(engine, tmp_path / "lossy.xlsx", "lossy", "test", LIMIT)
    assert [p.split(", which")[0] for p in e.value.problems] == [
        "row 1: 病案标识 was stored as the number 1.234567890123457e+19",
        "row 2: 病案标识 was stored as the number 1.234567890123457e+19",
    ]
