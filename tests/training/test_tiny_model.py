"""The tiny offline Qwen2: loads with the Auto classes from its folder, chats, fits 2k tokens, is seeded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Required dependencies: a missing one fails the suite (no skips).
import safetensors.torch as safetensors_torch  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

from pipeline.demo.synthetic import generate_records  # noqa: E402
from pipeline.domain.prompts import sft_conversation  # noqa: E402
from pipeline.domain.records import MAIN_KEY, record_text  # noqa: E402
from training.tiny_model import CHAT_TEMPLATE, FORM_TOKENS, build_tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer(tiny: Path):
    return transformers.AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)


@pytest.fixture(scope="module")
def model(tiny: Path):
    return transformers.AutoModelForCausalLM.from_pretrained(str(tiny), local_files_only=True).eval()


def test_folder_holds_a_qwen2_with_64_dim_heads(tiny: Path, tokenizer) -> None:
    names = {p.name for p in tiny.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"} <= names
    assert "tokenizer_config.json" in names
    cfg = json.loads((tiny / "config.json").read_text())
    assert cfg["model_type"] == "qwen2"
    assert cfg["head_dim"] == 64
    assert cfg["hidden_size"] // cfg["num_attention_heads"] == 64
    assert cfg["num_hidden_layers"] == 2
    assert cfg["max_position_embeddings"] >= 8192
    assert cfg["tie_word_embeddings"] is True
    assert cfg["vocab_size"] == len(tokenizer)
    tok_cfg = json.loads((tiny / "tokenizer_config.json").read_text())
    assert tok_cfg["chat_template"] == CHAT_TEMPLATE
    gen = json.loads((tiny / "generation_config.json").read_text())
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in gen["eos_token_id"]
    assert gen["pad_token_id"] == tokenizer.convert_tokens_to_ids("<|endoftext|>")
    # no temporary folders left beside it
    assert [p.name for p in tiny.parent.iterdir()] == ["tiny"]


def test_tokenizer_special_tokens_and_chat_template(tokenizer) -> None:
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    for special in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        ids = tokenizer.encode(special, add_special_tokens=False)
        assert len(ids) == 1, special
    messages = [{"role": "system", "content": "你是医生。"}, {"role": "user", "content": "主诉：胸痛3天。"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|im_start|>system\n你是医生。<|im_end|>\n<|im_start|>user\n主诉：胸痛3天。<|im_end|>\n<|im_start|>assistant\n"
    )
    plain = tokenizer.apply_chat_template(messages[1:], tokenize=False, add_generation_prompt=False)
    assert plain.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    assert plain.endswith("<|im_end|>\n") and "<|im_start|>assistant" not in plain
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    assert tokenizer.decode(ids) == text


def test_chinese_clinical_text_round_trips_compactly(tokenizer) -> None:
    record = generate_records(n_labelled=1, n_unlabelled=1, seed=123)[-1]
    text = record_text(record) + "\n<think>患者胸痛</think><answer>不稳定型心绞痛|2型糖尿病</answer> ICD-10 𠮷😀"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    # a byte-level BPE trained on such text: far fewer tokens than UTF-8 bytes
    assert len(ids) < len(text.encode("utf-8")) / 3


def test_the_folder_loads_with_the_tokenizer_it_was_trained_as(tiny: Path, tokenizer) -> None:
    """transformers loads a qwen2 folder through Qwen2Tokenizer, which puts its own normaliser and split in front of
    the merges: the trained tokenizer must be that one, or merges learnt behind another split never apply."""
    from tokenizers import Tokenizer

    record = generate_records(n_labelled=1, n_unlabelled=0, seed=7)[0]
    messages = sft_conversation("principal", record, record[MAIN_KEY], [], None)
    text = tokenizer.apply_chat_template(messages, tokenize=False) + " 2026年12月 ｶﾀｶﾅ e\u0301 36.7℃"
    trained = Tokenizer.from_file(str(tiny / "tokenizer.json"))
    assert tokenizer.encode(text, add_special_tokens=False) == trained.encode(text, add_special_tokens=False).ids
    # compact on the prompts the tests send (the prompt wording is in the corpus): about 550 tokens, not 950
    assert len(tokenizer.encode(text, add_special_tokens=False)) < 700
    # the answer form's tags: one token each, and text when decoded (not dropped as special tokens)
    for tag in FORM_TOKENS:
        ids = tokenizer.encode(tag, add_special_tokens=False)
        assert len(ids) == 1 and tokenizer.decode(ids, skip_special_tokens=True) == tag, tag


def test_2048_token_input_fits_and_generate_returns_tokens(tokenizer, model) -> None:
    ids = torch.randint(3, len(tokenizer), (1, 2048), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert logits.shape == (1, 2048, len(tokenizer))
    assert torch.isfinite(logits).all()

    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "主诉：反复胸闷2年，加重3天。"}], tokenize=False, add_generation_prompt=True
    )
    enc = tokenizer(prompt, return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=8, do_sample=False)
    n_new = out.shape[1] - enc["input_ids"].shape[1]
    assert 1 <= n_new <= 8
    assert isinstance(tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True), str)


def test_same_seed_same_weights_and_atomic_replace(tiny: Path, tmp_path: Path) -> None:
    again = build_tiny_model(tmp_path / "again", seed=0)
    other = build_tiny_model(tmp_path / "other", seed=1)
    a = safetensors_torch.load_file(str(tiny / "model.safetensors"))
    b = safetensors_torch.load_file(str(again / "model.safetensors"))
    c = safetensors_torch.load_file(str(other / "model.safetensors"))
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    assert all(t.dtype == torch.float32 for t in a.values())
    assert (tiny / "tokenizer.json").read_bytes() == (again / "tokenizer.json").read_bytes()

    # rebuilding over an existing model folder replaces it; a foreign folder is refused
    assert build_tiny_model(tmp_path / "other", seed=0) == (tmp_path / "other").resolve()
    rebuilt = safetensors_torch.load_file(str(tmp_path / "other" / "model.safetensors"))
    assert all(torch.equal(a[k], rebuilt[k]) for k in a)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        build_tiny_model(foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "foreign", "other"]
