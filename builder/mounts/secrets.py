"""What the client provides to secret and ssh mounts: ``--secret`` and ``--ssh`` values, and the private
place their bytes and sockets live in while a step runs.

A secret's bytes are read only while the step that mounts it runs, written into a tmpfs mounted on a 0700
directory outside the store (memory only, never the store's disk), bind-mounted read-only into the
container, and gone with the tmpfs when the step ends. An ssh mount gets a socket of its own in the same
place, with the owner and mode the mount asks for, that forwards each connection to the agent: the user's
agent (``--ssh default`` or ``ID=SOCKET``), or an ``ssh-agent`` started for the step and given the keys
(``--ssh ID=KEY[,KEY]``).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError, UsageError

_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class SecretSource:
    """``--secret id=ID,src=PATH`` or ``--secret id=ID,env=VAR``: where secret ``id``'s bytes come from."""

    id: str
    path: str | None = None
    env: str | None = None

    def read(self) -> bytes | None:
        """The secret's bytes now; None when its file or variable does not exist."""
        if self.env is not None:
            value = os.environ.get(self.env)
            return None if value is None else os.fsencode(value)
        try:
            with open(self.path or "", "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise UsageError(f"secret {self.id}: cannot read {self.path}: {error.strerror}") from None


def parse_secret(value: str) -> SecretSource:
    """Parse a ``--secret`` value as docker build does: ``id=ID[,src|source=PATH][,env=VAR][,type=file|env]``.
    With neither a file nor a variable given, the variable named ID is used if set, else the file ID. A file
    that does not exist is refused (UsageError) here, as buildx refuses it; an unset variable is not."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        key, eq, text = part.partition("=")
        key = key.strip().lower()
        if not eq or key not in ("id", "src", "source", "env", "type"):
            raise UsageError(f"invalid --secret {value!r}: unexpected field {part!r}")
        fields["src" if key == "source" else key] = text
    ident, kind = fields.get("id", ""), fields.get("type", "")
    if not ident:
        raise UsageError(f"invalid --secret {value!r}: id=ID is required")
    if kind not in ("", "file", "env"):
        raise UsageError(f"invalid --secret {value!r}: unsupported type {kind!r} (file or env)")
    if kind == "env" or ("env" in fields and "src" not in fields):
        return SecretSource(ident, env=fields.get("env") or fields.get("src") or ident)
    if "src" not in fields and kind == "" and ident in os.environ:
        return SecretSource(ident, env=ident)
    given = fields.get("src") or ident
    path = os.path.abspath(os.path.expanduser(given))
    try:
        # as buildx: a secret file that is not there fails the build at once, not a RUN that mounts it later
        os.stat(path)
    except OSError as error:
        raise UsageError(f"invalid --secret {value!r}: cannot read {given}: {error.strerror}") from None
    return SecretSource(ident, path=path)


@dataclass(frozen=True)
class SshSource:
    """``--ssh ID[=SOCKET|KEY[,KEY...]]``: an agent socket, or keys to load into an agent of our own."""

    id: str
    paths: tuple[str, ...] = ()


def parse_ssh(value: str) -> SshSource:
    """Parse an ``--ssh`` value; with no path the agent of ``$SSH_AUTH_SOCK`` is used."""
    ident, eq, rest = value.partition("=")
    if not ident:
        raise UsageError(f"invalid --ssh {value!r}: expected default or ID=SOCKET|KEY")
    paths = tuple(p for p in rest.split(",") if p) if eq else ()
    if not paths:
        sock = os.environ.get("SSH_AUTH_SOCK", "")
        if not sock:
            raise UsageError("invalid empty ssh agent socket, make sure SSH_AUTH_SOCK is set")
        paths = (sock,)
    return SshSource(ident, tuple(os.path.abspath(os.path.expanduser(p)) for p in paths))


@contextmanager
def private_dir(
    *, under: Path | None = None, mode: str = "0700", size: int = 64 << 20, executable: bool = False
) -> Iterator[Path]:
    """A directory outside the store, on a tmpfs of its own where the kernel allows (memory only),
    whose root has ``mode``; everything in it is gone when the block ends. With the default mode only root
    can enter it. ``executable``: programs there may run and devices be used (only nosuid), as in BuildKit's
    tmpfs mounts.

    ``under``: a runtime state directory. The directory is then noted in a run directory there, owned by
    this process, so that if pybuild is killed mid-step `builder.runtime.cleanup_stale`
    unmounts it (and the secret with it) and stops what runs from it. It stays a short path in the
    temporary directory all the same: agent sockets in it must fit a socket address (108 bytes).
    """
    from builder.runtime.rundir import RunDir

    run = RunDir(under) if under is not None else None
    try:
        path = Path(tempfile.mkdtemp(prefix="pybuild-private-"))
    except BaseException:
        if run is not None:
            run.close()
        raise
    if run is not None:
        run.note_private(path)
    flags = _MS_NOSUID if executable else _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    options = f"mode={mode},size={size}".encode()
    mounted = _libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", flags, options) == 0
    try:
        yield path
    finally:
        if mounted:
            from builder.runtime.mounts import unmount

            unmount(path)
        shutil.rmtree(path, ignore_errors=True)
        if run is not None:
            run.close()


def write_secret(directory: Path, name: str, data: bytes, *, mode: int, uid: int, gid: int) -> Path:
    """Write ``data`` as ``directory/name`` with the owner and mode the mount asks for; returns the path."""
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return path


class SocketProxy:
    """A unix socket at ``path`` (owner and mode as given) forwarding each connection to ``upstream``."""

    def __init__(self, path: Path, upstream: str, *, mode: int, uid: int, gid: int) -> None:
        self.upstream = upstream
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                agent.connect(self.upstream)
            except OSError:
                client.close()
                continue
            for a, b in ((client, agent), (agent, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class Agent:
    """An ``ssh-agent`` holding ``keys``, listening on ``socket_path`` until `close`."""

    def __init__(self, socket_path: Path, keys: tuple[str, ...], ident: str) -> None:
        agent = shutil.which("ssh-agent")
        if agent is None:
            hint = "Debian: apt-get install openssh-client"
            raise BuildError(f"--ssh {ident}: ssh-agent is not installed ({hint})")
        self.socket_path = socket_path
        self._process = subprocess.Popen(
            [agent, "-D", "-a", str(socket_path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        try:
            for _ in range(200):
                if socket_path.exists():
                    break
                self._process.poll()
                if self._process.returncode is not None:
                    raise BuildError(f"--ssh {ident}: ssh-agent exited with status {self._process.returncode}")
                threading.Event().wait(0.01)
            env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path), "SSH_ASKPASS_REQUIRE": "never"}
            added = subprocess.run(
                ["ssh-add", *keys], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
            )
            if added.returncode != 0:
                raise BuildError(f"--ssh {ident}: cannot load the key: {added.stderr.strip()}")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False
