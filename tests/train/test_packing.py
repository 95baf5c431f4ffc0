"""Padding-free packing: examples of a packed row stay apart, and the loss is the padded batch's,
for GPTBigCode and Llama; FlashAttention only where it can run."""

from __future__ import annotations

import functools
import json
import sys

import pytest
import torch
from tests.support.data import shared_file

from evolcoder.config import ConfigError
from evolcoder.errors import EvolcoderError
from evolcoder.templates import example_texts
from evolcoder.train.batching import PaddingCollator, packing_collator, token_counts
from evolcoder.train.config import PACKING_ATTENTION, ScratchModelConfig, TrainConfig, TrainRuntime, check_attention
from evolcoder.train.model import add_pad_token, build_scratch_model, train_tokenizer
from evolcoder.train.packing import attention_implementation, register_varlen_sdpa
from evolcoder.train.tokenize import IGNORE_INDEX, encode_records

CPU_ATTENTION = ["sdpa_varlen", "sdpa", "eager"]  # sdpa_varlen is what packed training runs on the CPU


@functools.cache
def packing_setup(architecture: str):
    """Six Code Alpaca rows of different lengths, and a tiny model of `architecture` with one
    key/value head for all query heads (StarCoder's multi-query attention)."""
    rows = json.loads(shared_file("code_alpaca_2k.json").read_text())[:200]
    texts = (p + a for p, a in map(example_texts, rows))
    tokenizer = train_tokenizer(texts, vocab_size=600, min_frequency=2, architecture=architecture)
    examples, _ = encode_records(rows[:6], tokenizer, max_length=256)
    config = ScratchModelConfig(architecture=architecture, n_layer=2, n_embd=64, n_head=4, n_positions=256)
    model = build_scratch_model(config, tokenizer, seed=0)
    add_pad_token(model, tokenizer)
    model.config.use_cache = False  # as the Trainer trains: with a KV cache transformers builds no packed mask
    register_varlen_sdpa()
    rows = [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]
    assert len({len(r["input_ids"]) for r in rows}) > 3
    return rows, model, tokenizer


@pytest.fixture(scope="module")
def examples_and_model():
    return packing_setup("gpt_bigcode")


def per_token_losses(model, batch) -> torch.Tensor:
    """Cross-entropy of each position's next-token prediction (0 where the label is masked)."""
    logits = model(**batch).logits[0, :-1]
    labels = batch["labels"][0, 1:]
    return torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX, reduction="none")


@pytest.mark.parametrize("architecture", ["gpt_bigcode", "llama"])
@pytest.mark.parametrize("attn", CPU_ATTENTION)
def test_packed_row_gives_each_example_the_loss_it_has_alone(architecture, attn):
    rows, model, _ = packing_setup(architecture)
    model.set_attn_implementation(attn)
    packed = packing_collator()(rows)
    with torch.no_grad():
        token_losses = per_token_losses(model, packed)
        bounds = packed["cu_seq_lens_q"].tolist()
        for row, start, end in zip(rows, bounds, bounds[1:]):
            assert packed["position_ids"][0, start:end].tolist() == list(range(end - start))
            alone = model(input_ids=torch.tensor([row["input_ids"]]), labels=torch.tensor([row["labels"]])).loss
            counted = packed["labels"][0, start + 1:end] != IGNORE_INDEX
            in_row = token_losses[start:end - 1][counted].mean()
            assert in_row == pytest.approx(alone.item(), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("architecture", ["gpt_bigcode", "llama"])
def test_packed_batch_has_the_padded_batch_loss_and_gradients(architecture):
    rows, model, tokenizer = packing_setup(architecture)
    results = []
    padding = PaddingCollator(pad_token_id=tokenizer.pad_token_id)
    for collator, attn in ((packing_collator(), "sdpa_varlen"), (padding, "sdpa")):
        model.set_attn_implementation(attn)
        model.zero_grad()
        batch = collator(rows)
        loss = model(**batch).loss
        loss.backward()
        results.append((loss.item(), [p.grad.clone() for p in model.parameters()]))
        assert token_counts(batch)[0] == sum(len(r["input_ids"]) for r in rows)
    (packed_loss, packed_grads), (padded_loss, padded_grads) = results
    assert packed_loss == pytest.approx(padded_loss, rel=1e-5)
    for packed_grad, padded_grad in zip(packed_grads, padded_grads):
        assert torch.allclose(packed_grad, padded_grad, rtol=1e-4, atol=1e-6)


def test_gptbigcode_hands_the_boundaries_not_the_positions_to_its_attention_layers(examples_and_model):
    """Why the collator sends cu_seq_lens: a kernel that looks for the examples in position_ids
    (FlashAttention's fallback) never sees them in GPTBigCode."""
    from transformers import AttentionInterface

    rows, model, _ = examples_and_model
    seen = []

    def spy(module, query, key, value, attention_mask, **kwargs):
        seen.append(set(kwargs))
        return AttentionInterface()["sdpa_varlen"](module, query, key, value, attention_mask, **kwargs)

    AttentionInterface.register("spy", spy)
    model.set_attn_implementation("spy")
    with torch.no_grad():
        model(**packing_collator()(rows[:2]))
    assert len(seen) == model.config.n_layer
    assert all("cu_seq_lens_q" in keys and "position_ids" not in keys for keys in seen)


def test_collator_concatenates_restarts_positions_and_masks_each_first_label():
    rows = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8, 9], "labels": [8, 9]}]
    batch = packing_collator()(rows)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1]]
    assert batch["labels"].tolist() == [[-100, 6, 7, -100, 9]]  # 8 is never predicted from example 1's 7
    assert batch["cu_seq_lens_q"].tolist() == [0, 3, 5] and batch["max_length_q"] == 3
    assert "attention_mask" not in batch and token_counts(batch) == (5, 5)


def test_packing_is_refused_with_an_attention_that_mixes_examples():
    with pytest.raises(ConfigError, match=r"train.packing: attention implementation 'paged\|eager' .* cannot keep "
                                          r"packed examples apart; use one of: auto, sdpa_varlen, flash_attention_2"):
        check_attention(TrainConfig(packing=True), TrainRuntime(attn_implementation="paged|eager"))
    with pytest.raises(ConfigError, match="sdpa_varlen .* needs train.packing: true"):
        check_attention(TrainConfig(), TrainRuntime(attn_implementation="sdpa_varlen"))
    for attn in ("auto", *PACKING_ATTENTION):
        check_attention(TrainConfig(packing=True), TrainRuntime(attn_implementation=attn))


@pytest.fixture
def installed_flash_attn(tmp_path, monkeypatch, fake_gpus):
    """A GPU and a `flash_attn` 2.7.4 package that imports, as transformers finds it (metadata,
    version); `extension(source)` writes its CUDA extension module `flash_attn_2_cuda`."""
    from transformers.utils import import_utils

    site = tmp_path / "site"
    (site / "flash_attn").mkdir(parents=True)
    (site / "flash_attn/__init__.py").write_text('__version__ = "2.7.4"\n')
    dist = site / "flash_attn-2.7.4.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: flash-attn\nVersion: 2.7.4\n")
    (dist / "top_level.txt").write_text("flash_attn\n")
    fake_gpus(1)
    monkeypatch.syspath_prepend(str(site))
    caches = (import_utils.is_flash_attn_2_available, import_utils._package_distribution_mapping)
    for cache in caches:
        cache.cache_clear()
    yield lambda source: (site / "flash_attn_2_cuda.py").write_text(source)
    for cache in caches:
        cache.cache_clear()
    for name in ("flash_attn", "flash_attn_2_cuda"):
        monkeypatch.delitem(sys.modules, name, raising=False)


BUILT_FOR_ANOTHER_TORCH = 'raise ImportError("flash_attn_2_cuda.so: undefined symbol: _ZN3c104cuda9SetDeviceEi")\n'


def test_flash_attn_whose_cuda_extension_does_not_load_falls_back_with_a_warning(installed_flash_attn, capsys):
    installed_flash_attn(BUILT_FOR_ANOTHER_TORCH)
    assert attention_implementation(TrainConfig(packing=True), TrainRuntime()) == "sdpa_varlen"
    err = capsys.readouterr().err
    assert err.startswith("train: warning: flash-attn is installed but cannot run here: its CUDA extension "
                          "flash_attn_2_cuda does not load (ImportError: flash_attn_2_cuda.so: undefined symbol")
    assert f"install a flash-attn built for torch {torch.__version__}" in err and "Traceback" not in err
    with pytest.raises(EvolcoderError, match="runtime.train.attn_implementation: flash_attention_2 cannot run here: "
                                             "its CUDA extension flash_attn_2_cuda does not load"):
        attention_implementation(TrainConfig(packing=True), TrainRuntime(attn_implementation="flash_attention_2"))


def test_flash_attn_is_chosen_only_on_a_gpu_it_runs_on(installed_flash_attn, monkeypatch, capsys):
    installed_flash_attn("")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    assert attention_implementation(TrainConfig(packing=True), TrainRuntime()) == "flash_attention_2"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 0))  # V100
    assert attention_implementation(TrainConfig(packing=True), TrainRuntime()) == "sdpa_varlen"
    assert "runs on Ampere and newer GPUs (compute capability 8.0), this one is 7.0" in capsys.readouterr().err
