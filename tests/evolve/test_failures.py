"""The evolve stage when the teacher fails: the failure policy, the budget, and bad settings.

Each failing run must exit non-zero having written nothing DVC would lock (data/evol,
metrics/evolve.json), say what happened, and leave the ledger with every answered call, so
that the next run sends only what is missing."""

from __future__ import annotations

import re

import pytest
from tests.support.evolve_workdir import (all_records, evol_responder, loopback_llm, make_workdir, outputs, run_in_process,
                            stage_error, start_stage, wrote_nothing, write_params)
from tests.support.llm_server import LLMServer, ServerSettings, free_port

from evolcoder.config import ConfigError, load_section
from evolcoder.evolve.config import EvolveConfig
from evolcoder.evolve.policy import EvolveFailed
from stages import evolve as stage


def test_a_down_server_fails_the_stage_and_a_rerun_once_it_is_up_sends_each_call_once(tmp_path, monkeypatch):
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    work = make_workdir(tmp_path, 6, {"rounds": 2}, loopback_llm(url))
    proc = start_stage(work)  # exactly what `dvc repro` runs
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    assert "evolve: error: round 1 breached the failure policy:" in err
    assert "6 of 6 calls failed after their retries (100.0%), more than evolve.max_failed_fraction (2.0%)" in err
    assert "failed calls by kind: connection 6" in err
    assert f"connection to {url}/chat/completions failed: ConnectionRefusedError" in err
    assert f"teacher: model gpt-3.5-turbo (llm.provider openai) at {url}" in err
    assert f"hint: no connection to {url}: is the server up" in err
    assert "Traceback" not in err
    assert wrote_nothing(work)

    with LLMServer(ServerSettings(), evol_responder, port=port) as server:
        run_in_process(work, monkeypatch)
        received = server.stats()["received"]
    assert len(all_records(work)) == 12 and set(received.values()) == {1}


def test_a_rerun_after_failed_calls_sends_only_those_calls(tmp_path, monkeypatch):
    llm = dict(max_retries=0)
    with LLMServer(ServerSettings(), evol_responder) as server:
        reference = make_workdir(tmp_path / "reference", 10, {"rounds": 2}, loopback_llm(server.url, **llm))
        run_in_process(reference, monkeypatch)

    with LLMServer(ServerSettings(fault_rate=0.3, fault_kinds=("500",), seed=2), evol_responder) as server:
        work = make_workdir(tmp_path / "work", 10, {"rounds": 2}, loopback_llm(server.url, **llm))
        monkeypatch.chdir(work)
        with pytest.raises(EvolveFailed, match=r"(?s)round 1 breached.*failed calls by kind: http_500 \d+.*"
                                               r"HTTP 500 from .*\(request id req_\d+\): injected 500"):
            stage.main()
        assert wrote_nothing(work)
        faults = sum(server.stats()["faults"].values())
        assert faults > 0

        server.settings.fault_rate = 0.0  # the server is well again
        run_in_process(work, monkeypatch)
        stats = server.stats()
    assert outputs(work) == outputs(reference)
    # every call was answered once; the only calls sent twice are those that failed the first time
    assert set(stats["answered"].values()) == {1}
    assert sum(stats["received"].values()) == len(stats["answered"]) + faults


def sorry(body: dict) -> str:
    return "Sorry, I can't help with that."


def test_a_teacher_that_answers_garbage_fails_the_stage(tmp_path, monkeypatch, capsys):
    with LLMServer(ServerSettings(), sorry) as server:
        work = make_workdir(tmp_path, 6, {"rounds": 2}, loopback_llm(server.url))
        err = stage_error(work, monkeypatch, capsys)
        assert wrote_nothing(work)
        assert "0 of 6 evolutions kept (0.0%), fewer than evolve.min_kept_fraction (5.0%)" in err
        assert "eliminated evolutions by reason: sorry_answer 6" in err
        # six evolve calls, and one answer call: the six identical instructions are one request
        assert "keeps the 7 call(s) answered so far" in err and "evolve.on_failure: keep" in err

        # accepted on purpose: the partial rounds are in the metrics, round 1 comes from the ledger
        write_params(work, {"rounds": 2, "on_failure": "keep"}, loopback_llm(server.url))
        metrics = run_in_process(work, monkeypatch)
        received = server.stats()["received"]
    assert metrics["partial_rounds"] == 2 and metrics["round_1.partial"] and metrics["kept_total"] == 0
    assert "round 1 is kept as a partial round (evolve.on_failure: keep): 0 of 6 evolutions kept" in \
        capsys.readouterr().out
    assert set(received.values()) == {1} and len(received) == 14


def test_the_budget_stops_the_stage_and_a_rerun_with_a_higher_one_continues(tmp_path, monkeypatch, capsys):
    llm = dict(model="gpt-4", max_tokens=64, max_retries=0)
    with LLMServer(ServerSettings(), evol_responder) as server:
        reference = make_workdir(tmp_path / "reference", 10, {"rounds": 2}, loopback_llm(server.url, **llm))
        whole = run_in_process(reference, monkeypatch)
    budget = whole["total.cost_usd"] / 2

    with LLMServer(ServerSettings(), evol_responder) as server:
        work = make_workdir(tmp_path / "work", 10, {"rounds": 2}, loopback_llm(server.url, max_cost_usd=budget, **llm))
        err = stage_error(work, monkeypatch, capsys)
        assert wrote_nothing(work)
        assert f"evolve: error: stopped before exceeding runtime.llm.max_cost_usd=${budget:g}: spent $" in err
        assert "were not sent" in err and "After this batch, the run has up to" in err
        spent = float(err.split("spent $")[1].split(" ")[0])
        assert 0 < spent <= budget

        write_params(work, {"rounds": 2}, loopback_llm(server.url, max_cost_usd=1.0, **llm))
        metrics = run_in_process(work, monkeypatch)
        received = server.stats()["received"]
    assert outputs(work) == outputs(reference) and metrics == whole
    assert set(received.values()) == {1}  # the rerun sent only what the first run had not


@pytest.mark.parametrize(("case", "expected"), [
    ("wrong key", r"HTTP 401 from http://127\.0\.0\.1:\d+/v1/chat/completions \(request id req_\d+\): injected 401"),
    ("wrong model", r"HTTP 404 from .*: The model `gpt-5-mini` does not exist"),
    ("not an API", r"answered with an HTML page, not an OpenAI API's JSON .*Point llm\.base_url at the API itself"),
])
def test_a_wrong_key_model_or_url_stops_the_stage_with_one_message(tmp_path, monkeypatch, capsys, case, expected):
    settings = ServerSettings(fault_rate=1.0, fault_kinds=("401",)) if case == "wrong key" else ServerSettings()
    with LLMServer(settings, evol_responder) as server:
        llm = {"wrong key": loopback_llm(server.url), "wrong model": loopback_llm(server.url, model="gpt-5-mini"),
               "not an API": loopback_llm(server.url.replace("/v1", "/html/v1"))}[case]
        work = make_workdir(tmp_path, 6, {"rounds": 2}, llm)
        err = stage_error(work, monkeypatch, capsys)
        requests = server.stats()["requests"]
    lines = [line for line in err.splitlines() if line.startswith("evolve: error:")]
    assert len(lines) == 1 and "Traceback" not in err
    assert re.search(expected, err), err
    assert requests <= 8  # no retries: the calls in flight at most
    assert wrote_nothing(work)


def test_policy_params_are_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"evolve.max_failed_fraction: must be a fraction in \[0, 1\], got 1.5"):
        EvolveConfig(max_failed_fraction=1.5)
    (tmp_path / "params.yaml").write_text('{"evolve": {"on_failure": "skip"}}')
    with pytest.raises(ConfigError, match=r"evolve.on_failure: 'skip' is not one of 'fail' or 'keep'"):
        load_section(tmp_path / "params.yaml", "evolve", EvolveConfig)
