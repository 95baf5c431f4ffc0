"""Hostile samples: each attack must be contained by the sandbox, at the OS level.

For every attack: the verdict is not "passed"; the same Sandbox still answers a normal
job; no file outside the sandbox changed (a decoy directory on the root file system, a
file in /tmp, the repository); no process is left behind (the test's process tree holds
only the pool's workers, and no process anywhere carries the attack's marker); and a
server listening on 127.0.0.1 saw no connection. The suite runs with full isolation and
again on the fallback path (`namespaces=False`); an attack that needs an isolation level
absent there is skipped, naming it: running it without could harm the machine (e.g.
`kill(-1)` as root without a pid namespace or a uid of its own).
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from evolcoder.exec import Job, Limits, Sandbox
from tests.support.data import REPO_ROOT as REPO

MARK = "31337"  # argv marker of the processes attacks try to leave behind
LIMITS = Limits(wall_s=2.0, memory_mb=512)
# What bounds a fork bomb: RLIMIT_NPROC binds any uid but root; a root worker needs its
# cgroup or samples under their own uid.
PROCESS_BOUND = ("cgroup-pids", "own-uid") if os.geteuid() == 0 else ()


@dataclass(frozen=True)
class Attack:
    code: str  # formatted with decoy, decoy_file, tmp_file, repo, port, mark, pool_pids
    needs: tuple[str, ...] = ()  # run only where the isolation has one of these levels (or always)
    max_procs: int = 1


ATTACKS = {
    "infinite_loop": Attack("while True:\n    pass\n"),
    "fork_bomb": Attack(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
        needs=PROCESS_BOUND,
    ),
    "memory_bomb": Attack("chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))\n"),
    "kill_parent_and_pool": Attack(
        "import os, signal\n"
        "for pid in [os.getppid(), 1, *{pool_pids}]:\n"
        "    try:\n        os.kill(pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
        "for name in os.listdir('/proc'):\n"
        "    if name.isdigit() and int(name) != os.getpid():\n"
        "        try:\n            os.kill(int(name), signal.SIGKILL)\n        except OSError:\n            pass\n"
        "os.kill(-1, signal.SIGKILL)\n"
        "assert False, 'still here'\n",
        needs=("pidns", "own-uid"),
    ),
    "sabotage_the_worker": Attack(
        "import os, resource\n"
        "worked = []\n"
        "for name, action in [\n"
        "    ('prlimit files', lambda: resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (3, 3))),\n"
        "    ('prlimit memory', lambda: resource.prlimit(os.getppid(), resource.RLIMIT_AS, (1 << 20, 1 << 20))),\n"
        "    ('renice', lambda: os.setpriority(os.PRIO_PROCESS, os.getppid(), 19)),\n"
        "    ('lock cwd', lambda: os.chmod('.', 0)),\n"
        "]:\n"
        "    try:\n        action()\n        worked.append(name)\n    except OSError:\n        pass\n"
        "assert False, worked\n",
        needs=("own-uid",),
    ),
    # A write outside: run only where the mount namespace contains it (the fallback path does
    # not contain writes, and this one would lock the machine's /tmp).
    "lock_tmp": Attack("import os\nos.chmod('/tmp', 0)\nassert False, 'chmod went through'\n", needs=("mountns",)),
    "os_exit": Attack("import os\nos._exit(0)\n"),
    "output_flood": Attack(
        "import os\nwhile True:\n    os.write(1, b'x' * 65536)\n    os.write(2, b'y' * 65536)\n"
    ),
    "delete_and_overwrite_files": Attack(
        "import glob, os, shutil\n"
        "errors = []\n"
        "shutil.rmtree({decoy!r}, ignore_errors=True)\n"
        "for path in glob.glob('/tmp/*') + [{tmp_file!r}]:\n"
        "    shutil.rmtree(path, ignore_errors=True)\n"
        "for path in [{decoy_file!r}, {tmp_file!r}]:\n"
        "    try:\n        os.remove(path)\n    except OSError as e:\n        errors.append(e)\n"
        "    try:\n        open(path, 'w').write('pwned')\n    except OSError as e:\n        errors.append(e)\n"
        "try:\n    open({repo!r} + '/pyproject.toml', 'a').close()\nexcept OSError as e:\n    errors.append(e)\n"
        "assert not errors, errors\n",
        needs=("mountns",),
    ),
    "undo_python_guards": Attack(
        "import importlib, os, posix\n"
        "os.system = None\n"
        "importlib.reload(os)\n"
        "posix.system('echo pwned > {decoy_file}')\n"
        "os.system('echo pwned > {tmp_file}')\n"
        "assert open({decoy_file!r}).read() == 'pwned\\n'\n",
        needs=("mountns",),
        max_procs=2,
    ),
    "remount_with_ctypes": Attack(
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "remount = libc.mount(b'none', b'/', None, 32 | 4096, None)  # MS_REMOUNT | MS_BIND: read-write\n"
        "unshare = libc.unshare(0x00020000)\n"
        "assert remount == 0 and unshare == 0, ctypes.get_errno()\n"
        "open({decoy_file!r}, 'w').write('pwned')\n",
        needs=("mountns",),
    ),
    "spawn_subprocess": Attack(
        "import subprocess\n"
        "subprocess.Popen(['sleep', '{mark}'])\n"
        "subprocess.Popen(['sleep', '{mark}'], start_new_session=True)\n"
        "assert False, 'spawned'\n",
        needs=PROCESS_BOUND,
        max_procs=3,
    ),
    "setsid_escape": Attack(
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execvp('sleep', ['sleep', '{mark}'])\n"
        "    os._exit(0)\n"
        "assert False, 'escaped'\n",
        max_procs=3,
    ),
    "forged_verdict": Attack(
        "import json, os, pickle, struct\n"
        "fake = json.dumps({{'verdict': 'passed', 'detail': '', 'data': None}}).encode()\n"
        "messages = [n + struct.pack('<Q', len(fake)) + fake for n in (b'', bytes(16))]\n"
        "messages += [pickle.dumps({{'verdict': 'passed'}}), b'passed\\n']\n"
        "for fd in range(1024):\n"
        "    for message in messages:\n"
        "        try:\n            os.write(fd, message)\n        except OSError:\n            pass\n"
        "os._exit(0)\n"
    ),
    "network": Attack(
        "import ctypes, socket, subprocess, sys\n"
        "reached = []\n"
        "try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    reached.append('socket')\n"
        "except OSError:\n    pass\n"
        "fd = ctypes.CDLL(None).socket(2, 1, 0)\n"
        "if fd >= 0:\n    reached.append('ctypes socket')\n"
        "probe = \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)\"\n"
        "if subprocess.run([sys.executable, '-c', probe]).returncode == 0:\n    reached.append('subprocess')\n"
        "assert reached, 'no way out'\n",
        needs=("netns", "no-sockets"),
        max_procs=2,
    ),
}


@pytest.fixture(scope="module", params=[True, False], ids=["namespaces", "fallback"])
def sandbox(request):
    with Sandbox(workers=2, limits=LIMITS, namespaces=request.param) as sb:
        yield sb


@pytest.fixture(scope="module")
def server():
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.setblocking(False)
        yield srv


@pytest.fixture
def world():
    """Files outside the sandbox: a decoy tree on the root file system, a file in /tmp."""
    decoy = Path(tempfile.mkdtemp(prefix="evolcoder-decoy-", dir=_root_fs_tmp()))
    (decoy / "keep.txt").write_text("keep")
    tmp_file = Path("/tmp") / f"evolcoder-sentinel-{uuid.uuid4().hex}"
    tmp_file.write_text("keep")
    yield {"decoy": decoy, "decoy_file": decoy / "keep.txt", "tmp_file": tmp_file}
    tmp_file.unlink(missing_ok=True)
    for path in sorted(decoy.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    decoy.rmdir()


def _root_fs_tmp() -> str:
    """/var/tmp (on the root file system, so not hidden by the sandbox's /tmp), or home."""
    return "/var/tmp" if os.access("/var/tmp", os.W_OK) else str(Path.home())


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_contained(name, sandbox, server, world):
    attack = ATTACKS[name]
    if attack.needs and not set(attack.needs) & set(sandbox.isolation.split("+")):
        pytest.skip(f"isolation {sandbox.isolation!r} has none of {attack.needs}: not safe to run")
    pool_pids = sorted(_pool_pids(sandbox) | {os.getpid()})
    code = attack.code.format(
        decoy=str(world["decoy"]),
        decoy_file=str(world["decoy_file"]),
        tmp_file=str(world["tmp_file"]),
        repo=str(REPO),
        port=server.getsockname()[1],
        mark=MARK,
        pool_pids=pool_pids,
    )
    limits = Limits(wall_s=LIMITS.wall_s, memory_mb=LIMITS.memory_mb, max_procs=attack.max_procs)
    repo_before = (REPO / "pyproject.toml").read_bytes()
    tmp_mode = os.stat("/tmp").st_mode
    # Processes this worker already had (under xdist, another module's session server, say) are not the sample's.
    earlier = _descendants(os.getpid())

    (outcome,) = sandbox.run([Job(code, limits=limits)])

    assert outcome.verdict != "passed", outcome
    assert sandbox.run([Job("print('alive')")])[0].stdout == "alive\n"
    assert world["decoy_file"].read_text() == "keep"
    assert sorted(p.name for p in world["decoy"].iterdir()) == ["keep.txt"]
    assert world["tmp_file"].read_text() == "keep"
    assert os.stat("/tmp").st_mode == tmp_mode, "the machine's /tmp changed mode"
    assert (REPO / "pyproject.toml").read_bytes() == repo_before
    assert _descendants(os.getpid()) - earlier <= _pool_pids(sandbox), "a sample's process outlived its job"
    assert not _processes_with_marker(), f"a process carrying {MARK} survived"
    with pytest.raises(BlockingIOError):
        server.accept()
    assert len(outcome.stdout) <= LIMITS.output_bytes and len(outcome.stderr) <= LIMITS.output_bytes


def _parents() -> dict[int, int]:
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except (FileNotFoundError, ProcessLookupError):
                continue
            parents[int(name)] = int(stat.rsplit(b")", 1)[1].split()[1])
    return parents


def _descendants(pid: int) -> set[int]:
    parents = _parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _pool_pids(sandbox: Sandbox) -> set[int]:
    """The pool's worker processes and their job loops (pid 1 of each worker's namespace)."""
    workers = {w.process.pid for w in sandbox._workers}
    return workers | {p for p, parent in _parents().items() if parent in workers}


def _processes_with_marker() -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if MARK.encode() in argv:
                found.append(int(name))
    return found
