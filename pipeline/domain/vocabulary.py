"""The small vocabularies of configuration and models that no database column constrains, each declared once
(those a column stores live in :mod:`db.vocabulary`). Pipeline, training and the app import them from here:
models-file checks, run configurations, round configurations, CLI choices and page pickers offer the same words.
"""

from __future__ import annotations

from db.vocabulary import REGISTERED_MODEL_KINDS, SUBTASKS

#: How a model that reasons answers: one greedy answer, or TCECP's vote of three samples (paper §2.5).
INFERENCE_MODES = ("greedy", "tcecp")
#: How a round finds its badcases: out-of-fold predictions of fold models (§2.1), or the GRPO policy (§2.4).
MINING_MODES = ("kfold", "policy")
#: Where a round's retraining happens: here (its own SFT and GRPO jobs) or elsewhere (models registered for it).
RETRAIN_MODES = ("here", "external")
#: The label filter's check: the paper's "predict and compare", or the gold answer's likelihood (pipeline/augment/
#: filters/label.py).
LABEL_CHECKS = ("predict", "gold")
#: How a learner splits the two sub-tasks (models file ``subtasks``): one model each, or one for both.
LEARNER_LAYOUTS = ("pair", "multi")
#: The ``kind`` of a models-file entry: the built-in CPU coder, a model used as it is, or a learner.
MODEL_FILE_KINDS = ("baseline", "llm", "sft")
#: The KIND column of `sradit model list`: models-file entries by role, then the registered models.
MODEL_LIST_KINDS = ("baseline", "external", "learner", *REGISTERED_MODEL_KINDS)
#: The trainers `sradit train` and the Training page run.
TRAINERS = ("sft", "grpo")
#: The paper's own trainers, run on an export of their format (`sradit train llamafactory|verl --export ID`).
FRAMEWORKS = ("llamafactory", "verl")
#: What runs a model: local weights (transformers, vLLM) or an OpenAI-compatible server.
ENGINES = ("transformers", "vllm", "openai")
#: The engines that load a folder of weights, as a learner's trained models need.
WEIGHT_ENGINES = ("transformers", "vllm")
#: The score reported across the tool: the paper's eq. 6 (other-code F1) or the task's formula (recall).
SCORE_METRICS = ("f1", "recall")
#: What K-fold keeps in one fold: a patient's admissions, or nothing beyond each record.
FOLD_GROUPS = ("patient", "record")
#: What the patient-data gate does with identifiers bound for an external model.
IDENTIFIER_MODES = ("redact", "refuse")
#: The formats `sradit export` writes: a trainer's, the competition's, or every prompt (for models run elsewhere).
EXPORT_FORMATS = ("trl-sft", "trl-grpo", "llamafactory", "verl", "competition", "prompts")
#: The sub-tasks an export writes rows for; both: a principal and an other row per record.
EXPORT_TASKS = ("both", *SUBTASKS)
#: The variants an export takes: each badcase's selected one, or every variant a majority approved.
EXPORT_SELECTIONS = ("best", "approved")
