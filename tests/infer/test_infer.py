"""`evolcoder infer`: WizardCoder's inference format in and out, the training prompt, resume after a kill."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evolcoder.cli import main as cli_main
from evolcoder.generate.hf_backend import TransformersBackend
from evolcoder.templates import example_texts

INSTRUCTIONS = [
    "Write a Python function that returns the sum of a list of integers.",
    "Reverse a string without using slicing.",
    "Check whether a number is prime.",
    "Merge two sorted lists into one sorted list.",
    "Count the vowels in a sentence.",
    "Return the n-th Fibonacci number.",
    "Flatten a nested list of lists.",
]


def write_input(path: Path, rows: list[dict] | None = None) -> Path:
    rows = rows if rows is not None else [{"idx": i, "Instruction": text} for i, text in enumerate(INSTRUCTIONS)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def read_output(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def infer(model: Path | str, input_path: Path, output: Path, *extra: str) -> int:
    return cli_main(["infer", "--model", str(model), "--input", str(input_path), "--output", str(output),
                     "--max-new-tokens", "8", "--batch-size", "2", *extra])


@pytest.fixture
def generated(monkeypatch):
    """Record what the generate stage's backend is asked and answers; `fail_after` batches makes
    the next one raise, as a run killed mid-way."""
    calls: list[tuple[list, list]] = []
    real = TransformersBackend.generate
    state = {"fail_after": None}

    def spy(self, jobs):
        if state["fail_after"] is not None and len(calls) >= state["fail_after"]:
            raise KeyboardInterrupt("killed")
        completions = real(self, jobs)
        calls.append((jobs, completions))
        return completions

    monkeypatch.setattr(TransformersBackend, "generate", spy)
    return calls, state


def test_round_trips_wizardcoder_s_inference_format_with_the_training_prompt(tiny_checkpoint, tmp_path, generated):
    calls, _ = generated
    rows = [{"idx": "a-1", "Instruction": INSTRUCTIONS[0]}, {"idx": 7, "Instruction": INSTRUCTIONS[1]},
            {"idx": 3, "Instruction": INSTRUCTIONS[2]}]
    output = tmp_path / "out/responses.jsonl"
    assert infer(tiny_checkpoint, write_input(tmp_path / "in.jsonl", rows), output) == 0
    out = read_output(output)
    assert [list(r) for r in out] == [["id", "instruction", "wizardcoder"]] * 3
    assert [(r["id"], r["instruction"]) for r in out] == [(r["idx"], r["Instruction"]) for r in rows]
    jobs = [job for batch, _ in calls for job in batch]
    assert [job.prompt for job in jobs] == [example_texts({"instruction": r["Instruction"], "output": ""})[0]
                                            for r in rows]  # what training formats
    assert [len(batch) for batch, _ in calls] == [2, 1]
    responses = [samples[0].text for _, completions in calls for samples in completions]
    assert [r["wizardcoder"] for r in out] == [text.strip() for text in responses]


def test_a_run_killed_mid_way_resumes_without_redoing_finished_lines(tiny_checkpoint, tmp_path, generated):
    calls, state = generated
    source = write_input(tmp_path / "in.jsonl")
    whole = tmp_path / "whole.jsonl"
    assert infer(tiny_checkpoint, source, whole) == 0
    calls.clear()

    output = tmp_path / "killed.jsonl"
    state["fail_after"] = 2
    with pytest.raises(KeyboardInterrupt):
        infer(tiny_checkpoint, source, output)
    assert [r["id"] for r in read_output(output)] == [0, 1, 2, 3]  # two batches of two, whole lines
    with open(output, "ab") as f:
        f.write(b'{"id": 4, "instruction": "Count the vow')  # a line torn by a kill

    calls.clear()
    state["fail_after"] = None
    assert infer(tiny_checkpoint, source, output) == 0
    assert [job.task_id for batch, _ in calls for job in batch] == ["4", "5", "6"]  # only what was missing
    assert output.read_bytes() == whole.read_bytes()

    calls.clear()
    assert infer(tiny_checkpoint, source, output) == 0 and calls == []  # all done: not even the model loads
    assert output.read_bytes() == whole.read_bytes()


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_to_the_same_output(tiny_checkpoint, tmp_path):
    texts = INSTRUCTIONS + INSTRUCTIONS[:3]
    rows = [{"idx": i, "Instruction": f"{text} (variant {i})"} for i, text in enumerate(texts)]
    source = write_input(tmp_path / "in.jsonl", rows)
    args = ["--model", str(tiny_checkpoint), "--input", str(source), "--max-new-tokens", "16", "--batch-size", "1"]
    assert cli_main(["infer", *args, "--output", str(tmp_path / "whole.jsonl")]) == 0

    output = tmp_path / "killed.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "evolcoder.cli", "infer", *args, "--output", str(output)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while (not output.exists() or output.read_bytes().count(b"\n") < 3) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = output.read_bytes().count(b"\n")
    assert 3 <= done < len(rows), f"the kill landed after {done} of {len(rows)} lines"

    assert cli_main(["infer", *args, "--output", str(output)]) == 0
    assert output.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()


def test_a_hub_model_id_is_read_from_the_hugging_face_cache(tiny_checkpoint, tmp_path, monkeypatch):
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    store = tmp_path / "hub/models--someone--tiny-coder"
    (store / "refs").mkdir(parents=True)
    (store / "refs/main").write_text(commit)
    shutil.copytree(tiny_checkpoint, store / "snapshots" / commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    output = tmp_path / "out.jsonl"
    assert infer("someone/tiny-coder", write_input(tmp_path / "in.jsonl"), output) == 0
    assert infer(tiny_checkpoint, tmp_path / "in.jsonl", tmp_path / "folder.jsonl") == 0
    assert output.read_bytes() == (tmp_path / "folder.jsonl").read_bytes()


def test_an_unknown_model_names_itself_and_what_to_do(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert infer("someone/no-such-model", write_input(tmp_path / "in.jsonl"), tmp_path / "out.jsonl") == 2
    err = capsys.readouterr().err
    assert "--model someone/no-such-model: not a folder" in err and "huggingface-cli download" in err


@pytest.mark.parametrize("line, message", [
    ('{"idx": 1, "instruction": "lower-case key"}', r'in.jsonl:2: expected \{"idx": ..., "Instruction": ...\}'),
    ('{"idx": 1, "Instruction": "Count', "in.jsonl:2: malformed JSON"),
    ('{"idx": 0, "Instruction": "again"}', "in.jsonl:2: idx 0 is already used on .*in.jsonl:1"),
    ('{"idx": [1], "Instruction": "x"}', 'in.jsonl:2: "idx" must be an integer or a string'),
    ('{"idx": 1, "Instruction": "  "}', 'in.jsonl:2: "Instruction" must be a non-empty string'),
])
def test_bad_input_fails_naming_file_and_line_before_any_model_loads(tmp_path, capsys, line, message):
    import re

    source = tmp_path / "in.jsonl"
    source.write_text('{"idx": 0, "Instruction": "fine"}\n' + line + "\n")
    assert infer(tmp_path / "no-model-needed", source, tmp_path / "out.jsonl") == 2
    assert re.search(message, capsys.readouterr().err)


def test_a_missing_input_file_is_named(tmp_path, capsys):
    assert infer(tmp_path / "no-model-needed", tmp_path / "absent.jsonl", tmp_path / "out.jsonl") == 2
    assert "absent.jsonl: no such file" in capsys.readouterr().err


def test_a_prompt_longer_than_the_model_allows_names_its_line(tiny_checkpoint, tmp_path, capsys):
    source = write_input(tmp_path / "in.jsonl", [{"idx": 0, "Instruction": "short"},
                                                 {"idx": 1, "Instruction": "word " * 2000}])
    assert infer(tiny_checkpoint, source, tmp_path / "out.jsonl") == 2
    err = capsys.readouterr().err
    assert "in.jsonl:2: the prompt of idx 1" in err and "exceed the model's 1024 positions" in err
    assert (tmp_path / "out.jsonl").read_text() == ""  # refused before generating anything
