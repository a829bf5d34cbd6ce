"""Project side of the trainer-consumer check (.ci/consumers/check.sh): in the project's environment, build the
demo database, the tiny offline model, the llamafactory and verl exports of round 1, and the expected rewards
(training.rewards) of a table of completions, and the command lines of `sradit train llamafactory|verl` on those
exports, into the folder given."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.services.demo import build_demo  # noqa: E402
from app.services.framework_training import FrameworkTrainParams, plan  # noqa: E402
from db.engine import make_engine  # noqa: E402
from pipeline.domain.label_space import OTHER, PRINCIPAL  # noqa: E402
from pipeline.export.datasets import ExportConfig, export  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from training.rewards import task_reward  # noqa: E402
from training.tiny_model import build_tiny_model  # noqa: E402


def completions() -> list[dict[str, object]]:
    (p, pn), (_p2, pn2) = list(PRINCIPAL.items())[:2]
    (o1, n1), (o2, n2), (_o3, n3) = list(OTHER.items())[:3]

    def wrap(answer: str) -> str:
        return f"<think>依据病历</think><answer>{answer}</answer>"

    rows = [
        ("principal", wrap(pn), p, [o1]),  # well-formed and correct
        ("principal", wrap(pn2), p, [o1]),  # well-formed and wrong
        ("principal", pn, p, [o1]),  # malformed
        ("other", wrap(f"{n1}；{n2}"), p, [o1, o2]),
        ("other", wrap(n1), p, [o1, o2]),  # a partial other-code set
        ("other", wrap(f"{n1}、{n3}"), p, [o1, o2]),
        ("other", "no think, no answer", p, [o1]),  # malformed
        ("multi", wrap(f"主要诊断：{pn}\n其他诊断：{n1}"), p, [o1, o2]),
    ]
    return [
        {
            "data_source": f"sradit/{task}",
            "solution_str": text,
            "ground_truth": f"[{gold}|{';'.join(others)}]",
            "expected": task_reward([text], task=[task], principal=[gold], others=[others])[0],
        }
        for task, text, gold, others in rows
    ]


def main(out: Path) -> None:
    url = f"sqlite:///{out / 'demo.db'}"
    engine = make_engine(url)
    build_demo(engine, Settings(db_url=url, data_dir=out / "var"), force=False)
    made = {fmt: export(engine, ExportConfig(1, fmt, out / "exports"), "ci") for fmt in ("llamafactory", "verl")}
    info = {
        "tiny_model": str(build_tiny_model(out / "tiny")),
        "llamafactory": str(made["llamafactory"].path),
        "llamafactory_rows": made["llamafactory"].row_counts["train"],
        "verl": str(made["verl"].path),
        "verl_rows": made["verl"].row_counts["train"],
        "rewards": completions(),
    }
    # The command lines `sradit train llamafactory|verl --export ID` runs (on a node of the cluster, say).
    info["commands"] = {
        fmt: plan(engine, out / "models", FrameworkTrainParams(fmt, made[fmt].export_id, info["tiny_model"], fmt)).argv
        for fmt in ("llamafactory", "verl")
    }
    (out / "made.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"exports: llamafactory {info['llamafactory_rows']} rows, verl {info['verl_rows']} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
