"""The patient-data gate on every path that reaches an external model, against a real HTTP server.

The server is a real OpenAI-compatible ``/v1/chat/completions`` endpoint (``http.server`` in a thread on
127.0.0.1) that records every request body; it stands in for a model outside the hospital, which cannot run here.
Records are real ones from ../shared/data with fake identifiers written into them (a 身份证号 with a valid check
digit, a mobile number, a name, an address, a 住院号 and a date of birth). Rewrite, the CoT teacher and predict
run against it through the models file, as users run them: nothing identifying may appear in any body; in redact
mode the replies' placeholders come back as the originals; in refuse mode the error names the record, the field
and the kind, nothing is sent and nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from app.services.distill import teacher_generator, teacher_spec
from app.services.mining import predict_dataset
from app.services.rewrite import build_filters, variant_source
from db.engine import read_session
from db.models import Prediction, ReasoningTrace, Record, Variant
from pipeline.augment.filter_chain import candidates, filter_round
from pipeline.augment.rewriting import RewriteConfig, generate_round
from pipeline.distill.traces import generate_traces
from pipeline.ingest.importer import import_rows
from pipeline.mining.kfold import MiningConfig, mine
from pipeline.privacy.gate import IdentifierRefused
from pipeline.rounds.lookup import round_id
from pipeline.settings import Settings
from tests.helpers import Oracle, chat_reply, row_counts, serving
from tests.privacy_corpus import CORPUS, leaked

#: Fake identifiers, each written into a different field of one of the first three records.
RESIDENT_ID = "370102196405120027"  # check digit valid (GB 11643)
PHONE = "13912345678"
NAME = "张伟"
ADDRESS = "山东省济南市历下区经十路17号"
INPATIENT_NO = "00123456"
BIRTH = "1964年5月12日"
IDENTIFIERS = (RESIDENT_ID, PHONE, NAME, ADDRESS, INPATIENT_NO, BIRTH)
PLACEHOLDER = re.compile(r"〔[^〕]{1,8}〕")


def _with_identifiers(row: dict[str, Any], k: int) -> dict[str, Any]:
    row = dict(row)
    if k == 0:
        row["现病史"] = f"患者{NAME}，男，60岁，联系电话{PHONE}。" + row["现病史"]
        row["个人史"] = f"出生日期：{BIRTH}，身份证{RESIDENT_ID}。" + row["个人史"]
    elif k == 1:
        row["既往史"] = row["既往史"] + f"现住址：{ADDRESS}。"
        row["入院情况"] = f"住院号：{INPATIENT_NO}。" + row["入院情况"]
    elif k == 2:
        row["出院医嘱"] = row["出院医嘱"] + f"如有不适请联系{NAME}（家属）或拨打电话{PHONE}。"
    return row


@pytest.fixture
def rows(shared_data: Path) -> list[dict[str, Any]]:
    real = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))[:12]
    # The stand-in coder below gets a principal code wrong by answering I50.900x018: the three records given
    # identifiers (first in the list) must have another one, to become badcases.
    picked = [r for r in real if r["主要诊断编码"] != "I50.900x018"][:3]
    rest = [r for r in real if r not in picked][:7]
    return [_with_identifiers(r, k) for k, r in enumerate(picked + rest)]


class Recorder(BaseHTTPRequestHandler):
    """Answers like a model and keeps every request body. A rewrite prompt gets the record back (placeholders
    and all), a teacher prompt a reasoning that reaches the gold, a coding prompt an answer; each reply quotes
    the placeholders of its prompt, so restoring them can be checked."""

    bodies: list[dict[str, Any]] = []

    def log_message(self, *_args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.bodies.append(body)
        user = body["messages"][-1]["content"]
        held = "、".join(dict.fromkeys(PLACEHOLDER.findall(user)))
        if "【主诉】" in user:
            text = "<think>改写</think>" + user.split("\n\n", 1)[1]
        elif "核定的主要诊断为" in user:
            gold = re.search(r"核定的主要诊断为：(.+?)[；。]", user)
            name = gold.group(1) if gold else ""
            text = f"患者（{held}）的症状、体征与检查结果均支持以下判断。\n综合以上，主要诊断为{name}。"
        else:
            text = f"<think>病历中的{held}与诊断无关。</think><answer>不稳定型心绞痛</answer>"
        chat_reply(self, [text] * body.get("n", 1))


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.bodies = []
    with serving(Recorder) as url:
        yield url


def _settings(tmp_path: Path, db_url: str, url: str, mode: str | None, external: bool = True) -> Settings:
    models = tmp_path / "models.toml"
    entry = f'[models.ext]\nkind = "llm"\nengine = "openai"\nurl = "{url}"\nserved_name = "remote"\n'
    entry += "external = true\n" if external else ""
    entry += f'identifiers = "{mode}"\n' if mode else ""
    models.write_text(entry, encoding="utf-8")
    return Settings(db_url=db_url, models=models, data_dir=tmp_path / "var", workers=1)


def _sent() -> str:
    """Everything the server was sent, as text (decoded: the client escapes non-ASCII in JSON)."""
    return "\n".join(m["content"] for body in Recorder.bodies for m in body["messages"])


def _leaked() -> list[str]:
    sent = _sent()
    return [i for i in IDENTIFIERS if i in sent]


def _mined(engine: Engine, rows: list[dict[str, Any]]) -> None:
    import_rows(engine, rows, "train", "t", source="test")
    # The three records with identifiers are the round's badcases (predicted wrong by a stand-in coder).
    wrong = {r["病案标识"] for r in rows[:3]}
    mine(engine, lambda _fold: Oracle(wrong, set(), []), MiningConfig(folds=2), "t")


def test_without_the_gate_the_identifiers_reach_the_server(
    tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]
) -> None:
    """The control: the same predict run to a model not marked external sends them all (so the checks below
    would see a leak)."""
    import_rows(engine, rows, "train", "t", source="test")
    settings = _settings(tmp_path, db_url, server, None, external=False)
    predict_dataset(engine, settings, "ext", "train", tmp_path / "out.json", "t")
    assert _leaked() == list(IDENTIFIERS)


def test_rewrite_redacts_and_restores(
    tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]
) -> None:
    _mined(engine, rows)
    settings = _settings(tmp_path, db_url, server, "redact")
    cfg = RewriteConfig(round_no=1, n=2, generator="llm", model="ext")
    report = generate_round(engine, cfg, variant_source(settings, cfg), "t")
    assert report.generated == 6 and Recorder.bodies
    assert _leaked() == []
    assert "〔身份证号1〕" in _sent() and "〔住址1〕" in _sent() and "〔病案号1〕" in _sent()
    with read_session(engine) as s:
        texts = [json.dumps(v.sections, ensure_ascii=False) for v in s.scalars(select(Variant))]
    # The variants hold the patient's own text again, not the placeholders the model saw.
    assert not any(PLACEHOLDER.search(t) for t in texts)
    assert all(any(i in t for t in texts) for i in IDENTIFIERS)


def test_rewrite_refused_names_record_field_and_kind_and_sends_and_writes_nothing(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    server: str,
    rows: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _mined(engine, rows)
    monkeypatch.setenv("SRADIT_EXTERNAL_IDENTIFIERS", "refuse")
    settings = _settings(tmp_path, db_url, server, None)
    before = row_counts(engine)
    cfg = RewriteConfig(round_no=1, n=2, generator="llm", model="ext")
    with pytest.raises(IdentifierRefused) as refused:
        generate_round(engine, cfg, variant_source(settings, cfg), "t")
    message = str(refused.value)
    with read_session(engine) as s:
        first = s.scalar(select(Record.case_id).where(Record.case_id == rows[0]["病案标识"]))
    assert f"病案标识 {first}, field 现病史, identifier: name (姓名)" in message
    assert "SRADIT_EXTERNAL_IDENTIFIERS=refuse" in message and NAME not in message
    assert Recorder.bodies == []
    assert row_counts(engine) == before


def test_teacher_redacts_and_restores(
    tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]
) -> None:
    import_rows(engine, rows, "train", "t", source="test")
    settings = _settings(tmp_path, db_url, server, "redact")
    teacher = teacher_generator(teacher_spec(settings, "ext"))
    report = generate_traces(engine, teacher, "ext", "train", ["principal"], batch_size=4)
    assert report.generated == 10 and len(Recorder.bodies) == 10
    assert _leaked() == []
    with read_session(engine) as s:
        traces = dict(s.execute(select(Record.case_id, ReasoningTrace.text).join(Record)).all())
    first = traces[rows[0]["病案标识"]]
    assert NAME in first and PHONE in first and RESIDENT_ID in first and not PLACEHOLDER.search(first)


def test_teacher_refused_before_the_first_batch(
    tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]
) -> None:
    # Records without identifiers come first: batch-by-batch sending would have sent and stored them.
    import_rows(engine, rows[3:] + rows[:3], "train", "t", source="test")
    settings = _settings(tmp_path, db_url, server, "refuse")
    before = row_counts(engine)
    teacher = teacher_generator(teacher_spec(settings, "ext"))
    with pytest.raises(IdentifierRefused, match=r"field 现病史, identifier: name") as refused:
        generate_traces(engine, teacher, "ext", "train", ["principal", "other"], batch_size=2)
    assert f"病案标识 {rows[0]['病案标识']}" in str(refused.value)
    assert 'identifiers = "refuse" in [models.ext]' in str(refused.value)
    assert Recorder.bodies == [] and row_counts(engine) == before


def test_predict_redacts_and_restores(
    tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]
) -> None:
    import_rows(engine, rows, "train", "t", source="test")
    settings = _settings(tmp_path, db_url, server, "redact")
    _run, n, _report = predict_dataset(engine, settings, "ext", "train", tmp_path / "out.json", "t")
    assert n == 10 and len(Recorder.bodies) == 20  # the two sub-task prompts per record
    assert _leaked() == []
    with read_session(engine) as s:
        raw = {c: r or "" for c, r in s.execute(select(Record.case_id, Prediction.raw_output).join(Record)).all()}
    assert NAME in raw[rows[2]["病案标识"]] and PHONE in raw[rows[2]["病案标识"]]
    assert not any(PLACEHOLDER.search(r) for r in raw.values())


def test_predict_refused_writes_no_run_and_no_file(
    tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]
) -> None:
    import_rows(engine, rows, "train", "t", source="test")
    settings = _settings(tmp_path, db_url, server, "refuse")
    before = row_counts(engine)
    with pytest.raises(IdentifierRefused, match=rf"病案标识 {rows[0]['病案标识']}, field 现病史, identifier: name"):
        predict_dataset(engine, settings, "ext", "train", tmp_path / "out.json", "t")
    assert Recorder.bodies == [] and row_counts(engine) == before
    assert not (tmp_path / "out.json").exists()


def _with_variants(tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]) -> None:
    """Round 1 mined from ``rows``, with a variant of each badcase written by the model without the gate (they still
    hold the identifiers); the server's record cleared."""
    _mined(engine, rows)
    local = _settings(tmp_path, db_url, server, None, external=False)
    cfg = RewriteConfig(round_no=1, n=1, generator="llm", model="ext")
    generate_round(engine, cfg, variant_source(local, cfg), "t")
    Recorder.bodies = []


def test_label_filter_with_an_external_model_sends_no_identifier(
    tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]
) -> None:
    """A filter that uses a model: label consistency of the round's variants, judged by the external model."""
    _with_variants(tmp_path, db_url, engine, server, rows)
    settings = _settings(tmp_path, db_url, server, "redact")
    filters = build_filters(engine, settings, 1, label_model="ext", inference="greedy")
    filter_round(engine, 1, filters, "t")
    assert Recorder.bodies and _leaked() == []
    assert "〔姓名1〕" in _sent() and "〔电话1〕" in _sent()  # the variants carried them; they went out replaced


def test_the_command_line_names_the_record_and_exits_nonzero(
    cli: Any, tmp_path: Path, db_url: str, engine: Engine, server: str, rows: list[dict[str, Any]]
) -> None:
    import_rows(engine, rows, "train", "t", source="test")
    cli.env["SRADIT_MODELS"] = str(_settings(tmp_path, db_url, server, None).models)
    cli.env["SRADIT_EXTERNAL_IDENTIFIERS"] = "refuse"
    result = cli("predict", "--model", "ext", "--dataset", "train", "--out", str(tmp_path / "out.json"), ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"病案标识 {rows[0]['病案标识']}, field 现病史, identifier: name (姓名)" in result.output
    assert Recorder.bodies == [] and not (tmp_path / "out.json").exists()


#: Every identifier of the corpus (tests/privacy_corpus.py), written into the records below.
CORPUS_IDS = [i for _text, ids in CORPUS for i in ids]


@pytest.fixture
def corpus_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ten records, each form of the corpus appended to one of their fields in turn (a line of its own)."""
    out = [dict(r) for r in rows]
    fields = ["现病史", "既往史", "个人史", "婚姻史", "入院情况", "出院医嘱"]
    for i, (text, _ids) in enumerate(CORPUS):
        row, field = out[i % len(out)], fields[(i // len(out)) % len(fields)]
        row[field] = f"{row.get(field) or ''}\n{text}"
    return out


def test_no_form_of_the_corpus_reaches_the_server_when_predicting_or_teaching(
    tmp_path: Path, db_url: str, engine: Engine, server: str, corpus_rows: list[dict[str, Any]]
) -> None:
    import_rows(engine, corpus_rows, "train", "t", source="test")
    settings = _settings(tmp_path, db_url, server, "redact")
    predict_dataset(engine, settings, "ext", "train", tmp_path / "out.json", "t")
    teacher = teacher_generator(teacher_spec(settings, "ext"))
    generate_traces(engine, teacher, "ext", "train", ["principal"], batch_size=4)
    assert len(Recorder.bodies) >= 30 and leaked(CORPUS_IDS, _sent()) == []  # 20 predict, 10+ teacher (retries)


def test_the_corpus_is_what_reaches_the_server_without_the_gate(
    tmp_path: Path, db_url: str, engine: Engine, server: str, corpus_rows: list[dict[str, Any]]
) -> None:
    """The control: without the gate every form arrives, so the check above can fail."""
    import_rows(engine, corpus_rows, "train", "t", source="test")
    settings = _settings(tmp_path, db_url, server, None, external=False)
    predict_dataset(engine, settings, "ext", "train", tmp_path / "out.json", "t")
    assert leaked(CORPUS_IDS, _sent()) == CORPUS_IDS


def test_no_form_of_the_corpus_reaches_the_server_when_rewriting_and_filtering(
    tmp_path: Path, db_url: str, engine: Engine, server: str, corpus_rows: list[dict[str, Any]]
) -> None:
    _mined(engine, corpus_rows)
    settings = _settings(tmp_path, db_url, server, "redact")
    cfg = RewriteConfig(round_no=1, n=1, generator="llm", model="ext")
    generate_round(engine, cfg, variant_source(settings, cfg), "t")
    filter_round(engine, 1, build_filters(engine, settings, 1, label_model="ext", inference="greedy"), "t")
    assert Recorder.bodies and leaked(CORPUS_IDS, _sent()) == []


def test_no_form_of_the_corpus_reaches_the_server_from_the_policy_filter(
    tmp_path: Path, db_url: str, engine: Engine, server: str, corpus_rows: list[dict[str, Any]]
) -> None:
    """The policy filter (TCECP votes of an external model) on every variant of the round — in the chain it judges
    only what every other filter passed, which a stand-in server's answers cannot promise."""
    _with_variants(tmp_path, db_url, engine, server, corpus_rows)
    settings = _settings(tmp_path, db_url, server, "redact")
    policy = next(f for f in build_filters(engine, settings, 1, "ext") if f.name == "policy")
    batch = [c for group in candidates(engine, round_id(engine, 1)).values() for c in group]
    assert batch and len(policy.judge(batch)) == len(batch)
    assert Recorder.bodies and leaked(CORPUS_IDS, _sent()) == []


def test_in_refuse_mode_the_corpus_sends_nothing(
    tmp_path: Path, db_url: str, engine: Engine, server: str, corpus_rows: list[dict[str, Any]]
) -> None:
    import_rows(engine, corpus_rows, "train", "t", source="test")
    settings = _settings(tmp_path, db_url, server, "refuse")
    with pytest.raises(IdentifierRefused):
        predict_dataset(engine, settings, "ext", "train", tmp_path / "out.json", "t")
    with pytest.raises(IdentifierRefused):
        generate_traces(engine, teacher_generator(teacher_spec(settings, "ext")), "ext", "train", ["principal"], 4)
    assert Recorder.bodies == []


def test_in_refuse_mode_rewriting_and_both_filters_send_nothing(
    tmp_path: Path, db_url: str, engine: Engine, server: str, corpus_rows: list[dict[str, Any]]
) -> None:
    _mined(engine, corpus_rows)
    cfg = RewriteConfig(round_no=1, n=1, generator="llm", model="ext")
    settings = _settings(tmp_path, db_url, server, "refuse")
    with pytest.raises(IdentifierRefused):
        generate_round(engine, cfg, variant_source(settings, cfg), "t")
    assert Recorder.bodies == []
    local = _settings(tmp_path, db_url, server, None, external=False)  # (each call writes the models file anew)
    generate_round(engine, cfg, variant_source(local, cfg), "t")  # variants made without the gate
    settings = _settings(tmp_path, db_url, server, "refuse")
    Recorder.bodies = []
    batch = [c for group in candidates(engine, round_id(engine, 1)).values() for c in group]
    label, policy = build_filters(engine, settings, 1, "ext", label_model="ext")[:2]
    for chosen in (label, policy):
        with pytest.raises(IdentifierRefused):
            chosen.judge(batch)
    assert Recorder.bodies == []
