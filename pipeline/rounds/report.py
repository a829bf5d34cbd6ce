"""A finished round's report: ``report.json`` (the round as stored, typed) and ``report.md`` (what a reader wants
first), in ``<workspace>/rounds/round-N/``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pipeline.rounds.lookup import RoundHandle
from pipeline.settings import Settings


def write_report(settings: Settings, r: RoundHandle) -> Path:
    folder = settings.workspace / "rounds" / f"round-{r.number}"
    folder.mkdir(parents=True, exist_ok=True)
    report = {**asdict(r), "config": r.config.as_dict(), "results": r.results.to_json()}
    (folder / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), "utf-8")
    (folder / "report.md").write_text("\n".join(report_lines(r)) + "\n", encoding="utf-8")
    return folder


def report_lines(r: RoundHandle) -> list[str]:
    res = r.results
    ident, generated, filtering = res.identifying, res.generating, res.filtering
    review, augmented, train = res.in_review, res.augmenting, res.training
    models = res.models()
    measured = train.measured if train and train.measured else "out-of-fold"
    before = f"{ident.score:.2f}" if ident and ident.score is not None else "-"
    after = f"{train.score_after:.2f}" if train and train.score_after is not None else "-"
    lines = [
        f"# Round {r.number} ({r.mode})",
        "",
        f"- dataset: {r.config.dataset} → {augmented.dataset if augmented else '-'}; "
        f"{augmented.added_variants if augmented else 0} variants merged",
        f"- mined ({ident.mining if ident else r.config.mining}, {ident.measured if ident else '-'}) with: "
        f"{', '.join(models['mined']) or '-'}; badcases: {ident.badcases if ident else '-'}",
        f"- variants generated: {generated.generated if generated else '-'}; passing every filter: "
        f"{filtering.passed if filtering else '-'}; selected: {review.selected if review else '-'} "
        f"(approved by {review.approved_by if review else '-'})",
        f"- label filter: {', '.join(filtering.label_models) if filtering else '-'}; policy filter: "
        f"{', '.join(filtering.policy_models) if filtering and filtering.policy_models else '-'} "
        f"({filtering.policy if filtering else 'not run'})",
        f"- trained: {', '.join(models['trained']) or '-'}",
        *_preview_lines(train.sft if train else None),
        *_calibration_lines(train.grpo if train else None),
        f"- fixed after retraining ({measured}): {train.fixed if train else '-'}; still wrong: "
        f"{train.still_wrong if train else '-'}",
        f"- score before ({ident.metric if ident else 'f1'}, {ident.measured if ident else '-'}): {before} → after "
        f"({train.metric if train else 'f1'}, {measured}): {after}",
        "",
        "| stage | seconds |",
        "|---|---|",
    ]
    for stage, seconds in res.seconds().items():
        lines.append(f"| {stage} | {seconds if seconds is not None else '-'} |")
    return lines


def _calibration_lines(grpo: dict[str, Any] | None) -> list[str]:
    """GRPO's dynamic difficulty calibration, when this round ran GRPO here."""
    cal = (grpo or {}).get("calibration")
    if not cal:
        return []
    return [
        f"- GRPO calibration: stable window reached by {cal['stable']} of {cal['models']} models; groups dropped "
        f"{cal['dropped_groups']}, refilled {cal['refilled_groups']}, masked {cal['masked_groups']}"
    ]


def _preview_lines(sft: dict[str, Any] | None) -> list[str]:
    """The reward preview each SFT model got before GRPO started from it."""
    previews = (sft or {}).get("reward_preview") or {}
    return [f"- reward preview of {name} (before GRPO): {p['advice']}" for name, p in previews.items()]
