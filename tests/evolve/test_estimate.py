"""`evolcoder evolve --estimate`: calls, tokens and dollars per round and in total, with nothing sent."""

from __future__ import annotations

import json
import re

import pytest
from tests.support.data import shared_file
from tests.support.evolve_workdir import PATHS, evol_responder, loopback_llm, make_workdir, run_in_process
from tests.support.llm_server import LLMServer, ServerSettings

from evolcoder.cli import main
from evolcoder.config import read_yaml
from evolcoder.seed.seed import SeedConfig, make_seed
from evolcoder.evolve.config import EvolveConfig
from evolcoder.llm.prompts import evolution_prompt
from evolcoder.evolve.records import load_seed_pool
from evolcoder.evolve.rounds import plan_round
from evolcoder.jsonl import write_jsonl

def table(out: str) -> dict[str, list[str]]:
    """The estimate's rows by their first cell (a round number or `total`)."""
    return {cells[0]: cells[1:] for line in out.splitlines()
            if (cells := line.split()) and re.fullmatch(r"\d+|total", cells[0])}


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


@pytest.fixture(scope="module")
def code_alpaca_seed(tmp_path_factory):
    """The Code Alpaca 2k sample through the seed stage's loader, as `dvc repro seed` writes it."""
    seed = make_seed(SeedConfig(source=str(shared_file("code_alpaca_2k.json")), shuffle_seed=None))
    path = tmp_path_factory.mktemp("seed") / "seed.jsonl"
    write_jsonl(path, seed.records)
    return path


def estimate(capsys, params, seed, ledger) -> str:
    assert main(["evolve", "--estimate", "--params", str(params), "--seed", str(seed), "--ledger", str(ledger)]) == 0
    return capsys.readouterr().out


def test_the_papers_profile_on_code_alpaca_2k_prints_calls_tokens_and_dollars(code_alpaca_seed, tmp_path, capsys,
                                                                             profile_params):
    paper = profile_params("wizardcoder-15b")
    out = estimate(capsys, paper, code_alpaca_seed, tmp_path / "llm_cache")
    assert out.startswith("evolve estimate: 2,017 seeds x 3 rounds, wizardcoder methods, equality check off; "
                          "model gpt-3.5-turbo (llm.provider openai) at $0.0005 / $0.0015 per 1k")
    rows = table(out)
    assert list(rows) == ["1", "2", "3", "total"]
    assert [rows[k][0] for k in rows] == ["4,034", "4,034", "4,034", "12,102"]  # an evolve and an answer call per seed
    # round 1 by hand: the exact evolution prompts at 4 characters a token, then answer prompts
    # (the evolved instructions) and every completion at max_tokens 2048
    pool = load_seed_pool(code_alpaca_seed)
    config = EvolveConfig(rounds=3)
    evolve_chars = sum(len(evolution_prompt("wizardcoder", a.method, a.question)) for a in plan_round(config, pool, 1))
    prompt = evolve_chars / 4 + 2017 * 2048
    completion = 2 * 2017 * 2048
    prompt_max, prompt_exp, completion_max, completion_exp, usd_max, usd_exp = rows["1"][1:]
    assert number(prompt_max) == pytest.approx(prompt, abs=1)
    assert number(completion_max) == completion
    assert number(usd_max) == pytest.approx((prompt * 0.0005 + completion * 0.0015) / 1000, abs=1e-4)
    assert prompt_exp == completion_exp == usd_exp == "-"  # no answers in the ledger to measure yet
    total = sum(number(rows[k][5]) for k in ("1", "2", "3"))
    assert number(rows["total"][5]) == pytest.approx(total, abs=1e-3) and 40 < total < 60
    assert "exp: needs the ledger to hold answers" in out
    assert not (tmp_path / "llm_cache").exists()  # an estimate creates nothing

    params = read_yaml(paper)
    params["llm"]["provider"] = "openai-batch"
    batch = tmp_path / "batch.yaml"
    batch.write_text(json.dumps(params))  # JSON is YAML
    halved = table(estimate(capsys, batch, code_alpaca_seed, tmp_path / "llm_cache"))
    assert number(halved["total"][5]) == pytest.approx(total / 2, abs=1e-3)  # the Batch API's price


def test_expected_lengths_come_from_the_answers_in_the_ledger(tmp_path, monkeypatch, capsys):
    with LLMServer(ServerSettings(), evol_responder) as server:
        work = make_workdir(tmp_path, 8, {"rounds": 1}, loopback_llm(server.url))
        run_in_process(work, monkeypatch)
        capsys.readouterr()
    out = estimate(capsys, work / "params.yaml", work / PATHS.seed, work / PATHS.ledger)
    rows = table(out)
    calls, prompt_max, prompt_exp, completion_max, completion_exp, usd_max, usd_exp = rows["total"]
    assert calls == "16" and number(completion_max) == 16 * 2048
    # the server's answers are a few dozen words: far below max_tokens
    assert 0 < number(completion_exp) < number(completion_max) / 20
    assert 0 < number(usd_exp) < number(usd_max)
    measured = re.search(r"exp: completions as long as the ledger's answers: evolve (\d+) tokens \((\d+) answers\), "
                         r"answer (\d+) tokens \((\d+) answers\)", out)
    assert measured and measured.group(2) == "8"
    assert "characters per token (measured from the ledger)" in out
