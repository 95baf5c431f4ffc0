"""Llama-family bases through training: the scratch Llama and its tokenizer, the same prompt ids
in training and generation, PAD, RoPE and LoRA targets; then the train stage for real on a tiny
Llama (one rank from a "pretrained" base, two ranks from scratch), generation and evaluation."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from tests.support.tiny_models import ROPE, save_tiny_llama
from tests.support.train_stage import generate_and_evaluate, loss_curve, make_project, run_stage
from transformers import (AutoConfig, AutoModelForCausalLM, AutoTokenizer, OPTConfig, OPTForCausalLM, PreTrainedModel,
                          PreTrainedTokenizerBase)

from evolcoder.generate.backend import Job
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.hf_backend import TransformersBackend
from evolcoder.templates import alpaca_prompt
from evolcoder.train.adapters import LORA_TARGETS, AdapterError, add_lora
from evolcoder.train.config import ScratchModelConfig, TrainConfig
from evolcoder.train.llama import write_legacy_rope_keys
from evolcoder.train.model import add_pad_token, build_scratch_model, count_parameters, train_tokenizer
from evolcoder.train.tokenize import IGNORE_INDEX, encode_records

RECORD = {"id": "r", "instruction": "Write a function that adds two numbers.", "input": "",
          "output": "def add(a, b):\n    return a + b"}
LLAMA_PROJECTIONS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


@pytest.fixture(scope="module")
def llama_base(tmp_path_factory):
    """A tiny "pretrained" Llama with CodeLlama's RoPE (theta 1e6), its tokenizer without PAD."""
    return save_tiny_llama(tmp_path_factory.mktemp("codellama"), "codellama")


def tiny(architecture: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    texts = [alpaca_prompt(RECORD["instruction"]) + RECORD["output"]] * 20
    tokenizer = train_tokenizer(texts, vocab_size=400, min_frequency=1, architecture=architecture)
    config = ScratchModelConfig(architecture=architecture, n_layer=2, n_embd=32, n_head=4, n_positions=128)
    return build_scratch_model(config, tokenizer, seed=0), tokenizer


def saved_rope(preset: str) -> tuple[float, dict | None]:
    """(rope_theta, rope_scaling) of a checkpoint saved from a base with the `preset`'s RoPE:
    the hub's values, the scaling also naming its type as `rope_type` (transformers 4.x reads both)."""
    theta, scaling = ROPE[preset]["rope_theta"], ROPE[preset]["rope_scaling"]
    return theta, scaling and scaling | {"rope_type": scaling["type"]}


def test_scratch_llama_tokenizer_behaves_like_llamas(tmp_path):
    _, tokenizer = tiny("llama")
    tokenizer.save_pretrained(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)  # as training and generation load it
    assert type(tokenizer).__name__ == "LlamaTokenizer"
    assert [tokenizer.unk_token, tokenizer.bos_token, tokenizer.eos_token] == ["<unk>", "<s>", "</s>"]
    assert [tokenizer.unk_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id] == [0, 1, 2]
    assert tokenizer.pad_token is None
    text = "def f(x):\n    return 'é€🙂'  # unseen characters fall back to bytes"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and tokenizer.eos_token_id not in ids
    assert "<0xF0>" in tokenizer.convert_ids_to_tokens(ids)  # the emoji's first byte
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_scratch_llama_is_sized_by_the_model_config():
    model, tokenizer = tiny("llama")
    config = model.config
    assert type(model).__name__ == "LlamaForCausalLM" and config.vocab_size == len(tokenizer)
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (2, 32, 4)
    assert config.num_key_value_heads == 1 and config.max_position_embeddings == 128  # multi_query: true
    assert config.intermediate_size == 128 and not config.tie_word_embeddings
    assert (config.bos_token_id, config.eos_token_id, config.pad_token_id) == (1, 2, None)


@pytest.mark.parametrize("checkpoint, adds_bos", [("tiny_checkpoint", False), ("llama_base", True)])
def test_training_feeds_the_prompt_ids_generation_sends(request, checkpoint, adds_bos):
    """StarCoder's tokenizer adds no BOS, Llama's adds <s>: training masks exactly the ids that
    generation sends for the same prompt, BOS included where there is one."""
    folder = request.getfixturevalue(checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    (example,), _ = encode_records([RECORD], tokenizer, max_length=512)
    trained = example.input_ids[:example.labels.count(IGNORE_INDEX)]
    backend = TransformersBackend(GenerateConfig(model=str(folder), max_new_tokens=2), GenerateRuntime(device="cpu"))
    sent, generate = [], backend.model.generate
    backend.model.generate = lambda **kwargs: sent.append(kwargs["input_ids"].tolist()) or generate(**kwargs)
    backend.generate([Job("t", alpaca_prompt(RECORD["instruction"]))])
    assert sent == [[trained]]
    assert (trained[0] == tokenizer.bos_token_id) is adds_bos


@pytest.mark.parametrize("architecture", ["gpt_bigcode", "llama"])
def test_lora_auto_adapts_the_attention_and_mlp_projections_of_the_architecture(architecture):
    model, tokenizer = tiny(architecture)
    add_pad_token(model, tokenizer)
    lora = add_lora(model, TrainConfig(adapter="lora", lora_r=4))
    wrapped = {name.split(".lora_A.")[0].rsplit(".", 1)[-1] for name, p in lora.named_parameters()
               if p.requires_grad and ".lora_A." in name}
    assert wrapped == set(LORA_TARGETS[architecture])
    assert set(lora.peft_config["default"].target_modules) == wrapped
    if architecture == "llama":
        assert wrapped == LLAMA_PROJECTIONS


def test_lora_auto_on_an_architecture_it_does_not_know_asks_for_a_list():
    config = OPTConfig(vocab_size=300, hidden_size=32, num_hidden_layers=1, ffn_dim=64, num_attention_heads=4,
                       word_embed_proj_dim=32, max_position_embeddings=64)
    with pytest.raises(AdapterError, match=r"^train.lora_target_modules: auto knows the projections of gpt_bigcode "
                                           r"and llama models, not of model type 'opt'; set it to a list of the modules "
                                           r"to adapt, from its linear layers: fc1, fc2, k_proj, lm_head, out_proj, "
                                           r"q_proj, v_proj$"):
        add_lora(OPTForCausalLM(config), TrainConfig(adapter="lora"))
    lora = add_lora(OPTForCausalLM(config), TrainConfig(adapter="lora", lora_target_modules=["q_proj", "v_proj"]))
    assert count_parameters(lora, trainable_only=True) == 16 * ((32 + 32) + (32 + 32))  # r x (in + out), 1 layer


def test_pad_takes_a_spare_embedding_row_instead_of_shrinking_the_embedding(tmp_path):
    """deepseek-coder's embedding has more rows than its tokenizer has tokens: Llama-X's resize
    would cut it down to the tokenizer; the PAD takes the first spare row, set to the tokens' mean."""
    base = save_tiny_llama(tmp_path, "deepseek")
    model, tokenizer = AutoModelForCausalLM.from_pretrained(base), AutoTokenizer.from_pretrained(base)
    n_tokens, rows = len(tokenizer), model.config.vocab_size
    assert rows > n_tokens
    before = [w.detach().clone() for w in (model.get_input_embeddings().weight, model.get_output_embeddings().weight)]
    assert add_pad_token(model, tokenizer)
    assert tokenizer.pad_token == "[PAD]" and tokenizer.pad_token_id == n_tokens == model.config.pad_token_id
    after = (model.get_input_embeddings().weight, model.get_output_embeddings().weight)
    for old, new in zip(before, after):
        assert new.shape[0] == rows and torch.equal(new[:n_tokens], old[:n_tokens])
        assert torch.allclose(new[n_tokens], old[:n_tokens].mean(dim=0), atol=1e-6)


@pytest.mark.parametrize("rope", ROPE)
def test_saved_config_carries_rope_in_both_formats(rope, tmp_path):
    """Transformers 5 writes `rope_parameters` only; a reader of the 4.x format would run theta
    10,000 without scaling. The checkpoint keeps the hub's keys beside it, and 5 reads it back."""
    base = save_tiny_llama(tmp_path / "base", rope)
    AutoModelForCausalLM.from_pretrained(base).save_pretrained(tmp_path / "saved")
    write_legacy_rope_keys(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved/config.json").read_text())
    assert (saved["rope_theta"], saved["rope_scaling"]) == saved_rope(rope)
    assert AutoConfig.from_pretrained(tmp_path / "saved").rope_parameters == AutoConfig.from_pretrained(base).rope_parameters


def test_rope_of_a_model_without_rope_is_left_alone(tiny_checkpoint, tmp_path):
    folder = shutil.copytree(tiny_checkpoint, tmp_path / "gpt_bigcode")
    before = (folder / "config.json").read_text()
    write_legacy_rope_keys(folder)
    assert (folder / "config.json").read_text() == before


# The train stage for real (DeepSpeed ranks on the CPU)

@pytest.mark.slow
def test_lora_checkpoint_from_a_llama_base_keeps_its_architecture_and_rope_and_has_a_pad(llama_run):
    project, base = llama_run
    out = project / "models/checkpoint"
    config, base_config = (json.loads((folder / "config.json").read_text()) for folder in (out, base))
    assert config["architectures"] == ["LlamaForCausalLM"] and config["model_type"] == "llama"
    for key in ("max_position_embeddings", "vocab_size", "num_key_value_heads"):
        assert config[key] == base_config[key], key  # vocab_size: the PAD took a spare row
    assert (config["rope_theta"], config["rope_scaling"]) == saved_rope("deepseek")
    assert AutoConfig.from_pretrained(out).rope_parameters == AutoConfig.from_pretrained(base).rope_parameters
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.pad_token == "[PAD]" and tokenizer.eos_token == "</s>"
    assert tokenizer.pad_token_id == config["pad_token_id"] != tokenizer.eos_token_id
    assert tokenizer("def")["input_ids"][0] == tokenizer.bos_token_id
    adapter = json.loads((out / "adapter/adapter_config.json").read_text())
    assert set(adapter["target_modules"]) == LLAMA_PROJECTIONS
    metrics = json.loads((project / "metrics/train.json").read_text())
    assert metrics["steps"] == 4 and metrics["padding_efficiency"] == 1.0  # packed rows
    # r x (in + out) per projection and layer: q, o 64 -> 64; k, v 64 -> 32 (2 KV heads); gate, up 64 -> 192, down back
    assert metrics["trainable_params"] == 2 * 4 * (2 * (64 + 64) + 2 * (64 + 32) + 3 * (64 + 192))
    assert metrics["final_loss"] < loss_curve(project)[0][1]


@pytest.mark.slow
def test_lora_checkpoint_from_a_llama_base_generates_and_evaluates(llama_run, tmp_path):
    project, _ = llama_run
    metrics, rows = generate_and_evaluate(project / "models/checkpoint", tmp_path)
    assert metrics["n_tasks"] == 2 and metrics["n_samples"] == 2
    assert all(1 <= row["n_tokens"] <= 8 for row in rows)


@pytest.mark.slow
def test_two_cpu_ranks_train_a_scratch_llama_that_generates(tmp_path):
    model = {"init": "scratch", "config": {"architecture": "llama", "n_layer": 2, "n_embd": 64, "n_head": 4,
                                           "n_positions": 1024, "vocab_size": 400, "tokenizer_min_frequency": 1}}
    project = make_project(tmp_path / "project", model=model, num_processes=2, per_device_batch_size=4,
                           max_steps=4, save_steps=1000)
    metrics = run_stage(project)
    assert metrics["world_size"] == 2 and metrics["steps"] == 4
    assert metrics["final_loss"] < loss_curve(project)[0][1]
    out = project / "models/checkpoint"
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert type(tokenizer).__name__ == "LlamaTokenizer" and tokenizer("x")["input_ids"][0] == tokenizer.bos_token_id
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("</s>", "[PAD]")
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "llama" and (config["rope_theta"], config["rope_scaling"]) == (10000.0, None)
    generated, _ = generate_and_evaluate(out, tmp_path / "eval", n_tasks=1)
    assert generated["n_tasks"] == 1
