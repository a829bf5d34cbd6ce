"""`sradit export --format prompts`, and the round trip it serves: prompts out, predictions made elsewhere back in
through `sradit filter --label-predictions`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import Record
from tests.helpers import verdicts


def test_prompts_out_predictions_back(
    cli: Any,
    db_url: str,
    rewritten: dict[str, tuple[str, list[str]]],
    tmp_path: Path,
) -> None:
    out = cli("export", "--round", "1", "--format", "prompts", "--out", str(tmp_path / "exports")).output
    folder = tmp_path / "exports" / "round1-prompts-v1"
    assert f"written to {folder}" in out and "records 412, variants 12" in out and "sha256 " in out
    rows = [json.loads(line) for line in (folder / "variants.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["id"] for r in rows} == set(rewritten) and {r["task"] for r in rows} == {"principal", "other"}
    assert "sradit filter --round 1 --label-predictions" in (folder / "README.txt").read_text(encoding="utf-8")

    # A team predicts every id of variants.jsonl elsewhere (here: the gold codes) and brings the file back.
    answers = {r["id"]: rewritten[r["id"]] for r in rows}
    preds = tmp_path / "external.jsonl"
    preds.write_text(
        "".join(
            json.dumps({"病案标识": rid, "预测结果": f"[{m}|{';'.join(o)}]"}, ensure_ascii=False) + "\n"
            for rid, (m, o) in answers.items()
        ),
        encoding="utf-8",
    )
    assert "label 6" in cli("filter", "--round", "1", "--label-predictions", str(preds)).output
    label = verdicts(db_url, "label")
    assert set(label) == set(rewritten)
    assert all(ok and reason == "external.jsonl predicts the gold codes" for ok, reason in label.values())

    # The README's way back for the originals, run as written: out-of-fold predictions mine a new round.
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    command = next(line.split()[1:] for line in readme.splitlines() if line.strip().startswith("sradit kfold"))
    originals = [json.loads(line)["id"] for line in (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    engine = make_engine(db_url)
    with read_session(engine) as s:
        gold = dict(s.execute(select(Record.case_id, Record.principal_code).where(Record.case_id.in_(originals))).all())
    engine.dispose()
    oof = tmp_path / "OOF.json"
    rows_back = [{"病案标识": rid, "预测结果": f"[{main}|]"} for rid, main in sorted(gold.items())]
    oof.write_text(json.dumps(rows_back, ensure_ascii=False), encoding="utf-8")
    mined = cli(*[str(oof) if arg == "OOF.json" else arg for arg in command]).output
    assert "round 2" in mined, mined


def test_prompts_export_refuses_options_that_do_not_apply(
    cli: Any,
    rewritten: dict[str, tuple[str, list[str]]],
    tmp_path: Path,
) -> None:
    r = cli("export", "--round", "1", "--format", "prompts", "--out", str(tmp_path), "--fold", "0", ok=False)
    assert r.exit_code == 1 and "do not apply to --format prompts" in r.output
    r = cli("export", "--round", "7", "--format", "prompts", "--out", str(tmp_path), ok=False)
    assert r.exit_code == 1 and "no round 7" in r.output
    assert not list(tmp_path.glob("round*"))


def test_the_readme_loop_on_real_records_exports_variants_or_says_what_to_do(
    cli: Any, shared_data: Path, tmp_path: Path
) -> None:
    cli("db", "init")
    cli("import", str(shared_data / "ccl25_train_206.json"), "--dataset", "train")
    cli("kfold")
    cli("rewrite", "--round", "1", "--n", "2")
    cli("filter", "--round", "1")
    refused = cli("export", "--round", "1", "--format", "trl-sft", "--out", str(tmp_path / "ex"), ok=False)
    assert refused.exit_code == 2 and refused.stdout.strip() == "variants 0"
    assert "sradit round start --non-interactive" in refused.stderr and not (tmp_path / "ex").exists()

    cli("round", "start", "--non-interactive")  # the filter chain chooses; the round retrains the baseline
    done = cli("export", "--round", "1", "--format", "trl-sft", "--out", str(tmp_path / "ex")).stdout
    n = int(next(line for line in done.splitlines() if line.startswith("variants ")).split()[1])
    assert n > 0

    case_id = next(line.split("\t")[1] for line in cli("badcases", "list", "--round", "1").stdout.splitlines()[1:])
    shown = cli("rewrites", "show", case_id, "--text").stdout.splitlines()
    assert shown[0] == "original" and any(line.startswith("  主诉：") for line in shown[:14])
    assert any("(changed)" in line and "[-" in line and "{+" in line for line in shown)
    assert sum(line.strip().startswith("edit: ") for line in shown) >= 2  # every edit, not the first four
