"""The Linux system calls the sandbox needs that Python 3.11's `os` lacks, through ctypes.

Each wrapper raises OSError (with errno) on failure, like the `os` functions do.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

_AT_FDCWD = -100
_AT_RECURSIVE = 0x8000
_MOUNT_ATTR_RDONLY = 0x1
_MOUNT_ATTR_NOSUID = 0x2
_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (added in Linux 5.12)

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
# Looked up now, in the job loop, rather than on first use in each forked sample, where
# every object ctypes creates costs a copied page.
_capset_call, _setfsuid, _setfsgid, _prctl = _libc.capset, _libc.setfsuid, _libc.setfsgid, _libc.prctl


def _checked(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def unshare(flags: int) -> None:
    """unshare(2): move this process into new namespaces (os.unshare arrived in 3.12)."""
    _checked(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """mount(2)."""
    _checked(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def make_tree_readonly(path: str) -> None:
    """Mark every mount at and below `path` read-only and nosuid (mount_setattr(2), AT_RECURSIVE)."""
    attr = _MountAttr(attr_set=_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID)
    _checked(
        _libc.syscall(
            ctypes.c_long(_SYS_MOUNT_SETATTR),
            ctypes.c_int(_AT_FDCWD),
            path.encode(),
            ctypes.c_uint(_AT_RECURSIVE),
            ctypes.byref(attr),
            ctypes.c_size_t(ctypes.sizeof(attr)),
        ),
        f"mount_setattr {path}",
    )


def prctl(option: int, arg2: int = 0) -> None:
    """prctl(2) with one argument."""
    _checked(_prctl(option, arg2, 0, 0, 0), f"prctl({option})")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def lock_capabilities() -> None:
    """Make capabilities impossible to regain, for this process and every descendant.

    Sets no_new_privs and empties the bounding and ambient sets: after that not even
    executing a setuid-root binary gives a capability back. The caller keeps its current
    ones (the job loop needs them); each sample then gives them up with
    `clear_capabilities`.
    """
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) < 0:
            break  # EINVAL past the last capability this kernel knows; EPERM when not root
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def clear_capabilities() -> None:
    """Give up every effective, permitted and inheritable capability (capset(2) to zero).

    Root without capabilities can no longer mount, unshare, setns, load modules, ptrace
    its parent or override file permissions.
    """
    _capset(_NO_CAPS)


def _caps(mask: int) -> ctypes.Array:
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = mask
    return data


_CAP_HEADER = _CapHeader(version=0x20080522, pid=0)  # _LINUX_CAPABILITY_VERSION_3
_NO_CAPS = _caps(0)
_SETID_CAPS = _caps(1 << 7 | 1 << 6)  # CAP_SETUID, CAP_SETGID


def _capset(data: ctypes.Array) -> None:
    """Set the effective and permitted sets (capabilities 0-31), inheritable to none."""
    _CAP_HEADER.pid = 0
    _checked(_capset_call(ctypes.byref(_CAP_HEADER), data), "capset")


def prepare_become() -> None:
    """Run once by the job loop, so that each sample's `become` makes fewer calls: no
    supplementary groups (the loop needs none) and PR_SET_KEEPCAPS, both inherited at fork."""
    os.setgroups([])
    prctl(PR_SET_KEEPCAPS, 1)


def become(uid: int) -> None:
    """Run as real, effective and saved uid/gid `uid`, but open files as root; no capabilities.

    The process then owns nothing and shares its uid with no other process, so it cannot
    signal, prlimit, renice or ptrace root's processes (the job loop, the pool), while
    its file system uid 0 still reads what root can read (an interpreter installed under
    /root) and writes where root could, which the read-only mounts forbid. Needs
    `prepare_become` in an ancestor (PR_SET_KEEPCAPS keeps CAP_SETUID across setresuid; once
    the capabilities are gone it has nothing left to keep).
    """
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _capset(_SETID_CAPS)  # kept in the permitted set by KEEPCAPS
    _setfsgid(0)
    _setfsuid(0)
    if _setfsuid(-1) != 0:  # an invalid id changes nothing and returns the current one
        raise OSError(f"setfsuid(0) did not take effect for uid {uid}")
    _capset(_NO_CAPS)


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# (audit arch, socket, io_uring_setup): io_uring can open sockets without socket(2)
_SECCOMP_ARCHES = {
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
}


def seccomp_supported() -> bool:
    return os.uname().machine in _SECCOMP_ARCHES


def _no_socket_program() -> ctypes.Array:
    arch, nr_socket, nr_io_uring_setup = _SECCOMP_ARCHES[os.uname().machine]
    ld_w_abs, jeq_k, jge_k, ret_k = 0x20, 0x15, 0x35, 0x06
    deny = 0x00050000 | 1  # SECCOMP_RET_ERRNO | EPERM
    insns = [
        (ld_w_abs, 0, 0, 4),  # 0: A = seccomp_data.arch
        (jeq_k, 0, 6, arch),  # 1: foreign architecture -> 8
        (ld_w_abs, 0, 0, 0),  # 2: A = seccomp_data.nr
        (jge_k, 3, 0, 0x40000000),  # 3: x32 system call numbers -> 7
        (jeq_k, 2, 0, nr_socket),  # 4: socket -> 7
        (jeq_k, 1, 0, nr_io_uring_setup),  # 5: io_uring_setup -> 7
        (ret_k, 0, 0, 0x7FFF0000),  # 6: allow
        (ret_k, 0, 0, deny),  # 7: fail with EPERM
        (ret_k, 0, 0, 0x80000000),  # 8: kill the process
    ]
    return (_SockFilter * len(insns))(*[_SockFilter(*i) for i in insns])


def forbid_sockets() -> None:
    """Install a seccomp filter under which socket(2) and io_uring_setup(2) fail with EPERM.

    It holds for this process and all its descendants, needs no privilege (no_new_privs
    is set first) and, unlike replacing `socket.socket` in Python, survives
    `importlib.reload`, `_socket` and ctypes.
    """
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    program = _no_socket_program()
    fprog = _SockFprog(len=len(program), filter=program)
    _checked(
        _libc.prctl(PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
        "seccomp",
    )
