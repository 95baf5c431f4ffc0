"""OS-level isolation: set up once per worker, plus what each sample's process applies to itself.

A worker process (`prepare_worker`) enters a new network namespace (only a downed
loopback), a cgroup whose `pids` controller caps the process count (RLIMIT_NPROC does
not bind root), a new mount namespace in which every mount is read-only except a fresh
tmpfs on /tmp, and a new pid namespace whose init is the worker's job loop. The loop
(`enter_init`) mounts a /proc that shows only its namespace, locks capabilities (no
regaining them through setuid binaries) and installs a seccomp filter without socket(2);
samples inherit both at fork. Each sample's process (`confine_sample`) then takes its
rlimits, switches to a uid of its own (when the worker runs as root; files are still
opened as root) and gives up every capability. Namespace set-up costs far more than a
fork, hence once per worker.

Whatever the kernel refuses is left out and `Confinement.isolation` says what actually
runs; with `namespaces=False` only the own-uid, no-caps, no-sockets and rlimits parts run
(what a container without privileges gets, minus own-uid there).
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evolcoder.exec import linux
from evolcoder.exec.types import Limits

JAIL_TMP = "/tmp"
_CGROUP_PREFIX = "evolcoder-exec-"
# Samples of a root-run worker take uid _UID_BASE + the worker's pid (file system uid 0):
# a uid of their own, shared with no other process, so they can neither signal, prlimit
# nor ptrace the job loop or the pool, and RLIMIT_NPROC counts exactly their processes.
_UID_BASE = 1_000_000_000
_MB = 1 << 20


@dataclass
class Confinement:
    """What one worker set up, and the handles it keeps to manage its samples."""

    levels: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # level -> why the kernel said no
    tmp_root: str = JAIL_TMP  # the private directories live here; emptied after every job
    owns_tmp_root: bool = False  # a host directory (no mount namespace) to remove at exit
    cgroup_dir: str | None = None
    pids_max_fd: int | None = None
    procs_fd: int | None = None
    pids_max: int | None = None
    sample_uid: int | None = None  # the uid samples run as (root-run workers only)
    devnull: int = -1  # kept open for the samples' stdin
    kept_in_tmp: tuple[str, ...] = ()  # host folders under /tmp shown read-only in the private one

    @property
    def isolation(self) -> str:
        return "+".join(self.levels)

    def has(self, level: str) -> bool:
        return level in self.levels


def prepare_worker(namespaces: bool, tmpfs_mb: int) -> Confinement:
    """Set up this (single-threaded) worker process; call before forking the job loop."""
    conf = Confinement()
    if namespaces:
        _try(conf, "netns", lambda: linux.unshare(linux.CLONE_NEWNET))
        _try(conf, "cgroup-pids", lambda: _make_cgroup(conf))  # before the mounts turn read-only
        _try(conf, "mountns", lambda: _private_mounts(conf, tmpfs_mb))
        _try(conf, "pidns", lambda: linux.unshare(linux.CLONE_NEWPID))
    if not conf.has("mountns"):
        conf.tmp_root = _host_tmp_root()
        conf.owns_tmp_root = True
    if os.geteuid() == 0:
        conf.sample_uid = _UID_BASE + os.getpid()
        conf.levels.append("own-uid")
    conf.levels.append("no-caps")
    if linux.seccomp_supported():
        conf.levels.append("no-sockets")
    conf.levels.append("rlimits")
    return conf


# tempfile and shutil are imported where needed, not at the top: they load zlib, bz2 and
# lzma, whose mappings every fork of the job loop would otherwise copy.
def _host_tmp_root() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="evolcoder-exec-")


def remove_tree(path: str, **options: object) -> None:
    """shutil.rmtree, imported on first use (see above)."""
    import shutil

    shutil.rmtree(path, **options)


def _try(conf: Confinement, level: str, action: Callable[[], None]) -> None:
    # A refusal (EPERM in a container, ENOSYS on an old kernel) only lowers the level.
    try:
        action()
    except OSError as exc:
        conf.refused[level] = str(exc)
        return
    conf.levels.append(level)


def _private_mounts(conf: Confinement, tmpfs_mb: int) -> None:
    linux.unshare(linux.CLONE_NEWNS)
    linux.mount("none", "/", None, linux.MS_REC | linux.MS_PRIVATE)
    kept = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in _code_folders_in_tmp()}
    linux.make_tree_readonly("/")
    linux.mount(
        "tmpfs", JAIL_TMP, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, f"size={tmpfs_mb}m,mode=1777"
    )
    # A checkout or venv under /tmp would vanish under the fresh tmpfs, and with it the check
    # modules jobs name: bind the host folder back, read-only, through the fd opened before.
    for path, fd in kept.items():
        os.mkdir(path)
        linux.mount(f"/proc/self/fd/{fd}", path, None, linux.MS_BIND | linux.MS_REC)
        linux.make_tree_readonly(path)
        os.close(fd)
    conf.kept_in_tmp = tuple(kept)


def _code_folders_in_tmp() -> list[str]:
    """The top-level /tmp folders that hold this interpreter's import path or evolcoder itself."""
    places = [*sys.path, str(Path(__file__).resolve().parents[2])]
    tops = set()
    for place in places:
        relative = Path(os.path.realpath(place or ".")).relative_to("/")
        if len(relative.parts) > 1 and Path("/", relative.parts[0]) == Path(JAIL_TMP):
            tops.add(os.path.join(JAIL_TMP, relative.parts[1]))
    return sorted(top for top in tops if os.path.isdir(top))


def _pids_cgroup_base() -> Path:
    """This process's cgroup directory in the hierarchy that has the pids controller."""
    mounts = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        fstype, _source, options = right.split(" ")[:3]
        root, mountpoint = left.split(" ")[3:5]
        if fstype == "cgroup" and "pids" in options.split(","):
            mounts["pids"] = (root, mountpoint)
        elif fstype == "cgroup2":
            mounts.setdefault("", (root, mountpoint))
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _id, controllers, path = line.split(":", 2)
        key = "pids" if "pids" in controllers.split(",") else controllers
        if key in mounts:
            root, mountpoint = mounts[key]
            relative = path[len(root) :] if path.startswith(root) else path
            return Path(mountpoint) / relative.lstrip("/")
    raise FileNotFoundError("no cgroup hierarchy with the pids controller is mounted")


def _make_cgroup(conf: Confinement) -> None:
    base = _pids_cgroup_base()
    _remove_stale_cgroups(base)
    path = base / f"{_CGROUP_PREFIX}{os.getpid()}"
    path.mkdir()
    if not (path / "pids.max").exists():  # cgroup v2 without the pids controller delegated
        path.rmdir()
        raise FileNotFoundError(f"{path}: no pids.max")
    # Opened now, before the mount namespace makes /sys read-only for everyone in it.
    conf.pids_max_fd = os.open(path / "pids.max", os.O_WRONLY | os.O_CLOEXEC)
    conf.procs_fd = os.open(path / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
    conf.cgroup_dir = str(path)


def _remove_stale_cgroups(base: Path) -> None:
    """Remove the empty cgroups of workers that were killed before they could clean up."""
    for path in base.glob(f"{_CGROUP_PREFIX}*"):
        pid = path.name.removeprefix(_CGROUP_PREFIX)
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            remove_cgroup(str(path))


def remove_cgroup(path: str) -> None:
    """rmdir a worker's cgroup; a no-op when it is already gone or still has processes."""
    try:
        os.rmdir(path)
    except OSError:
        return


def enter_init(conf: Confinement) -> None:
    """Run in the job loop's process (pid 1 of the new pid namespace, where there is one)."""
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)  # the worker's death ends the namespace
    if conf.has("pidns") and conf.has("mountns"):
        flags = linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC
        linux.mount("proc", "/proc", "proc", flags)  # shows only this namespace's processes
    if conf.procs_fd is not None:
        os.write(conf.procs_fd, b"0")  # "0": the writing process
    if not conf.has("pidns"):
        linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)  # orphans of samples come back to us
    linux.prctl(linux.PR_SET_DUMPABLE, 0)  # samples cannot ptrace or read our memory
    # Inherited by every sample at fork, so they cost nothing per job; the loop needs none.
    if conf.sample_uid is not None:
        linux.prepare_become()
    linux.lock_capabilities()
    if conf.has("no-sockets"):
        linux.forbid_sockets()
    conf.devnull = os.open(os.devnull, os.O_RDONLY)


def set_process_budget(conf: Confinement, max_procs: int) -> None:
    """Allow the job loop, the sample and `max_procs` more tasks in the worker's cgroup."""
    wanted = 2 + max_procs
    if conf.pids_max_fd is not None and conf.pids_max != wanted:
        os.write(conf.pids_max_fd, str(wanted).encode())
        conf.pids_max = wanted


def release(conf: Confinement) -> None:
    """Undo what the worker made outside its namespaces; after the job loop has exited."""
    for fd in (conf.pids_max_fd, conf.procs_fd):
        if fd is not None:
            os.close(fd)
    if conf.cgroup_dir:
        remove_cgroup(conf.cgroup_dir)
    if conf.owns_tmp_root:
        remove_tree(conf.tmp_root, ignore_errors=True)


@dataclass(frozen=True)
class SampleLimits:
    """A sample's rlimits as `setrlimit` takes them, worked out once per `Limits` by the job loop."""

    rlimits: tuple[tuple[int, tuple[int, int]], ...]
    max_procs: int


def sample_limits(limits: Limits) -> SampleLimits:
    cpu, memory, size = limits.cpu_seconds, limits.memory_mb * _MB, limits.file_size_mb * _MB
    return SampleLimits(
        rlimits=(
            (resource.RLIMIT_CPU, (cpu, cpu + 1)),  # each process's backstop: SIGXCPU, SIGKILL a second later
            (resource.RLIMIT_AS, (memory, memory)),
            (resource.RLIMIT_FSIZE, (size, size)),
            (resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files)),
            (resource.RLIMIT_CORE, (0, 0)),
        ),
        max_procs=limits.max_procs,
    )


def confine_sample(conf: Confinement, limits: SampleLimits) -> None:
    """Limits for the sample's own process: rlimits, its own uid, no capabilities.

    (Sockets went for good when the job loop started.)
    """
    setrlimit = resource.setrlimit
    for which, values in limits.rlimits:
        setrlimit(which, values)
    if conf.sample_uid is not None:
        nproc = 1 + limits.max_procs  # the uid has no other process
        setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        linux.become(conf.sample_uid)
    else:  # not root: RLIMIT_NPROC counts every task of the user
        nproc = _tasks_of_user(os.getuid()) + limits.max_procs
        setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        linux.clear_capabilities()


def _tasks_of_user(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except FileNotFoundError:
                continue
    return count
