"""Fine-tuning without launching ranks: tokenisation, PAD init, params, run keys, launch command."""

from __future__ import annotations

import importlib.util
import json
import types
from pathlib import Path

import pytest
import torch

from evolcoder.config import ConfigError, from_dict, load_section
from evolcoder.jsonl import write_jsonl
from evolcoder.templates import alpaca_prompt
from evolcoder.train.adapters import ADAPTER_DIR, AdapterError, add_lora, merge_adapter
from evolcoder.train.batching import PaddingCollator, token_counts
from evolcoder.train.config import ModelConfig, ScratchModelConfig, TrainConfig, TrainRuntime
from evolcoder.train.launch import launch_command, launch_env
from evolcoder.train.model import (ModelLoadError, add_pad_token, build_scratch_model, count_parameters,
                                   load_pretrained, train_tokenizer)
from evolcoder.train.tokenize import IGNORE_INDEX, encode_records
from evolcoder.train.workdir import last_checkpoint, run_key

RECORDS = [
    {"id": "a", "instruction": "Add two numbers.", "input": "", "output": "def add(a, b):\n    return a + b"},
    {"id": "b", "instruction": "Reverse a string.", "input": "s = 'abc'",
     "output": "def rev(s):\n    return s[::-1]"},
]


@pytest.fixture(scope="module")
def tokenizer():
    texts = [alpaca_prompt(r["instruction"], r["input"]) + r["output"] for r in RECORDS] * 20
    return train_tokenizer(texts, vocab_size=400, min_frequency=1)


def test_prompt_tokens_are_masked_and_the_target_is_answer_plus_eos(tokenizer):
    examples, stats = encode_records(RECORDS, tokenizer, max_length=512)
    assert stats.rows == 2 and stats.truncated_rows == stats.fully_masked_rows == 0
    for record, example in zip(RECORDS, examples):
        prompt_ids = tokenizer(alpaca_prompt(record["instruction"], record["input"]),
                               add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(record["output"], add_special_tokens=False)["input_ids"]
        assert example.input_ids == prompt_ids + answer_ids + [tokenizer.eos_token_id]
        assert example.labels == [IGNORE_INDEX] * len(prompt_ids) + answer_ids + [tokenizer.eos_token_id]
        assert tokenizer.decode(answer_ids) == record["output"]


def test_truncation_is_counted_and_rows_with_no_label_left_are_dropped(tokenizer):
    n_prompt = len(tokenizer(alpaca_prompt(RECORDS[0]["instruction"]), add_special_tokens=False)["input_ids"])
    examples, stats = encode_records(RECORDS[:1], tokenizer, max_length=n_prompt + 2)
    assert stats.truncated_rows == 1 and stats.fully_masked_rows == 0
    assert len(examples[0].input_ids) == n_prompt + 2
    assert sum(label != IGNORE_INDEX for label in examples[0].labels) == 2
    examples, stats = encode_records(RECORDS[:1], tokenizer, max_length=n_prompt)
    assert examples == [] and stats.fully_masked_rows == 1 and stats.dropped_ids == ["a"]


def test_pad_token_is_added_with_the_mean_embedding(tokenizer):
    tok = train_tokenizer([alpaca_prompt("x") + "y"] * 5, vocab_size=300, min_frequency=1)
    model = build_scratch_model(ScratchModelConfig(n_layer=1, n_embd=32, n_head=4, n_positions=64), tok, seed=0)
    before = model.get_input_embeddings().weight.detach().clone()
    assert add_pad_token(model, tok)
    weight = model.get_input_embeddings().weight
    assert tok.pad_token == "[PAD]" and tok.pad_token_id == len(before)
    assert weight.shape[0] == len(before) + 1
    assert torch.allclose(weight[-1], before.mean(dim=0), atol=1e-6)
    assert torch.equal(model.get_output_embeddings().weight[-1], weight[-1])
    assert model.config.pad_token_id == tok.pad_token_id
    assert not add_pad_token(model, tok)  # a tokenizer with a PAD keeps its vocabulary


def test_collator_pads_inputs_and_masks_padding_in_labels():
    collator = PaddingCollator(pad_token_id=9)
    batch = collator([{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}, {"input_ids": [4], "labels": [4]}])
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 9, 9]]
    assert batch["labels"].tolist() == [[-100, 2, 3], [4, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert token_counts(batch) == (4, 6)


def test_params_rewritten_by_dvc_exp_run_are_read_as_numbers(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  lr: 2e-05\n  warmup_steps: '30'\n  epochs: 3\n")  # as `dvc exp run -S` writes
    cfg = load_section(params, "train", TrainConfig)
    assert cfg.lr == 2e-5 and isinstance(cfg.lr, float)
    assert cfg.warmup_steps == 30 and cfg.epochs == 3.0


@pytest.mark.parametrize("values, message", [
    ({"lr": -1e-5}, "train.lr: must be positive"),
    ({"lr": "fast"}, "train.lr: expected a number"),
    ({"global_batch_size": 10, "per_device_batch_size": 4}, "train.global_batch_size: 10 is not divisible"),
    ({"global_batch_size": 8, "per_device_batch_size": 4, "num_processes": 3}, "4 x 3 = 12"),
    ({"num_nodes": 2, "global_batch_size": 16}, "train.hostfile"),
    ({"precision": "fp8"}, "train.precision"),
    ({"warmup_steps": -1}, "train.warmup_steps"),
    ({"adapter": "qlora"}, "train.adapter"),
    ({"lora_r": 0}, "train.lora_r: must be positive"),
    ({"lora_dropout": 1.0}, "train.lora_dropout: must be in"),
    ({"lora_target_modules": []}, "train.lora_target_modules: must be auto .* or name at least one module"),
    ({"lora_target_modules": "all"}, "train.lora_target_modules: must be auto"),
])
def test_bad_train_params_are_rejected_naming_the_key(values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        from_dict(TrainConfig, values, prefix="train")


def tiny_model(tokenizer) -> torch.nn.Module:
    model = build_scratch_model(ScratchModelConfig(n_layer=2, n_embd=32, n_head=4, n_positions=128), tokenizer, seed=0)
    add_pad_token(model, tokenizer)
    return model


def test_lora_targets_that_name_no_module_are_refused_listing_the_linear_layers(tokenizer):
    cfg = TrainConfig(adapter="lora", lora_target_modules=["c_attn", "q_proj"])
    with pytest.raises(AdapterError, match="train.lora_target_modules: 'q_proj' names no module of the model; "
                                           "its linear layers are: c_attn, c_fc, c_proj, lm_head"):
        add_lora(tiny_model(tokenizer), cfg)


def test_lora_trains_only_adapters_on_starcoders_attention_and_mlp_projections(tokenizer):
    model = add_lora(tiny_model(tokenizer), TrainConfig(adapter="lora", lora_r=4))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_A." in name or ".lora_B." in name for name in trainable)
    wrapped = {name.split(".lora_")[0].split("h.1.")[-1] for name in trainable if ".h.1." in name}
    assert wrapped == {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"}
    # r x (in + out) per projection: c_attn 32 -> 32 + 2 x 8 (multi-query), c_proj 32 -> 32, c_fc 32 -> 128 and back
    per_layer = 4 * ((32 + 48) + (32 + 32) + (32 + 128) + (128 + 32))
    assert count_parameters(model, trainable_only=True) == 2 * per_layer
    assert count_parameters(model) == count_parameters(tiny_model(tokenizer)) + 2 * per_layer


def test_lora_adapters_start_the_same_whatever_ran_before(tokenizer):
    """Every rank, and a resumed run, must build the same adapters (ZeRO-3 partitions each rank's copy)."""
    adapters = []
    for seed in (1, 2):
        model = tiny_model(tokenizer)
        torch.manual_seed(seed)  # other work drew from the generator before
        lora = add_lora(model, TrainConfig(adapter="lora"))
        adapters.append({name: p for name, p in lora.named_parameters() if "lora_A" in name})
    assert adapters[0].keys() == adapters[1].keys()
    assert all(torch.equal(adapters[0][name], adapters[1][name]) for name in adapters[0])


def save_base_and_adapter(folder: Path) -> tuple[Path, Path, torch.Tensor, torch.Tensor]:
    """A tiny fp32 base in `folder/base` and a trained LoRA adapter in `folder/out/adapter`;
    returns both folders, a prompt's ids and the adapted model's logits for them."""
    base_dir, out = folder / "base", folder / "out"
    tok = train_tokenizer([alpaca_prompt(r["instruction"]) + r["output"] for r in RECORDS] * 20, 400, 1)
    base = build_scratch_model(ScratchModelConfig(n_layer=2, n_embd=32, n_head=4, n_positions=128), tok, seed=0)
    base.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    add_pad_token(base, tok)
    model = add_lora(base, TrainConfig(adapter="lora", lora_r=4))
    with torch.no_grad():  # a trained adapter: lora_B starts at zero, which would merge to the base
        for name, p in model.named_parameters():
            if ".lora_B." in name:
                p.normal_(std=0.5)
    model.save_pretrained(out / ADAPTER_DIR)
    tok.save_pretrained(out / ADAPTER_DIR)
    ids = torch.tensor([tok("def add(a, b):")["input_ids"]])
    with torch.no_grad():
        return base_dir, out, ids, model.eval()(input_ids=ids).logits


def test_merged_adapter_is_a_plain_model_with_the_adapted_outputs(tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base_dir, out, ids, expected = save_base_and_adapter(tmp_path)
    merge_adapter(str(base_dir), None, out, "fp32")
    assert not (out / "adapter_config.json").exists() and (out / ADAPTER_DIR / "adapter_config.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(out)
    assert not isinstance(merged, PeftModel) and merged.config.use_cache
    assert not any("lora" in name for name, _ in merged.named_parameters())
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, expected, atol=1e-4)
    with torch.no_grad():  # and the adapter changed them (the base has no PAD: one logit fewer)
        base_logits = AutoModelForCausalLM.from_pretrained(base_dir)(input_ids=ids).logits
    assert not torch.allclose(base_logits, expected[..., :-1], atol=1e-2)


def test_merge_loads_and_saves_in_the_training_precision(tmp_path, monkeypatch):
    """bf16 training (a GPU run) gives a bf16 checkpoint, as a full fine-tune's ZeRO-3 save does,
    not an fp32 one twice the size; the base is loaded in bf16 too (host memory)."""
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    base_dir, out, ids, expected = save_base_and_adapter(tmp_path)
    loaded = []
    real = AutoModelForCausalLM.from_pretrained
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained",
                        lambda *args, **kwargs: loaded.append(kwargs.get("dtype")) or real(*args, **kwargs))
    merge_adapter(str(base_dir), None, out, "bf16")
    assert loaded == [torch.bfloat16]
    with safe_open(out / "model.safetensors", "pt") as f:
        assert {f.get_tensor(key).dtype for key in f.keys()} == {torch.bfloat16}
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    merged = real(out, dtype=torch.float32)
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, expected, atol=0.1)


def test_model_params_are_checked():
    with pytest.raises(ConfigError, match="model.name_or_path"):
        from_dict(ModelConfig, {"init": "pretrained"}, prefix="model")
    with pytest.raises(ConfigError, match="model.config.n_embd"):
        from_dict(ModelConfig, {"config": {"n_embd": 130, "n_head": 4}}, prefix="model")


def test_accumulation_follows_the_global_batch():
    cfg = TrainConfig(global_batch_size=8, per_device_batch_size=2, num_processes=2)
    assert cfg.gradient_accumulation_steps == 2


def test_default_profile_builds_a_small_starcoder_model(repo_root, tokenizer):
    model_cfg = load_section(repo_root / "params.yaml", "model", ModelConfig)
    train_cfg = load_section(repo_root / "params.yaml", "train", TrainConfig)
    assert model_cfg.init == "scratch"
    assert (repo_root / train_cfg.deepspeed_config).is_file()
    model = build_scratch_model(model_cfg.config, tokenizer, seed=0)
    n_params = sum(p.numel() for p in model.parameters())
    assert model.config.model_type == "gpt_bigcode" and 0.5e6 < n_params < 5e6


def test_pretrained_model_unreachable_says_what_to_do(hub_offline):
    with pytest.raises(ModelLoadError) as e:
        load_pretrained("bigcode/starcoder")
    message = str(e.value)
    assert "model.name_or_path" in message and "'bigcode/starcoder'" in message
    assert "huggingface-cli login" in message and "model.init: scratch" in message


def truncate_weights(folder: Path) -> None:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])


@pytest.mark.parametrize("damage, kwargs, advice", [
    pytest.param(None, {"attn_implementation": "flash_attention_2"},
                 "It was loaded with attn_implementation=flash_attention_2: install a flash-attn built for torch",
                 marks=pytest.mark.skipif(importlib.util.find_spec("flash_attn") is not None,
                                          reason="flash-attn is installed here")),
    (truncate_weights, {}, "Check that it is a complete Hugging Face checkpoint (download it again)"),
])
def test_a_model_that_fails_to_load_for_any_reason_says_what_to_do(tiny_checkpoint, tmp_path, damage, kwargs, advice):
    import shutil

    folder = shutil.copytree(tiny_checkpoint, tmp_path / "model")
    if damage:
        damage(folder)
    with pytest.raises(ModelLoadError) as e:
        load_pretrained(str(folder), **kwargs)
    assert str(e.value).startswith(f"model.name_or_path: cannot load folder '{folder}' (") and advice in str(e.value)


def test_run_key_changes_with_params_data_and_deepspeed_config(tmp_path):
    data, ds = tmp_path / "train.jsonl", tmp_path / "ds.json"
    write_jsonl(data, RECORDS)
    ds.write_text("{}")
    key = run_key({"lr": 1e-3}, data, ds)
    assert run_key({"lr": 1e-3}, data, ds) == key
    assert run_key({"lr": 2e-3}, data, ds) != key
    write_jsonl(data, RECORDS[:1])
    assert run_key({"lr": 1e-3}, data, ds) != key


def test_last_checkpoint_ignores_unfinished_saves(tmp_path):
    for step, finished in ((5, True), (10, True), (15, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if finished:
            (folder / "trainer_state.json").write_text("{}")
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-10"
    assert last_checkpoint(tmp_path / "checkpoint-15") is None


def test_launch_uses_the_deepspeed_launcher_with_cpu_ranks():
    cmd = launch_command(TrainConfig(num_processes=2, per_device_batch_size=4), Path("spec.json"), port=29511)
    joined = " ".join(cmd)
    assert "-m deepspeed.launcher.launch --world_info=" in joined  # one node: the per-node launcher itself
    assert "--master_addr=127.0.0.1 --master_port=29511" in joined
    assert joined.endswith("--module evolcoder.train.worker spec.json")
    multi = launch_command(TrainConfig(num_nodes=2, hostfile="hosts", global_batch_size=16), Path("s"), 1)
    assert multi[multi.index("--hostfile") + 1] == "hosts"
    if not torch.cuda.is_available():  # CPU ranks: one thread and portable kernels, whatever the caller set
        env = launch_env({"OMP_NUM_THREADS": "8", "ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AUTO"})
        assert env["DS_ACCELERATOR"] == "cpu" and env["OMP_NUM_THREADS"] == "1"
        assert (env["ATEN_CPU_CAPABILITY"], env["MKL_CBWR"]) == ("avx2", "AVX2,STRICT")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only refusal")
def test_half_precision_without_a_gpu_is_refused_before_launching(tmp_path):
    from evolcoder.train.runner import RunPaths, run_training

    with pytest.raises(ConfigError, match="train.precision: bf16 needs a GPU"):
        run_training(ModelConfig(), TrainConfig(precision="bf16"), TrainRuntime(),
                     RunPaths(tmp_path / "train.jsonl", tmp_path / "out", tmp_path / "curves"))


def test_a_rank_that_cannot_load_its_model_prints_the_fix_without_a_traceback(tmp_path, capsys, monkeypatch):
    from evolcoder.train import worker

    monkeypatch.setattr(worker, "skip_shm_comm_build", lambda: None)
    monkeypatch.setattr(worker, "configure_cpu_ranks", lambda: False)
    monkeypatch.setattr(worker, "training_arguments", lambda *a: types.SimpleNamespace(world_size=1))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"train": {}, "runtime": {}, "model": str(tmp_path / "no-model"), "data": "unused",
                                "run_dir": str(tmp_path)}))
    assert worker.main([str(spec)]) == 1
    err = capsys.readouterr().err
    assert "train worker: error: model.name_or_path: cannot load" in err and "Traceback" not in err


@pytest.mark.parametrize("architecture", ["gpt_bigcode", "llama"])
def test_scratch_vocab_must_hold_the_byte_alphabet_and_every_special_token(architecture):
    from evolcoder.train import llama, model

    special = {"gpt_bigcode": model.SPECIAL_TOKENS, "llama": llama.SPECIAL_TOKENS}[architecture]
    smallest = 256 + len(special) + 1
    assert ScratchModelConfig(architecture=architecture, vocab_size=smallest).vocab_size == smallest
    with pytest.raises(ConfigError, match=f"model.config.vocab_size: .* {len(special)} special tokens of {architecture}"):
        ScratchModelConfig(architecture=architecture, vocab_size=smallest - 1)

