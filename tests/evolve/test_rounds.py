"""Rounds chain, eliminated items' parents stay in the pool, failures are recorded."""

from __future__ import annotations

from collections import Counter

import pytest

from evolcoder.evolve import eliminate
from evolcoder.evolve.config import EvolveConfig
from evolcoder.llm.prompts import parse_equality_prompt, parse_evolution_prompt
from evolcoder.errors import EvolcoderError
from evolcoder.evolve.records import PoolItem, load_seed_pool
from evolcoder.evolve.rounds import Evolver
from evolcoder.llm import ChatRequest, ChatResult, FatalError, Ledger, LLMClient, LLMConfig, LLMRuntime
from evolcoder.llm.dry_run import DryRunProvider

SEEDS = {
    "good": "Return the largest of a list of integers.",
    "leaky": "LEAK: reverse a string.",
    "broken": "FAIL: count the vowels of a word.",
    "apologetic": "SORRY: sort a list of words by length.",
}


class ScriptedProvider:
    """The dry run, except where a seed's marker asks for a leak, a failure or an apology."""

    name = "scripted"

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()  # purpose -> calls sent
        self.dry = DryRunProvider()

    async def complete(self, request: ChatRequest) -> ChatResult:
        prompt = request.messages[-1][1]
        evolution = parse_evolution_prompt(prompt)
        purpose = "evolve" if evolution else "equality" if parse_equality_prompt(prompt) else "answer"
        self.sent[purpose] += 1
        if "FAIL" in prompt:
            raise FatalError("HTTP 400: injected bad request", kind="http_400")
        if evolution and "LEAK" in evolution.question and request.sample == 0:
            return _result(request, f"#Rewritten Prompt#:\n{evolution.question} Twice.")
        if purpose == "answer" and "SORRY" in prompt:
            return _result(request, "I'm sorry, I cannot do that.")
        return await self.dry.complete(request)


def _result(request: ChatRequest, text: str) -> ChatResult:
    return ChatResult(key=request.key(), text=text, finish_reason="stop", provider="scripted")


def pool() -> list[PoolItem]:
    return [PoolItem(id=k, root_id=k, instruction=v, input="", output=f"```python\n# {k}\n```", born=0)
            for k, v in SEEDS.items()]


def run_rounds(tmp_path, provider=None, **config):
    provider = provider or ScriptedProvider()
    llm = LLMConfig(provider="dry-run")
    with Ledger(tmp_path / "ledger") as ledger:
        client = LLMClient(llm, LLMRuntime(max_retries=0), ledger, provider=provider)
        # one seed of four fails or is eliminated on purpose: keep such rounds (the policy has its own tests)
        evolver = Evolver(EvolveConfig(**{"on_failure": "keep", **config}), llm, client, {k: f"# {k}" for k in SEEDS})
        return evolver.run(pool()), provider, client


def by_root(records):
    return {r["root_id"]: r for r in records}


def test_rounds_chain_and_parents_stay(tmp_path):
    rounds, _, _ = run_rounds(tmp_path, rounds=3, weights={"constraints": 1.0, "complexity": 0.0,
                                                           "erroneous_code": 0.0, "reasoning_steps": 0.0,
                                                           "specific_requirement": 0.0})
    r1, r2, r3 = (by_root(r.records) for r in rounds)
    assert r1["good"]["eliminated"] is None and r1["good"]["parent_id"] == "good"
    assert r2["good"]["parent_id"] == r1["good"]["id"]  # round 2 evolves round 1's survivor
    assert r3["good"]["parent_id"] == r2["good"]["id"]
    assert r2["good"]["instruction"].startswith(r1["good"]["instruction"])
    assert r1["leaky"]["eliminated"] == eliminate.COPIED
    # the eliminated item's parent is evolved again in round 2, as a new call (sample 1)
    assert r2["leaky"]["parent_id"] == "leaky" and r2["leaky"]["eliminated"] is None
    assert r2["leaky"]["llm"]["keys"]["evolve"] != r1["leaky"]["llm"]["keys"]["evolve"]
    assert r3["leaky"]["parent_id"] == r2["leaky"]["id"]
    assert [len(r.next_pool) for r in rounds] == [4, 4, 4]


def test_every_attempt_is_recorded_with_why(tmp_path):
    rounds, provider, client = run_rounds(tmp_path, rounds=1)
    records = by_root(rounds[0].records)
    assert set(records) == set(SEEDS)
    assert records["broken"]["eliminated"] == eliminate.API_ERROR
    assert "evolve call" in records["broken"]["error"] and "HTTP 400" in records["broken"]["error"]
    assert records["apologetic"]["eliminated"] == eliminate.SORRY
    assert records["apologetic"]["output"] == "I'm sorry, I cannot do that."
    assert records["good"]["error"] is None and records["good"]["output"].startswith("Here is")
    assert set(records["good"]["llm"]["keys"]) == {"evolve", "answer"}
    assert records["leaky"]["llm"]["keys"].keys() == {"evolve"}  # eliminated before answering
    assert provider.sent == {"evolve": 4, "answer": 2}
    assert client.usage.failed == 1
    # the failed item's parent is what the next round evolves
    assert rounds[0].next_pool[2] == pool()[2]


def test_equality_check_eliminates_no_gain(tmp_path):
    class SameAgain(ScriptedProvider):
        async def complete(self, request):
            pair = parse_equality_prompt(request.messages[-1][1])
            if pair and "largest" in pair[0]:
                self.sent["equality"] += 1
                return _result(request, "Equal")
            return await super().complete(request)

    rounds, provider, _ = run_rounds(tmp_path, provider=SameAgain(), rounds=1, equality_check=True)
    records = by_root(rounds[0].records)
    assert records["good"]["eliminated"] == eliminate.NO_GAIN
    assert "equality" in records["good"]["llm"]["keys"]
    assert provider.sent["equality"] == 2  # the two items alive after the instruction rules


def test_rerun_is_answered_from_the_ledger(tmp_path):
    first, _, _ = run_rounds(tmp_path, rounds=2)
    again, provider, client = run_rounds(tmp_path, rounds=2)
    assert [r.records for r in again] == [r.records for r in first]
    assert provider.sent["answer"] == 0 and client.usage.cached > 0
    assert provider.sent["evolve"] == 2  # only the failing call, never stored, is sent again


@pytest.mark.parametrize("methods", ["wizardcoder", "wizardlm"])
def test_system_prompt_is_sent_when_set(tmp_path, methods):
    seen = []

    class Recording(ScriptedProvider):
        async def complete(self, request):
            seen.append(request.messages[0])
            return await super().complete(request)

    run_rounds(tmp_path, provider=Recording(), rounds=1, methods=methods,
               system_prompt="You are a helpful assistant.")
    assert seen and all(m == ("system", "You are a helpful assistant.") for m in seen)


def test_seed_file_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(EvolcoderError, match="run the seed stage first"):
        load_seed_pool(tmp_path / "seed.jsonl")
    path = tmp_path / "seed.jsonl"
    path.write_text('{"id": "a", "instruction": "x", "input": "", "output": "y"}\n'
                    '{"id": "a", "instruction": "z", "input": "", "output": "y"}\n')
    with pytest.raises(EvolcoderError, match=r"seed.jsonl:2: seed id 'a' repeats line 1"):
        load_seed_pool(path)
    assert [p.instruction for p in load_seed_pool(path, limit=1)] == ["x"]
    path.write_text('{"id": "a", "instruction": "x"}\n')
    lacks = r"seed.jsonl:1: seed record lacks string field\(s\) \['input', 'output'\]"
    with pytest.raises(EvolcoderError, match=lacks):
        load_seed_pool(path)
