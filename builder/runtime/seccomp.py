"""The seccomp filter of a step's container: Docker's default profile, resolved for the step's capabilities.

A RUN step in the default (sandbox) security mode gets the filter ``docker run`` and BuildKit's sandbox mode
give a container: the system calls below are allowed, every other one fails with EPERM. Among those refused
without CAP_SYS_ADMIN are ``mount``, ``unshare``, ``setns`` and ``clone``/``clone3`` with namespace flags, so
a step cannot make a user namespace of its own and mount inside it (``unshare -Urm``), which the capability
set alone does not prevent. ``RUN --security=insecure`` (granted by ``--allow security.insecure``) runs
without a filter, as in BuildKit.

The rules are those of Docker's default profile (moby ``profiles/seccomp/default.json``, Apache License 2.0),
written here as data: a rule whose ``caps`` the container holds, whose ``arches`` include the host's, and
whose ``min_kernel`` the host's kernel reaches, is part of the filter; a rule with ``without_caps`` applies
only when the container holds none of them. Docker resolves its profile the same way when it starts a
container. The filter is the host's architecture's (with its 32-bit companions): an emulated foreign-arch
step runs in qemu-user, whose system calls are the host's.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Collection
from dataclasses import dataclass, field

#: EPERM, what a refused system call returns (Docker's ``defaultErrnoRet``).
_EPERM = 1
#: ENOSYS for clone3 without CAP_SYS_ADMIN: the C library then falls back to clone, which the filter can
#: inspect (clone3's flags are in memory, out of a filter's reach).
_ENOSYS = 38
#: CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
_NAMESPACE_FLAGS = 0x7E020000

# Go architecture name of a host (``uname -m``), and the seccomp architectures its filter covers.
_GO_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64": "mips64",
    "loongarch64": "loong64",
}
_SECCOMP_ARCHES = {
    "amd64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "386": ["SCMP_ARCH_X86"],
    "arm64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    "arm": ["SCMP_ARCH_ARM"],
    "mips64": ["SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
    "s390x": ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
    "riscv64": ["SCMP_ARCH_RISCV64"],
    "ppc64le": ["SCMP_ARCH_PPC64LE"],
}

#: Allowed whatever the container's capabilities.
ALWAYS_ALLOWED = """
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 clock_adjtime
clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create
epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork
fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex
futex_time64 futex_waitv futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32
getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid
getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter io_uring_register
io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32
lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64
madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap
mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal
pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink
readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename
renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity
sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send
sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area
set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd
signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink
symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname
unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
""".split()  # noqa: SIM905 (300 names read better as words than as a list literal)


@dataclass(frozen=True)
class Rule:
    """One conditional rule of the profile (see the module docstring for when it applies).

    ``args``: OCI ``linux.seccomp`` argument conditions ``(index, value, op)``, all of which must hold.
    ``errno``: the rule refuses with this errno instead of allowing.
    """

    names: tuple[str, ...]
    caps: tuple[str, ...] = ()
    without_caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    not_arches: tuple[str, ...] = ()
    min_kernel: tuple[int, int] | None = None
    args: tuple[tuple[int, int, str], ...] = ()
    errno: int | None = None
    comment: str = field(default="", compare=False)


_ADMIN = ("CAP_SYS_ADMIN",)

RULES: tuple[Rule, ...] = (
    Rule(("process_vm_readv", "process_vm_writev", "ptrace"), min_kernel=(4, 8)),
    Rule(("socket",), args=((0, 40, "SCMP_CMP_NE"),), comment="no AF_VSOCK"),
    # personality: only the execution domains programs ask for (Linux, with ADDR_NO_RANDOMIZE, and querying)
    *(Rule(("personality",), args=((0, v, "SCMP_CMP_EQ"),)) for v in (0, 8, 131072, 131080, 4294967295)),
    Rule(("sync_file_range2", "swapcontext"), arches=("ppc64le",)),
    Rule(
        ("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"),
        arches=("arm", "arm64"),
    ),
    Rule(("arch_prctl",), arches=("amd64", "x32")),
    Rule(("modify_ldt",), arches=("amd64", "x32", "x86")),
    Rule(("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"), arches=("s390", "s390x")),
    Rule(("riscv_flush_icache",), arches=("riscv64",)),
    Rule(("open_by_handle_at",), caps=("CAP_DAC_READ_SEARCH",)),
    Rule(
        (
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ),
        caps=_ADMIN,
    ),  # fmt: skip
    Rule(
        ("clone",),
        without_caps=_ADMIN,
        not_arches=("s390", "s390x"),
        args=((0, _NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"),),
        comment="a clone making no namespace",
    ),
    Rule(
        ("clone",),
        without_caps=_ADMIN,
        arches=("s390", "s390x"),
        args=((1, _NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"),),
        comment="s390 passes clone's flags second",
    ),
    Rule(("clone3",), without_caps=_ADMIN, errno=_ENOSYS),
    Rule(("reboot",), caps=("CAP_SYS_BOOT",)),
    Rule(("chroot",), caps=("CAP_SYS_CHROOT",)),
    Rule(("delete_module", "init_module", "finit_module"), caps=("CAP_SYS_MODULE",)),
    Rule(("acct",), caps=("CAP_SYS_PACCT",)),
    Rule(
        ("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"),
        caps=("CAP_SYS_PTRACE",),
    ),
    Rule(("iopl", "ioperm"), caps=("CAP_SYS_RAWIO",)),
    Rule(("settimeofday", "stime", "clock_settime", "clock_settime64"), caps=("CAP_SYS_TIME",)),
    Rule(("vhangup",), caps=("CAP_SYS_TTY_CONFIG",)),
    Rule(("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"), caps=("CAP_SYS_NICE",)),
    Rule(("syslog",), caps=("CAP_SYSLOG",)),
    Rule(("bpf",), caps=("CAP_BPF",)),
    Rule(("perf_event_open",), caps=("CAP_PERFMON",)),
)


def host_arch() -> str:
    """The Go name of this host's architecture (``amd64``, ``arm64``, …), as the profile's rules name it."""
    machine = platform.machine()
    return _GO_ARCH.get(machine, machine)


def _kernel_version() -> tuple[int, int]:
    release = os.uname().release
    try:
        major, minor = release.split(".")[:2]
        return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)
    except ValueError:
        return 0, 0


def _applies(rule: Rule, caps: Collection[str], arch: str, kernel: tuple[int, int]) -> bool:
    if rule.caps and not all(cap in caps for cap in rule.caps):
        return False
    if rule.without_caps and any(cap in caps for cap in rule.without_caps):
        return False
    if rule.arches and arch not in rule.arches:
        return False
    if arch in rule.not_arches:
        return False
    return rule.min_kernel is None or kernel >= rule.min_kernel


def _syscall_entry(rule: Rule) -> dict:
    entry: dict = {"names": list(rule.names)}
    if rule.errno is None:
        entry["action"] = "SCMP_ACT_ALLOW"
    else:
        entry.update(action="SCMP_ACT_ERRNO", errnoRet=rule.errno)
    if rule.args:
        entry["args"] = [{"index": index, "value": value, "op": op} for index, value, op in rule.args]
    return entry


def default_profile(
    capabilities: Collection[str], *, arch: str | None = None, kernel: tuple[int, int] | None = None
) -> dict:
    """The OCI ``linux.seccomp`` object for a container holding ``capabilities`` (``CAP_…`` names) on a
    host of architecture ``arch`` (Go name; default this host's) and kernel ``kernel`` (default this one's).

    Pure: the same arguments give the same document.
    """
    arch = host_arch() if arch is None else arch
    kernel = _kernel_version() if kernel is None else kernel
    caps = set(capabilities)
    syscalls = [{"names": list(ALWAYS_ALLOWED), "action": "SCMP_ACT_ALLOW"}]
    syscalls += [_syscall_entry(rule) for rule in RULES if _applies(rule, caps, arch, kernel)]
    profile: dict = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": _EPERM, "syscalls": syscalls}
    if arch in _SECCOMP_ARCHES:
        profile["architectures"] = list(_SECCOMP_ARCHES[arch])
    return profile
