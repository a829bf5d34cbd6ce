"""Helpers for benchmarks: where the real data is, and figures with their spread."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def spread(values: list[float], unit: str = "", fmt: str = "{:.2f}") -> str:
    """median [min–max] over n runs."""
    med = statistics.median(values)
    return (
        f"{fmt.format(med)}{unit} median [{fmt.format(min(values))}–{fmt.format(max(values))}] over {len(values)} runs"
    )
