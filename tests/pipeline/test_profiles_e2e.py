"""WizardCoder's profiles run end to end on the CPU: `dvc exp run -S profile=<name>` in a copied,
committed repository, with a tiny local checkpoint in place of the base model, and overrides that
only turn what cannot run here (the network, GPUs, an OpenAI key) into its CPU stand-in or keep
the run short. Everything else is the profile's own: its prompt, tabs, recipe and report row.

Both profiles run in one copy (the second reuses the first's seed, evolve and verify outputs), the
Llama one (WizardCoder-33B-V1.1, deepseek-coder's RoPE) and a StarCoder-family one
(WizardCoder-1B, a tiny GPTBigCode)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from transformers import AutoConfig, AutoTokenizer

from evolcoder.cli import main
from evolcoder.jsonl import read_jsonl
from evolcoder.profile.compose import compose, hydra_settings, overlays
from tests.support.data import REPO_ROOT
from tests.support.repo_copy import commit_all, copy_repo, dvc, edit_params
from tests.support.small_pipeline import without_humaneval_fetch, write_first_humaneval_tasks
from tests.support.tiny_models import ROPE, save_tiny_llama

N_TASKS = 2  # HumanEval tasks generated and scored per profile
# What every profile run here overrides, and why:
CPU_STAND_INS = [
    "~fetch.code_alpaca_20k",  # Code Alpaca is downloaded from GitHub (no network here) ...
    "seed.source=evolcoder/seed/builtin_seeds.jsonl",  # ... so the built-in seeds are evolved in its place
    "llm.provider=dry-run",  # gpt-3.5-turbo needs an OpenAI key: the offline rewrite rules evolve instead
    "dataset.allow_dry_run=true",  # the profile drops dry-run rows (a wiring mistake in a paid run): here they are the data
    "~fetch.humanevalplus",  # EvalPlus's release is a download ...
    "~fetch.mbppplus",  # ... and so is MBPP+ (each profile's other fetches are dropped in PROFILES)
    "benchmarks=[humaneval]",  # ... so HumanEval alone: its first N_TASKS tasks, the user's own file (no param limits the tasks)
    "train.num_processes=1",  # one CPU rank (DS_ACCELERATOR=cpu) instead of 8 GPUs
    "train.precision=fp32",  # fp16 needs a GPU
    # ZeRO-3 without the offload to the CPU (which is where everything is here): the offload's CPU
    # Adam op is JIT-built on its first use, about 4 minutes on 2 busy cores (tests/train/test_run.py)
    "train.deepspeed_config=configs/deepspeed/zero3.json",
    "train.max_steps=1",  # one optimizer step instead of 3 epochs ...
    "train.per_device_batch_size=8",  # ... of 8 rows: the profile's 512 rows a step are 64 accumulated
    "train.global_batch_size=8",  # micro-batches on one rank, 90 s of 2 CPU cores
    "generate.max_new_tokens=16",  # a random tiny model seldom writes EOS: 1,536-2,048 tokens a task would take minutes
]
# profile: (its table row, its prompt style, the base's architecture, and the profile's own overrides)
PROFILES = {
    "wizardcoder-33b-v1.1": ("WizardCoder-33B-V1.1", "eval-scripts", "llama", [
        "generate.backend=transformers",  # vLLM at tensor parallel 4 needs 4 GPUs: the transformers backend on the CPU
        "runtime.generate.gpus_per_shard=1",  # ... on the one device there is (4 would be refused: no GPU visible)
    ]),
    "wizardcoder-1b": ("WizardCoder-1B-V1.0", "alpaca", "gpt_bigcode", [
        "~fetch.mbpp",  # MBPP is read from the Hugging Face hub
        "generate.dtype=auto",  # float16 is for its GPUs; auto is fp32 on the CPU
        "runtime.generate.device=cpu",  # cuda: no GPU here
        "runtime.generate.num_shards=1",  # 8 processes, one per GPU: one process on the CPU's 2 cores
    ]),
}


def overridden_key(override: str) -> str:
    """The dotted key an override sets or deletes (`~key`, `key=value`)."""
    return override.removeprefix("~").split("=")[0]


def without(params: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """`params` with each dotted key removed (wherever present)."""
    for key in keys:
        *parents, last = key.split(".")
        section = params
        for parent in parents:
            section = section.get(parent, {})
        section.pop(last, None)
    return params


def read_params(text: str) -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load(text)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A committed copy of the repository whose default params score the user's own first
    HumanEval tasks (data/benchmarks/humaneval.jsonl, `dvc add`ed) instead of fetching all 164."""
    dest = copy_repo(tmp_path_factory.mktemp("profiles_e2e") / "repo")
    write_first_humaneval_tasks(dest, N_TASKS)
    edit_params(dest, without_humaneval_fetch)
    dvc(dest, "add", "data/benchmarks/humaneval.jsonl")
    commit_all(dest, "the first HumanEval tasks as our own file")
    return dest


@pytest.fixture(scope="module")
def bases(tmp_path_factory, tiny_checkpoint) -> dict[str, Path]:
    """The local stand-ins for each architecture's base model (outside the repository)."""
    return {"llama": save_tiny_llama(tmp_path_factory.mktemp("deepseek-coder-33b-base"), "deepseek"),
            "gpt_bigcode": tiny_checkpoint}


def run_profile(repo: Path, name: str, base: Path) -> list[str]:
    """`dvc exp run -S profile=NAME -S model.name_or_path=BASE` with the overrides; returns the
    overrides after the profile (the keys they name are all that may differ from the profile)."""
    overrides = [f"model.name_or_path={base}", *CPU_STAND_INS, *PROFILES[name][3]]
    dvc(repo, "exp", "run", *(arg for override in [f"profile={name}", *overrides] for arg in ("-S", override)),
        timeout=900)
    return overrides


@pytest.mark.slow
@pytest.mark.parametrize("name", PROFILES)
def test_a_profile_runs_end_to_end_on_the_cpu_with_a_tiny_base(repo, bases, name):
    table_row, prompt_style, architecture, _ = PROFILES[name]
    base = bases[architecture]
    overrides = run_profile(repo, name, base)

    written = read_params((repo / "params.yaml").read_text(encoding="utf-8"))  # what DVC composed and ran
    assert written["overlays"]["profile"] == written["report"]["profile"] == name
    assert written["model"]["name_or_path"] == str(base)
    assert (written["report"]["table_row"], written["generate"]["prompt"]) == (table_row, prompt_style)
    assert (written["generate"]["tabs"], written["generate"]["stop"]) == (True, [])
    train = written["train"]
    assert (train["lr"], train["max_length"], train["gradient_checkpointing"]) == (2e-5, 2048, True)
    assert (written["evolve"]["rounds"], written["dataset"]["rounds"]) == (3, [0, 1, 2, 3])
    keys = [overridden_key(override) for override in overrides]
    profile = read_params(compose(repo, [f"profile={name}"]))
    assert without(written, keys) == without(profile, keys)  # every value the overrides do not name is the profile's

    checkpoint = repo / "models/checkpoint"
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["model_type"] == architecture
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    assert tokenizer.pad_token is not None and tokenizer.pad_token_id not in (None, tokenizer.eos_token_id)
    if architecture == "llama":  # deepseek-coder's RoPE, in the checkpoint as the base had it; the BOS kept
        assert (config["rope_theta"], config["rope_scaling"]["factor"]) == (ROPE["deepseek"]["rope_theta"], 4.0)
        assert AutoConfig.from_pretrained(checkpoint).rope_parameters == AutoConfig.from_pretrained(base).rope_parameters
        assert tokenizer("def")["input_ids"][0] == tokenizer.bos_token_id
    assert json.loads((repo / "metrics/train.json").read_text())["steps"] == 1

    generations = read_jsonl(repo / "data/generations/humaneval.jsonl")
    assert [sample["task_id"] for sample in generations] == [f"HumanEval/{i}" for i in range(N_TASKS)]
    blank_lines = "\n" * (3 if prompt_style == "eval-scripts" else 2)
    assert all(f"request.{blank_lines}### Instruction" in sample["prompt"] and "\t" in sample["prompt"] for sample in generations)
    assert json.loads((repo / "metrics/humaneval.json").read_text())["n_tasks"] == N_TASKS
    assert f"{table_row} **← this profile's row**" in (repo / "metrics/report.md").read_text()


@pytest.mark.parametrize("name", [o.name for o in overlays(hydra_settings(REPO_ROOT), "profile") if o.name != "default"])
def test_evolcoder_profile_prints_each_row_of_the_table(name, monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)
    assert main(["profile", name]) == 0
    printed = capsys.readouterr().out
    assert printed == compose(REPO_ROOT, [f"profile={name}"])
    params = read_params(printed)
    assert params["overlays"]["profile"] == name and params["report"]["table_row"]
