"""How well a record supports its gold codes, in a coder model's own terms: the mean log-probability per token
of the gold answer's names (the body of the SFT target's answer block) given the record's prompt, per sub-task.

This is the label check "shown the gold": the paper's check asks the SFT coder to predict and compares, which
rejects nearly every variant of a badcase, since a badcase is a record that coder gets wrong. Scoring the gold
answer on a variant against the same score on its original asks instead whether the rewrite kept what made the
gold codes likely — a variant that dropped the evidence, or changed the disease, makes them less likely. It needs
no extra teaching (a yes/no verification prompt would), one forward pass per prompt, and works with any causal LM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.domain.prompts import target_completion, task_messages
from pipeline.domain.records import MAIN_KEY, OTHER_KEY


class FolderScorer:
    """Scores records with the model folders of one coder: {"principal", "other"} (a pair) or {"multi"}."""

    def __init__(self, folders: Mapping[str, str], batch_size: int = 4) -> None:
        self.folders = dict(folders)
        self.batch_size = batch_size
        self._loaded: dict[str, Any] = {}

    def _model(self, folder: str) -> Any:
        if folder not in self._loaded:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype="auto").eval()
            self._loaded[folder] = (tok, model)
        return self._loaded[folder]

    def score(self, records: Sequence[Mapping[str, str]]) -> list[float]:
        """Per record: the mean over its sub-tasks of the gold answer's mean log-probability per token."""
        tasks = ("multi",) if "multi" in self.folders else ("principal", "other")
        per_task = [self._score_task(task, self.folders[task], records) for task in tasks]
        return [sum(values) / len(values) for values in zip(*per_task, strict=True)]

    def _score_task(self, task: str, folder: str, records: Sequence[Mapping[str, str]]) -> list[float]:
        import torch

        tok, model = self._model(folder)
        out: list[float] = []
        for start in range(0, len(records), self.batch_size):
            ids, labels = [], []
            for rec in records[start : start + self.batch_size]:
                others = [c for c in (rec.get(OTHER_KEY) or "").split(";") if c]
                prompt = tok.apply_chat_template(task_messages(task, rec), tokenize=False, add_generation_prompt=True)
                # Only the answer's body (the disease names) is scored: the think/answer tags around it are near
                # certain for any trained coder and would dilute what the record changes.
                answer = target_completion(task, rec[MAIN_KEY], others)
                head, body = answer.split("<answer>", 1)
                body = body.removesuffix("</answer>")
                context = tok(prompt + head + "<answer>", add_special_tokens=False)["input_ids"]
                target = tok(body, add_special_tokens=False)["input_ids"]
                ids.append(context + target)
                labels.append([-100] * len(context) + target)
            width = max(len(x) for x in ids)
            pad = tok.pad_token_id if tok.pad_token_id is not None else 0
            input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids])
            attention = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids])
            target = torch.tensor([x + [-100] * (width - len(x)) for x in labels])
            with torch.no_grad():
                logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
            gold = target[:, 1:]
            logp = torch.log_softmax(logits, dim=-1).gather(-1, gold.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            mask = gold != -100
            out += ((logp * mask).sum(-1) / mask.sum(-1).clamp(min=1)).tolist()
        return out


class MeanScorer:
    """An ensemble's score: the mean of its members' (each a :class:`FolderScorer`)."""

    def __init__(self, members: Sequence[FolderScorer]) -> None:
        self.members = list(members)

    def score(self, records: Sequence[Mapping[str, str]]) -> list[float]:
        per_member = [m.score(records) for m in self.members]
        return [sum(values) / len(values) for values in zip(*per_member, strict=True)]
