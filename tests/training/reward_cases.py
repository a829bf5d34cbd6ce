"""Completions with their rewards under the paper's outcome reward and the hierarchical one, computed by hand: read by
tests/training/test_rewards.py (training.rewards) and tests/pipeline/export/test_trainer_configs.py (the verl
export's reward.py)."""

from __future__ import annotations

T = "<think>依据病历逐一判断。</think>"

# (task, completion, gold principal, gold others, paper's reward, hierarchical reward); I20.800x007 shares I20.000's
# category, I21.401 its chapter (circulatory); I48.x02 shares I48.x01's category, E14.900x001 E11.900's chapter.
HIERARCHY_CASES = [
    ("principal", f"{T}<answer>不稳定型心绞痛</answer>", "I20.000", [], 1.0, 1.0),
    ("principal", f"{T}<answer>微血管性心绞痛</answer>", "I20.000", [], 0.1, 0.55),  # 0.1 + 0.9 × 0.5
    ("principal", f"{T}<answer>急性非ST段抬高型心肌梗死</answer>", "I20.000", [], 0.1, 0.325),  # 0.1 + 0.9 × 0.25
    ("principal", f"{T}<answer>微血管性心绞痛；不稳定型心绞痛</answer>", "I20.000", [], 0.1, 0.1),  # hedged: nothing
    ("principal", "<answer>微血管性心绞痛</answer>", "I20.000", [], 0.0, 0.45),  # no think block: no format
    ("other", f"{T}<answer>心房颤动；2型糖尿病</answer>", "I20.000", ["I48.x01", "E11.900"], 1.0, 1.0),
    # P = 0.5 (I48.x02 ~ I48.x01), R = (0.5 + 0) / 2: F1 = 1/3
    ("other", f"{T}<answer>阵发性心房颤动</answer>", "I20.000", ["I48.x01", "E11.900"], 0.1, 0.4),
    # P = R = (1 + 0.25) / 2: F1 = 0.625; the paper's F1 is 0.5
    ("other", f"{T}<answer>心房颤动；糖尿病</answer>", "I20.000", ["I48.x01", "E11.900"], 0.55, 0.6625),
    ("other", f"{T}<answer>肺炎</answer>", "I20.000", ["I48.x01", "E11.900"], 0.1, 0.1),  # another chapter
    ("other", f"{T}<answer>无</answer>", "I20.000", [], 1.0, 1.0),  # nothing to name, nothing named
    # principal 0.5, others 1: 0.1 + 0.9 × (0.25 + 0.5)
    ("multi", f"{T}<answer>主要诊断：微血管性心绞痛\n其他诊断：心房颤动</answer>", "I20.000", ["I48.x01"], 0.55, 0.775),
]
