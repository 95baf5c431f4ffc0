"""bench/train_memory.py: the memory arithmetic the training doc shows and the GPU check sizes its
rows by, checked against what transformers builds and what its GPTBigCode keeps for the backward pass."""

from __future__ import annotations


import pytest
import torch
from transformers import GPTBigCodeConfig, GPTBigCodeForCausalLM

from bench.train_memory import (ACTIVATION_BYTES_PER_WIDTH, CHECKPOINT_BYTES_PER_WIDTH, GB,
                          STARCODER_15B, STARCODER_LORA, STARCODER_SETUPS, ModelShape, Setup, estimate, fits,
                          largest_batch, table, usable)
from tests.support.data import REPO_ROOT

H100_80GB, L40S_48GB, L4_24GB = 81559 * 2**20, 46068 * 2**20, 23034 * 2**20  # nvidia-smi's memory.total
TINY = ModelShape(n_layer=3, n_embd=64, n_head=4, vocab_size=500, n_positions=256)


def gptbigcode(shape: ModelShape) -> GPTBigCodeForCausalLM:
    config = GPTBigCodeConfig(vocab_size=shape.vocab_size, n_positions=shape.n_positions, n_embd=shape.n_embd,
                              n_layer=shape.n_layer, n_head=shape.n_head, multi_query=shape.multi_query,
                              embd_pdrop=0.0, attn_pdrop=0.0, resid_pdrop=0.0, bos_token_id=0, eos_token_id=0,
                              attn_implementation="sdpa")
    return GPTBigCodeForCausalLM(config)


def test_starcoder_15b_has_the_parameters_transformers_builds_for_its_config():
    with torch.device("meta"):  # 15.5B parameters, no memory
        model = gptbigcode(STARCODER_15B)
    assert sum(p.numel() for p in model.parameters()) == STARCODER_15B.params()
    assert round(STARCODER_15B.params() / 1e9, 1) == 15.5


def test_lora_parameters_are_what_peft_trains():
    from peft import LoraConfig, get_peft_model

    targets = ["c_attn", "c_proj", "c_fc"]
    model = get_peft_model(gptbigcode(TINY), LoraConfig(r=4, target_modules=targets))
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == TINY.lora_params(4, targets)
    assert round(STARCODER_LORA / 1e6, 1) == 55.2  # r=16 on StarCoder-15B, as the LoRA profile says


def saved_bytes_per_token(shape: ModelShape, checkpointing: bool, tokens: int = 256) -> float:
    """Bytes the forward pass keeps for the backward pass (fp32, no padding), per token."""
    torch.manual_seed(0)
    model = gptbigcode(shape).train()
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    ids = torch.randint(0, shape.vocab_size, (2, tokens // 2))
    kept: dict[int, int] = {}  # storage address -> bytes, so views of one tensor count once

    def keep(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        model(input_ids=ids, labels=ids)
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(size for address, size in kept.items() if address not in weights) / tokens


@pytest.mark.parametrize("checkpointing", [False, True])
def test_the_activation_constants_cover_what_gptbigcode_keeps_per_layer(checkpointing):
    """Per token and layer, in units of the width at 2 bytes a value: what one more layer adds."""
    deeper = ModelShape(**{**TINY.__dict__, "n_layer": TINY.n_layer + 2})
    per_layer = (saved_bytes_per_token(deeper, checkpointing) - saved_bytes_per_token(TINY, checkpointing)) / 2
    in_16bit = per_layer / 4 * 2 / TINY.n_embd
    if checkpointing:
        assert in_16bit == pytest.approx(CHECKPOINT_BYTES_PER_WIDTH)  # the layer's input alone
    else:  # 30 measured; the constant adds dropout masks and the key/value copies a padding mask makes
        assert ACTIVATION_BYTES_PER_WIDTH - 4 <= in_16bit <= ACTIVATION_BYTES_PER_WIDTH


def test_the_loss_keeps_fp32_log_probabilities_of_every_token():
    assert saved_bytes_per_token(TINY, checkpointing=True) >= 4 * TINY.vocab_size


def test_the_issues_figures_for_starcoder_15b():
    e = {label: estimate(STARCODER_15B, setup) for label, setup in STARCODER_SETUPS.items()}
    zero3, offload, no_checkpointing, _, lora, lora_half = e.values()
    assert zero3.saved_activations / GB == pytest.approx(16.1, abs=0.1)  # the issue: saved block inputs 16 GB
    assert zero3.loss / GB == pytest.approx(16.1, abs=0.1)  # the fp32 loss about 16 GB
    assert 8 <= zero3.recompute / GB <= 10  # one recomputed block 8-10 GB
    assert 60 <= zero3.peak / GB <= 70 and fits(STARCODER_15B, STARCODER_SETUPS[next(iter(e))], H100_80GB)
    assert 30 <= offload.peak / GB <= 40 and offload.host_per_node / GB == pytest.approx(279, abs=1)
    assert no_checkpointing.peak > H100_80GB  # without checkpointing it cannot fit
    assert 40 <= lora.peak / GB <= 45  # LoRA with packed 8,192-token rows: more than the 40 GB once said
    assert usable(L40S_48GB) - lora.peak < 0.1 * GB  # at the edge of a 48 GB card: no room for fragmentation
    assert usable(L40S_48GB) - lora_half.peak > 3 * GB  # 4,096-token rows leave some


def test_the_checks_old_fixed_size_does_not_fit_a_24gb_card_and_the_arithmetic_picks_one_that_does():
    bench = ModelShape(n_layer=30, n_embd=1024, n_head=8, vocab_size=49152, n_positions=2048)
    no_checkpointing = Setup(tokens=0, checkpointing=False)
    assert not fits(bench, Setup(tokens=32 * 1024, checkpointing=False), L4_24GB)
    batch = largest_batch(bench, no_checkpointing, 1024, 32, L4_24GB)
    assert batch in (1, 2, 4, 8, 16) and fits(bench, Setup(tokens=batch * 1024, checkpointing=False), L4_24GB)
    assert not fits(bench, Setup(tokens=2 * batch * 1024, checkpointing=False), L4_24GB)
    assert largest_batch(STARCODER_15B, Setup(tokens=0, ranks=8), 2048, 16, L4_24GB) is None


def test_the_training_doc_shows_this_arithmetic():
    doc = (REPO_ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    assert table(STARCODER_15B, STARCODER_SETUPS) in doc
