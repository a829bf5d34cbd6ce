"""`sradit rewrite --generator llm` end to end on the tiny offline model, then `filter` and `rewrites show`.

The tiny model writes garbage, so every variant must be parsed, retried and recorded as failed cleanly;
the rule generator then fills the same round and the filter chain judges what it wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, read_session
from db.models import Badcase, Job, Record, Variant, VariantVerdict
from pipeline.domain.label_space import PRINCIPAL
from tests.helpers import mine_real_records, verdicts


@pytest.mark.sqlite_only("minutes of LLM generation; the rules and filter steps run on PostgreSQL in the CLI loop test")
def test_llm_rewrites_fail_cleanly_and_rules_then_filter(
    cli: Any, db_url: str, shared_data: Path, tmp_path: Path, tiny_model: Path
) -> None:
    cli("db", "init")
    engine = make_engine(db_url)
    mine_real_records(engine, shared_data)  # round 1 with exactly two badcases

    models = tmp_path / "models.toml"
    models.write_text(
        f'[models.tiny]\nkind = "llm"\nengine = "transformers"\npath = "{tiny_model}"\nrewrite_max_tokens = 16\n',
        encoding="utf-8",
    )
    cli.env["SRADIT_MODELS"] = str(models)
    out = cli("rewrite", "--round", "1", "--n", "2", "--generator", "llm", "--model", "tiny").output
    assert "0 variants generated, 4 failed" in out
    with read_session(engine) as s:
        failed = s.scalars(select(Variant)).all()
        assert len(failed) == 4 and all(v.status == "failed" and v.sections is None for v in failed)
        assert all("no well-formed rewrite after 3 attempts" in (v.error or "") for v in failed)
        assert {v.generator for v in failed} == {"llm"} and {v.model for v in failed} == {"tiny"}

    # Failed slots count toward N: a larger N adds rule-based variants after them.
    cli("rewrite", "--round", "1", "--n", "6")
    assert "variants judged" in cli("filter", "--round", "1").output
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Variant).where(Variant.generator == "rules")) == 8
        judged = s.scalar(select(func.count(func.distinct(VariantVerdict.variant_id)))) or 0
        assert judged == 8  # every generated variant has its verdicts; failed ones have none
        case_id = s.scalar(select(Record.case_id).join(Badcase, Badcase.record_id == Record.id).limit(1))
    shown = cli("rewrites", "show", case_id or "").output
    assert "failed" in shown and "label" in shown and "facts" in shown


# --- predictions made elsewhere feed the label and policy filters (issue 11) ---------------------------------


def _predictions(path: Path, rows: dict[str, str]) -> Path:
    path.write_text(
        json.dumps([{"病案标识": k, "预测结果": v} for k, v in rows.items()], ensure_ascii=False), encoding="utf-8"
    )
    return path


def _wrong_principal(gold: str) -> str:
    return next(code for code in PRINCIPAL if code != gold)


def test_filter_with_predictions_made_elsewhere(
    cli: Any, db_url: str, rewritten: dict[str, tuple[str, list[str]]], tmp_path: Path
) -> None:
    assert len(rewritten) == 6
    gold = {k: f"[{m}|{';'.join(o)}]" for k, (m, o) in rewritten.items()}
    # The label file answers gold for seq 0 and 1; seq 2 gets a wrong principal, or (one of them) an extra code.
    label_fail = {k for k in rewritten if k.endswith("#v2")}
    label_rows = dict(gold)
    for i, k in enumerate(sorted(label_fail)):
        m, o = rewritten[k]
        label_rows[k] = f"[{_wrong_principal(m)}|{';'.join(o)}]" if i == 0 else f"[{m}|{';'.join([*o, 'Z99.999'])}]"
    # The policy file is wrong for seq 1 and seq 2 (whose label verdict already fails).
    policy_fail = {k for k in rewritten if k.endswith(("#v1", "#v2"))}
    policy_rows = {k: (f"[{_wrong_principal(rewritten[k][0])}|]" if k in policy_fail else v) for k, v in gold.items()}
    label_file = _predictions(tmp_path / "sft-r1-label.json", label_rows)
    policy_file = _predictions(tmp_path / "grpo-r1-policy.json", policy_rows)

    out = cli(
        "filter", "--round", "1", "--label-predictions", str(label_file), "--policy-predictions", str(policy_file)
    ).output
    assert "6 variants judged" in out and "label 4," in out and "policy 2" in out and "passed every filter: 2;" in out

    label = verdicts(db_url, "label")
    assert {k for k, (ok, _) in label.items() if not ok} == label_fail and len(label) == 6
    assert all(reason.startswith("sft-r1-label.json") for _, reason in label.values())
    assert any("principal" in label[k][1] for k in label_fail) and any(
        "extra Z99.999" in label[k][1] for k in label_fail
    )
    policy = verdicts(db_url, "policy")
    # The policy judges the label filter's survivors only.
    assert set(policy) == {k for k, (ok, _) in label.items() if ok} and len(policy) == 4
    assert {k for k, (ok, _) in policy.items() if not ok} == policy_fail & set(policy)
    assert all(reason.startswith("grpo-r1-policy.json") for _, reason in policy.values())

    # A variant passes only when every filter passed it: a label rejection is final, whatever the policy says.
    engine = make_engine(db_url)
    with read_session(engine) as s:
        rows = s.execute(
            select(Record.case_id, Variant.seq, Variant.passed, Variant.id)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
        ).all()
        all_verdicts: dict[int, list[bool]] = {}
        for vv in s.scalars(select(VariantVerdict)):
            all_verdicts.setdefault(vv.variant_id, []).append(vv.passed)
        job = s.scalars(select(Job).where(Job.kind == "filter")).one()
        params = job.config["params"]
    engine.dispose()
    for case_id, seq, passed, vid in rows:
        key = f"{case_id}#v{seq}"
        if key in label_fail | policy_fail:
            assert passed is False
        else:
            assert passed is all(all_verdicts[vid])
    assert params["label_predictions"] == str(label_file.resolve()) and params["policy_model"] is None
    json.dumps(params)  # the job's params stay JSON

    shown = cli("rewrites", "show", sorted(rewritten)[0].split("#")[0]).output
    assert "sft-r1-label.json" in shown and "grpo-r1-policy.json" in shown


def test_filter_refuses_short_or_malformed_files_and_writes_nothing(
    cli: Any, db_url: str, rewritten: dict[str, tuple[str, list[str]]], tmp_path: Path
) -> None:
    from tests.helpers import row_counts

    gold = {k: f"[{m}|{';'.join(o)}]" for k, (m, o) in rewritten.items()}
    engine = make_engine(db_url)
    before = row_counts(engine)
    short = _predictions(tmp_path / "short.json", dict(sorted(gold.items())[:4]))
    r = cli("filter", "--round", "1", "--label-predictions", str(short), ok=False)
    assert r.exit_code == 1
    assert "short.json: no prediction for 2 of the 6 variants of round 1" in r.output
    assert all(k in r.output for k in sorted(gold)[4:])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"预测结果": "[I21.401|]"}, *({"病案标识": k, "预测结果": v} for k, v in gold.items())]))
    r = cli("filter", "--round", "1", "--policy-predictions", str(bad), ok=False)
    assert r.exit_code == 1 and "row 1: field 病案标识 is missing" in r.output
    full = _predictions(tmp_path / "full.json", gold)
    r = cli("filter", "--round", "1", "--label-predictions", str(full), "--label-model", "baseline", ok=False)
    assert r.exit_code == 1 and "not both" in r.output
    r = cli("filter", "--round", "1", "--label-predictions", str(full), "--policy-model", "baseline", ok=False)
    assert r.exit_code == 1 and "policy verification needs a model that reasons" in r.output
    r = cli("filter", "--round", "1", "--label-model", "no-such-model", ok=False)
    assert r.exit_code == 1 and "no model named 'no-such-model'" in r.output
    assert row_counts(engine) == before  # no verdict, no job row
    engine.dispose()
