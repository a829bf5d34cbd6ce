"""A tiny offline Qwen2 causal LM that stands in for a real LLM in tests and demos.

Nothing is downloaded: the tokenizer is a byte-level BPE trained with ``tokenizers`` on the
project's own text (the seeded synthetic EMRs of :mod:`pipeline.demo.synthetic`, the label-space disease
names and a little English and markup), with the ChatML special tokens and a Qwen2-style chat
template; the model is a randomly initialised ``Qwen2ForCausalLM`` (2 layers, hidden size 128,
2 attention heads of 64 dimensions — vLLM's CPU attention rejects a head size of 16 — and a context
of 16k positions by default).  Its output is random text, but every engine (transformers, TRL,
vLLM) loads and runs it like a real Qwen2, in seconds, on a CPU.

The same seed gives the same tokenizer and bit-identical weights.  The folder is written
atomically: built in a temporary folder beside ``out_dir``, then renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from db.vocabulary import PAIR_SUBTASKS
from pipeline.demo.synthetic import generate_records
from pipeline.domain.label_space import OTHER, PRINCIPAL
from pipeline.domain.prompts import task_messages
from pipeline.domain.records import TEXT_SECTIONS, record_text

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (ENDOFTEXT, IM_START, IM_END)
#: The answer form's tags, one token each and decoded as text, as Qwen3 holds ``<think>`` and ``</think>``: split
#: by Qwen2's pre-tokenizer into ``</`` + ``think`` + ``>``, a 2-layer model taught to answer confused ``</think>``
#: with ``</answer>`` on some seeds (``<think>\n</answer>`` for 56 of 60 held-out records).
FORM_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")

#: Qwen2's chat template (system / user / assistant, a default system turn, ``add_generation_prompt``).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# A little English, markup and prompt wording, so the answer format and chat turns tokenize compactly.
_EXTRA_TEXT = (
    "<think></think><answer></answer>",
    "<think>\n思考过程\n</think>\n<answer>\n主要诊断：不稳定型心绞痛\n</answer>",
    "<answer>高血压病3级（极高危）;2型糖尿病;冠状动脉粥样硬化性心脏病</answer>",
    "system\nYou are a helpful assistant.\nuser\nassistant\n",
    "You are an expert in Chinese disease classification. Think first, then answer.",
    "The quick brown fox jumps over the lazy dog. 0123456789 ICD-10 code name: I10.x00x032 I20.000",
    "你是一名中文疾病分类专家。请阅读患者的电子病历，从候选主要诊断中选择一个，从候选其他诊断中选择所有适用的诊断。",
    "先在<think>…</think>中思考，再在<answer>…</answer>中给出答案。",
    "候选主要诊断：候选其他诊断：病历：",
)

_CONFIG = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 64,
    "rope_theta": 1_000_000.0,
    "rms_norm_eps": 1e-6,
    "initializer_range": 0.02,
}


def _corpus() -> Iterator[str]:
    records = generate_records(n_labelled=60, n_unlabelled=0, seed=0)
    for rec in records:
        yield record_text(rec, TEXT_SECTIONS)
    # The prompts' own wording (instructions, candidate lists with definitions) is a third of every prompt: twice,
    # so that BPE's minimum frequency of 2 merges it too (measured: 957 → about 700 tokens a teaching prompt).
    for rec in records[:4]:
        for task in PAIR_SUBTASKS:
            for message in task_messages(task, rec):
                yield message["content"]
                yield message["content"]
    for code, name in {**PRINCIPAL, **OTHER}.items():
        yield f"{code} {name}"
    yield "\n".join(f"{name}" for name in {**PRINCIPAL, **OTHER}.values())
    yield from _EXTRA_TEXT


def _train_tokenizer(vocab_size: int, max_length: int):  # -> PreTrainedTokenizerFast
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tok = Tokenizer(models.BPE())
    # What transformers' Qwen2Tokenizer puts in front of the merges whenever the folder is loaded (config.json says
    # qwen2): NFC, Qwen2's split, then bytes. Merges learnt behind another split (GPT-2's) would partly never apply.
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(_corpus()), trainer=trainer)
    tok.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in FORM_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        unk_token=None,
        bos_token=None,
        chat_template=CHAT_TEMPLATE,
        model_max_length=max_length,
        padding_side="left",
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
    )


def _save_tokenizer(tokenizer, folder: Path) -> None:
    tokenizer.save_pretrained(str(folder))
    # Keep the chat template inside tokenizer_config.json too (transformers 5 writes it to
    # chat_template.jinja), so readers of either place find it.
    cfg_path = folder / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["chat_template"] = CHAT_TEMPLATE
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _build_model(tokenizer, seed: int, max_position_embeddings: int, num_key_value_heads: int):  # -> Qwen2ForCausalLM
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    eos_id = tokenizer.convert_tokens_to_ids(IM_END)
    pad_id = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        max_position_embeddings=max_position_embeddings,
        max_window_layers=_CONFIG["num_hidden_layers"],
        use_sliding_window=False,
        tie_word_embeddings=True,
        bos_token_id=pad_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        **{**_CONFIG, "num_key_value_heads": num_key_value_heads},
    )
    config.dtype = "float32"
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG state
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config).to(torch.float32)
    model.eval()
    model.generation_config = GenerationConfig(
        bos_token_id=pad_id,
        eos_token_id=[eos_id, pad_id],
        pad_token_id=pad_id,
    )
    return model


def _make_readable(folder: Path) -> None:
    """mkdtemp makes a 0700 folder (and some writers 0600 files): give them the usual umask modes."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o666 & ~umask)


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()
        os.replace(tmp, out_dir)
        return
    if not (out_dir / "config.json").is_file():
        raise FileExistsError(f"{out_dir} exists and is not a model folder; refusing to replace it")
    old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
    old.rmdir()
    os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def build_tiny_model(
    out_dir: str | Path,
    *,
    seed: int = 0,
    vocab_size: int = 6000,
    max_position_embeddings: int = 16384,
    num_key_value_heads: int = 1,
) -> Path:
    """Build the tiny offline Qwen2 (tokenizer, config, float32 safetensors weights) into ``out_dir``.

    ``vocab_size`` is the BPE trainer's target; the model's vocabulary is the tokenizer's actual size
    (never larger, so every id the model can emit decodes).  An existing model folder at ``out_dir``
    is replaced; any other non-empty folder there is refused.  Returns ``out_dir``.

    ``num_key_value_heads`` (1 or 2, of 2 query heads) is the one shape knob: the model that
    :mod:`training.tiny_answers` teaches uses 2, so that some heads can read the whole record while others
    keep track of the answer form; the default random model keeps 1.
    """
    if max_position_embeddings < 2048:
        raise ValueError("max_position_embeddings must be at least 2048")
    if num_key_value_heads not in (1, 2):
        raise ValueError("num_key_value_heads must be 1 or 2 (the model has 2 attention heads)")
    if vocab_size < 300:
        raise ValueError("vocab_size must be at least 300 (256 bytes + special tokens + merges)")
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        tokenizer = _train_tokenizer(vocab_size, max_position_embeddings)
        model = _build_model(tokenizer, seed, max_position_embeddings, num_key_value_heads)
        model.save_pretrained(str(tmp), safe_serialization=True)
        _save_tokenizer(tokenizer, tmp)
        _make_readable(tmp)
        _move_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
