"""The call ledger: keys, durability under SIGKILL, and the replay provider."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.support.data import REPO_ROOT
from evolcoder.llm import ChatRequest, ChatResult, LLMClient, LLMConfig, LLMRuntime, Ledger, MissingCallsError


def request(text: str = "Write a function.", **kwargs) -> ChatRequest:
    return ChatRequest(messages=(("user", text),), model="gpt-3.5-turbo", **kwargs)


def answer(req: ChatRequest, text: str = "def f(): pass") -> ChatResult:
    return ChatResult(key=req.key(), text=text, finish_reason="stop", prompt_tokens=3, completion_tokens=4,
                      cost_usd=0.01, provider="openai")


def test_the_key_covers_model_messages_sampling_and_sample_index_but_not_meta():
    base = request()
    assert base.key() == request(meta={"stage": "evolve"}).key()
    assert base.key() == request(temperature=1).key()  # 1 and 1.0 are one setting
    variants = [request("Write two functions."), request(temperature=0.7), request(top_p=0.9),
                request(max_tokens=100), request(sample=1), dataclasses.replace(base, model="gpt-4"),
                ChatRequest(messages=(("system", "Write a function."),), model="gpt-3.5-turbo")]
    assert len({base.key(), *(v.key() for v in variants)}) == len(variants) + 1


def test_results_survive_reopening_and_come_back_marked_cached(tmp_path):
    req = request(meta={"stage": "evolve"})
    with Ledger(tmp_path) as ledger:
        ledger.put(req, answer(req))
        assert ledger.get(request("other").key()) is None
    with Ledger(tmp_path) as ledger:
        assert len(ledger) == 1
        assert ledger.get(req.key()) == dataclasses.replace(answer(req), cached=True)


def test_failed_calls_are_not_stored(tmp_path):
    req = request()
    failed = ChatResult(key=req.key(), text=None, finish_reason=None, error="HTTP 500 from x")
    with Ledger(tmp_path) as ledger, pytest.raises(ValueError, match="stores answers only"):
        ledger.put(req, failed)


WRITER = textwrap.dedent("""
    import sys
    from evolcoder.llm import ChatRequest, ChatResult, Ledger
    ledger = Ledger(sys.argv[1])
    i = 0
    while True:
        req = ChatRequest(messages=(("user", f"question {i}"),), model="m")
        ledger.put(req, ChatResult(key=req.key(), text=f"answer {i}" * 50, finish_reason="stop"))
        print(req.key(), flush=True)
        i += 1
""")


def test_every_result_put_before_a_sigkill_is_in_the_ledger(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, text=True)
    stored = [proc.stdout.readline().strip() for _ in range(200)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored += [line.strip() for line in proc.stdout if line.endswith("\n")]
    proc.stdout.close()

    with Ledger(tmp_path) as ledger:
        missing = [key for key in stored if ledger.get(key) is None]
        assert missing == []
        assert len(ledger) >= len(stored)


def test_replay_answers_from_the_ledger_without_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    held = [request(f"q{i}") for i in range(3)]
    with Ledger(tmp_path) as ledger:
        for req in held:
            ledger.put(req, answer(req, f"a-{req.messages[0][1]}"))
        client = LLMClient(LLMConfig(provider="replay"), LLMRuntime(), ledger)
        results = client.run(held)
    assert [r.text for r in results] == ["a-q0", "a-q1", "a-q2"]
    assert client.usage.cached == 3 and client.usage.cost_usd == pytest.approx(0.03)


def test_replay_names_the_missing_calls_and_their_params_before_sending_anything(tmp_path):
    held = request("q0")
    missing = [request(f"q{i}", temperature=0.7, meta={"stage": "evolve", "purpose": "answer", "item_id": i})
               for i in range(2)]
    with Ledger(tmp_path) as ledger:
        ledger.put(held, answer(held))
        client = LLMClient(LLMConfig(provider="replay"), LLMRuntime(), ledger)
        with pytest.raises(MissingCallsError) as raised:
            client.run([held, *missing])
    message = str(raised.value)
    assert "2 call(s) are not in the ledger" in message
    assert "2 x stage=evolve purpose=answer" in message
    assert "2 x model=gpt-3.5-turbo temperature=0.7 top_p=1 max_tokens=2048" in message
    assert "holds (1 calls): 1 x model=gpt-3.5-turbo temperature=1 top_p=1" in message
